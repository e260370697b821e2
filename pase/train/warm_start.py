"""Warm start of a fresh ``pase-train`` run from earlier weights (not a resume: step 0, fresh
optimizers, the new run's options).

- ``--pretrained-ckpt FILE`` (the original's ``--pretrained_ckpt``): the encoder only, from the
  original's ``FE_e*.ckpt`` (a raw state_dict, e.g. the published ``FE_e199.ckpt``), the
  original saver format ``{"state_dict", ...}``, ours (:meth:`WaveFe.save`) or a training
  state of ours (its ``frontend.*`` weights). Every encoder tensor must be there with its shape.
- ``--net-ckpt FILE`` (the original's ``--net_ckpt``): the encoder and the workers, from a
  training state of ours (``train_state_*.pt``) or a state_dict with ``frontend.*`` and
  ``workers.<name>.*`` keys. The encoder must match completely; each worker is loaded when all
  of its tensors are there with the right shapes, and left at its random initialisation
  otherwise (a worker the checkpoint does not have, or one of another configuration) — the log
  lists which workers were loaded and which were not.

Files are read with :func:`pase.models.checkpoint.read_checkpoint` (no code can run).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import torch
from torch import nn

from pase.models.checkpoint import (
    CheckpointError,
    extract_state_dict,
    match_state_dict,
    read_checkpoint,
    strip_prefixes,
)

STATE_FORMAT = "pase-train-state"


def _model_state(path: str | os.PathLike) -> OrderedDict[str, torch.Tensor]:
    """The state_dict inside a checkpoint; for a training state of ours, its model."""
    obj = read_checkpoint(path)
    if isinstance(obj, dict) and obj.get("format") == STATE_FORMAT:
        obj = obj.get("model")
    return extract_state_dict(obj, str(path))


def _encoder_part(state: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Encoder tensors: the ``frontend.*`` entries of a full model, else everything (with the
    ``module.`` / ``frontend.`` prefixes removed)."""
    state = strip_prefixes(state, ("module.",))
    if any(k.startswith("frontend.") for k in state):
        state = OrderedDict((k, v) for k, v in state.items() if k.startswith("frontend."))
    return strip_prefixes(state)


def load_encoder_weights(frontend: nn.Module, path: str | os.PathLike) -> str:
    """Load every encoder tensor of ``path`` into ``frontend``; returns a log line.

    Raises:
        CheckpointError: the file is not a checkpoint, or encoder tensors are missing or have
            other shapes (named).
    """
    state = _encoder_part(_model_state(path))
    match = match_state_dict(frontend.state_dict(), state)
    if match.missing or match.mismatched:
        raise CheckpointError(f"{path}: does not fit this encoder:\n{match.report()}")
    frontend.load_state_dict(match.loadable)
    return f"warm start: encoder from {path} ({len(match.loadable)} tensors)"


def load_worker_weights(model: nn.Module, names: list[str], path: str | os.PathLike) -> str:
    """Load the workers (``model.workers[name]``) of the full-model checkpoint ``path`` that
    fit; returns a log line naming the loaded and the randomly initialised ones."""
    state = strip_prefixes(_model_state(path), ("module.",))
    qualname = {id(m): n for n, m in model.named_modules()}
    loaded, fresh = [], []
    for name in names:
        worker = model.workers[name]
        prefix = qualname[id(worker)] + "."
        want = worker.state_dict()
        have = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if set(want) == set(have) and all(want[k].shape == have[k].shape for k in want):
            worker.load_state_dict(have)
            loaded.append(name)
        else:
            fresh.append(name)
    line = f"warm start: workers from {path}: loaded {', '.join(loaded) or 'none'}"
    if fresh:
        line += f"; randomly initialised (absent or another configuration): {', '.join(fresh)}"
    return line


def warm_start(
    model: nn.Module,
    worker_names: list[str],
    *,
    pretrained_ckpt: str | os.PathLike | None = None,
    net_ckpt: str | os.PathLike | None = None,
) -> list[str]:
    """Apply ``--net-ckpt`` (encoder + workers) and/or ``--pretrained-ckpt`` (encoder; wins
    over the net checkpoint's encoder when both are given) to ``model`` (``.frontend``,
    ``.workers``); returns the log lines."""
    lines = []
    if net_ckpt:
        lines.append(load_encoder_weights(model.frontend, net_ckpt))
        lines.append(load_worker_weights(model, worker_names, net_ckpt))
    if pretrained_ckpt:
        lines.append(load_encoder_weights(model.frontend, pretrained_ckpt))
    return lines
