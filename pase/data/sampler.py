"""Resumable, shardable batch sampler of chunk keys.

An epoch is ``batches_per_epoch`` batches per process. Its chunks are numbered by a global
position ``p``; position ``p`` draws item ``order[p]`` where ``order`` concatenates seeded
permutations of all items (``seed``, epoch, round), so an epoch may visit an item more than
once when it holds more chunks than there are items, as the original's re-iterated loader.
Process ``rank`` of ``world_size`` takes batch ``g`` = positions
``[(g * world_size + rank) * B, ... + B)``: shards are disjoint and together cover the epoch.

The content of a chunk depends only on ``(seed, epoch, position)`` (see
:class:`pase.data.dataset.ChunkDataset`), so the number of DataLoader workers, prefetching and
restarts do not change what is trained on. ``state_dict()`` is the position of the next batch
*consumed* by the trainer; whoever consumes batches calls :meth:`advance` (the
:class:`pase.data.loader.ChunkLoader` does it), because a DataLoader prefetches ahead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
from torch.utils.data import Sampler


class ChunkKey(NamedTuple):
    """What a dataset needs to build one example deterministically."""

    epoch: int
    batch: int
    position: int
    index: int


class SamplerStateError(ValueError):
    """A sampler state that does not fit this sampler (other data, seed or batch layout)."""


class ChunkBatchSampler(Sampler[list[ChunkKey]]):
    """Yields lists of :class:`ChunkKey` (one batch each) for the current epoch.

    Args:
        num_items: number of items in the dataset.
        batch_size: chunks per batch (per process).
        batches_per_epoch: batches per epoch and process.
        seed: base seed of the item order (and, through the keys, of the chunks).
        rank, world_size: this process and the number of processes (DDP sharding).
        shuffle: random item order (else items in order, cycled).
        fixed_epoch: if set, every pass yields the same batches of this epoch from the start
            (validation); :meth:`advance` and :meth:`set_epoch` do nothing then.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        batches_per_epoch: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        fixed_epoch: int | None = None,
    ) -> None:
        if num_items < 1:
            raise ValueError("the dataset has no items")
        if batch_size < 1 or batches_per_epoch < 1:
            raise ValueError("batch_size and batches_per_epoch must be >= 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad rank {rank} for world size {world_size}")
        self.num_items = num_items
        self.batch_size = batch_size
        self.batches_per_epoch = batches_per_epoch
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.fixed_epoch = fixed_epoch
        self.epoch = 0 if fixed_epoch is None else fixed_epoch
        self.next_batch = 0

    def __len__(self) -> int:
        """Batches left in the current epoch (all of them for a fixed-epoch sampler)."""
        if self.fixed_epoch is not None:
            return self.batches_per_epoch
        return max(0, self.batches_per_epoch - self.next_batch)

    def order(self, epoch: int) -> np.ndarray:
        """Item index of every global position of ``epoch``."""
        n = self.batches_per_epoch * self.world_size * self.batch_size
        rounds = -(-n // self.num_items)
        if not self.shuffle:
            return np.tile(np.arange(self.num_items), rounds)[:n]
        perms = [
            np.random.default_rng([self.seed, epoch, r]).permutation(self.num_items)
            for r in range(rounds)
        ]
        return np.concatenate(perms)[:n]

    def batch_keys(self, epoch: int, batch: int, order: np.ndarray | None = None) -> list[ChunkKey]:
        """Keys of batch ``batch`` of ``epoch`` for this rank."""
        order = self.order(epoch) if order is None else order
        first = (batch * self.world_size + self.rank) * self.batch_size
        return [
            ChunkKey(epoch, batch, p, int(order[p])) for p in range(first, first + self.batch_size)
        ]

    def __iter__(self) -> Iterator[list[ChunkKey]]:
        epoch = self.epoch
        start = 0 if self.fixed_epoch is not None else self.next_batch
        order = self.order(epoch)
        for g in range(start, self.batches_per_epoch):
            yield self.batch_keys(epoch, g, order)

    def advance(self, epoch: int, batch: int) -> None:
        """Record that batch ``batch`` of ``epoch`` has been consumed."""
        if self.fixed_epoch is not None:
            return
        if epoch != self.epoch:
            raise SamplerStateError(f"batch of epoch {epoch} consumed while in epoch {self.epoch}")
        self.next_batch = max(self.next_batch, batch + 1)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its first batch."""
        if self.fixed_epoch is not None:
            return
        self.epoch = int(epoch)
        self.next_batch = 0

    def state_dict(self) -> dict[str, Any]:
        """Position (epoch, next batch) and the layout it is valid for."""
        return {
            "epoch": self.epoch,
            "next_batch": self.next_batch,
            "seed": self.seed,
            "num_items": self.num_items,
            "batch_size": self.batch_size,
            "batches_per_epoch": self.batches_per_epoch,
            "world_size": self.world_size,
            "shuffle": self.shuffle,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at a saved position; the data, seed and batch layout must be the same."""
        for key in (
            "seed",
            "num_items",
            "batch_size",
            "batches_per_epoch",
            "world_size",
            "shuffle",
        ):
            if key in state and state[key] != getattr(self, key):
                raise SamplerStateError(
                    f"cannot resume: saved sampler has {key}={state[key]!r}, this run has "
                    f"{getattr(self, key)!r} (same data, seed, batch size and number of "
                    "processes are needed for an exact resume)"
                )
        if self.fixed_epoch is None:
            self.epoch = int(state["epoch"])
            self.next_batch = int(state["next_batch"])
