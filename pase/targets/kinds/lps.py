"""``lps``: log power spectrum, ``n_fft // 2 + 1`` bins."""

from __future__ import annotations

from dataclasses import dataclass

from pase.targets import functional as tf
from pase.targets.base import FrameTarget, Tensor, check_n_fft, register_target


@register_target("lps")
@dataclass(frozen=True)
class LPS(FrameTarget):
    """:func:`pase.targets.functional.lps` with an ``n_fft``-point FFT of ``win`` samples."""

    n_fft: int = 2048

    @property
    def static_channels(self) -> int:
        return self.n_fft // 2 + 1

    def check(self, sample_rate: int) -> None:
        check_n_fft(self.n_fft, self.win)

    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        return tf.lps(x, self.n_fft, self.win, hop, power_fn=cache)
