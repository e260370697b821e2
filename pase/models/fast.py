"""Fast inference path of the PASE conv stack (eval mode), same numbers as the plain one.

Where the plain path spends its time on CPU and what replaces it:

- SincNet layer (64 filters x 251 taps at 16 kHz): the filters are symmetric, so the conv is
  a GEMM over ``x[n-i] + x[n+i]`` (126 columns instead of 251), computed in cache-sized
  pieces and written *time-major* ``(B, L, 64)``;
- second layer (kernel 20 = 2 x stride 10): with time-major input it is one GEMM over
  10-sample hops for both kernel halves, in runs of :data:`HOP_ROWS` outputs, no
  transposition of the 16 kHz activations;
- stride-1 kernel-11 layers up to 256 x 256 channels: overlap-save FFT convolution; the
  channel mixing becomes one complex batched GEMM per frequency bin (~2.2 instead of 11
  multiply-adds per input/output channel pair and output sample), done as one real GEMM
  of the interleaved parts against the cached real form of the weight spectra;
- strided kernel-11 layers from 256 x 256 channels (PASE+'s 256 -> 512 and 512 -> 512):
  Winograd F(3, 6) on time-major hops (:mod:`pase.models.winograd`), 8 GEMMs for 3 outputs
  of 6 hop taps (2.25x fewer multiply-adds; 0.6-0.7x oneDNN's direct convolution at
  1 x 10 s). The narrower strided layers keep oneDNN's direct convolution, which measured
  as fast or faster there (also against FFT and Winograd forms);
- all GEMMs through :mod:`pase.models.gemm` (oneDNN on CPU: about twice MKL's float32 speed
  on the AMD machines this project runs on);
- BatchNorm is folded into the conv weights (eval statistics), and the folded weights,
  their spectra and Winograd transforms are cached until a parameter or buffer changes.

Float32 results match the plain path to ~1e-6 relative (FFT and Winograd rounding); in
float64 to ~1e-15.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pase.models import gemm
from pase.models.fft_conv import fft_conv1d, weight_spectrum
from pase.models.modules import FeBlock, fold_batchnorm
from pase.models.winograd import HopConv

__all__ = ["FastConvStack", "fft_conv1d", "pool_frames", "supports", "weight_spectrum"]

NFFT = 64  # block size of the eval path's FFT convolutions
SINC_PIECE = 2048
#: output rows per GEMM of the second block (1024 x 640 inputs: 2.6 MB)
HOP_ROWS = 1024
#: FFT convolution only where the cached weight spectra stay small (C_in' x C_out <= 256 x 256,
#: 17 MB): for wider layers the spectra (6x the weights) make the GEMMs memory-bound.
FFT_MAX_CHANNEL_PRODUCT = 256 * 256
#: Winograd F(3, 6) on time-major hops (pase.models.winograd) for strided layers from this
#: C_in x C_out on: 256 -> 512 and 512 -> 512 took 0.65-0.75x the time of oneDNN's direct
#: convolution at batch 1 and 4 x 10 s; 128 -> 256 was even, 64 -> 128 slower.
WINOGRAD_MIN_CHANNEL_PRODUCT = 256 * 256


def supports(blocks: nn.ModuleList) -> bool:
    """True when the fast path implements this stack: a stride-1 SincNet first block, a
    second block with ``k == 2 * stride``, BatchNorm-or-nothing, PReLU/ReLU, no dilation."""
    if len(blocks) < 2 or not blocks[0].sincnet or blocks[0].stride != 1:
        return False
    b1 = blocks[1]
    if b1.sincnet or b1.dilation != 1 or b1.kwidth != 2 * b1.stride:
        return False
    for b in blocks:
        if not (b.norm is None or isinstance(b.norm, nn.BatchNorm1d)):
            return False
        if b.dilation != 1 or not (b.act is None or isinstance(b.act, (nn.PReLU, nn.ReLU))):
            return False
    return True


def _act(block: FeBlock, h: Tensor, channel_dim: int) -> Tensor:
    """The block's activation on ``h`` with channels on ``channel_dim`` (1 or -1)."""
    if isinstance(block.act, nn.PReLU):
        if channel_dim == 1:
            return F.prelu(h, block.act.weight)
        shape = h.shape
        return F.prelu(h.reshape(-1, shape[-1]), block.act.weight).view(shape)
    if isinstance(block.act, nn.ReLU):
        return torch.relu(h)
    return h


class FastConvStack:
    """Eval-mode replacement of ``WaveFe.encode_blocks`` for the supported geometry.

    Holds derived weights (BN-folded, rearranged, FFT spectra) of the encoder's blocks,
    recomputed whenever a parameter or buffer of a block changes (training steps,
    ``load_state_dict``, ``.to()``).
    """

    def __init__(self) -> None:
        self._cache: dict[int, tuple[tuple, dict[str, Any]]] = {}

    @staticmethod
    def _key(block: FeBlock) -> tuple:
        tensors = list(block.parameters()) + list(block.buffers())
        return tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)

    def _derived(self, i: int, block: FeBlock) -> dict[str, Any]:
        key = self._key(block)
        hit = self._cache.get(i)
        if hit is not None and hit[0] == key:
            return hit[1]
        with torch.no_grad():
            weight, bias = block.conv_weight()
            if isinstance(block.norm, nn.BatchNorm1d):
                weight, bias = fold_batchnorm(weight, bias, block.norm)
            if bias is None:
                bias = weight.new_zeros(weight.shape[0])
            d: dict[str, Any] = {"bias": bias.contiguous()}
            c_out, c_in, k = weight.shape
            if i == 0:  # symmetric SincNet filters: centre tap / 2, then taps 124..0
                h = k // 2
                w = weight[:, 0]
                d["sym"] = torch.cat([w[:, h : h + 1] / 2, w[:, :h].flip(-1)], 1).t().contiguous()
            elif i == 1:  # one GEMM on time-major hops: [first half | second half] of the kernel
                s = block.stride
                w = weight.permute(2, 1, 0)  # (k, C_in, C_out), row index r * C_in + c
                d["w_ab"] = torch.cat(
                    [w[:s].reshape(s * c_in, c_out), w[s:].reshape(s * c_in, c_out)], 1
                ).contiguous()
            elif block.stride == 1 and k >= 5 and c_in * c_out <= FFT_MAX_CHANNEL_PRODUCT:
                d["spec"] = weight_spectrum(weight, NFFT, real_form=True)
            elif (
                block.stride > 1
                and k >= 5
                and c_in * c_out >= WINOGRAD_MIN_CHANNEL_PRODUCT
                and weight.device.type == "cpu"
            ):
                hop_conv = HopConv.for_layer(block.stride, k)
                d["hop_conv"], d["hop_weight"] = hop_conv, hop_conv.weight(weight)
            else:
                d["weight"] = weight.contiguous()
        self._cache[i] = (key, d)
        return d

    @torch.no_grad()
    def __call__(
        self,
        blocks: nn.ModuleList,
        x: Tensor,
        t_out: int,
        skip_factor: Callable[[int, int], int] | None,
    ) -> tuple[Tensor, list[Tensor]]:
        """``(B, 1, L)`` -> last block ``(B, C, T)`` and pooled skip inputs, as the plain
        ``encode_blocks``. ``skip_factor(block, length)`` is the pooling window of a block's
        output of ``length`` positions (None: no dense skips)."""
        batch, _, length = x.shape
        pooled: list[Tensor] = []
        # --- block 0: symmetric sinc GEMM, time-major, with block 1's reflect padding rows
        b0, b1 = blocks[0], blocks[1]
        d0 = self._derived(0, b0)
        half = d0["sym"].shape[0] - 1
        left, right = b1.padding
        xp = F.pad(x, (half, half), mode=b0.pad_mode).view(batch, -1)
        n_ch = d0["sym"].shape[1]
        h0 = x.new_empty(batch, left + length + right, n_ch)
        act0 = _act_args(b0)
        for b in range(batch):
            fwd = xp[b, half:].unfold(0, half + 1, 1)
            bwd = xp[b].unfold(0, half + 1, 1)
            for n0 in range(0, length, SINC_PIECE):
                n1 = min(length, n0 + SINC_PIECE)
                piece = h0[b, left + n0 : left + n1]
                folded = bwd[n0:n1].flip(-1).add_(fwd[n0:n1])
                piece.copy_(gemm.mm(folded, d0["sym"], d0["bias"]))
                _act_inplace(piece, *act0)  # while the piece is in cache
        inner = h0[:, left : left + length]
        _pad_rows(h0, left, right, length, b1.pad_mode)
        if skip_factor is not None:
            pooled.append(_pool_time_major(inner, skip_factor(0, length), t_out))
        # --- block 1: two GEMMs over hops of `stride` samples
        d1 = self._derived(1, b1)
        s = b1.stride
        t1 = (left + length + right - b1.kwidth) // s + 1
        c1 = d1["w_ab"].shape[1] // 2
        y1 = x.new_empty(batch, t1, c1)
        act1 = _act_args(b1)
        for b in range(batch):  # in runs of HOP_ROWS outputs: the GEMM's operands stay in cache
            for r0 in range(0, t1, HOP_ROWS):
                r1 = min(t1, r0 + HOP_ROWS)
                hops = h0[b, r0 * s : (r1 + 1) * s].view(r1 + 1 - r0, s * n_ch)
                z = gemm.mm(hops, d1["w_ab"])  # (hops, 2 C): both halves of the kernel
                out = y1[b, r0:r1]
                torch.add(z[:-1, :c1], z[1:, c1:], out=out).add_(d1["bias"])
                _act_inplace(out, *act1)
        h = y1.transpose(1, 2).contiguous()  # (B, C, T1) channel-major
        if skip_factor is not None and len(blocks) > 2:
            pooled.append(pool_frames(h, skip_factor(1, h.shape[-1]), t_out))
        # --- blocks 2..n: FFT (stride 1), Winograd (wide strided) or direct convolutions,
        # BatchNorm folded; `rows` is the time-major (B, T, C) view of h when a Winograd
        # block wrote it (h is then its channel-major view)
        rows: Tensor | None = None
        for i in range(2, len(blocks)):
            blk = blocks[i]
            d = self._derived(i, blk)
            if "hop_conv" in d:
                hop_conv: HopConv = d["hop_conv"]
                left, right = blk.padding
                t_in = h.shape[-1]
                padded = left + t_in + right
                buf = h.new_empty(batch, max(padded, hop_conv.input_length(padded)), h.shape[1])
                buf[:, left : left + t_in] = h.transpose(1, 2) if rows is None else rows
                _pad_rows(buf[:, :padded], left, right, t_in, blk.pad_mode)
                buf[:, padded:] = 0
                rows = hop_conv(buf, padded, d["hop_weight"])[:, : hop_conv.output_length(padded)]
                rows.add_(d["bias"])
                _act_inplace(rows, *_act_args(blk))
                h = rows.transpose(1, 2)
                if skip_factor is not None and i < len(blocks) - 1:
                    pooled.append(_pool_time_major(rows, skip_factor(i, rows.shape[1]), t_out))
                continue
            rows = None
            hp = F.pad(h, blk.padding, mode=blk.pad_mode)
            if "spec" in d:
                h = fft_conv1d(hp, d["spec"], blk.kwidth, d["bias"])
            else:
                h = F.conv1d(hp, d["weight"], d["bias"], stride=blk.stride)
            h = _act(blk, h, 1)
            if skip_factor is not None and i < len(blocks) - 1:
                pooled.append(pool_frames(h, skip_factor(i, h.shape[-1]), t_out))
        return h, pooled


def _act_args(block: FeBlock) -> tuple[Tensor | None, bool]:
    """The block's activation as :func:`_act_inplace` takes it: PReLU slopes (or None) and
    whether it is a ReLU."""
    slope = block.act.weight if isinstance(block.act, nn.PReLU) else None
    return slope, isinstance(block.act, nn.ReLU)


def _act_inplace(h: Tensor, slope: Tensor | None, relu: bool) -> None:
    """PReLU (``slope``), ReLU (``relu``) or nothing, in place on time-major ``(N, C)`` rows."""
    if slope is not None:
        neg = h.clamp(max=0)
        h.clamp_(min=0).addcmul_(neg, slope)
    elif relu:
        h.clamp_(min=0)


def _pad_rows(h: Tensor, left: int, right: int, length: int, mode: str) -> None:
    """Fill the ``left``/``right`` padding rows of a time-major ``(B, left+L+right, C)``."""
    if mode == "reflect":
        if left:
            h[:, :left] = h[:, left + 1 : 2 * left + 1].flip(1)
        if right:
            end = left + length
            h[:, end:] = h[:, end - right - 1 : end - 1].flip(1)
    elif mode == "replicate":
        h[:, :left] = h[:, left : left + 1]
        h[:, left + length :] = h[:, left + length - 1 : left + length]
    elif mode == "constant":
        h[:, :left] = 0
        h[:, left + length :] = 0
    else:
        raise ValueError(f"pad_mode {mode!r} not supported by the fast path")


def pool_frames(h: Tensor, f: int, t_out: int) -> Tensor:
    """Channel-major ``(B, C, T')`` -> ``(B, C, t_out)``: mean over frame-aligned windows of
    ``f`` positions (the last window may be partial)."""
    length = h.shape[-1]
    if length >= t_out * f:
        return h[..., : t_out * f].unflatten(-1, (t_out, f)).mean(-1)
    full = length // f
    head = h[..., : full * f].unflatten(-1, (full, f)).mean(-1)
    tail = h[..., full * f :].mean(-1, keepdim=True)
    return torch.cat([head, tail.expand(-1, -1, t_out - full)], -1)


def _pool_time_major(h: Tensor, f: int, t_out: int) -> Tensor:
    """Time-major ``(B, L, C)`` -> channel-major ``(B, C, t_out)`` window means."""
    length = h.shape[1]
    if length >= t_out * f:
        return h[:, : t_out * f].unflatten(1, (t_out, f)).mean(2).transpose(1, 2)
    return pool_frames(h.transpose(1, 2), f, t_out)
