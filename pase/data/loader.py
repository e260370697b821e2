"""Collation of chunk examples into batches and a resumable loader over epochs.

A :class:`ChunkBatch` holds ``(B, L)`` float32 tensors (``chunk``, ``chunk_ctxt``,
``chunk_rand``) and which utterances/files they came from (for error messages), plus the
epoch and batch index it belongs to. :class:`ChunkLoader` runs a ``torch.utils.data``
DataLoader over a :class:`~pase.data.dataset.ChunkDataset` with a
:class:`~pase.data.sampler.ChunkBatchSampler`, one epoch per ``iter()``, and records each batch
it hands out so that ``state_dict()`` is exactly where training stands.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from pase.data.chunking import batches_per_epoch
from pase.data.dataset import ChunkDataset
from pase.data.items import AudioSet
from pase.data.sampler import ChunkBatchSampler


@dataclass
class ChunkBatch:
    """A batch of ``B`` examples: waveforms ``(B, L)`` and where they came from.

    ``utts[i]`` / ``sources[i]`` are the utterance ids / paths of example ``i``'s chunk,
    context chunk and random chunk (only the chunk's when built without pairs).
    """

    chunk: Tensor
    chunk_ctxt: Tensor | None
    chunk_rand: Tensor | None
    utts: list[tuple[str, ...]]
    sources: list[tuple[str, ...]]
    epoch: int
    batch: int
    positions: list[int]

    def __len__(self) -> int:
        return self.chunk.shape[0]

    def _map(self, fn: Any) -> ChunkBatch:
        return replace(
            self,
            chunk=fn(self.chunk),
            chunk_ctxt=None if self.chunk_ctxt is None else fn(self.chunk_ctxt),
            chunk_rand=None if self.chunk_rand is None else fn(self.chunk_rand),
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ChunkBatch:
        """Tensors moved to ``device``."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> ChunkBatch:
        """Tensors in pinned memory (called by the DataLoader when ``pin_memory=True``)."""
        return self._map(lambda t: t.pin_memory())

    def stacked(self) -> Tensor:
        """``[chunk; chunk_ctxt; chunk_rand]`` as one encoder input ``(3B, 1, L)``."""
        if self.chunk_ctxt is None or self.chunk_rand is None:
            return self.chunk.unsqueeze(1)
        return torch.cat((self.chunk, self.chunk_ctxt, self.chunk_rand), 0).unsqueeze(1)

    def describe(self, limit: int = 8) -> str:
        """The batch's files, for error messages."""
        lines = [f"epoch {self.epoch} batch {self.batch}:"]
        for u, s in list(zip(self.utts, self.sources))[:limit]:
            lines.append("  " + ", ".join(f"{a} ({b})" for a, b in zip(u, s)))
        if len(self.utts) > limit:
            lines.append(f"  ... {len(self.utts) - limit} more")
        return "\n".join(lines)


def collate_chunks(examples: Sequence[dict[str, Any]]) -> ChunkBatch:
    """Stack examples of :class:`ChunkDataset` into a :class:`ChunkBatch`."""
    if not examples:
        raise ValueError("empty batch")

    def stack(name: str) -> Tensor | None:
        if name not in examples[0]:
            return None
        return torch.from_numpy(np.stack([e[name] for e in examples]).astype(np.float32))

    keys = [e["key"] for e in examples]
    return ChunkBatch(
        chunk=stack("chunk"),  # type: ignore[arg-type]
        chunk_ctxt=stack("chunk_ctxt"),
        chunk_rand=stack("chunk_rand"),
        utts=[tuple(e["utts"]) for e in examples],
        sources=[tuple(e["sources"]) for e in examples],
        epoch=int(keys[0].epoch),
        batch=int(keys[0].batch),
        positions=[int(k.position) for k in keys],
    )


class ChunkLoader:
    """One epoch of batches per ``iter()``, resumable at batch granularity.

    Iterating to the end moves to the next epoch; stopping early (``break``) keeps the position
    after the last batch handed out, which ``state_dict()`` reports.
    """

    def __init__(
        self,
        dataset: ChunkDataset,
        sampler: ChunkBatchSampler,
        *,
        num_workers: int = 0,
        pin_memory: bool = False,
        prefetch_factor: int | None = None,
    ) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.prefetch_factor = prefetch_factor

    @property
    def epoch(self) -> int:
        """Current epoch."""
        return self.sampler.epoch

    @property
    def batches_per_epoch(self) -> int:
        """Batches of a full epoch (for this process)."""
        return self.sampler.batches_per_epoch

    def __len__(self) -> int:
        """Batches left in the current epoch."""
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its first batch."""
        self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[ChunkBatch]:
        kwargs: dict[str, Any] = {}
        if self.num_workers > 0 and self.prefetch_factor is not None:
            kwargs["prefetch_factor"] = self.prefetch_factor
        if self.num_workers > 0:
            kwargs["worker_init_fn"] = ignore_stop_signals
        loader = DataLoader(
            self.dataset,
            batch_sampler=self.sampler,
            collate_fn=collate_chunks,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            **kwargs,
        )
        epoch = self.sampler.epoch
        for batch in loader:
            self.sampler.advance(batch.epoch, batch.batch)
            yield batch
        if self.sampler.fixed_epoch is None and self.sampler.epoch == epoch:
            self.sampler.set_epoch(epoch + 1)

    def state_dict(self) -> dict[str, Any]:
        """The sampler position (epoch, next batch) and layout."""
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`."""
        self.sampler.load_state_dict(state)


def dist_rank_world() -> tuple[int, int]:
    """(rank, world size) of the initialised ``torch.distributed`` group, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def ignore_stop_signals(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: workers ignore SIGTERM and SIGINT, which reach every
    process of a job (Slurm's ``scancel``, a terminal's Ctrl-C). The main process decides:
    ``pase-train`` finishes its step and saves, then stops its workers. (PyTorch's workers
    would otherwise die on SIGTERM, and the main process with them, before it could save.)"""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def build_chunk_loader(
    audio: AudioSet,
    *,
    chunk_size: int,
    batch_size: int,
    seed: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
    context: str = "speaker",
    with_pairs: bool = True,
    random_scale: bool = False,
    validation: bool = False,
    num_batches: int | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> ChunkLoader:
    """A loader over ``audio`` with the original's epoch size.

    ``num_batches`` overrides the epoch size (batches per process); otherwise it is
    ``total_samples // chunk_size // (batch_size * world_size)``, at least 1. ``validation``
    gives the same batches (epoch 0 of ``seed``) on every pass, so validation losses are
    comparable across epochs. ``rank`` / ``world_size`` default to the initialised
    ``torch.distributed`` process group (else 0 / 1).
    """
    if rank is None or world_size is None:
        r, w = dist_rank_world()
        rank = r if rank is None else rank
        world_size = w if world_size is None else world_size
    ds = ChunkDataset(
        audio.items,
        chunk_size,
        seed=seed,
        context=context,
        with_pairs=with_pairs,
        random_scale=random_scale,
    )
    if num_batches is None:
        num_batches = batches_per_epoch(audio.total_samples(), chunk_size, batch_size, world_size)
    sampler = ChunkBatchSampler(
        len(ds),
        batch_size,
        num_batches,
        seed=seed,
        rank=rank,
        world_size=world_size,
        shuffle=True,
        fixed_epoch=0 if validation else None,
    )
    return ChunkLoader(ds, sampler, num_workers=num_workers, pin_memory=pin_memory)
