"""Chunk dataset: random windows of ``chunk_size`` samples for self-supervised training.

Each example holds three float32 windows ``(chunk_size,)`` at 16 kHz:

- ``chunk``: a random window of the item;
- ``chunk_ctxt``: a random window of a *context* item (see ``context`` below), the positive
  partner of the LIM/GIM workers;
- ``chunk_rand``: a random window of another item drawn uniformly (the negative partner).

Items shorter than the chunk are reflect-padded at the end. With ``random_scale`` every
window is divided by its peak and multiplied by a gain from U(0, 1) (the original's
``--random_scale``). Targets and distortions are not computed here: the trainer computes them
batched on the device from the collated clean chunks.

Context policies (``context``):

- ``"speaker"`` (default): another utterance of the same speaker (``utt2spk`` / ``spk``);
- ``"recording"``: another segment of the same recording (Kaldi ``segments``);
- ``"prefix"``: the original's rule: another file whose name without its trailing
  ``<digits>.<ext>`` is the same (another segment of the same LibriSpeech utterance);
- ``"self"``: another window of the same item (the original's PairWavDataset).

An item with no partner under the policy uses itself (as the original).

Every random choice comes from a generator seeded by ``(seed, epoch, position)`` of the
:class:`~pase.data.sampler.ChunkKey`: the same key always gives the same example, in any
DataLoader worker and after a restart.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import soundfile as sf
from torch.utils.data import Dataset

from pase.constants import segment_samples
from pase.data.chunking import random_scale, reflect_pad, segment_prefix, window_offset
from pase.data.items import AudioItem
from pase.data.sampler import ChunkKey
from pase.io.audio import SAMPLE_RATE, AudioError, is_pipe, read_audio, select_channel

CONTEXT_POLICIES = ("speaker", "recording", "prefix", "self")


def read_random_window(
    item: AudioItem, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """A random window of ``size`` samples of ``item`` (reflect-padded if the item is shorter).

    Plain files are read partially (only the window); ``cmd |`` sources are decoded whole.
    Multi-channel audio follows ``item.channel`` (None: refused, naming the utterance).

    Returns:
        ``((size,) float32, offset in samples within the item)``.

    Raises:
        AudioError: unreadable source, other sample rate, empty item or segment, NaN/Inf,
            several channels without a channel choice.
    """
    where = item.describe()
    if is_pipe(item.source):
        wav = read_audio(
            item.source, utt=item.utt_id, start=item.start, end=item.end, channel=item.channel
        )
        off = window_offset(wav.shape[0], size, rng)
        return reflect_pad(wav[off : off + size], size), off
    if not os.path.exists(item.source):
        raise AudioError(f"{where}: file does not exist")
    try:
        with sf.SoundFile(item.source) as f:
            if f.samplerate != SAMPLE_RATE:
                raise AudioError(
                    f"{where}: sample rate is {f.samplerate} Hz, expected {SAMPLE_RATE} Hz"
                )
            b, e = segment_samples(item.start, item.end, f.frames)
            e = min(e, f.frames)
            n = e - b
            if n <= 0:
                raise AudioError(f"{where}: no samples (recording holds {f.frames})")
            off = window_offset(n, size, rng)
            f.seek(b + off)
            x = select_channel(
                f.read(min(size, n), dtype="float32", always_2d=True), item.channel, where
            )
    except AudioError:
        raise
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"{where}: unreadable audio ({err})") from err
    if x.shape[0] == 0:
        raise AudioError(f"{where}: read no samples at offset {off} (truncated file?)")
    if not np.isfinite(x).all():
        raise AudioError(f"{where}: contains NaN or Inf samples")
    return reflect_pad(np.ascontiguousarray(x), size), off


def _context_key(item: AudioItem, policy: str) -> str | None:
    if policy == "speaker":
        return item.speaker
    if policy == "recording":
        return item.recording or item.utt_id
    if policy == "prefix":
        return segment_prefix(item.utt_id if is_pipe(item.source) else item.source)
    return None


class ChunkDataset(Dataset):
    """Examples ``{"chunk", "chunk_ctxt", "chunk_rand"}`` keyed by :class:`ChunkKey`.

    Args:
        items: the corpus (at least 2 items when ``with_pairs``).
        chunk_size: window length in samples.
        seed: base seed (combined with the key's epoch and position).
        context: context policy, one of :data:`CONTEXT_POLICIES`.
        with_pairs: also build ``chunk_ctxt`` and ``chunk_rand`` (False for statistics).
        random_scale: peak-normalise then scale every window by U(0, 1).
    """

    def __init__(
        self,
        items: Sequence[AudioItem],
        chunk_size: int,
        *,
        seed: int = 0,
        context: str = "speaker",
        with_pairs: bool = True,
        random_scale: bool = False,
    ) -> None:
        if context not in CONTEXT_POLICIES:
            raise ValueError(f"unknown context policy {context!r} (one of {CONTEXT_POLICIES})")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.items = list(items)
        if not self.items:
            raise ValueError("no audio items")
        if with_pairs and len(self.items) < 2:
            raise ValueError(
                "the random (negative) chunk needs another file: at least 2 items are required"
            )
        self.chunk_size = int(chunk_size)
        self.seed = int(seed)
        self.context = context
        self.with_pairs = with_pairs
        self.random_scale = random_scale
        # group members (sorted item indices) and each item's group / position in it
        groups: dict[Any, list[int]] = {}
        for i, it in enumerate(self.items):
            key = _context_key(it, context)
            groups.setdefault(("item", i) if key is None else ("key", key), []).append(i)
        self._members = [np.asarray(m, dtype=np.int64) for m in groups.values()]
        self._group = np.empty(len(self.items), dtype=np.int64)
        self._pos = np.empty(len(self.items), dtype=np.int64)
        for g, members in enumerate(self._members):
            self._group[members] = g
            self._pos[members] = np.arange(len(members))

    def __len__(self) -> int:
        return len(self.items)

    def context_index(self, index: int, rng: np.random.Generator) -> int:
        """A uniformly drawn partner of item ``index`` under the context policy (or itself)."""
        members = self._members[self._group[index]]
        if len(members) < 2:
            return index
        j = int(rng.integers(0, len(members) - 1))
        return int(members[j + (j >= self._pos[index])])

    def random_index(self, index: int, rng: np.random.Generator) -> int:
        """A uniformly drawn item other than ``index``."""
        j = int(rng.integers(0, len(self.items) - 1))
        return j + (j >= index)

    def example_rng(self, key: ChunkKey) -> np.random.Generator:
        """The generator of one example: seeded by ``(seed, epoch, position)``."""
        return np.random.default_rng([self.seed, key.epoch, key.position])

    def __getitem__(self, key: ChunkKey | int) -> dict[str, Any]:
        if not isinstance(key, ChunkKey):
            i = int(key)
            key = ChunkKey(0, 0, i, i)
        rng = self.example_rng(key)
        idx = [key.index]
        if self.with_pairs:
            idx += [self.context_index(key.index, rng), self.random_index(key.index, rng)]
        names = ("chunk", "chunk_ctxt", "chunk_rand")[: len(idx)]
        out: dict[str, Any] = {"key": key}
        for name, i in zip(names, idx):
            x, _ = read_random_window(self.items[i], self.chunk_size, rng)
            out[name] = random_scale(x, rng) if self.random_scale else x
        out["utts"] = tuple(self.items[i].utt_id for i in idx)
        out["sources"] = tuple(self.items[i].source for i in idx)
        return out
