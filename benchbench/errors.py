"""The one exception a user sees as a one-line message (exit code 2) instead of a traceback."""

__all__ = ["INTERRUPTED_EXIT", "BenchError", "Diverged", "Interrupted", "OutOfSpace"]

INTERRUPTED_EXIT = 130  # the shell's exit code of a process stopped by SIGINT (Ctrl-C)


class BenchError(Exception):
    """Bad input: an unknown name, a bad number, a missing file, an unwritable folder.

    The message is one line that says what is wrong and what to do about it.
    """


class OutOfSpace(BenchError):
    """The disk filled up during a trial: the trial was stopped and queued again. Not a fault of one
    cell of a matrix, so the whole run stops."""


class Diverged(RuntimeError):
    """Training produced a NaN or infinite loss or metric: the trial fails with this as its reason
    and the sweep goes on."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped work on `study` (a name): the running trial (`trial`; None for those of
    several worker processes) was recorded as failed and, for a search or an evaluation, queued
    again with its hyperparameters and seed, so that running the same command continues it."""

    def __init__(self, study: str, trial: int | None, requeued: bool) -> None:
        super().__init__(study, trial)
        self.study, self.trial, self.requeued = study, trial, requeued
