"""torch.hub entry points of the PASE / PASE+ encoders.

    import torch
    enc = torch.hub.load("/path/to/this/repo", "pase_plus", source="local", ckpt="FE_e199.ckpt")
    y = enc(wav.view(1, 1, -1))          # (1, 256, T) frames at 100 frames/s

torch.hub imports this file, so it imports nothing heavy at module level: each entry imports
the ``pase`` package when called (this repository's copy when ``pase`` is not installed).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

dependencies = ["torch", "numpy", "scipy", "soundfile"]


def _pase() -> None:
    """Make ``import pase`` work (the installed package, else this repository's)."""
    if importlib.util.find_spec("pase") is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))


def _encoder(cfg: str, ckpt: str | None, device: str, seed: int) -> Any:
    _pase()
    from pase.extract import load_encoder

    return load_encoder(cfg, ckpt, device, seed=seed)


def pase(ckpt: str | None = None, device: str = "cpu", seed: int = 0) -> Any:
    """PASE encoder (``WaveFe``, eval mode): ``(B, 1, L)`` 16 kHz -> ``(B, 256, T)``.
    ``ckpt``: its checkpoint; None: random weights drawn from ``seed``."""
    return _encoder("PASE", ckpt, device, seed)


def pase_plus(ckpt: str | None = None, device: str = "cpu", seed: int = 0) -> Any:
    """PASE+ encoder (``WaveFe``, eval mode): ``(B, 1, L)`` 16 kHz -> ``(B, 256, T)``.
    ``ckpt``: its checkpoint (``FE_e199.ckpt``); None: random weights drawn from ``seed``."""
    return _encoder("PASE+", ckpt, device, seed)


def s3prl_upstream(
    ckpt: str | None = None, model_config: str | None = "PASE+", seed: int = 0, **kwargs: Any
) -> Any:
    """The s3prl-style upstream (:class:`pase.integrations.s3prl.UpstreamExpert`)."""
    _pase()
    from pase.integrations.s3prl import UpstreamExpert

    return UpstreamExpert(ckpt=ckpt, model_config=model_config, seed=seed, **kwargs)
