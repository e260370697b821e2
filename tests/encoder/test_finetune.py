"""Fine-tuning the encoder on zero-padded batches of unequal lengths (train mode): padding
never reaches real frames, BatchNorm statistics come from real positions only (or are frozen),
gradients flow, frame lengths come out."""

from __future__ import annotations

import torch
from torch import nn

from pase.models.frontend import wf_builder
from pase.models.modules import batch_norm_groups

LENS = [4000, 6400, 4000, 5123]


def _batch(lens: list[int], pad_value: float = 0.0, extra: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.full((len(lens), 1, max(lens) + extra), pad_value)
    for i, n in enumerate(lens):
        x[i, 0, :n] = 0.1 * torch.randn(n, generator=g)
    return x


def _model(name: str = "PASE+") -> nn.Module:
    torch.manual_seed(0)
    return wf_builder(name).train()


def _bn_state(m: nn.Module) -> list[torch.Tensor]:
    return [t.clone() for k, t in m.state_dict().items() if "running" in k]


def test_batch_norm_groups_equals_batchnorm_on_equal_lengths() -> None:
    torch.manual_seed(0)
    a, b = nn.BatchNorm1d(5), nn.BatchNorm1d(5)
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        a.weight.uniform_(0.5, 2)
        b.weight.copy_(a.weight)
    y = torch.randn(6, 5, 9)
    ref = a(y)
    got = torch.cat(batch_norm_groups(b, [y[:2], y[2:3], y[3:]]))
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(b.running_mean, a.running_mean)
    torch.testing.assert_close(b.running_var, a.running_var)
    assert int(b.num_batches_tracked) == int(a.num_batches_tracked) == 1


def test_equal_lengths_match_the_plain_training_forward() -> None:
    a, b = _model(), _model()
    x = _batch([4800] * 3)
    ya = a(x)
    yb, flen = b(x, lengths=[4800] * 3)
    torch.testing.assert_close(yb, ya, rtol=1e-4, atol=1e-5)
    assert flen.tolist() == [ya.shape[-1]] * 3
    for ra, rb in zip(_bn_state(a), _bn_state(b)):
        torch.testing.assert_close(rb, ra, rtol=1e-4, atol=1e-6)


def test_padding_never_reaches_real_frames() -> None:
    a, b = _model(), _model()
    ya, fa = a(_batch(LENS), lengths=LENS)
    yb, fb = b(_batch(LENS, pad_value=0.7, extra=3000), lengths=LENS)  # other padding
    assert fa.tolist() == fb.tolist() == [a.num_frames(n) for n in LENS]
    for i, t in enumerate(fa.tolist()):
        torch.testing.assert_close(ya[i, :, :t], yb[i, :, :t], rtol=1e-5, atol=1e-6)
        assert ya[i, :, t:].abs().sum() == 0  # padded frames are zero
    for ra, rb in zip(_bn_state(a), _bn_state(b)):  # statistics of real positions only
        torch.testing.assert_close(rb, ra, rtol=1e-5, atol=1e-7)


def test_gradients_flow_and_padding_gets_none() -> None:
    m = _model()
    x = _batch(LENS).requires_grad_(True)
    y, flen = m(x, lengths=LENS, return_hidden=False)
    mask = torch.arange(y.shape[-1])[None, None, :] < flen[:, None, None]
    (y * mask).pow(2).sum().backward()
    assert x.grad is not None
    for i, n in enumerate(LENS):
        assert x.grad[i, 0, :n].abs().sum() > 0
        assert x.grad[i, 0, n:].abs().sum() == 0  # padded samples do not influence anything
    grads = [p.grad for p in m.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(int(g.abs().sum() > 0) for g in grads) > 0.9 * len(grads)


def test_freeze_bn_encodes_each_example_as_alone() -> None:
    m = _model().freeze_bn()
    # the padded batch goes through the plain per-group path; an example alone would take
    # the time-major training path (pase.models.fast_train, equal to it in float64), and in
    # float32 a PReLU input within rounding of 0 can take the other slope there: compare
    # like with like
    m.fast_training = False
    assert m.training and all(not b.training for b in m.modules() if isinstance(b, nn.BatchNorm1d))
    before = _bn_state(m)
    x = _batch(LENS).requires_grad_(True)
    y, flen = m(x, lengths=LENS)
    mask = torch.arange(y.shape[-1])[None, None, :] < flen[:, None, None]
    (y * mask).sum().backward()
    batch_grads = [p.grad.clone() for p in m.parameters()]
    m.zero_grad()
    alone_grads = [torch.zeros_like(g) for g in batch_grads]
    for i, n in enumerate(LENS):
        xi = x.detach()[i : i + 1, :, :n]
        yi = m(xi)
        torch.testing.assert_close(y[i : i + 1, :, : yi.shape[-1]], yi, rtol=1e-4, atol=1e-5)
        yi.sum().backward()
        alone_grads = [a + p.grad for a, p in zip(alone_grads, m.parameters())]
        m.zero_grad()
    for gb, ga in zip(batch_grads, alone_grads):
        torch.testing.assert_close(gb, ga, rtol=1e-3, atol=1e-4)
    for r0, r1 in zip(before, _bn_state(m)):
        torch.testing.assert_close(r0, r1, rtol=0, atol=0)  # never updated
    m.freeze_bn(False)
    assert all(b.training for b in m.modules() if isinstance(b, nn.BatchNorm1d))


def test_hidden_layers_in_training() -> None:
    m = _model()
    y, _, hidden = m(_batch(LENS), lengths=LENS, return_hidden=True)
    assert len(hidden) == 9 and all(h.shape == y.shape for h in hidden)
    torch.testing.assert_close(hidden[-1], y)
