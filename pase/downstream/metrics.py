"""Scores of a classifier: accuracy with a Wilson confidence interval, confusion matrices
(and a plot of one, when matplotlib is installed)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Accuracy:
    """``correct`` of ``total`` decisions."""

    correct: int
    total: int

    @property
    def value(self) -> float:
        """Fraction correct (0 for no decisions)."""
        return self.correct / self.total if self.total else 0.0

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Wilson score interval (95 % for ``z`` 1.96) of the true accuracy. Decisions are
        treated as independent (frames of one utterance are not: for frame accuracy the
        interval is optimistic)."""
        n = self.total
        if n == 0:
            return 0.0, 1.0
        p = self.value
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def to_dict(self) -> dict:
        lo, hi = self.interval()
        return {"accuracy": self.value, "correct": self.correct, "total": self.total,
                "ci95": [lo, hi]}  # fmt: skip


def unweighted_accuracy(cm: np.ndarray) -> float:
    """Mean per-class recall of a confusion matrix (rows true): the "UA" of emotion
    recognition; classes without test examples are left out."""
    rows = cm.sum(1)
    seen = rows > 0
    return float((np.diag(cm)[seen] / rows[seen]).mean()) if seen.any() else 0.0


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def plot_confusion(
    cm: np.ndarray, labels: Sequence[str], path: str | os.PathLike, title: str = ""
) -> bool:
    """Save a row-normalised confusion matrix image; False (nothing written) without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = cm.sum(1, keepdims=True).clip(min=1)
    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(cm / rows, vmin=0, vmax=1, cmap="Blues")
    if len(labels) <= 60:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    from pase.io.atomic import atomic_open

    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=os.path.splitext(os.fspath(path))[1].lstrip(".") or "png", dpi=120)
    plt.close(fig)
    return True


def pool_results(runs: list[dict]) -> dict:
    """Several probe runs (e.g. the folds of a leave-one-session-out protocol) as one: test
    and dev counts summed (accuracy and interval of the pooled decisions), unweighted accuracy
    averaged over runs, epochs and seconds averaged."""
    if len(runs) == 1:
        return runs[0]
    out: dict = {"runs": len(runs)}
    for split in ("dev", "test"):
        acc = Accuracy(sum(r[split]["correct"] for r in runs), sum(r[split]["total"] for r in runs))
        d = acc.to_dict()
        uas = [r[split].get("unweighted_accuracy") for r in runs]
        d["unweighted_accuracy"] = None if None in uas else float(np.mean(uas))
        out[split] = d
    out["best_epoch"] = float(np.mean([r["best_epoch"] for r in runs]))
    out["seconds_per_epoch"] = float(np.mean([r["seconds_per_epoch"] for r in runs]))
    return out


def summary_table(results: dict[str, dict]) -> str:
    """A Markdown table of probe results (``name -> results.json`` contents, or
    :func:`pool_results` of several): test accuracy with its 95 % interval, unweighted
    accuracy, dev accuracy, best epoch, seconds per epoch."""
    lines = [
        "| system | test acc | 95 % CI | test UA | dev acc | epoch | s/epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        t, d = r["test"], r["dev"]
        lo, hi = t["ci95"]
        ua = t.get("unweighted_accuracy")
        runs = f" ({r['runs']} runs)" if "runs" in r else ""
        lines.append(
            f"| {name}{runs} | {100 * t['accuracy']:.1f} | {100 * lo:.1f}-{100 * hi:.1f} | "
            f"{'-' if ua is None else f'{100 * ua:.1f}'} | {100 * d['accuracy']:.1f} | "
            f"{r['best_epoch']:g} | {r['seconds_per_epoch']:.2f} |"
        )
    return "\n".join(lines) + "\n"
