"""Workers: processes that take trials of one study from a shared Optuna storage until its plan is done.

A study plans a number of trials (the user attribute `planned`). A worker claims a trial under a
lock that every worker of the study shares, so the count is exact however many workers race:

    claim lock -> fail the trials of dead workers (and queue their retries)
               -> count the trials that are planned, running or done
               -> pop a queued trial, or start a new one while the count is short of the plan
    release   -> train -> tell the storage how the trial ended

Locks: the journal storage of a results folder uses an advisory file lock next to the journal (the
kernel drops it when its holder dies, even by SIGKILL); PostgreSQL uses an advisory lock of the
server (dropped with the holder's connection); SQLite a file lock beside the database.

Dead workers: Optuna's RDB storage keeps a heartbeat per running trial and fails those whose
heartbeat stops. Its journal storage has none, so every trial records the host, pid and start time
of the process running it, and a trial RUNNING in a process that no longer exists on this host is
failed here. Either way the retry is a new queued trial with the same hyperparameters and seed,
whose system attribute `failed_trial` names the first trial of the chain; a retried failure no
longer counts towards the plan.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchbench.errors import Diverged
from benchbench.results import counted_trials

if TYPE_CHECKING:
    import optuna

__all__ = [
    "WorkerId", "claim_lock", "fail_dead_trials", "retry_stale_trial", "run_trial", "work",
]  # fmt: skip

MAX_RETRIES = 3  # a configuration whose workers died this often stays failed
# What a retry keeps of the dead trial: its plan, not its partial results.
PLAN_ATTRS = ("seed", "source_trial", "rank", "hparams")


@dataclass(frozen=True)
class WorkerId:
    host: str
    pid: int
    started: int | None  # the process's start time in clock ticks after boot (Linux), against pid reuse

    @classmethod
    def current(cls) -> WorkerId:
        return cls(socket.gethostname(), os.getpid(), _start_ticks(os.getpid()))

    def as_attr(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "started": self.started}


def _start_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces; fields after it are fixed
    return None if fields[0] == "Z" else int(fields[19])  # a zombie has exited


def _alive(worker: dict[str, Any]) -> bool | None:
    """Whether the process that runs a trial still exists; None when it runs on another host."""
    if worker.get("host") != socket.gethostname():
        return None
    pid = int(worker["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, under another user
    started = _start_ticks(pid)
    if started is None:
        return not os.path.exists("/proc/self/stat")  # no /proc: trust kill(); with /proc: zombie or gone
    return worker.get("started") in (None, started)  # a different start time: the pid was reused


def retry_stale_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Queue a failed trial's configuration again (same hyperparameters and seed), up to MAX_RETRIES.

    Used as the RDB storage's heartbeat callback and by `fail_dead_trials` for the journal storage."""
    import optuna

    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if len(history) > MAX_RETRIES:
        return
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={k: v for k, v in trial.user_attrs.items() if k in PLAN_ATTRS},
            system_attrs={"failed_trial": history[0], "retry_history": history},
        )
    )


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose worker is gone, queue their retries; returns their numbers."""
    import optuna
    from optuna.storages._heartbeat import is_heartbeat_enabled
    from optuna.trial import TrialState

    storage = study._storage
    if is_heartbeat_enabled(storage):
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        optuna.storages.fail_stale_trials(study)  # RDB: heartbeats; the storage's callback retries
        after = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        return sorted(before - after)
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        if not worker or _alive(worker) is not False:
            continue
        reason = f"worker {worker['host']}:{worker['pid']} died while running it; retried"
        try:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first
        retry_stale_trial(study, storage.get_trial(trial._trial_id))
        failed.append(trial.number)
    return failed


@contextmanager
def claim_lock(study: optuna.Study, results_dir: os.PathLike | None) -> Iterator[None]:
    """Serialise "count, then claim" among every worker of `study`, on any number of machines."""
    from optuna.storages import RDBStorage

    storage = getattr(study._storage, "_backend", study._storage)  # Optuna wraps RDB storages in a cache
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
        path = f"{storage.engine.url.database}.claim"
    else:
        path = os.path.join(os.fspath(results_dir), ".claim.lock")
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _claim(study: optuna.Study, planned: int, results_dir) -> optuna.Trial | None:
    from optuna.trial import TrialState

    with claim_lock(study, results_dir):
        fail_dead_trials(study)
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        if not waiting and len(counted_trials(trials)) >= planned:
            return None
        trial = study.ask()  # pops a queued trial first (a retry, a planned evaluation)
        trial.set_user_attr("worker", WorkerId.current().as_attr())
        return trial


def run_trial(study: optuna.Study, trial: optuna.Trial, objective: Callable[[optuna.Trial], float]) -> str:
    """Run one claimed trial and tell the storage how it ended; returns the final state's name.

    Pruned trials end PRUNED, diverged ones FAIL with `fail_reason`; any other exception is a bug:
    the trial is failed with its reason and the exception goes on."""
    import optuna
    from optuna.storages._heartbeat import get_heartbeat_thread
    from optuna.trial import TrialState

    state, value, error = TrialState.COMPLETE, None, None
    with get_heartbeat_thread(trial._trial_id, study._storage):  # RDB storages only; a no-op otherwise
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except Diverged as err:
            state = TrialState.FAIL
            trial.set_user_attr("fail_reason", f"diverged: {err}")
        except BaseException as err:
            state, error = TrialState.FAIL, err
            trial.set_user_attr("fail_reason", f"{type(err).__name__}: {err}")
    study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    if error is not None:
        raise error
    return state.name


def work(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    planned: int,
    results_dir: os.PathLike | None,
    timeout: float | None = None,
    on_trial_done: Callable[[optuna.Study, str], None] | None = None,
) -> int:
    """Claim and run trials of `study` until its plan is done (or `timeout` seconds have passed
    before a claim); returns the number of trials this worker ran."""
    start, ran = time.monotonic(), 0
    while timeout is None or time.monotonic() - start < timeout:
        trial = _claim(study, planned, results_dir)
        if trial is None:
            break
        state = run_trial(study, trial, objective)
        ran += 1
        if on_trial_done is not None:
            on_trial_done(study, state)
    return ran
