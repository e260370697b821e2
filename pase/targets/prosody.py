"""The prosody target: 4 rows per frame, ``[log-F0, voiced, energy, zero-crossing rate]``."""

from __future__ import annotations

import torch

from pase.targets.f0 import interpolate_log_f0, yin
from pase.targets.functional import HOP, SAMPLE_RATE, as_batch, rms_energy, zero_crossing_rate


def prosody(
    x: torch.Tensor,
    win: int = 320,
    hop: int = HOP,
    *,
    sample_rate: int = SAMPLE_RATE,
    f0_min: float = 60.0,
    f0_max: float = 300.0,
) -> torch.Tensor:
    """Prosodic features ``(B, 4, T)`` of ``x`` ``(B, L)``, frames centred on ``hop * i``:

    0. log-F0 (natural log of Hz) from :func:`pase.targets.f0.yin` over ``[f0_min,
       f0_max]``, unvoiced frames interpolated (:func:`pase.targets.f0.interpolate_log_f0`;
       ``log(f0_min)`` when nothing is voiced);
    1. voiced flag (1.0 voiced, 0.0 unvoiced);
    2. RMS energy of ``win``-sample frames (zero padding);
    3. zero-crossing rate of ``win``-sample frames (crossings / ``win``).
    """
    x = as_batch(x)
    f0, voiced = yin(x, sample_rate=sample_rate, hop=hop, f0_min=f0_min, f0_max=f0_max)
    lf0 = interpolate_log_f0(f0, voiced, f0_min)
    rows = [lf0, voiced.to(x.dtype), rms_energy(x, win, hop), zero_crossing_rate(x, win, hop)]
    return torch.stack(rows, dim=1)
