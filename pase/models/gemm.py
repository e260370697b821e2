"""Float32 matrix products on CPU through oneDNN where torch's BLAS is slower, with autograd.

On x86 CPUs torch computes float32 ``mm``/``addmm``/``bmm`` with MKL, and MKL takes a slower
code path on AMD processors: on this project's machine (AMD EPYC with AVX-512, 2 threads)
its SGEMM reached ~210 GFLOP/s while oneDNN's matmul (the library torch already uses for
convolutions, reached here through ``torch.ops.mkldnn._linear_pointwise``) reached 400-480
on the same products (``python bench/gemm.py``). The functions below send a float32 CPU
product of at least :data:`MIN_MACS` multiply-adds to oneDNN and everything else (other
dtypes and devices, small products, a torch without that operator, ``PASE_GEMM=torch``,
CPUs other than x86-64 unless ``PASE_GEMM=onednn``) to torch; so does any product under
CPU autocast. Results equal torch's to float32 rounding
(the summation order differs).

- :func:`mm`: ``(M, K) @ (K, N) [+ bias]``;
- :func:`linear`: ``(..., K)`` times a ``(N, K)`` weight ``[+ bias]``, like ``F.linear``;
- :func:`bmm`: ``(n, M, K) @ (n, K, N)``;
- :func:`complex_bmm` with :func:`complex_weight`: a complex batched product as one real
  product of the interleaved real and imaginary parts (the multiply-adds of a complex GEMM).

All are differentiable; their backward products go the same way.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "MIN_MACS",
    "bmm",
    "complex_bmm",
    "complex_weight",
    "linear",
    "mm",
    "onednn_available",
]

#: smallest M x K x N sent to oneDNN; below it a call's fixed cost (~6 us) outweighs the gain
#: (64 x 64 x 64 took 19 us by oneDNN and 13 us by torch; 256 x 128 x 64 was even)
MIN_MACS = 1 << 21

_available: bool | None = None


def onednn_available() -> bool:
    """Whether oneDNN float32 products are used: torch has ``mkldnn._linear_pointwise``, it
    agrees with ``torch.mm`` on a probe, and ``PASE_GEMM`` is ``auto`` (the default: on
    x86-64, where it was measured) or ``onednn`` (any machine), not ``torch``."""
    global _available
    if _available is None:
        choice = os.environ.get("PASE_GEMM", "auto").lower()
        if choice not in ("auto", "onednn", "torch"):
            raise ValueError(f"PASE_GEMM={choice!r}: expected auto, onednn or torch")
        x86 = platform.machine().lower() in ("x86_64", "amd64")
        wanted = choice == "onednn" or (choice == "auto" and x86)
        _available = wanted and _onednn_works()
    return _available


def _onednn_works() -> bool:
    """Whether this torch has the oneDNN operator and it agrees with ``torch.mm``."""
    try:  # fixed numbers: the probe must not draw from torch's global generator
        a = torch.linspace(-1.0, 1.0, 15).view(3, 5)
        w = torch.linspace(0.5, -2.0, 20).view(4, 5)
        return bool(torch.allclose(_onednn(a, w), a @ w.t(), atol=1e-5))
    except (AttributeError, RuntimeError):
        return False


def _onednn(a: Tensor, w: Tensor, bias: Tensor | None = None) -> Tensor:
    """oneDNN's ``a @ w.t() + bias``: ``a`` ``(M, K)`` (rows contiguous), ``w`` ``(N, K)``."""
    return torch.ops.mkldnn._linear_pointwise(a, w, bias, "none", [], "")


def _wants_onednn(m: int, k: int, n: int, *tensors: Tensor | None) -> bool:
    """An ``(M, K) @ (K, N)`` product of ``tensors`` (None entries ignored) goes to oneDNN."""
    return (
        m * k * n >= MIN_MACS
        and all(
            t.dtype == torch.float32 and t.device.type == "cpu" for t in tensors if t is not None
        )
        and not _cpu_autocast()  # torch's products follow autocast's dtype
        and onednn_available()
    )


def _cpu_autocast() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def _product(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """``a @ b + bias`` without autograd: ``a`` ``(M, K)``, ``b`` ``(K, N)`` (any strides;
    a transposed ``a`` is a weight gradient's sum over rows, :func:`_product_tn`)."""
    m, k = a.shape
    n = b.shape[1]
    if _wants_onednn(m, k, n, a, b, bias):
        if a.stride(-1) != 1:
            if a.stride(0) == 1 and bias is None:  # a transposed: a sum over b's long rows
                return _product_tn(a.t(), b)
            a = a.contiguous()
        return _onednn(a, b.t(), bias)
    return torch.mm(a, b) if bias is None else torch.addmm(bias, a, b)


def _product_tn(a: Tensor, g: Tensor) -> Tensor:
    """``a.t() @ g`` by oneDNN for ``a`` ``(M, K)``, ``g`` ``(M, N)`` (a weight gradient: the
    long M is summed over), with the smaller of K and N as oneDNN's rows (48000 x 640 x 128:
    334 GFLOP/s that way, 86 the other way; MKL 200)."""
    if a.shape[1] <= g.shape[1]:
        return _onednn(a.t().contiguous(), g.t())
    return _onednn(g.t().contiguous(), a.t()).t()


class _MatMul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, bias: Tensor | None) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(a, b)
        ctx.has_bias = bias is not None
        return _product(a, b, bias)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        grad_a = _product(grad, b.t()) if ctx.needs_input_grad[0] else None
        grad_b = _product(a.t(), grad) if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_a, grad_b, grad_bias


def mm(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """``a @ b (+ bias)``: ``a`` ``(M, K)``, ``b`` ``(K, N)``, ``bias`` ``(N,)`` -> ``(M, N)``
    (a new tensor), by oneDNN where it pays (see the module). Differentiable."""
    grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (a, b, bias))
    if grad and _wants_onednn(a.shape[0], a.shape[1], b.shape[1], a, b, bias):
        return _MatMul.apply(a, b, bias)
    return _product(a, b, bias)  # torch's own autograd where it stays with torch


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear``: ``x`` ``(..., K)``, ``weight`` ``(N, K)``, ``bias`` ``(N,)`` ->
    ``(..., N)``, by :func:`mm`."""
    rows = x.reshape(-1, x.shape[-1])
    return mm(rows, weight.t(), bias).view(*x.shape[:-1], weight.shape[0])


def complex_weight(b: Tensor) -> Tensor:
    """Complex ``(..., K, N)`` -> real ``(..., 2 K, 2 N)`` such that the interleaved real form
    of ``x @ b`` is the interleaved real form of ``x`` times it (``torch.view_as_real``
    flattened: ``[re, im]`` per element). Differentiable."""
    re, im = b.real, b.imag
    top = torch.stack([re, im], -1).flatten(-2)  # rows of Re x: (.., K, 2 N)
    bottom = torch.stack([-im, re], -1).flatten(-2)  # rows of Im x
    return torch.stack([top, bottom], -2).flatten(-3, -2)


class _BatchMatMul(torch.autograd.Function):
    """One :func:`_product` per matrix, written into one output (and one buffer per
    gradient: autograd through per-matrix slices would zero-fill and add a full-size
    gradient for every slice)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(a, b)
        return _batched(a, a.shape[1], b.shape[2], lambda j: _product(a[j], b[j]))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = _batched(a, a.shape[1], a.shape[2], lambda j: _product(grad[j], b[j].t()))
        if ctx.needs_input_grad[1]:
            grad_b = _batched(b, b.shape[1], b.shape[2], lambda j: _product(a[j].t(), grad[j]))
        return grad_a, grad_b


def _batched(like: Tensor, rows: int, width: int, product: Callable[[int], Tensor]) -> Tensor:
    """``(n, rows, width)`` (``n``, dtype and device of ``like``) from ``product(j)``."""
    out = like.new_empty(like.shape[0], rows, width)
    for j in range(like.shape[0]):
        out[j] = product(j)
    return out


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """``torch.bmm`` of real tensors: ``(n, M, K) @ (n, K, N)`` -> ``(n, M, N)``, one
    oneDNN product per matrix where it pays. Differentiable."""
    _, m, k = a.shape
    if not _wants_onednn(m, k, b.shape[-1], a, b):
        return torch.bmm(a, b)
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        return _BatchMatMul.apply(a, b)
    return _batched(a, m, b.shape[2], lambda j: _product(a[j], b[j]))


def complex_bmm(a: Tensor, w: Tensor) -> Tensor:
    """``torch.bmm(a, b)`` for complex ``a`` ``(n, M, K)`` and ``w = complex_weight(b)``
    ``(n, 2 K, 2 N)`` real -> complex ``(n, M, N)``: one real :func:`bmm` of the interleaved
    real and imaginary parts (the multiply-adds of a complex GEMM). Differentiable."""
    real = torch.view_as_real(a.contiguous()).flatten(-2)  # (n, M, 2 K)
    return torch.view_as_complex(bmm(real, w).unflatten(-1, (-1, 2)))
