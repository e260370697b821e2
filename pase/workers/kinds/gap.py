"""``gap``: predicts the normalised distance between two random frames."""

from __future__ import annotations

import torch

from pase.workers.base import Embeddings, Output, Rng, Targets, Worker
from pase.workers.config import WorkerOptions
from pase.workers.registry import register_worker


@register_worker("gap")
class GapWorker(Worker):
    """Predicts ``|a - b| / (T - 1)`` from the concatenated embeddings of two random frames.

    Prediction ``(B, num_outputs, 1)``, label ``(B, 1, 1)`` in [0, 1]. Options: the common
    ones (loss MSELoss).
    """

    cls_names = ("gap",)

    def __init__(self, name: str, emb_dim: int, opts: WorkerOptions) -> None:
        super().__init__(name, emb_dim, opts)
        self.mlp = self.make_mlp(2 * emb_dim, opts.num_outputs)

    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        x = emb.chunk
        B, _, T = x.shape
        if T < 2:
            raise ValueError(f"worker {self.name!r}: needs at least 2 frames, got {T}")
        a = torch.randint(0, T, (B,), generator=generator).to(x.device)
        b = torch.randint(0, T, (B,), generator=generator).to(x.device)
        rows = torch.arange(B, device=x.device)
        inp = torch.cat((x[rows, :, a], x[rows, :, b]), dim=1).unsqueeze(2)
        pred = self.mlp(inp)
        label = ((a - b).abs().to(pred.dtype) / (T - 1)).view(B, 1, 1)
        return pred, label
