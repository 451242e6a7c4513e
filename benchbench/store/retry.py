"""Dead workers and their trials: each RUNNING trial records the process running it (host, pid, start
time); a trial whose process is gone (journal storage) or whose heartbeat stopped (RDB storages,
Optuna's heartbeat) is failed and its configuration queued again with the same seed.

Optuna's public `RetryFailedTrialCallback` queues a failed trial again too, but copies every user
attribute of the failed attempt (its worker, its fail reason, partial results) into the retry;
`retry_stale_trial` keeps only the plan (PLAN_ATTRS), recovers a search trial's seed when it died
before recording it, and lets an interrupted trial be retried without bound.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchbench.store.internals import heartbeat_enabled, storage_of, trial_id
from benchbench.store.names import Kind, search_seed

if TYPE_CHECKING:
    import optuna

__all__ = ["MAX_RETRIES", "PLAN_ATTRS", "WorkerId", "fail_dead_trials", "heartbeat", "retry_stale_trial", "worker_alive"]

MAX_RETRIES = 3  # a configuration whose workers died this often stays failed
# What a retry keeps of the dead trial: its plan, not its partial results.
PLAN_ATTRS = (
    "seed", "source_trial", "rank", "hparams", "max_epochs", "data_budget", "data_options", "preset", "overrides", "precision",
)  # fmt: skip


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


def worker_alive(worker: dict[str, Any]) -> bool | None:
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


def retry_stale_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, *, bounded: bool = True) -> None:
    """Queue a failed trial's configuration again (same hyperparameters and seed), up to MAX_RETRIES
    times unless not `bounded` (a trial the user interrupted is not at fault, however often).

    Used as the RDB storage's heartbeat callback, by `fail_dead_trials` for the journal storage and
    for interrupted trials."""
    import optuna

    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if bounded and len(history) > MAX_RETRIES:
        return
    plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_ATTRS}
    if "seed" not in plan and study.user_attrs.get("kind") == Kind.SEARCH:  # died before it recorded its seed
        plan["seed"] = search_seed(study.user_attrs, history[0])
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=plan,
            system_attrs={"failed_trial": history[0], "retry_history": history},
        )
    )


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose worker is gone, queue their retries; returns their numbers."""
    import optuna
    from optuna.trial import TrialState

    storage = storage_of(study)
    if heartbeat_enabled(storage):
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        optuna.storages.fail_stale_trials(study)  # RDB: heartbeats; the storage's callback retries
        after = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        return sorted(before - after)
    from benchbench.store.trials import retried_numbers

    failed, queued = [], retried_numbers(study.get_trials(deepcopy=False))
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        if not worker or worker_alive(worker) is not False:
            continue
        # A trial stopped by a full disk after its retry was queued keeps the reason it was stopped for.
        stopped = trial.number in queued and "fail_reason" in trial.user_attrs
        reason = f"worker {worker['host']}:{worker['pid']} died while running it; retried"
        try:
            if not stopped:
                storage.set_trial_user_attr(trial_id(trial), "fail_reason", reason)
            if not storage.set_trial_state_values(trial_id(trial), state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first
        if trial.number not in queued:  # its retry is queued already: only failed
            retry_stale_trial(study, storage.get_trial(trial_id(trial)))
        failed.append(trial.number)
    return failed


@contextmanager
def heartbeat(trial: int, storage) -> Iterator[None]:
    """Record the running trial's heartbeat every interval in a thread (RDB storages; a no-op for
    the journal). Optuna's own thread dies with a traceback when the server goes away; this one
    stops quietly and leaves the error to the worker's next call to the storage."""
    import threading

    if not heartbeat_enabled(storage):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            try:
                storage.record_heartbeat(trial)
            except Exception:  # noqa: BLE001 - the server is gone: the trial will be failed and retried
                return
            stop.wait(storage.get_heartbeat_interval())

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)  # a call stuck on an unreachable server must not hold the worker
