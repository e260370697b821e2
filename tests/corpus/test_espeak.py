"""eSpeak NG synthesis with phone timings (skipped when libespeak-ng is missing)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pase.corpus.espeak import (
    EspeakError,
    PhoneEvent,
    SynthRequest,
    espeak_available,
    phone_segments,
    synthesize,
    synthesize_many,
)

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="libespeak-ng not installed")
TEXT = "She had your dark suit in greasy wash water all year."


def test_phone_segments_contiguous_with_leading_pause() -> None:
    ev = [("h", 22), ("@", 44), ("l", 44), ("oU", 88)]
    segs = phone_segments(ev, 70, scale=0.5)
    assert segs == [
        PhoneEvent("_", 0, 11),
        PhoneEvent("h", 11, 22),
        PhoneEvent("l", 22, 44),
        PhoneEvent("oU", 44, 70),
    ]  # "@" became empty and was dropped; the last phone ends at the signal end
    assert phone_segments([], 10) == []


@needs_espeak
def test_deterministic_and_contiguous() -> None:
    wav, phones = synthesize(TEXT)
    wav2, phones2 = synthesize(TEXT)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert np.array_equal(wav, wav2) and phones == phones2
    assert 2.5 < wav.shape[0] / 16000 < 3.5
    assert phones[0].start == 0 and phones[-1].end == wav.shape[0]
    for a, b in itertools.pairwise(phones):
        assert a.end == b.start and a.start < a.end
    names = [p.name for p in phones]
    # "She had ..." starts with the eSpeak phones S i: h a d
    assert names[1:6] == ["S", "i:", "h", "a", "d"]
    assert sum(n.startswith("_") for n in names) >= 2


@needs_espeak
def test_phone_times_follow_the_audio() -> None:
    wav, phones = synthesize(TEXT)
    rms = {p: float(np.sqrt(np.mean(wav[p.start : p.end] ** 2))) for p in phones}
    pause = [v for p, v in rms.items() if p.name.startswith("_")]
    vowels = [v for p, v in rms.items() if p.name in ("i:", "a", "u:", "O:")]
    assert max(pause) < 0.2 * min(vowels)


@needs_espeak
def test_sample_rate_scales_events() -> None:
    w16, p16 = synthesize(TEXT, sample_rate=16000)
    w22, p22 = synthesize(TEXT, sample_rate=22050)
    assert abs(w16.shape[0] - w22.shape[0] * 16000 / 22050) <= 1
    assert [p.name for p in p16] == [p.name for p in p22]
    for a, b in zip(p16, p22):
        assert abs(a.start - b.start * 16000 / 22050) <= 1


@needs_espeak
def test_voice_rate_and_pitch_change_the_speech() -> None:
    parselmouth = pytest.importorskip("parselmouth")

    def f0(wav: np.ndarray) -> float:
        pitch = parselmouth.Sound(wav.astype(np.float64), 16000).to_pitch()
        v = pitch.selected_array["frequency"]
        return float(np.median(v[v > 0]))

    low, _ = synthesize(TEXT, "en-us+m3", pitch=20)
    high, _ = synthesize(TEXT, "en-us+m3", pitch=80)
    female, _ = synthesize(TEXT, "en-us+f2")
    assert f0(low) * 1.2 < f0(high)
    assert f0(female) > 150
    slow, _ = synthesize(TEXT, rate=120)
    fast, _ = synthesize(TEXT, rate=240)
    assert slow.shape[0] > 1.5 * fast.shape[0]


@needs_espeak
def test_synthesize_many_matches_sequential() -> None:
    reqs = [SynthRequest("Hello there.", "en-us+f2"), SynthRequest("Good morning.", "en-gb+m3")]
    many = synthesize_many(reqs, jobs=2)
    for r, (w, p) in zip(reqs, many):
        w1, p1 = synthesize(r.text, r.voice)
        assert np.array_equal(w, w1) and p == p1


@needs_espeak
def test_bad_arguments_are_named() -> None:
    with pytest.raises(EspeakError, match="no-such-voice"):
        synthesize("hello", voice="no-such-voice")
    with pytest.raises(EspeakError, match=r"en-us\+nosuchvariant"):
        synthesize("hello", voice="en-us+nosuchvariant")
    with pytest.raises(EspeakError, match="empty"):
        synthesize("   ")
    with pytest.raises(EspeakError, match="pitch=120"):
        synthesize("hello", pitch=120)
