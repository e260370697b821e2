"""Audio items of a training corpus, from a Kaldi data dir or an original-style JSON data cfg.

An :class:`AudioItem` is one utterance: where its samples come from (a file path or a Kaldi
``cmd |`` source, optionally a segment of a recording), its speaker, and its length in
samples once known. An :class:`AudioSet` is a list of items plus the declared total length
(``total_wav_dur`` of a data cfg), which fixes the epoch size.

JSON data cfg (format of the original ``unsupervised_data_cfg_librispeech.py``)::

    {"train": {"data": [{"filename": "a.wav", "spk": 7}, ...], "speakers": [...],
               "total_wav_dur": <samples>},
     "valid": {...}, "test": {...}, "speakers": [...]}

Filenames are relative to a data root (the ``--data-root`` flag, else the cfg's optional
``data_root`` key, else the working directory). Entries may carry the optional keys that
``pase-make-data-cfg`` writes: ``utt`` (utterance id), ``num_samples``, ``start``/``end``
(segment bounds in seconds), ``channel`` (which channel of multi-channel audio to read: a
0-based index or ``"mix"``; absent: the file must be mono); the original reader ignores them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pase.constants import segment_samples
from pase.io.audio import Channel, audio_info, audio_instead_of, check_channel, is_pipe
from pase.io.datadir import DataDir


class DataConfigError(ValueError):
    """A malformed JSON data cfg (the message names the file, split and entry)."""


@dataclass(frozen=True)
class AudioItem:
    """One utterance.

    Attributes:
        utt_id: unique utterance id.
        source: file path or ``cmd |``.
        speaker: speaker id (None when unknown).
        recording: recording id (the ``segments`` recording; else the utterance id).
        start, end: segment bounds in seconds (``end`` <= 0 or None = end of recording).
        num_samples: length in samples at 16 kHz, None until read from the header.
        channel: channel choice for multi-channel audio (None: the source must be mono; an
            int: that channel, 0-based; ``"mix"``: the average), see :mod:`pase.io.audio`.
    """

    utt_id: str
    source: str
    speaker: str | None = None
    recording: str | None = None
    start: float | None = None
    end: float | None = None
    num_samples: int | None = None
    channel: Channel = None

    @property
    def is_segment(self) -> bool:
        """True when the item is a part of a longer recording."""
        return self.start is not None or (self.end is not None and self.end > 0)

    def describe(self) -> str:
        """``utterance 'id' (path[, segment b-e s])`` for messages."""
        seg = f", segment {self.start}-{self.end} s" if self.is_segment else ""
        return f"utterance {self.utt_id!r} ({self.source}{seg})"


def item_length(item: AudioItem) -> int:
    """Length of ``item`` in samples: the known one, else from the header (or segment bounds)."""
    if item.num_samples is not None:
        return item.num_samples
    if item.end is not None and item.end > 0:
        b, e = segment_samples(item.start, item.end, 0)
        return e - b
    total = audio_info(item.source, utt=item.utt_id).num_samples
    b, e = segment_samples(item.start, None, total)
    return e - b


@dataclass
class AudioSet:
    """Items of one split and their total length in samples (None: sum of item lengths)."""

    items: list[AudioItem]
    name: str = ""
    declared_total: int | None = None

    def __len__(self) -> int:
        return len(self.items)

    def total_samples(self) -> int:
        """Declared ``total_wav_dur``, else the sum of the item lengths (headers are read)."""
        if self.declared_total is not None:
            return self.declared_total
        return sum(item_length(it) for it in self.items)

    def validate(
        self, *, skip_bad: bool = False, num_workers: int = 4, full: bool = False
    ) -> AudioSet:
        """Check every file before training (see :func:`pase.data.validate.validate_items`:
        missing, empty, unreadable, truncated, other rates, NaN/Inf, several channels without
        a channel choice; ``full`` decodes every file entirely).

        Returns the set of usable items with their lengths; raises
        :class:`~pase.data.validate.AudioValidationError` naming every bad utterance and path
        unless ``skip_bad`` (then they are dropped and logged).
        """
        from pase.data.validate import validate_items

        rep = validate_items(
            self.items, skip_bad=skip_bad, num_workers=num_workers, where=self.name, full=full
        )
        return self.with_items(rep.good)

    def with_items(self, items: list[AudioItem]) -> AudioSet:
        """The same set with other items (e.g. validated ones); a declared total is dropped
        when items were removed."""
        total = self.declared_total if len(items) == len(self.items) else None
        return AudioSet(items, self.name, total)


def from_datadir(path: str | os.PathLike, *, channel: Channel = None) -> AudioSet:
    """Items of a Kaldi data dir (``wav.scp``, ``utt2spk``, optional ``segments``), each with
    the channel choice ``channel``."""
    check_channel(channel)
    dd = DataDir(path)
    items = []
    for utt in dd.utterance_ids():
        u = dd.utterance(utt)
        rec = dd.segments[utt][0] if dd.segments is not None else utt
        items.append(AudioItem(utt, u.source, u.speaker, rec, u.start, u.end, channel=channel))
    if not items:
        raise DataConfigError(f"{path}: the data dir has no utterances")
    return AudioSet(items, str(path))


def load_data_cfg(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON data cfg (errors name the file; an audio file or a folder given instead is
    said to be one)."""
    msg = audio_instead_of(path, "a JSON data cfg (pase-make-data-cfg --cfg-file)")
    if msg is not None:
        raise DataConfigError(msg)
    if os.path.isdir(path):
        raise DataConfigError(
            f"{os.fspath(path)} is a folder, expected a JSON data cfg (a Kaldi data dir is "
            "given with --data-dir)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except FileNotFoundError as e:
        raise DataConfigError(f"data cfg {str(path)!r} does not exist") from e
    except UnicodeDecodeError as e:
        raise DataConfigError(f"data cfg {str(path)!r}: not a UTF-8 JSON text file ({e})") from e
    except json.JSONDecodeError as e:
        raise DataConfigError(
            f"data cfg {str(path)!r}: not JSON ({e}); a legacy pickled cfg cannot be read, "
            "rebuild it with pase-make-data-cfg"
        ) from e
    if not isinstance(cfg, dict):
        raise DataConfigError(f"data cfg {str(path)!r}: expected a JSON object")
    return cfg


def _resolve(filename: str, root: str | None) -> str:
    if is_pipe(filename) or not root or os.path.isabs(filename):
        return filename
    return os.path.join(root, filename)


def from_data_cfg(
    cfg: str | os.PathLike | Mapping[str, Any],
    split: str = "train",
    data_root: str | os.PathLike | None = None,
) -> AudioSet:
    """Items of one split (``train``/``valid``/``test``) of a JSON data cfg.

    ``data_root`` overrides the cfg's own ``data_root`` key.
    """
    where = "data cfg" if isinstance(cfg, Mapping) else f"data cfg {str(cfg)!r}"
    data = dict(cfg) if isinstance(cfg, Mapping) else load_data_cfg(cfg)
    if split not in data:
        raise DataConfigError(f"{where}: no split {split!r} (have {sorted(data)})")
    part = data[split]
    if not isinstance(part, Mapping) or not isinstance(part.get("data"), list):
        raise DataConfigError(f"{where}: split {split!r} needs a 'data' list")
    root = os.fspath(data_root) if data_root is not None else data.get("data_root") or None
    items: list[AudioItem] = []
    seen: set[str] = set()
    for n, entry in enumerate(part["data"]):
        if not isinstance(entry, Mapping) or "filename" not in entry:
            raise DataConfigError(f"{where}: {split}[{n}]: entry needs a 'filename': {entry!r}")
        fn = str(entry["filename"])
        utt = str(entry.get("utt") or os.path.splitext(fn)[0])
        if utt in seen:
            raise DataConfigError(f"{where}: {split}[{n}]: duplicate utterance {utt!r} ({fn})")
        seen.add(utt)
        spk = entry.get("spk")
        ns = entry.get("num_samples")
        try:
            chan = check_channel(entry.get("channel"))
        except ValueError as e:
            raise DataConfigError(f"{where}: {split}[{n}] ({fn}): {e}") from e
        try:
            items.append(
                AudioItem(
                    utt_id=utt,
                    source=_resolve(fn, root),
                    speaker=None if spk is None else str(spk),
                    recording=str(entry.get("recording") or fn),
                    start=None if entry.get("start") is None else float(entry["start"]),
                    end=None if entry.get("end") is None else float(entry["end"]),
                    num_samples=None if ns is None else int(ns),
                    channel=chan,
                )
            )
        except (TypeError, ValueError) as e:
            raise DataConfigError(f"{where}: {split}[{n}] ({fn}): bad value ({e})") from e
    total = part.get("total_wav_dur")
    return AudioSet(items, f"{where}:{split}", None if total is None else int(total))


def with_lengths(items: Sequence[AudioItem], lengths: Sequence[int]) -> list[AudioItem]:
    """Copies of ``items`` with ``num_samples`` set."""
    return [replace(it, num_samples=int(n)) for it, n in zip(items, lengths, strict=True)]


def open_audio_set(
    *,
    data_dir: str | os.PathLike | None = None,
    data_cfg: str | os.PathLike | None = None,
    split: str = "train",
    data_root: str | os.PathLike | None = None,
    channel: Channel = None,
) -> AudioSet:
    """An :class:`AudioSet` from a Kaldi data dir or from a split of a JSON data cfg.

    ``channel`` is the channel choice of a data dir's items (a data cfg records its own, per
    entry, and must not be given one here).
    """
    if (data_dir is None) == (data_cfg is None):
        raise ValueError("give exactly one of a Kaldi data dir or a JSON data cfg")
    if data_dir is not None:
        return from_datadir(Path(data_dir), channel=channel)
    if channel is not None:
        raise ValueError(
            "a JSON data cfg records the channel of each entry (pase-make-data-cfg "
            "--channel); channel= applies to Kaldi data dirs only"
        )
    return from_data_cfg(data_cfg, split, data_root)  # type: ignore[arg-type]
