"""Reading audio for PASE: mono float32 waveforms at 16 kHz.

Sources follow Kaldi ``wav.scp`` conventions: a file path (any format libsndfile reads: wav,
flac, NIST SPHERE, ogg, ...) or a shell command ending in ``|`` whose stdout is an audio file
(``sox in.flac -t wav - |``). Every error names the source (and the utterance, when given).

Commands are run by ``/bin/sh`` (``shell=True``), as Kaldi does: whoever writes a pipe entry
must quote every path in it. :func:`pipe_command` builds such an entry (each word passed
through :func:`shlex.quote`, a path starting with ``-`` made ``./-...``), and
:func:`scp_path_entry` checks that a plain path survives a ``wav.scp`` round trip.

Channels (``channel=`` of :func:`read_audio`, :func:`select_channel`):

- ``None`` (default): the source must be mono; a multi-channel source is an error that names
  it and its channel count (PASE never silently drops channels);
- ``N`` (int, 0-based): keep channel ``N`` of a multi-channel source (an error if it has
  fewer channels);
- ``"mix"``: average all channels (a :class:`UserWarning` once per process).

A mono source reads the same under every choice, so a corpus mixing mono and multi-channel
files can be read with one choice.

:func:`check_audio_file` / :func:`check_audio_source` check a source without keeping its
samples: header facts, truncation (WAV/NIST declared length, or the last frames decoded for
compressed formats), and NaN/Inf samples (float-encoded files and pipes are always read
entirely, since only they can hold NaN; ``full=True`` decodes every file entirely).
"""

from __future__ import annotations

import io
import os
import re
import shlex
import struct
import subprocess
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from pase.constants import SAMPLE_RATE, segment_samples

#: channel choice: None (mono only), a 0-based index, or "mix" (average)
Channel = int | str | None

#: file name endings taken for audio files (besides the magic numbers of :func:`sniff_audio`)
AUDIO_EXTS = (
    ".wav",
    ".flac",
    ".sph",
    ".nist",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".aifc",
    ".au",
    ".snd",
    ".w64",
    ".caf",
    ".wv",
    ".m4a",
)

#: frames decoded at the end of a compressed file to find truncation
TAIL_FRAMES = 4096
_BLOCK = 1 << 16
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


class AudioError(ValueError):
    """An audio source that cannot be used: missing, unreadable, empty, wrong rate, NaN/Inf,
    several channels without a channel choice."""


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of an audio file: rate in Hz, length in samples, channel count."""

    sample_rate: int
    num_samples: int
    channels: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / self.sample_rate


def _where(source: str, utt: str | None) -> str:
    return f"utterance {utt!r} ({source})" if utt else repr(source)


def is_pipe(source: str) -> bool:
    """True for a Kaldi-style command source (``... |``)."""
    return source.rstrip().endswith("|")


# ------------------------------------------------------------------------ writing wav.scp


def pipe_command(words: Sequence[str], path: str | os.PathLike) -> str:
    """A ``wav.scp`` pipe entry ``<words...> <path> |`` that runs safely whatever ``path`` is.

    Every word and the path are shell-quoted (:func:`shlex.quote`), so spaces, ``;``, ``$()``,
    backticks and quotes in a corpus path stay part of the file name; a relative path starting
    with ``-`` gets a ``./`` prefix so that no program takes it for an option. Example:
    ``pipe_command(["flac", "-c", "-d", "-s"], p)`` -> ``flac -c -d -s '/my corpus/a.flac' |``.

    Raises:
        ValueError: the path holds a newline or a NUL (a ``wav.scp`` line cannot carry it).
    """
    p = os.fspath(path)
    _check_line_safe(p)
    if p.startswith("-"):
        p = "./" + p
    return " ".join([*(shlex.quote(w) for w in words), shlex.quote(p), "|"])


def scp_path_entry(path: str | os.PathLike) -> str:
    """``path`` as a plain ``wav.scp`` value, checked to read back as the same path.

    Kaldi's ``wav.scp`` value is the rest of the line (inner spaces are fine); a value with a
    newline, leading/trailing whitespace or a trailing ``|`` (read as a command) cannot be
    stored, and is refused here naming the path (use :func:`pipe_command` instead).

    Raises:
        ValueError: the path cannot be a plain ``wav.scp`` value.
    """
    p = os.fspath(path)
    _check_line_safe(p)
    if p != p.strip():
        raise ValueError(f"{p!r}: leading or trailing whitespace is lost in a wav.scp entry")
    if is_pipe(p):
        raise ValueError(f"{p!r}: a path ending in '|' would be read as a command in wav.scp")
    return p


def _check_line_safe(p: str) -> None:
    if "\n" in p or "\r" in p or "\0" in p:
        raise ValueError(f"{p!r}: a path with a newline or NUL cannot be written to wav.scp")


# ------------------------------------------------------------------------ sniffing inputs


def sniff_audio(path: str | os.PathLike) -> str | None:
    """The audio format of ``path`` (``"WAV"``, ``"FLAC"``, ...) if it is an audio file (by its
    first bytes, else by its extension), else None (folders and missing paths give None)."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        return None
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    magics = (
        (b"fLaC", "FLAC"),
        (b"NIST_1A", "NIST SPHERE"),
        (b"OggS", "OGG"),
        (b"ID3", "MP3"),
        (b".snd", "AU"),
        (b"caff", "CAF"),
        (b"wvpk", "WavPack"),
    )
    for magic, name in magics:
        if head.startswith(magic):
            return name
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    ext = os.path.splitext(p)[1].lower()
    if ext in AUDIO_EXTS:
        return ext[1:].upper()
    return None


def audio_instead_of(path: str | os.PathLike, expected: str) -> str | None:
    """A message when ``path`` is an audio file given where ``expected`` (e.g. ``"a Kaldi data
    dir"``) was wanted, else None. Callers raise their own error type with it."""
    kind = sniff_audio(path)
    if kind is None:
        return None
    return f"{os.fspath(path)} is an audio file ({kind}), expected {expected}"


# ------------------------------------------------------------------------------- reading


def _run_pipe(source: str, utt: str | None) -> bytes:
    cmd = source.rstrip()[:-1]
    proc = subprocess.run(cmd, shell=True, capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise AudioError(f"{_where(source, utt)}: command failed ({proc.returncode}): {err}")
    if not proc.stdout:
        raise AudioError(f"{_where(source, utt)}: command produced no audio")
    return proc.stdout


def audio_info(source: str, utt: str | None = None) -> AudioInfo:
    """Header information of a file (a pipe is run and decoded)."""
    try:
        if is_pipe(source):
            data, sr = sf.read(io.BytesIO(_run_pipe(source, utt)), always_2d=True)
            return AudioInfo(int(sr), int(data.shape[0]), int(data.shape[1]))
        if not os.path.exists(source):
            raise AudioError(f"{_where(source, utt)}: file does not exist")
        info = sf.info(source)
    except AudioError:
        raise
    except (RuntimeError, sf.LibsndfileError) as e:
        raise AudioError(f"{_where(source, utt)}: unreadable audio ({e})") from e
    return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels))


_mix_warned = False


def check_channel(channel: Channel) -> Channel:
    """Validate a channel choice (None, a 0-based int, or ``"mix"``); returns it.

    Raises:
        ValueError: anything else (a negative index, another string, a bool).
    """
    if channel is None or channel == "mix":
        return channel
    if isinstance(channel, bool) or not isinstance(channel, int) or channel < 0:
        raise ValueError(f"channel must be None, a 0-based channel index or 'mix', got {channel!r}")
    return channel


def parse_channel(text: str) -> int | str:
    """Command-line value of ``--channel``: ``mix`` or a 0-based index (for argparse)."""
    if text == "mix":
        return text
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"--channel expects a 0-based channel index or 'mix', got {text!r}")
    return int(text)


def channel_problem(channels: int, channel: Channel) -> str | None:
    """Why ``channel`` cannot be taken from a source with ``channels`` channels (else None).
    A mono source fits every choice (its one channel is the signal)."""
    if channels == 1:
        return None
    if channel is None:
        return (
            f"has {channels} channels, PASE reads mono audio: choose one with channel=N "
            "(--channel N, 0-based) or average them with channel='mix' (--channel mix), or "
            "downmix in wav.scp (e.g. 'sox in.wav -t wav - remix 1 |')"
        )
    if channel == "mix":
        return None
    if int(channel) >= channels:
        return f"has {channels} channel(s), channel {channel} requested"
    return None


def select_channel(data: np.ndarray, channel: Channel, where: str) -> np.ndarray:
    """``(L, C)`` samples -> ``(L,)`` under the channel choice (see the module docstring).

    Raises:
        AudioError: several channels and no choice, or a channel the source lacks (named).
    """
    check_channel(channel)
    problem = channel_problem(int(data.shape[1]), channel)
    if problem is not None:
        raise AudioError(f"{where}: {problem}")
    if data.shape[1] == 1:
        return data[:, 0]
    if channel == "mix":
        global _mix_warned
        if not _mix_warned:
            _mix_warned = True
            warnings.warn(
                f"{where}: averaging {data.shape[1]} channels to mono (channel='mix'); "
                "further downmixes are not reported",
                UserWarning,
                stacklevel=3,
            )
        return data.mean(axis=1, dtype=np.float64).astype(np.float32)
    return data[:, int(channel)]  # type: ignore[arg-type]


def read_audio(
    source: str | os.PathLike,
    *,
    sample_rate: int | None = SAMPLE_RATE,
    utt: str | None = None,
    start: float | None = None,
    end: float | None = None,
    channel: Channel = None,
) -> np.ndarray:
    """Read ``source`` as a mono float32 array in [-1, 1].

    Args:
        source: file path or ``"cmd |"``.
        sample_rate: required rate in Hz (``None`` accepts any rate).
        utt: utterance id, only used in error messages.
        start, end: optional segment bounds in seconds (Kaldi ``segments``; ``end`` <= 0 or
            None means the end of the recording).
        channel: ``None`` (default): the source must be mono; an int: keep that channel
            (0-based) of a multi-channel source; ``"mix"``: average all channels (warns
            once). Mono sources read the same under every choice.

    Returns:
        ``(L,)`` float32 samples.

    Raises:
        AudioError: missing/unreadable/empty source, another sample rate, a segment outside the
            recording, non-finite samples, several channels without a channel choice, or a
            channel the source lacks.
        ValueError: an invalid ``channel`` value.
    """
    check_channel(channel)
    source = os.fspath(source)
    where = _where(source, utt)
    try:
        if is_pipe(source):
            data, sr = sf.read(io.BytesIO(_run_pipe(source, utt)), dtype="float32", always_2d=True)
        else:
            if not os.path.exists(source):
                raise AudioError(f"{where}: file does not exist")
            data, sr = sf.read(source, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (RuntimeError, sf.LibsndfileError, TypeError) as e:
        raise AudioError(f"{where}: unreadable audio ({e})") from e
    if sample_rate is not None and sr != sample_rate:
        raise AudioError(
            f"{where}: sample rate is {sr} Hz, expected {sample_rate} Hz "
            f"(resample it first, e.g. 'sox in.wav -r {sample_rate} out.wav')"
        )
    wav = select_channel(data, channel, where)
    if start is not None or (end is not None and end > 0):
        b, e = segment_samples(start, end, wav.shape[0], sr)
        if b < 0 or b >= e or e > wav.shape[0] + round(0.01 * sr):
            raise AudioError(
                f"{where}: segment [{start}, {end}] s lies outside the recording "
                f"({wav.shape[0] / sr:.3f} s)"
            )
        wav = wav[b:e]
    if wav.shape[0] == 0:
        raise AudioError(f"{where}: no samples")
    if not np.isfinite(wav).all():
        raise AudioError(f"{where}: contains NaN or Inf samples")
    return np.ascontiguousarray(wav, dtype=np.float32)


# ------------------------------------------------------------------------------ checking


@dataclass(frozen=True)
class AudioCheck:
    """Result of :func:`check_audio_file`: header facts (0 when unknown) and the problem that
    makes the source unusable (None when it is fine)."""

    sample_rate: int
    num_samples: int
    channels: int
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.problem is None


def _wav_declared_frames(path: str) -> int | None:
    """Frames declared by a RIFF/WAVE header (None if not a plain RIFF WAV or streamed)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            ch = f.read(8)
            if len(ch) < 8:
                return None
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size)
                if len(fmt) < 14:
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0]
                if size % 2:
                    f.seek(1, os.SEEK_CUR)
            elif cid == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                f.seek(size + (size % 2), os.SEEK_CUR)


def _nist_declared_frames(path: str) -> int | None:
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head.startswith(b"NIST_1A"):
        return None
    m = re.search(rb"sample_count\s+-i\s+(\d+)", head)
    return int(m.group(1)) if m else None


def _scan_all(f: sf.SoundFile) -> tuple[int, bool]:
    """(frames decoded, all finite) reading ``f`` from the start in blocks."""
    f.seek(0)
    n, finite = 0, True
    while True:
        block = f.read(_BLOCK, dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            return n, finite
        n += block.shape[0]
        if finite and not np.isfinite(block).all():
            finite = False


def check_audio_file(
    path: str | os.PathLike, *, sample_rate: int | None = SAMPLE_RATE, full: bool = False
) -> AudioCheck:
    """Check one audio file without keeping its samples.

    Finds: a missing or empty (0-byte) file, unreadable audio, another sample rate (unless
    ``sample_rate`` is None), no samples, truncation (a WAV/NIST header declaring more samples
    than the file holds; for other formats the last :data:`TAIL_FRAMES` frames are decoded),
    and NaN/Inf samples. Float-encoded files (the only ones that can hold NaN/Inf) are read
    entirely; with ``full`` every file is decoded entirely (slower: finds corrupt frames in the
    middle of compressed files too).
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        return AudioCheck(0, 0, 0, "file does not exist")
    if os.path.isdir(p):
        return AudioCheck(0, 0, 0, "is a folder, not an audio file")
    if os.path.getsize(p) == 0:
        return AudioCheck(0, 0, 0, "empty file (0 bytes)")
    try:
        info = sf.info(p)
    except (RuntimeError, sf.LibsndfileError) as e:
        return AudioCheck(0, 0, 0, f"unreadable audio ({e})")
    sr, frames, ch = int(info.samplerate), int(info.frames), int(info.channels)

    def result(problem: str | None) -> AudioCheck:
        return AudioCheck(sr, frames, ch, problem)

    if sample_rate is not None and sr != sample_rate:
        return result(
            f"sample rate is {sr} Hz, expected {sample_rate} Hz "
            f"(resample, e.g. 'sox in.wav -r {sample_rate} out.wav')"
        )
    if frames == 0:
        return result("no samples")
    declared = None
    if info.format == "WAV":
        declared = _wav_declared_frames(p)
    elif info.format == "NIST":
        declared = _nist_declared_frames(p)
    if declared is not None and declared > frames:
        return result(f"truncated: header declares {declared} samples, file holds {frames}")
    try:
        with sf.SoundFile(p) as s:
            if full or info.subtype in _FLOAT_SUBTYPES:
                got, finite = _scan_all(s)
                if got < frames:
                    return result(f"truncated: header declares {frames} samples, decoded {got}")
                if not finite:
                    return result("contains NaN or Inf samples")
            elif declared is None:
                s.seek(max(0, frames - TAIL_FRAMES))
                want = frames - s.tell()
                got = s.read(want, dtype="float32").shape[0]
                if got < want:
                    return result(f"truncated: header declares {frames} samples, decoded fewer")
    except (RuntimeError, sf.LibsndfileError) as e:
        return result(f"truncated or corrupt (decoding failed: {e})")
    return result(None)


def check_audio_source(
    source: str,
    *,
    utt: str | None = None,
    sample_rate: int | None = SAMPLE_RATE,
    full: bool = False,
) -> AudioCheck:
    """:func:`check_audio_file` for any ``wav.scp`` source: a ``cmd |`` is run and its whole
    output decoded (rate, length, channels, NaN/Inf); a failing command is the problem."""
    if not is_pipe(source):
        return check_audio_file(source, sample_rate=sample_rate, full=full)
    try:
        data, sr = sf.read(io.BytesIO(_run_pipe(source, utt)), dtype="float32", always_2d=True)
    except AudioError as e:
        return AudioCheck(0, 0, 0, str(e).removeprefix(f"{_where(source, utt)}: "))
    except (RuntimeError, sf.LibsndfileError, TypeError) as e:
        return AudioCheck(0, 0, 0, f"unreadable audio ({e})")
    sr, frames, ch = int(sr), int(data.shape[0]), int(data.shape[1])
    if sample_rate is not None and sr != sample_rate:
        return AudioCheck(sr, frames, ch, f"sample rate is {sr} Hz, expected {sample_rate} Hz")
    if frames == 0:
        return AudioCheck(sr, 0, ch, "no samples")
    if not np.isfinite(data).all():
        return AudioCheck(sr, frames, ch, "contains NaN or Inf samples")
    return AudioCheck(sr, frames, ch, None)


def write_audio(path: str | os.PathLike, wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono waveform; the format follows the extension (wav: 16-bit PCM, flac)."""
    from pase.io.atomic import atomic_open

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".") or "wav"
    fmt = {"wav": "WAV", "flac": "FLAC", "sph": "NIST"}.get(ext, ext.upper())
    with atomic_open(path, "wb") as f:
        sf.write(f, np.asarray(wav, dtype=np.float32), sample_rate, format=fmt, subtype="PCM_16")
