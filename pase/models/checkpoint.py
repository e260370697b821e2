"""Safe reading of encoder checkpoints and matching them against a model's state_dict.

Formats understood:
- the original PASE ``FE_e*.ckpt``: a raw ``state_dict`` (what the published ``FE_e199.ckpt``
  is);
- the original saver format ``{"step": ..., "state_dict": ..., "optimizer": ...}``;
- ours (:meth:`pase.models.frontend.WaveFe.save`): ``{"format": "pase-frontend", "config":
  ..., "state_dict": ...}``.

Files are read with ``torch.load(weights_only=True)``: a file whose pickle contains anything
but tensors and plain containers is refused instead of executing its code.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CheckpointError",
    "StateDictMatch",
    "extract_state_dict",
    "match_state_dict",
    "read_checkpoint",
    "strip_prefixes",
]

PREFIXES = ("module.", "frontend.")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (unsafe, unreadable, or incompatible with the model)."""


def read_checkpoint(path: str | os.PathLike) -> Any:
    """``torch.load`` a file on CPU with pickle restricted to tensors and plain containers."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path}: refused to load: the file contains pickled Python objects other than "
            "tensors and plain containers, which could run arbitrary code when unpickled. "
            f"Only tensors/dicts/lists/numbers/strings are accepted. Details: {e}"
        ) from e
    except (RuntimeError, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({e})") from e


def extract_state_dict(obj: Any, source: str = "checkpoint") -> OrderedDict[str, torch.Tensor]:
    """The state_dict inside a loaded checkpoint object (raw, saver or our format)."""
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{source}: no state_dict found (got {type(obj).__name__})")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(f"{source}: entries that are not tensors: {bad[:10]}")
    return OrderedDict(obj)


def strip_prefixes(
    state: dict[str, torch.Tensor], prefixes: tuple[str, ...] = PREFIXES
) -> OrderedDict[str, torch.Tensor]:
    """Remove leading ``module.`` (DataParallel/DDP) and ``frontend.`` (full PASE model)
    prefixes, repeatedly, from every key."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in state.items():
        k = key
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if k.startswith(p):
                    k = k[len(p) :]
                    changed = True
        if k in out:
            raise CheckpointError(f"two checkpoint keys map to {k!r} after prefix stripping")
        out[k] = value
    return out


@dataclass
class StateDictMatch:
    """Outcome of matching a checkpoint against a model (names only, plus shapes)."""

    loadable: OrderedDict[str, torch.Tensor] = field(default_factory=OrderedDict)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def report(self) -> str:
        """Human-readable summary naming every problem key."""
        lines = [f"{len(self.loadable)} tensors match"]
        if self.missing:
            lines.append(f"missing in checkpoint ({len(self.missing)}): {', '.join(self.missing)}")
        if self.unexpected:
            lines.append(f"not in model ({len(self.unexpected)}): {', '.join(self.unexpected)}")
        for name, want, got in self.mismatched:
            lines.append(f"shape mismatch {name}: model {list(want)} vs checkpoint {list(got)}")
        return "\n".join(lines)


def match_state_dict(
    model_state: dict[str, torch.Tensor], ckpt_state: dict[str, torch.Tensor]
) -> StateDictMatch:
    """Split checkpoint entries into loadable / unexpected / shape-mismatched, and list the
    model keys the checkpoint lacks."""
    m = StateDictMatch()
    for k, v in ckpt_state.items():
        if k not in model_state:
            m.unexpected.append(k)
        elif tuple(model_state[k].shape) != tuple(v.shape):
            m.mismatched.append((k, tuple(model_state[k].shape), tuple(v.shape)))
        else:
            m.loadable[k] = v
    m.missing = [k for k in model_state if k not in ckpt_state]
    return m
