"""``spc``: sequence predictive coding (PASE v0.1), future vs past frames."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pase.constants import HOP
from pase.workers.base import Embeddings, Output, Rng, Targets, Worker
from pase.workers.blocks import binary_labels
from pase.workers.config import WorkerOptions
from pase.workers.registry import register_worker


@register_worker("spc")
class SPCWorker(Worker):
    """Sequence predictive coding: [frame t; ``ctxt_frames`` future frames] vs past frames.

    One centre frame ``t`` (same for the batch) in ``[M+1, T-M)`` with
    ``M = seq_pad + ctxt_frames``; a future window starting in ``[t + seq_pad, T - N)`` and a
    past window ending in ``[N, t - seq_pad)``. Prediction ``(2B, 1, 1)`` logits, labels 1
    (future) / 0 (past). Needs ``T >= 2M + 2`` frames.
    """

    cls_names = ("spc",)

    @dataclass(frozen=True)
    class Options(WorkerOptions):
        loss: str = "BCEWithLogitsLoss"
        ctxt_frames: int = 5
        seq_pad: int = 16

    def __init__(self, name: str, emb_dim: int, opts: Options) -> None:
        super().__init__(name, emb_dim, opts)
        self.ctxt_frames = opts.ctxt_frames
        self.seq_pad = opts.seq_pad
        self.mlp = self.make_mlp((self.ctxt_frames + 1) * emb_dim, opts.num_outputs)

    @property
    def min_frames(self) -> int:
        """Smallest number of frames this worker accepts."""
        return 2 * (self.seq_pad + self.ctxt_frames) + 2

    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        x = emb.chunk
        B, _, T = x.shape
        if T < self.min_frames:
            raise ValueError(
                f"worker {self.name!r}: needs at least {self.min_frames} frames per chunk "
                f"({self.min_frames * HOP} samples), got {T}"
            )
        N, pad = self.ctxt_frames, self.seq_pad
        M = N + pad

        def draw(lo: int, hi: int) -> int:
            return int(torch.randint(lo, hi, (1,), generator=generator).item())

        t = draw(M + 1, T - M)
        fut = draw(t + pad, T - N)
        past_end = draw(N, t - pad)
        cur = x[:, :, t]
        future = x[:, :, fut : fut + N].reshape(B, -1)
        past = x[:, :, past_end - N : past_end].reshape(B, -1)
        inp = torch.cat((torch.cat((cur, future), 1), torch.cat((cur, past), 1)), 0).unsqueeze(2)
        pred = self.mlp(inp)
        return pred, binary_labels(B, pred)
