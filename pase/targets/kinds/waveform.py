"""``waveform`` (worker ``cchunk``): the clean chunk itself, for the waveform decoder."""

from __future__ import annotations

from dataclasses import dataclass

from pase.targets import functional as tf
from pase.targets.base import Target, Tensor, register_target


@register_target("waveform")
@dataclass(frozen=True)
class Waveform(Target):
    """A copy of the input ``(B, L)`` as ``(B, 1, L)``; no parameters."""

    worker_names = ("cchunk",)
    prefixed = False
    waveform = True

    @property
    def channels(self) -> int:
        return 1

    def compute(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        return x.unsqueeze(1).clone()
