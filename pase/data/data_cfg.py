"""Building the JSON data cfg (train / valid / test splits) for self-supervised training.

Equivalent of the original ``unsupervised_data_cfg_librispeech.py``, with two deliberate
changes: the validation split holds out whole *speakers* by default (what the original README
promises; the original script split by utterance, available as ``split_by="utterance"``), and
per-entry lengths are written (``num_samples``) next to each split's ``total_wav_dur``.

Speaker maps (``--libri-dict``): a JSON object ``{filename: speaker}``, a two-column text file
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pase.data.items import AudioItem, from_datadir
from pase.data.validate import validate_items
from pase.io.atomic import write_json_atomic
from pase.io.audio import Channel, audio_instead_of
from pase.io.provenance import (
    audio_files,
    audio_table,
    input_entry,
    make_stamp,
    up_to_date,
    write_stamp,
)

log = logging.getLogger(__name__)

#: the splits of a data cfg
SPLITS = ("train", "valid", "test")
#: the tool named in the stamps (and in the rerun messages)
TOOL = "pase-make-data-cfg"
#: ``(item, filename written to the cfg, speaker)`` of one utterance
Entry = tuple[AudioItem, str, Any]


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
            "with --train-dir / --valid-dir / --test-dir)"
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


def split_entry(entries: Sequence[Entry]) -> dict[str, Any]:
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
    splits: Mapping[str, Sequence[Entry]], data_root: str | None = None
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


# ---------------------------------------------------------------------------- pase-make-data-cfg


@dataclass(frozen=True)
class DataCfgSources:
    """Where the splits come from: for each split a Kaldi data dir (``<split>_dir``) or a file
    list (``<split>_scp``, names relative to ``data_root``, speakers from ``libri_dict``)."""

    train_dir: str | None = None
    valid_dir: str | None = None
    test_dir: str | None = None
    train_scp: str | None = None
    valid_scp: str | None = None
    test_scp: str | None = None
    libri_dict: str | None = None
    data_root: str | None = None

    def input_files(self) -> dict[str, str]:
        """label -> path of every text input the cfg is computed from."""
        out: dict[str, str] = {}
        for s in SPLITS:
            d = getattr(self, f"{s}_dir")
            if d is not None:
                for name in ("wav.scp", "utt2spk", "segments"):
                    out[f"{s}_dir/{name}"] = os.path.join(d, name)
            scp = getattr(self, f"{s}_scp")
            if scp is not None:
                out[f"{s}_scp"] = scp
        if self.libri_dict:
            out["libri_dict"] = self.libri_dict
        return out


@dataclass(frozen=True)
class DataCfgOptions:
    """The options that change the cfg (all of them are recorded in the stamp)."""

    valid_ratio: float = 0.1
    split_by: str = "speaker"
    seed: int = 3
    skip_bad_audio: bool = False
    channel: Channel = None
    full_check: bool = False


def _from_list(
    scp: str,
    root: str | None,
    spk_map: dict[str, Any] | None,
    where: str,
    channel: Channel = None,
) -> list[Entry]:
    out = []
    for fn in read_file_list(scp):
        spk = lookup_speaker(fn, spk_map, where=where) if spk_map is not None else None
        src = fn if root is None or os.path.isabs(fn) else os.path.join(root, fn)
        utt = os.path.splitext(fn)[0]
        item = AudioItem(utt, src, None if spk is None else str(spk), fn, channel=channel)
        out.append((item, fn, spk))
    return out


def _from_dir(path: str, channel: Channel = None) -> list[Entry]:
    return [(it, it.source, it.speaker) for it in from_datadir(path, channel=channel).items]


def load_entries(sources: DataCfgSources, channel: Channel = None) -> dict[str, list[Entry]]:
    """The entries of each split from the data dirs or lists (nothing is read from audio)."""
    if (sources.train_dir is None) == (sources.train_scp is None):
        raise SplitError("give exactly one of --train-dir (Kaldi data dir) or --train-scp")
    spk_map = read_speaker_map(sources.libri_dict) if sources.libri_dict else None
    where = sources.libri_dict or ""

    def load(d: str | None, scp: str | None) -> list[Entry]:
        if d is not None and scp is not None:
            raise SplitError(f"give either a data dir ({d}) or a list ({scp}), not both")
        if d is not None:
            return _from_dir(d, channel)
        if scp is not None:
            return _from_list(scp, sources.data_root, spk_map, where, channel)
        return []

    return {s: load(getattr(sources, f"{s}_dir"), getattr(sources, f"{s}_scp")) for s in SPLITS}


def data_cfg_stamp(
    sources: DataCfgSources,
    options: DataCfgOptions,
    entries: Mapping[str, Sequence[Entry]],
    *,
    verify: bool = False,
    nj: int = 4,
) -> dict[str, Any]:
    """The provenance stamp (see :mod:`pase.io.provenance`) of the cfg these give (``nj``
    threads read the audio files' facts)."""
    opts: dict[str, Any] = {
        k: getattr(options, k)
        for k in ("valid_ratio", "split_by", "seed", "skip_bad_audio", "channel", "full_check")
    }
    opts["data_root"] = sources.data_root
    for k in (*(f"{s}_{x}" for s in SPLITS for x in ("dir", "scp")), "libri_dict"):
        v = getattr(sources, k)
        opts[k] = None if v is None else os.path.abspath(v)
    sources_audio = [it.source for part in entries.values() for it, _, _ in part]
    return make_stamp(
        TOOL,
        options=opts,
        inputs={k: input_entry(p) for k, p in sources.input_files().items()},
        audio=audio_table(audio_files(sources_audio), verify=verify, num_workers=nj),
    )


def _validate(
    entries: list[Entry],
    name: str,
    options: DataCfgOptions,
    nj: int,
    log: logging.Logger,
) -> list[Entry]:
    if not entries:
        return entries
    rep = validate_items(
        [e[0] for e in entries],
        skip_bad=options.skip_bad_audio,
        num_workers=nj,
        where=f"{name} split",
        full=options.full_check,
    )
    good = {it.utt_id: it for it in rep.good}
    if rep.bad:
        log.warning("%s: skipped %d bad file(s)", name, len(rep.bad))
    return [(good[it.utt_id], fn, spk) for it, fn, spk in entries if it.utt_id in good]


def _split_valid(train: list[Entry], options: DataCfgOptions) -> tuple[list[Entry], list[Entry]]:
    if options.split_by == "utterance":
        held = held_out_utterances(len(train), options.valid_ratio, options.seed)
        return (
            [e for i, e in enumerate(train) if i not in held],
            [e for i, e in enumerate(train) if i in held],
        )
    missing = [e[0].utt_id for e in train if e[2] is None]
    if missing and options.valid_ratio > 0:
        raise SplitError(
            f"holding out speakers needs a speaker for every file; none for {missing[:5]} "
            "(give --libri-dict / utt2spk, a validation set, or --split-by utterance)"
        )
    spk = held_out_speakers([e[2] for e in train], options.valid_ratio, options.seed)
    return [e for e in train if str(e[2]) not in spk], [e for e in train if str(e[2]) in spk]


def make_data_cfg(
    sources: DataCfgSources,
    options: DataCfgOptions = DataCfgOptions(),
    entries: Mapping[str, list[Entry]] | None = None,
    *,
    nj: int = 4,
    log: logging.Logger = log,
) -> dict[str, Any]:
    """The cfg dict: every file checked (``nj`` threads), bad ones an error or, with
    ``skip_bad_audio``, left out; the validation split held out of train when none is given.

    Args:
        sources: the data dirs or lists.
        options: what changes the cfg.
        entries: those of :func:`load_entries` (read from ``sources`` when None).
        nj: threads reading the audio files.
        log: where the skipped files and the utterances in two splits are reported.
    """
    if entries is None:
        entries = load_entries(sources, options.channel)
    train, valid, test = (entries[s] for s in SPLITS)
    train = _validate(train, "train", options, nj, log)
    if not train:
        raise SplitError("no usable training files")
    if not valid:
        train, valid = _split_valid(train, options)
    else:
        valid = _validate(valid, "valid", options, nj, log)
    test = _validate(test, "test", options, nj, log)
    for name, part in (("valid", valid), ("test", test)):
        shared = {e[0].utt_id for e in train} & {e[0].utt_id for e in part}
        if shared:
            log.warning(
                "%d utterance(s) are in both train and %s, e.g. %s",
                len(shared),
                name,
                sorted(shared)[:3],
            )
    root = sources.data_root if sources.train_scp is not None else None
    return build_data_cfg({"train": train, "valid": valid, "test": test}, root)


def write_data_cfg(
    cfg_file: str | os.PathLike,
    sources: DataCfgSources,
    options: DataCfgOptions = DataCfgOptions(),
    *,
    nj: int = 4,
    force: bool = False,
    verify: bool = False,
    log: logging.Logger = log,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """Make the cfg of :func:`make_data_cfg` and write it (atomically, with its stamp) to
    ``cfg_file``, unless the stamp says it is up to date (then None; ``force`` remakes it,
    ``verify`` compares the audio by SHA-256). ``say`` prints the rerun decision (default:
    stdout); ``log`` reports the splits."""
    msg = audio_instead_of(cfg_file, "the JSON data cfg to write (not overwritten)")
    if msg is not None:
        raise SplitError(msg)
    entries = load_entries(sources, options.channel)
    stamp = data_cfg_stamp(sources, options, entries, verify=verify, nj=nj)
    if up_to_date(TOOL, cfg_file, stamp, force=force, verify=verify, log=say):
        return None
    cfg = make_data_cfg(sources, options, entries, nj=nj, log=log)
    write_json_atomic(cfg_file, cfg)
    write_stamp(cfg_file, stamp)
    for name in SPLITS:
        part = cfg[name]
        log.info(
            "%s: %d files, %d speakers, %.2f h",
            name,
            len(part["data"]),
            len(part["speakers"]),
            part["total_wav_dur"] / 16000 / 3600,
        )
    log.info("wrote %s", cfg_file)
    return cfg
