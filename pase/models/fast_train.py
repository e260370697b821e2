"""Training path of the first two blocks of the PASE conv stack: time-major, with autograd,
the plain path's numbers (float rounding) and gradients.

The first two blocks see every sample (PASE+ training, 48 x 2 s: 64 x 1.5 M activations,
393 MB each). What the plain path does there on CPU, and what replaces it:

- SincNet (64 filters x 251 taps): a direct convolution forward and another for the filters'
  gradient. The filters are symmetric, so both are GEMMs over ``x[n-i] + x[n+i]`` (126
  columns instead of 251) in cache-sized pieces (:class:`SymmetricSinc`); the output is
  written time-major ``(B, L, 64)``. The waveform needs no gradient;
- BatchNorm and PReLU run on the ``(B L, 64)`` view (same statistics as on ``(B, 64, L)``);
- the second block's padding is one copy into a buffer whose hops of ``stride`` samples are
  a view (:class:`PadTimeMajor`), and its kernel (``k = 2 stride``) one GEMM over the hops,
  where the plain path copied the activations into hops and back (forward and backward).

Measured with ``bench/train.py`` (docs/training.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

from pase.models import gemm
from pase.models.fast import SINC_PIECE, _act_inplace, _pad_rows, _pool_time_major, pool_frames
from pase.models.modules import FeBlock

__all__ = [
    "HopConv",
    "NormActRows",
    "PadTimeMajor",
    "SymmetricSinc",
    "encode_first_blocks",
]

#: rows per block of the blocked loops (kept in cache; their sums accumulate in float64)
ROWS = 8192


def _folded_pieces(xb: Tensor, half: int, length: int) -> Iterator[tuple[int, int, Tensor]]:
    """Pieces ``(n0, n1, rows)`` of the folded frames of one padded waveform ``xb``
    ``(L + 2 half,)``: row ``n`` holds ``x[n] + x[n]``, ``x[n+1] + x[n-1]``, ...,
    ``x[n+half] + x[n-half]`` (``half + 1`` columns)."""
    fwd = xb[half:].unfold(0, half + 1, 1)  # row n: x[n .. n+half]
    bwd = xb.unfold(0, half + 1, 1)  # row n: x[n-half .. n]
    for n0 in range(0, length, SINC_PIECE):
        n1 = min(length, n0 + SINC_PIECE)
        yield n0, n1, fwd[n0:n1] + bwd[n0:n1].flip(-1)


class SymmetricSinc(torch.autograd.Function):
    """Symmetric FIR filterbank, time-major: ``xp`` ``(B, L + 2h)`` (padded waveform) and
    ``sym`` ``(h + 1, C)`` (centre tap / 2, then taps ``h-1 .. 0`` of each filter) ->
    ``(B, L, C)``. Gradient for ``sym`` only."""

    @staticmethod
    def forward(ctx, xp: Tensor, sym: Tensor, length: int) -> Tensor:  # type: ignore[override]
        half = sym.shape[0] - 1
        out = xp.new_empty(xp.shape[0], length, sym.shape[1])
        for b in range(xp.shape[0]):
            for n0, n1, rows in _folded_pieces(xp[b], half, length):
                out[b, n0:n1] = gemm.mm(rows, sym)
        ctx.save_for_backward(xp)
        ctx.half, ctx.length = half, length
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor, None]:  # type: ignore[override]
        (xp,) = ctx.saved_tensors
        g_sym = torch.zeros(ctx.half + 1, grad.shape[-1], dtype=torch.float64, device=xp.device)
        for b in range(xp.shape[0]):
            for n0, n1, rows in _folded_pieces(xp[b], ctx.half, ctx.length):
                g_sym += gemm.mm(rows.t(), grad[b, n0:n1])  # pieces summed in float64
        return None, g_sym.to(grad.dtype), None


class HopConv(torch.autograd.Function):
    """A convolution with ``k = 2 s`` on time-major hops: ``hops`` ``(B, T + 1, s C_in)``
    (rows of ``s`` consecutive samples), ``w_ab`` ``(s C_in, 2 C_out)`` (the kernel's first
    and second halves side by side), ``bias`` ``(C_out,)`` or None -> ``(B, T, C_out)``,
    ``y[t] = hop[t] a + hop[t + 1] b``.

    The weight gradient sums over B T rows: it is computed in blocks of :data:`ROWS` rows
    summed in float64 (one float32 GEMM over 150 k rows lost ~5e-5 relative)."""

    @staticmethod
    def forward(ctx, hops: Tensor, w_ab: Tensor, bias: Tensor | None) -> Tensor:  # type: ignore[override]
        c_out = w_ab.shape[1] // 2
        z = gemm.mm(hops.reshape(-1, hops.shape[-1]), w_ab).view(*hops.shape[:2], -1)
        y = z[:, :-1, :c_out] + z[:, 1:, c_out:]
        if bias is not None:
            y += bias
        ctx.save_for_backward(hops, w_ab)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, gy: Tensor):  # type: ignore[override]
        hops, w_ab = ctx.saved_tensors
        batch, t1, c_out = gy.shape
        gz = gy.new_zeros(batch, t1 + 1, 2 * c_out)
        gz[:, :-1, :c_out] = gy
        gz[:, 1:, c_out:] += gy
        grad_hops = (
            gemm.mm(gz.view(-1, gz.shape[-1]), w_ab.t()).view(hops.shape)
            if ctx.needs_input_grad[0]
            else None
        )
        rows_h, rows_g = hops.reshape(-1, hops.shape[-1]), gz.view(-1, gz.shape[-1])
        grad_w = torch.zeros(w_ab.shape, dtype=torch.float64, device=w_ab.device)
        for r0 in range(0, rows_h.shape[0], ROWS):
            grad_w += gemm.mm(rows_h[r0 : r0 + ROWS].t(), rows_g[r0 : r0 + ROWS])
        grad_b = gy.sum((0, 1), dtype=torch.float64).to(gy.dtype) if ctx.has_bias else None
        return grad_hops, grad_w.to(w_ab.dtype), grad_b


class PadTimeMajor(torch.autograd.Function):
    """``(B, L, C)`` -> ``(B, total, C)``: ``left`` padding rows, the input, then padding rows
    up to ``total`` (or the input cut at ``total``), ``F.pad``'s ``mode`` along time; with
    ``f > 0`` also the window means of the input ``(B, C, t_out)`` (as
    :func:`pase.models.fast.pool_frames`), else an empty tensor. One Function for both uses
    of the input, so that the backward writes its gradient in one buffer."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, src: Tensor, left: int, total: int, mode: str, f: int, t_out: int
    ) -> tuple[Tensor, Tensor]:
        length = src.shape[1]
        if mode == "reflect" and max(left, total - left - length) >= length:
            raise ValueError(f"reflect padding of {length} positions needs pad < length")
        kept = min(length, total - left)
        right = total - left - kept
        out = src.new_empty(src.shape[0], total, src.shape[2])
        out[:, left : left + kept] = src[:, :kept]  # cut inside the input: no right rows
        _pad_rows(out, left, right, kept, mode)
        pooled = _pool_time_major(src, f, t_out) if f else src.new_empty(0)
        ctx.left, ctx.kept, ctx.right, ctx.mode, ctx.length = left, kept, right, mode, length
        ctx.f, ctx.t_out = f, t_out
        return out, pooled

    @staticmethod
    def backward(ctx, grad: Tensor, g_pooled: Tensor):  # type: ignore[override]
        left, kept, right, length, f = ctx.left, ctx.kept, ctx.right, ctx.length, ctx.f
        if kept == length:
            g = grad[:, left : left + length].clone()
        else:
            g = grad.new_zeros(grad.shape[0], length, grad.shape[2])
            g[:, :kept] = grad[:, left : left + kept]
        end = left + kept
        if ctx.mode == "reflect":
            if left:
                g[:, 1 : left + 1] += grad[:, :left].flip(1)
            if right:
                g[:, length - 1 - right : length - 1] += grad[:, end:].flip(1)
        elif ctx.mode == "replicate":
            g[:, 0] += grad[:, :left].sum(1)
            g[:, length - 1] += grad[:, end:].sum(1)
        if f and g_pooled is not None:
            gp = g_pooled.transpose(1, 2)  # (B, t_out, C)
            full = min(ctx.t_out, length // f)
            g[:, : full * f].unflatten(1, (full, f)).add_(gp[:, :full, None], alpha=1 / f)
            if full < ctx.t_out:  # the remainder's mean fills the last frames
                g[:, full * f :] += gp[:, full:].sum(1, keepdim=True) / (length - full * f)
        return g, None, None, None, None, None


class NormActRows(torch.autograd.Function):
    """``act(x * scale + shift)`` on rows ``x`` ``(N, C)``: a BatchNorm with the statistics
    ``mean``, ``invstd`` ``(C,)`` (computed without gradient: the batch's when
    ``batch_stats``, whose gradient this backward includes, else running ones), its affine
    ``weight`` / ``bias`` (or None), then PReLU (``slope`` ``(C,)`` or ``(1,)``), ReLU
    (``relu``) or nothing.

    Both passes run over blocks of :data:`ROWS` rows that stay in cache, and only ``x`` is
    kept for the backward (the normalised values are recomputed). The channel sums are
    accumulated in float64: ``nn.BatchNorm1d`` on ``(N, C)`` rows sums in float32 without
    blocking (3.5e-4 relative error of the variance over 1.5 M rows).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        x: Tensor,
        mean: Tensor,
        invstd: Tensor,
        weight: Tensor | None,
        bias: Tensor | None,
        slope: Tensor | None,
        relu: bool,
        batch_stats: bool,
    ) -> Tensor:
        scale = invstd if weight is None else invstd * weight
        shift = -mean * scale if bias is None else bias - mean * scale
        out = torch.empty_like(x)
        for r0 in range(0, x.shape[0], ROWS):
            z = out[r0 : r0 + ROWS]
            torch.addcmul(shift, x[r0 : r0 + ROWS], scale, out=z)
            _act_inplace(z, slope, relu)
        ctx.save_for_backward(x, mean, invstd, scale, shift, slope)
        ctx.relu, ctx.batch_stats, ctx.affine = relu, batch_stats, weight is not None
        return out

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        x, mean, invstd, scale, shift, slope = ctx.saved_tensors
        n, c = x.shape
        acc = torch.zeros(3, c, dtype=torch.float64, device=x.device)  # g, g (x - mean), slope

        def grad_z(r0: int) -> tuple[Tensor, Tensor, Tensor]:
            xb, gb = x[r0 : r0 + ROWS], g[r0 : r0 + ROWS]
            z = torch.addcmul(shift, xb, scale)
            if slope is None and not ctx.relu:
                return xb, gb, z
            # ReLU's backward kernel (g where z > 0, else 0): ~20x faster than torch.where
            pos = torch.ops.aten.threshold_backward(gb, z, 0)
            if slope is None:
                return xb, pos, z
            return xb, torch.addcmul(gb * slope, pos, 1 - slope), z  # g (z > 0), slope g

        for r0 in range(0, n, ROWS):
            xb, gz, z = grad_z(r0)
            acc[0] += gz.sum(0)
            acc[1] += ((xb - mean) * gz).sum(0)
            if slope is not None and ctx.needs_input_grad[5]:
                acc[2] += (g[r0 : r0 + ROWS] * z.clamp(max=0)).sum(0)
        sum_g = acc[0].to(x.dtype)
        sum_gxhat = (acc[1] * invstd).to(x.dtype)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.empty_like(x)
            if ctx.batch_stats:  # d/dx through the batch mean and variance too
                a = -scale * invstd * sum_gxhat / n
                b = -scale * sum_g / n - a * mean
            for r0 in range(0, n, ROWS):
                xb, gz, _ = grad_z(r0)
                gx = grad_x[r0 : r0 + ROWS]
                if ctx.batch_stats:
                    torch.addcmul(b, gz, scale, out=gx).addcmul_(xb, a)
                else:
                    torch.mul(gz, scale, out=gx)
        grad_w = sum_gxhat if ctx.affine else None
        grad_b = sum_g if ctx.affine else None
        grad_slope = None
        if slope is not None and ctx.needs_input_grad[5]:
            grad_slope = acc[2].to(x.dtype)
            if slope.numel() == 1:
                grad_slope = grad_slope.sum().reshape(slope.shape)
        return grad_x, None, None, grad_w, grad_b, grad_slope, None, None


def _batch_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (biased) variance of the columns of ``x`` ``(N, C)``, blocked, float64,
    shifted by the first row against cancellation."""
    shift = x[:1].detach()
    s = torch.zeros(2, x.shape[1], dtype=torch.float64, device=x.device)
    for r0 in range(0, x.shape[0], ROWS):
        d = x[r0 : r0 + ROWS].detach() - shift
        s[0] += d.sum(0)
        s[1] += (d * d).sum(0)
    m = s[0] / x.shape[0]
    return (m + shift[0]).to(x.dtype), (s[1] / x.shape[0] - m * m).clamp(min=0).to(x.dtype)


def _norm_act(block: FeBlock, h: Tensor) -> Tensor:
    """The block's BatchNorm (training or eval mode; running statistics updated as
    ``nn.BatchNorm1d`` does) and activation on a time-major ``(B, T, C)`` as ``(B T, C)``
    rows (:class:`NormActRows`)."""
    x = h.reshape(-1, h.shape[-1])
    norm = block.norm
    slope = block.act.weight if isinstance(block.act, nn.PReLU) else None
    relu = isinstance(block.act, nn.ReLU)
    if norm is None:
        mean, invstd = x.new_zeros(x.shape[1]), x.new_ones(x.shape[1])
        weight = bias = None
        batch_stats = False
    else:
        batch_stats = norm.training or norm.running_mean is None
        if batch_stats:
            mean, var = _batch_stats(x)
            if norm.training and norm.track_running_stats and norm.running_mean is not None:
                with torch.no_grad():
                    norm.num_batches_tracked += 1
                    m = norm.momentum
                    m = 1.0 / float(norm.num_batches_tracked) if m is None else m
                    n = x.shape[0]
                    norm.running_mean.mul_(1 - m).add_(mean, alpha=m)
                    norm.running_var.mul_(1 - m).add_(var * (n / max(n - 1, 1)), alpha=m)
        else:
            mean, var = norm.running_mean.to(x.dtype), norm.running_var.to(x.dtype)
        invstd = torch.rsqrt(var + norm.eps)
        weight = norm.weight if norm.affine else None
        bias = norm.bias if norm.affine else None
    out = NormActRows.apply(x, mean, invstd, weight, bias, slope, relu, batch_stats)
    return out.view(h.shape)


def encode_first_blocks(
    blocks: nn.ModuleList,
    x: Tensor,
    t_out: int,
    skip_factor: Callable[[int, int], int] | None,
) -> tuple[Tensor, list[Tensor]]:
    """Blocks 0 and 1 of a :func:`pase.models.fast.supports` stack on ``x`` ``(B, 1, L)``: block 1's
    output ``(B, C, T1)`` (channel-major) and the pooled dense-skip inputs of blocks 0 and 1
    (each ``(B, C, t_out)``; only block 0's when the stack has two blocks), as the plain
    path. ``skip_factor(block, length)`` as in :class:`pase.models.fast.FastConvStack`."""
    b0, b1 = blocks[0], blocks[1]
    batch, _, length = x.shape
    pooled: list[Tensor] = []
    # --- block 0: symmetric SincNet GEMM, time-major
    half = b0.conv.kernel_size // 2
    w = b0.conv.filters()[:, 0].to(x.dtype)  # (C, k), symmetric
    sym = torch.cat([w[:, half : half + 1] / 2, w[:, :half].flip(-1)], 1).t()
    xp = torch.nn.functional.pad(x, (half, half), mode=b0.pad_mode).view(batch, -1)
    h0 = _norm_act(b0, SymmetricSinc.apply(xp, sym, length))  # (B, L, C0)
    # --- block 1: padded time-major buffer (only the rows its hops use), one GEMM over hops
    s, k = b1.stride, b1.kwidth
    left, right = b1.padding
    t1 = (left + length + right - k) // s + 1
    total = (t1 + 1) * s  # the last hop's second half is the last window's end
    f0 = 0 if skip_factor is None else skip_factor(0, length)
    hp, p0 = PadTimeMajor.apply(h0, left, total, b1.pad_mode, f0, t_out)
    if f0:
        pooled.append(p0)
    c0 = hp.shape[-1]
    hops = hp.view(batch, t1 + 1, s * c0)
    weight = b1.conv.weight.to(x.dtype).permute(2, 1, 0)  # (k, C_in, C_out)
    c1 = weight.shape[-1]
    w_ab = torch.cat([weight[:s].reshape(s * c0, c1), weight[s:].reshape(s * c0, c1)], 1)
    bias = None if b1.conv.bias is None else b1.conv.bias.to(x.dtype)
    h1 = _norm_act(b1, HopConv.apply(hops, w_ab, bias)).transpose(1, 2).contiguous()  # (B, C1, T1)
    if skip_factor is not None and len(blocks) > 2:
        pooled.append(pool_frames(h1, skip_factor(1, h1.shape[-1]), t_out))
    return h1, pooled
