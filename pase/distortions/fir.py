"""FIR filters of the band-drop and narrow-band distortions, designed with ``scipy.signal``.

The distortions read them as 1-D float32 ``.npy`` arrays at 16 kHz (``bandrop_irfiles``,
``downsample_irfiles``; :mod:`pase.distortions.kinds.filters`): a band-stop filter masks one
frequency band, the low-pass filter simulates 16 -> 8 kHz narrow-band speech. Both are windowed
(Hamming) linear-phase designs (:func:`scipy.signal.firwin`); the distortion removes their
delay and keeps the energy of the input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from pase.constants import SAMPLE_RATE

#: narrow-band filter of the prepared assets: 3.75 kHz cutoff, 255 taps (at 16 kHz: >= 55 dB
#: down from 4 kHz, the Nyquist frequency of 8 kHz audio, upwards)
LOWPASS_CUTOFF_HZ = 3750.0
LOWPASS_TAPS = 255
#: band-stop filters of the prepared assets: 255 taps, bands 400-1500 Hz wide
BANDSTOP_TAPS = 255
BAND_WIDTH_HZ = (400.0, 1500.0)
#: lowest and highest band edges of the prepared band-stop filters (Hz)
BAND_EDGES_HZ = (200.0, 7600.0)
#: the file name the original PASE+ config gives the narrow-band filter
LOWPASS_NAME = "filter_16_to_8.npy"


def lowpass_fir(
    cutoff_hz: float = LOWPASS_CUTOFF_HZ, num_taps: int = LOWPASS_TAPS, fs: int = SAMPLE_RATE
) -> np.ndarray:
    """A low-pass FIR (``num_taps`` float32 coefficients, unit gain at 0 Hz) cutting at
    ``cutoff_hz`` (-6 dB point) for audio sampled at ``fs`` Hz."""
    from scipy.signal import firwin

    if not 0 < cutoff_hz < fs / 2:
        raise ValueError(f"low-pass cutoff {cutoff_hz} Hz must lie in (0, {fs / 2}) Hz")
    return firwin(num_taps, cutoff_hz, fs=fs).astype(np.float32)


def bandstop_fir(
    low_hz: float, high_hz: float, num_taps: int = BANDSTOP_TAPS, fs: int = SAMPLE_RATE
) -> np.ndarray:
    """A band-stop FIR (``num_taps`` float32 coefficients, odd) removing ``[low_hz,
    high_hz]`` (-6 dB points) from audio sampled at ``fs`` Hz."""
    from scipy.signal import firwin

    if not 0 < low_hz < high_hz < fs / 2:
        raise ValueError(f"band-stop band [{low_hz}, {high_hz}] Hz must lie in (0, {fs / 2}) Hz")
    if num_taps % 2 == 0:
        raise ValueError(f"a band-stop FIR needs an odd number of taps, got {num_taps}")
    return firwin(num_taps, [low_hz, high_hz], fs=fs, pass_zero="bandstop").astype(np.float32)


def random_bands(
    rng: np.random.Generator,
    n: int,
    *,
    width_hz: tuple[float, float] = BAND_WIDTH_HZ,
    edges_hz: tuple[float, float] = BAND_EDGES_HZ,
) -> list[tuple[float, float]]:
    """``n`` bands ``(low, high)`` in Hz: the width uniform in ``width_hz``, the low edge
    uniform in ``[edges_hz[0], edges_hz[1] - width]``; rounded to 1 Hz."""
    out = []
    for _ in range(n):
        width = float(rng.uniform(*width_hz))
        low = float(rng.uniform(edges_hz[0], edges_hz[1] - width))
        out.append((round(low), round(low + width)))
    return out


def bandstop_name(i: int, band: tuple[float, float]) -> str:
    """The file name of band-stop filter ``i`` of ``band`` (Hz):
    ``bandrop_<i>_<low>_<high>.npy``."""
    return f"bandrop_{i:02d}_{int(band[0])}_{int(band[1])}.npy"


def filter_bank(
    bands: list[tuple[float, float]],
    *,
    lowpass: np.ndarray | None = None,
    bandstop_taps: int = BANDSTOP_TAPS,
) -> dict[str, np.ndarray]:
    """File name -> coefficients: the low-pass filter (:data:`LOWPASS_NAME`; default
    :func:`lowpass_fir`) and one band-stop filter per band (:func:`bandstop_name`)."""
    out = {LOWPASS_NAME: lowpass_fir() if lowpass is None else lowpass}
    for i, band in enumerate(bands):
        out[bandstop_name(i, band)] = bandstop_fir(*band, num_taps=bandstop_taps)
    return out


def save_filters(out_dir: str | os.PathLike, filters: Mapping[str, np.ndarray]) -> list[Path]:
    """Write each filter as ``out_dir/<name>`` (1-D float32 ``.npy``, atomically); returns
    the paths in the order given."""
    from pase.io.atomic import atomic_open

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, h in filters.items():
        with atomic_open(d / name, "wb") as f:
            np.save(f, np.asarray(h, dtype=np.float32).reshape(-1), allow_pickle=False)
        paths.append(d / name)
    return paths


def magnitude_db(h: np.ndarray, freqs_hz: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """The magnitude response of FIR ``h`` at ``freqs_hz`` (Hz), in dB."""
    from scipy.signal import freqz

    _, resp = freqz(np.asarray(h, dtype=np.float64), worN=np.asarray(freqs_hz), fs=fs)
    return 20.0 * np.log10(np.maximum(np.abs(resp), 1e-12))


__all__ = [
    "BANDSTOP_TAPS",
    "BAND_EDGES_HZ",
    "BAND_WIDTH_HZ",
    "LOWPASS_CUTOFF_HZ",
    "LOWPASS_NAME",
    "LOWPASS_TAPS",
    "bandstop_fir",
    "bandstop_name",
    "filter_bank",
    "lowpass_fir",
    "magnitude_db",
    "random_bands",
    "save_filters",
]
