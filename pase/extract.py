"""Feature extraction with a frozen encoder: loading, device choice, long-audio chunking.

``extract_features`` is what dumping scripts and downstream recipes call for one waveform;
it returns Kaldi-style ``(T, C)`` float32 matrices at 100 frames/s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pase.models.frontend import WaveFe, apply_mode, wf_builder

__all__ = ["encoder_function", "extract_features", "load_encoder", "resolve_device"]


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to torch."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def load_encoder(
    cfg: str | os.PathLike | dict[str, Any] = "PASE+",
    ckpt: str | os.PathLike | None = None,
    device: str | torch.device | None = "cpu",
    verbose: bool = False,
    seed: int = 0,
) -> WaveFe:
    """Build the encoder of ``cfg`` ("PASE", "PASE+", a ``.cfg`` path or a dict), load
    ``ckpt`` (original or ours) and return it in eval mode on ``device``.

    Without ``ckpt`` the weights are random but drawn from ``seed`` (without touching the
    global RNG), so parallel jobs and separate runs get the same encoder.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = wf_builder(cfg)
    if ckpt is not None:
        model.load_pretrained(ckpt, load_last=True, verbose=verbose)
    return model.to(resolve_device(device)).eval()


@torch.no_grad()
def extract_features(
    model: WaveFe,
    wav: np.ndarray | torch.Tensor,
    *,
    mode: str | None = None,
    chunk_seconds: float | None = 20.0,
    peak_normalize: bool = False,
) -> np.ndarray:
    """Encode one waveform.

    Args:
        model: encoder in eval mode.
        wav: ``(L,)`` samples at the model's rate (16 kHz).
        mode: None or an original post-processing mode ("avg_norm", ...).
        chunk_seconds: encode in pieces of this many seconds with constant memory (same
            output as one pass; the features themselves take 1 KB per frame); None encodes
            in one pass.
        peak_normalize: divide by max |x| first (what the original downstream scripts did).

    Returns:
        ``(T, C)`` float32 features, ``T = model.num_frames(L)``.
    """
    x = torch.as_tensor(wav, dtype=torch.float32)
    if x.dim() != 1:
        raise ValueError(f"expected a 1-D waveform (L,), got shape {tuple(x.shape)}")
    if peak_normalize:
        peak = x.abs().max()
        if peak > 0:
            x = x / peak
    device = next(model.parameters()).device
    x = x.to(device).view(1, 1, -1)
    if chunk_seconds is None:
        return model(x, mode=mode)[0].t().contiguous().float().cpu().numpy()
    # pieces go straight into one time-major array: no concatenated copies of the features
    frames = max(1, int(chunk_seconds * model.sr / model.hop))
    out = np.empty((model.num_frames(x.shape[-1]), model.emb_dim), dtype=np.float32)
    for start, piece in model.iter_chunks(x, chunk_frames=frames):
        out[start : start + piece.shape[-1]] = piece[0].t().float().cpu().numpy()
    if mode is not None:
        out = apply_mode(torch.from_numpy(out).t().unsqueeze(0), mode)[0].t().contiguous().numpy()
    return out


def encoder_function(
    model: WaveFe,
    *,
    mode: str | None = None,
    chunk_seconds: float | None = 20.0,
    peak_normalize: bool = False,
) -> Callable[[np.ndarray], np.ndarray]:
    """``wav (L,) -> (T, C)``: :func:`extract_features` with these options fixed (what the
    feature-table writers take)."""

    def encode(wav: np.ndarray) -> np.ndarray:
        return extract_features(
            model, wav, mode=mode, chunk_seconds=chunk_seconds, peak_normalize=peak_normalize
        )

    return encode
