"""``gtn``: ``n_channels`` log gammatone filter-bank energies from ``f_min`` Hz."""

from __future__ import annotations

from dataclasses import dataclass

from pase.targets import functional as tf
from pase.targets.base import FrameTarget, Tensor, register_target


@register_target("gtn")
@dataclass(frozen=True)
class Gammatone(FrameTarget):
    """:func:`pase.targets.functional.gammatone`."""

    n_channels: int = 40
    f_min: float = 500.0

    @property
    def static_channels(self) -> int:
        return self.n_channels

    def check(self, sample_rate: int) -> None:
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels}")
        nyq = sample_rate / 2
        if not 0 < self.f_min < nyq:
            raise ValueError(f"f_min must be in (0, {nyq}) Hz, got {self.f_min}")

    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        return tf.gammatone(
            x,
            self.n_channels,
            self.win,
            hop,
            sample_rate=sample_rate,
            f_min=self.f_min,
            power_fn=cache,
        )
