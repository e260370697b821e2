"""The energy-based speech-region detector used by the chopper."""

from __future__ import annotations

import numpy as np
import torch

from pase.distortions.vad import mask_to_regions, speech_mask, speech_regions
from tests.conftest import harmonic
from tests.distortions.conftest import SR


def test_mask_to_regions() -> None:
    m = torch.tensor(
        [[0, 1, 1, 0, 0, 1, 0, 1], [1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]]
    ).bool()
    s, e, v = mask_to_regions(m)
    assert v.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert s[0].tolist() == [1, 5, 7] and e[0].tolist() == [3, 6, 8]
    assert s[1, 0] == 0 and e[1, 0] == 8


def test_finds_a_tone_burst_in_silence() -> None:
    x = np.zeros((2, 2 * SR), dtype=np.float32)
    x[0, SR // 2 : SR] = harmonic(150, 0.5)  # 0.5 s .. 1.0 s
    x[1, 3 * SR // 10 : 7 * SR // 10] = 0.01 * harmonic(220, 0.4)  # quiet burst, 0.3 .. 0.7 s
    starts, ends, valid = speech_regions(torch.from_numpy(x))
    assert valid.sum(1).tolist() == [1, 1]
    assert abs(int(starts[0, 0]) - SR // 2) <= 160 and abs(int(ends[0, 0]) - SR) <= 160
    assert abs(int(starts[1, 0]) - 3 * SR // 10) <= 160
    assert abs(int(ends[1, 0]) - 7 * SR // 10) <= 160


def test_burst_in_background_noise_and_pause_bridging() -> None:
    rng = np.random.default_rng(0)
    x = 1e-3 * rng.standard_normal(2 * SR).astype(np.float32)
    x[4000:12000] += harmonic(130, 0.5)  # frames 25 .. 75
    x[12320:16000] += harmonic(130, 3680 / SR)  # after a 20 ms pause: bridged
    x[16800:20000] += harmonic(130, 0.2)  # after a 50 ms pause: a new region
    x[26000:27000] += harmonic(300, 1000 / SR)  # 62 ms: short but kept
    x[30080:30400] += harmonic(300, 320 / SR)  # 20 ms (2 whole frames): dropped
    s, e, v = mask_to_regions(speech_mask(torch.from_numpy(x)[None]))
    regions = [(int(a), int(b)) for a, b, ok in zip(s[0], e[0], v[0]) if ok]
    expected = [(25, 100), (105, 125), (162, 169)]
    assert len(regions) == len(expected)
    for (a, b), (ea, eb) in zip(regions, expected):
        assert abs(a - ea) <= 1 and abs(b - eb) <= 1, regions


def test_silence_and_noise_only() -> None:
    z = torch.zeros(3, SR)
    assert not speech_mask(z).any()
    # stationary noise has no frame 10 dB above its own floor
    n = torch.from_numpy(np.random.default_rng(1).standard_normal((2, SR)).astype(np.float32))
    assert speech_mask(n).float().mean() < 0.05
    assert speech_mask(torch.zeros(2, 100)).shape == (2, 0)
