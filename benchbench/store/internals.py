"""Every use of Optuna's private API, in one file, each behind a function named for what it gives.

Optuna has no public way to reach a study's storage, a live trial's storage id, the RDB storage
behind its cache, whether a storage runs heartbeats, or the journal file's own lock; benchbench needs
each once (claims, retries, heartbeats, a journal check). When Optuna changes one of them, this file
is the one to mend, and tests/store exercise every function here.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["heartbeat_enabled", "journal_backend", "journal_lock", "rdb_backend", "storage_of", "trial_id"]


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study reads and writes."""
    return study._storage


def trial_id(trial: optuna.Trial | optuna.trial.FrozenTrial) -> int:
    """A trial's id in its storage (not its number within the study)."""
    return trial._trial_id


def rdb_backend(study: optuna.Study):
    """The storage behind Optuna's cache wrapper of RDB storages (the storage itself otherwise)."""
    storage = storage_of(study)
    return getattr(storage, "_backend", storage)


def heartbeat_enabled(storage: optuna.storages.BaseStorage) -> bool:
    """Whether the storage fails trials whose heartbeat stops (RDB storages opened with heartbeats)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(storage)


def journal_lock(path: str) -> AbstractContextManager:
    """The lock Optuna's journal file backend holds while it appends to `path`."""
    from optuna.storages.journal import JournalFileOpenLock
    from optuna.storages.journal._file import get_lock_file

    return get_lock_file(JournalFileOpenLock(path))


def journal_backend(path: str):
    """Optuna's journal file backend whose appends are whole lines or nothing: when a write fails (a
    full disk, a quota), the file is cut back to where the append began, under the journal's lock, and
    the error is raised. Optuna's own backend would leave a torn line that no later append can follow."""
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
    from optuna.storages.journal._file import get_lock_file

    class WholeLineBackend(JournalFileBackend):
        def append_logs(self, logs: list[dict]) -> None:
            data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
            with get_lock_file(self._lock):
                fd = os.open(self._file_path, os.O_WRONLY | os.O_APPEND)
                try:
                    start = os.lseek(fd, 0, os.SEEK_END)
                    try:
                        view = memoryview(data)
                        while view:
                            view = view[os.write(fd, view) :]
                        os.fsync(fd)
                    except OSError:
                        os.ftruncate(fd, start)
                        raise
                finally:
                    os.close(fd)

    # The open(O_EXCL) lock works on every filesystem, network mounts included.
    return WholeLineBackend(path, lock_obj=JournalFileOpenLock(path))
