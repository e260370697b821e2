"""Kaldi MFCC/fbank definitions, checked against a from-scratch numpy derivation of Kaldi's
feature pipeline (feature-window.cc, mel-computations.cc, feature-mfcc.cc)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("kaldi_native_fbank")

from pase.features.kaldi import FrameOptions, add_deltas, fbank, mfcc, num_frames
from tests.conftest import harmonic

EPS = np.finfo(np.float32).eps


def _frames(x: np.ndarray, fo: FrameOptions) -> tuple[np.ndarray, np.ndarray]:
    """Windowed frames (after DC removal, pre-emphasis, povey window) and raw log energies."""
    n, hop = fo.frame_length, fo.frame_shift
    t = 1 + (len(x) - n) // hop
    fr = np.stack([x[i * hop : i * hop + n] for i in range(t)]).astype(np.float64)
    fr -= fr.mean(axis=1, keepdims=True)
    log_energy = np.log(np.maximum((fr**2).sum(axis=1), EPS))
    pre = fr.copy()
    pre[:, 1:] -= fo.preemph_coeff * fr[:, :-1]
    pre[:, 0] -= fo.preemph_coeff * fr[:, 0]
    k = np.arange(n)
    win = (0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1))) ** 0.85
    return pre * win, log_energy


def _mel_banks(num_bins: int, fft: int, sr: int, low: float, high: float) -> np.ndarray:
    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)

    high = high if high > 0 else sr / 2 + high
    ml, mh = mel(low), mel(high)
    delta = (mh - ml) / (num_bins + 1)
    m = mel(np.arange(fft // 2) * sr / fft)
    w = np.zeros((num_bins, fft // 2))
    for b in range(num_bins):
        left, center, right = ml + b * delta, ml + (b + 1) * delta, ml + (b + 2) * delta
        up = (m > left) & (m <= center)
        down = (m > center) & (m < right)
        w[b, up] = (m[up] - left) / (center - left)
        w[b, down] = (right - m[down]) / (right - center)
    return w


def reference_fbank(x: np.ndarray, num_bins: int, fo: FrameOptions) -> np.ndarray:
    frames, _ = _frames(x * 32768.0, fo)
    spec = np.abs(np.fft.rfft(frames, n=512, axis=1)) ** 2
    w = _mel_banks(num_bins, 512, fo.sample_rate, fo.low_freq, fo.high_freq)
    return np.log(np.maximum(spec[:, :256] @ w.T, EPS))


def reference_mfcc(
    x: np.ndarray, num_ceps: int, num_bins: int, fo: FrameOptions, lifter: float = 22.0
) -> np.ndarray:
    logmel = reference_fbank(x, num_bins, fo)
    n = num_bins
    k = np.arange(num_ceps)[:, None]
    j = np.arange(n)[None, :]
    dct = np.sqrt(2.0 / n) * np.cos(np.pi / n * (j + 0.5) * k)
    dct[0] = np.sqrt(1.0 / n)
    ceps = logmel @ dct.T
    ceps *= 1.0 + 0.5 * lifter * np.sin(np.pi * np.arange(num_ceps) / lifter)
    _, log_energy = _frames(x * 32768.0, fo)
    ceps[:, 0] = log_energy
    return ceps


@pytest.fixture
def wav() -> np.ndarray:
    rng = np.random.default_rng(1)
    return harmonic(140.0, 0.7) + 0.02 * rng.standard_normal(11200).astype(np.float32)


def test_fbank_matches_kaldi_definition(wav: np.ndarray) -> None:
    fo = FrameOptions()
    got = fbank(wav, 40)
    ref = reference_fbank(wav, 40, fo)
    assert got.shape == ref.shape == (num_frames(len(wav)), 40)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=2e-3, rtol=1e-4)


def test_mfcc_matches_kaldi_definition(wav: np.ndarray) -> None:
    got = mfcc(wav)
    ref = reference_mfcc(wav, 13, 23, FrameOptions())
    assert got.shape == (num_frames(len(wav)), 13)
    np.testing.assert_allclose(got, ref, atol=5e-3, rtol=1e-4)


def test_options_change_the_definition(wav: np.ndarray) -> None:
    fo = FrameOptions(low_freq=60.0, high_freq=-400.0, frame_shift_ms=20.0)
    got = fbank(wav, 24, frame=fo)
    np.testing.assert_allclose(got, reference_fbank(wav, 24, fo), atol=2e-3, rtol=1e-4)
    assert fbank(wav, 40, use_energy=True).shape[1] == 41
    dithered = mfcc(wav, frame=FrameOptions(dither=1.0))
    assert not np.allclose(dithered, mfcc(wav))
    assert np.array_equal(mfcc(wav), mfcc(wav))  # deterministic by default


def test_deltas_follow_kaldi_add_deltas() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    out = add_deltas(x, order=2, window=2)
    assert out.shape == (30, 9)
    np.testing.assert_array_equal(out[:, :3], x)
    pad = np.concatenate([x[:1].repeat(2, 0), x, x[-1:].repeat(2, 0)])
    d1 = sum(j * pad[2 + j : 32 + j] for j in range(-2, 3)) / 10.0
    np.testing.assert_allclose(out[:, 3:6], d1, atol=1e-5)
    # Kaldi's second order is the window convolved with itself over the raw features
    w1 = np.arange(-2, 3) / 10.0
    w2 = np.convolve(w1, w1)
    pad2 = np.concatenate([x[:1].repeat(4, 0), x, x[-1:].repeat(4, 0)])
    d2 = sum(w2[k] * pad2[k : k + 30] for k in range(9))
    np.testing.assert_allclose(out[:, 6:], d2, atol=1e-5)
    m = mfcc(harmonic(200.0, 0.5), deltas=2)
    assert m.shape == (num_frames(8000), 39)


def test_short_and_bad_input() -> None:
    assert mfcc(np.zeros(399, np.float32)).shape == (0, 13)
    assert fbank(np.zeros(400, np.float32), 40).shape == (1, 40)
    assert mfcc(np.zeros(300, np.float32), deltas=2).shape == (0, 39)
    assert num_frames(400) == 1 and num_frames(559) == 1 and num_frames(560) == 2
    with pytest.raises(ValueError, match="shape"):
        mfcc(np.zeros((2, 800), np.float32))
