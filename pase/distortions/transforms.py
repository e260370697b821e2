"""Batch-aware distortion transforms: each draws its random choices and calls the pure functions.

A transform acts on the examples selected for it (``(n, L)``, already on the model device) and
draws everything from the ``torch.Generator`` it is given (a CPU generator, so the same seed
gives the same choices on any device). Selection (the per-example Bernoulli draw with the
transform's probability ``p``) and the fixed order are the job of
:class:`pase.distortions.Distortions`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch

from pase.constants import SAMPLE_RATE
from pase.distortions import functional as Fd
from pase.distortions.banks import WaveBank
from pase.distortions.codec2 import codec2_roundtrip, load_codec2
from pase.distortions.vad import speech_regions

Tensor = torch.Tensor
Generator = torch.Generator

MAX_IR_LEN = 24000  # impulse responses are truncated to 1.5 s, as the original


def _pick(values: Sequence[float], n: int, g: Generator) -> Tensor:
    """``n`` values drawn uniformly (with replacement) from ``values``: float64 ``(n,)``."""
    table = torch.tensor(values, dtype=torch.float64)
    return table[torch.randint(len(values), (n,), generator=g)]


def _uniform(lo: float, hi: float, n: int, g: Generator) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


class Distortion(ABC):
    """One distortion with its application probability ``p`` (per example)."""

    name: str = "distortion"

    def __init__(self, p: float) -> None:
        self.p = float(p)

    @abstractmethod
    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        """Distort every row of ``x`` ``(n, L)``; returns ``(n, L)`` on ``x``'s device."""

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}(p={self.p}{', ' + extra if extra else ''})"


class Reverb(Distortion):
    """Convolution with a random impulse response (direct-path delay removed, energy kept)."""

    name = "reverb"

    def __init__(self, bank: WaveBank, p: float) -> None:
        super().__init__(p)
        self.bank = bank

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        idx = torch.randint(len(self.bank), (x.shape[0],), generator=generator)
        ir, _ = self.bank.stack(idx)
        return Fd.reverberate(x, ir.to(x))

    def extra_repr(self) -> str:
        return repr(self.bank)


def _random_segments(bank: WaveBank, n: int, length: int, g: Generator) -> Tensor:
    """A random file and a random ``length``-sample window of it per example (zero-padded when
    the file is shorter): ``(n, length)``."""
    idx = torch.randint(len(bank), (n,), generator=g)
    room = torch.from_numpy(bank.lengths)[idx].sub(length).clamp_min(0)
    starts = (torch.rand(n, generator=g, dtype=torch.float64) * (room + 1)).floor().long()
    return bank.segments(idx, starts, length)


class AdditiveNoise(Distortion):
    """A random noise segment added at an SNR drawn from a list (energy kept)."""

    name = "noises"

    def __init__(self, bank: WaveBank, snrs: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.bank = bank
        self.snrs = list(snrs)

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        n, L = x.shape
        noise = _random_segments(self.bank, n, L, generator).to(x)
        snr = _pick(self.snrs, n, generator).to(x)
        return Fd.add_at_snr(x, noise, snr)

    def extra_repr(self) -> str:
        return f"snrs={self.snrs}, {self.bank!r}"


class OverlapSpeech(Distortion):
    """Interfering speech starting at a random shift in ``[0, max_shift * L)`` (zeros before),
    optionally reverberated, added at an SNR drawn from a list (energy kept)."""

    name = "overlap"

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

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        n, L = x.shape
        speech = _random_segments(self.bank, n, L, generator).to(x)
        shift = (torch.rand(n, generator=generator) * (self.max_shift * L)).long()
        speech = Fd.shift_right(speech, shift.to(x.device))
        if self.reverb is not None:
            speech = self.reverb.apply(speech, generator)
        snr = _pick(self.snrs, n, generator).to(x)
        return Fd.add_at_snr(x, speech, snr)

    def extra_repr(self) -> str:
        return f"snrs={self.snrs}, reverb={self.reverb is not None}, {self.bank!r}"


class SpeedChange(Distortion):
    """Tempo + pitch change by a factor drawn uniformly from ``[low, high]``."""

    name = "speed"

    def __init__(self, speed_range: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.low, self.high = float(speed_range[0]), float(speed_range[1])

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        f = _uniform(self.low, self.high, x.shape[0], generator).to(x)
        return Fd.speed_change(x, f)

    def extra_repr(self) -> str:
        return f"range=[{self.low}, {self.high}]"


class Resample(Distortion):
    """Decimation by a factor drawn from a list, then linear interpolation back to 16 kHz."""

    name = "resample"

    def __init__(self, factors: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.factors = list(factors)

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        return Fd.decimate_interpolate(x, _pick(self.factors, x.shape[0], generator).to(x))

    def extra_repr(self) -> str:
        return f"factors={self.factors}"


class Clipping(Distortion):
    """Clipping to a factor (drawn from a list) of the example's minimum and maximum."""

    name = "clip"

    def __init__(self, factors: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.factors = list(factors)

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        return Fd.clip(x, _pick(self.factors, x.shape[0], generator).to(x))

    def extra_repr(self) -> str:
        return f"factors={self.factors}"


class Codec2(Distortion):
    """Codec2 coding at ``kbps`` bit/s (needs ``pycodec2``; checked at construction)."""

    name = "codec2"

    def __init__(self, kbps: int, p: float) -> None:
        super().__init__(p)
        self.kbps = int(kbps)
        load_codec2(self.kbps)  # fail now, not mid-training

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        return codec2_roundtrip(x, self.kbps, SAMPLE_RATE)

    def extra_repr(self) -> str:
        return f"kbps={self.kbps}"


class Chopper(Distortion):
    """Temporal masking: zero stretches of samples inside detected speech regions.

    Per example: a number of chops uniform in ``1..max_chops`` (at most the number of speech
    regions found), that many distinct regions chosen at random; per chop a ``(mean, std)`` pair
    (seconds) drawn from ``factors``, a duration ``mean + std * N(0, 1)`` and a zeroed stretch
    of that duration centred on the region centre and clipped to the region.
    """

    name = "chop"

    def __init__(self, factors: Sequence[Sequence[float]], max_chops: int, p: float) -> None:
        super().__init__(p)
        self.factors = torch.tensor(factors, dtype=torch.float64).reshape(-1, 2)
        self.max_chops = int(max_chops)

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
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


class FirFilter(Distortion):
    """Filtering with a random FIR filter of a bank (linear-phase delay removed, energy kept):
    band-drop (``name="bandrop"``) or narrow-band low-pass (``name="downsample"``)."""

    def __init__(self, bank: WaveBank, p: float, name: str) -> None:
        super().__init__(p)
        self.bank = bank
        self.name = name

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        idx = torch.randint(len(self.bank), (x.shape[0],), generator=generator)
        h, lengths = self.bank.stack(idx)
        return Fd.fir_filter(x, h.to(x), lengths.to(x.device))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, {self.bank!r}"


class Gain(Distortion):
    """Random gain in dB drawn uniformly from ``[low, high]`` (our addition; off by default)."""

    name = "gain"

    def __init__(self, gain_db: Sequence[float], p: float) -> None:
        super().__init__(p)
        self.low, self.high = float(gain_db[0]), float(gain_db[1])

    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        return Fd.gain(x, _uniform(self.low, self.high, x.shape[0], generator).to(x))

    def extra_repr(self) -> str:
        return f"gain_db=[{self.low}, {self.high}]"
