"""The workers config: the original PASE JSON format ``{"regr": [...], "cls": [...]}``.

Every entry of ``"regr"`` (regression workers, each with a target of the same name) and
``"cls"`` (classification workers: LIM, GIM, SPC) is one worker. This module reads the file
(:func:`load_workers_cfg`: a built-in name, a path or a dict); :mod:`pase.workers` builds the
workers and :mod:`pase.targets` the targets from it.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONF_DIR = Path(__file__).resolve().parent.parent / "conf" / "workers"
BUILTIN_CFGS = {"workers": "workers.cfg", "workers+": "workers+.cfg"}


class WorkersConfigError(ValueError):
    """A workers config that cannot be turned into workers or targets (names the file and the
    worker)."""


def load_workers_cfg(cfg: str | os.PathLike | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Read a workers config: a built-in name (``"workers"`` = PASE, ``"workers+"`` =
    PASE+), a path to a JSON file, or an already-parsed dict (deep-copied). Returns
    ``(cfg, description)``, the description naming the file for error messages."""
    if isinstance(cfg, Mapping):
        return copy.deepcopy(dict(cfg)), "workers cfg <dict>"
    key = os.fspath(cfg)
    path = CONF_DIR / BUILTIN_CFGS[key] if key in BUILTIN_CFGS else Path(key)
    where = f"workers cfg {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        builtins = ", ".join(BUILTIN_CFGS)
        raise WorkersConfigError(f"{where}: cannot read ({e}); built-in names: {builtins}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkersConfigError(f"{where}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise WorkersConfigError(f"{where}: expected a JSON object with 'regr'/'cls' lists")
    return data, where
