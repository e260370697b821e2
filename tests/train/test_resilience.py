"""Crash recovery (kill -9) and multi-process training (torchrun, gloo on CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pase.allocator import find_jemalloc
from pase.bin.train import main
from pase.train import state as st
from tests.train.conftest import train_args

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.mark.slow
def test_kill_9_then_rerun_reaches_the_uninterrupted_weights(tiny_setup, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    assert main(train_args(tiny_setup, ref, "--epoch", "3", "--ckpt_interval", "1")) == 0
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "pase.bin.train",
           *train_args(tiny_setup, run, "--epoch", "3", "--ckpt_interval", "1")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not any(s >= 4 for s, _ in st.list_states(run)):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = st.list_states(run)[-1][0]
    assert 4 <= killed_at < 9, "the run was not interrupted mid-way"
    assert subprocess.run(cmd, env=ENV, capture_output=True).returncode == 0
    a, b = st.load_latest_state(ref)["model"], st.load_latest_state(run)["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "ddp"
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "pase.bin.train"]  # fmt: skip
    args = train_args(tiny_setup, save, "--epoch", "2", "--batch_size", "2", "--ckpt_interval", "2")
    res = subprocess.run([*base, *args], env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in save.glob("FE_e*.ckpt")) == ["FE_e0.ckpt", "FE_e1.ckpt"]
    state = st.load_latest_state(save)
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    log = (save / "train.log").read_text()
    assert log.count("valid step 0 ") == 1  # rank 0 logs alone
    if find_jemalloc() is not None and "PASE_ALLOCATOR" not in os.environ:
        # each rank restarted itself with jemalloc preloaded (same pid for torchrun)
        assert "allocator: " in log and "jemalloc" in log.split("allocator: ")[1].split()[0]
    # each process ran half of the global batches: 3 global batches of 2 x 2 per epoch
    steps = state["step"]
    assert steps == 2 * state["loader"]["batches_per_epoch"]
    # resume under torchrun with one more epoch
    args3 = train_args(
        tiny_setup, save, "--epoch", "3", "--batch_size", "2", "--ckpt_interval", "2"
    )
    res = subprocess.run([*base, *args3], env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resuming from" in (save / "train.log").read_text()
    assert (save / "FE_e2.ckpt").is_file()
