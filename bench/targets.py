"""Time the PASE+ worker targets on a batch of chunks (default 16 x 2 s, CPU with 2 threads,
and the GPU too when one is present).

Prints one row per target computed on its own (so a spectrum it shares with another target
is charged to it), then the whole set computed together (shared spectra) with chunks/s and
the real-time factor, and, when :mod:`pase.distortions` is importable, the whole set plus the
PASE+ distortion chain (``bench/distortions.py``'s synthetic data for ``pase+.cfg``), at the
config's probabilities and with every distortion applied to every chunk, as one training step's
data work.

    python bench/targets.py                       # CPU (2 threads) [+ cuda if available]
    python bench/targets.py --devices cpu --iters 30 --cfg workers
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from pase.targets import TargetSet

SR = 16000
HERE = Path(__file__).resolve().parent


def speechlike(batch: int, seconds: float, seed: int = 0) -> torch.Tensor:
    """Voiced bursts with gliding f0 and pauses plus a little noise, ``(batch, L)``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    rows = []
    for _ in range(batch):
        f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(np.sin(k * phase) / k for k in range(1, 16))
        gate = np.sin(2 * np.pi * rng.uniform(2, 4) * t) > -0.3
        rows.append(0.3 * x * gate + 0.003 * rng.standard_normal(n))
    return torch.from_numpy(np.stack(rows).astype(np.float32))


def timeit(fn: Callable[[], object], iters: int, sync: Callable[[], None]) -> list[float]:
    fn()  # warm-up (caches filter weights, allocator)
    sync()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t0)
    return out


def load_distortions(
    device: torch.device, tmp: Path
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """The PASE+ distortion chain over synthetic data (``bench/distortions.py``'s), at the
    config's probabilities and with every configured distortion on every chunk (p = 1).
    Raises ImportError when :mod:`pase.distortions` is not available."""
    import pase.distortions  # noqa: F401  (ImportError -> not available)

    spec = importlib.util.spec_from_file_location("bench_distortions", HERE / "distortions.py")
    if spec is None or spec.loader is None:
        raise ImportError("bench/distortions.py not found")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.DistortionConfig.load(mod.CONF)
    mod.make_data(tmp, cfg, 200)
    always = dataclasses.replace(cfg, **{
        f.name: 1.0 for f in dataclasses.fields(cfg)
        if f.name.endswith("_p") and getattr(cfg, f.name) > 0
    })  # fmt: skip
    build = mod.Distortions.from_config
    return (build(cfg, seed=0, device=device, base_dir=tmp),
            build(always, seed=0, device=device, base_dir=tmp))  # fmt: skip


def run(device: torch.device, args: argparse.Namespace) -> None:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    ts = TargetSet.from_workers_cfg(args.cfg)
    x = speechlike(args.batch, args.seconds).to(device)
    audio_s = args.batch * args.seconds
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    print(f"\n== {args.cfg} targets on {device}{threads}: batch {args.batch} x {args.seconds:g} s,"
          f" {args.iters} iterations, medians")  # fmt: skip
    print(f"{'target':<12} {'channels':>8} {'ms alone':>9}")
    alone = 0.0
    for name in ts.names:
        sub = ts.subset([name])
        ms = 1e3 * statistics.median(timeit(lambda sub=sub: sub(x), args.iters, sync))
        alone += ms
        print(f"{name:<12} {ts.dims[name]:>8} {ms:>9.1f}")
    print(f"{'sum':<12} {'':>8} {alone:>9.1f}")
    times = timeit(lambda: ts(x), args.iters, sync)
    med = statistics.median(times)
    print(f"all targets together: median {1e3 * med:.1f} ms/batch (best {1e3 * min(times):.1f}),"
          f" {args.batch / med:.0f} chunks/s, real-time factor {med / audio_s:.4f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        try:
            chains = load_distortions(device, Path(tmp))
        except (ImportError, AttributeError, FileNotFoundError, TypeError) as e:
            print(f"targets + distortions: pase.distortions not available ({e})")
            return
        for label, dist in zip(("pase+.cfg probabilities", "every distortion, p = 1"), chains):
            times = timeit(lambda dist=dist: (ts(x), dist(x)), args.iters, sync)
            med = statistics.median(times)
            print(f"targets + distortions ({label}): median {1e3 * med:.1f} ms/batch (best "
                  f"{1e3 * min(times):.1f}), {args.batch / med:.0f} chunks/s, real-time factor "
                  f"{med / audio_s:.4f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cfg", default="workers+", help="workers cfg (name or path)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--devices", default=None,
                    help="comma-separated (default: cpu, plus cuda when available)")  # fmt: skip
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    devices = args.devices.split(",") if args.devices else ["cpu"]
    if args.devices is None and torch.cuda.is_available():
        devices.append("cuda")
    for dev in devices:
        run(torch.device(dev), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
