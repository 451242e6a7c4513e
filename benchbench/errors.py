"""The one exception a user sees as a one-line message (exit code 2) instead of a traceback."""

__all__ = ["BenchError", "Diverged"]


class BenchError(Exception):
    """Bad input: an unknown name, a bad number, a missing file, an unwritable folder.

    The message is one line that says what is wrong and what to do about it.
    """


class Diverged(RuntimeError):
    """Training produced a NaN or infinite loss or metric: the trial fails with this as its reason
    and the sweep goes on."""
