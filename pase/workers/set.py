"""All workers of a workers config, keyed by name."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from pase.workers.base import Embeddings, Worker
from pase.workers.build import build_worker
from pase.workers.config import WorkerConfigError, load_workers_cfg


class WorkerSet(nn.Module):
    """All workers of a cfg, keyed by name (cfg order: ``regr`` then ``cls``).

    State dict keys ``workers.<name>.<layer>...``.
    """

    def __init__(self, workers: Sequence[Worker]) -> None:
        super().__init__()
        self.workers = nn.ModuleDict()
        for w in workers:
            if w.name in self.workers:
                raise WorkerConfigError(f"worker {w.name!r} appears twice")
            self.workers[w.name] = w

    @classmethod
    def from_config(cls, cfg: str | os.PathLike | Mapping[str, Any], emb_dim: int) -> WorkerSet:
        """Build from ``"workers"`` / ``"workers+"`` / a JSON path / a dict
        (:func:`pase.workers.config.load_workers_cfg`) for embeddings of ``emb_dim`` channels."""
        data, _ = load_workers_cfg(cfg)
        unknown = set(data) - {"regr", "cls", "regu"}
        if unknown:
            raise WorkerConfigError(
                f"workers cfg: unknown top-level key(s) {sorted(unknown)} "
                "(expected 'regr' and 'cls')"
            )
        if data.get("regu"):
            names = [s.get("name") for s in data["regu"]]
            raise WorkerConfigError(
                f"workers cfg: regulariser workers ('regu' list: {names}) are not supported"
            )
        workers = []
        for group in ("regr", "cls"):
            specs = data.get(group, [])
            if not isinstance(specs, list):
                raise WorkerConfigError(f"workers cfg: {group!r} must be a list")
            workers += [build_worker(s, emb_dim, group) for s in specs]
        if not workers:
            raise WorkerConfigError("workers cfg: no workers")
        return cls(workers)

    @property
    def names(self) -> list[str]:
        """Worker names in cfg order."""
        return list(self.workers.keys())

    @property
    def needs_context(self) -> bool:
        """True when some worker needs the context and random chunk embeddings."""
        return any(w.needs_context for w in self.workers.values())

    @property
    def loss_weights(self) -> dict[str, float]:
        """Worker name -> loss weight."""
        return {n: w.loss_weight for n, w in self.workers.items()}

    def __getitem__(self, name: str) -> Worker:
        return self.workers[name]

    def __iter__(self) -> Iterator[Worker]:
        return iter(self.workers.values())

    def __len__(self) -> int:
        return len(self.workers)

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        *,
        names: Sequence[str] | None = None,
        generator: torch.Generator | None = None,
        return_outputs: bool = False,
    ) -> dict[str, Tensor] | tuple[dict[str, Tensor], dict[str, tuple[Tensor, Tensor]]]:
        """Unweighted per-worker losses (scalars), for all workers or only ``names``.

        Args:
            emb: embeddings ``(B, D, T)`` of chunk, context chunk and random chunk.
            targets: target name -> ``(B, C, T)`` frames (normalised) or ``(B, 1, L)`` samples.
            names: subset of workers to run (e.g. ``select_half`` back-propagation).
            generator: RNG for the random choices of SPC / Gap / frame dropout.
            return_outputs: also return name -> (prediction, label).
        """
        losses: dict[str, Tensor] = {}
        outputs: dict[str, tuple[Tensor, Tensor]] = {}
        for name in self.names if names is None else names:
            w = self.workers[name]
            if return_outputs:
                pred, label = w(emb, targets, generator)
                losses[name] = w.loss(pred, label)
                outputs[name] = (pred, label)
            else:
                losses[name] = w.loss_of(emb, targets, generator)
        return (losses, outputs) if return_outputs else losses
