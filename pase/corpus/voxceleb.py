"""VoxCeleb1 speaker identification -> Kaldi data dirs ``train``, ``dev``, ``test``.

Input: VoxCeleb1 as distributed, the folder holding ``wav/`` and ``iden_split.txt``::

    <root>/wav/<speaker>/<video>/<nnnnn>.wav        16 kHz mono (e.g. id10001/1zcIwhmdeo4/00001.wav)
    <root>/iden_split.txt                           "<set> <speaker>/<video>/<nnnnn>.wav" lines,
                                                    set 1 = train, 2 = dev (validation), 3 = test

Output ``<out>/{train,dev,test}``: ``wav.scp`` (absolute paths), ``utt2spk`` (the speaker is the
label), ``spk2utt``, ``utt2num_samples``, ``utt2dur``, sorted; utterance ids
``<speaker>-<video>-<nnnnn>``. The label set is the training speakers: a dev or test speaker
without training utterances is an error.

Other selections of the same tree:

- ``num_speakers`` / ``utts_per_speaker``: a seeded subset of the speakers and at most that
  many utterances per speaker and set (e.g. 40 speakers x 1 utterance, in the spirit of the
  original PASE's mini-VoxCeleb);
- ``lists``: the original PASE's mini-VoxCeleb lists (``spk_id/minivoxceleb_<N>spk/
  minivox_{tr,test}_list.txt``, one ``<speaker>_-_<video>_-_<nnnnn>.wav`` per line; the
  ``<speaker>/<video>/<nnnnn>.wav`` form is read too). The original had no dev list (it chose
  its epoch on the test list); without a dev list, dev is the iden_split validation (set 2)
  utterances of the listed speakers. The original cut every recording to a random 10 s crop;
  here the whole recordings are used.

Problems stop the preparation with the file named: no split file, a malformed split line, a
set number other than 1-3, a line naming a missing wav, an utterance listed twice, a dev/test
speaker absent from train, audio that is not 16 kHz mono, unreadable or truncated, and audio
shorter than ``min_samples`` (with ``skip_short`` the short utterances are dropped and listed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pase.constants import SAMPLE_RATE
from pase.io.audio import check_audio_file, scp_path_entry
from pase.io.datadir import utt2spk_to_spk2utt, write_kv, write_spk2utt

#: iden_split set number -> data dir name
SETS: dict[int, str] = {1: "train", 2: "dev", 3: "test"}
SPLIT_FILE = "iden_split.txt"
#: a speaker id is also the utterance id's prefix: no '-' (and nothing sorting before it)
SPEAKER_RE = re.compile(r"^[A-Za-z0-9_]+$")
VIDEO_RE = re.compile(r"^[A-Za-z0-9_-]+$")
FILE_RE = re.compile(r"^(\d+)\.wav$")
#: separator of the original PASE's flattened list names: <speaker>_-_<video>_-_<nnnnn>.wav
LIST_SEP = "_-_"


class VoxCelebError(ValueError):
    """A VoxCeleb tree or list that cannot be prepared (the message names the file)."""


@dataclass(frozen=True)
class VoxUtt:
    """One recording: ``rel`` is ``<speaker>/<video>/<nnnnn>.wav``; ``where`` names its
    source line (``file:line``) for messages."""

    speaker: str
    video: str
    number: str
    rel: str
    where: str

    @property
    def utt(self) -> str:
        """``<speaker>-<video>-<nnnnn>``."""
        return f"{self.speaker}-{self.video}-{self.number}"


@dataclass
class VoxCelebReport:
    """What :func:`prepare_voxceleb` wrote: per set ``(utterances, speakers, seconds)``, and
    the utterances left out as too short (``skip_short``)."""

    sets: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{s}: {n} utterances, {k} speakers, {sec / 3600:.2f} h"
                 for s, (n, k, sec) in self.sets.items()]  # fmt: skip
        text = "; ".join(parts)
        if self.dropped:
            text += f"; dropped {len(self.dropped)} too short:\n  " + "\n  ".join(self.dropped)
        return text


def parse_relpath(rel: str, where: str) -> VoxUtt:
    """``<speaker>/<video>/<nnnnn>.wav`` -> :class:`VoxUtt`; ``where`` (``file:line``) is
    named in the error for anything else."""
    parts = rel.split("/")
    if (
        len(parts) != 3
        or not SPEAKER_RE.match(parts[0])
        or not VIDEO_RE.match(parts[1])
        or not FILE_RE.match(parts[2])
    ):
        raise VoxCelebError(
            f"{where}: {rel!r} is not <speaker>/<video>/<nnnnn>.wav (speaker: letters, digits, "
            "'_'; video: letters, digits, '_', '-'; e.g. id10001/1zcIwhmdeo4/00001.wav)"
        )
    return VoxUtt(parts[0], parts[1], parts[2][: -len(".wav")], rel, where)


def read_iden_split(path: str | os.PathLike) -> dict[str, list[VoxUtt]]:
    """Parse ``iden_split.txt`` -> set name (train/dev/test) -> recordings, in file order."""
    p = Path(path)
    if not p.is_file():
        raise VoxCelebError(
            f"{p}: no such file (VoxCeleb1's identification split, lines '<set> "
            "<speaker>/<video>/<nnnnn>.wav'; give its path with --split-file)"
        )
    out: dict[str, list[VoxUtt]] = {name: [] for name in SETS.values()}
    seen: dict[str, str] = {}
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{p}:{n}"
            fields = line.split()
            if len(fields) != 2:
                raise VoxCelebError(
                    f"{where}: expected '<set> <speaker>/<video>/<nnnnn>.wav', got {line!r}"
                )
            num, rel = fields
            if not num.isdigit() or int(num) not in SETS:
                raise VoxCelebError(f"{where}: set {num!r} is not 1 (train), 2 (dev) or 3 (test)")
            u = parse_relpath(rel, where)
            if rel in seen:
                raise VoxCelebError(f"{where}: {rel} is listed twice (also {seen[rel]})")
            seen[rel] = where
            out[SETS[int(num)]].append(u)
    return out


def list_entry(name: str, where: str) -> VoxUtt:
    """One line of an original PASE mini-VoxCeleb list (``<speaker>_-_<video>_-_<nnnnn>.wav``
    or ``<speaker>/<video>/<nnnnn>.wav``) -> :class:`VoxUtt`."""
    if "/" not in name and name.count(LIST_SEP) >= 2:
        spk, _, rest = name.partition(LIST_SEP)
        video, _, fname = rest.rpartition(LIST_SEP)
        name = f"{spk}/{video}/{fname}"
    return parse_relpath(name, where)


def read_list(path: str | os.PathLike) -> list[VoxUtt]:
    """A mini-VoxCeleb list file (one recording per line, see :func:`list_entry`)."""
    p = Path(path)
    if not p.is_file():
        raise VoxCelebError(f"{p}: no such list file")
    out = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                out.append(list_entry(line.strip(), f"{p}:{n}"))
    if not out:
        raise VoxCelebError(f"{p}: empty list")
    return out


def select_from_lists(
    lists: Mapping[str, str | os.PathLike], split_file: str | os.PathLike | None
) -> dict[str, list[VoxUtt]]:
    """The sets of the mini-VoxCeleb lists ``lists`` (keys train, test, optionally dev);
    without a dev list, dev is ``split_file``'s set 2 of the training speakers (recordings
    on the train or test list left out)."""
    unknown = sorted(set(lists) - set(SETS.values()))
    if unknown or "train" not in lists or "test" not in lists:
        raise ValueError(f"lists needs train and test (and may have dev), got {sorted(lists)}")
    sets = {name: read_list(path) for name, path in lists.items()}
    if "dev" not in sets:
        if split_file is None or not Path(split_file).is_file():
            raise VoxCelebError(
                f"{split_file}: no such file; without a dev list, dev is VoxCeleb1's "
                "validation set (iden_split.txt set 2) of the listed speakers"
            )
        listed = {u.rel for s in sets.values() for u in s}
        speakers = {u.speaker for u in sets["train"]}
        dev = read_iden_split(split_file)["dev"]
        sets["dev"] = [u for u in dev if u.speaker in speakers and u.rel not in listed]
    return {name: sets[name] for name in SETS.values()}


def subset(
    sets: Mapping[str, list[VoxUtt]],
    *,
    num_speakers: int | None = None,
    utts_per_speaker: int | None = None,
    seed: int = 0,
) -> dict[str, list[VoxUtt]]:
    """``num_speakers`` training speakers drawn with ``seed`` (all when None) and at most
    ``utts_per_speaker`` recordings per speaker in each set (drawn likewise)."""
    rng = np.random.default_rng(seed)
    out = {k: list(v) for k, v in sets.items()}
    if num_speakers is not None:
        speakers = sorted({u.speaker for u in out["train"]})
        if not 1 <= num_speakers <= len(speakers):
            raise VoxCelebError(
                f"num_speakers {num_speakers}: the training set has {len(speakers)} speakers"
            )
        keep = {speakers[i] for i in rng.choice(len(speakers), num_speakers, replace=False)}
        out = {k: [u for u in v if u.speaker in keep] for k, v in out.items()}
    if utts_per_speaker is not None:
        if utts_per_speaker < 1:
            raise ValueError(f"utts_per_speaker must be >= 1, got {utts_per_speaker}")
        for name, utts in out.items():
            by_spk: dict[str, list[VoxUtt]] = {}
            for u in sorted(utts, key=lambda u: u.rel):
                by_spk.setdefault(u.speaker, []).append(u)
            chosen = []
            for spk in sorted(by_spk):
                us = by_spk[spk]
                if len(us) > utts_per_speaker:
                    idx = sorted(rng.choice(len(us), utts_per_speaker, replace=False))
                    us = [us[i] for i in idx]
                chosen += us
            out[name] = chosen
    return out


def _check_labels(sets: Mapping[str, list[VoxUtt]]) -> None:
    train = {u.speaker for u in sets["train"]}
    for name in ("train", "dev", "test"):
        if not sets[name]:
            raise VoxCelebError(f"no {name} utterances selected")
    for name in ("dev", "test"):
        for u in sets[name]:
            if u.speaker not in train:
                raise VoxCelebError(
                    f"{u.where}: speaker {u.speaker} ({name}) has no training utterance; the "
                    "label set is the training speakers"
                )


def _find(rel: str, wav_dirs: Sequence[Path]) -> Path | None:
    for d in wav_dirs:
        p = d / rel
        if p.is_file():
            return p
    return None


def _probe(u: VoxUtt, wav_dirs: Sequence[Path]) -> tuple[Path | None, int, str | None]:
    path = _find(u.rel, wav_dirs)
    if path is None:
        dirs = ", ".join(str(d) for d in wav_dirs)
        return None, 0, f"{u.where}: {u.rel}: no such file in {dirs}"
    path = path.resolve()
    try:
        scp_path_entry(path)
    except ValueError as e:
        return path, 0, str(e)
    c = check_audio_file(path, sample_rate=SAMPLE_RATE)
    if c.problem is not None:
        return path, 0, f"{path}: {c.problem}"
    if c.channels != 1:
        return path, 0, f"{path}: has {c.channels} channels, VoxCeleb1 wavs are mono"
    return path, c.num_samples, None


def encoder_min_samples(fe_cfg: str = "PASE+") -> int:
    """The shortest input (samples) the encoder of ``fe_cfg`` takes (471 for PASE/PASE+)."""
    from pase.models.frontend import wf_builder

    return int(wf_builder(fe_cfg).min_input_samples)


def prepare_voxceleb(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    split_file: str | os.PathLike | None = None,
    wav_dirs: Sequence[str | os.PathLike] | None = None,
    lists: Mapping[str, str | os.PathLike] | None = None,
    num_speakers: int | None = None,
    utts_per_speaker: int | None = None,
    seed: int = 0,
    min_samples: int = 471,
    skip_short: bool = False,
    jobs: int = 4,
) -> VoxCelebReport:
    """Write ``out_dir/{train,dev,test}`` from the VoxCeleb1 tree ``root``.

    Args:
        root: the folder holding ``wav/`` and ``iden_split.txt``.
        out_dir: parent of the three data dirs (rewritten).
        split_file: the identification split (default ``root/iden_split.txt``).
        wav_dirs: folders holding ``<speaker>/<video>/<nnnnn>.wav``, searched in order
            (default ``root/wav``; e.g. the dev and test archives unpacked apart).
        lists: mini-VoxCeleb lists ``{"train": f, "test": f[, "dev": f]}`` instead of the split.
        num_speakers, utts_per_speaker, seed: a subset (see :func:`subset`).
        min_samples: shortest usable recording, in samples at 16 kHz (default: PASE+'s 471).
        skip_short: drop (and report) shorter recordings instead of failing.
        jobs: threads reading the audio headers.
    """
    base = Path(root)
    if not base.is_dir():
        raise VoxCelebError(f"{base}: no such VoxCeleb folder (the folder holding wav/)")
    dirs = [Path(d) for d in wav_dirs] if wav_dirs else [base / "wav"]
    for d in dirs:
        if not d.is_dir():
            raise VoxCelebError(
                f"{d}: no such folder (VoxCeleb1's wav/<speaker>/<video>/<nnnnn>.wav tree)"
            )
    split = Path(split_file) if split_file is not None else base / SPLIT_FILE
    sets = select_from_lists(lists, split) if lists else read_iden_split(split)
    sets = subset(sets, num_speakers=num_speakers, utts_per_speaker=utts_per_speaker, seed=seed)
    _check_labels(sets)
    seen: dict[str, str] = {}
    for utts in sets.values():
        for u in utts:
            if u.rel in seen:
                raise VoxCelebError(f"{u.where}: {u.rel} is in two sets (also {seen[u.rel]})")
            seen[u.rel] = u.where
    everything = [u for utts in sets.values() for u in utts]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        probed = dict(
            zip((u.rel for u in everything), pool.map(lambda u: _probe(u, dirs), everything))
        )
    errors = [err for _, _, err in probed.values() if err is not None]
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise VoxCelebError(errors[0] + more)
    rep = VoxCelebReport()
    tables: dict[str, tuple[dict[str, str], dict[str, int], dict[str, str]]] = {}
    for name, utts in sets.items():
        wav, samples, u2s = {}, {}, {}
        for u in utts:
            path, n, _ = probed[u.rel]
            if n < min_samples:
                msg = (
                    f"{path}: {n} samples ({n / SAMPLE_RATE:.3f} s), shorter than the minimum "
                    f"{min_samples} (the encoder's min_input_samples, or --min-samples)"
                )
                if not skip_short:
                    raise VoxCelebError(msg)
                rep.dropped.append(msg)
                continue
            wav[u.utt] = scp_path_entry(path)  # type: ignore[arg-type]
            samples[u.utt] = n
            u2s[u.utt] = u.speaker
        tables[name] = wav, samples, u2s
    train_spk = set(tables["train"][2].values())
    for name, (_, _, u2s) in tables.items():
        lost = sorted(set(u2s.values()) - train_spk)
        if not u2s or lost:
            raise VoxCelebError(
                f"{name}: {'no utterance' if not u2s else f'speaker(s) {lost[:10]}'} left once "
                "the too-short recordings are dropped (the label set is the training speakers)"
            )
    for name, (wav, samples, u2s) in tables.items():
        d = Path(out_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        write_kv(d / "wav.scp", wav)
        write_kv(d / "utt2spk", u2s)
        write_spk2utt(d / "spk2utt", utt2spk_to_spk2utt(u2s))
        write_kv(d / "utt2num_samples", {k: str(v) for k, v in samples.items()})
        write_kv(d / "utt2dur", {k: f"{v / SAMPLE_RATE:.4f}" for k, v in samples.items()})
        for stale in ("segments", "text", "feats.scp", "cmvn.scp", "utt2num_frames", "spk2gender"):
            if (d / stale).exists():
                (d / stale).unlink()
        rep.sets[name] = (len(u2s), len(set(u2s.values())), sum(samples.values()) / SAMPLE_RATE)
    return rep
