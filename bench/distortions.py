"""Time the PASE+ distortions on a batch of chunks (default 16 x 2 s, CPU, 2 threads).

Builds the shipped ``conf/distortions/pase+.cfg`` (its probabilities, SNRs and factors) over a
synthetic data tree written to a temporary folder with the same relative paths (room-like
impulse responses of 0.3-1 s, noises, interfering speech, band-stop and 8 kHz low-pass FIR
filters), then prints one row per distortion (cost when applied to the whole batch, and its
expected share at the config's probability) and the cost of the whole chain per batch.

    python bench/distortions.py                      # CPU, 2 threads
    python bench/distortions.py --device cuda        # GPU (banks kept on the GPU)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from pase.distortions import DistortionConfig, Distortions
from pase.distortions.kinds import Clipping, Codec2, Resample, SpeedChange

SR = 16000
CONF = Path(__file__).resolve().parents[1] / "pase" / "conf" / "distortions" / "pase+.cfg"


def harmonic_speech(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Voiced-like bursts with a gliding f0 (float32), silences in between."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 16))
    env = (np.sin(2 * np.pi * rng.uniform(2, 4) * t) > -0.3).astype(float)
    return (0.3 * x * np.convolve(env, np.hanning(400) / 200, "same")).astype(np.float32)


def band_stop(f_low: float, f_high: float, taps: int) -> np.ndarray:
    n = np.arange(taps) - taps // 2

    def lp(fc: float) -> np.ndarray:
        return 2 * fc / SR * np.sinc(2 * fc / SR * n)

    return ((lp(f_low) + (n == 0) - lp(f_high)) * np.hanning(taps)).astype(np.float32)


def make_data(root: Path, cfg: DistortionConfig, n_irs: int, seed: int = 0) -> None:
    """Synthetic files at the relative paths of ``cfg`` under ``root``."""
    rng = np.random.default_rng(seed)
    irs = root / cfg.reverb_data_root
    irs.mkdir(parents=True)
    for i in range(n_irs):
        n = int(rng.uniform(0.3, 1.0) * SR)
        t = np.arange(n)
        rt60 = rng.uniform(0.2, 0.9)
        ir = rng.standard_normal(n) * np.exp(-6.9 * t / (rt60 * SR)) * 0.1
        d = int(rng.integers(10, 400))
        ir[:d] = 0.0
        ir[d] = 1.0
        np.save(irs / f"IR_{i:06d}.npy", ir.astype(np.float32))
    for d in cfg.noises_dir or []:
        (root / d).mkdir(parents=True)
        for i in range(10):
            colour = np.cumsum(rng.standard_normal(10 * SR)) * 0.01 if i % 2 else 0.0
            noise = 0.1 * rng.standard_normal(10 * SR) + colour
            sf.write(root / d / f"noise_{i}.wav", noise.astype(np.float32), SR)
    speech = root / str(cfg.overlap_dir)
    speech.mkdir(parents=True)
    names = []
    for i in range(20):
        names.append(f"spk_{i}.wav")
        sf.write(speech / names[-1], harmonic_speech(5.0, rng), SR)
    lst = root / str(cfg.overlap_list)
    lst.parent.mkdir(parents=True, exist_ok=True)
    lst.write_text("\n".join(names) + "\n")
    filters = root / cfg.bandrop_data_root
    filters.mkdir(parents=True, exist_ok=True)
    for i in range(40):
        lo = rng.uniform(100, 6000)
        hi = lo + rng.uniform(200, 1500)
        np.save(filters / f"filter_{i}_{int(lo)}_{int(hi)}.npy", band_stop(lo, hi, 401))
    low = root / cfg.downsample_data_root
    low.mkdir(parents=True, exist_ok=True)
    n = np.arange(401) - 200
    np.save(low / cfg.downsample_irfiles[0], (0.5 * np.sinc(0.5 * n) * np.hanning(401)))


def timeit(fn: Callable[[], object], iters: int, sync: Callable[[], None]) -> list[float]:
    fn()  # warm-up
    sync()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--irs", type=int, default=200, help="number of synthetic impulse responses")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    dev = args.device
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(dev)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    cfg = DistortionConfig.load(CONF)
    with tempfile.TemporaryDirectory() as tmp:
        make_data(Path(tmp), cfg, args.irs)
        d = Distortions.from_config(cfg, seed=0, device=device, base_dir=tmp)
        rng = np.random.default_rng(1)
        x = np.stack([harmonic_speech(args.seconds, rng) for _ in range(args.batch)])
        x = torch.from_numpy(x).to(device)
        g = torch.Generator().manual_seed(0)

        extra = [SpeedChange([0.9, 1.1], 0.0), Resample([2, 4], 0.0), Clipping([0.5], 0.0)]
        try:
            extra.append(Codec2(1600, 0.0))
        except ImportError:
            print("(codec2 not timed: pycodec2 is not installed)")
        audio_s = args.batch * args.seconds
        print(
            f"device {device} ({torch.get_num_threads()} threads), batch {args.batch} x "
            f"{args.seconds:g} s, {args.iters} iterations, medians"
        )
        print(f"{'distortion':<12} {'p':>5} {'ms, all':>9} {'ms, x p':>8}")
        expected = 0.0
        for t in d.transforms:
            ms = 1e3 * statistics.median(timeit(lambda t=t: t.apply(x, g), args.iters, sync))
            expected += t.p * ms
            print(f"{t.name:<12} {t.p:>5.2f} {ms:>9.2f} {t.p * ms:>8.2f}")
        for t in extra:
            if t.name == "clip":
                continue
            ms = 1e3 * statistics.median(timeit(lambda t=t: t.apply(x, g), args.iters, sync))
            print(f"{t.name:<12} {'off':>5} {ms:>9.2f} {'-':>8}")
        times = timeit(lambda: d(x), args.iters, sync)
        med = statistics.median(times)
        print(f"{'sum x p':<12} {'':>5} {'':>9} {expected:>8.2f}")
        print(
            f"chain (pase+.cfg): median {1e3 * med:.1f} ms/batch, mean "
            f"{1e3 * statistics.fmean(times):.1f} ms, max {1e3 * max(times):.1f} ms; "
            f"{args.batch / med:.0f} chunks/s, real-time factor {med / audio_s:.5f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
