"""LibriSpeech -> Kaldi data dirs (the recipe's stage 0).

Input: the folder holding the subset folders (``<corpus>/<subset>/<reader>/<chapter>/``
``<reader>-<chapter>-<nnnn>.flac`` and ``<reader>-<chapter>.trans.txt``), plus
``<corpus>/SPEAKERS.TXT`` (``ID | SEX | SUBSET | MINUTES | NAME``) for the genders.

Output (one data dir for one or several subsets merged): ``wav.scp`` (absolute flac paths, or
``flac -c -d -s -- '<path>' |`` pipes, the path shell-quoted so that any folder name is safe),
``utt2spk``, ``spk2utt``, ``text`` (LibriSpeech's upper-case
transcripts), ``utt2dur`` (seconds), ``utt2num_samples``, ``spk2gender``, all sorted.
Utterance ids are LibriSpeech's ``<reader>-<chapter>-<nnnn>``; the speaker is the reader
(``<reader>``) so that held-out speakers are real held-out voices. Kaldi's LibriSpeech recipe
uses ``<reader>-<chapter>`` as its "speaker" (for CMVN); ``speaker="chapter"`` does the same.

Problems stop the preparation with the file named: a chapter without transcript, an audio
file without transcript line or a transcript line without audio, an unreadable / empty /
truncated (its last frames do not decode) / multi-channel / non-16 kHz flac (float files are
also read for NaN/Inf; ``full_check`` decodes every file entirely), a path that a ``wav.scp``
line cannot hold (a newline in it), a file whose name does not match its folders, an
utterance id seen twice (both files named), a reader missing from SPEAKERS.TXT. With
``skip_bad=True`` the affected utterances are dropped and listed in the returned report
instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pase.constants import SAMPLE_RATE
from pase.io.audio import check_audio_file, pipe_command, scp_path_entry
from pase.io.datadir import utt2spk_to_spk2utt, write_kv, write_spk2utt

AUDIO_EXTS = (".flac", ".wav")
UTT_RE = re.compile(r"^(\d+)-(\d+)-(\d+)$")


class LibriSpeechError(ValueError):
    """A LibriSpeech tree that cannot be prepared (the message names the file)."""


@dataclass
class PrepReport:
    """What :func:`prepare_librispeech` made, and what it dropped (``skip_bad``)."""

    num_utterances: int = 0
    num_speakers: int = 0
    seconds: float = 0.0
    dropped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        s = (
            f"{self.num_utterances} utterances, {self.num_speakers} speakers, "
            f"{self.seconds / 3600:.2f} h"
        )
        if self.dropped:
            s += f"; dropped {len(self.dropped)}:\n  " + "\n  ".join(self.dropped)
        return s


@dataclass(frozen=True)
class _Utt:
    utt: str
    reader: str
    chapter: str
    path: Path
    text: str


def read_speakers(path: str | os.PathLike) -> dict[str, tuple[str, str]]:
    """Parse ``SPEAKERS.TXT`` -> reader id -> (gender ``m``/``f``, subset)."""
    p = Path(path)
    out: dict[str, tuple[str, str]] = {}
    with open(p, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith(";"):
                continue
            fields = [x.strip() for x in line.split("|")]
            if len(fields) < 3 or not fields[0].isdigit() or fields[1].upper() not in ("M", "F"):
                raise LibriSpeechError(f"{p}:{n}: expected 'ID | SEX | SUBSET | ...', got {line!r}")
            out[fields[0]] = (fields[1].lower(), fields[2])
    return out


def _scan_subset(root: Path, subset: str, bad: list[str], skip_bad: bool) -> list[_Utt]:
    def fail(msg: str) -> None:
        if not skip_bad:
            raise LibriSpeechError(msg)
        bad.append(msg)

    sdir = root / subset
    if not sdir.is_dir():
        raise LibriSpeechError(
            f"{sdir}: no such subset folder (is --librispeech the folder "
            "holding the subset folders, e.g. .../LibriSpeech?)"
        )
    utts: list[_Utt] = []
    for rdir in sorted(p for p in sdir.iterdir() if p.is_dir()):
        for cdir in sorted(p for p in rdir.iterdir() if p.is_dir()):
            reader, chapter = rdir.name, cdir.name
            audio = {p.stem: p for p in sorted(cdir.iterdir()) if p.suffix.lower() in AUDIO_EXTS}
            trans = cdir / f"{reader}-{chapter}.trans.txt"
            if not trans.is_file():
                if audio:
                    fail(f"{trans}: missing transcript for {len(audio)} audio file(s) in {cdir}")
                continue
            texts: dict[str, str] = {}
            with open(trans, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    uid, _, words = line.strip().partition(" ")
                    m = UTT_RE.match(uid)
                    if not m or m.group(1) != reader or m.group(2) != chapter:
                        fail(
                            f"{trans}:{n}: utterance id {uid!r} does not match "
                            f"{reader}-{chapter}-NNNN"
                        )
                        continue
                    if uid in texts:
                        fail(f"{trans}:{n}: utterance {uid!r} transcribed twice")
                        continue
                    texts[uid] = " ".join(words.split())
            for uid in sorted(set(audio) - set(texts)):
                fail(f"{audio[uid]}: no transcript line in {trans}")
            for uid in sorted(set(texts) - set(audio)):
                fail(f"{trans}: utterance {uid!r} has no audio file in {cdir}")
            for uid in sorted(set(audio) & set(texts)):
                utts.append(_Utt(uid, reader, chapter, audio[uid].resolve(), texts[uid]))
    if not utts and not bad:
        raise LibriSpeechError(f"{sdir}: no utterances found")
    return utts


#: the ``wav.scp`` pipe of ``wav_format="pipe"`` (Kaldi's), before the quoted path
FLAC_PIPE = ("flac", "-c", "-d", "-s", "--")


def wav_scp_entry(path: str | os.PathLike, wav_format: str) -> str:
    """The ``wav.scp`` value of one flac: the path itself or a ``flac ... |`` pipe whose path is
    shell-quoted (``--`` ends flac's options). Raises ValueError for a path that a ``wav.scp``
    line cannot hold."""
    if wav_format == "pipe":
        return pipe_command(FLAC_PIPE, path)
    return scp_path_entry(path)


def _probe(u: _Utt, wav_format: str, full: bool) -> tuple[_Utt, int | None, str | None]:
    try:
        wav_scp_entry(u.path, wav_format)
    except ValueError as e:
        return u, None, str(e)
    c = check_audio_file(u.path, sample_rate=SAMPLE_RATE, full=full)
    if c.problem is not None:
        return u, None, f"{u.path}: {c.problem}"
    if c.channels != 1:
        return u, None, f"{u.path}: has {c.channels} channels, LibriSpeech flacs are mono"
    return u, c.num_samples, None


def prepare_librispeech(
    corpus_dir: str | os.PathLike,
    subsets: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    speaker: str = "reader",
    wav_format: str = "path",
    skip_bad: bool = False,
    jobs: int = 4,
    full_check: bool = False,
) -> PrepReport:
    """Prepare ``subsets`` of the LibriSpeech tree ``corpus_dir`` as one Kaldi data dir.

    Args:
        corpus_dir: folder holding the subset folders and ``SPEAKERS.TXT``.
        subsets: subset folder names (``train-clean-100``, ``dev-clean``, ...), merged.
        out_dir: the data dir to (re)write.
        speaker: ``"reader"`` (speaker id = reader) or ``"chapter"`` (``<reader>-<chapter>``,
            Kaldi's choice).
        wav_format: ``"path"`` (absolute audio paths) or ``"pipe"`` (``flac -c -d -s ... |``,
            Kaldi's style; needs the ``flac`` program at read time).
        skip_bad: drop problem utterances (listed in the report) instead of stopping.
        jobs: threads checking the audio files.
        full_check: decode every flac entirely instead of its header and last frames.
    """
    if speaker not in ("reader", "chapter"):
        raise ValueError(f"speaker must be 'reader' or 'chapter', got {speaker!r}")
    if wav_format not in ("path", "pipe"):
        raise ValueError(f"wav_format must be 'path' or 'pipe', got {wav_format!r}")
    if not subsets:
        raise ValueError("no subsets given")
    root = Path(corpus_dir)
    if not root.is_dir():
        raise LibriSpeechError(f"{root}: no such LibriSpeech folder")
    bad: list[str] = []
    found: dict[str, _Utt] = {}
    for subset in subsets:
        for u in _scan_subset(root, subset, bad, skip_bad):
            if u.utt in found:
                msg = f"utterance id {u.utt!r} appears twice: {found[u.utt].path} and {u.path}"
                if not skip_bad:
                    raise LibriSpeechError(msg)
                bad.append(msg)
                continue
            found[u.utt] = u
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        probed = list(pool.map(lambda u: _probe(u, wav_format, full_check), found.values()))
    samples: dict[str, int] = {}
    for u, n, err in probed:
        if err is not None:
            if not skip_bad:
                raise LibriSpeechError(err)
            bad.append(err)
            continue
        samples[u.utt] = n  # type: ignore[assignment]
    keep = {k: found[k] for k in sorted(samples)}
    if not keep:
        raise LibriSpeechError(f"{root}: no usable utterances in {list(subsets)}")

    readers = sorted({u.reader for u in keep.values()})
    spk_file = root / "SPEAKERS.TXT"
    genders: dict[str, str] | None = None
    if spk_file.is_file():
        table = read_speakers(spk_file)
        missing = [r for r in readers if r not in table]
        if missing:
            msg = f"{spk_file}: reader(s) {missing[:10]} not listed"
            if not skip_bad:
                raise LibriSpeechError(msg)
            bad.append(msg)
            keep = {k: u for k, u in keep.items() if u.reader in table}
        genders = {r: table[r][0] for r in readers if r in table}

    def spk_of(u: _Utt) -> str:
        return u.reader if speaker == "reader" else f"{u.reader}-{u.chapter}"

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wav = {k: wav_scp_entry(u.path, wav_format) for k, u in keep.items()}
    u2s = {k: spk_of(u) for k, u in keep.items()}
    write_kv(out / "wav.scp", wav)
    write_kv(out / "utt2spk", u2s)
    write_spk2utt(out / "spk2utt", utt2spk_to_spk2utt(u2s))
    write_kv(out / "text", {k: u.text for k, u in keep.items()})
    write_kv(out / "utt2num_samples", {k: str(samples[k]) for k in keep})
    write_kv(out / "utt2dur", {k: f"{samples[k] / SAMPLE_RATE:.4f}" for k in keep})
    if genders is not None:
        write_kv(out / "spk2gender", {spk_of(u): genders[u.reader] for u in keep.values()})
    elif (out / "spk2gender").exists():
        (out / "spk2gender").unlink()
    for stale in ("segments", "feats.scp", "cmvn.scp", "utt2num_frames"):
        if (out / stale).exists():
            (out / stale).unlink()
    return PrepReport(
        num_utterances=len(keep),
        num_speakers=len(set(u2s.values())),
        seconds=sum(samples[k] for k in keep) / SAMPLE_RATE,
        dropped=bad,
    )
