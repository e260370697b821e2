"""``prosody``: log-F0, voicing, energy and zero-crossing rate (4 rows)."""

from __future__ import annotations

from dataclasses import dataclass

from pase.targets import functional as tf
from pase.targets.base import FrameTarget, Tensor, register_target
from pase.targets.prosody import prosody


@register_target("prosody")
@dataclass(frozen=True)
class Prosody(FrameTarget):
    """:func:`pase.targets.prosody.prosody`, F0 searched in ``[f0_min, f0_max]`` Hz."""

    win: int = 320
    f0_min: float = 60.0
    f0_max: float = 300.0

    @property
    def static_channels(self) -> int:
        return 4

    def check(self, sample_rate: int) -> None:
        nyq = sample_rate / 2
        if not 0 < self.f0_min < self.f0_max < nyq:
            raise ValueError(
                f"need 0 < f0_min < f0_max < {nyq} Hz, got {self.f0_min}, {self.f0_max}"
            )

    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        return prosody(
            x, self.win, hop, sample_rate=sample_rate, f0_min=self.f0_min, f0_max=self.f0_max
        )
