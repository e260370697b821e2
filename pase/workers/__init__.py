"""Workers ("minions"): small heads on PASE embeddings, each owning its target and loss.

Built from the original workers cfg JSON (``{"regr": [...], "cls": [...]}``, see
``pase/conf/workers/``): every entry is the options of one worker plus ``name`` (also the key
of its target), optional ``type`` (the worker kind) and ``loss`` (a ``torch.nn`` loss class
name). All kinds are frame-wise heads over ``(B, C, T)`` embeddings at 100 frames/s.

- :mod:`pase.workers.config`: the workers config loader and schema (common options and their
  defaults, :class:`WorkerOptions`);
- :mod:`pase.workers.registry`: the registry of worker kinds (:func:`register_worker`);
- :mod:`pase.workers.base`: :class:`Worker` (base class of every kind), :class:`Embeddings`;
- :mod:`pase.workers.kinds`: the built-in kinds, one module each (``mlp`` regressor,
  waveform ``decoder``, ``lim`` / ``gim`` info max, ``spc``, ``gap``);
- :mod:`pase.workers.blocks`: building blocks (MLP, deconvolution decoder, frame dropout);
- :mod:`pase.workers.build`: :func:`build_worker` (one entry -> a worker of its kind);
- :mod:`pase.workers.set`: :class:`WorkerSet`, all workers of a cfg and their losses.
"""

from pase.workers.base import Embeddings, Output, Rng, Targets, Worker
from pase.workers.build import build_worker
from pase.workers.config import (
    WorkerConfigError,
    WorkerOptions,
    WorkersConfigError,
    load_workers_cfg,
)
from pase.workers.registry import WORKER_KINDS, register_worker
from pase.workers.set import WorkerSet

__all__ = [
    "WORKER_KINDS",
    "Embeddings",
    "Output",
    "Rng",
    "Targets",
    "Worker",
    "WorkerConfigError",
    "WorkerOptions",
    "WorkerSet",
    "WorkersConfigError",
    "build_worker",
    "load_workers_cfg",
    "register_worker",
]
