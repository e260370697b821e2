"""Filterbank weights for the spectral targets: mel (HTK / Slaney scales, three triangle
shapes), gammatone (ERB-spaced, FFT-domain magnitude responses) and the orthonormal DCT-II.

All builders are pure numpy (float64), cached, and return read-only arrays of shape
``(n_fft // 2 + 1, n_filters)`` so that a power spectrum laid out as ``(..., T, F)`` is
projected with one matmul. Frequencies are in Hz.
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np

from pase.constants import SAMPLE_RATE

MelScale = Literal["htk", "slaney"]
MelShape = Literal["hz", "mel", "bins"]

# Glasberg & Moore ERB constants as used by Slaney's Auditory Toolbox (and detly/gammatone).
EAR_Q = 9.26449
MIN_BW = 24.7
GAMMATONE_BW = 1.019  # bandwidth b = 1.019 * ERB(fc)
GAMMATONE_ORDER = 4

_SLANEY_F_SP = 200.0 / 3.0  # Hz per mel below 1 kHz
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP  # 15
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray | float, scale: MelScale = "htk") -> np.ndarray:
    """Frequency in Hz to mel. ``htk``: 2595 log10(1 + f/700); ``slaney``: linear below 1 kHz
    (200/3 Hz per mel), logarithmic above (librosa's default, Auditory Toolbox)."""
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    if scale == "slaney":
        lin = f / _SLANEY_F_SP
        log = _SLANEY_MIN_LOG_MEL + np.log(np.maximum(f, 1e-12) / _SLANEY_MIN_LOG_HZ) / (
            _SLANEY_LOGSTEP
        )
        return np.where(f >= _SLANEY_MIN_LOG_HZ, log, lin)
    raise ValueError(f"unknown mel scale {scale!r} (expected 'htk' or 'slaney')")


def mel_to_hz(m: np.ndarray | float, scale: MelScale = "htk") -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale == "slaney":
        lin = m * _SLANEY_F_SP
        log = _SLANEY_MIN_LOG_HZ * np.exp(_SLANEY_LOGSTEP * (m - _SLANEY_MIN_LOG_MEL))
        return np.where(m >= _SLANEY_MIN_LOG_MEL, log, lin)
    raise ValueError(f"unknown mel scale {scale!r} (expected 'htk' or 'slaney')")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=64)
def mel_filterbank(
    n_mels: int,
    n_fft: int,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: MelScale = "htk",
    shape: MelShape = "hz",
    norm: Literal["slaney"] | None = None,
) -> np.ndarray:
    """Triangular mel filters, ``(n_fft // 2 + 1, n_mels)`` float64.

    The ``n_mels + 2`` edge frequencies are uniform on the ``scale`` between ``f_min`` and
    ``f_max`` (default ``sample_rate / 2``). ``shape`` says how a triangle is drawn over the
    FFT bins:

    - ``"hz"``: linear in Hz between its edges, evaluated at the bin frequencies (librosa);
    - ``"mel"``: linear in mel, evaluated at the bin frequencies' mels (Kaldi);
    - ``"bins"``: edges rounded down to integer bins ``floor((n_fft + 1) f / sr)`` and linear
      in bin index, peak 1 at the centre bin (python_speech_features).

    ``norm="slaney"`` scales each filter by ``2 / (f_right - f_left)`` (constant energy per
    filter, librosa's default); ``None`` keeps peak 1.
    """
    if n_mels < 1 or n_fft < 2:
        raise ValueError(f"mel_filterbank: need n_mels >= 1 and n_fft >= 2, got {n_mels}, {n_fft}")
    f_max = sample_rate / 2.0 if f_max is None else float(f_max)
    if not 0.0 <= f_min < f_max <= sample_rate / 2.0:
        raise ValueError(
            f"mel_filterbank: need 0 <= f_min < f_max <= {sample_rate / 2} Hz, "
            f"got f_min={f_min}, f_max={f_max}"
        )
    n_bins = n_fft // 2 + 1
    mels = np.linspace(hz_to_mel(f_min, scale), hz_to_mel(f_max, scale), n_mels + 2)
    edges_hz = mel_to_hz(mels, scale)
    weights = np.zeros((n_mels, n_bins), dtype=np.float64)
    if shape == "hz":
        freqs = np.linspace(0.0, sample_rate / 2.0, n_bins)
        for i in range(n_mels):
            lo, c, hi = edges_hz[i : i + 3]
            weights[i] = np.maximum(
                0.0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c))
            )
    elif shape == "mel":
        bin_mels = hz_to_mel(np.arange(n_bins) * sample_rate / n_fft, scale)
        for i in range(n_mels):
            lo, c, hi = mels[i : i + 3]
            weights[i] = np.maximum(
                0.0, np.minimum((bin_mels - lo) / (c - lo), (hi - bin_mels) / (hi - c))
            )
    elif shape == "bins":
        edges = np.floor((n_fft + 1) * edges_hz / sample_rate).astype(np.int64)
        for i in range(n_mels):
            lo, c, hi = edges[i : i + 3]
            k = np.arange(n_bins)
            if c > lo:
                rising = (k >= lo) & (k < c)
                weights[i, rising] = (k[rising] - lo) / (c - lo)
            if hi > c:
                falling = (k >= c) & (k < hi)
                weights[i, falling] = (hi - k[falling]) / (hi - c)
    else:
        raise ValueError(f"unknown mel filter shape {shape!r} (expected 'hz', 'mel' or 'bins')")
    if norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    elif norm is not None:
        raise ValueError(f"unknown mel norm {norm!r} (expected 'slaney' or None)")
    return _readonly(np.ascontiguousarray(weights.T))


def erb_space(f_min: float, f_max: float, n: int) -> np.ndarray:
    """``n`` centre frequencies (Hz) equally spaced on the ERB-rate scale, in **descending**
    order from just below ``f_max`` down to exactly ``f_min`` (Slaney's ERBSpace, the channel
    order of detly/gammatone's ``gtgram``)."""
    if not 0.0 < f_min < f_max:
        raise ValueError(f"erb_space: need 0 < f_min < f_max, got {f_min}, {f_max}")
    q = EAR_Q * MIN_BW
    frac = np.arange(1, n + 1, dtype=np.float64) / n
    return -q + np.exp(frac * (np.log(f_min + q) - np.log(f_max + q))) * (f_max + q)


def erb(fc: np.ndarray | float) -> np.ndarray:
    """Equivalent rectangular bandwidth (Hz) at centre frequency ``fc`` (Glasberg & Moore)."""
    return np.asarray(fc, dtype=np.float64) / EAR_Q + MIN_BW


def gammatone_response(freqs: np.ndarray, fc: float) -> np.ndarray:
    """Complex frequency response of a 4th-order gammatone filter (impulse response
    ``t^3 exp(-2 pi b t) cos(2 pi fc t)``, ``b = 1.019 ERB(fc)``) at ``freqs`` (Hz), both the
    positive- and the negative-frequency lobe, scaled to unit magnitude at ``fc``."""
    b = GAMMATONE_BW * float(erb(fc))

    def raw(f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=np.float64)
        n = GAMMATONE_ORDER
        return 0.5 * ((1 + 1j * (f - fc) / b) ** -n + (1 + 1j * (f + fc) / b) ** -n)

    return raw(freqs) / np.abs(raw(np.array([fc])))[0]


@functools.lru_cache(maxsize=64)
def gammatone_power_weights(
    n_channels: int,
    n_fft: int,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = 500.0,
    f_max: float | None = None,
) -> np.ndarray:
    """Weights ``(n_fft // 2 + 1, n_channels)`` turning a one-sided power spectrum
    ``|X_k|^2`` of an ``n_fft``-point frame into the energy ``sum_n y[n]^2`` of the frame
    filtered by each gammatone channel (Parseval: ``c_k |H(f_k)|^2 / n_fft`` with ``c_k = 2``
    except at DC and Nyquist). Channels are ordered as :func:`erb_space` (high to low)."""
    f_max = sample_rate / 2.0 if f_max is None else float(f_max)
    fcs = erb_space(float(f_min), f_max, n_channels)
    n_bins = n_fft // 2 + 1
    freqs = np.arange(n_bins) * sample_rate / n_fft
    mult = np.full(n_bins, 2.0)
    mult[0] = 1.0
    if n_fft % 2 == 0:
        mult[-1] = 1.0
    w = np.stack([np.abs(gammatone_response(freqs, fc)) ** 2 for fc in fcs], axis=1)
    return _readonly(np.ascontiguousarray(w * (mult / n_fft)[:, None]))


@functools.lru_cache(maxsize=16)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II, ``(n_in, n_out)``: ``y = x @ D`` gives the first ``n_out``
    coefficients (scipy ``dct(type=2, norm='ortho')``, Kaldi's ComputeDctMatrix)."""
    if not 1 <= n_out <= n_in:
        raise ValueError(f"dct_matrix: need 1 <= n_out <= n_in, got n_out={n_out}, n_in={n_in}")
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    d = np.cos(np.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    d[:, 0] /= math.sqrt(2.0)
    return _readonly(d)
