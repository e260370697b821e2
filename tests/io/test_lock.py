"""pase.io.lock: one writer per output folder, holder named, stale locks taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pase.io.lock import LOCK_NAME, LockedError, OutputLock

HOLD = """
import sys, time
from pase.io.lock import OutputLock
lock = OutputLock(sys.argv[1], "holder").acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_fails_naming_the_holder(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(LockedError, match=rf"pid {proc.pid}\b.*holder"):
            OutputLock(tmp_path, "second").acquire()
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_process_is_stale_and_taken_over(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    notes: list[str] = []
    with OutputLock(tmp_path, "next", log=notes.append) as lock:
        assert lock.held
    assert len(notes) == 1 and f"pid {proc.pid}" in notes[0] and "stale" in notes[0]


def test_release_clears_holder_and_allows_reacquire(tmp_path: Path) -> None:
    notes: list[str] = []
    with OutputLock(tmp_path, "a", log=notes.append):
        assert (tmp_path / LOCK_NAME).read_text().strip()
        with pytest.raises(LockedError):  # also refused within one process (new fd)
            OutputLock(tmp_path, "b").acquire()
    assert (tmp_path / LOCK_NAME).read_text() == ""
    with OutputLock(tmp_path, "b", log=notes.append):
        pass
    assert notes == []  # a clean release is not reported as stale


def test_released_when_the_holder_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyError), OutputLock(tmp_path, "a"):
        raise KeyError("boom")
    OutputLock(tmp_path, "b").acquire().release()
