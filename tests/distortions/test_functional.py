"""Pure distortion functions: SNR, energy, delay compensation, clipping, resampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.distortions import functional as Fd
from tests.conftest import harmonic
from tests.distortions.conftest import SR, band_stop, decaying_ir


def _batch(n: int = 4, seconds: float = 0.5) -> torch.Tensor:
    return torch.from_numpy(
        np.stack([harmonic(100.0 + 30 * i, seconds) for i in range(n)])
    ).double()


def _measured_snr(mix: torch.Tensor, x: torch.Tensor, n: torch.Tensor) -> np.ndarray:
    """Fit mix = a x + b n by least squares (exact if mix is such a mixture); SNR of the
    fitted components in dB."""
    out = []
    for m, s, v in zip(mix.numpy(), x.numpy(), n.numpy()):
        A = np.stack([s, v], 1)
        (a, b), *_ = np.linalg.lstsq(A, m, rcond=None)
        assert np.abs(A @ [a, b] - m).max() < 1e-9  # really a mixture of x and n
        out.append(10 * np.log10((a * a * s @ s) / (b * b * v @ v)))
    return np.array(out)


@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.5, 20.0])
def test_add_at_snr_measures_the_requested_snr_and_keeps_energy(snr: float) -> None:
    x = _batch()
    n = torch.from_numpy(np.random.default_rng(0).standard_normal(x.shape))
    mix = Fd.add_at_snr(x, n, torch.full((4,), snr, dtype=x.dtype))
    assert np.allclose(_measured_snr(mix, x, n), snr, atol=0.5)
    assert torch.allclose(Fd.energy(mix), Fd.energy(x), rtol=1e-9)


def test_add_at_snr_per_example_snrs_and_silent_noise() -> None:
    x = _batch()
    n = torch.from_numpy(np.random.default_rng(1).standard_normal(x.shape))
    snrs = torch.tensor([0.0, 5.0, 10.0, 15.0], dtype=x.dtype)
    assert np.allclose(_measured_snr(Fd.add_at_snr(x, n, snrs), x, n), snrs.numpy(), atol=0.5)
    # a silent noise segment adds nothing (no division by zero)
    assert torch.equal(Fd.add_at_snr(x, torch.zeros_like(x), 0.0), x)


def test_fft_convolve_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((3, 1000)), rng.standard_normal((3, 77))
    y = Fd.fft_convolve(torch.from_numpy(x), torch.from_numpy(h)).numpy()
    ref = np.stack([np.convolve(a, b) for a, b in zip(x, h)])
    assert y.shape == (3, 1076)
    assert np.allclose(y, ref, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 7, 31999, 32000, 55999, 100001])
def test_next_fast_len_is_smallest_5_smooth(n: int) -> None:
    def smooth(m: int) -> bool:
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        return m == 1

    m = Fd.next_fast_len(n)
    assert m >= n and smooth(m)
    assert not any(smooth(k) for k in range(n, m))


def test_reverb_with_delayed_unit_impulse_returns_the_input() -> None:
    x = _batch()
    ir = torch.zeros(4, 300, dtype=x.dtype)
    for b, d in enumerate([0, 5, 100, 299]):
        ir[b, d] = 1.0
    assert torch.allclose(Fd.reverberate(x, ir), x, atol=1e-10)


def test_reverb_keeps_energy_and_stays_aligned() -> None:
    rng = np.random.default_rng(3)
    x = _batch()
    delays = [0, 37, 250, 800]
    ir = torch.from_numpy(np.stack([decaying_ir(0.3, d, rng) for d in delays])).double()
    y = Fd.reverberate(x, ir)
    assert y.shape == x.shape
    assert torch.allclose(Fd.energy(y), Fd.energy(x), rtol=1e-9)
    # aligned with the input: for white noise, the cross-correlation peaks at lag 0 in every row
    w = torch.from_numpy(rng.standard_normal(x.shape))
    yw = Fd.reverberate(w, ir).numpy()
    L = x.shape[1]
    for b in range(4):
        cc = np.correlate(yw[b], w[b].numpy(), "full")[L - 1 - 50 : L + 50]
        assert int(np.argmax(cc)) - 50 == 0
    assert not torch.allclose(y, x, atol=1e-2)


def test_fir_filter_compensates_delay_and_keeps_energy() -> None:
    x = _batch()
    h = torch.zeros(4, 201, dtype=x.dtype)
    h[:, 100] = 1.0
    assert torch.allclose(Fd.fir_filter(x, h), x, atol=1e-10)
    # a band-stop filter leaves a tone in its pass band where it was (no shift), energy kept
    t = np.arange(SR // 2) / SR
    tone = torch.from_numpy(np.sin(2 * np.pi * 300 * t))[None].double()
    stop = torch.from_numpy(band_stop(1000, 2000)).double()[None]
    y = Fd.fir_filter(tone, stop)
    assert torch.allclose(Fd.energy(y), Fd.energy(tone))
    mid = slice(1000, -1000)
    assert torch.allclose(y[0, mid], tone[0, mid], atol=2e-2)
    # zero-padded filters: the true length sets the delay
    padded = torch.nn.functional.pad(h[:1, :101], (0, 50))
    padded[0, 50] = 1.0
    padded[0, 100] = 0.0
    assert torch.allclose(Fd.fir_filter(x[:1], padded, torch.tensor([101])), x[:1], atol=1e-10)


def test_band_stop_filter_removes_its_band() -> None:
    t = np.arange(SR) / SR
    x = torch.from_numpy(np.sin(2 * np.pi * 1500 * t) + np.sin(2 * np.pi * 300 * t))[None]
    y = Fd.fir_filter(x, torch.from_numpy(band_stop(1000, 2000)).double()[None], keep_energy=False)
    spec = np.abs(np.fft.rfft(y[0].numpy()))
    assert spec[1500] < 0.01 * spec[300]


def test_clip_bounds() -> None:
    x = _batch() * torch.linspace(0.2, 1.0, 4, dtype=torch.float64)[:, None]
    f = torch.tensor([0.1, 0.3, 0.5, 1.0], dtype=x.dtype)
    y = Fd.clip(x, f)
    lo, hi = (f * x.amin(1)), (f * x.amax(1))
    assert torch.all(y >= lo[:, None] - 1e-12) and torch.all(y <= hi[:, None] + 1e-12)
    inside = (x >= lo[:, None]) & (x <= hi[:, None])
    assert torch.equal(y[inside], x[inside])
    assert torch.equal(y[3], x[3])  # factor 1: untouched
    assert torch.isclose(y[0].amax(), hi[0]) and torch.isclose(y[0].amin(), lo[0])


def test_shifts_and_intervals() -> None:
    x = torch.arange(1.0, 11.0).repeat(2, 1)
    r = Fd.shift_right(x, torch.tensor([0, 3]))
    assert torch.equal(r[0], x[0])
    assert r[1].tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]
    left = Fd.shift_left(x, torch.tensor([2, 0]))
    assert left[0].tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 0]
    z = Fd.zero_intervals(x, torch.tensor([[1, 8], [0, 0]]), torch.tensor([[3, 20], [0, 0]]))
    assert z[0].tolist() == [1, 0, 0, 4, 5, 6, 7, 8, 0, 0]
    assert torch.equal(z[1], x[1])  # empty intervals are no-ops


def test_gain_and_peak_normalisation() -> None:
    x = _batch()
    assert torch.allclose(Fd.gain(x, 20.0), 10 * x)
    y = Fd.peak_normalize(x, torch.tensor([0.5, 1.0, 0.25, 0.1], dtype=x.dtype))
    assert torch.allclose(y.abs().amax(1), torch.tensor([0.5, 1.0, 0.25, 0.1], dtype=x.dtype))
    g = torch.Generator().manual_seed(0)
    z = Fd.random_scale(torch.cat([x, torch.zeros(1, x.shape[1], dtype=x.dtype)]), g)
    peaks = z.abs().amax(1)
    assert torch.all(peaks[:4] > 0) and torch.all(peaks <= 1) and peaks[4] == 0
    assert len(set(peaks[:4].tolist())) == 4


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * SR / len(x))


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.15])
def test_speed_change_scales_frequency_and_keeps_length(factor: float) -> None:
    t = np.arange(SR) / SR
    x = torch.from_numpy(np.sin(2 * np.pi * 400 * t)).float()[None]
    y = Fd.speed_change(x, torch.tensor([factor]))
    assert y.shape == x.shape
    assert abs(_peak_hz(y[0, 2000:-2000].numpy()) - 400 * factor) < 400 * 0.01
    if factor == 1.0:
        assert torch.allclose(y[:, 600:-600], x[:, 600:-600], atol=1e-3)
    if factor > 1:  # sped up: zero-padded at both ends
        assert y[0, :500].abs().max() < 1e-2 and y[0, -500:].abs().max() < 1e-2


def _amplitude(x: np.ndarray, hz: float) -> float:
    """Amplitude of the ``hz`` component of ``x`` (projection on a complex exponential)."""
    t = np.arange(len(x)) / SR
    return float(2 * np.abs(np.sum(x * np.exp(-2j * np.pi * hz * t))) / len(x))


def test_decimate_interpolate_band_limits() -> None:
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 500 * t) + np.sin(2 * np.pi * 3000 * t)
    y = Fd.decimate_interpolate(torch.from_numpy(np.stack([x, x])).float(), torch.tensor([2, 4]))
    by2, by4 = y.numpy()[:, 1000:-1000]
    assert _amplitude(by2, 500) > 0.95 and _amplitude(by4, 500) > 0.9
    assert _amplitude(by2, 3000) > 0.6  # below the 4 kHz Nyquist of factor 2: kept
    assert _amplitude(by4, 3000) < 0.05  # above the 2 kHz Nyquist of factor 4: removed
    assert torch.equal(Fd.decimate_interpolate(y, 1), y)


def test_decimate_and_upsample_round_trip() -> None:
    t = np.arange(SR) / SR
    x = torch.from_numpy(np.sin(2 * np.pi * 700 * t)).float()[None]
    d = Fd.decimate(x, 2)
    assert d.shape == (1, SR // 2)
    assert torch.allclose(d[0, 200:-200], x[0, ::2][200:-200], atol=1e-3)
    u = Fd.upsample(d, 2)
    assert u.shape == x.shape
    assert torch.allclose(u[0, 400:-400], x[0, 400:-400], atol=1e-3)


def test_envelope_delay_finds_a_shift() -> None:
    x = torch.from_numpy(
        np.stack([harmonic(120, 1.0) * (np.arange(SR) % 4000 < 2000) for _ in range(2)])
    ).float()
    y = Fd.shift_right(x, torch.tensor([0, 160]))
    assert Fd.envelope_delay(y, x, 800).tolist() == [0, 160]
