"""Signals: Ctrl-C and SIGTERM stop a command the same way (the running trial is recorded and queued
again), and Lightning's way of reporting a Ctrl-C is recognised for what it is."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ignore_interrupts", "is_interrupt", "sigterm_as_interrupt", "signals"]


def is_interrupt(err: BaseException) -> bool:
    """Ctrl-C, as Python raises it or as Lightning reports it: its trainer catches the
    KeyboardInterrupt, tears down and raises SystemExit(1) in its place."""
    return isinstance(err, KeyboardInterrupt) or (isinstance(err, SystemExit) and isinstance(err.__context__, KeyboardInterrupt))


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@contextmanager
def signals(handlers: dict[int, Any]) -> Iterator[None]:
    """Set these signal handlers for the block (None keeps the current one) and put back what was
    there before; a no-op off the main thread, which alone receives signals."""
    if not _main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in handlers}
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """Ignore SIGINT and SIGTERM from now on: the command is already stopping."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


@contextmanager
def sigterm_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM (`kill`, `docker stop`, a batch scheduler's notice before SIGKILL) stops the command as
    Ctrl-C does: the running trial is recorded and queued again. Yields a list that holds the
    signal's number once one arrived."""
    received: list[int] = []

    def interrupt(signum, frame) -> None:  # noqa: ANN001
        received.append(signum)
        raise KeyboardInterrupt

    with signals({signal.SIGTERM: interrupt}):
        yield received
