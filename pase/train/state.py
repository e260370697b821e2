"""Full training-state checkpoints: written atomically, rotated, found again on restart.

A state file ``train_state_<step>.pt`` holds plain containers and tensors only (model and
worker weights, optimizers, data position, RNG states, loss history, options), so it loads
with ``torch.load(weights_only=True)``. The newest readable one is resumed; a file that cannot
be read (which atomic writes should prevent) is reported and the previous one is used.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from pase.io.atomic import torch_save_atomic
from pase.models.checkpoint import CheckpointError, read_checkpoint

FORMAT = "pase-train-state"
_NAME = re.compile(r"^train_state_(\d+)\.pt$")


def state_path(save_path: str | os.PathLike, step: int) -> Path:
    """File name of the state after ``step`` optimizer steps."""
    return Path(save_path) / f"train_state_{step:09d}.pt"


def list_states(save_path: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, path) of the state files in ``save_path``, oldest first."""
    folder = Path(save_path)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def save_state(save_path: str | os.PathLike, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` for ``step`` atomically, then delete all but the newest ``keep``."""
    path = state_path(save_path, step)
    torch_save_atomic({"format": FORMAT, "version": 1, "step": step, **state}, path)
    for _, old in list_states(save_path)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_latest_state(save_path: str | os.PathLike) -> dict[str, Any] | None:
    """The newest readable training state in ``save_path`` (None when there is none)."""
    for step, path in reversed(list_states(save_path)):
        try:
            state = read_checkpoint(path)
        except CheckpointError as e:
            warnings.warn(f"skipping unreadable training state {path}: {e}", stacklevel=2)
            continue
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            warnings.warn(f"skipping {path}: not a pase training state", stacklevel=2)
            continue
        state["path"] = str(path)
        if state.get("step") != step:
            raise CheckpointError(
                f"{path}: file name says step {step}, content {state.get('step')}"
            )
        return state
    return None


def rng_state(device: torch.device) -> dict[str, Any]:
    """Global torch RNG states of this process (CPU and the current CUDA device)."""
    out: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state(device)
    return out


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Restore :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
