"""The workers config: the original PASE JSON format ``{"regr": [...], "cls": [...]}``.

Every entry of ``"regr"`` (regression workers, each with a target of the same name) and
``"cls"`` (classification workers: LIM, GIM, SPC) is one worker: its ``name``, optional
``type`` (the worker kind) and the options of that kind. This module reads the file
(:func:`load_workers_cfg`: a built-in name, a path or a dict) and holds the schema of an
entry: :class:`WorkerOptions` (the keys of every kind, with their defaults, the one place
they are written), the keys accepted and ignored, and :func:`options_from_spec`, which checks
an entry against a kind's ``Options`` dataclass. :mod:`pase.workers` builds the workers and
:mod:`pase.targets` the targets from it.

Defaults of a key missing from an entry are the original PASE's: ``hidden_size`` 256,
``hidden_layers`` 2, ``dropout`` 0, ``loss_weight`` 1, ``num_outputs`` 1 (required for
``mlp``), the loss of the kind. The shipped ``workers.cfg`` / ``workers+.cfg`` give
``hidden_layers`` 1 (and ``hidden_size`` 64 for the decoder) explicitly.
"""

from __future__ import annotations

import copy
import json
import os
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from pase.configs import PACKAGE_CONF, not_found_hint, resolve_config

CONF_DIR = PACKAGE_CONF / "workers"
BUILTIN_CFGS = {"workers": "workers.cfg", "workers+": "workers+.cfg"}
_BUILTIN_PATHS = {key: CONF_DIR / name for key, name in BUILTIN_CFGS.items()}


class WorkersConfigError(ValueError):
    """A workers config that cannot be turned into workers or targets (names the file and the
    worker)."""


class WorkerConfigError(WorkersConfigError):
    """A worker entry that cannot be built (the message names the worker and the key)."""


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    """The keys every worker kind accepts, and their defaults.

    A kind's ``Options`` derives from this (a frozen dataclass): its fields are the kind's
    extra keys (types ``int``, ``float``, ``bool``, ``str`` or ``tuple[int, ...]``), it may
    override a default (``loss``) and check values in ``__post_init__`` (raise ValueError).
    """

    num_outputs: int = 1
    loss: str = "MSELoss"
    """A ``torch.nn`` loss class name (mean reduction)."""
    loss_weight: float = 1.0
    hidden_size: int = 256
    hidden_layers: int = 2
    dropout: float = 0.0


IGNORED_KEYS = frozenset({"name", "type", "keys", "transform", "num_inputs"})
"""Keys of an entry that are not worker options (``transform`` belongs to the target; ``keys``
and ``num_inputs`` are the original's bookkeeping)."""
NEUTRAL_ONLY: Mapping[str, Any] = {
    "skip": False,
    "norm_type": None,
    "dropin": 0,
    "tie_context_weights": False,
}
"""Options of the original accepted only at their neutral (default-off) value."""


def _convert(typ: Any, value: Any) -> Any:
    """``value`` as ``typ``; ValueError / TypeError when it is not one."""
    if typing.get_origin(typ) is tuple:
        if isinstance(value, (str, bytes, Mapping)):
            raise TypeError(value)
        (item, *_) = typing.get_args(typ)
        return tuple(_convert(item, v) for v in value)
    if typ is bool:
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise ValueError(value)
    if typ in (int, float, str):
        return typ(value)
    raise TypeError(f"unsupported option type {typ!r}")


def options_from_spec(
    options_cls: type[WorkerOptions], spec: Mapping[str, Any], *, worker: str, kind: str
) -> WorkerOptions:
    """The ``options_cls`` of worker entry ``spec`` (named ``worker``, of kind ``kind``): keys
    missing from the entry take the dataclass defaults. Unknown keys, a non-neutral value of
    an original option that is not supported, a value of the wrong type, a required key that
    is missing or a value the kind rejects raise :class:`WorkerConfigError`."""
    names = [f.name for f in fields(options_cls)]
    unknown = set(spec) - IGNORED_KEYS - set(NEUTRAL_ONLY) - set(names)
    if unknown:
        known = sorted(IGNORED_KEYS | set(NEUTRAL_ONLY) | set(names))
        raise WorkerConfigError(
            f"worker {worker!r} ({kind}): unknown key(s) {sorted(unknown)}; known: {known}"
        )
    for key, neutral in NEUTRAL_ONLY.items():
        if key in spec and spec[key] != neutral:
            raise WorkerConfigError(
                f"worker {worker!r}: {key}={spec[key]!r} is not supported (only {neutral!r})"
            )
    types = typing.get_type_hints(options_cls)
    values: dict[str, Any] = {}
    for f in fields(options_cls):
        if f.name in spec:
            try:
                values[f.name] = _convert(types[f.name], spec[f.name])
            except (TypeError, ValueError) as e:
                raise WorkerConfigError(
                    f"worker {worker!r}: bad value for {f.name!r}: {spec[f.name]!r}"
                ) from e
        elif f.default is MISSING and f.default_factory is MISSING:
            raise WorkerConfigError(f"worker {worker!r}: {f.name!r} is required")
    try:
        return options_cls(**values)
    except ValueError as e:
        raise WorkerConfigError(f"worker {worker!r} ({kind}): {e}") from e


def resolve_workers_cfg(cfg: str | os.PathLike) -> tuple[Path, str | None]:
    """``(file, built-in name or None)`` of a workers config: "workers" / "workers+" in any
    case, a file, or the original repository's ``cfg/workers/workers+.cfg`` (the packaged copy
    when that path does not exist here; :mod:`pase.configs`).

    Raises:
        WorkersConfigError: none of these.
    """
    found = resolve_config(cfg, _BUILTIN_PATHS)
    if found is None:
        raise WorkersConfigError(
            f"workers cfg {os.fspath(cfg)}: cannot read (no such file, not a built-in name); "
            + not_found_hint(_BUILTIN_PATHS)
        )
    return found


def load_workers_cfg(cfg: str | os.PathLike | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Read a workers config: a built-in name (``"workers"`` = PASE, ``"workers+"`` =
    PASE+, any case), a path to a JSON file (see :func:`resolve_workers_cfg`), or an
    already-parsed dict (deep-copied). Returns
    ``(cfg, description)``, the description naming the file for error messages."""
    if isinstance(cfg, Mapping):
        return copy.deepcopy(dict(cfg)), "workers cfg <dict>"
    path = resolve_workers_cfg(cfg)[0]
    where = f"workers cfg {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise WorkersConfigError(f"{where}: cannot read ({e})") from e
    except json.JSONDecodeError as e:
        raise WorkersConfigError(f"{where}: not valid JSON ({e})") from e
    if isinstance(data, dict):
        return data, where
    raise WorkersConfigError(f"{where}: expected a JSON object with 'regr'/'cls' lists")
