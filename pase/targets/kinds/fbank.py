"""``fbank``: ``n_filters`` log mel filter-bank energies."""

from __future__ import annotations

from dataclasses import dataclass

from pase.targets import functional as tf
from pase.targets.base import FrameTarget, Tensor, check_n_fft, register_target


@register_target("fbank")
@dataclass(frozen=True)
class FBank(FrameTarget):
    """:func:`pase.targets.functional.fbank` with an ``n_fft``-point FFT."""

    n_filters: int = 40
    n_fft: int = 512

    @property
    def static_channels(self) -> int:
        return self.n_filters

    def check(self, sample_rate: int) -> None:
        check_n_fft(self.n_fft, self.win)
        if self.n_filters < 1:
            raise ValueError(f"n_filters must be >= 1, got {self.n_filters}")

    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        return tf.fbank(
            x, self.n_filters, self.win, self.n_fft, hop, sample_rate=sample_rate, power_fn=cache
        )
