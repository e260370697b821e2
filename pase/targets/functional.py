"""Worker targets as pure batched torch functions: ``(B, L)`` waveforms (16 kHz) in,
``(B, C, T)`` frame features out, ``T = L // hop`` (hop 160 = 10 ms).

Frame alignment (all targets): frame ``i`` is centred on sample ``hop * i``; a window of
``win`` samples covers ``[hop*i - win//2, hop*i - win//2 + win)``, with the signal padded at
both ends (reflect for spectra, as ``torch.stft(center=True)`` and librosa do). The original
PASE centred LPS/MFCC/prosody but started FBANK/gammatone frames at ``hop*i`` (a half-window
lag, ~6 frames for gtn_long); here every target is centred (see docs/targets.md).

Everything runs on the input's device, in float32 (float64 input stays float64), with no
per-example Python loops. The ``*_from_power`` functions take a power spectrum laid out as
``(B, T, F)`` (from :func:`power_frames`) so that targets sharing a window share one FFT.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from pase.constants import HOP, SAMPLE_RATE
from pase.targets import filters

LPS_FLOOR = 1e-19  # 10 log10(|X|^2 + 1e-19), as the original
GTN_FLOOR = 1e-10  # log(rms + 1e-10), as the original
EPS64 = float(np.finfo(np.float64).eps)  # python_speech_features' log floor

Window = Literal["rect", "hann", "hamming"]
PadMode = Literal["reflect", "constant", "replicate"]
PowerFn = Callable[..., torch.Tensor]


class TargetError(ValueError):
    """Bad input to a target function (shape, dtype, parameter)."""


def num_frames(num_samples: int, hop: int = HOP) -> int:
    """Number of target frames for ``num_samples`` samples: ``num_samples // hop``."""
    return num_samples // hop


def as_batch(x: torch.Tensor, what: str = "waveform") -> torch.Tensor:
    """Check and return a ``(B, L)`` floating waveform batch (``(B, 1, L)`` is squeezed;
    float16/bfloat16 are promoted to float32)."""
    if not isinstance(x, torch.Tensor):
        raise TargetError(f"{what}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 3 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 2:
        raise TargetError(f"{what}: expected shape (B, L) or (B, 1, L), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TargetError(f"{what}: expected a floating-point tensor, got {x.dtype}")
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return x


def _check_feats(x: torch.Tensor, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise TargetError(f"{what}: expected a (B, C, T) tensor, got {shape}")


# --------------------------------------------------------------------------------------------
# framing and spectra


def frame_signal(
    x: torch.Tensor,
    win: int,
    hop: int = HOP,
    *,
    pad_mode: PadMode = "reflect",
    n_frames: int | None = None,
) -> torch.Tensor:
    """Centred frames ``(B, T, win)`` of ``x`` ``(B, L)``: frame ``i`` covers samples
    ``[hop*i - win//2, hop*i - win//2 + win)``; ``T = L // hop`` unless ``n_frames`` is given.
    Out-of-range samples come from ``pad_mode`` padding (``reflect`` falls back to zeros when
    the signal is shorter than the padding). Returns a strided view where possible."""
    x = as_batch(x)
    if win < 1 or hop < 1:
        raise TargetError(f"frame_signal: need win >= 1 and hop >= 1, got win={win}, hop={hop}")
    length = x.shape[-1]
    t = num_frames(length, hop) if n_frames is None else n_frames
    if t == 0:
        return x.new_zeros(x.shape[0], 0, win)
    left = win // 2
    right = max(0, hop * (t - 1) - left + win - length)
    mode = pad_mode
    if mode == "reflect" and max(left, right) >= length:
        mode = "constant"
    if left or right:
        x = F.pad(x.unsqueeze(1), (left, right), mode=mode).squeeze(1)
    frames = x.unfold(-1, win, hop)
    return frames[:, :t]


@functools.lru_cache(maxsize=32)
def _window_np(name: str, win: int) -> np.ndarray:
    n = np.arange(win)
    if name in ("rect", "rectangular", "ones"):
        return np.ones(win)
    if name == "hann":  # periodic, as scipy get_window('hann', win) / librosa
        return 0.5 - 0.5 * np.cos(2 * np.pi * n / win)
    if name == "hamming":  # periodic
        return 0.54 - 0.46 * np.cos(2 * np.pi * n / win)
    raise TargetError(f"unknown window {name!r} (expected 'rect', 'hann' or 'hamming')")


@functools.lru_cache(maxsize=128)
def _const(key: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    kind, args = key[0], key[1:]
    if kind == "window":
        arr = _window_np(*args)
    elif kind == "mel":
        arr = filters.mel_filterbank(*args)
    elif kind == "gtn":
        arr = filters.gammatone_power_weights(*args)
    elif kind == "dct":
        arr = filters.dct_matrix(*args)
    else:  # pragma: no cover - internal keys only
        raise KeyError(kind)
    return torch.as_tensor(np.array(arr), dtype=dtype, device=device)


def preemphasis(x: torch.Tensor, coeff: float = 0.97) -> torch.Tensor:
    """``y[0] = x[0]``, ``y[n] = x[n] - coeff x[n-1]`` over the whole signal ``(B, L)``
    (python_speech_features' ``preemphasis``)."""
    x = as_batch(x)
    if coeff == 0.0:
        return x
    return torch.cat([x[:, :1], x[:, 1:] - coeff * x[:, :-1]], dim=1)


def power_frames(
    x: torch.Tensor,
    win: int,
    n_fft: int | None = None,
    hop: int = HOP,
    *,
    window: Window = "rect",
    preemph: float = 0.0,
    pad_mode: PadMode = "reflect",
) -> torch.Tensor:
    """One-sided power spectrum ``|rfft(w * frame, n_fft)|^2`` of centred frames,
    ``(B, T, n_fft // 2 + 1)`` (note: frames first). The ``win`` samples of a frame are
    weighted by ``window`` and zero-padded to ``n_fft`` (default ``win``); ``preemph``
    filters the whole signal first. No scaling is applied."""
    x = as_batch(x)
    n_fft = win if n_fft is None else n_fft
    if win > n_fft:
        raise TargetError(f"power_frames: win ({win}) must not exceed n_fft ({n_fft})")
    if preemph:
        x = preemphasis(x, preemph)
    frames = frame_signal(x, win, hop, pad_mode=pad_mode)
    if frames.shape[0] * frames.shape[1] == 0:  # FFT backends reject empty batches
        return x.new_zeros(*frames.shape[:-1], n_fft // 2 + 1)
    # frames zero-padded to n_fft in one contiguous buffer: a plain rfft over it is about
    # twice as fast as rfft(n=n_fft) on the strided frame view
    buf = x.new_zeros(*frames.shape[:-1], n_fft)
    if window in ("rect", "rectangular", "ones"):
        buf[..., :win] = frames
    else:
        torch.mul(frames, _const(("window", window, win), x.device, x.dtype), out=buf[..., :win])
    spec = torch.view_as_real(torch.fft.rfft(buf, dim=-1))
    return spec[..., 0].square() + spec[..., 1].square()


def power_spectrogram(
    x: torch.Tensor,
    win: int,
    n_fft: int | None = None,
    hop: int = HOP,
    *,
    window: Window = "rect",
    preemph: float = 0.0,
    pad_mode: PadMode = "reflect",
) -> torch.Tensor:
    """:func:`power_frames` laid out as ``(B, n_fft // 2 + 1, T)``."""
    p = power_frames(x, win, n_fft, hop, window=window, preemph=preemph, pad_mode=pad_mode)
    return p.transpose(1, 2)


class SpectrumCache:
    """A :func:`power_frames` drop-in (pass it as ``power_fn``) that computes each distinct
    ``(win, n_fft, hop, window, preemph, pad_mode)`` spectrum of one waveform batch once, so
    that targets sharing a window (e.g. LPS and gammatone at 400 samples) share the FFT.
    Use one cache per batch."""

    def __init__(self) -> None:
        self._x: torch.Tensor | None = None
        self._store: dict[tuple, torch.Tensor] = {}

    def __call__(
        self,
        x: torch.Tensor,
        win: int,
        n_fft: int | None = None,
        hop: int = HOP,
        *,
        window: Window = "rect",
        preemph: float = 0.0,
        pad_mode: PadMode = "reflect",
    ) -> torch.Tensor:
        if self._x is not x:
            self._x, self._store = x, {}
        key = (win, win if n_fft is None else n_fft, hop, window, float(preemph), pad_mode)
        if key not in self._store:
            self._store[key] = power_frames(
                x, win, n_fft, hop, window=window, preemph=preemph, pad_mode=pad_mode
            )
        return self._store[key]


# --------------------------------------------------------------------------------------------
# LPS


def lps_from_power(power: torch.Tensor) -> torch.Tensor:
    """Log power spectrum in dB, ``10 log10(P + 1e-19)``: ``(B, T, F)`` -> ``(B, F, T)``."""
    return torch.log10(power + LPS_FLOOR).mul_(10.0).transpose(1, 2)


def lps(
    x: torch.Tensor,
    n_fft: int = 2048,
    win: int = 400,
    hop: int = HOP,
    *,
    power_fn: PowerFn = power_frames,
) -> torch.Tensor:
    """Log power spectrum ``(B, n_fft//2 + 1, T)`` in dB: rectangular ``win``-sample frames
    centred on ``hop*i`` (reflect padding), zero-padded to ``n_fft``; ``10 log10(|X|^2 +
    1e-19)``. Same values as the original's ``torch.stft(x, n_fft, hop, win)`` (window None =
    rectangular, center=True) magnitude squared."""
    return lps_from_power(power_fn(x, win, n_fft, hop, window="rect", preemph=0.0))


# --------------------------------------------------------------------------------------------
# log mel filter banks and MFCC


def log_mel_from_power(
    power: torch.Tensor,
    weights: torch.Tensor,
    *,
    log: Literal["ln", "db"] = "ln",
    floor: float = EPS64,
    top_db: float | None = None,
    scale: float = 1.0,
) -> torch.Tensor:
    """Project a power spectrum ``(B, T, F)`` with filter ``weights`` ``(F, M)`` and take the
    log: ``log="ln"``: ``ln(max(scale * E, floor))``; ``log="db"``: ``10 log10(max(scale * E,
    floor))``, then, with ``top_db``, values below (per-example maximum - top_db) are raised to
    it (librosa ``power_to_db``). Returns ``(B, M, T)``."""
    e = torch.matmul(power, weights)
    if scale != 1.0:
        e = e * scale
    e = e.clamp_min_(floor)
    if log == "ln":
        out = e.log_()
    elif log == "db":
        out = e.log10_().mul_(10.0)
        if top_db is not None and out.numel():
            peak = out.amax(dim=(1, 2), keepdim=True)
            out = torch.maximum(out, peak - top_db)
    else:
        raise TargetError(f"unknown log type {log!r} (expected 'ln' or 'db')")
    return out.transpose(1, 2)


def mel_weights(
    n_mels: int,
    n_fft: int,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = 0.0,
    f_max: float | None = None,
    *,
    scale: filters.MelScale = "htk",
    shape: filters.MelShape = "hz",
    norm: Literal["slaney"] | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """:func:`pase.targets.filters.mel_filterbank` as a cached tensor ``(F, n_mels)``."""
    key = ("mel", n_mels, n_fft, sample_rate, float(f_min), f_max, scale, shape, norm)
    return _const(key, torch.device(device), dtype)


def log_mel(
    x: torch.Tensor,
    n_mels: int,
    win: int,
    n_fft: int | None = None,
    hop: int = HOP,
    *,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = 0.0,
    f_max: float | None = None,
    window: Window = "rect",
    preemph: float = 0.0,
    mel_scale: filters.MelScale = "htk",
    mel_shape: filters.MelShape = "hz",
    mel_norm: Literal["slaney"] | None = None,
    power_scale: float = 1.0,
    log: Literal["ln", "db"] = "ln",
    floor: float = EPS64,
    top_db: float | None = None,
    power_fn: PowerFn = power_frames,
) -> torch.Tensor:
    """Log mel spectrogram ``(B, n_mels, T)``, every step a parameter (see
    :func:`power_frames`, :func:`pase.targets.filters.mel_filterbank`,
    :func:`log_mel_from_power`). :func:`fbank` and :func:`mfcc` are its two presets."""
    n_fft = win if n_fft is None else n_fft
    x = as_batch(x)
    p = power_fn(x, win, n_fft, hop, window=window, preemph=preemph)
    w = mel_weights(
        n_mels, n_fft, sample_rate, f_min, f_max, scale=mel_scale, shape=mel_shape,
        norm=mel_norm, device=x.device, dtype=x.dtype,
    )  # fmt: skip
    return log_mel_from_power(p, w, log=log, floor=floor, top_db=top_db, scale=power_scale)


def fbank(
    x: torch.Tensor,
    n_filters: int = 40,
    win: int = 400,
    n_fft: int = 512,
    hop: int = HOP,
    *,
    sample_rate: int = SAMPLE_RATE,
    preemph: float = 0.97,
    power_fn: PowerFn = power_frames,
) -> torch.Tensor:
    """Log mel filter banks ``(B, n_filters, T)`` with python_speech_features' ``logfbank``
    definition: pre-emphasis 0.97 on the signal, rectangular ``win`` frames zero-padded to
    ``n_fft``, power ``|X|^2 / n_fft``, HTK-mel triangles on integer FFT bins over 0-8 kHz
    (peak 1), natural log (floor: float64 eps). Frames are centred (the original started them
    at ``hop*i`` and repeated the last frame)."""
    return log_mel(
        x, n_filters, win, n_fft, hop, sample_rate=sample_rate, window="rect", preemph=preemph,
        mel_scale="htk", mel_shape="bins", mel_norm=None, power_scale=1.0 / n_fft, log="ln",
        floor=EPS64, power_fn=power_fn,
    )  # fmt: skip


def mfcc_from_log_mel(log_mel_spec: torch.Tensor, order: int) -> torch.Tensor:
    """First ``order`` orthonormal DCT-II coefficients over the mel axis: ``(B, M, T)`` ->
    ``(B, order, T)``."""
    _check_feats(log_mel_spec, "mfcc_from_log_mel")
    m = log_mel_spec.shape[1]
    d = _const(("dct", m, order), log_mel_spec.device, log_mel_spec.dtype)
    return torch.einsum("bmt,mk->bkt", log_mel_spec, d)


def mfcc(
    x: torch.Tensor,
    order: int = 13,
    win: int = 400,
    n_fft: int | None = None,
    hop: int = HOP,
    *,
    sample_rate: int = SAMPLE_RATE,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    window: Window = "hann",
    preemph: float = 0.0,
    mel_scale: filters.MelScale = "slaney",
    mel_shape: filters.MelShape = "hz",
    mel_norm: Literal["slaney"] | None = "slaney",
    log: Literal["ln", "db"] = "db",
    floor: float = 1e-10,
    top_db: float | None = 80.0,
    power_fn: PowerFn = power_frames,
) -> torch.Tensor:
    """MFCC ``(B, order, T)``. Defaults are librosa's ``feature.mfcc`` (as the original):
    periodic Hann window of ``win`` samples (``n_fft`` = ``win`` unless given), power
    spectrum, 128 Slaney-scale / Slaney-normalised mel filters over 0-8 kHz, ``power_to_db``
    (amin 1e-10, ref 1, top_db 80 per example), orthonormal DCT-II. Every step is a parameter
    (e.g. Kaldi's definition: ``window="rect", n_fft=512, n_mels=40, mel_scale="htk",
    mel_shape="mel", mel_norm=None, log="ln", top_db=None``, no lifter, no energy)."""
    lm = log_mel(
        x, n_mels, win, n_fft, hop, sample_rate=sample_rate, f_min=f_min, f_max=f_max,
        window=window, preemph=preemph, mel_scale=mel_scale, mel_shape=mel_shape,
        mel_norm=mel_norm, log=log, floor=floor, top_db=top_db, power_fn=power_fn,
    )  # fmt: skip
    return mfcc_from_log_mel(lm, order)


# --------------------------------------------------------------------------------------------
# gammatone


def gammatone_fft_size(win: int) -> int:
    """FFT size used for a gammatone window: the next power of two >= win, at least 2048
    (so that the 400-sample gammatone shares the LPS spectrum)."""
    return max(2048, 1 << max(0, math.ceil(math.log2(win))))


def gammatone_weights(
    n_channels: int,
    n_fft: int,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = 500.0,
    f_max: float | None = None,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """:func:`pase.targets.filters.gammatone_power_weights` as a cached tensor ``(F, C)``."""
    key = ("gtn", n_channels, n_fft, sample_rate, float(f_min), f_max)
    return _const(key, torch.device(device), dtype)


def gammatone_from_power(power: torch.Tensor, weights: torch.Tensor, win: int) -> torch.Tensor:
    """``log(rms + 1e-10)`` of each gammatone channel over a ``win``-sample rectangular frame,
    from its power spectrum ``(B, T, F)`` and :func:`gammatone_weights`: ``(B, C, T)``."""
    e = torch.matmul(power, weights).clamp_min_(0.0).div_(win)
    return e.sqrt_().add_(GTN_FLOOR).log_().transpose(1, 2)


def gammatone(
    x: torch.Tensor,
    n_channels: int = 40,
    win: int = 400,
    hop: int = HOP,
    *,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = 500.0,
    f_max: float | None = None,
    n_fft: int | None = None,
    power_fn: PowerFn = power_frames,
) -> torch.Tensor:
    """Gammatone spectrogram ``(B, n_channels, T)``: ``log(rms + 1e-10)`` of the output of
    ``n_channels`` 4th-order gammatone filters (ERB-spaced from ``f_max`` = 8 kHz down to
    ``f_min``, high to low as the original's ``gtgram``; unit gain at the centre frequency)
    over a rectangular ``win``-sample frame centred on ``hop*i``.

    FFT-domain approximation of filtering then framing: the frame is zero-padded to ``n_fft``
    (default :func:`gammatone_fft_size`) and its energy through each filter is taken with
    Parseval from ``|X(f)|^2 |H(f)|^2``. It differs from time-domain filtering only by filter
    ringing across the frame edges (tested against a time-domain reference)."""
    n_fft = gammatone_fft_size(win) if n_fft is None else n_fft
    x = as_batch(x)
    p = power_fn(x, win, n_fft, hop, window="rect", preemph=0.0)
    w = gammatone_weights(n_channels, n_fft, sample_rate, f_min, f_max, device=x.device,
                          dtype=x.dtype)  # fmt: skip
    return gammatone_from_power(p, w, win)


# --------------------------------------------------------------------------------------------
# prosody: energy, zero-crossing rate (log-F0 and voicing come from pase.targets.f0)


def rms_energy(x: torch.Tensor, win: int = 320, hop: int = HOP) -> torch.Tensor:
    """Root-mean-square energy ``(B, T)`` of ``win``-sample frames centred on ``hop*i`` with
    zero padding (librosa ``feature.rms(frame_length=win, pad_mode='constant')``)."""
    frames = frame_signal(x, win, hop, pad_mode="constant")
    return frames.square().mean(dim=-1).sqrt()


def zero_crossing_rate(
    x: torch.Tensor, win: int = 320, hop: int = HOP, threshold: float = 1e-10
) -> torch.Tensor:
    """Zero-crossing rate ``(B, T)``: sign changes between consecutive samples of a ``win``
    frame centred on ``hop*i`` (edge padding), divided by ``win``; samples with
    ``|x| <= threshold`` count as positive zero (librosa ``feature.zero_crossing_rate``)."""
    x = as_batch(x)
    neg = x < -threshold  # sign bit after zeroing |x| <= threshold (0 counts as positive)
    frames = frame_signal(neg.to(x.dtype), win, hop, pad_mode="replicate")
    changes = (frames[..., 1:] != frames[..., :-1]).sum(dim=-1)
    return changes.to(x.dtype) / win


# --------------------------------------------------------------------------------------------
# deltas and the contextualised layout


@functools.lru_cache(maxsize=8)
def delta_weights(width: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Savitzky-Golay weights for lags ``k = 0 .. width // 2``: ``(w1, w2)`` with
    ``delta_1[t] = sum_k w1[k] (x[t+k] - x[t-k])`` (slope of the least-squares line,
    ``w1[k] = k / sum_j j^2``) and ``delta_2[t] = w2[0] x[t] + sum_{k>0} w2[k] (x[t+k] +
    x[t-k])`` (second derivative of the least-squares parabola)."""
    h = width // 2
    k = np.arange(-h, h + 1, dtype=np.float64)
    c = k**2 - np.mean(k**2)
    w1 = k / np.sum(k**2)
    w2 = 2.0 * c / np.sum(c**2)
    return tuple(float(v) for v in w1[h:]), tuple(float(v) for v in w2[h:])


def _delta_into(x: torch.Tensor, out: torch.Tensor, order: int, width: int) -> None:
    """Write delta ``order`` of ``x`` ``(B, C, T)`` (T >= width) into ``out`` (same shape)."""
    t, h = x.shape[-1], width // 2
    w1, w2 = delta_weights(width)
    inner = out[..., h : t - h]

    def lag(k: int) -> torch.Tensor:
        return x[..., h + k : t - h + k]

    if order == 1:
        torch.sub(lag(1), lag(-1), out=inner).mul_(w1[1])
        for k in range(2, h + 1):
            inner.add_(lag(k), alpha=w1[k]).sub_(lag(-k), alpha=w1[k])
    else:
        torch.mul(lag(0), w2[0], out=inner)
        for k in range(1, h + 1):
            inner.add_(lag(k), alpha=w2[k]).add_(lag(-k), alpha=w2[k])
    # edges: the value of the nearest complete window (what savgol 'interp' mode gives)
    out[..., :h] = inner[..., :1]
    out[..., t - h :] = inner[..., -1:]


def deltas(x: torch.Tensor, order: int = 2, width: int = 9) -> list[torch.Tensor]:
    """Regression deltas of ``x`` ``(B, C, T)`` over time, as librosa ``feature.delta``
    (Savitzky-Golay filter, ``mode='interp'``): returns ``[delta_1, ..., delta_order]``
    (order <= 2), each ``(B, C, T)``. Delta ``n`` is the ``n``-th derivative of the
    degree-``n`` least-squares polynomial over ``width`` frames (see :func:`delta_weights`);
    the first and last ``width // 2`` frames take the value of the nearest complete window,
    which is what the polynomial fit of ``interp`` mode gives. With ``T < width`` the
    features are edge-padded to ``width`` frames first."""
    out = stack_deltas(x, order, width)
    c = x.shape[1]
    return [out[:, c * (i + 1) : c * (i + 2)] for i in range(order)]


def stack_deltas(x: torch.Tensor, der_order: int, width: int = 9) -> torch.Tensor:
    """``[x; delta; delta-delta]`` up to ``der_order`` stacked on channels:
    ``(B, C, T)`` -> ``(B, C * (1 + der_order), T)`` (contiguous). See :func:`deltas`."""
    _check_feats(x, "deltas")
    if der_order not in (0, 1, 2):
        raise TargetError(f"deltas: order must be 0, 1 or 2, got {der_order}")
    if width < 3 or width % 2 == 0:
        raise TargetError(f"deltas: width must be odd and >= 3, got {width}")
    if der_order == 0:
        return x
    b, c, t = x.shape
    out = x.new_empty(b, c * (1 + der_order), t)
    out[:, :c] = x
    if t == 0:
        return out
    src = out[:, :c]
    h = width // 2
    if t < width:
        src = F.pad(src, (h, h), mode="replicate")
    for n in range(1, der_order + 1):
        if t < width:
            tmp = torch.empty_like(src)
            _delta_into(src, tmp, n, width)
            out[:, c * n : c * (n + 1)] = tmp[..., h : h + t]
        else:
            _delta_into(src, out[:, c * n : c * (n + 1)], n, width)
    return out


def contextualize(x: torch.Tensor, r: int) -> torch.Tensor:
    """The ``r``-frame target layout of the original ContextualizedLoss: ``(B, C, T)`` ->
    ``(B, C * r, T)`` where channel ``c * r + k`` at frame ``t`` holds feature ``c`` at frame
    ``t - r // 2 + k`` (zero outside ``[0, T)``)."""
    _check_feats(x, "contextualize")
    if r < 1:
        raise TargetError(f"contextualize: r must be >= 1, got {r}")
    if r == 1:
        return x
    b, c, t = x.shape
    left = r // 2
    xp = F.pad(x, (left, r - 1 - left))
    win = xp.unfold(2, r, 1)  # (B, C, T, r)
    return win.permute(0, 1, 3, 2).reshape(b, c * r, t)
