"""The eval-mode fast conv stack equals the plain layer-by-layer path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pase.models.fast import fft_conv1d, weight_spectrum
from pase.models.frontend import load_config, wf_builder


def _randomised(name: str) -> torch.nn.Module:
    torch.manual_seed(11)
    m = wf_builder(name)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_var.uniform_(0.5, 2.0)
            mod.running_mean.uniform_(-0.1, 0.1)
        if isinstance(mod, torch.nn.PReLU):
            mod.weight.data.uniform_(-0.2, 0.4)
    return m.eval()


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
@pytest.mark.parametrize(
    ("batch", "length"), [(1, 471), (1, 639), (2, 16000), (3, 24001), (1, 160 * 77 + 155)]
)
def test_fast_equals_plain(name: str, batch: int, length: int) -> None:
    model = _randomised(name)
    assert model._fast is not None
    x = torch.randn(batch, 1, length)
    with torch.no_grad():
        fast = model(x, return_hidden=True)
        model.fast_inference = False
        plain = model(x, return_hidden=True)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-4, atol=1e-4)
    for a, b in zip(fast[1], plain[1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_fast_path_follows_weight_changes() -> None:
    model = _randomised("PASE+")
    x = torch.randn(1, 1, 8000)
    with torch.no_grad():
        before = model(x)
        model.blocks[3].conv.weight.mul_(1.5)  # in place: the cached spectra must be rebuilt
        model.blocks[0].norm.running_mean.add_(0.3)
        after = model(x)
        model.fast_inference = False
        plain = model(x)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, plain, rtol=1e-4, atol=1e-4)


def test_gradients_use_the_plain_path() -> None:
    model = _randomised("PASE")
    x = torch.randn(1, 1, 4000)
    y = model(x)  # eval mode but gradients enabled: must stay differentiable
    y.sum().backward()
    assert model.blocks[2].conv.weight.grad is not None


def test_unsupported_geometry_falls_back() -> None:
    cfg = {**load_config("PASE"), "sincnet": False}
    assert wf_builder(cfg)._fast is None


@pytest.mark.parametrize(("k", "nfft"), [(11, 64), (11, 16), (5, 32), (1, 16)])
def test_fft_conv_equals_conv1d(k: int, nfft: int) -> None:
    x = torch.randn(2, 5, 301)
    w = torch.randn(7, 5, k)
    b = torch.randn(7)
    got = fft_conv1d(x, weight_spectrum(w, nfft), k, b)
    torch.testing.assert_close(got, F.conv1d(x, w, b), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_models_take_the_plain_path(dtype: torch.dtype) -> None:
    """No FFT in bfloat16 on CPU: a half-precision model encodes through the plain path."""
    model = _randomised("PASE+")
    x = torch.randn(1, 1, 4000)
    with torch.no_grad():
        ref = model(x)
        half = model.to(dtype)(x.to(dtype))
    assert half.dtype == dtype
    assert (half.float() - ref).norm() / ref.norm() < 0.05  # bfloat16: 8-bit mantissa
