"""Building blocks of the workers: frame-wise MLPs, the upsampling waveform decoder, frame
dropout / shuffling, time alignment of predictions and labels.

All work on ``(B, C, T)`` tensors. The blocks take every hyper-parameter explicitly: the
defaults of a worker entry live in :mod:`pase.workers.config` and the kinds' ``Options``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from pase.models.fft_conv import conv_transpose1d_fft, wants_fft_transposed
from pase.models.winograd import conv_transpose1d_winograd, wants_winograd_transposed


class MLPBlock(nn.Module):
    """Conv1d (kernel ``context``, 'same' padding) -> PReLU(per channel) -> Dropout.

    ``(B, C_in, T)`` -> ``(B, C_out, T)``; ``context`` must be odd.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        context: int,
        dropout: float,
        prelu_init: float = 0.25,
    ) -> None:
        super().__init__()
        if context < 1 or context % 2 == 0:
            raise ValueError(f"context must be an odd positive kernel width, got {context}")
        self.conv = nn.Conv1d(in_channels, out_channels, context, padding=context // 2)
        self.act = nn.PReLU(out_channels, init=prelu_init)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.conv(x)))


class MLP(nn.Module):
    """``hidden_layers`` MLP blocks then a 1x1 output Conv1d: ``(B, C_in, T)`` -> ``(B, C_out, T)``.

    Only the first block uses the ``context`` kernel width (as the original).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        hidden_size: int,
        hidden_layers: int,
        context: int,
        dropout: float,
    ) -> None:
        super().__init__()
        blocks = []
        ch = in_channels
        for i in range(hidden_layers):
            blocks.append(
                MLPBlock(ch, hidden_size, context=context if i == 0 else 1, dropout=dropout)
            )
            ch = hidden_size
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Conv1d(ch, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.blocks(x))


class DeconvBlock(nn.Module):
    """ConvTranspose1d upsampling exactly ``stride`` times, then PReLU (init 0).

    ``(B, C_in, T)`` -> ``(B, C_out, stride * T)``. Padding ``max(0, (k - s) // 2)``; for an odd
    ``k - s`` the one extra output sample is cut at the end, and a kernel narrower than the
    stride gets ``output_padding`` (k=30 with s=4 / s=10 needs neither).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        if kernel < 1 or stride < 1:
            raise ValueError(f"kernel and stride must be positive, got {kernel}, {stride}")
        self.stride = stride
        self.deconv = nn.ConvTranspose1d(
            in_channels,
            out_channels,
            kernel,
            stride=stride,
            padding=max(0, (kernel - stride) // 2),
            output_padding=max(0, stride - kernel),
        )
        self.act = nn.PReLU(out_channels, init=0.0)

    def forward(self, x: Tensor) -> Tensor:
        d = self.deconv
        if wants_winograd_transposed(x, d.weight, self.stride):  # same numbers, faster on CPU
            h = conv_transpose1d_winograd(x, d.weight, d.bias, self.stride, d.padding[0])
        elif wants_fft_transposed(x, d.weight, self.stride):
            h = conv_transpose1d_fft(x, d.weight, d.bias, self.stride, d.padding[0])
        else:
            h = d(x)[..., : self.stride * x.shape[-1]]
        return self.act(h)


class WaveDecoder(nn.Module):
    """Waveform decoder: deconv blocks (``fmaps`` channels, ``strides``, kernel ``kwidths``)
    -> MLP blocks -> 1x1 Conv1d.

    ``(B, C_in, T)`` -> ``(B, out_channels, prod(strides) * T)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        fmaps: Sequence[int],
        strides: Sequence[int],
        kwidths: Sequence[int],
        hidden_size: int,
        hidden_layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        if not (len(fmaps) == len(strides) == len(kwidths)) or not fmaps:
            raise ValueError(
                f"fmaps, strides and kwidths must have the same non-zero length, got "
                f"{list(fmaps)}, {list(strides)}, {list(kwidths)}"
            )
        ch = in_channels
        ups = []
        for fm, s, k in zip(fmaps, strides, kwidths):
            ups.append(DeconvBlock(ch, int(fm), int(k), int(s)))
            ch = int(fm)
        self.upsample = nn.Sequential(*ups)
        self.factor = math.prod(int(s) for s in strides)
        depth = {"hidden_size": hidden_size, "hidden_layers": hidden_layers}
        self.mlp = MLP(ch, out_channels, context=1, dropout=dropout, **depth)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.upsample(x))


def drop_frames(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero whole frames of ``x`` ``(B, C, T)`` independently with probability ``p``."""
    if p <= 0:
        return x
    shape = (x.shape[0], 1, x.shape[2])
    dev = x.device if generator is None else generator.device
    keep = torch.rand(shape, generator=generator, device=dev).to(x.device) >= p
    return x * keep.to(x.dtype)


def shuffle_frames(x: Tensor, depth: int, generator: torch.Generator | None = None) -> Tensor:
    """Permute frames of ``x`` ``(B, C, T)`` inside consecutive blocks of ``depth`` frames.

    One permutation per block, shared by the batch (as the original ``shuffle`` option).
    """
    T = x.shape[2]
    idx = []
    for b in range(0, T, depth):
        n = min(depth, T - b)
        idx.append(b + torch.randperm(n, generator=generator))
    return x[:, :, torch.cat(idx).to(x.device)]


def align_time(
    pred: Tensor, label: Tensor, *, worker: str, tolerance: int
) -> tuple[Tensor, Tensor]:
    """Crop prediction and target to their common length on the last axis.

    The encoder gives ``floor(ceil(L/10)/16)`` frames and frame targets ``L // 160``: for chunk
    sizes that are not a multiple of 160 they differ by one frame (160 samples for the
    waveform). Larger mismatches are errors.
    """
    tp, tl = pred.shape[-1], label.shape[-1]
    if abs(tp - tl) > tolerance:
        raise ValueError(
            f"worker {worker!r}: prediction has {tp} steps but its target has {tl} "
            f"(shapes {tuple(pred.shape)} vs {tuple(label.shape)})"
        )
    n = min(tp, tl)
    return pred[..., :n], label[..., :n]


def binary_labels(n_pos: int, like: Tensor) -> Tensor:
    """Labels shaped like ``like`` ``(n, C, T)``: ones for the first ``n_pos`` rows, then
    zeros (the positive and negative pairs of a discriminator)."""
    lab = torch.zeros_like(like)
    lab[:n_pos] = 1.0
    return lab
