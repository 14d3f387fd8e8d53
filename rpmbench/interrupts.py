"""Ctrl-C (SIGINT) and SIGTERM, what Slurm and most schedulers send before they kill a job, end a
command the same way: the CLI catches :class:`KeyboardInterrupt` (SIGTERM raises its subclass
:class:`Terminated`) and prints one line saying how to resume. A training loop holds both signals
back until the end of its current step (:class:`DeferredInterrupts`), writes a checkpoint there
and then raises, so no finished step is lost; a second signal interrupts at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

#: Exit status of a command ended by each signal (128 + the signal number, as a shell reports it).
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that one path handles both."""


def interruption(signum: int, note: str = "") -> KeyboardInterrupt:
    """The exception that stands for signal ``signum`` (``note`` says what was kept)."""
    return Terminated(note) if signum == signal.SIGTERM else KeyboardInterrupt(note)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class SigtermAsInterrupt:
    """Within the block, SIGTERM raises :class:`Terminated` (signal handlers need the main thread;
    elsewhere the block changes nothing)."""

    def __enter__(self) -> SigtermAsInterrupt:
        self._previous = signal.signal(signal.SIGTERM, _raise_terminated) if _in_main_thread() else None
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


class DeferredInterrupts:
    """Within the block, the first SIGINT or SIGTERM is only recorded (:attr:`pending`), for the
    loop to stop at its next step boundary with :meth:`raise_pending`; a second one raises at once.
    A signal that was ignored when the block began (SIGINT in a background job) stays ignored; one
    that arrived after the last :meth:`raise_pending` is raised when the block ends."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def pending(self) -> bool:
        """Whether a signal arrived and has not been raised yet."""
        return self.received is not None

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise interruption(signum)
        self.received = signum

    def raise_pending(self, note: str) -> None:
        """Raise the recorded signal's exception, carrying ``note``; nothing if none arrived."""
        if self.received is not None:
            raise interruption(self.received, note)

    def __enter__(self) -> DeferredInterrupts:
        if _in_main_thread():
            for signum in EXIT_STATUS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if kind is None:
            self.raise_pending("")


__all__ = ["EXIT_STATUS", "DeferredInterrupts", "SigtermAsInterrupt", "Terminated", "interruption"]
