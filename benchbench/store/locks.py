"""Locks: a file lock among the processes of one host, the lock beside an SQLite database, and the
claim lock every worker of a study shares, on any number of machines (see sweep/workers.py)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from benchbench.errors import BenchError

if TYPE_CHECKING:
    import optuna

__all__ = ["claim_lock", "file_lock", "sqlite_lock_path", "sqlite_schema_lock"]


@contextmanager
def file_lock(path: str) -> Iterator[None]:
    """An exclusive lock on the file `path` (created when missing) among the processes of this host,
    released when the holder exits or dies."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sqlite_lock_path(database: str) -> str:
    """The lock file beside an SQLite database: opening it and claiming its trials take turns there."""
    return f"{database}.claim"


@contextmanager
def sqlite_schema_lock(url: str, label: str) -> Iterator[None]:
    """Two processes opening one new SQLite database at once both create its tables, and the second
    fails ("table ... already exists"): a file lock beside the database lets one at a time in.
    `label` is the URL fit to print."""
    if not url.startswith("sqlite"):
        yield
        return
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    path = sqlite_lock_path(database)
    try:
        open(path, "a").close()  # a folder that is missing or not writable: one line, not a traceback
    except OSError as err:
        raise BenchError(f"cannot open storage {label}: {err.strerror}: {os.path.dirname(database) or '.'}") from None
    with file_lock(path):
        yield


@contextmanager
def claim_lock(study: optuna.Study, results_dir: os.PathLike | None) -> Iterator[None]:
    """Serialise "count, then claim" among every worker of `study`, on any number of machines:
    PostgreSQL's advisory lock (dropped with the holder's connection), a file lock beside an SQLite
    database, or a file lock in the results folder for its journal (dropped when the holder dies)."""
    from optuna.storages import RDBStorage

    from benchbench.store.internals import rdb_backend

    storage = rdb_backend(study)
    if isinstance(storage, RDBStorage) and storage.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        key = zlib.crc32(f"benchbench:{study.study_name}".encode())
        with storage.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    if isinstance(storage, RDBStorage):  # sqlite: a file lock beside the database
        path = sqlite_lock_path(storage.engine.url.database)
    else:
        path = os.path.join(os.fspath(results_dir), ".claim.lock")
    with file_lock(path):
        yield
