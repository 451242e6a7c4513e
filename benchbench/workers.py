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

import os
import signal
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchbench.errors import INTERRUPTED_EXIT, BenchError, Diverged, Interrupted, OutOfSpace, no_space, user_line
from benchbench.results import StorageSpec, counted_trials, file_lock, sqlite_lock_path

if TYPE_CHECKING:
    import optuna

__all__ = [
    "WorkerId", "claim_lock", "fail_dead_trials", "ignore_interrupts", "intra_op_threads", "retry_stale_trial", "run_trial",
    "run_workers", "sigterm_as_interrupt", "work", "work_on",
]  # fmt: skip

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
    if "seed" not in plan and study.user_attrs.get("kind") == "search":  # died before it recorded its seed
        from benchbench.studies import search_seed

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
        path = sqlite_lock_path(storage.engine.url.database)
    else:
        path = os.path.join(os.fspath(results_dir), ".claim.lock")
    with file_lock(path):
        yield


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
    from optuna.trial import TrialState

    state, value, error = TrialState.COMPLETE, None, None
    # Lightning sets SIGINT to 'ignore' when it catches a Ctrl-C and never sets it back: put it back after.
    with _heartbeat(trial._trial_id, study._storage), _signals({signal.SIGINT: None}):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except Diverged as err:
            state = TrialState.FAIL
            trial.set_user_attr("fail_reason", f"diverged: {err}")
        except BaseException as err:
            if _is_interrupt(err):
                with _signals({signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_IGN}):  # a second one must not tear the record
                    _stop(study, trial, "interrupted")
                raise Interrupted(study.study_name, trial.number, requeued=_requeues(study)) from None
            full = no_space(err)
            if full is not None:
                try:
                    _stop(study, trial, full)
                except OSError:  # the storage is on the full disk too: the next run retries it as a dead worker's
                    pass
                kept = f"trial {trial.number} of {study.study_name} was stopped" + (" and queued again" if _requeues(study) else "")
                raise OutOfSpace(f"{user_line(err)} (finished trials are kept; {kept})") from None
            state, error = TrialState.FAIL, err
            trial.set_user_attr("fail_reason", f"{type(err).__name__}: {err}")
    study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    if error is not None:
        raise error
    return state.name


@contextmanager
def _heartbeat(trial_id: int, storage) -> Iterator[None]:
    """Record the running trial's heartbeat every interval in a thread (RDB storages; a no-op for
    the journal). Optuna's own thread dies with a traceback when the server goes away; this one
    stops quietly and leaves the error to the worker's next call to the storage."""
    import threading

    from optuna.storages._heartbeat import is_heartbeat_enabled

    if not is_heartbeat_enabled(storage):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # noqa: BLE001 - the server is gone: the trial will be failed and retried
                return
            stop.wait(storage.get_heartbeat_interval())

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)  # a call stuck on an unreachable server must not hold the worker


def _is_interrupt(err: BaseException) -> bool:
    """Ctrl-C, as Python raises it or as Lightning reports it: its trainer catches the
    KeyboardInterrupt, tears down and raises SystemExit(1) in its place."""
    return isinstance(err, KeyboardInterrupt) or (isinstance(err, SystemExit) and isinstance(err.__context__, KeyboardInterrupt))


def _stop(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    """Fail a trial stopped through no fault of its configuration (Ctrl-C, a full disk) and queue it
    again (same hyperparameters and seed), so that the same command continues it; a fixed `bench
    train` trial is only failed (the command adds its own)."""
    from optuna.trial import TrialState

    requeue = _requeues(study)
    trial.set_user_attr("fail_reason", reason + ("; queued again" if requeue else ""))
    study.tell(trial, None, state=TrialState.FAIL)
    if requeue:
        retry_stale_trial(study, study._storage.get_trial(trial._trial_id), bounded=False)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _requeues(study: optuna.Study) -> bool:
    """Whether a trial stopped through no fault of its own is queued again: yes but for `bench train`'s."""
    return study.user_attrs.get("kind") != "fixed"


@contextmanager
def _signals(handlers: dict[int, Any]) -> Iterator[None]:
    """Set these signal handlers for the block (None keeps the current one) and put back what was
    there before; a no-op off the main thread, which alone receives signals."""
    if not _main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in handlers}
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """Ignore SIGINT and SIGTERM from now on: the command is already stopping."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


@contextmanager
def sigterm_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM (`kill`, `docker stop`, a batch scheduler's notice before SIGKILL) stops the command as
    Ctrl-C does: the running trial is recorded and queued again. Yields a list that holds the
    signal's number once one arrived."""
    received: list[int] = []

    def interrupt(signum, frame) -> None:  # noqa: ANN001
        received.append(signum)
        raise KeyboardInterrupt

    with _signals({signal.SIGTERM: interrupt}):
        yield received


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


# --- worker processes on this machine ------------------------------------------------------------


def work_on(store: StorageSpec, name: str, worker_index: int, *, timeout: float | None, progress=None) -> int:
    """One worker's loop on study `name`: claims and runs trials until the study's plan is done."""
    from benchbench.objective import Objective
    from benchbench.studies import load_study

    study = load_study(store, name, worker_index)
    objective = Objective(study, store, progress)
    return work(
        study, objective, planned=int(study.user_attrs["planned"]), results_dir=store.results, timeout=timeout,
        on_trial_done=progress.trial_done if progress is not None else None,
    )  # fmt: skip


def _worker_process(store: StorageSpec, name: str, index: int, timeout: float | None, threads: int, device: str | None) -> None:
    """Entry point of a `--jobs` worker process (spawned: a fresh interpreter, no inherited torch state)."""
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device  # pin this worker to one GPU; several may share one
    import torch

    torch.set_num_threads(threads)
    try:
        with sigterm_as_interrupt():
            work_on(store, name, index, timeout=timeout)
    except Exception as err:  # bad input, a full disk, a storage gone: one line, as the CLI prints it
        import sys

        line = user_line(err)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # Ctrl-C reaches every process of the terminal's group; the parent reports it
        ignore_interrupts()
        raise SystemExit(INTERRUPTED_EXIT) from None


def _gpu_list() -> list[str]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d for d in visible.split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def _stop_workers(workers: list, grace: float = 20.0) -> None:
    """After Ctrl-C: pass SIGINT on to workers that did not get it (a `kill -INT` of this process
    alone), give each `grace` seconds to record its interrupted trial, then terminate the rest (their
    trials are failed and retried by the next run, as any dead worker's)."""
    for worker in workers:
        if worker.is_alive():
            try:
                os.kill(worker.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    try:
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        pass
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join()


def intra_op_threads(threads: int, jobs: int) -> int:
    """Intra-op threads of each worker. One by default: a step of these families is a chain of small
    kernels (a (B, 4H) matmul, a few elementwise ops) that gain little from a second thread, and
    OpenMP's threads spin-wait at every kernel, so when a core they need is busy (another worker,
    another program) each kernel waits for a time slice: on 2 cores with one other busy process a
    small model's training loop ran 9x slower with two threads than with one. Spare cores are better
    used by `--jobs`. 0 restores torch's choice, the cores split over the jobs."""
    return threads if threads > 0 else max(1, (os.cpu_count() or 1) // jobs)


def run_workers(store: StorageSpec, name: str, jobs: int, *, threads: int, timeout: float | None, progress=None) -> None:
    """Run the study's plan with `jobs` workers: in this process for one, else in spawned processes
    (worker i on GPU i mod the GPU count when there are GPUs), while this process shows progress.
    Each worker runs `intra_op_threads(threads, jobs)` intra-op threads."""
    threads = intra_op_threads(threads, jobs)
    if jobs == 1:
        import torch

        torch.set_num_threads(threads)
        work_on(store, name, 0, timeout=timeout, progress=progress)
        return
    import multiprocessing

    gpus = _gpu_list()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_worker_process, args=(store, name, i, timeout, threads, gpus[i % len(gpus)] if gpus else None), daemon=False
        )
        for i in range(jobs)
    ]  # fmt: skip
    for worker in workers:
        worker.start()
    try:
        while any(w.is_alive() for w in workers):
            if progress is not None:
                progress.poll(store, name)
            time.sleep(1.0)
    except KeyboardInterrupt:
        _stop_workers(workers)
        raise Interrupted(name, None, requeued=True) from None
    for worker in workers:
        worker.join()
    if progress is not None:
        progress.poll(store, name)
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    if failed and set(failed) == {2}:  # each printed its one line (a full disk, a storage gone)
        raise BenchError(f"{len(failed)} of {jobs} workers of {name} stopped (see their errors above); run the same command to continue")
    if failed:
        raise RuntimeError(f"{len(failed)} of {jobs} workers of {name} exited with codes {failed}; see their output above")

