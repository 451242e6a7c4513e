"""The private-Optuna functions of store/internals.py, each against a real journal file."""

from __future__ import annotations

import errno
import os

import optuna
import pytest

from benchbench.store import internals
from benchbench.store.storage import JOURNAL, open_storage


def test_a_failed_append_leaves_the_journal_whole_and_usable(tmp_path, monkeypatch):
    """The disk fills halfway through an append: the error reaches the caller, the half line is cut
    back, and once there is room the same study goes on with every earlier record readable."""
    storage = open_storage(tmp_path)
    study = optuna.create_study(study_name="s", storage=storage)
    study.enqueue_trial({"x": 1.0})
    journal = tmp_path / JOURNAL
    before = journal.read_bytes()

    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(internals.os, "write", half_then_full)
    with pytest.raises(OSError) as err:
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    assert err.value.errno == errno.ENOSPC
    assert journal.read_bytes() == before  # not a byte of the torn record is left
    monkeypatch.undo()

    again = optuna.load_study(study_name="s", storage=open_storage(tmp_path))
    again.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=2.0))
    reread = optuna.load_study(study_name="s", storage=open_storage(tmp_path))
    assert [t.value for t in reread.trials if t.value is not None] == [2.0]
    assert journal.read_bytes().endswith(b"\n")


def test_journal_lock_is_the_lock_appends_take(tmp_path):
    """While benchbench holds the journal's lock, Optuna's own appends wait: the lock is the same file."""
    storage = open_storage(tmp_path)
    optuna.create_study(study_name="s", storage=storage)
    path = str(tmp_path / JOURNAL)
    with internals.journal_lock(path):
        assert os.path.exists(path + ".lock")
    assert not os.path.exists(path + ".lock")
