"""The QRNN scan equals its step-by-step definition, forward and backward."""

from __future__ import annotations

import pytest
import torch

from pase.models.qrnn import QRNN, forget_mult, forget_mult_reference, linear_scan


@pytest.mark.parametrize("t_len", [1, 2, 15, 16, 17, 63, 300, 1000])
def test_linear_scan_matches_loop(t_len: int) -> None:
    a = torch.rand(t_len, 7, dtype=torch.float64)
    b = torch.randn(t_len, 7, dtype=torch.float64)
    c = torch.zeros(7, dtype=torch.float64)
    ref = []
    for t in range(t_len):
        c = a[t] * c + b[t]
        ref.append(c)
    torch.testing.assert_close(linear_scan(a, b), torch.stack(ref), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("block", [2, 3, 16, 64])
def test_linear_scan_block_size_does_not_change_result(block: int) -> None:
    a = torch.rand(257, 5, dtype=torch.float64)
    b = torch.randn(257, 5, dtype=torch.float64)
    torch.testing.assert_close(linear_scan(a, b, block), linear_scan(a, b, 1000))


def test_saturated_gates_are_exact() -> None:
    # f = 1 resets the memory to z; f = 0 keeps it: no NaN from log/division tricks
    f = torch.tensor([[1.0], [0.0], [0.0], [1.0], [0.0]]).view(5, 1, 1).repeat(1, 2, 3)
    z = torch.arange(5.0).view(5, 1, 1).repeat(1, 2, 3)
    torch.testing.assert_close(forget_mult(f, z), forget_mult_reference(f, z))


@pytest.mark.parametrize("t_len", [5, 40, 333])
def test_forget_mult_forward_and_gradients_match_reference(t_len: int) -> None:
    torch.manual_seed(1)
    f = torch.rand(t_len, 3, 4, dtype=torch.float64, requires_grad=True)
    z = torch.randn(t_len, 3, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(t_len, 3, 4, dtype=torch.float64)
    out = forget_mult(f, z, c0)
    ref = forget_mult_reference(f, z, c0)
    torch.testing.assert_close(out, ref)
    g = torch.autograd.grad((out * w).sum(), (f, z, c0))
    g_ref = torch.autograd.grad((ref * w).sum(), (f, z, c0))
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)


def test_gradcheck() -> None:
    f = torch.rand(37, 2, 3, dtype=torch.float64, requires_grad=True)
    z = torch.randn(37, 2, 3, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(forget_mult, (f, z, c0))


def test_qrnn_layer_matches_definition() -> None:
    torch.manual_seed(2)
    rnn = QRNN(6, 5).double()
    x = torch.randn(20, 3, 6, dtype=torch.float64)
    y, _ = rnn(x)
    lin = rnn.layers[0].linear
    xm1 = torch.cat([torch.zeros_like(x[:1]), x[:-1]])
    zz, ff, oo = lin(torch.cat([x, xm1], 2)).chunk(3, 2)
    c = torch.zeros(3, 5, dtype=torch.float64)
    ref = []
    for t in range(20):
        f = torch.sigmoid(ff[t])
        c = f * torch.tanh(zz[t]) + (1 - f) * c
        ref.append(torch.sigmoid(oo[t]) * c)
    torch.testing.assert_close(y, torch.stack(ref))


def test_qrnn_state_carries_across_chunks() -> None:
    rnn = QRNN(4, 8, num_layers=2)
    x = torch.randn(50, 2, 4)
    full, _ = rnn(x)
    a, state = rnn(x[:17])
    b, state = rnn(x[17:31], state)
    c, _ = rnn(x[31:], state)
    torch.testing.assert_close(torch.cat([a, b, c]), full)
