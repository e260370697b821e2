"""Labelled probe data: utterance labels (``utt2spk``, ``utt2label``, ``utt2emo``, ...) or
per-frame labels, with inputs from a feature table (``feats.scp``, frozen features) or from a
Kaldi data dir's audio (the encoder runs inside the model).

Frame labels are a text table ``<utt> <label> <label> ...`` (one label per 10 ms frame; what
Kaldi's ``ali-to-phones --per-frame=true ... ark,t:-`` prints). Feature and label frame counts
may differ by the usual edge frames: up to ``max_trim`` extra feature frames are dropped at the
end, anything else is an error naming the utterance.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
import torch
from torch import Tensor

from pase.io.audio import read_audio
from pase.io.datadir import DataDir, read_kv


class ProbeDataError(ValueError):
    """Probe data that cannot be used (the message names the file and utterance)."""


@dataclass(frozen=True)
class Labels:
    """The class names of a task (sorted), and their indices."""

    names: tuple[str, ...]

    @classmethod
    def of(cls, values: Sequence[str]) -> Labels:
        return cls(tuple(sorted(set(values))))

    def index(self, name: str, where: str = "") -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ProbeDataError(
                f"{where}: label {name!r} is not one of the training labels "
                f"({len(self.names)}: {', '.join(self.names[:10])}"
                f"{', ...' if len(self.names) > 10 else ''})"
            ) from None

    def __len__(self) -> int:
        return len(self.names)


def read_utt_labels(path: str | os.PathLike) -> dict[str, str]:
    """``<utt> <label>`` table (e.g. ``utt2spk``)."""
    table = read_kv(path)
    bad = [k for k, v in table.items() if len(v.split()) != 1]
    if bad:
        raise ProbeDataError(f"{path}: utterance {bad[0]!r} has more than one label")
    return table


def read_frame_labels(path: str | os.PathLike) -> dict[str, list[str]]:
    """``<utt> <label per frame> ...`` table."""
    return {k: v.split() for k, v in read_kv(path).items()}


def match_frames(x: np.ndarray, num_labels: int, utt: str, max_trim: int = 3) -> np.ndarray:
    """Features ``(T, C)`` cut to ``num_labels`` frames when ``T`` exceeds it by at most
    ``max_trim`` (edge frames); otherwise an error naming the utterance."""
    n = x.shape[0]
    if num_labels <= n <= num_labels + max_trim:
        return x[:num_labels]
    raise ProbeDataError(
        f"utterance {utt!r}: {n} feature frames but {num_labels} labelled frames "
        f"(at most {max_trim} extra feature frames are trimmed)"
    )


@dataclass
class Example:
    """One utterance: its input (features ``(T, C)`` or waveform ``(L,)``) and label(s)."""

    utt: str
    x: np.ndarray
    y: np.ndarray  # () for an utterance label, (T,) for frame labels


class ProbeSet(torch.utils.data.Dataset):
    """The labelled utterances of one split, loaded into memory.

    Args:
        utts: utterance ids, in order.
        inputs: ``"feats"`` (``feats_scp`` rows, ``(T, C)``) or ``"wav"`` (``data_dir``
            audio, ``(L,)`` float32).
        labels: utt -> label (utterance task) or utt -> frame labels (frame task).
        label_set: class names (the training split's).
    """

    def __init__(
        self,
        utts: Sequence[str],
        inputs: str,
        labels: dict[str, str] | dict[str, list[str]],
        label_set: Labels,
        *,
        feats_scp: str | os.PathLike | None = None,
        data_dir: str | os.PathLike | None = None,
        channel: int | str | None = None,
        max_trim: int = 3,
    ) -> None:
        where = str(feats_scp or data_dir)
        self.examples: list[Example] = []
        if inputs == "feats":
            table = read_kv(feats_scp)  # type: ignore[arg-type]
            source = {u: table.get(u) for u in utts}
        elif inputs == "wav":
            dd = DataDir(data_dir)  # type: ignore[arg-type]
            source = {u.utt_id: u for u in dd.utterances()}
        else:
            raise ValueError(f"inputs must be 'feats' or 'wav', got {inputs!r}")
        for utt in utts:
            if source.get(utt) is None:
                raise ProbeDataError(f"{where}: no input for utterance {utt!r}")
            if utt not in labels:
                raise ProbeDataError(f"utterance {utt!r} of {where} has no label")
            if inputs == "feats":
                x = np.array(kaldiio.load_mat(source[utt]), dtype=np.float32)  # writable copy
            else:
                u = source[utt]
                kw = {} if channel is None else {"channel": channel}
                x = read_audio(u.source, utt=utt, start=u.start, end=u.end, **kw)
            lab = labels[utt]
            if isinstance(lab, list):
                y = np.array([label_set.index(v, f"utterance {utt!r}") for v in lab])
                if inputs == "feats":
                    x = match_frames(x, len(y), utt, max_trim)
            else:
                y = np.array(label_set.index(lab, f"utterance {utt!r}"))
            self.examples.append(Example(utt, x, y))
        self.inputs = inputs
        self.label_set = label_set

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Example:
        return self.examples[i]


@dataclass
class Batch:
    """A zero-padded batch: ``x`` ``(B, T, C)`` features or ``(B, L)`` waveforms, ``lengths``
    ``(B,)`` (frames or samples), ``y`` ``(B,)`` or ``(B, T_y)`` (padded with -100, the
    ignored index of ``cross_entropy``), ``utts``."""

    x: Tensor
    lengths: Tensor
    y: Tensor
    utts: list[str]


def collate(examples: Sequence[Example]) -> Batch:
    """Pad a list of examples into a :class:`Batch`."""
    lengths = torch.tensor([e.x.shape[0] for e in examples])
    shape = (len(examples), int(lengths.max()), *examples[0].x.shape[1:])
    x = torch.zeros(shape, dtype=torch.float32)
    for i, e in enumerate(examples):
        x[i, : e.x.shape[0]] = torch.from_numpy(e.x)
    if examples[0].y.ndim == 0:
        y = torch.tensor([int(e.y) for e in examples])
    else:
        y = torch.full((len(examples), max(e.y.shape[0] for e in examples)), -100)
        for i, e in enumerate(examples):
            y[i, : e.y.shape[0]] = torch.from_numpy(e.y)
    return Batch(x, lengths, y, [e.utt for e in examples])


def split_utts(path: str | os.PathLike) -> list[str]:
    """Utterance ids of a split: a data dir (its ``utt2spk``), a ``feats.scp`` or a list."""
    p = Path(path)
    if p.is_dir():
        return list(read_kv(p / "utt2spk"))
    return [ln.split()[0] for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
