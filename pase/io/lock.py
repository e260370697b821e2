"""One writer at a time: an exclusive ``fcntl`` lock on a file inside an output folder.

``with OutputLock(folder, "pase-train"):`` takes a non-blocking exclusive lock on
``<folder>/.pase.lock`` and writes the holder (pid, host, command, start time) into it. A second
process that asks for the same lock fails at once with :class:`LockedError` naming the holder.
The kernel releases the lock when the holder exits in any way (even ``kill -9``), so a lock file
left behind by a dead process is *stale*: the next writer takes it over and says so. The file
itself is kept (unlinking a lock file races with a waiter that opened it).

Locks are advisory and per host: on network file systems without working ``flock`` two hosts
are not kept apart.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

LOCK_NAME = ".pase.lock"

__all__ = ["LOCK_NAME", "LockedError", "OutputLock"]


class LockedError(RuntimeError):
    """The output folder is being written by another process."""


def _describe(holder: dict) -> str:
    parts = [f"pid {holder.get('pid', '?')}"]
    if holder.get("host"):
        parts.append(f"on {holder['host']}")
    if holder.get("tool"):
        parts.append(f"({holder['tool']})")
    if holder.get("started"):
        parts.append(f"since {holder['started']}")
    return " ".join(parts)


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536).decode("utf-8", errors="replace").strip()
        return json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return {}


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputLock:
    """Exclusive lock of ``folder`` for one writing tool (a context manager, or
    :meth:`acquire` / :meth:`release`).

    Args:
        folder: the output folder (created if missing).
        tool: name shown to a second writer (e.g. ``"pase-train"``).
        log: where a note about a stale lock taken over goes.
        name: lock file name inside ``folder`` (several locks can share a folder).
    """

    def __init__(
        self, folder: str | os.PathLike, tool: str, log=None, *, name: str = LOCK_NAME
    ) -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.tool = tool
        self.log = log or (lambda m: print(m, file=sys.stderr))
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> OutputLock:
        """Take the lock or raise :class:`LockedError` naming the holder."""
        if self._fd is not None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockedError(
                f"{self.folder} is being written by {_describe(holder)}; wait for it to "
                f"finish or stop it (lock file {self.path})"
            ) from None
        except OSError:
            os.close(fd)
            raise
        old = _read_holder(fd)
        if old.get("pid") and old.get("pid") != os.getpid():
            alive = _alive(old["pid"])
            state = "still running but not holding it" if alive else "no longer running"
            self.log(
                f"{self.tool}: taking over the stale lock {self.path} of {_describe(old)} "
                f"({state}; it did not finish cleanly)"
            )
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "tool": self.tool,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "argv": sys.argv,
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Clear the holder and drop the lock (a no-op when not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # an empty file = released cleanly (not stale)
        except OSError:
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
