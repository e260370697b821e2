"""Training and scoring a probe: a task head on frozen features, or on the encoder fine-tuned
with it (separate learning rates). The best epoch on the dev split is kept (early stopping
after ``patience`` epochs without improvement)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from pase.downstream.data import Batch, ProbeDataError, ProbeSet, collate
from pase.downstream.featurizer import EncoderFeatures
from pase.downstream.heads import FrameHead, UtteranceHead
from pase.downstream.metrics import Accuracy, confusion_matrix

TASKS = ("utt", "frame")


@dataclass
class ProbeConfig:
    """Probe settings (all stored in ``results.json``)."""

    task: str = "utt"  # utt: one label per utterance; frame: one per frame
    pooling: str = "mean"  # utt task: mean | stats
    hidden: int = 0  # 0: linear head; else MLP hidden units
    dropout: float = 0.1
    lr: float = 1e-3  # head (and weighted-sum) learning rate
    encoder_lr: float = 1e-5  # encoder learning rate when fine-tuning
    weight_decay: float = 0.0
    epochs: int = 20
    batch_size: int = 16
    patience: int = 5
    seed: int = 0
    max_trim: int = 3  # frame task: extra encoder frames dropped at the end

    def check(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")


class ProbeModel(nn.Module):
    """Optional encoder front end (waveform inputs) + feature normalisation + task head.

    ``forward(batch) -> (logits, lengths)``: ``(B, K)`` for the utterance task,
    ``(B, T, K)`` for the frame task.
    """

    def __init__(
        self,
        head: nn.Module,
        front: EncoderFeatures | None = None,
        mean: Tensor | None = None,
        std: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.front = front
        self.head = head
        self.register_buffer("mean", mean if mean is not None else torch.zeros(0))
        self.register_buffer("std", std if std is not None else torch.zeros(0))

    def forward(self, batch: Batch) -> tuple[Tensor, Tensor]:
        x, lengths = batch.x, batch.lengths
        if self.front is not None:
            x, lengths = self.front(x, lengths)
        if self.mean.numel():
            x = (x - self.mean) / self.std
            mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
            x = x * mask[..., None]
        return self.head(x, lengths), lengths


def build_probe(
    cfg: ProbeConfig, in_dim: int, num_classes: int, front: EncoderFeatures | None = None
) -> ProbeModel:
    """A :class:`ProbeModel` for the task of ``cfg``."""
    torch.manual_seed(cfg.seed)
    if cfg.task == "utt":
        head: nn.Module = UtteranceHead(
            in_dim, num_classes, pooling=cfg.pooling, hidden=cfg.hidden, dropout=cfg.dropout
        )
    else:
        head = FrameHead(in_dim, num_classes, hidden=cfg.hidden, dropout=cfg.dropout)
    return ProbeModel(head, front)


def feature_norm(data: ProbeSet) -> tuple[Tensor, Tensor]:
    """Per-dimension mean and std ``(C,)`` over every frame of a feature set."""
    frames = np.concatenate([e.x for e in data.examples]).astype(np.float64)
    return (
        torch.from_numpy(frames.mean(0)).float(),
        torch.from_numpy(frames.std(0)).float().clamp_min(1e-5),
    )


def _loss_and_decisions(
    logits: Tensor, lengths: Tensor, batch: Batch, cfg: ProbeConfig
) -> tuple[Tensor, Tensor, Tensor]:
    """Loss, predictions and targets of the scored decisions (frame task: labelled frames;
    up to ``max_trim`` extra encoder frames at an utterance's end are ignored)."""
    y = batch.y
    if cfg.task == "utt":
        return F.cross_entropy(logits, y), logits.argmax(-1), y
    labelled = (y != -100).sum(1)
    for utt, n, t in zip(batch.utts, lengths.tolist(), labelled.tolist()):
        if not t <= n <= t + cfg.max_trim:
            raise ProbeDataError(
                f"utterance {utt!r}: {n} feature frames for {t} labelled frames "
                f"(at most {cfg.max_trim} extra feature frames are ignored)"
            )
    logits = logits[:, : y.shape[1]]
    keep = y != -100
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
    return loss, logits.argmax(-1)[keep], y[keep]


@torch.no_grad()
def evaluate(model: ProbeModel, data: ProbeSet, cfg: ProbeConfig) -> dict:
    """Accuracy (with its 95 % interval), confusion matrix and per-utterance predictions."""
    model.eval()
    loader = DataLoader(data, batch_size=cfg.batch_size, collate_fn=collate)
    preds, trues, per_utt = [], [], {}
    for batch in loader:
        logits, lengths = model(batch)
        _, p, t = _loss_and_decisions(logits, lengths, batch, cfg)
        preds.append(p)
        trues.append(t)
        if cfg.task == "utt":
            for u, k in zip(batch.utts, p.tolist()):
                per_utt[u] = data.label_set.names[k]
    pred, true = torch.cat(preds).numpy(), torch.cat(trues).numpy()
    acc = Accuracy(int((pred == true).sum()), int(true.size))
    return {
        "accuracy": acc,
        "confusion": confusion_matrix(true, pred, len(data.label_set)),
        "predictions": per_utt,
    }


@dataclass
class ProbeResult:
    """What :func:`train_probe` returns: the best epoch and its dev accuracy, per-epoch
    history (train loss, dev accuracy, seconds)."""

    best_epoch: int
    best_dev: float
    history: list[dict] = field(default_factory=list)


def train_probe(
    model: ProbeModel,
    train: ProbeSet,
    dev: ProbeSet,
    cfg: ProbeConfig,
    log: Callable[[str], None] = print,
) -> ProbeResult:
    """Train ``model`` on ``train``; keep (load back) the weights of the best dev epoch."""
    cfg.check()
    g = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(
        train, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate, generator=g
    )
    head_params = [p for n, p in model.named_parameters() if not n.startswith("front.encoder.")]
    groups = [{"params": head_params, "lr": cfg.lr}]
    if model.front is not None and model.front.finetune:
        groups.append({"params": list(model.front.encoder.parameters()), "lr": cfg.encoder_lr})
    opt = torch.optim.Adam(groups, weight_decay=cfg.weight_decay)
    best = ProbeResult(best_epoch=0, best_dev=-1.0)
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total, n = 0.0, 0
        for batch in loader:
            logits, lengths = model(batch)
            loss, _, _ = _loss_and_decisions(logits, lengths, batch, cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch.utts)
            n += len(batch.utts)
        train_s = time.perf_counter() - t0
        dev_acc = evaluate(model, dev, cfg)["accuracy"].value
        best.history.append({"epoch": epoch, "train_loss": total / max(n, 1),
                             "dev_accuracy": dev_acc, "train_seconds": train_s})  # fmt: skip
        log(f"epoch {epoch}: train loss {total / max(n, 1):.4f}, dev accuracy {dev_acc:.4f} "
            f"({train_s:.1f} s)")  # fmt: skip
        if dev_acc > best.best_dev:
            best.best_epoch, best.best_dev = epoch, dev_acc
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - best.best_epoch >= cfg.patience:
            log(f"no dev improvement for {cfg.patience} epochs: stopping")
            break
    model.load_state_dict(best_state)
    return best


def config_dict(cfg: ProbeConfig) -> dict:
    """``cfg`` as plain values."""
    return asdict(cfg)
