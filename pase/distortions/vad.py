"""A small energy-based speech-region detector for batches of waveforms (no webrtcvad).

Frames of 10 ms (160 samples at 16 kHz, no overlap) are marked active when their log energy is
both within ``dynamic_range_db`` of the loudest frame of the example and ``margin_db`` above the
example's noise floor (a low percentile of its frame energies); short pauses are then bridged
and very short bursts dropped. Regions are runs of active frames. Everything is batched torch.
"""

from __future__ import annotations

from typing import Any

import torch

from pase.constants import HOP

Tensor = torch.Tensor

FRAME = HOP  # samples per frame (10 ms at 16 kHz)


def frame_energy_db(x: Tensor, frame: int = FRAME) -> Tensor:
    """Mean-square energy in dB of non-overlapping frames: ``(B, L)`` -> ``(B, L // frame)``."""
    B, L = x.shape
    n = L // frame
    fr = x[:, : n * frame].reshape(B, n, frame)
    return 10.0 * torch.log10(fr.pow(2).mean(-1) + 1e-12)


def mask_to_regions(mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Runs of True in a boolean ``(B, F)`` mask.

    Returns ``(starts, ends, valid)``, each ``(B, R)`` with ``R`` the largest number of runs in
    a row: run ``i`` of row ``b`` covers ``[starts[b, i], ends[b, i])`` when ``valid[b, i]``.
    Runs are in increasing order of position.
    """
    B, n = mask.shape
    m = torch.nn.functional.pad(mask.to(torch.int8), (1, 1))
    d = m[:, 1:] - m[:, :-1]  # (B, F + 1): +1 at a start, -1 at an end (exclusive)
    pos = torch.arange(n + 1, device=mask.device).expand(B, n + 1)
    big = torch.full_like(pos, n + 1)
    counts = (d == 1).sum(-1)
    r = int(counts.max()) if B > 0 else 0
    starts = torch.where(d == 1, pos, big).sort(-1).values[:, :r]
    ends = torch.where(d == -1, pos, big).sort(-1).values[:, :r]
    valid = torch.arange(r, device=mask.device) < counts.unsqueeze(-1)
    return starts, ends, valid


def _runs_to_mask(starts: Tensor, ends: Tensor, valid: Tensor, n: int) -> Tensor:
    t = torch.arange(n, device=starts.device)
    inside = (t >= starts.unsqueeze(-1)) & (t < ends.unsqueeze(-1)) & valid.unsqueeze(-1)
    return inside.any(1)


def speech_mask(
    x: Tensor,
    *,
    frame: int = FRAME,
    dynamic_range_db: float = 40.0,
    margin_db: float = 10.0,
    floor_quantile: float = 0.1,
    min_gap: int = 3,
    min_speech: int = 3,
    silence_db: float = -100.0,
) -> Tensor:
    """Frame-level speech activity of ``x`` ``(B, L)``: boolean ``(B, L // frame)``.

    Args:
        frame: frame length and hop in samples.
        dynamic_range_db: frames quieter than the loudest frame minus this are inactive.
        margin_db: frames must exceed the noise floor (``floor_quantile`` of the frame
            energies) by this much.
        min_gap: inactive runs shorter than this many frames between two active runs are filled.
        min_speech: active runs shorter than this many frames (after filling) are dropped.
        silence_db: frames below this absolute level (dB re full scale 1.0) are never active.
    """
    e = frame_energy_db(x, frame)
    B, n = e.shape
    if n == 0:
        return torch.zeros(B, 0, dtype=torch.bool, device=x.device)
    top = e.amax(-1, keepdim=True)
    floor = torch.quantile(e, floor_quantile, dim=-1, keepdim=True)
    active = (e > top - dynamic_range_db) & (e > floor + margin_db) & (e > silence_db)
    if min_gap > 0:
        s, t, v = mask_to_regions(~active)
        inner = v & (s > 0) & (t < n) & (t - s < min_gap)
        active = active | _runs_to_mask(s, t, inner, n)
    if min_speech > 1:
        s, t, v = mask_to_regions(active)
        active = _runs_to_mask(s, t, v & (t - s >= min_speech), n)
    return active


def speech_regions(x: Tensor, frame: int = FRAME, **kwargs: Any) -> tuple[Tensor, Tensor, Tensor]:
    """Speech regions of ``x`` ``(B, L)`` in samples: ``(starts, ends, valid)``, each ``(B, R)``.

    Keyword arguments go to :func:`speech_mask`.
    """
    s, t, v = mask_to_regions(speech_mask(x, frame=frame, **kwargs))
    return s * frame, t * frame, v
