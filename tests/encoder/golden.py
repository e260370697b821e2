"""The deterministic weight rule of the reference outputs (tests/data/pase_golden.npz).

tests/data/pase_golden.npz and frontend_state_dict_keys.json were produced by running the
original santi-pdp/pase code (commit 2a41e63, CPU) and copied from the project's shared
reference folder. The weights are not stored; this rule regenerates them.
"""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import torch

from tests.conftest import DATA


def reference_keys(name: str) -> list[tuple[str, list[int], str]]:
    """(key, shape, dtype) of the original's state_dict, in its order."""
    with open(DATA / "frontend_state_dict_keys.json") as f:
        return [tuple(e) for e in json.load(f)[name]]


def golden_state_dict(name: str) -> OrderedDict[str, torch.Tensor]:
    """Weights of the rule, keyed in the original's state_dict order."""
    rng = np.random.default_rng(20191016)
    values: dict[str, torch.Tensor] = {}
    for key, shape, _ in sorted(reference_keys(name), key=lambda e: e[0]):
        if key.endswith("num_batches_tracked"):
            values[key] = torch.tensor(0, dtype=torch.int64)
            continue
        a = rng.standard_normal(size=shape)
        if key.endswith("running_var"):
            v = 1 + 0.5 * np.abs(a)
        elif key.endswith("low_hz_"):
            v = 50 + 1000 * np.abs(a)
        elif key.endswith("band_hz_"):
            v = 50 + 500 * np.abs(a)
        elif key.endswith("act.weight"):
            v = 0.25 + 0.1 * a
        elif key.endswith("norm.weight"):
            v = 1 + 0.1 * a
        elif len(shape) >= 2:
            v = a / np.sqrt(np.prod(shape[1:]))
        else:
            v = 0.1 * a
        values[key] = torch.from_numpy(np.asarray(v, dtype=np.float32))
    return OrderedDict((k, values[k]) for k, _, _ in reference_keys(name))


def golden_outputs() -> dict[str, np.ndarray]:
    """Inputs and outputs of the original for the golden weights."""
    return dict(np.load(DATA / "pase_golden.npz"))
