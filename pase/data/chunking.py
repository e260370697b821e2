"""Pure functions for cutting training chunks out of waveforms (numpy, samples at 16 kHz)."""

from __future__ import annotations

import re

import numpy as np


def window_offset(num_samples: int, size: int, rng: np.random.Generator) -> int:
    """Uniform random start of a ``size``-sample window in ``num_samples`` (0 if shorter)."""
    if num_samples <= size:
        return 0
    return int(rng.integers(0, num_samples - size + 1))


def reflect_pad(x: np.ndarray, size: int) -> np.ndarray:
    """Pad ``x`` ``(L,)`` at the end to ``size`` samples by mirror reflection (repeated as needed).

    A one-sample input is repeated. Inputs already ``size`` long or longer are returned as is.
    """
    n = x.shape[0]
    if n >= size:
        return x
    if n == 0:
        raise ValueError("cannot pad an empty waveform")
    mode = "reflect" if n > 1 else "edge"
    return np.pad(x, (0, size - n), mode=mode)


def random_scale(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Divide by ``max |x|`` and multiply by a gain drawn from U(0, 1) (silence stays silent)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    gain = float(rng.uniform(0.0, 1.0))
    if peak <= 0.0:
        return x
    return (x * (gain / peak)).astype(x.dtype, copy=False)


_TRAILING_NUMBER = re.compile(r"\d+(\.[^./]*)?$")


def segment_prefix(filename: str) -> str:
    """The original's neighbour key: the base name without its trailing ``<digits>.<ext>``.

    ``1001-134707-0004-4.wav`` -> ``1001-134707-0004-`` (other segments of one utterance);
    ``1001-134707-0004.flac`` -> ``1001-134707-`` (other utterances of one chapter).
    """
    base = filename.rstrip("/").rsplit("/", 1)[-1]
    return _TRAILING_NUMBER.sub("", base)


def batches_per_epoch(
    total_samples: int, chunk_size: int, batch_size: int, world_size: int = 1
) -> int:
    """Iterations per epoch and process, as the original: ``total // chunk // batch``.

    With ``world_size`` processes each one runs ``total // chunk // (batch * world_size)``
    (one epoch covers the same number of chunks whatever the number of processes); at least 1.
    """
    if chunk_size <= 0 or batch_size <= 0 or world_size <= 0:
        raise ValueError("chunk_size, batch_size and world_size must be positive")
    return max(1, total_samples // chunk_size // (batch_size * world_size))
