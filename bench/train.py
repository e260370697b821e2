"""Training throughput of PASE+ with all 12 workers and the PASE+ distortions.

Writes a synthetic corpus (speech-like harmonic utterances, several "speakers") and the
synthetic distortion data of ``bench/distortions.py`` to a temporary folder, runs ``pase-train``
steps (batch 16 x 2 s by default) and prints steps/s, audio-seconds/s and the time split
between data loading, targets, distortions, forward, backward and optimizer.

    python bench/train.py                    # CPU, 2 threads, 3 timed steps after 1 warm-up
    python bench/train.py --device cuda --steps 20
    python bench/train.py --fe_cfg PASE --net_cfg workers --batch 32 --seconds 1
    python bench/train.py --steps 1 --profile 25    # where a step's time goes

Reference: the original santi-pdp/pase took 33-38 s per step (batch 16 x 2 s, CPU, 2 threads)
on this machine kind: 5.5 s batch preparation, 9.1 s forward, 18-23 s backward; the ratio to
its 33 s is printed. ``--compare PATH`` also times the original's model step (forward, its
``base`` back-propagation and optimizers; batch preparation excluded) from a checkout of
santi-pdp/pase at PATH (and salesforce/pytorch-qrnn beside it or at ``--compare_qrnn``) in the
same run, with the same allocator, and prints both (``bench/original.py``):

    python bench/train.py --compare ../pase
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from pase.allocator import allocator_name, use_fast_allocator
from pase.train.options import parse_options
from pase.train.trainer import Trainer

HERE = Path(__file__).resolve().parent
SR = 16000


def _bench_distortions():
    spec = importlib.util.spec_from_file_location("bench_distortions", HERE / "distortions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def make_corpus(root: Path, speakers: int, utts: int, seconds: float) -> Path:
    """A Kaldi data dir of synthetic utterances (``utts`` per speaker)."""
    mod = _bench_distortions()
    rng = np.random.default_rng(0)
    data = root / "data"
    wavs = root / "wav"
    data.mkdir(parents=True)
    wavs.mkdir()
    scp, u2s = [], []
    for s in range(speakers):
        for u in range(utts):
            uid = f"spk{s:02d}-{u:03d}"
            sf.write(wavs / f"{uid}.wav", mod.harmonic_speech(seconds, rng), SR, subtype="PCM_16")
            scp.append(f"{uid} {wavs / uid}.wav\n")
            u2s.append(f"{uid} spk{s:02d}\n")
    (data / "wav.scp").write_text("".join(scp))
    (data / "utt2spk").write_text("".join(u2s))
    return data


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--fe_cfg", default="PASE+")
    p.add_argument("--net_cfg", default="workers+")
    p.add_argument("--no_distortions", action="store_true")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seconds", type=float, default=2.0, help="chunk length")
    p.add_argument("--steps", type=int, default=3, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--num_workers", type=int, default=2, help="DataLoader processes")
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", action="store_true", help="mixed precision (CUDA)")
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="after the timed steps, profile one more (torch.profiler) and print its N "
        "costliest operators by self CPU time",
    )
    p.add_argument("--compare", metavar="PATH", help="checkout of the original santi-pdp/pase")
    p.add_argument("--compare_qrnn", metavar="PATH", help="checkout of salesforce/pytorch-qrnn")
    args = p.parse_args()
    use_fast_allocator()  # as pase-train does (pase.allocator)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_corpus(root, speakers=8, utts=6, seconds=6.0)
        argv = [
            "--data_dir", str(data), "--fe_cfg", args.fe_cfg, "--net_cfg", args.net_cfg,
            "--batch_size", str(args.batch), "--chunk_size", str(int(args.seconds * SR)),
            "--random_scale", "True", "--num_workers", str(args.num_workers),
            "--tensorboard", "False", "--save_path", str(root / "exp"), "--validate_audio", "False",
            "--device", args.device, "--epoch", "1000", "--log_freq", "1000000",
        ]  # fmt: skip
        if args.amp:
            argv += ["--amp", "true"]
        if not args.no_distortions:
            mod = _bench_distortions()
            cfg = mod.DistortionConfig.load(mod.CONF)
            mod.make_data(root, cfg, 50)
            argv += ["--dtrans_cfg", str(mod.CONF)]
        cwd = os.getcwd()
        os.chdir(root)  # the distortions cfg's relative data paths resolve here
        try:
            trainer = Trainer(parse_options(argv), progress=False)
            splits: list[dict[str, float]] = []
            walls: list[float] = []
            it = (b for _ in range(10**6) for b in trainer.loader)  # epochs on end
            for i in range(args.warmup + args.steps):
                t = time.perf_counter()
                batch = next(it)
                wait = time.perf_counter() - t
                times = trainer.train_step(batch, wait)
                if i >= args.warmup:
                    walls.append(time.perf_counter() - t)
                    splits.append(times)
            if args.profile:
                from torch.profiler import profile

                batch = next(it)
                with profile() as prof:
                    trainer.train_step(batch, 0.0)
                print(
                    prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile)
                )
        finally:
            os.chdir(cwd)

    step = statistics.median(walls)
    audio = args.batch * args.seconds
    n_params = sum(p.numel() for p in trainer.model.parameters()) / 1e6
    dist = "off" if args.no_distortions else "pase+.cfg"
    print(
        f"{args.fe_cfg} + {args.net_cfg} ({len(trainer.model.workers)} workers, {n_params:.1f} M "
        f"parameters), distortions {dist}, batch {args.batch} x {args.seconds:g} s, "
        f"{args.device}, {torch.get_num_threads()} threads, allocator "
        f"{allocator_name()}"
    )
    print(f"step {step:.2f} s (median of {len(walls)}): {1 / step:.3f} steps/s, "
          f"{audio / step:.1f} audio-s/s (chunks only; the encoder also sees 2 x {audio:g} s "
          f"of context/random chunks)")  # fmt: skip
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() / 2**30
        print(f"peak GPU memory {peak:.2f} GiB (amp {'on' if args.amp else 'off'})")
    print(f"{'phase':10} {'seconds':>8} {'share':>6}")
    med = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
    for k, v in med.items():
        print(f"{k:10} {v:8.3f} {100 * v / step:5.1f}%")
    if (args.fe_cfg, args.net_cfg, args.batch, args.seconds) == ("PASE+", "workers+", 16, 2.0):
        print(f"original, recorded on an earlier host of this machine kind: {ORIGINAL_STEP} s "
              f"per step -> {ORIGINAL_STEP / step:.2f}x (hosts differ up to 2x: --compare PATH "
              "times it in this run)")  # fmt: skip
    if args.compare:
        compare(args, med)


#: the original's PASE+ step at batch 16 x 2 s on 2 CPU threads, lower end of 33-38 s
ORIGINAL_STEP = 33.0


def compare(args: argparse.Namespace, ours: dict[str, float]) -> None:
    """The original's model step from a checkout, beside ours (model step: forward,
    backward and optimizers; batch preparation excluded on both sides)."""
    spec = importlib.util.spec_from_file_location("bench_original", HERE / "original.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    orig = mod.run("train", args.compare, args.compare_qrnn, threads=args.threads,
                   batch=args.batch, seconds=args.seconds, steps=args.steps)  # fmt: skip
    mine = {
        "forward": ours["forward"],
        "backward+optim": ours["backward"] + ours["optim"],
        "step": ours["forward"] + ours["backward"] + ours["optim"],
    }
    print(f"\nmodel step, original ({args.compare}) vs ours, same run and allocator:")
    print(f"{'phase':15} {'original':>9} {'ours':>9} {'ratio':>6}")
    for k, v in orig.items():
        print(f"{k:15} {v:9.2f} {mine[k]:9.2f} {v / mine[k]:5.2f}x")


if __name__ == "__main__":
    main()
