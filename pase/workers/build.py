"""Building workers from their config entries through the registry of worker kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pase.workers.kinds  # noqa: F401  (registers the built-in worker kinds)
from pase.workers.base import Worker
from pase.workers.config import WorkerConfigError, options_from_spec
from pase.workers.registry import WORKER_KINDS

DEFAULT_KIND = "mlp"
"""Kind of an entry without ``type`` (and, in ``"cls"``, a name no kind claims)."""
UNSUPPORTED_TYPES = frozenset({"gru", "wavernn", "regularizer"})
"""Worker types of the original that this package does not implement."""


def worker_kind(spec: Mapping[str, Any], group: str) -> str:
    """Kind of a worker entry: its ``type``; without one, in the ``"cls"`` list, the kind
    whose ``cls_names`` has the entry's name (``mi`` -> ``lim``); otherwise ``mlp``."""
    name = spec["name"]
    kind = spec.get("type")
    if kind is None:
        claims = [w.kind for w in WORKER_KINDS if name in w.cls_names] if group == "cls" else []
        kind = claims[0] if claims else DEFAULT_KIND
    kind = str(kind).lower()
    if kind in UNSUPPORTED_TYPES:
        raise WorkerConfigError(f"worker {name!r}: worker type {kind!r} is not supported")
    if kind not in WORKER_KINDS:
        raise WorkerConfigError(
            f"worker {name!r}: unknown worker type {kind!r} (known: {WORKER_KINDS.names})"
        )
    return kind


def build_worker(spec: Mapping[str, Any], emb_dim: int, group: str = "regr") -> Worker:
    """Build one worker from its cfg entry for an encoder of ``emb_dim`` channels.

    ``group`` is the cfg list it came from (``"regr"`` or ``"cls"``), see :func:`worker_kind`.
    The entry is checked against the kind's ``Options`` (keys missing from it take their
    defaults, :mod:`pase.workers.config`); any error raises :class:`WorkerConfigError` naming
    the worker.
    """
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise WorkerConfigError(f"workers cfg {group!r}: every worker needs a 'name', got {spec!r}")
    name = str(spec["name"])
    if not name or "." in name:
        raise WorkerConfigError(f"worker {name!r}: invalid name (non-empty, no '.')")
    kind = worker_kind(spec, group)
    cls = WORKER_KINDS.get(kind)
    opts = options_from_spec(cls.Options, spec, worker=name, kind=kind)
    try:
        return cls(name, emb_dim, opts)
    except WorkerConfigError:
        raise
    except (ValueError, TypeError) as e:
        raise WorkerConfigError(f"worker {name!r} ({kind}): {e}") from e
