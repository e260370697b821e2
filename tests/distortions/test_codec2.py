"""Codec2 round trip (only where the optional pycodec2 package is installed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.distortions import Distortions
from pase.distortions import functional as Fd
from pase.distortions.codec2 import codec2_roundtrip
from tests.distortions.conftest import speechlike

pytest.importorskip("pycodec2")


def test_codec2_roundtrip_is_aligned_energy_matched_and_lossy() -> None:
    x = torch.from_numpy(speechlike(3, 1.0, seed=4))
    y = codec2_roundtrip(x, 1600)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.allclose(Fd.energy(y), Fd.energy(x), rtol=1e-4)
    assert not torch.allclose(y, x, atol=1e-2)
    # same amplitude envelope in time (delay removed): speech where the input has speech
    assert Fd.envelope_delay(y, x, 800).abs().max() <= 80
    ex = x.abs().reshape(3, -1, 160).mean(-1)
    ey = y.abs().reshape(3, -1, 160).mean(-1)
    for a, b in zip(ex, ey):
        assert np.corrcoef(a.numpy(), b.numpy())[0, 1] > 0.7


def test_codec2_through_the_chain() -> None:
    d = Distortions.from_config({"codec2_p": 1.0, "codec2_kbps": 3200}, seed=0)
    assert d.names == ["codec2"]
    x = torch.from_numpy(speechlike(2, 0.5))
    y, applied = d(x, return_applied=True)
    assert applied["codec2"].all() and torch.isfinite(y).all()
