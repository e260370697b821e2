"""F0 tracker, log-F0 interpolation and the prosody target."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pase.targets import functional as tf
from pase.targets.f0 import interpolate_log_f0, yin
from pase.targets.prosody import prosody
from tests.conftest import harmonic
from tests.targets import refs


@pytest.mark.parametrize("f0", [150.0, 75.0, 280.0])
def test_yin_harmonic_within_2_percent(f0: float) -> None:
    x = torch.from_numpy(harmonic(f0, 2.0))[None]
    est, voiced = yin(x)
    inner = slice(3, -3)  # the zero-padded edge frames may be unvoiced
    assert voiced[0, inner].all()
    assert torch.all((est[0, inner] - f0).abs() / f0 < 0.02)
    assert abs(float(est[0, inner].median()) - f0) / f0 < 0.002  # parabolic refinement


def test_yin_silence_and_white_noise_unvoiced() -> None:
    silence = torch.zeros(2, 32000)
    f0, voiced = yin(silence)
    assert not voiced.any() and (f0 == 0).all()
    noise = torch.randn(4, 32000) * 0.1
    _, voiced = yin(noise)
    assert not voiced.any()


def test_yin_voicing_follows_the_signal() -> None:
    x = np.concatenate([harmonic(120, 0.5), np.zeros(8000, np.float32), harmonic(200, 0.5)])
    f0, voiced = yin(torch.from_numpy(x)[None])
    v = voiced[0].numpy()
    assert v[5:45].all() and not v[55:95].any() and v[105:145].all()
    np.testing.assert_allclose(f0[0, 10:40].numpy(), 120, rtol=0.01)
    np.testing.assert_allclose(f0[0, 110:140].numpy(), 200, rtol=0.01)


def test_yin_agrees_with_praat_on_espeak_speech() -> None:
    parselmouth = pytest.importorskip("parselmouth")
    y = refs.espeak("She had your dark suit in greasy wash water all year.")
    if y is None:
        pytest.skip("espeak-ng or sox not installed")
    t = len(y) // 160
    snd = parselmouth.Sound(y, 16000)
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=60.0, pitch_ceiling=300.0)
    ref = np.nan_to_num(np.array([pitch.get_value_at_time(0.01 * i) for i in range(t)]))
    f0, voiced = yin(torch.from_numpy(y)[None])
    f0, voiced = f0[0].numpy(), voiced[0].numpy()
    ref_v = ref > 0
    assert ref_v.sum() > 100
    assert (voiced == ref_v).mean() > 0.85  # voicing decisions agree
    both = voiced & ref_v
    rel = np.abs(f0[both] - ref[both]) / ref[both]
    assert np.median(rel) < 0.01
    assert (rel > 0.2).mean() < 0.02  # gross (octave) errors


def test_interpolate_log_f0_rules() -> None:
    f0 = torch.tensor([[0, 100, 0, 0, 400, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 200, 0, 0.0]])
    v = f0 > 0
    out = interpolate_log_f0(f0, v, f0_min=60.0)
    l100, l400, l200 = math.log(100), math.log(400), math.log(200)
    step = (l400 - l100) / 3
    np.testing.assert_allclose(
        out[0].numpy(), [l100, l100, l100 + step, l100 + 2 * step, l400, l400], rtol=1e-6
    )
    np.testing.assert_allclose(out[1].numpy(), math.log(60.0), rtol=1e-6)
    np.testing.assert_allclose(out[2].numpy(), l200, rtol=1e-6)


def test_prosody_rows_match_references() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([harmonic(130, 1.0), 0.05 * rng.standard_normal(16000)])
    x[100:140] = 0.0  # exact zeros count as positive for the zero-crossing rate
    p = prosody(torch.from_numpy(x.astype(np.float64))[None])[0].numpy()
    assert p.shape == (4, 200)
    np.testing.assert_allclose(p[2], refs.rms(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p[3], refs.zcr(x), atol=1e-12)
    voiced = p[1].astype(bool)
    assert voiced[5:95].all() and not voiced[105:195].any()
    np.testing.assert_allclose(np.exp(p[0, 5:95]), 130, rtol=0.01)
    # the unvoiced tail holds the last voiced log-F0
    np.testing.assert_allclose(p[0, 105:], p[0, int(np.flatnonzero(voiced)[-1])], rtol=1e-6)


def test_energy_and_zcr_exact_values() -> None:
    x = torch.tensor([[1.0, -1.0] * 400])  # alternating: every step is a crossing
    assert torch.allclose(tf.rms_energy(x, 320)[0, 1:-1], torch.ones(3))
    z = tf.zero_crossing_rate(x, 320)[0]
    assert torch.allclose(z[1:-1], torch.full((3,), 319 / 320))
