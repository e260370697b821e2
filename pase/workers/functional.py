"""Pure functions of the workers: the fused linear + contextualised MSE loss.

A PASE+ LPS worker predicts 3075 channels x 7 frames = 21525 outputs per frame from 256
hidden units, and its MSE loss compares them with the contextualised target
(:func:`pase.targets.functional.contextualize`). Done plainly, a 16 x 2 s batch writes and
reads the 21525 x 3200 prediction, the contextualised target and the gradient (275 MB each,
several times) around three 17.6 GMAC products. Expanding the square,

    sum ||W h + b - Yc||^2 = tr(W G W^T) + 2 b.(W s) + N |b|^2 - 2 sum_ck W_ck.A_ck
                             - 2 b.ysum + sum Yc^2,

with ``G = sum h h^T``, ``s = sum h`` (small) and ``A = Yc H^T``, needs one product for the
loss (``A``, computed from the un-contextualised target against shifted hidden frames) and one
for the hidden gradient (``W^T Yc``); nothing of the prediction's size is ever formed. The
scalar sums are accumulated in float64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pase.models import gemm

__all__ = ["ContextualMSE", "contextual_mse"]

if hasattr(torch.amp, "custom_fwd"):  # torch >= 2.4
    _fp32_forward = torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)
    _fp32_backward = torch.amp.custom_bwd(device_type="cuda")
else:  # pragma: no cover - older torch
    _fp32_forward = torch.cuda.amp.custom_fwd(cast_inputs=torch.float32)
    _fp32_backward = torch.cuda.amp.custom_bwd


def _shifted_frames(ht: Tensor, r: int, left: int) -> Tensor:
    """``(B, T, D)`` -> ``(B T, r D)``: row ``(b, u)``, block ``k`` = ``h[b, u + left - k]``
    (zero outside ``[0, T)``)."""
    b, t, d = ht.shape
    htp = F.pad(ht, (0, 0, r - 1 - left, left))  # htp[j] = h[j - (r - 1 - left)]
    win = htp.unfold(1, r, 1).flip(-1)  # (B, T, D, r): [.., k] = h[u + left - k]
    return win.permute(0, 1, 3, 2).reshape(b * t, r * d)


def _window_sums(y: Tensor, r: int, left: int) -> Tensor:
    """``(B, C, T)`` -> ``(C, r)`` float64: sum over the batch and the frames ``u`` with
    ``0 <= u + left - k < T`` (the contextualised target's non-padded entries of row
    ``c r + k``)."""
    t = y.shape[-1]
    cs = F.pad(y.sum(0, dtype=torch.float64).cumsum(-1), (1, 0))  # (C, T + 1)
    lo = torch.tensor([max(0, k - left) for k in range(r)], device=y.device)
    hi = torch.tensor([min(t, t + k - left) for k in range(r)], device=y.device)
    return cs[:, hi] - cs[:, lo]


class ContextualMSE(torch.autograd.Function):
    """``mean((W h + b - contextualize(y, r))**2)`` without forming either side.

    Inputs: ``ht`` ``(B, T, D)`` hidden frames (time-major), ``weight`` ``(C r, D)``, ``bias``
    ``(C r,)`` or None, ``y`` ``(B, C, T)`` target (no gradient), ``r``. Output: the scalar
    loss (mean over ``B x C r x T``). Gradients for ``ht``, ``weight`` and ``bias``.
    """

    @staticmethod
    @_fp32_forward  # under CUDA autocast: float32 (its sums cancel)
    def forward(ctx, ht: Tensor, weight: Tensor, bias: Tensor | None, y: Tensor, r: int) -> Tensor:  # type: ignore[override]
        b, t, d = ht.shape
        c = y.shape[1]
        left = r // 2
        if weight.shape != (c * r, d) or y.shape != (b, c, t):
            raise ValueError(
                f"contextual_mse: weight {tuple(weight.shape)}, hidden {tuple(ht.shape)} and "
                f"target {tuple(y.shape)} do not fit r={r}"
            )
        y = y.to(ht.dtype)
        n = b * t
        rows = ht.reshape(n, d)
        gram = gemm.mm(rows.t(), rows)  # (D, D)
        s = rows.sum(0)  # (D,)
        y2 = y.permute(1, 0, 2).reshape(c, n)  # (C, B T)
        a2 = gemm.mm(y2, _shifted_frames(ht, r, left))  # (C, r D): A of row c r + k in block k
        w_rd = weight.reshape(c, r * d)
        ws = weight @ s  # (C r,)
        f64 = torch.float64
        s_pp = (gemm.mm(weight, gram) * weight).sum(dtype=f64)
        s_py = (w_rd * a2).sum(dtype=f64)
        ysum = _window_sums(y, r, left).reshape(-1)  # (C r,) float64
        s_yy = _window_sums(y * y, r, left).sum()
        if bias is not None:
            s_pp = s_pp + 2 * (bias.to(f64) @ ws.to(f64)) + n * (bias.to(f64) ** 2).sum()
            s_py = s_py + bias.to(f64) @ ysum
        total = b * c * r * t
        loss = (s_pp - 2 * s_py + s_yy) / total
        ctx.save_for_backward(ht, weight, bias, y, gram, s, a2)
        ctx.r, ctx.left, ctx.total = r, left, total
        ctx.ysum = ysum
        return loss.to(ht.dtype)

    @staticmethod
    @_fp32_backward
    def backward(ctx, g_loss: Tensor):  # type: ignore[override]
        ht, weight, bias, y, gram, s, a2 = ctx.saved_tensors
        r, left = ctx.r, ctx.left
        b, t, d = ht.shape
        c = y.shape[1]
        k = 2 * g_loss / ctx.total
        grad_h = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            # W^T (W h + b) - W^T Yc, the last from Z = Y2^T W_rd shifted back per block k
            wtw = gemm.mm(weight.t(), weight)  # (D, D)
            lin = gemm.mm(ht.reshape(b * t, d), wtw).view(b, t, d)
            if bias is not None:
                lin = lin + weight.t() @ bias
            yt = y.permute(0, 2, 1).reshape(b * t, c)
            z = gemm.mm(yt, weight.reshape(c, r * d))  # (B T, r D)
            zp = F.pad(z.view(b, t, r, d), (0, 0, 0, 0, left, r - 1 - left))  # zp[j] = z[j - left]
            for kk in range(r):
                lin = lin - zp[:, kk : kk + t, kk]  # Z[t - left + k], block k
            grad_h = k * lin
        if ctx.needs_input_grad[1]:
            gw = gemm.mm(weight, gram) - a2.view(c, r, d).reshape(c * r, d)
            if bias is not None:
                gw = gw + torch.outer(bias, s)
            grad_w = k * gw
        if bias is not None and ctx.needs_input_grad[2]:
            gb = b * t * bias.to(torch.float64) + (weight @ s).to(torch.float64) - ctx.ysum
            grad_b = k * gb.to(bias.dtype)
        return grad_h, grad_w, grad_b, None, None


def contextual_mse(h: Tensor, weight: Tensor, bias: Tensor | None, y: Tensor, r: int) -> Tensor:
    """``F.mse_loss(conv1x1(h, weight, bias), contextualize(y, r))`` computed fused
    (:class:`ContextualMSE`).

    Args:
        h: hidden frames ``(B, D, T)``.
        weight: ``(C r, D)`` or a 1x1 conv weight ``(C r, D, 1)``; output row ``c r + k``
            predicts feature ``c`` at frame ``t - r // 2 + k``.
        bias: ``(C r,)`` or None.
        y: target ``(B, C, T)``.
        r: frames predicted per frame.
    """
    if weight.dim() == 3:
        weight = weight[:, :, 0]
    return ContextualMSE.apply(h.transpose(1, 2).contiguous(), weight, bias, y.detach(), r)
