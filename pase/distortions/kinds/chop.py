"""Temporal chopping: zeroed stretches inside detected speech regions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from pase.constants import SAMPLE_RATE
from pase.distortions import functional as Fd
from pase.distortions.options import DistortionOptions, Where, number, option, positive_int
from pase.distortions.registry import BuildContext, Distortion, register_distortion
from pase.distortions.vad import speech_regions

Tensor = torch.Tensor


def _chop_factors(v: Any, w: Where) -> list[list[float]]:
    """A list of ``[mean, std]`` pairs in seconds (mean > 0, std >= 0)."""
    if not isinstance(v, list):
        raise w.fail("expected a list of [mean, std] pairs in seconds", v)
    out = []
    for pair in v:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise w.fail("expected a list of [mean, std] pairs in seconds", v)
        mean, std = number(pair[0], w), number(pair[1], w)
        if mean <= 0 or std < 0:
            raise w.fail("every pair needs mean > 0 and std >= 0 (seconds)", v)
        out.append([mean, std])
    return out


@register_distortion("chop", order=80)
class Chopper(Distortion):
    """Temporal masking: zero stretches of samples inside detected speech regions.

    Per example: a number of chops uniform in ``1..max_chops`` (at most the number of speech
    regions found), that many distinct regions chosen at random; per chop a ``(mean, std)`` pair
    (seconds) drawn from ``factors``, a duration ``mean + std * N(0, 1)`` and a zeroed stretch
    of that duration centred on the region centre and clipped to the region.
    """

    class Config(DistortionOptions):
        factors: list[list[float]] = option([], _chop_factors)
        max_chops: int = option(5, positive_int, key="max_chops")

        needs = "factors"

    def __init__(self, factors: Sequence[Sequence[float]], max_chops: int, p: float) -> None:
        super().__init__(p)
        self.factors = torch.tensor(factors, dtype=torch.float64).reshape(-1, 2)
        self.max_chops = int(max_chops)

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> Chopper:
        return cls(opts.factors, opts.max_chops, opts.p)

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        n = x.shape[0]
        starts, ends, valid = (t.cpu() for t in speech_regions(x))
        r = starts.shape[1]
        if r == 0:
            return x
        chops = torch.randint(1, self.max_chops + 1, (n,), generator=generator)
        chops = torch.minimum(chops, valid.sum(-1))
        keys = torch.rand(n, r, generator=generator).masked_fill(~valid, 2.0)
        order = keys.argsort(-1)[:, : self.max_chops]  # random distinct regions, valid first
        c = order.shape[1]
        use = torch.arange(c) < chops.unsqueeze(-1)
        pair = self.factors[torch.randint(len(self.factors), (n, c), generator=generator)]
        noise = torch.randn(n, c, generator=generator, dtype=torch.float64)
        dur = ((pair[..., 0] + pair[..., 1] * noise) * SAMPLE_RATE).clamp_min(0)
        rs, re = starts.gather(1, order), ends.gather(1, order)
        centre = (rs + re).double() / 2
        a = torch.maximum(rs, (centre - dur / 2).round().long())
        b = torch.minimum(re, (centre + dur / 2).round().long())
        b = torch.where(use, b, a)
        return Fd.zero_intervals(x, a.to(x.device), b.to(x.device))

    def extra_repr(self) -> str:
        return f"factors={self.factors.tolist()}, max_chops={self.max_chops}"
