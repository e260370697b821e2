"""What training shows: ``train.log`` lines, TensorBoard scalars, tqdm progress on a TTY, a
JSON loss history and a loss-curve PNG per epoch (``loss_curves.png``); with a progress file
(``--progress-file /dev/tty``) one short line per log interval there too, for a terminal
whose command's output goes to a log (a recipe's job launcher)."""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from pase.io.atomic import atomic_open, write_json_atomic


class Monitor:
    """Collects per-step losses and timings; writes log lines every ``log_freq`` steps.

    Only the process that owns it writes (rank 0 under DDP: pass ``enabled=False`` elsewhere).
    ``history`` (``{"train": [...], "valid": [...]}``) is part of the training state, so curves
    continue across restarts.
    """

    def __init__(
        self,
        save_path: str | Path,
        *,
        log_freq: int,
        total_steps: int,
        tensorboard: bool,
        enabled: bool = True,
        history: dict[str, list[dict[str, Any]]] | None = None,
        progress: bool | None = None,
        progress_file: str | os.PathLike | None = None,
    ) -> None:
        self.save_path = Path(save_path)
        self.log_freq = log_freq
        self.total_steps = total_steps
        self.enabled = enabled
        self.history = history or {"train": [], "valid": []}
        self._acc: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)
        self._times: dict[str, float] = defaultdict(float)
        self._steps = 0
        self._audio = 0.0
        self._t0 = time.perf_counter()
        self.writer = None
        self.bar = None
        self.progress_file: Any = None
        if not enabled:
            return
        self.save_path.mkdir(parents=True, exist_ok=True)
        self.log_file = open(self.save_path / "train.log", "a", encoding="utf-8")
        if progress_file is not None:
            try:
                self.progress_file = open(progress_file, "a", encoding="utf-8")
            except OSError as e:  # e.g. /dev/tty in a batch job: no terminal
                self.line(f"note: --progress-file {progress_file}: cannot open ({e}); skipped")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.save_path / "tensorboard"))
            except ImportError:
                warnings.warn(
                    "--tensorboard True but the tensorboard package is missing "
                    "(pip install tensorboard); scalars go to train.log and history.json only",
                    stacklevel=2,
                )
        if progress is None:
            progress = sys.stderr.isatty()
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, unit="step", dynamic_ncols=True)

    # ------------------------------------------------------------------ steps
    def line(self, text: str) -> None:
        """Write one line to train.log and stdout (or above the progress bar)."""
        if not self.enabled:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self.log_file.write(f"{stamp} {text}\n")
        self.log_file.flush()
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def progress(self, text: str) -> None:
        """Write ``pase-train: <text>`` to the progress file (when there is one); a write
        error (the terminal went away) closes it and training goes on."""
        if self.progress_file is None:
            return
        try:
            self.progress_file.write(f"pase-train: {text}\n")
            self.progress_file.flush()
        except OSError:
            self._close_progress()

    def _close_progress(self) -> None:
        f, self.progress_file = self.progress_file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def step(
        self,
        step: int,
        losses: dict[str, float],
        total: float,
        timings: dict[str, float],
        audio_seconds: float,
    ) -> None:
        """Record the step just done (``step`` = steps done so far)."""
        for k, v in losses.items():
            self._acc[k] += v
            self._count[k] += 1
        self._acc["total"] += total
        self._count["total"] += 1
        for k, v in timings.items():
            self._times[k] += v
        self._steps += 1
        self._audio += audio_seconds
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix(loss=f"{total:.3f}", refresh=False)
            self.bar.update(0)

    def flush_interval(self, step: int, epoch: int, lrs: dict[str, float]) -> None:
        """Write the averages of the steps since the last call (a no-op without steps)."""
        if self._steps == 0:
            return
        elapsed = time.perf_counter() - self._t0
        means = {k: self._acc[k] / self._count[k] for k in self._acc}
        total = means.pop("total")
        rate = self._steps / max(elapsed, 1e-9)
        audio_rate = self._audio / max(elapsed, 1e-9)
        split = {k: v / self._steps for k, v in self._times.items()}
        if self.enabled:
            worker_txt = " ".join(f"{k} {v:.4f}" for k, v in means.items())
            time_txt = " ".join(f"{k} {v * 1000:.0f}ms" for k, v in split.items())
            lr_txt = " ".join(f"{k} {v:.3g}" for k, v in lrs.items())
            self.line(
                f"step {step}/{self.total_steps} epoch {epoch} loss {total:.4f} | {worker_txt} | "
                f"lr {lr_txt} | {rate:.2f} steps/s {audio_rate:.1f} audio-s/s | {time_txt}"
            )
            self.progress(progress_line(step, self.total_steps, epoch, total, rate))
            self.history["train"].append(
                {"step": step, "epoch": epoch, "loss": total, "losses": means}
            )
            if self.writer is not None:
                self.writer.add_scalar("train/loss", total, step)
                for k, v in means.items():
                    self.writer.add_scalar(f"train/{k}", v, step)
                for k, v in lrs.items():
                    self.writer.add_scalar(f"lr/{k}", v, step)
                self.writer.add_scalar("speed/steps_per_s", rate, step)
                self.writer.add_scalar("speed/audio_s_per_s", audio_rate, step)
                for k, v in split.items():
                    self.writer.add_scalar(f"time/{k}", v, step)
        self._acc.clear()
        self._count.clear()
        self._times.clear()
        self._steps = 0
        self._audio = 0.0
        self._t0 = time.perf_counter()

    def valid(self, step: int, epoch: int, losses: dict[str, float], total: float) -> None:
        """Record validation losses (mean over the validation batches)."""
        if not self.enabled:
            return
        txt = " ".join(f"{k} {v:.4f}" for k, v in losses.items())
        self.line(f"valid step {step} epoch {epoch} loss {total:.4f} | {txt}")
        self.progress(f"valid step {step} epoch {epoch} loss {total:.4f}")
        self.history["valid"].append(
            {"step": step, "epoch": epoch, "loss": total, "losses": losses}
        )
        if self.writer is not None:
            self.writer.add_scalar("valid/loss", total, step)
            for k, v in losses.items():
                self.writer.add_scalar(f"valid/{k}", v, step)

    # ------------------------------------------------------------------ files
    def save_history(self) -> None:
        """``history.json`` (atomic) and ``loss_curves.png`` (when matplotlib is installed)."""
        if not self.enabled:
            return
        write_json_atomic(self.save_path / "history.json", self.history)
        self.plot(self.save_path / "loss_curves.png")
        if self.writer is not None:
            self.writer.flush()

    def plot(self, path: Path) -> bool:
        """Loss curves per worker (train averages and validation), log-scale y; False when
        matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return False
        names = [
            "loss",
            *sorted(
                {k for e in self.history["train"] + self.history["valid"] for k in e["losses"]}
            ),
        ]
        cols = 4
        rows = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
        for ax, name in zip(axes.flat, names):
            for split, style in (("train", "-"), ("valid", "o-")):
                pts = [
                    (e["step"], e["loss"] if name == "loss" else e["losses"].get(name))
                    for e in self.history[split]
                ]
                pts = [(s, v) for s, v in pts if v is not None and math.isfinite(v)]
                if pts:
                    ax.plot(*zip(*pts), style, label=split, markersize=3)
            ax.set_title(name)
            ax.set_xlabel("step")
            if all(
                (e["loss"] if name == "loss" else e["losses"].get(name, 1.0)) > 0
                for e in self.history["train"] + self.history["valid"]
            ):
                ax.set_yscale("log")
            if ax.lines:
                ax.legend(fontsize=7)
        for ax in list(axes.flat)[len(names) :]:
            ax.axis("off")
        fig.tight_layout()
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=80)
        plt.close(fig)
        return True

    def close(self) -> None:
        """Close files, the writer and the progress bar."""
        if not self.enabled:
            return
        self.save_history()
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        self._close_progress()
        self.log_file.close()


def format_duration(seconds: float) -> str:
    """``"2h05m"``, ``"5m46s"``, ``"9s"`` (``"?"`` when not finite)."""
    if not math.isfinite(seconds):
        return "?"
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def progress_line(step: int, total_steps: int, epoch: int, loss: float, rate: float) -> str:
    """``step 200/1000 (20%) epoch 3 loss 1.2345 | 2.31 steps/s | ETA 5m46s``: the ETA is
    the steps left at ``rate`` (steps/s of the last interval)."""
    left = max(total_steps - step, 0)
    eta = left / rate if rate > 0 else math.inf
    pct = 100 * step // max(total_steps, 1)
    return (
        f"step {step}/{total_steps} ({pct}%) epoch {epoch} loss {loss:.4f} | "
        f"{rate:.2f} steps/s | ETA {format_duration(eta)}"
    )
