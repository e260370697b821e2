"""``pase-train --progress-file``: a short progress line per log interval (steps done/total,
loss, steps/s, ETA) somewhere other than the output a recipe's job launcher sends to its log
(``/dev/tty``: the terminal)."""

from __future__ import annotations

import math
import re
from pathlib import Path

from pase.bin.train import main
from pase.train.monitor import Monitor, format_duration, progress_line
from tests.train.conftest import train_args

LINE = re.compile(
    r"^pase-train: step (\d+)/(\d+) \((\d+)%\) epoch \d+ loss [\d.]+ \| [\d.]+ steps/s "
    r"\| ETA (\S+)$"
)


def test_durations() -> None:
    assert [format_duration(s) for s in (0, 9.4, 59.6, 346, 3600, 7500)] == [
        "0s", "9s", "1m00s", "5m46s", "1h00m", "2h05m"
    ]  # fmt: skip
    assert format_duration(math.inf) == "?"


def test_the_line_counts_the_steps_left() -> None:
    assert progress_line(200, 1000, 3, 1.23456, 2.0) == (
        "step 200/1000 (20%) epoch 3 loss 1.2346 | 2.00 steps/s | ETA 6m40s"
    )
    assert progress_line(1000, 1000, 9, 1.0, 3.0).endswith("ETA 0s")
    assert progress_line(5, 10, 0, 1.0, 0.0).endswith("ETA ?")


def _monitor(save: Path, progress_file: Path | str | None) -> Monitor:
    return Monitor(save, log_freq=2, total_steps=4, tensorboard=False, progress=False,
                   progress_file=progress_file)  # fmt: skip


def test_monitor_writes_a_line_per_interval_and_validation(tmp_path: Path) -> None:
    out = tmp_path / "progress"
    m = _monitor(tmp_path / "run", out)
    for step in (1, 2):
        m.step(step, {"mfcc": 0.5}, 1.5, {"forward": 0.01}, 1.0)
    m.flush_interval(2, 0, {"fe": 1e-3})
    m.valid(2, 0, {"mfcc": 0.4}, 1.25)
    m.close()
    lines = out.read_text().splitlines()
    assert len(lines) == 2
    match = LINE.match(lines[0])
    assert match and match.groups()[:3] == ("2", "4", "50"), lines[0]
    assert lines[1] == "pase-train: valid step 2 epoch 0 loss 1.2500"
    assert "mfcc" not in lines[0]  # the full line is train.log's
    assert "mfcc 0.5000" in (tmp_path / "run" / "train.log").read_text()


def test_a_file_that_cannot_be_opened_is_skipped(tmp_path: Path) -> None:
    m = _monitor(tmp_path / "run", tmp_path / "no" / "such" / "folder" / "progress")
    m.step(1, {}, 1.0, {}, 1.0)
    m.flush_interval(1, 0, {})
    m.close()
    log = (tmp_path / "run" / "train.log").read_text()
    assert "--progress-file" in log and "cannot open" in log and "skipped" in log


def test_pase_train_writes_progress(tiny_setup, tmp_path: Path, capsys) -> None:
    out = tmp_path / "progress"
    argv = train_args(tiny_setup, tmp_path / "run", "--max-steps", "2", "--progress-file", str(out))
    assert main(argv) == 0
    lines = out.read_text().splitlines()
    steps = [LINE.match(s) for s in lines if not s.startswith("pase-train: valid")]
    assert [m.group(1) for m in steps if m] == ["1", "2"] and all(steps), lines
    assert steps[-1].group(4) == "0s"  # type: ignore[union-attr]
    assert any(s.startswith("pase-train: valid step 0 ") for s in lines)
    assert "ETA" not in capsys.readouterr().out  # stdout keeps the full lines only
