"""The worker base class and its input: every worker kind is one :class:`Worker` subclass
registered by name (:func:`pase.workers.registry.register_worker`).

A kind declares ``Options`` (a frozen dataclass derived from
:class:`pase.workers.config.WorkerOptions`: its config keys, defaults and checks), builds its
layers in ``__init__(name, emb_dim, opts)`` and returns ``(prediction, label)`` from
:meth:`Worker.forward`; the loss is the ``torch.nn`` criterion named by ``opts.loss``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from pase.workers.blocks import MLP
from pase.workers.config import WorkerConfigError, WorkerOptions

Targets = Mapping[str, Tensor]
"""Target name -> ``(B, C, T)`` frames or ``(B, 1, L)`` samples."""
Output = tuple[Tensor, Tensor]
"""``(prediction, label)`` of a worker."""
Rng = torch.Generator


class Embeddings(NamedTuple):
    """Encoder outputs ``(B, D, T)`` of the chunk, the context chunk and the random chunk."""

    chunk: Tensor
    ctxt: Tensor | None = None
    rand: Tensor | None = None

    @classmethod
    def split(cls, h: Tensor, parts: int = 3) -> Embeddings:
        """Split the encoder output of the stacked batch ``[chunk; ctxt; rand]`` ``(3B, D, T)``."""
        if h.dim() != 3 or h.shape[0] % parts:
            raise ValueError(
                f"expected stacked embeddings (B*{parts}, D, T), got shape {tuple(h.shape)}"
            )
        return cls(*h.chunk(parts, dim=0))


def build_criterion(name: str, *, worker: str) -> nn.Module:
    """A mean-reduced ``torch.nn`` loss from its class name (``MSELoss``, ``L1Loss``, ...)."""
    cls = getattr(nn, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, nn.modules.loss._Loss)):
        raise WorkerConfigError(
            f"worker {worker!r}: unknown loss {name!r} "
            "(expected a torch.nn loss class name such as MSELoss, L1Loss, BCEWithLogitsLoss)"
        )
    return cls()


class Worker(nn.Module, abc.ABC):
    """A named head on the embeddings with its criterion and loss weight.

    ``forward(emb, targets, generator)`` returns ``(prediction, label)``;
    ``loss(prediction, label)`` is the unweighted scalar loss. Subclasses set the class
    attributes below (``kind`` is set by registering) and are built as
    ``cls(name, emb_dim, opts)`` with ``opts`` a ``cls.Options``.
    """

    kind: ClassVar[str] = "worker"
    Options: ClassVar[type[WorkerOptions]] = WorkerOptions
    """The kind's options: the config keys of an entry (see :mod:`pase.workers.config`)."""
    cls_names: ClassVar[tuple[str, ...]] = ()
    """Worker names that select this kind in a cfg's ``"cls"`` list without a ``type``."""
    needs_context = False
    """Whether ``forward`` needs the context and random chunk embeddings."""
    target_key: str | None = None
    """Key of the worker's target in the targets dict (default: its name)."""

    def __init__(self, name: str, emb_dim: int, opts: WorkerOptions) -> None:
        super().__init__()
        self.name = name
        self.emb_dim = emb_dim
        self.opts = opts
        self.loss_name = opts.loss
        self.loss_weight = float(opts.loss_weight)
        self.criterion = build_criterion(opts.loss, worker=name)

    @classmethod
    def create(cls, name: str, emb_dim: int, **options: Any) -> Worker:
        """Build from keyword options (those of ``cls.Options``; defaults for the others)."""
        return cls(name, emb_dim, cls.Options(**options))

    def make_mlp(self, in_channels: int, out_channels: int, *, context: int = 1) -> MLP:
        """An :class:`pase.workers.blocks.MLP` with the hidden size, depth and dropout of this
        worker's options."""
        o = self.opts
        depth = {"hidden_size": o.hidden_size, "hidden_layers": o.hidden_layers}
        return MLP(in_channels, out_channels, context=context, dropout=o.dropout, **depth)

    def target(self, targets: Targets) -> Tensor:
        """This worker's target in ``targets`` (key ``target_key`` or the worker's name);
        KeyError naming the worker when it is missing."""
        key = self.target_key or self.name
        if key not in targets:
            raise KeyError(
                f"worker {self.name!r}: no target {key!r} in the targets dict "
                f"(have: {sorted(targets)})"
            )
        return targets[key]

    def loss(self, pred: Tensor, label: Tensor) -> Tensor:
        """Unweighted mean loss of ``pred`` against ``label``."""
        return self.criterion(pred, label.to(pred.dtype))

    @abc.abstractmethod
    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        """``(prediction, label)`` for the embeddings of a batch and its targets."""

    def loss_of(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Tensor:
        """The unweighted loss of this worker on a batch: ``loss(*forward(...))``. A kind may
        compute it without forming the prediction (same value and gradients, same use of
        ``generator``); the trainer calls this."""
        return self.loss(*self(emb, targets, generator))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, loss={self.loss_name}, loss_weight={self.loss_weight}"
