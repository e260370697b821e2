"""FFT convolutions with autograd (pase.models.fft_conv): equal to torch's direct ones, the
strided and transposed forms included, and the dispatch rules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pase.models.fft_conv import (
    conv1d_fft,
    conv_transpose1d_fft,
    polyphase_weight,
    wants_fft,
    wants_fft_transposed,
)
from pase.workers.blocks import DeconvBlock

CASES = [(11, 1, 300), (11, 2, 301), (11, 2, 300), (5, 1, 70), (6, 3, 95), (20, 10, 400)]


@pytest.mark.parametrize(("k", "stride", "length"), CASES)
@pytest.mark.parametrize("nfft", [32, 64])
def test_conv1d_fft_equals_conv1d(k: int, stride: int, length: int, nfft: int) -> None:
    torch.manual_seed(k + stride)
    x = torch.randn(2, 3, length, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, k, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    ref = F.conv1d(x, w, b, stride=stride)
    got = conv1d_fft(x, w, b, stride, nfft)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(ref)
    for a, c in zip(
        torch.autograd.grad((got * g).sum(), (x, w, b)),
        torch.autograd.grad((ref * g).sum(), (x, w, b)),
    ):
        torch.testing.assert_close(a, c, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("k", "s"), [(30, 4), (30, 10), (31, 4), (25, 5), (7, 2), (3, 4)])
def test_conv_transpose1d_fft_equals_the_cropped_transposed_conv(k: int, s: int) -> None:
    torch.manual_seed(k * s)
    block = DeconvBlock(3, 5, k, s).double()  # the decoder's padding rule
    d = block.deconv
    x = torch.randn(2, 3, 40, dtype=torch.float64, requires_grad=True)
    ref = d(x)[..., : s * 40]
    got = conv_transpose1d_fft(x, d.weight, d.bias, s, d.padding[0], nfft=32)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(ref)
    params = (x, d.weight, d.bias)
    for a, c in zip(
        torch.autograd.grad((got * g).sum(), params), torch.autograd.grad((ref * g).sum(), params)
    ):
        torch.testing.assert_close(a, c, rtol=1e-10, atol=1e-10)


def test_polyphase_weight_holds_every_tap_once() -> None:
    w = torch.arange(2 * 3 * 30, dtype=torch.float64).view(2, 3, 30) + 1
    poly, jmin, jmax = polyphase_weight(w, 4, 13)
    assert poly.shape == (4 * 3, 2, jmax - jmin + 1)
    assert sorted(poly[poly != 0].tolist()) == sorted(w.flatten().tolist())


def test_decoder_block_takes_the_fft_path_with_the_same_numbers() -> None:
    torch.manual_seed(0)
    block = DeconvBlock(128, 128, 30, 4)
    x = torch.randn(4, 128, 2048)
    assert wants_fft_transposed(x, block.deconv.weight, 4)
    ref = block.act(block.deconv(x)[..., : 4 * 2048])
    torch.testing.assert_close(block(x), ref, rtol=1e-4, atol=1e-4)


def test_dispatch_rules() -> None:
    x = torch.randn(32, 128, 600)  # a training batch
    assert wants_fft(x, torch.randn(128, 128, 11), 1, 1)
    assert wants_fft(x, torch.randn(256, 128, 11), 2, 1)
    assert not wants_fft(x, torch.randn(64, 128, 11), 1, 1)  # too few channels
    assert not wants_fft(x, torch.randn(128, 128, 3), 1, 1)  # too few taps
    assert not wants_fft(x, torch.randn(128, 128, 11), 1, 2)  # dilated
    assert not wants_fft(x, torch.randn(128, 128, 11), 3, 1)
    assert not wants_fft(x[..., :40], torch.randn(128, 128, 11), 1, 1)  # shorter than a block
    assert not wants_fft(x[:1], torch.randn(128, 128, 11), 1, 1)  # an inference batch
    assert wants_fft_transposed(x, torch.randn(512, 256, 30), 4)
    assert not wants_fft_transposed(x, torch.randn(256, 128, 30), 10)  # 3 taps per phase
    assert not wants_fft_transposed(x[:2], torch.randn(512, 256, 30), 4)
