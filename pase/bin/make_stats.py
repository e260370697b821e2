"""pase-make-stats: target normalisation statistics for self-supervised training.

The original's ``make_trainset_statistics.py`` (its snake_case flags work as they are:
``--data_root``, ``--out_file``, ...)::

    pase-make-stats --data-root data/LibriSpeech/wavs --data-cfg data/librispeech_data.cfg \\
        --net-cfg cfg/workers/workers+.cfg --out-file data/librispeech_stats_pase+.json

Reads ``--max-batches`` batches of ``--batch-size`` random ``--chunk-size``-sample windows of
the training split (clean: no random scaling, no distortions), computes the targets of the
workers cfg's regression workers batched on ``--device`` and accumulates per-channel mean /
std (``--std-mode pooled``: exact frame statistics; ``per_example``: the original's std of
per-chunk stds). At most one pass over the files, as the original (``ceil(files / batch)``
batches when that is fewer than ``--max-batches``). The output is JSON or ``.npz``, never a
pickle. A Kaldi data dir (``--data-dir``) can replace the JSON data cfg.

Reruns: ``<out-file>.stamp.json`` records what the statistics were computed from (the data
cfg's contents hash, or the data dir's ``wav.scp`` / ``utt2spk`` / ``segments``; the workers
cfg, a built-in name or a file, by contents hash; each audio file's size and modification
time, or with ``--verify`` its SHA-256; the options that change the result, i.e. all but
``--device`` and ``--num-workers``). A rerun with nothing changed prints "up to date" and
does nothing; otherwise it says what changed and recomputes. ``--force`` always recomputes.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from pase.bin import cli
from pase.constants import HOP
from pase.data.dataset import ChunkDataset
from pase.data.items import AudioSet, open_audio_set
from pase.data.loader import ChunkLoader
from pase.data.sampler import ChunkBatchSampler
from pase.data.validate import validate_items
from pase.extract import resolve_device
from pase.io.provenance import (
    audio_files,
    audio_table,
    input_entry,
    make_stamp,
    up_to_date,
    write_stamp,
)
from pase.targets import TargetSet
from pase.targets.stats import STD_MODES, StatsAccumulator, StatsError, TargetStats
from pase.train.options import str2bool
from pase.workers.config import BUILTIN_CFGS, CONF_DIR

log = logging.getLogger("pase-make-stats")


PROG = "pase-make-stats"


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface (the original flags plus a few of ours)."""
    p = cli.parser(PROG, __doc__)
    o = {"original": True}
    cli.add(p, "--data-cfg", **o, default=None, help="JSON data cfg (pase-make-data-cfg)")
    cli.add(p, "--data-root", **o, default=None, help="folder the data cfg's filenames are in")
    cli.add(p, "--data-dir", **o, default=None, help="a Kaldi data dir instead of --data-cfg")
    cli.add(p, "--split", **o, default="train", help="data cfg split to read (default train)")
    cli.add(p, "--net-cfg", **o, required=True, help="workers cfg: workers, workers+ or a path")
    cli.add(p, "--out-file", **o, required=True, help="output statistics (.json or .npz)")
    cli.add(p, "--max-batches", **o, type=int, default=20)
    cli.add(p, "--chunk-size", **o, type=int, default=16000, help="samples per chunk")
    cli.add(p, "--batch-size", **o, type=int, default=100)
    cli.add_seed(p, **o, default=2)
    cli.add(p, "--std-mode", **o, choices=STD_MODES, default="pooled")
    cli.add(p, "--num-workers", **o, type=int, default=1, help="DataLoader worker processes")
    cli.add_device(p, **o)
    cli.add(
        p,
        "--hop-size",
        **o,
        type=int,
        default=HOP,
        help="must be 160 (accepted for the original's command lines)",
    )
    cli.add(
        p,
        "--exclude-keys",
        **o,
        nargs="*",
        default=None,
        help="original flag: targets to leave out (chunk keys are never included)",
    )
    cli.add(
        p,
        "--validate-audio",
        **o,
        nargs="?",
        const=True,
        default=False,
        type=str2bool,
        help="check every file first (missing, empty, truncated, not 16 kHz, NaN/Inf in float "
        "files, several channels without a channel choice); also --validate-audio true/false",
    )
    cli.add_channel(
        p,
        help="with --data-dir: multi-channel audio keeps channel N (0-based) or 'mix' "
        "(average); a data cfg records its own (default: every file must be mono)",
    )
    cli.add_rerun_options(p)
    return p


#: options that change the statistics (recorded in the stamp)
RESULT_OPTIONS = (
    "split",
    "data_root",
    "max_batches",
    "chunk_size",
    "batch_size",
    "seed",
    "std_mode",
    "hop_size",
    "validate_audio",
    "channel",
)


def build_stamp(args: argparse.Namespace, audio: AudioSet, *, verify: bool = False) -> dict:
    """The provenance stamp (see :mod:`pase.io.provenance`) of these statistics."""
    opts = {k: getattr(args, k) for k in RESULT_OPTIONS}
    opts["exclude_keys"] = sorted(args.exclude_keys) if args.exclude_keys else None
    inputs = {}
    if args.data_cfg is not None:
        opts["data_cfg"] = os.path.abspath(args.data_cfg)
        inputs["data_cfg"] = input_entry(args.data_cfg)
    else:
        opts["data_dir"] = os.path.abspath(args.data_dir)
        for name in ("wav.scp", "utt2spk", "segments"):
            inputs[f"data_dir/{name}"] = input_entry(os.path.join(args.data_dir, name))
    if args.net_cfg in BUILTIN_CFGS:
        opts["net_cfg"] = args.net_cfg
        inputs["net_cfg"] = input_entry(CONF_DIR / BUILTIN_CFGS[args.net_cfg])
    else:
        opts["net_cfg"] = os.path.abspath(args.net_cfg)
        inputs["net_cfg"] = input_entry(args.net_cfg)
    files = audio_files(it.source for it in audio.items)
    return make_stamp(
        PROG,
        options=opts,
        inputs=inputs,
        audio=audio_table(files, verify=verify, num_workers=4),
    )


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def stats_loader(
    audio: AudioSet,
    *,
    chunk_size: int,
    batch_size: int,
    max_batches: int,
    seed: int,
    num_workers: int = 0,
) -> ChunkLoader:
    """Clean, unscaled chunks: ``min(max_batches, ceil(files / batch_size))`` batches."""
    ds = ChunkDataset(audio.items, chunk_size, seed=seed, with_pairs=False, random_scale=False)
    n = max(1, min(max_batches, math.ceil(len(ds) / batch_size)))
    sampler = ChunkBatchSampler(len(ds), batch_size, n, seed=seed)
    return ChunkLoader(ds, sampler, num_workers=num_workers)


def compute_stats(
    targets: TargetSet,
    loader: ChunkLoader,
    *,
    std_mode: str = "pooled",
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> TargetStats:
    """Accumulate the statistics of ``targets`` over one pass of ``loader``."""
    acc = StatsAccumulator(std_mode=std_mode)  # type: ignore[arg-type]
    it = iter(loader)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(loader), desc="stats", unit="batch")
    for batch in it:
        with torch.no_grad():
            acc.update(targets(batch.chunk.to(device)))
    return acc.result()


def _main(args: argparse.Namespace) -> None:
    out = Path(args.out_file)
    if out.suffix not in (".json", ".npz"):
        raise StatsError(
            f"--out-file {out}: statistics are written as .json or .npz, never as a pickle "
            f"(e.g. --out-file {out.with_suffix('.json')})"
        )
    if args.hop_size != HOP:
        raise ValueError(f"--hop-size must be {HOP} (the encoder hop), got {args.hop_size}")
    if (args.data_cfg is None) == (args.data_dir is None):
        raise ValueError("give exactly one of --data_cfg or --data_dir")
    for name in ("max_batches", "chunk_size", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
    device = resolve_device(args.device)
    targets = TargetSet.from_workers_cfg(args.net_cfg)
    if args.exclude_keys:
        keep = [n for n in targets.names if n not in set(args.exclude_keys)]
        targets = targets.subset(keep)
    audio = open_audio_set(
        data_dir=args.data_dir,
        data_cfg=args.data_cfg,
        split=args.split,
        data_root=args.data_root,
        channel=args.channel,
    )
    stamp = build_stamp(args, audio, verify=args.verify)
    if up_to_date(PROG, out, stamp, force=args.force, verify=args.verify, log=_say):
        return
    if args.validate_audio:
        audio = audio.with_items(validate_items(audio.items, where=audio.name).good)
    loader = stats_loader(
        audio,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        max_batches=args.max_batches,
        seed=args.seed,
        num_workers=args.num_workers,
    )
    log.info(
        "%s: %d files; %d batches of %d x %d samples on %s; targets %s",
        audio.name,
        len(audio),
        len(loader),
        args.batch_size,
        args.chunk_size,
        device,
        ", ".join(targets.names),
    )
    t0 = time.perf_counter()
    stats = compute_stats(
        targets, loader, std_mode=args.std_mode, device=device, progress=sys.stderr.isatty()
    )
    stats.save(out)
    write_stamp(out, stamp)
    for k in stats.keys:
        log.info("%s: %d channels, std mode %s", k, stats.mean[k].numel(), stats.std_mode)
    for k, idx in stats.floored().items():
        log.warning(
            "%s: %d channel(s) %s were constant in the sampled data (std floored when "
            "normalising, so they are scaled up to 1e5x in training); use more or more varied "
            "data (--max-batches, --chunk-size)",
            k, len(idx), idx[:10],
        )  # fmt: skip
    log.info("wrote %s in %.1f s", out, time.perf_counter() - t0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-make-stats``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
