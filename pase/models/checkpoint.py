"""Safe reading of encoder checkpoints and matching them against a model's state_dict.

Formats understood:
- the original PASE ``FE_e*.ckpt``: a raw ``state_dict`` (what the published ``FE_e199.ckpt``
  is);
- the original saver format ``{"step": ..., "state_dict": ..., "optimizer": ...}``;
- ours (:meth:`pase.models.frontend.WaveFe.save`): ``{"format": "pase-frontend", "config":
  ..., "state_dict": ...}``.

Files are read with ``torch.load(weights_only=True)``: a file whose pickle contains anything
but tensors and plain containers is refused instead of executing its code. When loading fails,
the file's first bytes (and, for pickles, its opcodes, read without executing them) say what
it is instead: empty, JSON/YAML/other text, a plain pickle, a damaged checkpoint, ...
"""

from __future__ import annotations

import json
import os
import pickle
import pickletools
import re
import zipfile
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
    """``torch.load`` a file on CPU with pickle restricted to tensors and plain containers.

    Raises:
        CheckpointError: one line saying what the file is when it cannot be loaded: missing,
            empty, text/JSON/YAML or other non-checkpoint data ("not a PyTorch checkpoint
            (...)"), a truncated/corrupt checkpoint, or a pickle naming Python objects other
            than tensors and plain containers ("refused to load ... could run arbitrary
            code", naming them).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load of arbitrary bytes raises almost anything
        raise CheckpointError(f"{path}: {_diagnose(path, e)}") from e


# ------------------------------------------------------------------------ failure diagnosis
_SNIFF_BYTES = 64 * 1024
_PARSE_LIMIT = 16 * 1024 * 1024  # JSON/YAML files up to this size are parsed to name them
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a legacy (pre-zip) torch.save file
_SAFE_MODULES = ("torch", "collections")  # what weights_only accepts (tensors, OrderedDict)
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING",
               "BINSTRING", "SHORT_BINSTRING"}  # fmt: skip


def _first_line(e: BaseException) -> str:
    """The first sentence of an exception's message (torch's are long)."""
    lines = str(e).strip().splitlines()
    if not lines:
        return "the file ends early" if isinstance(e, EOFError) else type(e).__name__
    text = lines[0]
    return text.split(". ")[0].rstrip(".")[:160]


def _damaged(what: str, e: BaseException) -> str:
    return f"not a readable PyTorch checkpoint ({what}: {_first_line(e)})"


def _unsafe(names: list[str]) -> str:
    shown = ", ".join(sorted(set(names))[:5])
    return (
        f"refused to load: the file contains pickled Python objects other than tensors and "
        f"plain containers ({shown}), which could run arbitrary code when unpickled; only "
        "tensors/dicts/lists/numbers/strings are accepted"
    )


def _scan_pickles(path: Path, limit: int = 5) -> tuple[list[list[tuple[str, Any]]], list]:
    """Opcodes ``(name, argument)`` of up to ``limit`` consecutive complete pickles at the start
    of ``path`` and of the incomplete/invalid one after them (empty when none), read with
    :mod:`pickletools`, which never executes anything."""
    complete: list[list[tuple[str, Any]]] = []
    with open(path, "rb") as f:
        for _ in range(limit):
            ops: list[tuple[str, Any]] = []
            try:
                for op, arg, _pos in pickletools.genops(f):
                    ops.append((op.name, arg))
            except Exception:
                return complete, ops or [("<invalid>", None)]
            complete.append(ops)
            if not f.peek(1):
                break
    return complete, []


def _globals(ops: list[tuple[str, Any]]) -> list[str]:
    """``module.name`` of every global a pickle refers to (``GLOBAL`` and ``STACK_GLOBAL``,
    whose strings may come from the memo); a best effort, for messages only."""
    found: list[str] = []
    memo: dict[int, Any] = {}
    recent: list[Any] = []  # values pushed lately (strings or None)
    for name, arg in ops:
        if name in ("GLOBAL", "INST"):
            found.append(str(arg).replace(" ", "."))
            recent.append(None)
        elif name == "STACK_GLOBAL":
            if len(recent) >= 2 and isinstance(recent[-2], str) and isinstance(recent[-1], str):
                found.append(f"{recent[-2]}.{recent[-1]}")
            else:
                found.append("<unknown global>")
            recent.append(None)
        elif name in _STRING_OPS:
            recent.append(arg.decode("latin-1") if isinstance(arg, bytes) else str(arg))
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(int(arg)))
        elif name not in ("FRAME", "PROTO"):
            recent.append(None)
        del recent[:-8]
    return found


def _looks_like(head: bytes, path: Path) -> str:
    """What a file that is neither a torch zip nor a pickle looks like, from its first bytes."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy array"
    if head.startswith(b"RIFF") or head.startswith(b"fLaC"):
        return "an audio file"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    bad = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\r\n\f"))
    if b"\x00" in head or not text.strip() or bad > max(2, len(text) // 100):
        return f"binary data starting with {head[:8].hex(' ')}"
    body = text
    if len(head) == _SNIFF_BYTES and path.stat().st_size <= _PARSE_LIMIT:
        body = path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    elif len(head) == _SNIFF_BYTES:
        body = ""
    if body.lstrip()[:1] in ("{", "["):
        try:
            json.loads(body)
            return "JSON text"
        except ValueError:
            pass
    try:
        import yaml

        if isinstance(yaml.safe_load(body), (dict, list)):
            return "YAML text"
    except Exception:
        pass
    first = text.strip().splitlines()[0][:40]
    return f"text ({first!r}...)"


def _diagnose(path: Path, err: BaseException) -> str:
    """One-line explanation of why ``torch.load`` failed on ``path`` (see
    :func:`read_checkpoint`)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        return f"cannot read the checkpoint ({e})"
    if not head:
        return "not a PyTorch checkpoint (the file is empty)"
    named = (
        re.findall(r"GLOBAL\s+([\w.]+)", str(err))
        if isinstance(err, pickle.UnpicklingError)
        else []
    )
    if named:
        return _unsafe(named)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                members = z.namelist()
        except (zipfile.BadZipFile, OSError):
            return _damaged("a truncated or corrupt zip archive", err)
        if any(m.endswith("data.pkl") for m in members):
            return _damaged("a damaged torch.save archive", err)
        what = (
            "a NumPy .npz archive" if any(m.endswith(".npy") for m in members) else "a zip archive"
        )
        return f"not a PyTorch checkpoint (the file looks like {what}, without torch's data.pkl)"
    protocol2 = head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5
    complete, partial = _scan_pickles(path)
    if complete or protocol2:  # (protocol 0/1 pickles are text: only complete ones count)
        names = [g for ops in [*complete, partial] for g in _globals(ops)]
        bad = [g for g in names if g.split(".")[0] not in _SAFE_MODULES]
        if bad:
            return _unsafe(bad)
        if complete and any(n == "LONG1" and arg == _TORCH_MAGIC for n, arg in complete[0]):
            return _damaged("a truncated or damaged legacy torch.save file", err)
        if not complete:
            return "not a PyTorch checkpoint (a Python pickle that is cut short or invalid)"
        return "not a PyTorch checkpoint (a plain Python pickle, not written by torch.save)"
    return f"not a PyTorch checkpoint (the file looks like {_looks_like(head, path)})"


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
