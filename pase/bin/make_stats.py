"""pase-make-stats: target normalisation statistics for self-supervised training.

Equivalent of the original ``make_trainset_statistics.py``::

    pase-make-stats --data_root data/LibriSpeech/wavs --data_cfg data/librispeech_data.cfg \\
        --net_cfg cfg/workers/workers+.cfg --out_file data/librispeech_stats_pase+.json

Reads ``--max_batches`` batches of ``--batch_size`` random ``--chunk_size``-sample windows of
the training split (clean: no random scaling, no distortions), computes the targets of the
workers cfg's regression workers batched on ``--device`` and accumulates per-channel mean /
std (``--std_mode pooled``: exact frame statistics; ``per_example``: the original's std of
per-chunk stds). At most one pass over the files, as the original (``ceil(files / batch)``
batches when that is fewer than ``--max_batches``). The output is JSON or ``.npz``, never a
pickle. A Kaldi data dir (``--data_dir``) can replace the JSON data cfg.

Reruns: ``<out_file>.stamp.json`` records what the statistics were computed from (the data
cfg's contents hash, or the data dir's ``wav.scp`` / ``utt2spk`` / ``segments``; the workers
cfg, a built-in name or a file, by contents hash; each audio file's size and modification
time, or with ``--verify`` its SHA-256; the options that change the result, i.e. all but
``--device`` and ``--num_workers``). A rerun with nothing changed prints "up to date" and
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

from pase.bin.cli import add_rerun_options, channel_type
from pase.constants import HOP
from pase.data.dataset import ChunkDataset
from pase.data.items import AudioSet, DataConfigError, open_audio_set
from pase.data.loader import ChunkLoader
from pase.data.sampler import ChunkBatchSampler
from pase.data.validate import AudioValidationError, validate_items
from pase.extract import resolve_device
from pase.io.audio import AudioError
from pase.io.datadir import DataDirError
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
from pase.workers.config import BUILTIN_CFGS, CONF_DIR, WorkersConfigError

log = logging.getLogger("pase-make-stats")


def get_parser() -> argparse.ArgumentParser:
    """Command-line interface (the original flags plus a few of ours)."""
    p = argparse.ArgumentParser(
        prog="pase-make-stats",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data_cfg", default=None, help="JSON data cfg (pase-make-data-cfg)")
    p.add_argument("--data_root", default=None, help="folder the data cfg's filenames are in")
    p.add_argument("--data_dir", default=None, help="a Kaldi data dir instead of --data_cfg")
    p.add_argument("--split", default="train", help="data cfg split to read (default train)")
    p.add_argument("--net_cfg", required=True, help="workers cfg: workers, workers+ or a path")
    p.add_argument("--out_file", required=True, help="output statistics (.json or .npz)")
    p.add_argument("--max_batches", type=int, default=20)
    p.add_argument("--chunk_size", type=int, default=16000, help="samples per chunk")
    p.add_argument("--batch_size", type=int, default=100)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--std_mode", choices=STD_MODES, default="pooled")
    p.add_argument("--num_workers", type=int, default=1, help="DataLoader worker processes")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument(
        "--hop_size",
        type=int,
        default=HOP,
        help="must be 160 (accepted for the original's command lines)",
    )
    p.add_argument(
        "--exclude_keys",
        nargs="*",
        default=None,
        help="original flag: targets to leave out (chunk keys are never included)",
    )
    p.add_argument(
        "--validate_audio",
        action="store_true",
        help="check every file first (missing, empty, truncated, not 16 kHz, NaN/Inf in float "
        "files, several channels without a channel choice)",
    )
    p.add_argument(
        "--channel",
        type=channel_type,
        default=None,
        help="with --data_dir: multi-channel audio keeps channel N (0-based) or 'mix' "
        "(average); a data cfg records its own (default: every file must be mono)",
    )
    add_rerun_options(p)
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
        "pase-make-stats",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-make-stats``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    out = Path(args.out_file)
    try:
        if out.suffix not in (".json", ".npz"):
            raise StatsError(
                f"--out_file {out}: statistics are written as .json or .npz, never as a pickle "
                f"(e.g. --out_file {out.with_suffix('.json')})"
            )
        if args.hop_size != HOP:
            raise ValueError(f"--hop_size must be {HOP} (the encoder hop), got {args.hop_size}")
        if (args.data_cfg is None) == (args.data_dir is None):
            raise ValueError("give exactly one of --data_cfg or --data_dir")
        for name in ("max_batches", "chunk_size", "batch_size"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name} must be >= 1")
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
        if up_to_date(
            "pase-make-stats", out, stamp, force=args.force, verify=args.verify, log=_say
        ):
            return 0
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
    except (
        StatsError,
        WorkersConfigError,
        DataConfigError,
        DataDirError,
        AudioError,
        AudioValidationError,
        ValueError,
        OSError,
    ) as e:
        print(f"pase-make-stats: error: {e}", file=sys.stderr)
        return 1
    for k in stats.keys:
        log.info("%s: %d channels, std mode %s", k, stats.mean[k].numel(), stats.std_mode)
    for k, idx in stats.floored().items():
        log.warning(
            "%s: %d channel(s) %s were constant in the sampled data (std floored when "
            "normalising, so they are scaled up to 1e5x in training); use more or more varied "
            "data (--max_batches, --chunk_size)",
            k, len(idx), idx[:10],
        )  # fmt: skip
    log.info("wrote %s in %.1f s", out, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
