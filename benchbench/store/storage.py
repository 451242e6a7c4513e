"""Where results live: the results folder and the Optuna storage inside it.

All studies share one Optuna journal file, `<results>/studies.journal`. Optuna's journal storage is
an append-only log guarded by a file lock, so several worker processes may write it at once (SQLite
is not advised for parallel writers), and optuna-dashboard opens it directly:
`optuna-dashboard results/studies.journal`. Studies are named and kinded in names.py; their user
attributes make the results self-describing (metric, direction, baseline), so reading them never
needs the task specs.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchbench.errors import BenchError

if TYPE_CHECKING:
    import optuna

__all__ = ["JOURNAL", "StorageSpec", "no_results", "open_storage", "prepare_results_dir"]

JOURNAL = "studies.journal"


def no_results(where: object, *, results: Path | None = None) -> str:
    """The one line every reader says when there is nothing to read in `where` (a storage's label or a
    folder); with `results`, the command it suggests names that folder."""
    import shlex

    folder = f" --results {shlex.quote(str(results))}" if results is not None else ""
    return f"no results in {where}; run `bench run --task TASK --model MODEL{folder}` first"


def prepare_results_dir(path: Path) -> Path:
    """Create the folder if needed and prove it is writable, or raise a one-line BenchError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        dangling = next((p for p in (path, *path.parents) if p.is_symlink() and not p.exists()), None)
        if dangling is not None:  # a loop or a missing target: mkdir says "File exists", which misleads
            raise BenchError(
                f"results folder {path}: {dangling} is a symbolic link that leads nowhere (a loop or a missing target); "
                "fix the link or pass another --results DIR"
            ) from None
        raise BenchError(f"results folder {path} is not writable ({err.strerror}); pass --results DIR or set BENCH_RESULTS") from None
    return path


# RDB storages: a worker's heartbeat every HEARTBEAT seconds; a RUNNING trial silent for GRACE seconds
# belongs to a dead worker, is marked failed and retried. BENCH_HEARTBEAT / BENCH_GRACE override.
HEARTBEAT = 30
GRACE = 120
RDB_SCHEMES = ("postgresql", "sqlite")


@dataclass(frozen=True)
class StorageSpec:
    """Where studies live: the journal file of a results folder, or an RDB URL shared by many machines."""

    results: Path  # results folder: journal (when no url), logs, leaderboards
    url: str | None = None  # e.g. postgresql://user:pw@host/db

    @classmethod
    def of(cls, where: StorageSpec | Path | str) -> StorageSpec:
        """A StorageSpec as it is, or the journal of a results folder."""
        return where if isinstance(where, StorageSpec) else cls(Path(where))

    @property
    def exists(self) -> bool:
        """Whether there can be studies to read: an RDB URL, or a results folder with its journal."""
        return self.url is not None or (self.results / JOURNAL).is_file()

    def __post_init__(self) -> None:
        if self.url is None and self.results.exists() and not self.results.is_dir():
            raise BenchError(f"results folder {self.results} is a file, not a folder; pass --results DIR or set BENCH_RESULTS")
        if self.url is None and (self.results / JOURNAL).exists() and not (self.results / JOURNAL).is_file():
            raise BenchError(f"results journal {self.results / JOURNAL} is not a file; move it aside or pass another --results DIR")
        if self.url is not None:
            scheme = self.url.split(":", 1)[0].split("+", 1)[0]
            if scheme not in RDB_SCHEMES or "://" not in self.url:
                raise BenchError(
                    f"--storage {_redact(self.url)!r} is not a supported URL; use postgresql://user:pw@host/db "
                    "or sqlite:///path.db (or leave it out to use the results folder's journal)"
                )

    def require(self) -> StorageSpec:
        """This storage, or the one-line BenchError every reader gives when there is nothing to read
        (no results folder, or no journal in it): the same words and exit code 2 from `leaderboard`,
        `compare`, `report`, `show`, `importance`, `baseline save`, `check` and `dashboard`."""
        if not self.exists:
            raise BenchError(no_results(self.results, results=self.results))
        return self

    @property
    def label(self) -> str:
        return _redact(self.url) if self.url else str(self.results / JOURNAL)

    def open(self) -> optuna.storages.BaseStorage:
        return open_storage(self.results, self.url)


def _redact(url: str) -> str:
    """A URL fit to print: the password replaced by ***."""
    head, sep, tail = url.partition("://")
    if "@" in tail and ":" in tail.split("@", 1)[0]:
        user = tail.split("@", 1)[0].split(":", 1)[0]
        return f"{head}{sep}{user}:***@{tail.split('@', 1)[1]}"
    return url


# Journal bytes already read whole and sound, per path: the journal only grows, so a process that opens
# its storage again (each study of a sweep, a progress poll every second) reads just what was appended.
_SOUND: dict[str, int] = {}


def _journal_damage(path: str) -> tuple[int, str] | None:
    """The byte offset and nature of the first line of the journal Optuna cannot read, or None."""
    import json

    offset = _SOUND.get(path, 0)
    try:
        with open(path, "rb") as f:
            if offset > os.fstat(f.fileno()).st_size:  # replaced or cut since: read it all again
                offset = 0
            f.seek(offset)
            for line in f:
                if not line.endswith(b"\n"):
                    return offset, "its last line is cut short"
                try:
                    json.loads(line)
                except ValueError:  # JSONDecodeError and UnicodeDecodeError
                    return offset, "a line there is not a journal record"
                offset += len(line)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise BenchError(f"cannot read results journal {path} ({err.strerror}); pass --results DIR") from None
    _SOUND[path] = offset
    return None


def _check_journal(path: str) -> None:
    """Refuse a damaged journal before Optuna reads or appends to it. Optuna skips a torn last line on
    reading but appends after it, which makes every later record unreadable; it raises on damage
    inside. The file is left as it is: the user chooses to truncate it or move it aside."""
    import shlex

    damage = _journal_damage(path)
    if damage is not None and damage[1].startswith("its last line"):
        # A writer may be appending that line right now: look again under the journal's lock.
        from benchbench.store.internals import journal_lock

        with journal_lock(path):
            damage = _journal_damage(path)
    if damage is not None:
        at, what = damage
        raise BenchError(
            f"results journal {path} is damaged at byte {at} ({what}) and was left as it is; "
            f"keep the studies before it with `truncate -s {at} {shlex.quote(path)}`, or move the file aside to start afresh"
        )


def open_storage(results: Path, url: str | None = None) -> optuna.storages.BaseStorage:
    """The journal file in `results`, or Optuna's RDB storage at `url` with worker heartbeats."""
    if url is None:
        from optuna.storages import JournalStorage

        from benchbench.store.internals import journal_backend

        if not results.is_dir():  # reading commands: nothing to read (writers prepare the folder first)
            raise BenchError(no_results(results, results=results))
        path = str(results / JOURNAL)
        _check_journal(path)
        return JournalStorage(journal_backend(path))

    import warnings

    import optuna
    from optuna.storages import RDBStorage

    from benchbench.store.locks import sqlite_schema_lock
    from benchbench.store.retry import retry_stale_trial

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats: stable enough
    # Workers claim trials with ask/tell under a lock (workers.py) and run Optuna's heartbeat thread themselves.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    try:
        with sqlite_schema_lock(url, _redact(url)):
            return RDBStorage(
                url,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=int(os.environ.get("BENCH_HEARTBEAT", HEARTBEAT)),
                grace_period=int(os.environ.get("BENCH_GRACE", GRACE)),
                heartbeat_stale_trial_callback=retry_stale_trial,
            )
    except ModuleNotFoundError as err:
        raise BenchError(f"--storage {_redact(url)}: {err.name} is not installed; pip install 'benchbench[postgres]'") from None
    except ImportError:  # optuna's message when the database driver is missing
        raise BenchError(f"--storage {_redact(url)}: no driver for it is installed; pip install 'benchbench[postgres]'") from None
    except Exception as err:  # sqlalchemy's OperationalError and friends: the server is not reachable
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchError(f"cannot open storage {_redact(url)}: {first}") from None
