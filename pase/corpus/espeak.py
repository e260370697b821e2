"""Synthetic speech with phone timings from eSpeak NG (libespeak-ng through ctypes).

eSpeak synthesises at its native rate (22050 Hz) and reports one PHONEME event per phone with
its start sample. :func:`synthesize` resamples to ``sample_rate`` and turns the events into
contiguous phone segments covering the whole waveform, in samples at ``sample_rate``.

Determinism: libespeak-ng keeps state between syntheses in one process (a second call with the
same text gives other samples), and it cannot be re-initialised, so every call runs in a fresh
child process (``_espeak_child.py``, stdlib only, ~0.1 s). The same arguments therefore give
bit-identical audio and events. :func:`synthesize_many` runs several calls in parallel.

Voices are eSpeak names with an optional variant: ``en-us``, ``en-us+m3``, ``en-us+f2``,
``en-gb+klatt``, ... (``espeak-ng --voices``; variants in ``espeak-ng-data/voices/!v``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pase.constants import SAMPLE_RATE

_CHILD = Path(__file__).with_name("_espeak_child.py")
LIBRARY = os.environ.get("PASE_ESPEAK_LIB", "libespeak-ng.so.1")
PAUSE = "_"


class EspeakError(ValueError):
    """Bad synthesis arguments (unknown voice, empty text, out-of-range parameter)."""


class EspeakUnavailable(RuntimeError):
    """libespeak-ng (or its data) is not installed."""


@dataclass(frozen=True)
class PhoneEvent:
    """One phone: eSpeak ASCII phoneme name (``_``/``_:`` are pauses), ``[start, end)`` in
    samples at the synthesis output rate."""

    name: str
    start: int
    end: int


def espeak_available() -> bool:
    """True when libespeak-ng can be loaded and initialised."""
    try:
        synthesize("a", rate=300)
    except (EspeakUnavailable, EspeakError):
        return False
    return True


def _check(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise EspeakError(f"{name}={value} outside [{lo}, {hi}]")


def _run_child(request: dict, timeout: float) -> tuple[int, np.ndarray, list[tuple[str, int]], int]:
    try:
        proc = subprocess.run(
            [sys.executable, "-S", str(_CHILD)],
            input=json.dumps(request).encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise EspeakError(f"eSpeak synthesis of {request['text']!r} timed out") from e
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip()
        if "cannot load libespeak-ng" in msg or "espeak_Initialize failed" in msg:
            raise EspeakUnavailable(msg)
        raise EspeakError(f"text {request['text']!r}, voice {request['voice']!r}: {msg}")
    header_end = proc.stdout.index(b"\n")
    header = json.loads(proc.stdout[:header_end])
    audio = np.frombuffer(proc.stdout[header_end + 1 :], dtype=np.int16)
    if audio.shape[0] != header["num_samples"]:
        raise EspeakError(f"text {request['text']!r}: truncated output from the eSpeak child")
    events = [(str(n), int(s)) for n, s in header["events"]]
    return int(header["sample_rate"]), audio, events, int(header["end"])


def resample(wav: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling of ``(L,)`` float samples; output length
    ``ceil(L * new_rate / orig_rate)``."""
    if orig_rate == new_rate:
        return wav.astype(np.float32, copy=False)
    try:
        from scipy.signal import resample_poly
    except ImportError as e:  # pragma: no cover - scipy is in the test/corpus extras
        raise EspeakUnavailable("resampling needs scipy: pip install scipy") from e
    g = math.gcd(orig_rate, new_rate)
    out = resample_poly(wav.astype(np.float64), new_rate // g, orig_rate // g)
    return out.astype(np.float32)


def phone_segments(
    events: Sequence[tuple[str, int]], num_samples: int, scale: float = 1.0
) -> list[PhoneEvent]:
    """Turn eSpeak phoneme start events ``(name, sample)`` into contiguous segments.

    Sample indices are multiplied by ``scale`` (output rate / native rate) and rounded. Leading
    silence before the first phone becomes a pause ``_``; each phone ends where the next starts;
    the last ends at ``num_samples`` (output rate). Phones that become empty are dropped.
    """
    starts = [(name, min(num_samples, max(0, round(s * scale)))) for name, s in events]
    if not starts:
        return []
    if starts[0][1] > 0:
        starts.insert(0, (PAUSE, 0))
    out: list[PhoneEvent] = []
    for i, (name, b) in enumerate(starts):
        e = starts[i + 1][1] if i + 1 < len(starts) else num_samples
        if e > b:
            out.append(PhoneEvent(name, b, e))
    return out


def synthesize(
    text: str,
    voice: str = "en-us",
    rate: int = 160,
    pitch: int = 50,
    sample_rate: int = SAMPLE_RATE,
    *,
    pitch_range: int = 50,
    word_gap: int = 0,
    timeout: float = 60.0,
) -> tuple[np.ndarray, list[PhoneEvent]]:
    """Synthesise ``text`` and return its waveform and phone segments.

    Args:
        text: UTF-8 text (plain, not SSML).
        voice: eSpeak voice name, optionally ``+variant`` (``en-us+f2``).
        rate: speaking rate in words per minute (80..450).
        pitch: base pitch 0..99 (50 = the voice's default).
        sample_rate: output rate in Hz (resampled from eSpeak's 22050 Hz).
        pitch_range: intonation range 0..99 (0 = monotone).
        word_gap: extra pause between words, in units of 10 ms at the default rate.

    Returns:
        ``(wav, phones)``: ``(L,)`` float32 in [-1, 1] at ``sample_rate``; contiguous
        :class:`PhoneEvent` segments covering ``[0, L)`` (pauses included).

    Raises:
        EspeakError: empty text, unknown voice, parameter out of range, no audio produced.
        EspeakUnavailable: libespeak-ng is not installed.
    """
    if not text or not text.strip():
        raise EspeakError("empty text")
    _check("rate", rate, 80, 450)
    _check("pitch", pitch, 0, 99)
    _check("pitch_range", pitch_range, 0, 99)
    _check("word_gap", word_gap, 0, 100)
    if sample_rate <= 0:
        raise EspeakError(f"sample_rate={sample_rate} must be positive")
    request = {
        "text": text,
        "voice": voice,
        "rate": rate,
        "pitch": pitch,
        "pitch_range": pitch_range,
        "word_gap": word_gap,
        "library": LIBRARY,
    }
    native_rate, audio, events, _ = _run_child(request, timeout)
    if audio.shape[0] == 0:
        raise EspeakError(f"text {text!r}, voice {voice!r}: eSpeak produced no audio")
    wav = resample(audio.astype(np.float32) / 32768.0, native_rate, sample_rate)
    np.clip(wav, -1.0, 1.0, out=wav)
    phones = phone_segments(events, wav.shape[0], sample_rate / native_rate)
    return wav, phones


@dataclass(frozen=True)
class SynthRequest:
    """Arguments of one :func:`synthesize` call."""

    text: str
    voice: str = "en-us"
    rate: int = 160
    pitch: int = 50
    pitch_range: int = 50
    word_gap: int = 0


def synthesize_many(
    requests: Iterable[SynthRequest], sample_rate: int = SAMPLE_RATE, jobs: int | None = None
) -> list[tuple[np.ndarray, list[PhoneEvent]]]:
    """:func:`synthesize` for each request, ``jobs`` child processes at a time (default: CPU
    count); results in request order, identical to sequential calls."""
    reqs = list(requests)
    jobs = jobs or os.cpu_count() or 1

    def one(r: SynthRequest) -> tuple[np.ndarray, list[PhoneEvent]]:
        return synthesize(
            r.text,
            r.voice,
            r.rate,
            r.pitch,
            sample_rate,
            pitch_range=r.pitch_range,
            word_gap=r.word_gap,
        )

    if jobs <= 1 or len(reqs) <= 1:
        return [one(r) for r in reqs]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, reqs))
