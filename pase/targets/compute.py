"""Target normalisation statistics of a training set: the library behind ``pase-make-stats``.

:func:`make_stats` reads ``max_batches`` batches of ``batch_size`` random ``chunk_size``-sample
windows of a data cfg's split or a Kaldi data dir (clean: no random scaling, no distortions;
at most one pass over the files, as the original ``make_trainset_statistics.py``), computes the
targets of a workers cfg's regression workers and accumulates their per-channel mean / std
(:class:`pase.targets.stats.StatsAccumulator`), then writes them with a provenance stamp
(:mod:`pase.io.provenance`): a rerun with the same inputs and :class:`StatsOptions` is skipped.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

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
from pase.targets.stats import StatsAccumulator, StatsError, TargetStats
from pase.targets.target_set import TargetSet
from pase.workers.config import resolve_workers_cfg

#: the tool named in the stamps (and in the rerun messages)
TOOL = "pase-make-stats"

_log = logging.getLogger(__name__)
#: the options recorded as they are (``exclude_keys`` is recorded sorted, or None)
_STAMPED = (
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


@dataclass(frozen=True)
class StatsOptions:
    """The options that change the statistics (all of them are recorded in the stamp)."""

    split: str = "train"
    data_root: str | None = None
    max_batches: int = 20
    chunk_size: int = 16000
    batch_size: int = 100
    seed: int = 2
    std_mode: str = "pooled"
    hop_size: int = HOP
    validate_audio: bool = False
    channel: int | str | None = None
    exclude_keys: tuple[str, ...] = ()

    def check(self) -> None:
        """Raise ValueError naming the flag of an unusable value."""
        if self.hop_size != HOP:
            raise ValueError(f"--hop-size must be {HOP} (the encoder hop), got {self.hop_size}")
        for name in ("max_batches", "chunk_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1")

    def stamp_options(self) -> dict[str, Any]:
        """The options as the stamp records them."""
        opts = {k: getattr(self, k) for k in _STAMPED}
        opts["exclude_keys"] = sorted(self.exclude_keys) if self.exclude_keys else None
        return opts


def _check_one_source(data_cfg: str | None, data_dir: str | None) -> None:
    if (data_cfg is None) == (data_dir is None):
        raise ValueError("give exactly one of --data-cfg or --data-dir")


def stats_stamp(
    audio: AudioSet,
    net_cfg: str,
    *,
    data_cfg: str | None = None,
    data_dir: str | None = None,
    options: StatsOptions = StatsOptions(),
    verify: bool = False,
) -> dict[str, Any]:
    """The provenance stamp of the statistics of ``audio`` (read from ``data_cfg`` or
    ``data_dir``) for the workers cfg ``net_cfg`` (a built-in name or a file)."""
    _check_one_source(data_cfg, data_dir)
    opts = options.stamp_options()
    inputs = {}
    if data_cfg is not None:
        opts["data_cfg"] = os.path.abspath(data_cfg)
        inputs["data_cfg"] = input_entry(data_cfg)
    elif data_dir is not None:
        opts["data_dir"] = os.path.abspath(data_dir)
        for name in ("wav.scp", "utt2spk", "segments"):
            inputs[f"data_dir/{name}"] = input_entry(os.path.join(data_dir, name))
    cfg_path, builtin = resolve_workers_cfg(net_cfg)
    opts["net_cfg"] = builtin if builtin is not None else os.path.abspath(cfg_path)
    inputs["net_cfg"] = input_entry(cfg_path)
    files = audio_files(it.source for it in audio.items)
    return make_stamp(
        TOOL,
        options=opts,
        inputs=inputs,
        audio=audio_table(files, verify=verify, num_workers=4),
    )


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


def make_stats(
    out_file: str | os.PathLike,
    net_cfg: str,
    *,
    data_cfg: str | None = None,
    data_dir: str | None = None,
    options: StatsOptions = StatsOptions(),
    device: str | torch.device = "cpu",
    num_workers: int = 1,
    force: bool = False,
    verify: bool = False,
    progress: bool = False,
    log: logging.Logger = _log,
    say: Callable[[str], None] | None = None,
) -> TargetStats | None:
    """Compute and write (``.json`` or ``.npz``, with its stamp) the statistics of the targets
    of ``net_cfg`` over ``data_cfg``'s split or ``data_dir``, unless the stamp says they are
    up to date (then None; ``force`` recomputes, ``verify`` compares the audio by SHA-256).

    Args:
        out_file: the statistics to write.
        net_cfg: workers cfg, ``workers``, ``workers+`` or a path.
        data_cfg: a JSON data cfg; exactly one of ``data_cfg`` and ``data_dir``.
        data_dir: a Kaldi data dir.
        options: what changes the result.
        device: where the targets are computed (``auto``, ``cpu``, ``cuda:N``).
        num_workers: DataLoader worker processes.
        force: recompute even when up to date.
        verify: compare the audio files by content instead of size and time.
        progress: show a progress bar.
        log: where the progress and the constant channels are reported.
        say: prints the rerun decision (default: stdout).
    """
    out = Path(out_file)
    if out.suffix not in (".json", ".npz"):
        raise StatsError(
            f"--out-file {out}: statistics are JSON now (or .npz), never a pickle: use "
            f"--out-file {out.with_suffix('.json')} (and pase-train --stats "
            f"{out.with_suffix('.json')})"
        )
    options.check()
    _check_one_source(data_cfg, data_dir)
    dev = resolve_device(device)
    targets = TargetSet.from_workers_cfg(net_cfg)
    if options.exclude_keys:
        keep = [n for n in targets.names if n not in set(options.exclude_keys)]
        targets = targets.subset(keep)
    audio = open_audio_set(
        data_dir=data_dir,
        data_cfg=data_cfg,
        split=options.split,
        data_root=options.data_root,
        channel=options.channel,
    )
    stamp = stats_stamp(
        audio, net_cfg, data_cfg=data_cfg, data_dir=data_dir, options=options, verify=verify
    )
    if up_to_date(TOOL, out, stamp, force=force, verify=verify, log=say):
        return None
    if options.validate_audio:
        audio = audio.with_items(validate_items(audio.items, where=audio.name).good)
    loader = stats_loader(
        audio,
        chunk_size=options.chunk_size,
        batch_size=options.batch_size,
        max_batches=options.max_batches,
        seed=options.seed,
        num_workers=num_workers,
    )
    log.info(
        "%s: %d files; %d batches of %d x %d samples on %s; targets %s",
        audio.name,
        len(audio),
        len(loader),
        options.batch_size,
        options.chunk_size,
        dev,
        ", ".join(targets.names),
    )
    t0 = time.perf_counter()
    stats = compute_stats(targets, loader, std_mode=options.std_mode, device=dev, progress=progress)
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
    return stats
