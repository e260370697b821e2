"""Graceful stop of ``pase-train`` on SIGTERM / SIGINT.

While training, the first signal only sets a flag: the trainer finishes the optimizer step
it is in, saves a training state and raises :class:`Interrupted`, which ``pase-train`` turns
into exit code ``128 + signal`` (143 for SIGTERM, 130 for SIGINT). Further signals print a
note and are otherwise ignored, so a save in progress is never cut short (atomic writes would
keep the old or the new file anyway; ``kill -9`` stays safe). Before training starts (data
checks, model building) there is nothing to save and a signal stops at once.

Handlers can only be installed from the main thread; elsewhere :class:`StopSignals` does
nothing and signals keep their default behaviour. Forked DataLoader workers inherit the
handler and ignore the signal (a Ctrl-C reaches the whole process group): the main process
stops them after saving.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code(signum: int) -> int:
    """Shell convention for a process stopped by signal ``signum`` (143 SIGTERM, 130 SIGINT)."""
    return 128 + int(signum)


class Interrupted(BaseException):
    """Training stopped on a signal; ``path`` is the state saved (None: nothing was saved).

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` blocks it passes
    through (it may be raised from a signal handler anywhere while building) do not take it
    for an ordinary error."""

    def __init__(self, signum: int, step: int | None = None, path: str | None = None) -> None:
        self.signum = int(signum)
        self.step = step
        self.path = path
        name = signal.Signals(self.signum).name
        if path is None:
            text = f"got {name} before training started; nothing to save"
        else:
            text = (
                f"got {name} at step {step}: state saved to {path}; "
                "rerun the same command to resume"
            )
        super().__init__(text)

    @property
    def exit_code(self) -> int:
        """128 + the signal number."""
        return exit_code(self.signum)


def _note(text: str) -> None:
    # os.write: safe in a signal handler, unlike print() on a stream it may have interrupted
    with contextlib.suppress(OSError):
        os.write(2, f"pase-train: {text}\n".encode())


class StopSignals:
    """Context manager that catches SIGTERM and SIGINT for a graceful stop.

    ``armed`` (set by the training loop): a signal sets :attr:`signum` and waits for the loop
    to see it; not armed: the first signal raises :class:`Interrupted` right away.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.armed = False
        self._saving = False
        self._previous: dict[int, Any] = {}
        self._pid = os.getpid()

    @property
    def requested(self) -> bool:
        """Whether a stop signal arrived."""
        return self.signum is not None

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Mark a save in progress (a signal meanwhile only prints a note)."""
        self._saving = True
        try:
            yield
        finally:
            self._saving = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:  # a forked DataLoader worker: the trainer decides
            return
        name = signal.Signals(signum).name
        if self.signum is not None:
            what = "saving the training state" if self._saving else "stopping after this step"
            _note(f"got {name} again: still {what}, please wait")
            return
        self.signum = signum
        if not self.armed:
            raise Interrupted(signum)
        _note(f"got {name}: finishing the current step, then saving the training state")

    def __enter__(self) -> StopSignals:
        self._pid = os.getpid()
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for s, old in self._previous.items():
            signal.signal(s, old)
        self._previous.clear()
