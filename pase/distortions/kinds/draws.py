"""Random draws shared by the built-in kinds (from a CPU ``torch.Generator``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

Tensor = torch.Tensor


def pick(values: Sequence[float], n: int, g: torch.Generator) -> Tensor:
    """``n`` values drawn uniformly (with replacement) from ``values``: float64 ``(n,)``."""
    table = torch.tensor(values, dtype=torch.float64)
    return table[torch.randint(len(values), (n,), generator=g)]


def uniform(lo: float, hi: float, n: int, g: torch.Generator) -> Tensor:
    """``n`` values drawn uniformly from ``[lo, hi)``: float64 ``(n,)``."""
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)
