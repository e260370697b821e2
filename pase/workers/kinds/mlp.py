"""``mlp``: frame-wise regressor of a ``(B, C, T)`` target, optionally ``r`` frames at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from pase.targets.functional import contextualize
from pase.workers.base import Embeddings, Output, Rng, Targets, Worker
from pase.workers.blocks import align_time, drop_frames
from pase.workers.config import WorkerOptions
from pase.workers.functional import contextual_mse
from pase.workers.registry import register_worker


@register_worker("mlp")
class RegressionWorker(Worker):
    """MLP regressor of target ``name`` ``(B, C, T)``: prediction ``(B, C * r, T)``.

    ``hidden_layers`` x [Conv1d(kernel ``context``) -> PReLU(0.25) -> Dropout], then a 1x1
    Conv1d. With ``r > 1`` each frame predicts the target at frames ``t - r//2 .. t + r//2``
    (zero-padded at the chunk edges), channel-major (index ``c * r + k``), the layout of
    :func:`pase.targets.functional.contextualize`. In training, whole input frames are zeroed
    with probability ``dropout_time``.
    """

    @dataclass(frozen=True)
    class Options(WorkerOptions):
        num_outputs: int = field()  # required (no default): the target's channels C
        r: int = 1
        context: int = 1
        dropout_time: float = 0.0

        def __post_init__(self) -> None:
            if self.r < 1:
                raise ValueError(f"r must be >= 1, got {self.r}")

    def __init__(self, name: str, emb_dim: int, opts: Options) -> None:
        super().__init__(name, emb_dim, opts)
        self.num_outputs = opts.num_outputs
        self.r = opts.r
        self.dropout_time = opts.dropout_time
        self.mlp = self.make_mlp(emb_dim, opts.num_outputs * opts.r, context=opts.context)

    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        x = emb.chunk
        if self.training:
            x = drop_frames(x, self.dropout_time, generator)
        pred = self.mlp(x)
        target = self._checked_target(targets)
        pred, target = align_time(pred, target, worker=self.name, tolerance=1)
        if self.r > 1:
            target = contextualize(target, self.r)
        return pred, target

    def loss_of(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Tensor:
        """With an MSE loss, :func:`pase.workers.functional.contextual_mse` on the last
        hidden layer: the same loss and gradients without forming the ``(B, C r, T)``
        prediction and contextualised target (PASE+'s LPS workers: 21525 x 3200 each)."""
        if not isinstance(self.criterion, nn.MSELoss) or self.criterion.reduction != "mean":
            return super().loss_of(emb, targets, generator)
        x = emb.chunk
        if self.training:
            x = drop_frames(x, self.dropout_time, generator)
        hidden = self.mlp.blocks(x)
        target = self._checked_target(targets)
        hidden, target = align_time(hidden, target, worker=self.name, tolerance=1)
        return contextual_mse(hidden, self.mlp.out.weight, self.mlp.out.bias, target, self.r)

    def _checked_target(self, targets: Targets) -> Tensor:
        target = self.target(targets)
        if target.dim() != 3 or target.shape[1] != self.num_outputs:
            raise ValueError(
                f"worker {self.name!r}: expected a target (B, {self.num_outputs}, T), "
                f"got {tuple(target.shape)}"
            )
        return target
