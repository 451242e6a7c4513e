"""Where results live: the results folder and the Optuna storage inside it.

All studies share one Optuna journal file, `<results>/studies.journal`. Optuna's journal storage is
an append-only log guarded by a file lock, so several worker processes may write it at once (SQLite
is not advised for parallel writers), and optuna-dashboard opens it directly:
`optuna-dashboard results/studies.journal`. One study per task x family x budget, named
`task/family/budget`; its user attributes make the results self-describing (metric, direction,
baseline), so reading them never needs the task specs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchbench.errors import BenchError

if TYPE_CHECKING:
    import optuna

__all__ = ["JOURNAL", "open_storage", "prepare_results_dir", "study_name", "task_label"]

JOURNAL = "studies.journal"


def prepare_results_dir(path: Path) -> Path:
    """Create the folder if needed and prove it is writable, or raise a one-line BenchError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise BenchError(f"results folder {path} is not writable ({err.strerror}); pass --results DIR or set BENCH_RESULTS") from None
    return path


def task_label(task: str, options: dict | None = None) -> str:
    """A task with dataset options changed from its spec, e.g. `electricity[horizon=24]`."""
    if not options:
        return task
    return f"{task}[{','.join(f'{k}={v}' for k, v in sorted(options.items()))}]"


def study_name(task: str, family: str, budget: str, options: dict | None = None) -> str:
    return f"{task_label(task, options)}/{family}/{budget}"


def open_storage(results: Path) -> optuna.storages.BaseStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = str(results / JOURNAL)
    # The open(O_EXCL) lock works on every filesystem, network mounts included.
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
