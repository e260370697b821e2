"""Building blocks of the PASE encoder: SincNet band-pass convolution and conv blocks.

Module and parameter names follow the original implementation so that its checkpoints load
unchanged (``conv.low_hz_``, ``conv.band_hz_``, ``norm``, ``act``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pase.constants import SAMPLE_RATE
from pase.models.fft_conv import conv1d_fft, wants_fft
from pase.models.winograd import conv1d_winograd, wants_winograd

__all__ = ["FeBlock", "SincConv", "batch_norm_groups", "fold_batchnorm", "same_padding"]


def same_padding(kwidth: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """(left, right) padding in samples used by the original's conv blocks.

    Strided or even-width kernels pad ``k//2 - 1`` left and ``k//2`` right, otherwise
    ``k//2`` on both sides, where ``k`` is the dilated kernel width.
    """
    k = dilation * (kwidth - 1) + 1
    if stride > 1 or kwidth % 2 == 0:
        return k // 2 - 1, k // 2
    return k // 2, k // 2


def _hz_to_mel(hz: float | torch.Tensor) -> float | torch.Tensor:
    return 2595.0 * (
        torch.log10(1 + hz / 700.0) if torch.is_tensor(hz) else math.log10(1 + hz / 700.0)
    )


def _mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10 ** (mel / 2595.0) - 1)


class SincConv(nn.Module):
    """Learnable band-pass FIR filterbank (SincNet) applied to a mono waveform.

    Each output channel is a windowed-sinc band-pass filter with learnable low cut
    ``min_low_hz + |low_hz_|`` and bandwidth ``min_band_hz + |band_hz_|`` (Hz), initialised
    equally spaced on the mel scale. Input ``(B, 1, L)``, output ``(B, out_channels, L')``
    where the caller pads (the conv itself is 'valid').

    Args:
        out_channels: number of filters.
        kernel_size: filter length in samples (made odd).
        sample_rate: Hz.
        stride: conv stride in samples.
        min_low_hz, min_band_hz: lower bounds of the low cut and bandwidth (Hz).
    """

    def __init__(
        self,
        out_channels: int,
        kernel_size: int,
        sample_rate: int = SAMPLE_RATE,
        stride: int = 1,
        min_low_hz: float = 50.0,
        min_band_hz: float = 50.0,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            kernel_size += 1
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.sample_rate = sample_rate
        self.stride = stride
        self.min_low_hz = float(min_low_hz)
        self.min_band_hz = float(min_band_hz)

        low, high = 30.0, sample_rate / 2 - (self.min_low_hz + self.min_band_hz)
        mel = torch.linspace(
            _hz_to_mel(low), _hz_to_mel(high), out_channels + 1, dtype=torch.float64
        )
        hz = _mel_to_hz(mel)
        self.low_hz_ = nn.Parameter(hz[:-1].view(-1, 1).float())
        self.band_hz_ = nn.Parameter(torch.diff(hz).view(-1, 1).float())

        # Half-length Hamming window and time axis (2*pi*t/sr, t < 0); recomputed, not saved.
        half = kernel_size // 2
        n_lin = torch.linspace(
            0, kernel_size / 2 - 1, steps=int(kernel_size / 2), dtype=torch.float64
        )
        self.register_buffer(
            "window_",
            (0.54 - 0.46 * torch.cos(2 * math.pi * n_lin / kernel_size)).float(),
            persistent=False,
        )
        self.register_buffer(
            "n_",
            (2 * math.pi * torch.arange(-half, 0, dtype=torch.float64) / sample_rate)
            .float()
            .view(1, -1),
            persistent=False,
        )

    def filters(self) -> torch.Tensor:
        """The current filterbank, ``(out_channels, 1, kernel_size)``."""
        low = self.min_low_hz + torch.abs(self.low_hz_)
        high = torch.clamp(
            low + self.min_band_hz + torch.abs(self.band_hz_), self.min_low_hz, self.sample_rate / 2
        )
        band = (high - low)[:, 0]
        left = (torch.sin(high @ self.n_) - torch.sin(low @ self.n_)) / (self.n_ / 2) * self.window_
        center = 2 * band.view(-1, 1)
        right = torch.flip(left, dims=[1])
        bank = torch.cat([left, center, right], dim=1) / (2 * band[:, None])
        return bank.view(self.out_channels, 1, self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, L)`` -> ``(B, out_channels, (L - kernel_size) // stride + 1)``."""
        return F.conv1d(x, self.filters().to(x.dtype), stride=self.stride)

    def extra_repr(self) -> str:
        return (
            f"{self.out_channels}, kernel_size={self.kernel_size}, sample_rate={self.sample_rate}"
        )


_NORMS = ("bnorm", "inorm", None)
_ACTS = ("prelu", "relu", None)


class FeBlock(nn.Module):
    """Padding -> convolution -> normalisation -> activation, as the original's ``FeBlock``.

    Input ``(B, C_in, L)``, output ``(B, fmaps, ceil(L / stride))`` for the original's
    padding rule (see :func:`same_padding`).

    Args:
        num_inputs: input channels.
        fmaps: output channels.
        kwidth: kernel width (samples / frames).
        stride, dilation: conv stride and dilation.
        pad_mode: ``F.pad`` mode ("reflect", "replicate", "constant").
        norm_type: "bnorm" (BatchNorm1d), "inorm" (InstanceNorm1d, affine) or None.
        act: "prelu" (PReLU per channel, initial slope 0 as the original), "relu" or None.
        sincnet: make the conv a :class:`SincConv` (``num_inputs`` must be 1).
        sr: sample rate for the SincConv, Hz.
    """

    def __init__(
        self,
        num_inputs: int,
        fmaps: int,
        kwidth: int,
        stride: int = 1,
        dilation: int = 1,
        pad_mode: str = "reflect",
        norm_type: str | None = "bnorm",
        act: str | None = "prelu",
        sincnet: bool = False,
        sr: int = SAMPLE_RATE,
    ) -> None:
        super().__init__()
        if norm_type not in _NORMS:
            raise ValueError(f"norm_type {norm_type!r} is not supported (supported: {_NORMS})")
        if act not in _ACTS:
            raise ValueError(f"activation {act!r} is not supported (supported: {_ACTS})")
        self.kwidth = kwidth
        self.stride = stride
        self.dilation = dilation
        self.pad_mode = pad_mode
        self.sincnet = sincnet
        if sincnet:
            if num_inputs != 1:
                raise ValueError(f"a SincNet first block needs num_inputs=1, got {num_inputs}")
            if dilation != 1:
                raise ValueError("a SincNet first block does not support dilation")
            self.conv: nn.Module = SincConv(fmaps, kwidth, sample_rate=sr, stride=stride)
            k = self.conv.kernel_size
            self.padding = (k // 2, k // 2)
        else:
            self.conv = nn.Conv1d(num_inputs, fmaps, kwidth, stride=stride, dilation=dilation)
            self.padding = same_padding(kwidth, stride, dilation)
        self.norm: nn.Module | None
        if norm_type == "bnorm":
            self.norm = nn.BatchNorm1d(fmaps)
        elif norm_type == "inorm":
            self.norm = nn.InstanceNorm1d(fmaps, affine=True)
        else:
            self.norm = None
        self.act: nn.Module | None
        if act == "prelu":
            self.act = nn.PReLU(fmaps, init=0.0)
        elif act == "relu":
            self.act = nn.ReLU()
        else:
            self.act = None

    @property
    def span(self) -> int:
        """Samples (positions) one output sees: the dilated kernel width."""
        if self.sincnet:
            return self.conv.kernel_size
        return self.dilation * (self.kwidth - 1) + 1

    def output_length(self, n: int) -> int:
        """Output positions for ``n`` input positions (with this block's padding)."""
        return (n + sum(self.padding) - self.span) // self.stride + 1

    def conv_weight(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Effective conv weight ``(C_out, C_in, k)`` and bias ``(C_out,)`` (None for Sinc)."""
        if self.sincnet:
            return self.conv.filters(), None
        return self.conv.weight, self.conv.bias

    def forward_conv(self, x: torch.Tensor) -> torch.Tensor:
        """Padding and convolution only: ``(B, C_in, L)`` -> ``(B, fmaps, L_out)`` before the
        normalisation (for :func:`batch_norm_groups`)."""
        x = F.pad(x, self.padding, mode=self.pad_mode)
        weight, bias = self.conv_weight()
        return _conv1d(
            x,
            weight.to(x.dtype),
            None if bias is None else bias.to(x.dtype),
            self.stride,
            self.dilation,
        )

    def forward_act(self, y: torch.Tensor) -> torch.Tensor:
        """The activation (after the normalisation)."""
        return y if self.act is None else self.act(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, L)`` -> ``(B, fmaps, L_out)``."""
        x = F.pad(x, self.padding, mode=self.pad_mode)
        weight, bias = self.conv_weight()
        if isinstance(self.norm, nn.BatchNorm1d) and not self.training:
            weight, bias = fold_batchnorm(weight, bias, self.norm)
            y = _conv1d(x, weight.to(x.dtype), bias.to(x.dtype), self.stride, self.dilation)
        else:
            y = _conv1d(
                x,
                weight.to(x.dtype),
                None if bias is None else bias.to(x.dtype),
                self.stride,
                self.dilation,
            )
            if self.norm is not None:
                y = self.norm(y)
        if self.act is not None:
            y = self.act(y)
        return y


def batch_norm_groups(norm: nn.Module | None, ys: list[torch.Tensor]) -> list[torch.Tensor]:
    """Apply ``norm`` to groups ``ys`` of ``(B_g, C, T_g)`` with different lengths ``T_g``.

    A training-mode ``BatchNorm1d`` normalises with statistics over every position of every
    group together (what it computes over one ``(B, C, T)`` batch, without padding), and
    updates its running statistics once, as ``nn.BatchNorm1d`` does. Any other norm (eval
    mode BatchNorm, InstanceNorm, None) is applied to each group on its own. A single group
    is passed to ``norm`` unchanged.
    """
    if norm is None:
        return ys
    if len(ys) == 1 or not (isinstance(norm, nn.BatchNorm1d) and norm.training):
        return [norm(y) for y in ys]
    flat = torch.cat([y.transpose(0, 1).reshape(y.shape[1], -1) for y in ys], 1)  # (C, N)
    n = flat.shape[1]
    mean = flat.mean(1)
    var = flat.var(1, unbiased=False)
    if norm.track_running_stats and norm.running_mean is not None:
        with torch.no_grad():
            norm.num_batches_tracked += 1
            m = norm.momentum
            if m is None:
                m = 1.0 / float(norm.num_batches_tracked)
            norm.running_mean.mul_(1 - m).add_(m * mean.detach())
            norm.running_var.mul_(1 - m).add_(m * var.detach() * n / max(n - 1, 1))
    scale = torch.rsqrt(var + norm.eps)
    shift = -mean * scale
    if norm.affine:
        scale = scale * norm.weight
        shift = shift * norm.weight + norm.bias
    return [y * scale.view(1, -1, 1) + shift.view(1, -1, 1) for y in ys]


def fold_batchnorm(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm1d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge an eval-mode BatchNorm into the preceding conv: same outputs, one pass less."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.affine:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.affine:
        shift = shift + bn.bias
    w = weight * scale.view(-1, *([1] * (weight.dim() - 1)))
    b = shift if bias is None else bias * scale + shift
    return w, b


def _conv1d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, dilation: int
) -> torch.Tensor:
    """``F.conv1d`` ('valid'), computed as one matrix product when ``k == 2 * stride``, or
    by Winograd tiles or FFT blocks where :func:`pase.models.winograd.wants_winograd` or
    :func:`pase.models.fft_conv.wants_fft` measured them faster.

    The original's second layer (k 20, stride 10) is slow as a direct convolution; reshaping
    the input into hops of ``stride`` samples turns it into a GEMM with identical results.
    """
    c_out, c_in, k = weight.shape
    if dilation == 1 and stride > 1 and k == 2 * stride:
        b, _, length = x.shape
        t = (length - k) // stride + 1
        hops = x[:, :, : (t + 1) * stride].reshape(b, c_in, t + 1, stride)
        # (B, T+1, C_in*stride): each row is one hop of all channels
        hops = hops.permute(0, 2, 1, 3).reshape(b, t + 1, c_in * stride)
        w0 = weight[:, :, :stride].reshape(c_out, c_in * stride)
        w1 = weight[:, :, stride:].reshape(c_out, c_in * stride)
        y = hops[:, :-1] @ w0.t() + hops[:, 1:] @ w1.t()
        if bias is not None:
            y = y + bias
        return y.transpose(1, 2)
    if wants_winograd(x, weight, stride, dilation):
        return conv1d_winograd(x, weight, bias, stride)
    if wants_fft(x, weight, stride, dilation):
        return conv1d_fft(x, weight, bias, stride)
    return F.conv1d(x, weight, bias, stride=stride, dilation=dilation)
