"""Fixtures for the distortion tests: tiny impulse responses, noises, speech and FIR filters
written to tmp_path (nothing is read from outside the test tree)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import harmonic

SR = 16000


def decaying_ir(seconds: float, delay: int, rng: np.random.Generator) -> np.ndarray:
    """A room-like impulse response: ``delay`` zeros, a direct path, an exponential tail."""
    n = int(seconds * SR)
    t = np.arange(n)
    ir = 0.1 * rng.standard_normal(n) * np.exp(-t / (0.08 * SR))
    ir[:delay] = 0.0
    ir[delay] = 1.0
    return ir.astype(np.float32)


def band_stop(f_low: float, f_high: float, taps: int = 201) -> np.ndarray:
    """A windowed-sinc band-stop FIR (odd length, linear phase)."""
    n = np.arange(taps) - taps // 2
    lp = lambda fc: 2 * fc / SR * np.sinc(2 * fc / SR * n)  # noqa: E731
    h = lp(f_low) + (np.where(n == 0, 1.0, 0.0) - lp(f_high))
    return (h * np.hanning(taps)).astype(np.float32)


def make_tree(root: Path) -> dict:
    """Write a small data tree under ``root`` and return a config dict using it (all p = 0)."""
    rng = np.random.default_rng(1)
    (root / "irs").mkdir()
    for i, (sec, delay) in enumerate([(0.3, 40), (0.6, 0), (0.8, 120)]):
        np.save(root / "irs" / f"ir_{i}.npy", decaying_ir(sec, delay, rng))
    sf.write(root / "irs" / "ir_wav.wav", decaying_ir(0.5, 10, rng), SR)
    (root / "noises" / "a").mkdir(parents=True)
    (root / "noises" / "b").mkdir(parents=True)
    sf.write(root / "noises" / "a" / "white.wav", 0.1 * rng.standard_normal(3 * SR), SR)
    sf.write(root / "noises" / "b" / "short.wav", 0.1 * rng.standard_normal(SR // 2), SR)
    (root / "speech").mkdir()
    names = []
    for i, f0 in enumerate([110.0, 180.0, 240.0]):
        name = f"spk{i}.wav"
        sf.write(root / "speech" / name, harmonic(f0, 2.5), SR)
        names.append(name)
    (root / "speech.lst").write_text("\n".join(names) + "\n")
    (root / "filters").mkdir()
    for i, (lo, hi) in enumerate([(500, 1000), (1000, 2000), (3000, 4500)]):
        np.save(root / "filters" / f"filter_{i}_{lo}_{hi}.npy", band_stop(lo, hi))
    n = np.arange(101) - 50
    np.save(root / "filters" / "filter_16_to_8.npy", (0.5 * np.sinc(0.5 * n) * np.hanning(101)))
    return {
        "reverb_data_root": str(root / "irs"),
        "reverb_fmt": "npy",
        "reverb_irfiles": [],
        "reverb_p": 0.0,
        "overlap_dir": str(root / "speech"),
        "overlap_list": str(root / "speech.lst"),
        "overlap_snrs": [5, 7.5, 10],
        "overlap_reverb": False,
        "overlap_p": 0.0,
        "noises_dir": [str(root / "noises" / "a"), str(root / "noises" / "b")],
        "noises_snrs": [0, 5, 10],
        "noises_p": 0.0,
        "clip_factors": [0.1, 0.3, 0.5],
        "clip_p": 0.0,
        "chop_factors": [[0.05, 0.025], [0.1, 0.05]],
        "chop_p": 0.0,
        "downsample_data_root": str(root / "filters"),
        "downsample_fmt": "npy",
        "downsample_irfiles": ["filter_16_to_8.npy"],
        "downsample_p": 0.0,
        "bandrop_data_root": str(root / "filters"),
        "bandrop_fmt": "npy",
        "bandrop_irfiles": [],
        "bandrop_p": 0.0,
        "speed_range": [0.9, 1.1],
        "speed_p": 0.0,
        "resample_factors": [2, 4],
        "resample_p": 0.0,
    }


@pytest.fixture
def tree_cfg(tmp_path: Path) -> dict:
    """A config dict over a fresh data tree (every probability 0; tests switch some on)."""
    return make_tree(tmp_path)


def speechlike(batch: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """``(batch, L)`` float32: harmonic bursts of different pitch separated by silences."""
    rng = np.random.default_rng(seed)
    L = int(seconds * SR)
    out = np.zeros((batch, L), dtype=np.float32)
    for b in range(batch):
        pos = int(0.05 * SR)
        while pos < L - SR // 10:
            dur = int(rng.uniform(0.15, 0.35) * SR)
            h = harmonic(float(rng.uniform(100, 250)), dur / SR)
            burst = h * np.hanning(len(h))
            end = min(L, pos + len(h))
            out[b, pos:end] = burst[: end - pos]
            pos = end + int(rng.uniform(0.05, 0.15) * SR)
    return out
