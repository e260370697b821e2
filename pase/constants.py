"""Constants of PASE's signal geometry and the one rule converting seconds, samples and
frames.

PASE works on 16 kHz audio with one frame every 160 samples (10 ms, 100 frames/s). Times in
seconds become sample indices by rounding (``round(t * sample_rate)``), which is how Kaldi
``segments`` bounds are cut everywhere in pase (reading audio, counting samples, validating,
chunking). Frame counts are not converted here: each feature has its own rule
(``WaveFe.num_frames``, ``pase.features.kaldi.num_frames``, ``pase.targets.functional
.num_frames``).
"""

from __future__ import annotations

SAMPLE_RATE = 16000
"""Audio sample rate in Hz."""
HOP = 160
"""Samples per frame (10 ms at 16 kHz): the encoder's and the targets' hop."""
FRAME_RATE = SAMPLE_RATE // HOP
"""Frames per second (100)."""

__all__ = ["FRAME_RATE", "HOP", "SAMPLE_RATE", "seconds_to_samples", "segment_samples"]


def seconds_to_samples(t: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Seconds -> sample index (rounded)."""
    return round(t * sample_rate)


def segment_samples(
    start: float | None, end: float | None, total: int, sample_rate: int = SAMPLE_RATE
) -> tuple[int, int]:
    """Sample range ``[b, e)`` of a Kaldi segment ``[start, end]`` (seconds) of a recording
    of ``total`` samples. ``start`` None is 0; ``end`` None or <= 0 is the end of the
    recording. Not clipped or checked: callers decide what an out-of-range segment is."""
    b = seconds_to_samples(start or 0.0, sample_rate)
    e = total if end is None or end <= 0 else seconds_to_samples(end, sample_rate)
    return b, e
