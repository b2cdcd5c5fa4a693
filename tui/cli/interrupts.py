"""SIGINT and SIGTERM during `groklab run --headless`: never a traceback, never a lie.

Installed first thing in the run (this module imports only the standard library), so a
signal at any moment has an answer:

- before the run drives its runner (reading the config and data, importing numpy), and
  after the run is over: quit at once with the signal's status (128 + its number), no
  checkpoint or summary having been written by this run;
- while it drives one: the first signal is only recorded, and the headless loop
  (tui/cli/headless.py) stops the run cleanly; a second quits at once with os._exit,
  saying what the `unsaved` callback reports was not saved.

os._exit skips the interpreter's shutdown, which is what makes quitting at once safe
while the runner thread is inside a kernel. Messages go straight to file descriptor 2:
the handler may interrupt a write to sys.stderr, which a second write would not enter.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
    """The shell's status for a process ended by this signal: 130 SIGINT, 143 SIGTERM."""
    return 128 + signum


def quit_now(message: str, status: int) -> None:
    """Flush what can be flushed, say `message` on stderr, exit without the shutdown."""
    for stream in (sys.stdout, sys.stderr):
        # A flush the signal interrupted, or a closed pipe: go on.
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        os.write(2, f"groklab: {message}\n".encode(errors="replace"))
    finally:
        os._exit(status)


BEFORE_TRAINING = "interrupted before training began: no checkpoint or summary written"


def _quit_before_training(signum: int, frame) -> None:
    quit_now(BEFORE_TRAINING, exit_status(signum))


@contextmanager
def quit_early():
    """From the first line of `main` until a command installs its own: a signal quits at
    once with its status and one line (nothing has been written yet). The handlers before
    are put back at the end (main may be called in-process, by tests and scripts); off the
    main thread, where no handler can be installed, this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _quit_before_training) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def restore_defaults() -> None:
    """Python's own handlers, for the dashboard: Textual reads Ctrl+C as a key, and a
    SIGINT or SIGTERM from outside must end it through its normal shutdown, which puts
    the terminal back."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Interrupts:
    """The handlers of one headless run; a context manager that installs and restores them."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received while armed
        self._armed = False
        self._over = False
        self._unsaved: Callable[[], str] = lambda: "nothing was saved"
        self._saved = "the run had ended"
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Interrupts:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._over = True
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def arm(self, unsaved: Callable[[], str]) -> None:
        """The run now drives its runner: a first signal is recorded for it to act on, a
        second quits at once, saying `unsaved()`."""
        self._unsaved = unsaved
        self._armed = True

    def disarm(self, saved: str) -> None:
        """The run is over and `saved` says what it wrote: a signal now ends the process
        at once, saying that."""
        self._armed = False
        self._over = True
        self._saved = saved

    @property
    def status(self) -> int:
        return exit_status(self.signum) if self.signum is not None else 0

    def _handle(self, signum: int, frame) -> None:
        if self._armed and self.signum is None:
            self.signum = signum
            return
        if self._over:
            quit_now(f"interrupted while exiting: {self._saved}", exit_status(signum))
        if not self._armed:
            quit_now(BEFORE_TRAINING, exit_status(signum))
        try:
            unsaved = self._unsaved()
        except Exception as exc:  # say something, whatever the state
            unsaved = f"what was saved is unknown ({type(exc).__name__})"
        quit_now(f"quit at once: {unsaved}", exit_status(signum))
