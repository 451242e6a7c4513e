"""Every use of Optuna's private API, in one file, each behind a function named for what it gives.

Optuna has no public way to reach a study's storage, a live trial's storage id, the RDB storage
behind its cache, whether a storage runs heartbeats, or the journal file's own lock; benchbench needs
each once (claims, retries, heartbeats, a journal check). When Optuna changes one of them, this file
is the one to mend, and tests/store exercise every function here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["heartbeat_enabled", "journal_lock", "rdb_backend", "storage_of", "trial_id"]


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
