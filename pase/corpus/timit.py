"""TIMIT data preparation: Kaldi data dirs ``train``, ``dev``, ``test`` from the LDC layout.

Layout (upper or lower case, optionally below one or two wrapper folders such as ``TIMIT/``):
``{TRAIN,TEST}/DR<n>/<SPK>/<UTT>.{WAV,PHN,WRD,TXT}``, ``.WAV`` files in NIST SPHERE format.

Splits as Kaldi's TIMIT recipe: ``train`` = every TRAIN speaker (462), ``dev`` = Kaldi's 50
speakers and ``test`` = the 24-speaker core test set, both from TEST; SA sentences are excluded
everywhere (3696 / 400 / 192 utterances). Utterance ids are ``<spk>_<utt>`` in lower case.

Each data dir gets ``wav.scp`` (SPHERE paths, readable by soundfile), ``utt2spk``,
``spk2utt``, ``spk2gender``, ``utt2num_samples``, ``text`` (48 phones, ``q`` deleted),
``text.61`` (the original labels) and ``phones.ctm`` (phone segments in seconds with 48-phone
labels; a deleted ``q`` is merged into the preceding phone so the segments tile the utterance).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pase.constants import SAMPLE_RATE
from pase.io.atomic import atomic_open
from pase.io.audio import AudioError, audio_info, audio_instead_of, scp_path_entry
from pase.io.datadir import write_kv

log = logging.getLogger(__name__)

NUM_TRAIN_SPEAKERS = 462
_UTT_RE = re.compile(r"^(s[aix])(\d+)\.wav$", re.IGNORECASE)
_SPK_RE = re.compile(r"^[fm][a-z]{3}\d$", re.IGNORECASE)


class TimitError(ValueError):
    """Bad TIMIT input; the message names the file."""


@dataclass(frozen=True)
class PhoneSegment:
    """One ``.PHN`` line: label and [start, end) in samples at 16 kHz."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class TimitUtterance:
    """One TIMIT recording with its annotation files."""

    part: str  # "train" | "test"
    dialect: str  # "dr1".."dr8"
    speaker: str  # lower case, e.g. "faks0"
    name: str  # lower case, e.g. "si1573"
    wav: Path
    phn: Path | None

    @property
    def utt_id(self) -> str:
        """Kaldi id ``<spk>_<utt>``."""
        return f"{self.speaker}_{self.name}"

    @property
    def kind(self) -> str:
        """Sentence type: ``sa``, ``si`` or ``sx``."""
        return self.name[:2]


def _data_file(name: str) -> Path:
    return Path(str(resources.files("pase.asr") / "data" / name))


def read_speaker_list(path: str | os.PathLike | None, default: str) -> list[str]:
    """Speaker ids (lower case), one per line; ``None`` reads the packaged Kaldi list."""
    p = Path(path) if path is not None else _data_file(default)
    msg = audio_instead_of(p, "a speaker list (one speaker id per line)")
    if msg is not None:
        raise TimitError(msg)
    try:
        return [s.strip().lower() for s in p.read_text(encoding="utf-8").split() if s.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise TimitError(f"{p}: cannot read speaker list ({e})") from e


def _child(parent: Path, name: str) -> Path | None:
    """The entry of ``parent`` named ``name`` case-insensitively."""
    for c in parent.iterdir():
        if c.name.lower() == name:
            return c
    return None


def find_parts(root: str | os.PathLike) -> dict[str, Path]:
    """Locate the ``train`` and ``test`` folders below ``root`` (at most 2 wrapper levels)."""
    root = Path(root)
    msg = audio_instead_of(root, "the TIMIT root folder")
    if msg is not None:
        raise TimitError(msg)
    if not root.is_dir():
        raise TimitError(f"{root}: TIMIT root is not a directory")
    frontier = [root]
    for _ in range(3):
        found = {}
        for d in frontier:
            for part in ("train", "test"):
                c = _child(d, part)
                if c is not None and c.is_dir():
                    found[part] = c
            if found:
                return found
        frontier = [c for d in frontier for c in sorted(d.iterdir()) if c.is_dir()]
    raise TimitError(f"{root}: no TRAIN/ or TEST/ folder found (expected the LDC TIMIT layout)")


def scan(root: str | os.PathLike) -> list[TimitUtterance]:
    """All utterances of the corpus (SA included), sorted by id."""
    out: list[TimitUtterance] = []
    for part, pdir in sorted(find_parts(root).items()):
        for ddir in sorted(pdir.iterdir()):
            if not ddir.is_dir() or not ddir.name.lower().startswith("dr"):
                continue
            for sdir in sorted(ddir.iterdir()):
                if not sdir.is_dir() or not _SPK_RE.match(sdir.name):
                    continue
                files = {f.name.lower(): f for f in sdir.iterdir() if f.is_file()}
                for lname, f in sorted(files.items()):
                    m = _UTT_RE.match(lname)
                    if not m:
                        continue
                    stem = lname[:-4]
                    out.append(
                        TimitUtterance(
                            part=part,
                            dialect=ddir.name.lower(),
                            speaker=sdir.name.lower(),
                            name=stem,
                            wav=f,
                            phn=files.get(stem + ".phn"),
                        )
                    )
    return sorted(out, key=lambda u: u.utt_id)


def check_sphere(path: Path) -> None:
    """Raise TimitError unless ``path`` starts with a NIST SPHERE header."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise TimitError(f"{path}: cannot read ({e})") from e
    if not head.startswith(b"NIST_1A"):
        raise TimitError(
            f"{path}: not a NIST SPHERE file (TIMIT .WAV files start with 'NIST_1A'; got "
            f"{head[:4]!r}). Converted copies (RIFF .wav) are not the LDC layout."
        )


def read_phn(path: Path, known: Iterable[str], num_samples: int) -> list[PhoneSegment]:
    """Parse a ``.PHN`` file and check it against the phone set and the audio length."""
    known = set(known)
    segs: list[PhoneSegment] = []
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as e:
        raise TimitError(f"{path}: cannot read ({e})") from e
    for n, line in enumerate(lines, 1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 3 or not cols[0].isdigit() or not cols[1].isdigit():
            raise TimitError(f"{path}:{n}: expected '<start> <end> <phone>', got {line!r}")
        b, e, lab = int(cols[0]), int(cols[1]), cols[2].lower()
        if lab not in known:
            raise TimitError(f"{path}:{n}: unknown phone label {cols[2]!r}")
        if e <= b:
            raise TimitError(f"{path}:{n}: empty or reversed segment {b}..{e}")
        if segs and b < segs[-1].end:
            raise TimitError(f"{path}:{n}: segment starts at {b}, before the previous end")
        if e > num_samples:
            raise TimitError(
                f"{path}:{n}: segment ends at sample {e} but the audio has only {num_samples}"
            )
        segs.append(PhoneSegment(lab, b, e))
    if not segs:
        raise TimitError(f"{path}: no phone segments")
    return segs


def fold_segments(segs: list[PhoneSegment], to48: dict[str, str | None]) -> list[PhoneSegment]:
    """61-label segments -> 48-phone segments; deleted labels (``q``) extend the previous one."""
    out: list[PhoneSegment] = []
    pending_start: int | None = None
    for s in segs:
        lab = to48[s.label]
        if lab is None:
            if out:
                out[-1] = PhoneSegment(out[-1].label, out[-1].start, s.end)
            elif pending_start is None:
                pending_start = s.start
            continue
        start = pending_start if pending_start is not None else s.start
        pending_start = None
        out.append(PhoneSegment(lab, start, s.end))
    return out


def _write_split(out_dir: Path, utts: list[TimitUtterance], to48: dict[str, str | None]) -> int:
    wav, u2s, text, text61, nsamp, gender = {}, {}, {}, {}, {}, {}
    ctm_rows: list[str] = []
    for u in utts:
        check_sphere(u.wav)
        if u.phn is None:
            raise TimitError(
                f"{u.wav}: no matching .PHN file (expected {u.wav.with_suffix('.PHN')})"
            )
        try:
            info = audio_info(str(u.wav), utt=u.utt_id)
        except AudioError as e:
            raise TimitError(str(e)) from e
        if info.sample_rate != SAMPLE_RATE:
            raise TimitError(f"{u.wav}: sample rate {info.sample_rate} Hz, TIMIT is 16000 Hz")
        segs = read_phn(u.phn, to48, info.num_samples)
        folded = fold_segments(segs, to48)
        uid = u.utt_id
        try:
            wav[uid] = scp_path_entry(u.wav.resolve())
        except ValueError as e:
            raise TimitError(str(e)) from e
        u2s[uid] = u.speaker
        text[uid] = " ".join(s.label for s in folded)
        text61[uid] = " ".join(s.label for s in segs)
        nsamp[uid] = str(info.num_samples)
        gender[u.speaker] = u.speaker[0]
        for s in folded:
            b, d = s.start / SAMPLE_RATE, (s.end - s.start) / SAMPLE_RATE
            ctm_rows.append(f"{uid} 1 {b:.4f} {d:.4f} {s.label}")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_kv(out_dir / "wav.scp", wav)
    write_kv(out_dir / "utt2spk", u2s)
    spk2utt: dict[str, list[str]] = {}
    for uid in sorted(u2s):
        spk2utt.setdefault(u2s[uid], []).append(uid)
    write_kv(out_dir / "spk2utt", {s: " ".join(v) for s, v in spk2utt.items()})
    write_kv(out_dir / "spk2gender", gender)
    write_kv(out_dir / "text", text)
    write_kv(out_dir / "text.61", text61)
    write_kv(out_dir / "utt2num_samples", nsamp)
    with atomic_open(out_dir / "phones.ctm", "w", encoding="utf-8") as f:
        f.write("".join(r + "\n" for r in ctm_rows))
    return len(wav)


def prepare_timit(
    timit_root: str | os.PathLike,
    data_dir: str | os.PathLike,
    *,
    phone_map: str | os.PathLike | None = None,
    dev_speakers: str | os.PathLike | None = None,
    test_speakers: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Write ``data_dir/{train,dev,test}`` Kaldi data dirs; returns utterances per split.

    A corpus with fewer speakers than TIMIT (e.g. a subset) is accepted with a warning listing
    what is missing; a split with no speaker at all is an error. Bad files (missing ``.PHN``,
    a ``.PHN`` past the end of the audio, an unknown label, a non-SPHERE ``.WAV``) raise
    :class:`TimitError` naming the file.
    """
    from pase.asr.scoring import PhoneMap

    pm = PhoneMap.load(phone_map)
    dev = read_speaker_list(dev_speakers, "timit_dev_spk.list")
    test = read_speaker_list(test_speakers, "timit_test_spk.list")
    overlap = set(dev) & set(test)
    if overlap:
        raise TimitError(f"speakers in both the dev and test lists: {sorted(overlap)}")
    utts = [u for u in scan(timit_root) if u.kind != "sa"]
    by_part: dict[str, dict[str, list[TimitUtterance]]] = {"train": {}, "test": {}}
    for u in utts:
        by_part[u.part].setdefault(u.speaker, []).append(u)
    splits = {
        "train": [u for us in by_part["train"].values() for u in us],
        "dev": [u for s in dev for u in by_part["test"].get(s, [])],
        "test": [u for s in test for u in by_part["test"].get(s, [])],
    }
    n_train = len(by_part["train"])
    if n_train < NUM_TRAIN_SPEAKERS:
        log.warning(
            "TIMIT train part has %d speakers, the full corpus has %d", n_train, NUM_TRAIN_SPEAKERS
        )
    for name, wanted in (("dev", dev), ("test", test)):
        missing = [s for s in wanted if s not in by_part["test"]]
        if missing:
            log.warning(
                "%s: %d of %d speakers are missing from %s: %s",
                name,
                len(missing),
                len(wanted),
                timit_root,
                " ".join(missing),
            )
    for name, us in splits.items():
        if not us:
            raise TimitError(f"{timit_root}: no utterance for the {name} split")
    out = Path(data_dir)
    return {name: _write_split(out / name, us, pm.to48) for name, us in splits.items()}
