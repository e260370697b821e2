"""Kinds that need no data files: speed change, resampling, clipping, codec2 and gain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from pase.constants import SAMPLE_RATE
from pase.distortions import functional as Fd
from pase.distortions.codec2 import codec2_roundtrip, load_codec2
from pase.distortions.kinds.draws import pick, uniform
from pase.distortions.options import (
    DistortionOptions,
    Where,
    boolean,
    interval,
    numbers,
    option,
    optional_text,
    probability,
)
from pase.distortions.registry import BuildContext, Distortion, register_distortion

if TYPE_CHECKING:
    from pase.distortions.config import DistortionConfig

Tensor = torch.Tensor

CODEC2_MODES = (3200, 2400, 1600, 1400, 1300, 1200, 700)


class UniformParameter(Distortion):
    """Base of a kind that draws one parameter per example uniformly from ``[low, high]``
    (the option named by its ``Config.needs``) and applies ``function(x (n, L), parameter
    (n,))``."""

    function: ClassVar[Callable[[Tensor, Tensor], Tensor]]

    def __init__(self, bounds: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.low, self.high = float(bounds[0]), float(bounds[1])

    @classmethod
    def from_config(cls, opts: Any, ctx: BuildContext) -> UniformParameter:
        return cls(getattr(opts, opts.needs), opts.p)

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return type(self).function(x, uniform(self.low, self.high, x.shape[0], generator).to(x))

    def extra_repr(self) -> str:
        return f"range=[{self.low}, {self.high}]"


class ChosenFactor(Distortion):
    """Base of a kind that draws one factor per example from the list ``factors`` (its
    option; off while empty) and applies ``function(x (n, L), factor (n,))``."""

    function: ClassVar[Callable[[Tensor, Tensor], Tensor]]

    def __init__(self, factors: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.factors = list(factors)

    @classmethod
    def from_config(cls, opts: Any, ctx: BuildContext) -> ChosenFactor:
        return cls(opts.factors, opts.p)

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return type(self).function(x, pick(self.factors, x.shape[0], generator).to(x))

    def extra_repr(self) -> str:
        return f"factors={self.factors}"


@register_distortion("speed", order=40)
class SpeedChange(UniformParameter):
    """Tempo + pitch change by a factor drawn uniformly from ``[low, high]``."""

    class Config(DistortionOptions):
        range: list[float] | None = option(None, interval(lambda lo: lo > 0, "low > 0"))

        needs = "range"

    function = staticmethod(Fd.speed_change)


@register_distortion("resample", order=50)
class Resample(ChosenFactor):
    """Decimation by a factor drawn from a list, then linear interpolation back to 16 kHz."""

    class Config(DistortionOptions):
        factors: list[float] = option(
            [], numbers(False, lambda x: x >= 1 and x == int(x), "an integer >= 1")
        )

        needs = "factors"

    function = staticmethod(Fd.decimate_interpolate)


@register_distortion("clip", order=60)
class Clipping(ChosenFactor):
    """Clipping to a factor (drawn from a list) of the example's minimum and maximum."""

    class Config(DistortionOptions):
        factors: list[float] = option([], numbers(False, lambda x: 0 < x <= 1, "in (0, 1]"))

        needs = "factors"

    function = staticmethod(Fd.clip)


def _kbps(v: Any, w: Where) -> int:
    if isinstance(v, bool) or v not in CODEC2_MODES:
        raise w.fail(f"codec2 bit rate must be one of {list(CODEC2_MODES)}", v)
    return int(v)


@register_distortion("codec2", order=70)
class Codec2(Distortion):
    """Codec2 coding at ``kbps`` bit/s (needs ``pycodec2``; checked at construction)."""

    class Config(DistortionOptions):
        p: float = option(0.0, probability)  # the original defaulted to 0.3
        kbps: int = option(1600, _kbps)
        cachedir: str | None = option(None, optional_text)
        cache: bool = option(False, boolean)  # original key, ignored

    def __init__(self, kbps: int, p: float) -> None:
        super().__init__(p)
        self.kbps = int(kbps)
        load_codec2(self.kbps)  # fail now, not mid-training

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> Codec2:
        return cls(opts.kbps, opts.p)

    @classmethod
    def check_config(cls, opts: Config, config: DistortionConfig) -> None:
        if opts.p > 0 and opts.cachedir is not None:
            raise config.error(
                cls.key("cachedir"),
                "pre-encoded codec2 caches are not supported (they are "
                "looked up by utterance name, which batched distortions do not see); remove "
                "the key to run codec2 on the fly",
            )

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return codec2_roundtrip(x, self.kbps, SAMPLE_RATE)

    def extra_repr(self) -> str:
        return f"kbps={self.kbps}"


@register_distortion("gain", order=110)
class Gain(UniformParameter):
    """Random gain in dB drawn uniformly from ``[low, high]`` (our addition; off by default)."""

    class Config(DistortionOptions):
        p: float = option(0.0, probability)
        db: list[float] | None = option(None, interval(lambda lo: True, "any low"))

        needs = "db"

    function = staticmethod(Fd.gain)
