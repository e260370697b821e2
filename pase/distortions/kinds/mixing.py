"""Kinds that add a signal drawn from a bank at a random SNR: overlapping speech and additive
noise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from pase.distortions import functional as Fd
from pase.distortions.banks import WaveBank
from pase.distortions.kinds.draws import pick
from pase.distortions.kinds.filters import Reverb
from pase.distortions.options import (
    DistortionOptions,
    boolean,
    directories,
    numbers,
    option,
    optional_text,
)
from pase.distortions.registry import BuildContext, Distortion, register_distortion

if TYPE_CHECKING:
    from pase.distortions.config import DistortionConfig

Tensor = torch.Tensor

_SNRS = numbers(True, lambda x: True, "a number")  # SNRs in dB


def _random_segments(bank: WaveBank, n: int, length: int, g: torch.Generator) -> Tensor:
    """A random file and a random ``length``-sample window of it per example (zero-padded when
    the file is shorter): ``(n, length)``."""
    idx = torch.randint(len(bank), (n,), generator=g)
    room = torch.from_numpy(bank.lengths)[idx].sub(length).clamp_min(0)
    starts = (torch.rand(n, generator=g, dtype=torch.float64) * (room + 1)).floor().long()
    return bank.segments(idx, starts, length)


@register_distortion("overlap", order=20)
class OverlapSpeech(Distortion):
    """Interfering speech starting at a random shift in ``[0, max_shift * L)`` (zeros before),
    optionally reverberated, added at an SNR drawn from a list (energy kept)."""

    class Config(DistortionOptions):
        dir: str | None = option(None, optional_text)
        list_file: str | None = option(None, optional_text, key="overlap_list")
        snrs: list[float] = option([0.0, 5.0, 10.0], _SNRS)
        reverb: bool = option(False, boolean)

        needs = "dir"

    def __init__(
        self,
        bank: WaveBank,
        snrs: Sequence[float],
        p: float,
        reverb: Reverb | None = None,
        max_shift: float = 0.75,
    ) -> None:
        super().__init__(p)
        self.bank = bank
        self.snrs = list(snrs)
        self.reverb = reverb
        self.max_shift = max_shift

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> OverlapSpeech:
        assert opts.dir is not None
        reverb: Any = ctx.distortion(Reverb.name) if opts.reverb else None
        if opts.list_file is not None:
            key = cls.key("list_file")
            files = ctx.list_files(opts.list_file, opts.dir, key=key)
        else:
            key = cls.key("dir")
            files = ctx.dir_files([opts.dir], key=key)
        return cls(ctx.bank(files, key), opts.snrs, opts.p, reverb=reverb)

    @classmethod
    def check_config(cls, opts: Config, config: DistortionConfig) -> None:
        if opts.reverb and opts.active and config.section(Reverb.name).irfiles is None:
            raise config.error(
                cls.key("reverb"),
                "is true but no impulse responses are configured "
                f"({Reverb.key('irfiles')!r} is not set)",
            )

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        n, L = x.shape
        speech = _random_segments(self.bank, n, L, generator).to(x)
        shift = (torch.rand(n, generator=generator) * (self.max_shift * L)).long()
        speech = Fd.shift_right(speech, shift.to(x.device))
        if self.reverb is not None:
            speech = self.reverb.apply(speech, generator)
        snr = pick(self.snrs, n, generator).to(x)
        return Fd.add_at_snr(x, speech, snr)

    def extra_repr(self) -> str:
        return f"snrs={self.snrs}, reverb={self.reverb is not None}, {self.bank!r}"


@register_distortion("noises", order=30)
class AdditiveNoise(Distortion):
    """A random noise segment added at an SNR drawn from a list (energy kept)."""

    class Config(DistortionOptions):
        dir: list[str] | None = option(None, directories)
        snrs: list[float] = option([0.0, 5.0, 10.0], _SNRS)
        cache: bool = option(False, boolean)  # original key, ignored (banks fit or stream)

        needs = "dir"

    def __init__(self, bank: WaveBank, snrs: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.bank = bank
        self.snrs = list(snrs)

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> AdditiveNoise:
        assert opts.dir is not None
        key = cls.key("dir")
        return cls(ctx.bank(ctx.dir_files(opts.dir, key=key), key), opts.snrs, opts.p)

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        n, L = x.shape
        noise = _random_segments(self.bank, n, L, generator).to(x)
        snr = pick(self.snrs, n, generator).to(x)
        return Fd.add_at_snr(x, noise, snr)

    def extra_repr(self) -> str:
        return f"snrs={self.snrs}, {self.bank!r}"
