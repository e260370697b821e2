"""1-D convolution by overlap-save FFT blocks, with autograd: the channel mixing becomes one
complex batched GEMM per frequency bin.

For a kernel of ``k`` taps and blocks of ``nfft`` points, each output sample costs
``4 (nfft / 2 + 1) / (nfft - k + 1)`` real multiply-adds per input/output channel pair
instead of ``k`` (2.4 instead of 11 for PASE's k = 11 with ``nfft = 64``), plus the
transforms. A stride-``s`` convolution is the stride-1 convolution of its ``s`` input phases
stacked as channels (kernel ``ceil(k / s)``).

Where it pays (CPU, 2 threads, PASE+ training batch 48 x 2 s, forward + backward, measured
against oneDNN's direct convolution): stride 1, 128 x 128 channels 0.42 -> 0.25 s and
256 x 256 0.80 -> 0.34 s; stride 2, 128 -> 256 0.42 -> 0.35 s, 256 -> 512 0.84 -> 0.61 s,
512 -> 512 0.88 -> 0.78 s; not for 64 -> 128 (0.23 -> 0.27 s). :func:`wants_fft` encodes
that choice; on GPU the direct convolution stays.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["conv1d_fft", "fft_conv1d", "wants_fft", "weight_spectrum"]

#: block size of the training convolutions
NFFT = 64
#: smallest C_in x C_out that gains from the FFT on CPU (64 -> 128 did not)
MIN_CHANNEL_PRODUCT = 128 * 128


def weight_spectrum(weight: Tensor, nfft: int) -> Tensor:
    """``(C_out, C_in, k)`` -> ``(F, C_in, C_out)`` spectra of the flipped kernel, the layout
    :func:`fft_conv1d` multiplies with (``F = nfft / 2 + 1``, complex of the weight's
    precision)."""
    spec = torch.fft.rfft(weight.flip(-1), n=nfft)
    return spec.permute(2, 1, 0).contiguous()


def fft_conv1d(x: Tensor, spec: Tensor, k: int, bias: Tensor | None) -> Tensor:
    """'valid' stride-1 ``F.conv1d`` by overlap-save FFT blocks.

    Args:
        x: ``(B, C_in, L)``; computed in the precision of ``spec``.
        spec: :func:`weight_spectrum` of the ``(C_out, C_in, k)`` kernel (its FFT size sets
            the block size).
        k: kernel width.
        bias: ``(C_out,)`` or None.

    Returns:
        ``(B, C_out, L - k + 1)`` in ``x``'s dtype.
    """
    b, c_in, length = x.shape
    n_bins, _, c_out = spec.shape
    nfft = 2 * (n_bins - 1)
    step = nfft - k + 1
    l_out = length - k + 1
    n_blocks = -(-l_out // step)
    need = (n_blocks - 1) * step + nfft
    real = spec.real.dtype
    frames = F.pad(x.to(real), (0, need - length)).unfold(-1, nfft, step)  # (B, C_in, N, nfft)
    spec_x = torch.fft.rfft(frames, n=nfft)  # (B, C_in, N, F)
    spec_x = spec_x.permute(3, 0, 2, 1).reshape(n_bins, b * n_blocks, c_in)
    spec_y = torch.bmm(spec_x, spec)  # (F, B * N, C_out)
    if bias is not None:  # a constant is nfft times itself in the DC bin: no extra pass
        spec_y[0] += nfft * bias.to(real)
    spec_y = spec_y.view(n_bins, b, n_blocks, c_out).permute(1, 3, 2, 0)
    y = torch.fft.irfft(spec_y, n=nfft)[..., k - 1 :]  # (B, C_out, N, step)
    return y.reshape(b, c_out, n_blocks * step)[..., :l_out].to(x.dtype)


def conv1d_fft(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: int = 1, nfft: int = NFFT
) -> Tensor:
    """``F.conv1d(x, weight, bias, stride)`` ('valid', no dilation) by FFT blocks, with
    autograd. ``x`` ``(B, C_in, L)``, ``weight`` ``(C_out, C_in, k)`` -> ``(B, C_out,
    (L - k) // stride + 1)``."""
    k = weight.shape[-1]
    length = x.shape[-1]
    t_out = (length - k) // stride + 1
    if stride > 1:
        # phase r of the input, x[s u + r], stacked as channels r * C_in + c; tap s q + r of
        # the kernel becomes tap q of phase r (zero beyond k)
        taps = -(-k // stride)
        x = F.pad(x, (0, (-length) % stride))
        x = x.unflatten(-1, (-1, stride)).permute(0, 3, 1, 2).flatten(1, 2)
        weight = F.pad(weight, (0, taps * stride - k))
        weight = weight.unflatten(-1, (taps, stride)).permute(0, 3, 1, 2).flatten(1, 2)
        k = taps
    y = fft_conv1d(x, weight_spectrum(weight, nfft), k, bias)
    return y[..., :t_out]


def wants_fft(x: Tensor, weight: Tensor, stride: int, dilation: int) -> bool:
    """Whether :func:`conv1d_fft` beats the direct convolution here (see the module's
    measurements): CPU, no dilation, stride 1 or 2, at least 5 taps, C_in x C_out of at
    least 128 x 128, an output longer than one block."""
    c_out, c_in, k = weight.shape
    return (
        x.device.type == "cpu"
        and dilation == 1
        and stride in (1, 2)
        and k >= 5
        and c_in * c_out >= MIN_CHANNEL_PRODUCT
        and (x.shape[-1] - k) // stride + 1 >= NFFT
        and x.dtype in (torch.float32, torch.float64)
    )
