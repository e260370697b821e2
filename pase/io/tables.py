"""Kaldi tables for feature extraction (no torch): the inputs (data dir, ``wav.scp``, file
list), Kaldi write specifiers, and writing ``(T, C)`` float matrices to an archive with
kaldiio, atomically.

Write specifiers follow Kaldi: ``ark:A``, ``ark,scp:A,S`` (the archive name first, the type
words in either order), ``ark:-`` (standard output; no scp), with the options ``b`` (binary,
the default), ``t`` (text), ``f``/``nf`` (flush; accepted, our writes are always flushed at the
end) and ``p`` (permissive; accepted, ignored). Anything else is refused.

Outputs never overwrite inputs: an output path equal to an input (the input list or data-dir
file, any audio file read, or another output) is refused, and an existing output file is only
replaced when it looks like what this module writes (a Kaldi archive, a feature scp, an
``utt2num_frames`` table).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import kaldiio
import numpy as np

from pase.constants import SAMPLE_RATE
from pase.io.atomic import atomic_open
from pase.io.audio import audio_instead_of, is_pipe, read_audio
from pase.io.datadir import DataDir, Utterance, read_kv

__all__ = [
    "OutputError",
    "TableResult",
    "WSpecifier",
    "check_outputs",
    "input_files",
    "matrix_writer",
    "parse_wspecifier",
    "read_input",
    "write_features",
]

_WSPEC_OPTIONS = {"b", "t", "f", "nf", "p"}
#: files of a data dir that feature tools write (so they are not protected as inputs)
_DATADIR_OUTPUTS = {"feats.scp", "utt2num_frames"}


class OutputError(ValueError):
    """An output path that would overwrite an input or a file this tool did not write."""


def read_input(spec: str | os.PathLike) -> list[Utterance]:
    """Utterances of a Kaldi data dir, a ``wav.scp`` (``<utt> <path or cmd |>``) or a list of
    audio files (one path per line; the utterance id is the file name without extension).

    Raises:
        ValueError: no such path, an empty file, an audio file given instead of a list, or a
            repeated utterance id (named with its line).
    """
    path = Path(spec)
    if path.is_dir():
        return DataDir(path).utterances()
    if not path.is_file():
        raise ValueError(f"{spec}: no such data dir or file")
    wrong = audio_instead_of(path, "a Kaldi data dir, a wav.scp or a list of audio files")
    if wrong:
        raise ValueError(wrong)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            f"{spec}: not a text file; expected a Kaldi data dir, a wav.scp or a list of audio "
            "files (one path per line)"
        ) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{spec}: empty")
    first = lines[0]
    if len(first.split()) == 1 or (os.path.exists(first) and not is_pipe(first)):
        utts: dict[str, Utterance] = {}
        for n, line in enumerate(lines, 1):
            uid = Path(line).stem
            if uid in utts:
                raise ValueError(f"{spec}:{n}: utterance id {uid!r} (from {line}) is repeated")
            utts[uid] = Utterance(uid, line)
        return list(utts.values())
    return [Utterance(k, v) for k, v in read_kv(path).items()]


def input_files(spec: str | os.PathLike | None, utterances: Iterable[Utterance] = ()) -> set[Path]:
    """Resolved paths of everything that reading ``spec`` (None: only the utterances) reads:
    the list / ``wav.scp`` file or the data dir's files (except the feature tables tools
    write there), every audio file, and the existing files named in pipe commands."""
    out: set[Path] = set()
    path = Path(spec) if spec is not None else None
    if path is not None and path.is_dir():
        for f in path.iterdir():
            if not f.is_file() or f.name in _DATADIR_OUTPUTS or f.suffix == ".ark":
                continue
            if f.suffix == ".scp" and f.name != "wav.scp":
                continue
            out.add(f.resolve())
    elif path is not None and path.is_file():
        out.add(path.resolve())
    for u in utterances:
        if not is_pipe(u.source):
            out.add(Path(u.source).resolve())
            continue
        try:
            words = shlex.split(u.source.rstrip()[:-1])
        except ValueError:
            continue
        out.update(Path(w).resolve() for w in words if os.path.isfile(w))
    return out


@dataclass(frozen=True)
class WSpecifier:
    """A parsed Kaldi write specifier; ``ark`` None means standard output."""

    ark: Path | None
    scp: Path | None = None
    text: bool = False

    @property
    def outputs(self) -> list[Path]:
        """The files it writes."""
        return [p for p in (self.ark, self.scp) if p is not None]


def parse_wspecifier(spec: str) -> WSpecifier:
    """``ark,scp:A,S`` / ``ark:A`` / ``ark:-`` with Kaldi's options (see the module
    docstring); raises ``ValueError`` naming what is wrong."""
    kinds, sep, paths = spec.partition(":")
    if not sep or not paths:
        raise ValueError(f"bad wspecifier {spec!r}; use ark,scp:feats.ark,feats.scp or ark:A")
    words = [w.strip() for w in kinds.split(",")]
    unknown = [w for w in words if w not in _WSPEC_OPTIONS | {"ark", "scp"}]
    if unknown:
        raise ValueError(
            f"wspecifier {spec!r}: unknown option(s) {unknown} (known: ark, scp, b, t, f, nf, p)"
        )
    if len(set(words)) != len(words):
        raise ValueError(f"wspecifier {spec!r}: repeated option")
    if "t" in words and "b" in words:
        raise ValueError(f"wspecifier {spec!r}: 't' (text) and 'b' (binary) contradict")
    if "ark" not in words:
        raise ValueError(
            f"wspecifier {spec!r}: an scp needs an archive to point into; use "
            "ark,scp:feats.ark,feats.scp (or ark:feats.ark)"
        )
    text = "t" in words
    if "scp" in words:
        files = paths.split(",")
        if len(files) != 2 or not all(files):
            raise ValueError(
                f"wspecifier {spec!r}: ark,scp needs two file names, the archive first "
                "(ark,scp:feats.ark,feats.scp)"
            )
        if files[0] == "-":
            raise ValueError(f"wspecifier {spec!r}: no scp for an archive on standard output")
        return WSpecifier(Path(files[0]), Path(files[1]), text)
    if paths == "-":
        return WSpecifier(None, None, text)
    return WSpecifier(Path(paths), None, text)


_SCP_LINE = re.compile(r"^\S+\s+\S.*:\d+$")
_INT_LINE = re.compile(r"^\S+\s+\d+$")


def _ours(path: Path, kind: str) -> bool:
    """Whether an existing file looks like a ``kind`` table this module writes."""
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as f:
        head = f.read(4096)
    if kind == "ark":
        key, sp, rest = head.partition(b" ")
        return bool(key) and bool(sp) and (rest.startswith(b"\0B") or rest.lstrip(b" ")[:1] == b"[")
    try:
        lines = head.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return False
    if len(head) == 4096:
        lines = lines[:-1]  # the last line may be cut
    pattern = _SCP_LINE if kind == "scp" else _INT_LINE
    return all(pattern.match(ln) for ln in lines if ln.strip())


def check_outputs(outputs: dict[str, Path | None], inputs: Iterable[Path]) -> None:
    """Refuse outputs (``kind -> path``: ``ark``, ``scp``, ``utt2num_frames``) that equal an
    input or each other, or that exist and do not look like what we write.

    Raises:
        OutputError: naming the path and the reason.
    """
    given = {k: p for k, p in outputs.items() if p is not None}
    protected = {Path(p).resolve() for p in inputs}
    seen: dict[Path, str] = {}
    for kind, p in given.items():
        r = p.resolve()
        if r in seen:
            raise OutputError(f"{p}: given as both the {seen[r]} and the {kind} output")
        seen[r] = kind
        if r in protected:
            raise OutputError(
                f"{p}: the {kind} output is one of the inputs; refusing to overwrite it"
            )
        if p.is_dir():
            raise OutputError(f"{p}: the {kind} output is a folder")
        if p.exists() and not _ours(p, "ark" if kind == "ark" else kind):
            what = {"ark": "a Kaldi archive", "scp": "a feature scp"}.get(kind, f"an {kind} table")
            raise OutputError(
                f"{p} exists and is not {what} written by this tool; refusing to overwrite it "
                "(remove it or choose another name)"
            )


class MatrixWriter:
    """Appends ``(T, C)`` matrices to an open archive and remembers their scp entries (see
    :func:`matrix_writer`)."""

    def __init__(self, f, wspec: WSpecifier, compression_method: int | None, float16: bool):
        self._f = f
        self._wspec = wspec
        self._compression = compression_method
        self._float16 = float16
        self.entries: list[str] = []

    def write(self, key: str, mat: np.ndarray) -> None:
        """Append ``mat`` under ``key`` (float32, or float16 as kaldiio's numpy records)."""
        offset = self._f.tell() + len(key.encode()) + 1
        if self._float16:
            kaldiio.save_ark(self._f, {key: mat.astype(np.float16)}, write_function="numpy")
        else:
            kaldiio.save_ark(
                self._f,
                {key: np.asarray(mat, dtype=np.float32)},
                text=self._wspec.text,
                compression_method=self._compression,
            )
        self.entries.append(f"{key} {self._wspec.ark}:{offset}\n")


@contextlib.contextmanager
def matrix_writer(
    wspec: WSpecifier, *, compression_method: int | None = None, float16: bool = False
) -> Iterator[MatrixWriter]:
    """Write matrices to ``wspec``: a file archive and its scp appear together, atomically,
    when the block ends without an error (nothing is left otherwise); ``ark:-`` streams to
    standard output."""
    if (wspec.text or float16) and compression_method is not None:
        raise ValueError("Kaldi compression needs binary float32 matrices")
    if wspec.ark is None:
        out = sys.stdout.buffer
        yield MatrixWriter(_Counting(out), wspec, compression_method, float16)
        out.flush()
        return
    with atomic_open(wspec.ark, "wb") as f:
        w = MatrixWriter(f, wspec, compression_method, float16)
        yield w
        if wspec.scp is not None:
            with atomic_open(wspec.scp, "w", encoding="utf-8") as g:
                g.writelines(w.entries)


@dataclass
class TableResult:
    """What :func:`write_features` wrote: frames per utterance, and the utterances left out
    as too short (with their lengths in samples)."""

    frames: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def write_features(
    utterances: Sequence[Utterance],
    wspec: WSpecifier,
    encode: Callable[[np.ndarray], np.ndarray],
    *,
    compression_method: int | None = None,
    utt2num_frames: Path | None = None,
    min_samples: int = 1,
    skip_short: bool = False,
    protect: Iterable[Path] = (),
    channel: int | str | None = None,
    log: Callable[[str], None] = print,
) -> TableResult:
    """Encode every utterance (``encode(wav (L,)) -> (T, C)``, ``T >= 1``) into ``wspec``.

    A file archive, its scp and ``utt2num_frames`` are written under temporary names and
    renamed when every utterance is done (a failure leaves no partial output); ``ark:-``
    streams to standard output.

    Args:
        min_samples: shortest input ``encode`` accepts (samples); a shorter utterance is an
            error naming it, or with ``skip_short`` it is reported and left out.
        protect: more input files the outputs must not overwrite (besides the audio read).
        channel: which channel of multi-channel audio (see :func:`pase.io.audio.read_audio`;
            None: its default).

    Raises:
        ValueError: a repeated or too-short utterance, non-finite or empty features (named).
        OutputError: an output that would overwrite an input.
    """
    if wspec.text and compression_method is not None:
        raise ValueError("Kaldi compression needs a binary archive (drop 't' or the compression)")
    check_outputs(
        {"ark": wspec.ark, "scp": wspec.scp, "utt2num_frames": utt2num_frames},
        [*protect, *input_files(None, utterances)],
    )
    chan = {} if channel is None else {"channel": channel}
    result = TableResult()
    start = time.time()
    audio_s = 0.0

    def write_all(w: MatrixWriter) -> None:
        nonlocal audio_s
        for i, utt in enumerate(utterances, 1):
            if utt.utt_id in result.frames or utt.utt_id in result.skipped:
                raise ValueError(f"utterance {utt.utt_id!r} appears twice in the input")
            wav = read_audio(utt.source, utt=utt.utt_id, start=utt.start, end=utt.end, **chan)
            if wav.shape[0] < min_samples:
                msg = (
                    f"utterance {utt.utt_id!r} ({utt.source}): {wav.shape[0]} samples "
                    f"({wav.shape[0] / SAMPLE_RATE * 1000:.1f} ms) is too short, at least "
                    f"{min_samples} are needed for one frame"
                )
                if not skip_short:
                    raise ValueError(msg + " (--skip-short leaves such utterances out)")
                log(f"skipping {msg}")
                result.skipped[utt.utt_id] = int(wav.shape[0])
                continue
            try:
                feats = encode(wav)
            except ValueError as e:
                raise ValueError(f"utterance {utt.utt_id!r} ({utt.source}): {e}") from e
            if feats.ndim != 2 or feats.shape[0] == 0:
                raise ValueError(
                    f"utterance {utt.utt_id!r}: features of shape {feats.shape} "
                    f"from {wav.shape[0]} samples (expected (T >= 1, C))"
                )
            if not np.isfinite(feats).all():
                raise ValueError(f"utterance {utt.utt_id!r}: encoder produced NaN/Inf")
            w.write(utt.utt_id, feats)
            result.frames[utt.utt_id] = int(feats.shape[0])
            audio_s += wav.shape[0] / SAMPLE_RATE
            if i % 100 == 0:
                log(f"{i}/{len(utterances)} utterances, RTF {(time.time() - start) / audio_s:.3f}")

    with matrix_writer(wspec, compression_method=compression_method) as w:
        write_all(w)
    if utt2num_frames is not None:
        with atomic_open(utt2num_frames, "w", encoding="utf-8") as u:
            u.writelines(f"{k} {v}\n" for k, v in result.frames.items())
    return result


class _Counting:
    """A write-only stream wrapper with ``tell()`` (standard output cannot seek)."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._pos = 0

    def write(self, data: bytes) -> int:
        self._stream.write(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        self._stream.flush()
