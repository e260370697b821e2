"""Small task heads on ``(B, T, C)`` frame features (SUPERB-style probes): a linear layer, or
an MLP with ``hidden`` units, per utterance (after pooling) or per frame."""

from __future__ import annotations

from torch import Tensor, nn

from pase.downstream.pooling import mean_pool, stats_pool

POOLINGS = ("mean", "stats")


def _classifier(in_dim: int, num_classes: int, hidden: int, dropout: float) -> nn.Module:
    if hidden <= 0:
        return nn.Linear(in_dim, num_classes)
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)
    )


class UtteranceHead(nn.Module):
    """Pool the valid frames (``mean``, or ``stats``: mean and std) and classify:
    ``(B, T, C)``, lengths ``(B,)`` -> logits ``(B, num_classes)``."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        *,
        pooling: str = "mean",
        hidden: int = 0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        pooled = in_dim * (2 if pooling == "stats" else 1)
        self.classifier = _classifier(pooled, num_classes, hidden, dropout)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        pooled = stats_pool(x, lengths) if self.pooling == "stats" else mean_pool(x, lengths)
        return self.classifier(pooled)


class FrameHead(nn.Module):
    """Classify every frame: ``(B, T, C)`` -> logits ``(B, T, num_classes)``."""

    def __init__(
        self, in_dim: int, num_classes: int, *, hidden: int = 0, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.classifier = _classifier(in_dim, num_classes, hidden, dropout)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.classifier(x)
