"""Batched F0 tracking in torch: YIN (cumulative-mean-normalised difference) with a voicing
decision, on the target frame grid (frame ``i`` centred on sample ``hop * i``), and the
log-F0 interpolation of the original prosody target.

YIN (de Cheveigne & Kawahara 2002) on one frame: difference function
``d(tau) = sum_{j<W} (x_j - x_{j+tau})^2`` for lags up to ``sr / f0_min``, computed for all
frames at once from FFT cross-correlations and cumulative energies; CMND
``d'(tau) = d(tau) tau / sum_{k<=tau} d(k)``; the period is the first lag in
``[sr / f0_max, sr / f0_min]`` whose CMND dips under ``threshold`` (at the bottom of that
dip), else the global CMND minimum; parabolic interpolation refines it. A frame is voiced
when the CMND at the chosen lag is below ``voicing_threshold`` and the frame is not silent.
"""

from __future__ import annotations

import math

import torch

from pase.targets.functional import HOP, SAMPLE_RATE, TargetError, as_batch, frame_signal


def yin(
    x: torch.Tensor,
    *,
    sample_rate: int = SAMPLE_RATE,
    hop: int = HOP,
    f0_min: float = 60.0,
    f0_max: float = 300.0,
    win: int | None = None,
    threshold: float = 0.15,
    voicing_threshold: float = 0.4,
    silence_db: float = -70.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """F0 track of ``x`` ``(B, L)``: returns ``(f0, voiced)``, both ``(B, T)`` with
    ``T = L // hop``; ``f0`` in Hz (0 where unvoiced), ``voiced`` bool.

    ``win`` is the YIN integration window in samples (default ``1.5 * sr / f0_min`` = 400
    at 60 Hz); each analysis frame spans ``win + sr / f0_min`` samples centred on
    ``hop * i`` with zero padding outside the signal. ``silence_db``: frames whose mean
    power is that far below the loudest frame of the same example (or exactly zero) are
    unvoiced whatever their periodicity.
    """
    x = as_batch(x)
    if not 0 < f0_min < f0_max < sample_rate / 2:
        raise TargetError(
            f"yin: need 0 < f0_min < f0_max < {sample_rate / 2} Hz, got {f0_min}, {f0_max}"
        )
    tau_min = max(2, math.floor(sample_rate / f0_max))
    tau_max = math.ceil(sample_rate / f0_min)
    w = round(1.5 * sample_rate / f0_min) if win is None else int(win)
    if w < 2:
        raise TargetError(f"yin: integration window must be >= 2 samples, got {w}")
    n_lag = tau_max + 2  # lags 0 .. tau_max + 1
    span = w + n_lag - 1  # samples needed per frame
    frames = frame_signal(x, span, hop, pad_mode="constant")  # (B, T, span)
    b, t, _ = frames.shape
    if b * t == 0:
        empty = x.new_zeros(b, t)
        return empty, empty.bool()
    n_fft = 1 << math.ceil(math.log2(span + n_lag))
    # cross term c(tau) = sum_{j<W} a_j b_{j+tau}, a = frame[:W], b = frame
    fa = torch.fft.rfft(frames[..., :w], n=n_fft)
    fb = torch.fft.rfft(frames, n=n_fft)
    corr = torch.fft.irfft(fa.conj() * fb, n=n_fft)[..., :n_lag]
    sq = frames.square()
    csum = torch.nn.functional.pad(torch.cumsum(sq, dim=-1), (1, 0))  # (B, T, span + 1)
    e_a = csum[..., w : w + 1]  # sum_{j<W} a_j^2
    e_b = csum[..., w : w + n_lag] - csum[..., :n_lag]  # sum_{j=tau}^{tau+W-1} b_j^2
    d = (e_a + e_b - 2.0 * corr).clamp_min_(0.0)  # (B, T, n_lag), d[..., 0] = 0
    lags = torch.arange(n_lag, device=x.device, dtype=x.dtype)
    cum = torch.cumsum(d[..., 1:], dim=-1)
    cmnd = torch.ones_like(d)
    tiny = torch.finfo(x.dtype).tiny
    cmnd[..., 1:] = d[..., 1:] * lags[1:] / cum.clamp_min(tiny)

    # candidates: lags tau_min .. tau_max, with the neighbour tau + 1 for the dip test
    seg = cmnd[..., tau_min : tau_max + 1]
    nxt = cmnd[..., tau_min + 1 : tau_max + 2]
    dip = (seg < threshold) & (seg <= nxt)
    has_dip = dip.any(dim=-1)
    first = torch.argmax(dip.to(x.dtype), dim=-1)  # first True (argmax returns the first max)
    glob = torch.argmin(seg, dim=-1)
    idx = torch.where(has_dip, first, glob) + tau_min  # (B, T) integer lag
    best = torch.gather(cmnd, -1, idx.unsqueeze(-1)).squeeze(-1)

    # parabolic interpolation on the CMND around the chosen lag
    y0 = torch.gather(cmnd, -1, (idx - 1).unsqueeze(-1)).squeeze(-1)
    y2 = torch.gather(cmnd, -1, (idx + 1).unsqueeze(-1)).squeeze(-1)
    den = y0 - 2.0 * best + y2
    shift = torch.where(den > 0, 0.5 * (y0 - y2) / den.clamp_min(tiny), torch.zeros_like(den))
    period = idx.to(x.dtype) + shift.clamp(-1.0, 1.0)
    f0 = sample_rate / period

    power = e_a.squeeze(-1) / w  # mean power of the integration window, (B, T)
    ref = power.amax(dim=-1, keepdim=True)
    loud = (power > 0) & (power > ref * 10.0 ** (silence_db / 10.0))
    voiced = (best < voicing_threshold) & loud & (f0 >= f0_min * 0.97) & (f0 <= f0_max * 1.03)
    return torch.where(voiced, f0, torch.zeros_like(f0)), voiced


def interpolate_log_f0(
    f0: torch.Tensor, voiced: torch.Tensor, f0_min: float = 60.0
) -> torch.Tensor:
    """Continuous log-F0 ``(B, T)`` from ``f0`` (Hz) and ``voiced`` ``(B, T)``: natural log
    on voiced frames; unvoiced gaps linearly interpolated (in log-F0) between the voiced
    frames around them; leading / trailing unvoiced runs hold the nearest voiced value; an
    example with no voiced frame gets ``log(f0_min)`` everywhere (the original's rule)."""
    if f0.shape != voiced.shape or f0.dim() != 2:
        raise TargetError(
            f"interpolate_log_f0: f0 and voiced must both be (B, T), got "
            f"{tuple(f0.shape)} and {tuple(voiced.shape)}"
        )
    b, t = f0.shape
    if t == 0:
        return f0.clone()
    voiced = voiced.bool()
    lf0 = torch.log(torch.where(voiced, f0, torch.ones_like(f0)))
    pos = torch.arange(t, device=f0.device).expand(b, t)
    prev = torch.where(voiced, pos, torch.full_like(pos, -1)).cummax(dim=1).values
    nxt_src = torch.where(voiced, pos, torch.full_like(pos, t)).flip(1)
    nxt = nxt_src.cummin(dim=1).values.flip(1)
    has_prev, has_next = prev >= 0, nxt < t
    lp = torch.gather(lf0, 1, prev.clamp(0, t - 1))
    ln = torch.gather(lf0, 1, nxt.clamp(0, t - 1))
    span = (nxt - prev).clamp_min(1).to(f0.dtype)
    frac = (pos - prev).to(f0.dtype) / span
    inner = lp + (ln - lp) * frac
    out = torch.where(has_prev & has_next, inner, torch.where(has_prev, lp, ln))
    out = torch.where(voiced, lf0, out)
    none = ~voiced.any(dim=1, keepdim=True)
    return torch.where(none, torch.full_like(out, math.log(f0_min)), out)
