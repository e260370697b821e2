"""Reading audio for PASE: mono float32 waveforms at 16 kHz.

Sources follow Kaldi ``wav.scp`` conventions: a file path (any format libsndfile reads: wav,
flac, NIST SPHERE, ogg, ...) or a shell command ending in ``|`` whose stdout is an audio file
(``sox in.flac -t wav - |``). Every error names the source (and the utterance, when given).
"""

from __future__ import annotations

import io
import math
import os
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """An audio source that cannot be used: missing, unreadable, empty, wrong rate, NaN/Inf."""


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


def read_audio(
    source: str | os.PathLike,
    *,
    sample_rate: int | None = SAMPLE_RATE,
    utt: str | None = None,
    start: float | None = None,
    end: float | None = None,
    channel: int = 0,
) -> np.ndarray:
    """Read one channel of ``source`` as a float32 array in [-1, 1].

    Args:
        source: file path or ``"cmd |"``.
        sample_rate: required rate in Hz (``None`` accepts any rate).
        utt: utterance id, only used in error messages.
        start, end: optional segment bounds in seconds (Kaldi ``segments``; ``end`` <= 0 or
            None means the end of the recording).
        channel: channel to keep for multi-channel audio.

    Returns:
        ``(L,)`` float32 samples.

    Raises:
        AudioError: missing/unreadable/empty source, another sample rate, a segment outside the
            recording, or non-finite samples.
    """
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
    if channel >= data.shape[1]:
        raise AudioError(f"{where}: has {data.shape[1]} channel(s), channel {channel} requested")
    wav = data[:, channel]
    if start is not None or (end is not None and end > 0):
        b = round((start or 0.0) * sr)
        e = wav.shape[0] if end is None or end <= 0 else round(end * sr)
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


def write_audio(path: str | os.PathLike, wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono waveform; the format follows the extension (wav: 16-bit PCM, flac)."""
    from pase.io.atomic import atomic_open

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".") or "wav"
    fmt = {"wav": "WAV", "flac": "FLAC", "sph": "NIST"}.get(ext, ext.upper())
    with atomic_open(path, "wb") as f:
        sf.write(f, np.asarray(wav, dtype=np.float32), sample_rate, format=fmt, subtype="PCM_16")


def num_samples_to_seconds(n: int, sample_rate: int = SAMPLE_RATE) -> float:
    """Samples -> seconds."""
    return n / sample_rate


def seconds_to_num_samples(t: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Seconds -> samples (rounded down)."""
    return math.floor(t * sample_rate + 1e-9)
