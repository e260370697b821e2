"""Quasi-recurrent neural network (Bradbury et al., 2017) as used by PASE+.

Layer math (window 2, fo-pooling), for inputs ``x_t`` of size ``C`` and ``H`` hidden units::

    [z, f, o] = Linear([x_t ; x_{t-1}])           x_{-1} = 0 (or carried state)
    c_t = sigmoid(f_t) * tanh(z_t) + (1 - sigmoid(f_t)) * c_{t-1}      c_{-1} = 0
    h_t = sigmoid(o_t) * c_t

Parameter names (``layers.0.linear.weight``/``bias``) match Salesforce's pytorch-qrnn, which
the original PASE+ used, so its checkpoints load unchanged. The recurrence ("forget-mult") is
a first-order linear scan computed here without a Python loop over time steps: a blocked scan
whose Python loop runs over ``block`` positions per level and ``log_block(T)`` levels, with a
custom backward that is the same scan run in reverse. An optional fused CUDA kernel (cupy) is
used on GPU when cupy is importable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pase.models import gemm

__all__ = ["QRNN", "QRNNLayer", "forget_mult", "forget_mult_reference", "linear_scan"]

_BLOCK = 16


def linear_scan(a: torch.Tensor, b: torch.Tensor, block: int = _BLOCK) -> torch.Tensor:
    """Solve ``c_t = a_t * c_{t-1} + b_t`` (``c_{-1} = 0``) along dim 0.

    Args:
        a, b: ``(T, N)`` tensors of the same dtype/device.
        block: positions handled sequentially per level (trade-off between Python steps and
            memory passes; the result does not depend on it beyond float rounding).

    Returns:
        ``(T, N)`` tensor ``c``.
    """
    t_len = a.shape[0]
    if t_len <= block:
        out = b.clone()
        for t in range(1, t_len):
            out[t].addcmul_(a[t], out[t - 1])
        return out
    n_blocks = -(-t_len // block)
    pad = n_blocks * block - t_len
    if pad:
        a = F.pad(a, (0, 0, 0, pad), value=1.0)
        b = F.pad(b, (0, 0, 0, pad), value=0.0)
    acc_a = a.reshape(n_blocks, block, -1).clone()
    acc_b = b.reshape(n_blocks, block, -1).clone()
    # Within each block (all blocks at once): running products of a and zero-carry scans of b.
    for k in range(1, block):
        acc_b[:, k].addcmul_(acc_a[:, k], acc_b[:, k - 1])
        acc_a[:, k].mul_(acc_a[:, k - 1])
    # Values at block ends with carries: the same recurrence over blocks (recursive).
    ends = linear_scan(acc_a[:, -1], acc_b[:, -1], block)
    acc_b[1:].addcmul_(acc_a[1:], ends[:-1].unsqueeze(1))
    return acc_b.reshape(n_blocks * block, -1)[:t_len]


class _LinearScan(torch.autograd.Function):
    """``c = linear_scan(a, b)`` with initial state ``c0``; backward is a reversed scan."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        b0 = b.clone()
        b0[0].addcmul_(a[0], c0)
        c = _scan_impl(a, b0)
        ctx.save_for_backward(a, c, c0)
        return c

    @staticmethod
    def backward(ctx, grad_c: torch.Tensor):  # type: ignore[override]
        a, c, c0 = ctx.saved_tensors
        # G_t = dL/dc_t + a_{t+1} G_{t+1}: the same scan, reversed in time.
        a_next = torch.cat([a[1:], torch.zeros_like(a[:1])], 0)
        g = _scan_impl(a_next.flip(0), grad_c.contiguous().flip(0)).flip(0)
        c_prev = torch.cat([c0.unsqueeze(0), c[:-1]], 0)
        return g * c_prev, g, a[0] * g[0]


def _scan_impl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.is_cuda:
        from pase.models import qrnn_cuda

        if qrnn_cuda.available():
            return qrnn_cuda.scan(a, b)
    return linear_scan(a, b)


def forget_mult(f: torch.Tensor, z: torch.Tensor, c0: torch.Tensor | None = None) -> torch.Tensor:
    """QRNN fo-pooling memory ``c_t = f_t * z_t + (1 - f_t) * c_{t-1}``.

    Args:
        f: forget gates in [0, 1], ``(T, B, H)``.
        z: candidates, ``(T, B, H)``.
        c0: initial memory ``(B, H)`` (zeros when None).

    Returns:
        ``(T, B, H)`` memories ``c``.
    """
    t_len, batch, hidden = f.shape
    if c0 is None:
        c0 = f.new_zeros(batch, hidden)
    a = (1 - f).reshape(t_len, -1)
    b = (f * z).reshape(t_len, -1)
    c = _LinearScan.apply(a, b, c0.reshape(-1).to(f.dtype))
    return c.view(t_len, batch, hidden)


def forget_mult_reference(
    f: torch.Tensor, z: torch.Tensor, c0: torch.Tensor | None = None
) -> torch.Tensor:
    """Step-by-step definition of :func:`forget_mult` (slow; used by the tests)."""
    c = f.new_zeros(f.shape[1:]) if c0 is None else c0
    out = []
    for t in range(f.shape[0]):
        c = f[t] * z[t] + (1 - f[t]) * c
        out.append(c)
    return torch.stack(out)


class QRNNLayer(nn.Module):
    """One QRNN layer with window 1 or 2 and an output gate.

    Input ``(T, B, input_size)``, output ``(T, B, hidden_size)``. ``state`` is
    ``(x_last, c_last)``: the previous chunk's last input ``(B, input_size)`` and last memory
    ``(B, hidden_size)``, so that a long sequence processed in consecutive chunks gives the
    same outputs as in one pass.
    """

    def __init__(
        self, input_size: int, hidden_size: int, window: int = 2, output_gate: bool = True
    ) -> None:
        super().__init__()
        if window not in (1, 2):
            raise ValueError(f"QRNN window must be 1 or 2, got {window}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.window = window
        self.output_gate = output_gate
        self.linear = nn.Linear(window * input_size, (3 if output_gate else 2) * hidden_size)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``(T, B, C)`` -> (``(T, B, H)``, new state)."""
        x_prev, c_prev = state if state is not None else (None, None)
        if self.window == 2:
            first = x_prev.unsqueeze(0) if x_prev is not None else torch.zeros_like(x[:1])
            source = torch.cat([x, torch.cat([first, x[:-1]], 0)], 2)
        else:
            source = x
        y = gemm.linear(source, self.linear.weight, self.linear.bias)
        gates = y.chunk(3 if self.output_gate else 2, dim=2)
        z = torch.tanh(gates[0])
        f = torch.sigmoid(gates[1])
        c = forget_mult(f, z, c_prev)
        h = torch.sigmoid(gates[2]) * c if self.output_gate else c
        return h, (x[-1].detach(), c[-1].detach())


class QRNN(nn.Module):
    """Stack of :class:`QRNNLayer` (causal, unidirectional), ``(T, B, C)`` -> ``(T, B, H)``.

    Args:
        input_size, hidden_size: feature sizes.
        num_layers: stacked layers.
        dropout: dropout between layers (training only).
        window: 1 or 2 (PASE+ uses 2).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        window: int = 2,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.layers = nn.ModuleList(
            QRNNLayer(input_size if i == 0 else hidden_size, hidden_size, window)
            for i in range(num_layers)
        )

    def forward(
        self, x: torch.Tensor, state: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """``(T, B, C)`` -> (``(T, B, H)``, per-layer states for the next chunk)."""
        new_state = []
        for i, layer in enumerate(self.layers):
            x, s = layer(x, None if state is None else state[i])
            new_state.append(s)
            if self.dropout > 0 and i < len(self.layers) - 1:
                x = F.dropout(x, self.dropout, self.training)
        return x, new_state
