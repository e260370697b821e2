"""Learning-rate schedules as pure functions of the training position.

``lr = base_lr * lr_factor(...)``, evaluated at every optimizer step (the original recomputed
it only every 100 iterations; the curve is the same, only smoother).
"""

from __future__ import annotations

import math

LR_MODES = ("step", "poly", "cos", "constant")


def lr_factor(
    mode: str,
    step: int,
    total_steps: int,
    steps_per_epoch: int,
    *,
    lrdec_step: int = 30,
    lrdecay: float = 0.1,
    power: float = 0.9,
    warmup_steps: int = 0,
) -> float:
    """Multiplier of the base learning rate before optimizer step ``step`` (0-based).

    Args:
        mode: ``"step"`` (times ``lrdecay`` every ``lrdec_step`` epochs), ``"poly"``
            (``(1 - step / total_steps) ** power``, reaching 0 at the end), ``"cos"``
            (half cosine from 1 to 0), ``"constant"``.
        step: optimizer steps done so far.
        total_steps: steps of the whole run (epochs x steps per epoch).
        steps_per_epoch: steps per epoch (for ``step`` mode).
        lrdec_step, lrdecay: ``step`` mode period (epochs) and factor.
        power: ``poly`` exponent (0.9 as the original).
        warmup_steps: linear warm-up from ``1 / warmup_steps`` to 1 over the first steps,
            multiplied with the schedule.
    """
    if mode not in LR_MODES:
        raise ValueError(f"lr_mode {mode!r} unknown; use one of {LR_MODES}")
    if total_steps < 1 or steps_per_epoch < 1:
        raise ValueError("total_steps and steps_per_epoch must be >= 1")
    progress = min(max(step, 0), total_steps) / total_steps
    if mode == "step":
        if lrdec_step < 1:
            raise ValueError(f"lrdec_step must be >= 1, got {lrdec_step}")
        factor = lrdecay ** ((step // steps_per_epoch) // lrdec_step)
    elif mode == "poly":
        factor = (1.0 - progress) ** power
    elif mode == "cos":
        factor = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        factor = 1.0
    if warmup_steps > 0 and step < warmup_steps:
        factor *= (step + 1) / warmup_steps
    return factor
