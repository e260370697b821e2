"""Small random-weight encoders for the integration tests (fast on CPU)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from pase.extract import load_encoder
from pase.models.frontend import WaveFe
from tests.conftest import TINY_FRONTEND

#: a PASE+-shaped encoder (SincNet, dense skips, QRNN, output norm) with few channels
TINY: dict[str, Any] = TINY_FRONTEND


@pytest.fixture
def tiny_cfg() -> dict[str, Any]:
    return dict(TINY)


def randomize_bn(model: torch.nn.Module, seed: int = 1) -> None:
    """Give every BatchNorm non-trivial running statistics (fresh ones are 0 / 1)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))


@pytest.fixture
def tiny_encoder() -> WaveFe:
    model = load_encoder(TINY, None, "cpu", seed=3)
    randomize_bn(model)
    return model.eval()
