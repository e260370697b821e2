"""Kinds that convolve with a bank of filters: reverberation (impulse responses), band-drop
(band-stop FIR filters) and narrow-band (16 -> 8 kHz low-pass FIR filters)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pase.distortions import functional as Fd
from pase.distortions.banks import WaveBank
from pase.distortions.options import (
    DistortionOptions,
    audio_format,
    boolean,
    file_list,
    option,
    optional_file_list,
    text,
)
from pase.distortions.registry import BuildContext, Distortion, register_distortion

Tensor = torch.Tensor

MAX_IR_LEN = 24000  # impulse responses are truncated to 1.5 s, as the original


class FilterFiles(DistortionOptions):
    """A bank of filter files: ``data_root`` / each of ``irfiles`` (``[]``: every
    ``*.{fmt}`` file of ``data_root``); the kind is off while ``irfiles`` is not set."""

    irfiles: list[str] | None = option(None, optional_file_list)
    fmt: str = option("npy", audio_format)
    data_root: str = option(".", text)

    needs = "irfiles"

    def bank(
        self,
        ctx: BuildContext,
        key: str,
        max_len: int | None = None,
        exclude: Sequence[str] = (),
    ) -> WaveBank:
        """The checked bank of these files (named ``key`` in errors), minus ``exclude``."""
        assert self.irfiles is not None
        files = ctx.root_files(self.data_root, self.irfiles, self.fmt, key=key, exclude=exclude)
        return ctx.bank(files, key, max_len)


@register_distortion("reverb", order=10)
class Reverb(Distortion):
    """Convolution with a random impulse response (direct-path delay removed, energy kept)."""

    class Config(FilterFiles):
        fmt: str = option("wav", audio_format)
        cache: bool = option(False, boolean)  # original key, ignored (banks fit or stream)

    def __init__(self, bank: WaveBank, p: float) -> None:
        super().__init__(p)
        self.bank = bank

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> Reverb:
        return cls(opts.bank(ctx, cls.key("irfiles"), MAX_IR_LEN), opts.p)

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = torch.randint(len(self.bank), (x.shape[0],), generator=generator)
        ir, _ = self.bank.stack(idx)
        return Fd.reverberate(x, ir.to(x))

    def extra_repr(self) -> str:
        return repr(self.bank)


class FirFilter(Distortion):
    """Filtering with a random FIR filter of a bank (linear-phase delay removed, energy
    kept); the base of :class:`BandDrop` and :class:`NarrowBand`."""

    Config = FilterFiles

    def __init__(self, bank: WaveBank, p: float) -> None:
        super().__init__(p)
        self.bank = bank

    @classmethod
    def from_config(cls, opts: FilterFiles, ctx: BuildContext) -> FirFilter:
        return cls(opts.bank(ctx, cls.key("irfiles")), opts.p)

    def apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = torch.randint(len(self.bank), (x.shape[0],), generator=generator)
        h, lengths = self.bank.stack(idx)
        return Fd.fir_filter(x, h.to(x), lengths.to(x.device))

    def extra_repr(self) -> str:
        return repr(self.bank)


@register_distortion("bandrop", order=90)
class BandDrop(FirFilter):
    """Frequency masking with a random band-stop filter.

    Deliberate change: when band-drop globs its folder, the narrow-band low-pass filters
    configured for ``downsample`` are not band-drop candidates (the original included them).
    """

    @classmethod
    def from_config(cls, opts: FilterFiles, ctx: BuildContext) -> BandDrop:
        low = ctx.config.section(NarrowBand.name)
        low_pass: Sequence[str] = ()
        if low.irfiles and opts.irfiles == []:
            low_pass = ctx.root_files(
                low.data_root, low.irfiles, low.fmt, key=NarrowBand.key("irfiles")
            )
        return cls(opts.bank(ctx, cls.key("irfiles"), exclude=low_pass), opts.p)


@register_distortion("downsample", order=100)
class NarrowBand(FirFilter):
    """Narrow-band simulation with a 16 -> 8 kHz low-pass filter (off while ``irfiles`` is
    empty, its default)."""

    class Config(FilterFiles):
        irfiles: list[str] = option([], lambda v, w: [] if v is None else file_list(v, w))
