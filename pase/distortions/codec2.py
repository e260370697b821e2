"""Codec2 round trip (16 kHz -> 8 kHz -> Codec2 encode/decode -> 16 kHz), optional.

Needs the ``pycodec2`` package (``pip install 'pase[codec2]'``; its wheels bundle the codec2 C
library). Codec2 is a sequential C codec, so this runs per example on the CPU; it is off by
default (``codec2_p`` 0).
"""

from __future__ import annotations

import numpy as np
import torch

from pase.constants import SAMPLE_RATE
from pase.distortions import functional as Fd

Tensor = torch.Tensor

CODEC_RATE = 8000
MAX_DELAY_S = 0.05  # search range of the codec delay compensation


class Codec2UnavailableError(ImportError):
    """Raised when codec2 is requested but the ``pycodec2`` package cannot be imported."""


def load_codec2(mode: int) -> object:
    """A ``pycodec2.Codec2`` encoder/decoder for bit rate ``mode`` (bit/s).

    Raises:
        Codec2UnavailableError: ``pycodec2`` is not installed or broken.
    """
    try:
        import pycodec2
    except ImportError as e:
        raise Codec2UnavailableError(
            "codec2 is not available: the codec2 distortion (codec2_p > 0) needs the pycodec2 "
            "package; install it with \"pip install 'pase[codec2]'\" (or pip install pycodec2), "
            f"or set codec2_p to 0 ({e})"
        ) from e
    return pycodec2.Codec2(int(mode))


def codec2_roundtrip(x: Tensor, mode: int = 1600, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """Code and decode each row of ``x`` ``(B, L)`` (at ``sample_rate`` Hz) with Codec2.

    Each row is band-limited and resampled to 8 kHz, peak-normalised into the int16 range,
    encoded and decoded frame by frame (zero-padded to whole frames), resampled back, aligned
    with the input (the codec delay, estimated per example from the amplitude envelopes within
    50 ms, is removed) and rescaled to the input energy. Returns ``(B, L)``.
    """
    if sample_rate % CODEC_RATE:
        raise ValueError(f"codec2 needs a multiple of {CODEC_RATE} Hz, got {sample_rate} Hz")
    factor = sample_rate // CODEC_RATE
    codec = load_codec2(mode)
    B, L = x.shape
    work = x.detach().to("cpu", torch.float32)
    low = Fd.decimate(work, factor)  # (B, M) at 8 kHz
    n = int(codec.samples_per_frame())
    m = low.shape[-1]
    padded = -(-m // n) * n
    peak = low.abs().amax(-1, keepdim=True).clamp_min(1e-9)
    pcm = (low / peak * 29000.0).round().clamp(-32768, 32767).to(torch.int16).numpy()
    dec = np.zeros((B, padded), dtype=np.float32)
    for b in range(B):
        row = np.zeros(padded, dtype=np.int16)
        row[:m] = pcm[b]
        for i in range(0, padded, n):
            dec[b, i : i + n] = codec.decode(codec.encode(row[i : i + n]))
    up = Fd.upsample(torch.from_numpy(dec), factor)[:, :L]
    if up.shape[-1] < L:
        up = torch.nn.functional.pad(up, (0, L - up.shape[-1]))
    lag = Fd.envelope_delay(up, work, int(MAX_DELAY_S * sample_rate))
    y = Fd.match_energy(Fd.shift_left(up, lag), Fd.energy(work))
    return y.to(device=x.device, dtype=x.dtype)
