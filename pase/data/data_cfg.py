"""Building the JSON data cfg (train / valid / test splits) for self-supervised training.

Equivalent of the original ``unsupervised_data_cfg_librispeech.py``, with two deliberate
changes: the validation split holds out whole *speakers* by default (what the original README
promises; the original script split by utterance, available as ``split_by="utterance"``), and
per-entry lengths are written (``num_samples``) next to each split's ``total_wav_dur``.

Speaker maps (``--libri_dict``): a JSON object ``{filename: speaker}``, a two-column text file
``<filename> <speaker>``, or the original numpy-pickled dict (``.npy``; read only through
:func:`read_speaker_map`'s legacy path, which warns because unpickling runs code).
"""

from __future__ import annotations

import json
import logging
import os
import random
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pase.data.items import AudioItem
from pase.io.audio import audio_instead_of

log = logging.getLogger(__name__)


class SplitError(ValueError):
    """A split that cannot be made (e.g. too few speakers to hold some out)."""


def _text_input(path: str | os.PathLike, expected: str) -> str:
    """The UTF-8 text of ``path``; an audio file, a folder or binary data given instead is an
    error saying so."""
    msg = audio_instead_of(path, expected)
    if msg is not None:
        raise SplitError(msg)
    if os.path.isdir(path):
        raise SplitError(
            f"{os.fspath(path)} is a folder, expected {expected} (a Kaldi data dir is given "
            "with --train_dir / --valid_dir / --test_dir)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise SplitError(f"{os.fspath(path)}: not a UTF-8 text file, expected {expected}") from e


def read_file_list(path: str | os.PathLike) -> list[str]:
    """One file name per line (the original ``*.scp`` lists); blank lines are skipped."""
    text = _text_input(path, "a file list (one audio file name per line)")
    names = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not names:
        raise SplitError(f"{path}: the list is empty")
    dup = [n for n, c in Counter(names).items() if c > 1]
    if dup:
        raise SplitError(f"{path}: duplicate entries {sorted(dup)[:5]}")
    return names


def _load_legacy_npy(path: str) -> dict[Any, Any]:
    import pickle

    from pase.io.safe_pickle import load_npy_object

    warnings.warn(
        f"{path}: reading a legacy numpy-pickled speaker dict with a restricted unpickler "
        "(only dicts, strings and numbers are accepted). Convert it once to JSON or a "
        "two-column text file.",
        UserWarning,
        stacklevel=3,
    )
    try:
        obj = load_npy_object(path)
    except (pickle.UnpicklingError, ValueError, EOFError) as e:
        raise SplitError(f"{path}: cannot read the speaker dict ({e})") from e
    if not isinstance(obj, Mapping):
        raise SplitError(f"{path}: expected a pickled dict filename -> speaker")
    return dict(obj)


def read_speaker_map(path: str | os.PathLike) -> dict[str, Any]:
    """filename -> speaker from a JSON object, a two-column text file or a legacy ``.npy``."""
    path = os.fspath(path)
    expected = "a speaker map (JSON object, '<file> <speaker>' lines or a legacy .npy)"
    if path.endswith(".npy"):
        raw = _load_legacy_npy(path)
    elif path.endswith(".json"):
        try:
            raw = json.loads(_text_input(path, expected))
        except json.JSONDecodeError as e:
            raise SplitError(f"{path}: not JSON ({e})") from e
        if not isinstance(raw, dict):
            raise SplitError(f"{path}: expected a JSON object filename -> speaker")
    else:
        raw = {}
        for n, line in enumerate(_text_input(path, expected).splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise SplitError(f"{path}:{n}: expected '<filename> <speaker>', got {line!r}")
            raw[parts[0]] = parts[1]
    out: dict[str, Any] = {}
    for k, v in raw.items():
        out[str(k)] = v.item() if hasattr(v, "item") else v
    return out


def lookup_speaker(filename: str, spk_map: Mapping[str, Any], *, where: str = "") -> Any:
    """Speaker of ``filename``: exact key, else its base name, else its stem."""
    base = os.path.basename(filename)
    for k in (filename, base, os.path.splitext(base)[0]):
        if k in spk_map:
            return spk_map[k]
    raise SplitError(f"{where or 'speaker map'}: no speaker for file {filename!r}")


def held_out_speakers(speakers: Sequence[Any], ratio: float, seed: int) -> set[str]:
    """Speakers (as strings) for validation: ``round(ratio * n)`` of them, at least 1 if
    ``ratio > 0``, chosen by a seeded shuffle of the sorted speaker list; at least one
    speaker always stays in training."""
    uniq = sorted({str(s) for s in speakers})
    if ratio <= 0:
        return set()
    if not 0 < ratio < 1:
        raise SplitError(f"validation ratio must be in [0, 1), got {ratio}")
    if len(uniq) < 2:
        raise SplitError(
            f"cannot hold out speakers for validation: only {len(uniq)} speaker(s) "
            "(give a validation set, split by utterance, or use a ratio of 0)"
        )
    k = min(len(uniq) - 1, max(1, round(ratio * len(uniq))))
    random.Random(seed).shuffle(uniq)
    return set(uniq[:k])


def held_out_utterances(n: int, ratio: float, seed: int) -> set[int]:
    """Indices of the validation utterances (the original rule: shuffle, take the first
    ``int(n * ratio)``)."""
    if ratio <= 0:
        return set()
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    return set(idx[: int(n * ratio)])


def split_entry(entries: Sequence[tuple[AudioItem, str, Any]]) -> dict[str, Any]:
    """One split of the cfg from ``(validated item, filename to write, speaker)`` triples."""
    data = []
    speakers: list[Any] = []
    seen: set[Any] = set()
    total = 0
    for item, filename, spk in entries:
        if item.num_samples is None:
            raise ValueError(f"{item.describe()}: length unknown (validate the items first)")
        e: dict[str, Any] = {"filename": filename, "spk": spk, "utt": item.utt_id}
        if item.is_segment:
            e["start"] = item.start
            e["end"] = item.end
            e["recording"] = item.recording
        if item.channel is not None:
            e["channel"] = item.channel
        e["num_samples"] = item.num_samples
        data.append(e)
        total += item.num_samples
        if spk not in seen:
            seen.add(spk)
            speakers.append(spk)
    return {"data": data, "speakers": speakers, "total_wav_dur": total}


def build_data_cfg(
    splits: Mapping[str, Sequence[tuple[AudioItem, str, Any]]], data_root: str | None = None
) -> dict[str, Any]:
    """The whole cfg: ``train``/``valid``/``test`` splits, all ``speakers``, ``data_root``."""
    cfg: dict[str, Any] = {}
    every: dict[Any, None] = {}
    for name in ("train", "valid", "test"):
        part = split_entry(splits.get(name, []))
        cfg[name] = part
        every.update(dict.fromkeys(part["speakers"]))
    cfg["speakers"] = list(every)
    if data_root:
        cfg["data_root"] = data_root
    return cfg
