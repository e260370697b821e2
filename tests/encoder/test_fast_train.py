"""The training path of the first two blocks (pase.models.fast_train) equals the plain
layer-by-layer path: outputs, gradients of every parameter and BatchNorm running statistics
(float64 to 1e-9: the same mathematics; float32 to float tolerance)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from pase.models.fast_train import HopConv, NormActRows, PadTimeMajor, SymmetricSinc
from pase.models.frontend import WaveFe, load_config, wf_builder


def _pair(cfg: str | dict, dtype: torch.dtype = torch.float64) -> tuple[WaveFe, WaveFe]:
    torch.manual_seed(5)
    fast = wf_builder(cfg).to(dtype).train()
    for mod in fast.modules():  # non-trivial affine and slopes
        if isinstance(mod, nn.PReLU):
            mod.weight.data.uniform_(-0.2, 0.4)
        if isinstance(mod, nn.BatchNorm1d) and mod.affine:
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    plain = copy.deepcopy(fast)
    plain.fast_training = False
    return fast, plain


def _run(model: WaveFe, x: torch.Tensor) -> torch.Tensor:
    """The output, after back-propagating a fixed random output gradient (a sum would
    back-propagate nothing through the output BatchNorm)."""
    y = model(x)
    gen = torch.Generator().manual_seed(3)
    (y * torch.randn(y.shape, generator=gen).to(y.dtype)).sum().backward()
    return y


def _assert_same(fast: WaveFe, plain: WaveFe, y1, y2, rtol: float) -> None:
    torch.testing.assert_close(y1, y2, rtol=rtol, atol=rtol)
    top = max(q.grad.abs().max().item() for q in plain.parameters() if q.grad is not None)
    for (name, p), (_, q) in zip(fast.named_parameters(), plain.named_parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if q.grad is None:
            continue
        # a bias right before a training BatchNorm has a zero gradient up to rounding: its
        # differences are measured against the largest gradient of the model
        scale = max(q.grad.abs().max().item(), 1e-6 * top)
        err = (p.grad - q.grad).abs().max().item() / scale
        assert err < rtol, f"{name}: relative gradient difference {err:.2e}"
    for (name, a), (_, b) in zip(fast.named_buffers(), plain.named_buffers()):
        torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=rtol, msg=name)


@pytest.mark.parametrize(
    ("name", "batch", "length"),
    [("PASE+", 2, 16000), ("PASE+", 3, 4000 + 37), ("PASE", 3, 160 * 25 - 5), ("PASE", 1, 6400)],
)
def test_training_path_equals_plain_float64(name: str, batch: int, length: int) -> None:
    fast, plain = _pair(name)
    assert fast._fast is not None
    x = torch.randn(batch, 1, length, dtype=torch.float64)
    y1, y2 = _run(fast, x), _run(plain, x)
    _assert_same(fast, plain, y1, y2, 1e-9)
    assert fast.blocks[0].norm.num_batches_tracked.item() == 1


@pytest.mark.parametrize("pad_mode", ["reflect", "replicate", "constant"])
@pytest.mark.parametrize("act", ["prelu", "relu", None])
def test_training_path_geometries_float64(pad_mode: str, act: str | None) -> None:
    cfg = {
        **load_config("PASE+"),
        "pad_mode": pad_mode,
        "activation": act or "prelu",
        "denseskips": act != "relu",  # with and without dense skips
    }
    fast, plain = _pair(cfg)
    if act is None:
        for m in (fast, plain):
            m.blocks[0].act = m.blocks[1].act = None
    x = torch.randn(1, 1, 3200 + 91, dtype=torch.float64)
    _assert_same(fast, plain, _run(fast, x), _run(plain, x), 1e-9)


def test_eval_mode_batchnorm_with_gradients_float64() -> None:
    """Fine-tuning with frozen BatchNorm (eval statistics, gradients on): same path."""
    fast, plain = _pair("PASE+")
    for mod in fast.modules():
        if isinstance(mod, nn.BatchNorm1d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 2.0)
    plain.load_state_dict(fast.state_dict())
    for m in (fast, plain):
        m.freeze_bn()
    x = torch.randn(1, 1, 4000, dtype=torch.float64)
    _assert_same(fast, plain, _run(fast, x), _run(plain, x), 1e-9)


def test_training_path_float32_within_float_tolerance() -> None:
    fast, plain = _pair("PASE+", torch.float32)
    ref = copy.deepcopy(plain).double()
    x = torch.randn(2, 1, 16000)
    y1, y2 = _run(fast, x), _run(plain, x)
    torch.testing.assert_close(y1, y2, rtol=1e-4, atol=1e-4)
    # BatchNorm statistics as accurate as the plain path's (nn.BatchNorm1d on (N, C) rows
    # would be off by ~1e-4 relative here)
    for (name, a), (_, b) in zip(fast.named_buffers(), plain.named_buffers()):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=1e-6, msg=name)
    # gradients against float64: the network's float32 gradients are only good to ~1e-3
    # (PReLU inputs within rounding of 0 take the other slope; perturbing the input by 1e-7
    # moves the plain path's by as much), so both paths are held to the same bound
    _run(ref, x.double())

    def err(m: WaveFe) -> float:
        g = torch.cat([p.grad.double().flatten() for p in m.blocks[:2].parameters()])
        r = torch.cat([p.grad.flatten() for p in ref.blocks[:2].parameters()])
        return ((g - r).norm() / r.norm()).item()

    assert err(fast) < 5e-3 and err(plain) < 5e-3


def test_waveform_needing_a_gradient_takes_the_plain_path() -> None:
    fast, _ = _pair("PASE", torch.float32)
    x = torch.randn(1, 1, 4000, requires_grad=True)
    fast(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_functions_gradcheck() -> None:
    torch.manual_seed(0)
    xp = torch.randn(2, 40, dtype=torch.float64)
    sym = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: SymmetricSinc.apply(xp, s, 34), (sym,))
    src = torch.randn(2, 9, 3, dtype=torch.float64, requires_grad=True)
    for mode in ("reflect", "replicate", "constant"):
        for total in (14, 11, 7):  # padded on the right, not, cut inside

            def pad(t: torch.Tensor, total: int = total, mode: str = mode):
                return PadTimeMajor.apply(t, 2, total, mode, 4, 3)

            assert torch.autograd.gradcheck(pad, (src,))
    hops = torch.randn(2, 6, 8, dtype=torch.float64, requires_grad=True)
    w_ab = torch.randn(8, 6, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(HopConv.apply, (hops, w_ab, bias))
    x = torch.randn(20, 3, dtype=torch.float64, requires_grad=True)
    w, b, a = (torch.randn(3, dtype=torch.float64, requires_grad=True) for _ in range(3))

    def norm_act(x, w, b, a):
        var, mean = torch.var_mean(x.detach(), 0, unbiased=False)
        invstd = torch.rsqrt(var + 1e-5)
        # the statistics' own gradient is part of NormActRows' backward (batch_stats=True)
        return NormActRows.apply(x, mean, invstd, w, b, a, False, True)

    def reference(x, w, b, a):
        return torch.nn.functional.prelu(
            torch.nn.functional.batch_norm(x, None, None, w, b, training=True), a
        )

    torch.testing.assert_close(norm_act(x, w, b, a), reference(x, w, b, a))
    for inputs in ((x, w, b, a),):
        g = torch.randn(20, 3, dtype=torch.float64)
        ours = torch.autograd.grad((norm_act(*inputs) * g).sum(), inputs)
        ref = torch.autograd.grad((reference(*inputs) * g).sum(), inputs)
        for u, v in zip(ours, ref):
            torch.testing.assert_close(u, v)
