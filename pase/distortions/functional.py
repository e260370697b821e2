"""Pure batched distortion functions on ``(B, L)`` float waveforms (samples at 16 kHz).

Every function works on a whole batch at once (one FFT / one gather per call, no per-example
Python loop), on whatever device its inputs live, and never draws random numbers: the random
choices (which impulse response, which SNR, ...) are arguments, so the config-driven transforms
in :mod:`pase.distortions.transforms` own all randomness.

Conventions: ``x`` is ``(B, L)`` (B examples of L samples); per-example parameters are ``(B,)``
tensors (or broadcastable scalars); lengths, shifts and delays are in samples.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

_EPS = 1e-12


# --------------------------------------------------------------------------------------------
# energies
# --------------------------------------------------------------------------------------------
def energy(x: Tensor) -> Tensor:
    """Per-example energy (sum of squares) of ``x`` ``(B, L)`` -> ``(B,)``."""
    return x.pow(2).sum(-1)


def match_energy(y: Tensor, ref_energy: Tensor) -> Tensor:
    """Rescale each row of ``y`` ``(B, L)`` so that its energy equals ``ref_energy`` ``(B,)``.

    Rows of ``y`` with (numerically) zero energy are returned unchanged (they cannot be scaled).
    """
    e = energy(y)
    ok = e > _EPS
    gain = torch.where(ok, torch.sqrt(ref_energy / torch.where(ok, e, torch.ones_like(e))), 1.0)
    return y * gain.unsqueeze(-1)


def _as_batch(v: Tensor | float, x: Tensor) -> Tensor:
    """A per-example parameter as a ``(B,)`` tensor on ``x``'s device and dtype."""
    t = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    return t.expand(x.shape[0]) if t.dim() == 0 else t


# --------------------------------------------------------------------------------------------
# convolution (reverberation, FIR band-drop / low-pass)
# --------------------------------------------------------------------------------------------
def next_fast_len(n: int) -> int:
    """Smallest integer >= ``n`` whose only prime factors are 2, 3 and 5 (fast FFT size)."""
    if n <= 1:
        return 1
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            # complete with the smallest power of two reaching n
            q = -(-n // p35)
            cand = p35 * (1 << (q - 1).bit_length())
            best = min(best, cand)
            p35 *= 3
        p5 *= 5
    return best


def fft_convolve(x: Tensor, h: Tensor) -> Tensor:
    """Full linear convolution of each row of ``x`` ``(B, L)`` with ``h`` ``(B, K)`` or ``(K,)``.

    Returns ``(B, L + K - 1)``; computed with real FFTs of a fast size (batched).
    """
    if h.dim() == 1:
        h = h.unsqueeze(0)
    n_out = x.shape[-1] + h.shape[-1] - 1
    n = next_fast_len(n_out)
    y = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(h, n=n), n=n)
    return y[..., :n_out]


def convolve_compensated(
    x: Tensor, h: Tensor, delay: Tensor | int, *, keep_energy: bool = True
) -> Tensor:
    """Convolve, remove a per-example delay and crop to the input length.

    ``y[b, t] = (x[b] * h[b])[t + delay[b]]`` for ``t`` in ``[0, L)``: the output is aligned with
    the input when ``h`` is (a filtered version of) an impulse at ``delay``.

    Args:
        x: ``(B, L)`` waveforms.
        h: ``(B, K)`` (or ``(K,)``) filters / impulse responses, zero-padded on the right.
        delay: ``(B,)`` (or int) delays in samples, ``0 <= delay < K``.
        keep_energy: rescale every output row to the energy of its input row.

    Returns:
        ``(B, L)``.
    """
    B, L = x.shape
    full = fft_convolve(x, h)
    d = torch.as_tensor(delay, device=x.device, dtype=torch.long).expand(B)
    idx = d.unsqueeze(-1) + torch.arange(L, device=x.device)
    y = torch.gather(full, 1, idx.clamp_max(full.shape[-1] - 1))
    return match_energy(y, energy(x)) if keep_energy else y


def ir_delay(ir: Tensor) -> Tensor:
    """Delay of impulse responses ``(B, K)``: the index of the largest absolute tap, ``(B,)``."""
    return ir.abs().argmax(-1)


def reverberate(x: Tensor, ir: Tensor, *, keep_energy: bool = True) -> Tensor:
    """Reverberate ``x`` ``(B, L)`` with impulse responses ``ir`` ``(B, K)``.

    The direct-path delay (position of the largest absolute tap) is removed so that the output
    stays aligned with the clean input, the output is cropped to ``L`` samples and (by default)
    rescaled to the input energy. A unit impulse at any position returns ``x`` unchanged.
    """
    return convolve_compensated(x, ir, ir_delay(ir), keep_energy=keep_energy)


def fir_filter(
    x: Tensor, h: Tensor, lengths: Tensor | None = None, *, keep_energy: bool = True
) -> Tensor:
    """Filter ``x`` ``(B, L)`` with linear-phase FIR filters ``h`` ``(B, K)`` (band-drop, low-pass).

    The delay of a linear-phase filter of ``n`` taps is compensated as ``n // 2`` samples
    (``lengths`` ``(B,)`` gives each filter's true length when rows are zero-padded; default
    ``K``); output cropped to ``L`` and (by default) energy-matched to the input.
    """
    if lengths is None:
        lengths = torch.full((x.shape[0],), h.shape[-1], device=x.device, dtype=torch.long)
    return convolve_compensated(x, h, lengths.to(x.device) // 2, keep_energy=keep_energy)


# --------------------------------------------------------------------------------------------
# additive mixing (noise, overlapping speech)
# --------------------------------------------------------------------------------------------
def snr_gain(x: Tensor, n: Tensor, snr_db: Tensor | float) -> Tensor:
    """Gain ``K`` ``(B,)`` such that ``x`` and ``K * n`` have the SNR ``snr_db`` (dB).

    ``K = sqrt(E_x / (10^(snr/10) * E_n))``; 0 where either signal is silent.
    """
    ex, en = energy(x), energy(n)
    snr = _as_batch(snr_db, x)
    ok = (ex > _EPS) & (en > _EPS)
    k = torch.sqrt(ex / (torch.pow(10.0, snr / 10.0) * torch.where(ok, en, torch.ones_like(en))))
    return torch.where(ok, k, torch.zeros_like(k))


def add_at_snr(x: Tensor, n: Tensor, snr_db: Tensor | float, *, keep_energy: bool = True) -> Tensor:
    """Mix ``n`` ``(B, L)`` into ``x`` ``(B, L)`` at ``snr_db`` ``(B,)`` dB per example.

    ``y = x + K n`` with ``K`` from :func:`snr_gain`, then (by default) rescaled to the energy of
    ``x``; the rescaling applies to both components, so the SNR inside ``y`` is exactly
    ``snr_db``.
    """
    y = x + snr_gain(x, n, snr_db).unsqueeze(-1) * n
    return match_energy(y, energy(x)) if keep_energy else y


def shift_right(x: Tensor, shift: Tensor | int) -> Tensor:
    """Delay each row of ``x`` ``(B, L)`` by ``shift`` ``(B,)`` samples (zeros in front, the tail
    beyond ``L`` dropped)."""
    B, L = x.shape
    s = torch.as_tensor(shift, device=x.device, dtype=torch.long).expand(B)
    src = torch.arange(L, device=x.device) - s.unsqueeze(-1)
    y = torch.gather(x, 1, src.clamp_min(0))
    return torch.where(src >= 0, y, torch.zeros_like(y))


def shift_left(x: Tensor, shift: Tensor | int) -> Tensor:
    """Advance each row of ``x`` ``(B, L)`` by ``shift`` ``(B,)`` samples (zeros at the end)."""
    B, L = x.shape
    s = torch.as_tensor(shift, device=x.device, dtype=torch.long).expand(B)
    src = torch.arange(L, device=x.device) + s.unsqueeze(-1)
    y = torch.gather(x, 1, src.clamp_max(L - 1))
    return torch.where(src < L, y, torch.zeros_like(y))


# --------------------------------------------------------------------------------------------
# amplitude (clipping, gain, random scale)
# --------------------------------------------------------------------------------------------
def clip(x: Tensor, factor: Tensor | float) -> Tensor:
    """Clip each row of ``x`` ``(B, L)`` to ``[factor * min(x), factor * max(x)]``.

    ``factor`` ``(B,)`` in ``(0, 1]``; smaller is harsher. Not energy-matched (as the original).
    """
    f = _as_batch(factor, x).unsqueeze(-1)
    lo = f * x.amin(-1, keepdim=True)
    hi = f * x.amax(-1, keepdim=True)
    return torch.minimum(torch.maximum(x, lo), hi)


def gain(x: Tensor, gain_db: Tensor | float) -> Tensor:
    """Multiply each row of ``x`` ``(B, L)`` by ``10^(gain_db / 20)`` (``gain_db`` ``(B,)``)."""
    return x * torch.pow(10.0, _as_batch(gain_db, x) / 20.0).unsqueeze(-1)


def peak_normalize(x: Tensor, scale: Tensor | float = 1.0) -> Tensor:
    """``x / max|x| * scale`` per row (the original's ``random_scale`` with ``scale ~ U(0, 1)``).

    All-zero rows stay zero.
    """
    peak = x.abs().amax(-1, keepdim=True)
    peak = torch.where(peak > 0, peak, torch.ones_like(peak))
    return x / peak * _as_batch(scale, x).unsqueeze(-1)


def random_scale(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Peak-normalise each row of ``x`` ``(B, L)`` and multiply it by a draw of ``U(0, 1)``.

    This is the original's ``--random_scale`` (applied to the clean chunk before the targets are
    computed, not a distortion). The draws use ``generator`` (on the CPU) when given.
    """
    u = torch.rand(x.shape[0], generator=generator).to(device=x.device, dtype=x.dtype)
    return peak_normalize(x, u)


# --------------------------------------------------------------------------------------------
# temporal masking
# --------------------------------------------------------------------------------------------
def intervals_mask(starts: Tensor, ends: Tensor, length: int) -> Tensor:
    """Boolean ``(B, length)`` mask, True inside any interval ``[starts[b, i], ends[b, i])``.

    ``starts``/``ends`` are ``(B, N)`` integer tensors; empty intervals (end <= start) are no-ops.
    """
    t = torch.arange(length, device=starts.device)
    inside = (t >= starts.unsqueeze(-1)) & (t < ends.unsqueeze(-1))
    return inside.any(1)


def zero_intervals(x: Tensor, starts: Tensor, ends: Tensor) -> Tensor:
    """Set the samples of ``x`` ``(B, L)`` inside ``[starts, ends)`` ``(B, N)`` to zero."""
    return x.masked_fill(intervals_mask(starts, ends, x.shape[-1]), 0.0)


# --------------------------------------------------------------------------------------------
# resampling (speed change, band-limiting by decimation, codec sample-rate changes)
# --------------------------------------------------------------------------------------------
def lowpass_fir(
    cutoff: float,
    *,
    zeros: int = 16,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Linear-phase low-pass FIR (Hann-windowed sinc) with unit gain at DC, ``(K,)``.

    ``cutoff`` is relative to the Nyquist frequency (``(0, 1]``); the filter has ``zeros`` sinc
    zero crossings on each side, so ``K = 2 * ceil(zeros / cutoff) + 1`` taps (odd, delay
    ``K // 2``).
    """
    if not 0.0 < cutoff <= 1.0:
        raise ValueError(f"cutoff must lie in (0, 1] (relative to Nyquist), got {cutoff}")
    half = math.ceil(zeros / cutoff)
    n = torch.arange(-half, half + 1, device=device, dtype=dtype)
    h = cutoff * torch.sinc(cutoff * n) * 0.5 * (1.0 + torch.cos(math.pi * n / (half + 1)))
    return h / h.sum()


def decimate(x: Tensor, factor: int, *, cutoff: float = 0.9) -> Tensor:
    """Anti-alias low-pass (``cutoff / factor`` of Nyquist) and keep every ``factor``-th sample.

    ``(B, L)`` -> ``(B, ceil(L / factor))``; the low-pass is delay-compensated, so sample ``m``
    of the output is aligned with sample ``m * factor`` of the input.
    """
    if factor == 1:
        return x
    h = lowpass_fir(cutoff / factor, device=x.device, dtype=x.dtype)
    return fir_filter(x, h, keep_energy=False)[:, ::factor]


def upsample(x: Tensor, factor: int, *, cutoff: float = 0.9) -> Tensor:
    """Insert ``factor - 1`` zeros between samples and low-pass: ``(B, M)`` -> ``(B, M * factor)``
    (band-limited interpolation; sample ``m * factor`` of the output is input sample ``m``)."""
    if factor == 1:
        return x
    B, M = x.shape
    z = x.new_zeros(B, M * factor)
    z[:, ::factor] = x
    h = lowpass_fir(cutoff / factor, device=x.device, dtype=x.dtype) * factor
    return fir_filter(z, h, keep_energy=False)


def decimate_interpolate(x: Tensor, factor: Tensor | int) -> Tensor:
    """Downsample each row of ``x`` ``(B, L)`` by an integer ``factor`` ``(B,)`` with an
    anti-alias low-pass, then linearly interpolate back to ``L`` samples (the original's
    ``Resample`` distortion: band-limiting plus interpolation artefacts).

    Rows sharing a factor are processed together (one FFT convolution per distinct factor).
    """
    B, L = x.shape
    f = torch.as_tensor(factor, device=x.device).round().long().expand(B)
    out = torch.empty_like(x)
    for r in f.unique().tolist():
        rows = (f == r).nonzero().squeeze(1)
        low = decimate(x[rows], int(r))  # (n, ceil(L / r))
        u = torch.arange(L, device=x.device, dtype=x.dtype) / r
        i0 = torch.floor(u).long()
        i1 = (i0 + 1).clamp_max(low.shape[-1] - 1)
        frac = u - i0
        out[rows] = low[:, i0] * (1 - frac) + low[:, i1] * frac
    return out


def _is_smooth(n: int, primes: tuple[int, ...]) -> bool:
    for p in primes:
        while n % p == 0:
            n //= p
    return n == 1


def _speed_sizes(length: int, factor: float, primes: tuple[int, ...] = (2, 3, 5, 7, 11)) -> tuple:
    """FFT sizes ``(n, m)`` with ``n >= length``, both ``primes``-smooth and ``n / m`` as close to
    ``factor`` as possible (searching ``n`` up to 10 % above ``length``)."""
    best = (math.inf, length, max(1, round(length / factor)))
    for n in range(length, int(length * 1.1) + 1):
        if not _is_smooth(n, primes):
            continue
        m = max(1, round(n / factor))
        if _is_smooth(m, primes):
            err = abs(n / m - factor)
            if err < best[0]:
                best = (err, n, m)
            if err < 1e-5:
                break
    return best[1], best[2]


def speed_change(x: Tensor, factor: Tensor | float, *, margin: int = 256) -> Tensor:
    """Play each row of ``x`` ``(B, L)`` ``factor`` ``(B,)`` times faster, keeping ``L`` samples.

    Tempo and pitch change together (like tape speed). Each row, zero-padded by at least
    ``margin`` samples on both sides (so the FFT's circular wrap stays outside the chunk), is
    FFT-resampled from ``n`` to ``m ~ n / factor`` samples and the result is centred on the
    chunk centre: a slowed-down chunk is cropped, a sped-up one zero-padded at both ends. The
    sizes are chosen 11-smooth (fast FFTs) with ``n / m`` within about ``1e-4`` of ``factor``.
    One FFT pair per row (speed change is off in the PASE+ config).
    """
    B, L = x.shape
    f = _as_batch(factor, x)
    out = torch.zeros_like(x)
    for b in range(B):
        n, m = _speed_sizes(L + 2 * margin, float(f[b]))
        left = (n - L) // 2
        X = torch.fft.rfft(torch.nn.functional.pad(x[b], (left, n - L - left)))
        k = m // 2 + 1
        X = X[:k] if X.shape[-1] >= k else torch.nn.functional.pad(X, (0, k - X.shape[-1]))
        r = torch.fft.irfft(X, n=m) * (m / n)
        centre = (left + (L - 1) / 2.0) * m / n  # the chunk centre, in resampled samples
        first = round(centre - (L - 1) / 2.0)  # index in r of output sample 0
        lo, hi = max(first, 0), min(first + L, m)
        if hi > lo:
            out[b, lo - first : hi - first] = r[lo:hi]
    return out


def envelope_delay(y: Tensor, ref: Tensor, max_lag: int, smooth: int = 80) -> Tensor:
    """Delay ``(B,)`` in ``[0, max_lag]`` samples of ``y`` behind ``ref`` (both ``(B, L)``).

    Estimated as the lag maximising the cross-correlation of the mean-removed amplitude
    envelopes (moving average of ``|x|`` over ``smooth`` samples); robust for codecs that do not
    preserve the waveform phase.
    """
    L = y.shape[-1]
    ker = torch.ones(1, 1, smooth, device=y.device, dtype=y.dtype) / smooth

    def env(s: Tensor) -> Tensor:
        e = F.conv1d(s.abs().unsqueeze(1), ker, padding=smooth // 2).squeeze(1)[:, :L]
        return e - e.mean(-1, keepdim=True)

    ey, er = env(y), env(ref)
    n = next_fast_len(2 * L)
    cc = torch.fft.irfft(torch.fft.rfft(ey, n=n) * torch.fft.rfft(er, n=n).conj(), n=n)
    return cc[:, : max_lag + 1].argmax(-1)
