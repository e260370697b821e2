from __future__ import annotations

import math

import pytest

from pase.train.schedules import lr_factor


def test_step_mode_decays_every_lrdec_step_epochs() -> None:
    f = [
        lr_factor("step", e * 10, 1000, 10, lrdec_step=30, lrdecay=0.5) for e in (0, 29, 30, 59, 60)
    ]
    assert f == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_poly_and_cos_reach_zero_at_the_end() -> None:
    assert lr_factor("poly", 0, 100, 10) == 1.0
    assert lr_factor("poly", 50, 100, 10) == pytest.approx(0.5**0.9)
    assert lr_factor("poly", 100, 100, 10) == 0.0
    assert lr_factor("cos", 50, 100, 10) == pytest.approx(0.5)
    assert lr_factor("cos", 100, 100, 10) == pytest.approx(0.0, abs=1e-12)


def test_warmup_multiplies_the_schedule() -> None:
    assert lr_factor("constant", 0, 100, 10, warmup_steps=4) == 0.25
    assert lr_factor("constant", 3, 100, 10, warmup_steps=4) == 1.0
    assert lr_factor("poly", 1, 100, 10, warmup_steps=4) == pytest.approx(0.5 * (0.99**0.9))
    assert math.isclose(lr_factor("constant", 50, 100, 10, warmup_steps=4), 1.0)


def test_bad_mode() -> None:
    with pytest.raises(ValueError, match="lr_mode"):
        lr_factor("linear", 0, 10, 1)
