"""``lim`` / ``gim``: local / global info max discriminators (names ``mi`` / ``cmi``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from pase.workers.base import Embeddings, Output, Rng, Targets, Worker
from pase.workers.blocks import binary_labels
from pase.workers.config import WorkerOptions
from pase.workers.registry import register_worker


class InfoMaxWorker(Worker):
    """Discriminates (chunk, context chunk) pairs from (chunk, random chunk) pairs.

    Positives: channel-concatenation (chunk, ctxt); negatives: (chunk, rand); with ``augment``
    also (ctxt, chunk) positives and (ctxt, rand) negatives. Prediction ``(nB, 1, T)`` logits
    (``(nB, 1, 1)`` when ``pooled``: time-averaged first), label 1 for positives, 0 for
    negatives. Registered as LIM (frame-wise) and GIM (pooled) below.
    """

    pooled: ClassVar[bool] = False
    needs_context = True

    @dataclass(frozen=True)
    class Options(WorkerOptions):
        loss: str = "BCEWithLogitsLoss"
        augment: bool = False
        context: int = 1

    def __init__(self, name: str, emb_dim: int, opts: Options) -> None:
        super().__init__(name, emb_dim, opts)
        self.augment = opts.augment
        self.mlp = self.make_mlp(2 * emb_dim, opts.num_outputs, context=opts.context)

    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        c, ctx, rnd = emb.chunk, emb.ctxt, emb.rand
        if ctx is None or rnd is None:
            raise ValueError(f"worker {self.name!r} needs the context and random chunk embeddings")
        pos = [torch.cat((c, ctx), dim=1)]
        neg = [torch.cat((c, rnd), dim=1)]
        if self.augment:
            pos.append(torch.cat((ctx, c), dim=1))
            neg.append(torch.cat((ctx, rnd), dim=1))
        x = torch.cat(pos + neg, dim=0)
        if self.pooled:
            x = x.mean(dim=2, keepdim=True)
        pred = self.mlp(x)
        return pred, binary_labels(len(pos) * c.shape[0], pred)


@register_worker("lim")
class LIMWorker(InfoMaxWorker):
    """Local info max: one logit per frame."""

    cls_names = ("mi",)


@register_worker("gim")
class GIMWorker(InfoMaxWorker):
    """Global info max: one logit per time-averaged pair."""

    cls_names = ("cmi",)
    pooled = True
