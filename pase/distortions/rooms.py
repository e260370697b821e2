"""Room impulse responses by the image method, with pyroomacoustics when it is installed
(an optional dependency: ``pip install pyroomacoustics``).

:func:`image_method_rir` draws a shoebox room (3-10 x 3-8 x 2.5-4 m), a source and a
microphone at least 0.5 m from every wall, and wall absorption and reflection order from the
target RT60 by Sabine's formula (``pyroomacoustics.inverse_sabine``); the response is computed
at 16 kHz, truncated to 1.5 s (what the reverb distortion uses) and scaled to peak 1. Without
pyroomacoustics the simulated responses of :func:`pase.corpus.synth_common.simulated_rir` are
the fallback (:mod:`pase.distortions.assets` chooses).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pase.constants import SAMPLE_RATE
from pase.distortions.kinds.filters import MAX_IR_LEN

#: room size ranges (m): length, width, height
ROOM_DIMS_M = ((3.0, 10.0), (3.0, 8.0), (2.5, 4.0))
#: the least distance of source and microphone from a wall (m)
WALL_MARGIN_M = 0.5
#: the highest image-source order computed (the longest rooms need ~150)
MAX_ORDER = 200


def image_method_version() -> str | None:
    """The installed pyroomacoustics version, None when it is not installed."""
    try:
        import pyroomacoustics
    except ImportError:
        return None
    return str(pyroomacoustics.__version__)


def image_method_rir(rng: np.random.Generator, rt60_s: float, fs: int = SAMPLE_RATE) -> np.ndarray:
    """One image-method impulse response of a random shoebox room with reverberation time
    ``rt60_s`` (s): float32, at most 1.5 s at ``fs`` Hz, peak 1.

    Raises:
        ImportError: pyroomacoustics is not installed.
    """
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(lo, hi) for lo, hi in ROOM_DIMS_M])
    absorption, order = pra.inverse_sabine(rt60_s, dims)
    room = pra.ShoeBox(
        dims, fs=fs, materials=pra.Material(absorption), max_order=min(int(order), MAX_ORDER)
    )
    room.add_source(rng.uniform(WALL_MARGIN_M, dims - WALL_MARGIN_M))
    room.add_microphone(rng.uniform(WALL_MARGIN_M, dims - WALL_MARGIN_M))
    room.compute_rir()
    h = np.asarray(room.rir[0][0], dtype=np.float64)[:MAX_IR_LEN]
    return (h / np.max(np.abs(h))).astype(np.float32)


def rt60_grid(n: int, lo_s: float = 0.2, hi_s: float = 0.9) -> list[float]:
    """``n`` reverberation times (s) spread evenly over ``[lo_s, hi_s]``."""
    return [lo_s + (hi_s - lo_s) * i / max(1, n - 1) for i in range(n)]


def rir_names(rt60s: Sequence[float]) -> list[str]:
    """The file names of the responses of ``rt60s``: ``room_<i>_rt<ms>ms.wav``."""
    return [f"room_{i:02d}_rt{round(t * 1000)}ms.wav" for i, t in enumerate(rt60s)]


def write_room_rirs(
    out_dir: str | os.PathLike, rt60s: Sequence[float], seed: int = 0
) -> list[Path]:
    """Image-method responses of ``rt60s`` as 24-bit 16 kHz wavs in ``out_dir`` (atomically,
    names of :func:`rir_names`), seeded; returns their paths."""
    import soundfile as sf

    from pase.io.atomic import atomic_open

    rng = np.random.default_rng(seed)
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rt60 in zip(rir_names(rt60s), rt60s):
        with atomic_open(d / name, "wb") as f:
            sf.write(f, image_method_rir(rng, rt60), SAMPLE_RATE, format="WAV", subtype="PCM_24")
        paths.append(d / name)
    return paths


__all__ = [
    "MAX_ORDER",
    "ROOM_DIMS_M",
    "WALL_MARGIN_M",
    "image_method_rir",
    "image_method_version",
    "rir_names",
    "rt60_grid",
    "write_room_rirs",
]
