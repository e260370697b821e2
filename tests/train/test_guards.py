"""pase-train's guards: one writer per save_path, stale temporary files, SIGTERM / SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pase.bin.train import main
from pase.io.lock import LOCK_NAME, OutputLock
from pase.train import state as st
from pase.train.options import parse_options
from pase.train.signals import Interrupted, exit_code
from pase.train.trainer import Trainer, remove_stale_temp_files, train
from tests.train.conftest import train_args

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
STALE = [".train_state_000000010.pt.abc123xy.tmp", ".history.json.k_9zq0m1.tmp"]
NOT_STALE = ["keep.tmp", ".keep.tmp", ".hidden", "notes.txt.tmp.bak"]


def _start(args: list[str], **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pase.bin.train", *args]
    return subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw
    )


def _wait_for(proc: subprocess.Popen, ready, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(
                f"pase-train exited ({proc.returncode}) before {what}: {proc.stderr.read()}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"pase-train did not reach {what}")
        time.sleep(0.05)


def _stepping(save: Path, after: int = 0):
    def ready() -> bool:
        log = save / "train.log"
        steps = re.findall(r"(?m)^\S+ \S+ step (\d+)/", log.read_text()) if log.exists() else []
        return any(int(s) > after for s in steps)

    return ready


def _lock_held(save: Path):
    return lambda: (save / LOCK_NAME).is_file() and (save / LOCK_NAME).stat().st_size > 0


def test_exit_codes_and_messages() -> None:
    assert exit_code(signal.SIGTERM) == 143 and exit_code(signal.SIGINT) == 130
    e = Interrupted(signal.SIGTERM, 7, "exp/train_state_000000007.pt")
    assert str(e) == (
        "got SIGTERM at step 7: state saved to exp/train_state_000000007.pt; "
        "rerun the same command to resume"
    )
    assert "nothing to save" in str(Interrupted(signal.SIGINT)) and not isinstance(e, Exception)


@pytest.mark.slow
def test_signals_while_stepping_and_saving(tiny_setup, tmp_path: Path, monkeypatch, capfd) -> None:
    """In-process and deterministic: SIGTERM during step 2, SIGINT again during the save."""
    save = tmp_path / "run"
    args = parse_options(train_args(tiny_setup, save, "--epoch", "200", "--ckpt_interval", "1000"))
    real_step, real_save = Trainer.train_step, st.save_state

    def step(self: Trainer, batch, wait: float) -> dict[str, float]:
        if self.step == 1:  # the second step: the signal arrives in the middle of it
            os.kill(os.getpid(), signal.SIGTERM)
        return real_step(self, batch, wait)

    def save_state(*a, **k) -> Path:
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, before the write
        return real_save(*a, **k)

    monkeypatch.setattr(Trainer, "train_step", step)
    monkeypatch.setattr(st, "save_state", save_state)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as err:
        train(args)
    assert (err.value.signum, err.value.step, err.value.exit_code) == (signal.SIGTERM, 2, 143)
    out = capfd.readouterr().err
    assert "got SIGTERM: finishing the current step" in out
    assert "got SIGINT again: still saving the training state, please wait" in out
    assert [s for s, _ in st.list_states(save)] == [2] and st.load_latest_state(save)["step"] == 2
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert (save / LOCK_NAME).stat().st_size == 0


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"", r"the file is empty"), (b'{"step": 2}', r"JSON text"), (b"\x80\x02}q", r"cut short")],
)
def test_unreadable_newest_state_is_named_and_skipped(tmp_path: Path, content, says) -> None:
    st.save_state(tmp_path, 1, {"model": {"w": torch.ones(2)}}, keep=5)
    st.state_path(tmp_path, 2).write_bytes(content)  # e.g. overwritten by hand
    with pytest.warns(UserWarning, match=rf"train_state_000000002\.pt: not a PyTorch checkpoint "
                      rf"\(.*{says}"):  # fmt: skip
        state = st.load_latest_state(tmp_path)
    assert state["step"] == 1


def test_remove_stale_temp_files_only_takes_atomic_write_temporaries(tmp_path: Path) -> None:
    for name in [*STALE, *NOT_STALE, "train_state_000000001.pt"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / STALE[0]).write_text("x")  # only save_path itself is cleaned
    (tmp_path / ".d.abc.tmp").mkdir()  # a folder, whatever its name
    assert remove_stale_temp_files(tmp_path) == sorted(STALE)
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {*NOT_STALE, "train_state_000000001.pt", "sub", ".d.abc.tmp"}
    assert (tmp_path / "sub" / STALE[0]).exists()
    assert remove_stale_temp_files(tmp_path / "missing") == []


@pytest.mark.slow
def test_stale_temp_files_are_removed_at_start_once_the_lock_is_held(
    tiny_setup, tmp_path: Path, capsys
) -> None:
    save = tmp_path / "run"
    save.mkdir()
    for name in [*STALE, *NOT_STALE]:
        (save / name).write_text("x")
    args = train_args(tiny_setup, save, "--epoch", "1", "--max_steps", "1")
    with OutputLock(save, "test"):  # another writer: nothing may be touched
        assert main(args) == 1
    assert f"pid {os.getpid()}" in capsys.readouterr().err
    assert all((save / n).exists() for n in STALE)
    assert main(args) == 0
    assert not any((save / n).exists() for n in STALE)
    assert all((save / n).exists() for n in NOT_STALE)
    log = (save / "train.log").read_text()
    assert (
        f"removed 2 temporary file(s) left by an interrupted run: {', '.join(sorted(STALE))}" in log
    )


@pytest.mark.slow
def test_second_writer_on_the_same_save_path_fails_at_once(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "run"
    first = _start(train_args(tiny_setup, save, "--epoch", "200", "--ckpt_interval", "1000"))
    try:
        _wait_for(first, _lock_held(save), "holding the lock")
        # the lock comes before anything else: a missing data dir is not even looked at
        args = train_args(tiny_setup, save, "--epoch", "1")
        args[args.index("--data_dir") + 1] = str(tmp_path / "no_such_data")
        second = subprocess.run(
            [sys.executable, "-m", "pase.bin.train", *args],
            env=ENV, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert second.returncode == 1
        err = second.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("pase-train: error: ")
        assert f"is being written by pid {first.pid} " in err[0] and "(pase-train)" in err[0]
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()
        first.wait()
        first.stderr.close()


def _check_stopped(save: Path, proc: subprocess.Popen, signum: int) -> int:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signum, err
    name = signal.Signals(signum).name
    m = re.search(rf"pase-train: got {name} at step (\d+): state saved to (\S+); rerun the same "
                  r"command to resume", err)  # fmt: skip
    assert m, err
    step, path = int(m.group(1)), Path(m.group(2))
    assert "Traceback" not in err
    assert path == st.state_path(save, step) and path.is_file()
    assert st.load_latest_state(save)["step"] == step  # the newest state, and it loads
    assert not [p.name for p in save.iterdir() if p.name.endswith(".tmp")]
    assert (save / LOCK_NAME).stat().st_size == 0  # released cleanly
    assert f"got {name} at step {step}" in (save / "train.log").read_text()
    return step


@pytest.mark.slow
def test_sigterm_saves_a_state_and_the_rerun_resumes_exactly(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "run"
    args = train_args(tiny_setup, save, "--epoch", "200", "--ckpt_interval", "1000")
    proc = _start(args)
    _wait_for(proc, _stepping(save), "training steps")
    proc.send_signal(signal.SIGTERM)
    step = _check_stopped(save, proc, signal.SIGTERM)
    assert [s for s, _ in st.list_states(save)] == [step]  # saved for the signal, not periodic
    # rerunning resumes from that step and gives the uninterrupted run's weights
    assert main([*args, "--max_steps", str(step + 2)]) == 0
    assert (
        f"resuming from {st.state_path(save, step)}: step {step}"
        in (save / "train.log").read_text()
    )
    ref = tmp_path / "ref"
    assert main(train_args(tiny_setup, ref, "--epoch", "200", "--max_steps", str(step + 2))) == 0
    a, b = st.load_latest_state(ref)["model"], st.load_latest_state(save)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_with_dataloader_workers(tiny_setup, tmp_path: Path, sig) -> None:
    """A signal to the whole process group, with DataLoader workers: SIGINT as a terminal's
    Ctrl-C, SIGTERM as Slurm's scancel (it signals every process of the job)."""
    save = tmp_path / "run"
    args = train_args(tiny_setup, save, "--epoch", "200", "--ckpt_interval", "1000")
    args[args.index("--num_workers") + 1] = "1"
    proc = _start(args, start_new_session=True)
    try:
        _wait_for(proc, _stepping(save, after=1), "training steps")
        os.killpg(proc.pid, sig)
        time.sleep(0.2)
        os.killpg(proc.pid, sig)  # a second signal does not break the save
        _check_stopped(save, proc, sig)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_every_rank_at_the_same_step(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "ddp"
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "pase.bin.train"]  # fmt: skip
    args = train_args(tiny_setup, save, "--epoch", "300", "--batch_size", "2",
                      "--ckpt_interval", "1000")  # fmt: skip
    proc = subprocess.Popen([*base, *args], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_for(proc, _stepping(save), "training steps")
        proc.send_signal(signal.SIGTERM)  # torchrun forwards it to both ranks
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0  # torchrun reports the stop as a failure
    steps = re.findall(r"pase-train: got SIGTERM at step (\d+): state saved", err)
    assert len(steps) == 2 and steps[0] == steps[1], err[-3000:]
    state = st.load_latest_state(save)
    assert state["step"] == int(steps[0]) and len(state["rng"]) == 2
    assert not [p.name for p in save.iterdir() if p.name.endswith(".tmp")]
    res = subprocess.run([*base, *args, "--max_steps", str(state["step"] + 1)], env=ENV,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert st.load_latest_state(save)["step"] == state["step"] + 1
