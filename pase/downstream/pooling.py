"""Pooling over the frames of a zero-padded batch ``(B, T, C)`` with valid lengths ``(B,)``:
padded frames never contribute."""

from __future__ import annotations

import torch
from torch import Tensor


def frame_mask(lengths: Tensor, num_frames: int) -> Tensor:
    """``(B, T)`` bool: True for the first ``lengths[b]`` frames of each row."""
    return torch.arange(num_frames, device=lengths.device)[None, :] < lengths[:, None]


def mean_pool(x: Tensor, lengths: Tensor) -> Tensor:
    """Mean over the valid frames: ``(B, T, C)`` -> ``(B, C)``."""
    m = frame_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def stats_pool(x: Tensor, lengths: Tensor, eps: float = 1e-5) -> Tensor:
    """Mean and standard deviation over the valid frames: ``(B, T, C)`` -> ``(B, 2C)``."""
    m = frame_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)
    n = m.sum(1).clamp_min(1.0)
    mean = (x * m).sum(1) / n
    var = (((x - mean[:, None]) * m) ** 2).sum(1) / n
    return torch.cat([mean, (var + eps).sqrt()], -1)
