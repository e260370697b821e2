"""Material shared by the synthetic corpora (``pase.corpus.synth_*``): eSpeak voices, a small
sentence grammar, simulated room impulse responses and coloured noises. Everything is drawn
from a caller's ``numpy`` generator, so a corpus is a function of its seed."""

from __future__ import annotations

import numpy as np

from pase.constants import SAMPLE_RATE

#: (eSpeak voice, gender, pitch 0-99, rate wpm): distinct voices, cycled with offsets
VOICES: tuple[tuple[str, str, int, int], ...] = (
    ("en-us+m1", "m", 40, 150),
    ("en-us+f2", "f", 60, 160),
    ("en-gb+m3", "m", 30, 140),
    ("en-us+f4", "f", 70, 175),
    ("en-gb-scotland+m5", "m", 50, 155),
    ("en-us+f1", "f", 45, 145),
    ("en-us+m7", "m", 55, 185),
    ("en-gb+f3", "f", 65, 150),
    ("en-us+m2", "m", 25, 165),
    ("en-gb+f5", "f", 80, 170),
    ("en-us+m4", "m", 35, 135),
    ("en-gb-x-rp+f2", "f", 52, 180),
    ("en-us+m6", "m", 62, 160),
    ("en-us-nyc+m3", "m", 45, 175),
    ("en-029+f4", "f", 58, 150),
    ("en-gb+m8", "m", 20, 150),
)

_WORDS = {
    "adj": "OLD YOUNG LITTLE GREAT DARK BRIGHT QUIET COLD WARM HEAVY GENTLE STRANGE GOLDEN "
    "SILENT DISTANT HONEST".split(),
    "noun": "MAN WOMAN CHILD HORSE RIVER HOUSE GARDEN LETTER WINDOW STORM SHIP FOREST CANDLE "
    "VILLAGE SOLDIER MORNING DOCTOR BRIDGE MOUNTAIN KITCHEN".split(),
    "verb": "FOUND CARRIED WATCHED FOLLOWED OPENED REMEMBERED LEFT ANSWERED BROUGHT PASSED "
    "MISSED CROSSED".split(),
    "prep": "ACROSS BEYOND BENEATH TOWARD AROUND BEHIND NEAR UNDER".split(),
    "adv": "SLOWLY|QUICKLY|SOFTLY|AGAIN|AT ONCE|ALL DAY|WITHOUT A WORD".split("|"),
    "name": "JOHN MARY THOMAS ELIZABETH HENRY MARGARET ARTHUR ALICE".split(),
    "aux": "DIDN'T COULDN'T WOULDN'T WASN'T".split(),
    "intr": "WAITED LAUGHED SLEPT LISTENED WANDERED TREMBLED".split(),
}
_TEMPLATES = (
    "THE {adj} {noun} {verb} THE {noun} {prep} THE {noun}",
    "{name} {verb} A {adj} {noun} AND {intr} {adv}",
    "IT {aux} SEEM THAT THE {noun} {intr} {prep} THE {adj} {noun}",
    "WHEN THE {noun} {intr} {name} {verb} THE {adj} {noun}",
    "{name} {intr} {prep} THE {noun} WHILE THE {adj} {noun} {intr}",
    "THEY {verb} THE {noun} {adv} AND THE {adj} {noun} {aux} KNOW IT",
)


def sentence(rng: np.random.Generator) -> str:
    """One random sentence of the grammar (upper case)."""
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    out = []
    for part in template.split():
        if part.startswith("{"):
            words = _WORDS[part.strip("{}")]
            out.append(words[int(rng.integers(len(words)))])
        else:
            out.append(part)
    return " ".join(out)


def unique_ints(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[int]:
    """``n`` distinct integers drawn from ``[lo, hi)``."""
    return [int(x) for x in rng.choice(np.arange(lo, hi), size=n, replace=False)]


def simulated_rir(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """Direct path at a 1-5 ms delay, a few early reflections, and Gaussian noise decaying by
    60 dB over ``rt60`` seconds; peak (direct path) 1."""
    n = int(min(1.0, 1.2 * rt60) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    delay = int(rng.integers(16, 80))
    h = np.zeros(n)
    h[delay] = 1.0
    for _ in range(5):
        k = delay + int(rng.integers(40, 800))
        if k < n:
            h[k] += rng.uniform(-0.6, 0.6)
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60)
    tail[: delay + 40] = 0.0
    h += 0.3 * tail
    return (h / np.max(np.abs(h))).astype(np.float32)


def colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """``n`` samples of noise with a ``1 / f ** exponent`` power spectrum (0 white, 1 pink,
    2 brown), not normalised."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    f[0] = f[1]
    x = np.fft.irfft(spec / f ** (exponent / 2.0), n)
    return x
