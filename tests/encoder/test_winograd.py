"""Winograd convolutions on time-major hops equal ``F.conv1d``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pase.models import winograd
from pase.models.frontend import wf_builder
from pase.models.winograd import (
    HopConv,
    conv1d_winograd,
    conv_transpose1d_winograd,
    hop_weight,
    wants_winograd,
    wants_winograd_transposed,
    winograd_matrices,
)


@pytest.mark.parametrize(("m", "r"), [(1, 3), (2, 3), (3, 2), (3, 6), (4, 6), (2, 9)])
def test_matrices_give_the_correlation(m: int, r: int) -> None:
    at, g, bt = winograd_matrices(m, r)
    n = m + r - 1
    assert at.shape == (m, n) and g.shape == (n, r) and bt.shape == (n, n)
    torch.manual_seed(0)
    d, w = torch.randn(n, dtype=torch.float64), torch.randn(r, dtype=torch.float64)
    expected = torch.stack([(w * d[t : t + r]).sum() for t in range(m)])
    torch.testing.assert_close(at @ ((g @ w) * (bt @ d)), expected, rtol=1e-12, atol=1e-12)


def test_too_many_points_is_refused() -> None:
    with pytest.raises(ValueError, match="interpolation points"):
        winograd_matrices(8, 6)


@pytest.mark.parametrize(("stride", "k", "group"), [(2, 11, 1), (1, 11, 2), (10, 20, 1), (3, 7, 2)])
def test_hop_weight_is_the_layer_in_hop_form(stride: int, k: int, group: int) -> None:
    torch.manual_seed(1)
    w = torch.randn(5, 3, k, dtype=torch.float64)
    x = torch.randn(2, 3, 20 * stride * group + k, dtype=torch.float64)
    hop = stride * group
    wt = hop_weight(w, stride, group)  # (r, P C_in, g C_out)
    r = wt.shape[0]
    t_out = (x.shape[-1] - k) // stride + 1
    hops = -(-t_out // group)
    xp = F.pad(x, (0, (hops + r - 1) * hop - x.shape[-1])).transpose(1, 2)
    h = xp.reshape(2, hops + r - 1, hop * 3)
    y = sum(h[:, i : i + hops] @ wt[i] for i in range(r))  # (B, hops, g C_out)
    y = y.reshape(2, hops * group, 5)[:, :t_out]
    torch.testing.assert_close(y, F.conv1d(x, w, stride=stride).transpose(1, 2))


def _run(conv: HopConv, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``x`` ``(B, C_in, L)`` -> ``(B, C_out, T)`` through ``conv`` on a time-major buffer."""
    length = x.shape[-1]
    buf = x.new_zeros(x.shape[0], max(length, conv.input_length(length)), x.shape[1])
    buf[:, :length] = x.transpose(1, 2)
    y = conv(buf, length, conv.weight(w))
    return y[:, : conv.output_length(length)].transpose(1, 2)


@pytest.mark.parametrize(
    ("stride", "k", "tile"),
    [(2, 11, 3), (2, 11, 1), (1, 11, 3), (2, 11, 2), (10, 20, 3), (3, 5, 2)],
)
@pytest.mark.parametrize("length", [301, 302, 57])
def test_hop_conv_equals_conv1d_float64(stride: int, k: int, tile: int, length: int) -> None:
    torch.manual_seed(2)
    x = torch.randn(3, 4, length, dtype=torch.float64)
    w = torch.randn(6, 4, k, dtype=torch.float64)
    conv = HopConv(stride, k, 2 if stride == 1 else 1, tile)
    expected = F.conv1d(x, w, stride=stride)
    torch.testing.assert_close(_run(conv, x, w), expected, rtol=1e-11, atol=1e-11)


def test_float32_accuracy_of_the_pase_tile() -> None:
    """F(3, 6) in float32 within 1e-5 of the largest output (oneDNN's direct conv: ~4e-7)."""
    torch.manual_seed(3)
    x = torch.randn(1, 256, 2009)
    w = torch.randn(512, 256, 11) / (256 * 11) ** 0.5
    conv = HopConv.for_layer(2, 11)
    assert (conv.tile, conv.taps, conv.group) == (3, 6, 1)
    ref = F.conv1d(x.double(), w.double(), stride=2)
    err = (_run(conv, x, w).double() - ref).abs().max() / ref.abs().max()
    assert err < 1e-5


def test_pieces_and_output_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """Products in several cache-sized passes and writing into a strided view change nothing."""
    torch.manual_seed(4)
    x = torch.randn(2, 8, 400, dtype=torch.float64)
    w = torch.randn(16, 8, 11, dtype=torch.float64)
    conv = HopConv.for_layer(2, 11)
    whole = _run(conv, x, w)
    monkeypatch.setattr(winograd, "CHUNK", 8 * 16 * 5)  # 5 tiles per pass
    torch.testing.assert_close(_run(conv, x, w), whole, rtol=1e-12, atol=1e-12)
    length = x.shape[-1]
    buf = x.new_zeros(2, conv.input_length(length), 8)
    buf[:, :length] = x.transpose(1, 2)
    rows = conv.output_rows(length)
    dest = x.new_zeros(2, rows + 7, 16)[:, 3 : 3 + rows]  # batch stride of rows + 7 rows
    y = conv(buf, length, conv.weight(w), out=dest)
    assert y.data_ptr() == dest.data_ptr()
    torch.testing.assert_close(y[:, : whole.shape[-1]].transpose(1, 2), whole)


def test_short_buffer_is_refused() -> None:
    conv = HopConv.for_layer(2, 11)
    with pytest.raises(ValueError, match="rows"):
        conv(torch.zeros(1, 100, 4), 120, conv.weight(torch.zeros(4, 4, 11)))


def test_pase_plus_fast_path_uses_winograd_and_stays_exact() -> None:
    """In float64 the eval fast path (with its Winograd layers) is the plain path exactly."""
    torch.manual_seed(5)
    model = wf_builder("PASE+").eval().double()
    x = torch.randn(2, 1, 16037, dtype=torch.float64)
    with torch.no_grad():
        fast = model(x, return_hidden=True)
        model.fast_inference = False
        plain = model(x, return_hidden=True)
    used = [i for i, (_, d) in model._fast._cache.items() if "hop_conv" in d]
    assert used == [6, 7]  # 256 -> 512 and 512 -> 512, stride 2
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-12, atol=1e-12)
    for a, b in zip(fast[1], plain[1]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("stride", "k", "length"), [(2, 11, 409), (2, 11, 410), (3, 7, 100), (1, 11, 90)]
)
def test_conv1d_winograd_values_and_gradients(stride: int, k: int, length: int) -> None:
    """The training form equals ``F.conv1d`` in float64, outputs and every gradient."""
    torch.manual_seed(6)
    x = torch.randn(3, 4, length, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 4, k, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    y = conv1d_winograd(x, w, b, stride)
    grad = torch.randn_like(y)
    got = torch.autograd.grad(y, (x, w, b), grad)
    ref = F.conv1d(x, w, b, stride=stride)
    torch.testing.assert_close(y, ref, rtol=1e-11, atol=1e-11)
    for a, e in zip(got, torch.autograd.grad(ref, (x, w, b), grad)):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10)


def test_training_batches_of_the_widest_layer_take_winograd() -> None:
    w = torch.zeros(512, 512, 11)
    assert wants_winograd(torch.zeros(48, 512, 409), w, 2, 1)  # PASE+ block 7, 48 x 2 s
    assert not wants_winograd(torch.zeros(1, 512, 409), w, 2, 1)  # too few positions
    assert wants_winograd(torch.zeros(48, 256, 809), torch.zeros(512, 256, 11), 2, 1)
    assert not wants_winograd(torch.zeros(48, 128, 1609), torch.zeros(256, 128, 11), 2, 1)
    assert not wants_winograd(torch.zeros(48, 512, 409), w, 1, 1)
    assert not wants_winograd(torch.zeros(48, 512, 409).bfloat16(), w, 2, 1)


@pytest.mark.parametrize(
    ("k", "stride", "padding"), [(30, 10, 10), (12, 4, 4), (9, 3, 2), (30, 4, 13)]
)
def test_conv_transpose1d_winograd_values_and_gradients(k: int, stride: int, padding: int) -> None:
    """The polyphase Winograd form equals ``F.conv_transpose1d`` (first ``stride T``
    samples) in float64, outputs and every gradient."""
    torch.manual_seed(7)
    x = torch.randn(2, 6, 37, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 5, k, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    y = conv_transpose1d_winograd(x, w, b, stride, padding)
    ref = F.conv_transpose1d(x, w, b, stride=stride, padding=padding)[..., : stride * 37]
    torch.testing.assert_close(y, ref, rtol=1e-11, atol=1e-11)
    grad = torch.randn_like(y)
    got = torch.autograd.grad(y, (x, w, b), grad)
    for a, e in zip(got, torch.autograd.grad(ref, (x, w, b), grad)):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10)


def test_tiles_have_at_most_eight_points() -> None:
    assert (HopConv.for_layer(2, 11).tile, HopConv.for_layer(2, 11).points) == (3, 8)
    assert (HopConv.for_layer(1, 3).group, HopConv.for_layer(1, 3).tile) == (1, 6)
    assert HopConv.for_layer(1, 11).group == 2  # 11 taps: hops of two samples, 6 hop taps
    assert HopConv.for_layer(1, 1).tile == 1  # a 1 x 1 convolution has nothing to save


def test_the_decoders_last_deconvolution_takes_winograd() -> None:
    w = torch.zeros(256, 128, 30)  # PASE+ waveform decoder: 256 -> 128, k 30, stride 10
    assert wants_winograd_transposed(torch.zeros(16, 256, 3200), w, 10)
    assert not wants_winograd_transposed(torch.zeros(1, 256, 100), w, 10)  # small batch
    assert wants_winograd_transposed(torch.zeros(16, 512, 800), torch.zeros(512, 256, 30), 4)
    assert not wants_winograd_transposed(torch.zeros(16, 512, 800), torch.zeros(512, 256, 40), 4)
