"""Deltas (librosa-style regression, width 9) and the ContextualizedLoss target layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.targets import functional as tf
from tests.targets import refs


def test_deltas_match_direct_formula() -> None:
    x = torch.randn(2, 3, 30, dtype=torch.float64)
    d1, d2 = tf.deltas(x, 2)
    r1, r2 = refs.deltas(x.numpy())
    np.testing.assert_allclose(d1.numpy(), r1, atol=1e-12)
    np.testing.assert_allclose(d2.numpy(), r2, atol=1e-12)


def test_deltas_of_polynomials() -> None:
    t = torch.arange(40, dtype=torch.float64)
    x = torch.stack([3 * t + 1, 0.5 * t**2])[None]
    d1, d2 = tf.deltas(x, 2)
    np.testing.assert_allclose(d1[0, 0].numpy(), 3.0, atol=1e-12)  # slope, per frame
    np.testing.assert_allclose(d2[0, 0].numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(d1[0, 1].numpy()[4:-4], t[4:-4].numpy(), atol=1e-9)
    np.testing.assert_allclose(d2[0, 1].numpy(), 1.0, atol=1e-9)  # second derivative


def test_stack_deltas_layout_and_short_input() -> None:
    x = torch.randn(2, 5, 20)
    out = tf.stack_deltas(x, 2)
    assert out.shape == (2, 15, 20) and out.is_contiguous()
    d1, d2 = tf.deltas(x, 2)
    assert torch.equal(out[:, :5], x)
    assert torch.equal(out[:, 5:10], d1) and torch.equal(out[:, 10:], d2)
    assert tf.stack_deltas(x, 0) is x
    assert tf.stack_deltas(x, 1).shape == (2, 10, 20)
    short = torch.randn(1, 2, 5)  # fewer frames than the width: edge-padded, finite
    assert torch.isfinite(tf.stack_deltas(short, 2)).all()
    with pytest.raises(tf.TargetError, match="order"):
        tf.stack_deltas(x, 3)


def test_contextualize_layout_by_index() -> None:
    b, c, t, r = 2, 3, 10, 7
    x = torch.randn(b, c, t)
    y = tf.contextualize(x, r)
    assert y.shape == (b, c * r, t)
    for ci in range(c):
        for k in range(r):
            for ti in range(t):
                src = ti - r // 2 + k
                want = x[:, ci, src] if 0 <= src < t else torch.zeros(b)
                assert torch.equal(y[:, ci * r + k, ti], want)
    assert tf.contextualize(x, 1) is x
    assert tf.contextualize(x, 4).shape == (b, c * 4, t)
    with pytest.raises(tf.TargetError):
        tf.contextualize(x, 0)
