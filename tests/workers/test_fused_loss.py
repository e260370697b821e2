"""The fused linear + contextualised MSE loss (pase.workers.functional.contextual_mse) and the
regression workers' ``loss_of`` that uses it: the plain loss and gradients, without forming
the prediction."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pase.targets.functional import contextualize
from pase.workers import Embeddings, WorkerSet
from pase.workers.functional import contextual_mse
from pase.workers.kinds import RegressionWorker


def _plain(h, w, b, y, r):
    return F.mse_loss(F.conv1d(h, w, b), contextualize(y, r))


@pytest.mark.parametrize("r", [1, 2, 4, 7])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-11), (torch.float32, 2e-5)])
def test_fused_equals_plain(r: int, with_bias: bool, dtype: torch.dtype, tol: float) -> None:
    torch.manual_seed(r)
    B, D, C, T = 3, 8, 5, 13
    h = torch.randn(B, D, T, dtype=dtype, requires_grad=True)
    w = torch.randn(C * r, D, 1, dtype=dtype, requires_grad=True)
    b = torch.randn(C * r, dtype=dtype, requires_grad=True) if with_bias else None
    y = torch.randn(B, C, T, dtype=dtype) + 0.5  # non-zero mean: the edges' windows matter
    inputs = (h, w) + ((b,) if with_bias else ())
    ref, got = _plain(h, w, b, y, r), contextual_mse(h, w, b, y, r)
    torch.testing.assert_close(got, ref, rtol=tol, atol=tol)
    for g, gr in zip(torch.autograd.grad(got, inputs), torch.autograd.grad(ref, inputs)):
        torch.testing.assert_close(g, gr, rtol=tol, atol=tol * gr.abs().max().item())


def test_fused_near_a_perfect_fit() -> None:
    """The expanded square cancels: at a loss of 1e-4 of the target's energy the value and
    the gradients still agree in float32."""
    torch.manual_seed(0)
    B, C, T, r = 4, 6, 50, 3
    y = torch.randn(B, C, T) + 1.0
    # identity output layer on the contextualised target plus 1 % noise: loss ~1e-4
    h = contextualize(y, r) + 0.01 * torch.randn(B, C * r, T)
    w = torch.eye(C * r).unsqueeze(-1)
    b = torch.zeros(C * r)
    w.requires_grad_(True)
    ref, got = _plain(h, w, b, y, r), contextual_mse(h, w, b, y, r)
    assert ref.item() < 1e-3
    torch.testing.assert_close(got, ref, rtol=1e-3, atol=1e-6)
    (gw,), (gr,) = torch.autograd.grad(got, (w,)), torch.autograd.grad(ref, (w,))
    assert ((gw - gr).norm() / gr.norm()).item() < 1e-3


def test_fused_refuses_shapes_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="do not fit r=7"):
        contextual_mse(torch.randn(1, 4, 9), torch.randn(5 * 3, 4), None, torch.randn(1, 5, 9), 7)


@pytest.mark.parametrize("t_target", [20, 19])  # the encoder's extra frame is trimmed
def test_regression_worker_loss_of_equals_forward_loss(t_target: int) -> None:
    torch.manual_seed(1)
    B, D, C, r = 2, 8, 5, 7
    w = RegressionWorker.create("lps", D, num_outputs=C, r=r, hidden_size=16, dropout_time=0.3)
    w.train()
    emb = Embeddings(torch.randn(B, D, 20))
    targets = {"lps": torch.randn(B, C, t_target)}
    loss = w.loss(*w(emb, targets, torch.Generator().manual_seed(4)))
    grads = torch.autograd.grad(loss, list(w.parameters()))
    fused = w.loss_of(emb, targets, torch.Generator().manual_seed(4))  # same frames dropped
    fgrads = torch.autograd.grad(fused, list(w.parameters()))
    torch.testing.assert_close(fused, loss)
    for a, b in zip(fgrads, grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_workers_plus_losses_with_and_without_outputs() -> None:
    """The trainer's call (losses only, fused) gives the losses of the inspectable one."""
    torch.manual_seed(2)
    ws = WorkerSet.from_config("workers+", emb_dim=16).train()
    emb = Embeddings(*torch.randn(3, 2, 16, 10).unbind(0))
    targets = {}
    for w in ws:
        n = getattr(w, "num_outputs", None)
        if w.kind == "mlp":
            targets[w.name] = torch.randn(2, n, 10)
    targets["cchunk"] = torch.randn(2, 1, 1600)
    fast = ws(emb, targets, generator=torch.Generator().manual_seed(0))
    plain, _ = ws(emb, targets, generator=torch.Generator().manual_seed(0), return_outputs=True)
    assert fast.keys() == plain.keys()
    for k in fast:
        torch.testing.assert_close(fast[k], plain[k], rtol=1e-5, atol=1e-6, msg=k)
