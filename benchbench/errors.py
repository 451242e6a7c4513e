"""What a user sees as one line instead of a traceback: bad input (BenchError, exit code 2), faults
of the machine (a full disk, a storage server gone) and interrupts (Ctrl-C, SIGTERM)."""

__all__ = [
    "BAD_INPUT_EXIT", "INTERRUPTED_EXIT", "UNFINISHED_EXIT", "BenchError", "Diverged", "Interrupted", "OutOfSpace",
    "Unfinished", "no_space", "shown", "user_line",
]  # fmt: skip

# Exit codes, one meaning each (README, "Exit codes"; `bench --help`):
#   0 every requested cell has a result
UNFINISHED_EXIT = 1  # the run finished, but some cells have no result or were cut short (one line each)
BAD_INPUT_EXIT = 2  # bad input: one line, nothing written
INTERRUPTED_EXIT = 130  # the shell's exit code of a process stopped by SIGINT (Ctrl-C); 143 for SIGTERM


class BenchError(Exception):
    """Bad input: an unknown name, a bad number, a missing file, an unwritable folder.

    The message is one line that says what is wrong and what to do about it.
    """


class OutOfSpace(BenchError):
    """The disk filled up during a trial: the trial was stopped and queued again. Not a fault of one
    cell of a matrix, so the whole run stops."""


class Unfinished(Exception):
    """The run finished, but some cells have no result or were cut short: not bad input (what
    finished is saved), so exit code 1 with `lines`, one per such cell, each with its reason and the
    command that continues it."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class Diverged(RuntimeError):
    """Training produced a NaN or infinite loss or metric: the trial fails with this as its reason
    and the sweep goes on."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM stopped work on `study` (a name): the running trial (`trial`; None for those of
    several worker processes) was recorded as failed and, for a search or an evaluation, queued
    again with its hyperparameters and seed, so that running the same command continues it."""

    def __init__(self, study: str, trial: int | None, requeued: bool) -> None:
        super().__init__(study, trial)
        self.study, self.trial, self.requeued = study, trial, requeued


_SHOWN = 60  # characters of a user's text echoed in an error line


def shown(text: object) -> str:
    """A user's text as an error line quotes it: repr'd, and cut to its start when long (a 100,000
    character name is not echoed whole)."""
    text = str(text)
    if len(text) <= _SHOWN:
        return repr(text)
    return repr(text[:_SHOWN]) + f"… ({len(text):,} characters)"


def user_line(err: BaseException) -> str | None:
    """The one line (after "error: ") a user sees for `err`: bad input, a full disk or a storage
    server gone; None for anything else, a bug that keeps its traceback."""
    if isinstance(err, BenchError):
        return str(err)
    full = no_space(err)
    if full is not None:
        return f"{full}; free some, then run the same command to continue"
    lost = _lost_storage(err)
    if lost is not None:
        return (
            f"lost the connection to the storage ({lost}); finished trials are kept: run the same command once it is "
            "back, and a trial that was running is retried"
        )
    return None


def no_space(err: BaseException) -> str | None:
    """'no space left on the device[ writing FILE]' when `err` is a full disk or quota; else None."""
    import errno

    if not isinstance(err, OSError) or err.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    return "no space left on the device" + (f" writing {err.filename}" if err.filename else "")


def _lost_storage(err: BaseException) -> str | None:
    """The database's own words when `err` is a storage server gone away mid-command (SQLAlchemy's
    OperationalError, or Optuna's StorageInternalError around one); None for anything else."""
    chain = []
    while err is not None and len(chain) < 10:
        chain.append(err)
        err = err.__cause__ or err.__context__
    for cause in chain:
        if type(cause).__module__.startswith("sqlalchemy") and type(cause).__name__ in ("OperationalError", "InterfaceError"):
            words = str(getattr(cause, "orig", None) or cause).strip().splitlines()
            return (words[0] if words else type(cause).__name__)[:200]
    return None
