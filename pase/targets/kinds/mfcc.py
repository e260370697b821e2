"""``mfcc``: ``order`` MFCCs of an ``n_mels`` mel filter bank."""

from __future__ import annotations

from dataclasses import dataclass

from pase.targets import functional as tf
from pase.targets.base import FrameTarget, Tensor, check_n_fft, register_target


@register_target("mfcc")
@dataclass(frozen=True)
class MFCC(FrameTarget):
    """:func:`pase.targets.functional.mfcc`; ``n_fft`` None is ``win``."""

    order: int = 13
    n_fft: int | None = None
    n_mels: int = 128

    @property
    def static_channels(self) -> int:
        return self.order

    def check(self, sample_rate: int) -> None:
        check_n_fft(self.win if self.n_fft is None else self.n_fft, self.win)
        if not 1 <= self.order <= self.n_mels:
            raise ValueError(f"order must be in 1..n_mels ({self.n_mels}), got {self.order}")

    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        return tf.mfcc(
            x,
            self.order,
            self.win,
            self.n_fft,
            hop,
            sample_rate=sample_rate,
            n_mels=self.n_mels,
            power_fn=cache,
        )
