"""Kaldi data directories: ``wav.scp``, ``utt2spk``, optional ``segments`` and ``text``.

Contract (Kaldi's): one ``<key> <value>`` per line, keys unique and sorted (C locale),
utterance ids prefixed by their speaker id. ``segments`` lines are
``<utt> <recording> <start-s> <end-s>`` (end -1 = end of recording) and make ``wav.scp`` a
table of recordings instead of utterances.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pase.io.atomic import atomic_open


class DataDirError(ValueError):
    """A malformed Kaldi data directory file (the message names file and line)."""


def read_kv(path: str | os.PathLike, *, allow_empty: bool = False) -> dict[str, str]:
    """Read a Kaldi table file ``<key> <rest of line>`` into an ordered dict.

    Raises DataDirError on a duplicate key or (unless ``allow_empty``) a key without value.
    """
    path = Path(path)
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            parts = line.strip().split(maxsplit=1)
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if not value and not allow_empty:
                raise DataDirError(f"{path}:{n}: key {key!r} has no value")
            if key in out:
                raise DataDirError(f"{path}:{n}: duplicate key {key!r}")
            out[key] = value
    return out


def write_kv(path: str | os.PathLike, table: dict[str, str], *, sort: bool = True) -> None:
    """Write ``table`` as ``<key> <value>`` lines atomically (sorted by key by default)."""
    keys = sorted(table) if sort else list(table)
    with atomic_open(path, "w", encoding="utf-8") as f:
        for k in keys:
            v = table[k]
            f.write(f"{k} {v}\n" if v != "" else f"{k}\n")


@dataclass(frozen=True)
class Utterance:
    """One utterance of a data dir: its audio source and optional segment bounds (seconds)."""

    utt_id: str
    source: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None


class DataDir:
    """A Kaldi data dir opened for reading.

    Attributes:
        path: the folder.
        wav_scp: recording (or utterance) id -> path or ``cmd |``.
        utt2spk: utterance id -> speaker id (empty dict when the file is absent).
        segments: utterance id -> (recording id, start s, end s), or None.
        text: utterance id -> transcript, or None.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        wav = self.path / "wav.scp"
        if not wav.is_file():
            raise DataDirError(f"{self.path}: not a Kaldi data dir (no wav.scp)")
        self.wav_scp = read_kv(wav)
        u2s = self.path / "utt2spk"
        self.utt2spk = read_kv(u2s) if u2s.is_file() else {}
        seg = self.path / "segments"
        self.segments: dict[str, tuple[str, float, float]] | None = None
        if seg.is_file():
            self.segments = {}
            for utt, rest in read_kv(seg).items():
                fields = rest.split()
                try:
                    rec, b, e = fields[0], float(fields[1]), float(fields[2])
                except (IndexError, ValueError) as err:
                    raise DataDirError(
                        f"{seg}: utterance {utt!r}: expected '<rec> <start> <end>', got {rest!r}"
                    ) from err
                if rec not in self.wav_scp:
                    raise DataDirError(f"{seg}: utterance {utt!r}: recording {rec!r} not in wav.scp")
                self.segments[utt] = (rec, b, e)
        txt = self.path / "text"
        self.text = read_kv(txt, allow_empty=True) if txt.is_file() else None

    def utterance_ids(self) -> list[str]:
        """Utterance ids in file order."""
        return list(self.segments) if self.segments is not None else list(self.wav_scp)

    def __len__(self) -> int:
        return len(self.utterance_ids())

    def utterance(self, utt_id: str) -> Utterance:
        """Where to read ``utt_id`` from."""
        spk = self.utt2spk.get(utt_id)
        if self.segments is not None:
            rec, b, e = self.segments[utt_id]
            return Utterance(utt_id, self.wav_scp[rec], spk, b, e)
        return Utterance(utt_id, self.wav_scp[utt_id], spk)

    def utterances(self) -> list[Utterance]:
        """All utterances in file order."""
        return [self.utterance(u) for u in self.utterance_ids()]
