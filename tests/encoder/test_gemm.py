"""oneDNN matrix products (``pase.models.gemm``) equal torch's, forward and backward, and are
used where they should be."""

from __future__ import annotations

import pytest
import torch

from pase.models import gemm

needs_onednn = pytest.mark.skipif(
    not gemm.onednn_available(), reason="this torch has no oneDNN _linear_pointwise"
)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Shapes of the products sent to oneDNN during the test."""
    seen: list[tuple[int, ...]] = []
    real = gemm._onednn

    def counting(a, w, bias=None):
        seen.append((*a.shape, w.shape[0]))
        return real(a, w, bias)

    monkeypatch.setattr(gemm, "_onednn", counting)
    return seen


def _close(got: torch.Tensor, want: torch.Tensor, k: int) -> None:
    """float32 products of ``k`` terms of unit-variance numbers: rounding ~ 1e-7 sqrt(k)."""
    assert got.shape == want.shape
    assert (got - want).abs().max().item() <= 2e-5 * k**0.5


@needs_onednn
@pytest.mark.parametrize("bias", [False, True])
def test_mm_large_float32_goes_to_onednn_and_equals_torch(calls, bias: bool) -> None:
    torch.manual_seed(0)
    a, b = torch.randn(300, 200), torch.randn(200, 100)
    c = torch.randn(100) if bias else None
    got = gemm.mm(a, b, c)
    _close(got, a @ b + (c if bias else 0), 200)
    assert calls == [(300, 200, 100)]


@needs_onednn
def test_small_float64_and_non_cpu_products_stay_with_torch(calls) -> None:
    a, b = torch.randn(8, 8), torch.randn(8, 8)
    assert torch.equal(gemm.mm(a, b), a @ b)  # below MIN_MACS
    a64, b64 = torch.randn(300, 200, dtype=torch.float64), torch.randn(200, 100).double()
    assert torch.equal(gemm.mm(a64, b64), a64 @ b64)
    assert torch.equal(gemm.bmm(a64[None], b64[None]), torch.bmm(a64[None], b64[None]))
    assert calls == []


@needs_onednn
@pytest.mark.parametrize("k, n", [(64, 300), (300, 64)])
def test_transposed_left_operand_is_a_sum_over_rows(calls, k: int, n: int) -> None:
    """``a.t() @ g`` (a weight gradient): both orientations of the oneDNN call."""
    a, g = torch.randn(2000, k), torch.randn(2000, n)
    _close(gemm.mm(a.t(), g), a.t() @ g, 2000)
    assert len(calls) == 1 and calls[0][1] == 2000  # the 2000 rows are the sum


@needs_onednn
def test_mm_and_linear_gradients_equal_torch(calls) -> None:
    torch.manual_seed(1)
    x = torch.randn(3, 70, 120, requires_grad=True)
    w = torch.randn(90, 120, requires_grad=True)
    bias = torch.randn(90, requires_grad=True)
    g = torch.randn(3, 70, 90)
    (gemm.linear(x, w, bias) * g).sum().backward()
    got = [t.grad.clone() for t in (x, w, bias)]
    for t in (x, w, bias):
        t.grad = None
    (torch.nn.functional.linear(x, w, bias) * g).sum().backward()
    for have, t, k in zip(got, (x, w, bias), (90, 210, 210), strict=True):
        _close(have, t.grad, k)
    assert len(calls) == 3  # forward, input gradient, weight gradient


@needs_onednn
def test_bmm_values_and_gradients_equal_torch(calls) -> None:
    torch.manual_seed(2)
    a = torch.randn(4, 100, 130, requires_grad=True)
    b = torch.randn(4, 130, 170, requires_grad=True)
    g = torch.randn(4, 100, 170)
    y = gemm.bmm(a, b)
    _close(y, torch.bmm(a, b), 130)
    (y * g).sum().backward()
    ga, gb = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    (torch.bmm(a, b) * g).sum().backward()
    _close(ga, a.grad, 170)
    _close(gb, b.grad, 100)
    assert len(calls) == 12  # 4 matrices x (forward, two gradients)
    with torch.no_grad():
        _close(gemm.bmm(a, b), torch.bmm(a, b), 130)


def test_complex_weight_is_the_real_form_of_a_complex_product() -> None:
    torch.manual_seed(3)
    x = torch.randn(5, 3, dtype=torch.complex128)
    w = torch.randn(3, 4, dtype=torch.complex128)
    real = torch.view_as_real(x).flatten(-2) @ gemm.complex_weight(w)
    assert torch.allclose(torch.view_as_complex(real.unflatten(-1, (-1, 2))), x @ w)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_complex_bmm_equals_torch_bmm(dtype: torch.dtype) -> None:
    torch.manual_seed(4)
    a = torch.randn(3, 150, 96, dtype=dtype)
    b = torch.randn(3, 96, 80, dtype=dtype)
    got = gemm.complex_bmm(a, gemm.complex_weight(b))
    want = torch.bmm(a, b)
    tol = 1e-4 if dtype == torch.complex64 else 1e-12
    assert (got - want).abs().max().item() <= tol * 96**0.5


def test_cpu_autocast_keeps_torchs_products(calls) -> None:
    a, b = torch.randn(300, 200), torch.randn(200, 100)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = gemm.mm(a, b)
    assert y.dtype == torch.bfloat16
    assert calls == []


def test_the_probe_leaves_torchs_random_numbers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gemm, "_available", None)
    torch.manual_seed(9)
    gemm.onednn_available()
    after_probe = torch.rand(3)
    torch.manual_seed(9)
    assert torch.equal(after_probe, torch.rand(3))


def test_pase_gemm_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto: x86-64 only (where it was measured); onednn: anywhere; a typo is an error."""
    monkeypatch.setattr(gemm.platform, "machine", lambda: "aarch64")
    for choice, expected in (("auto", False), ("onednn", gemm._onednn_works())):
        monkeypatch.setenv("PASE_GEMM", choice)
        monkeypatch.setattr(gemm, "_available", None)
        assert gemm.onednn_available() is expected
    monkeypatch.setenv("PASE_GEMM", "mkl")
    monkeypatch.setattr(gemm, "_available", None)
    with pytest.raises(ValueError, match="PASE_GEMM='mkl'"):
        gemm.onednn_available()


def test_pase_gemm_torch_turns_onednn_off(monkeypatch: pytest.MonkeyPatch, calls) -> None:
    monkeypatch.setenv("PASE_GEMM", "torch")
    monkeypatch.setattr(gemm, "_available", None)
    a, b = torch.randn(300, 200), torch.randn(200, 100)
    assert torch.equal(gemm.mm(a, b), a @ b)
    assert not gemm.onednn_available()
    assert calls == []


@needs_onednn
def test_pase_plus_eval_and_training_use_onednn(calls) -> None:
    """The encoder's fast paths and the QRNN send their big products to oneDNN."""
    from pase.models.frontend import wf_builder

    torch.manual_seed(5)
    model = wf_builder("PASE+")
    x = torch.randn(2, 1, 16000)
    model.eval()
    with torch.no_grad():
        model(x)
    assert len(calls) > 10
    eval_calls = len(calls)
    model.train()
    model(x).sum().backward()
    assert len(calls) > eval_calls + 10
