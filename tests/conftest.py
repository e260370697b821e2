"""Shared pytest fixtures. Small reference files live in tests/data (tests read nothing
outside the project)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

DATA = Path(__file__).parent / "data"

#: a PASE+-shaped frontend config (SincNet, dense skips, QRNN, output norm) with few
#: channels: the tests' encoder that trains and extracts in seconds on the CPU
TINY_FRONTEND: dict = {
    "kwidths": [251, 20, 11, 11, 11, 11, 11, 11],
    "strides": [1, 10, 2, 1, 2, 1, 2, 2],
    "fmaps": [8, 8, 16, 16, 16, 16, 32, 32],
    "emb_dim": 16,
    "rnn_dim": 16,
    "denseskips": True,
    "rnn_pool": True,
    "norm_out": True,
}

# One thread per test process: the suite runs under pytest-xdist (one process per core), and
# OpenMP threads spinning against each other make small ops up to 100x slower under load.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture
def data_dir() -> Path:
    """Folder of small committed reference files (tests/data)."""
    return DATA


def pase_frames(num_samples: int) -> int:
    """Frames of a PASE/PASE+ encoder for ``num_samples`` samples, in closed form:
    ``floor(ceil(L / 10) / 16)`` (one frame per 160 samples)."""
    return -(-num_samples // 10) // 16


def harmonic(f0: float, seconds: float, sr: int = 16000, n_harm: int = 10) -> np.ndarray:
    """A speech-like harmonic tone (float32, peak ~0.5) with 1/k amplitudes."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harm + 1) if k * f0 < sr / 2)
    x = 0.5 * x / np.max(np.abs(x))
    return x.astype(np.float32)
