"""Workers: processes that take trials of one study from a shared Optuna storage until its plan is done.

A study plans a number of trials (the user attribute `planned`). A worker claims a trial under a
lock that every worker of the study shares, so the count is exact however many workers race:

    claim lock -> fail the trials of dead workers (and queue their retries)
               -> count the trials that are planned, running or done
               -> pop a queued trial, or start a new one while the count is short of the plan
    release   -> train -> tell the storage how the trial ended

Locks (store/locks.py): the journal storage of a results folder uses an advisory file lock next to
the journal (the kernel drops it when its holder dies, even by SIGKILL); PostgreSQL uses an advisory
lock of the server (dropped with the holder's connection); SQLite a file lock beside the database.

Dead workers (store/retry.py): Optuna's RDB storage keeps a heartbeat per running trial and fails
those whose heartbeat stops. Its journal storage has none, so every trial records the host, pid and
start time of the process running it, and a trial RUNNING in a process that no longer exists on this
host is failed at the next claim. Either way the retry is a new queued trial with the same hyperparameters and seed,
whose system attribute `failed_trial` names the first trial of the chain; a retried failure no
longer counts towards the plan.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from benchbench.errors import (
    INTERRUPTED_EXIT,
    BenchError,
    Diverged,
    Interrupted,
    OutOfSpace,
    no_space,
    user_line,
)
from benchbench.store.internals import heartbeat_enabled, storage_of, trial_id
from benchbench.store.locks import claim_lock
from benchbench.store.names import Kind
from benchbench.store.retry import (
    WorkerId,
    fail_dead_trials,
    heartbeat,
    retry_stale_trial,
    worker_alive,
)
from benchbench.store.storage import StorageSpec
from benchbench.store.trials import counted_trials
from benchbench.sweep.signals import (
    ignore_interrupts,
    is_interrupt,
    signals,
    sigterm_as_interrupt,
)

if TYPE_CHECKING:
    import optuna

__all__ = [
    "ERROR", "MAX_ERRORS_IN_A_ROW", "WorkerPool", "intra_op_threads", "run_trial", "run_workers", "trial_failure", "work", "work_on",
]  # fmt: skip


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
    """Run one claimed trial and tell the storage how it ended; returns the final state's name
    (`ERROR` for a trial failed by an exception).

    Pruned trials end PRUNED, diverged ones FAIL with `fail_reason`. Any other exception raised by
    the trial (in the forward or backward pass, the metric, out of memory, a bug in a user's cell)
    fails this trial alone: its reason and traceback are stored with it (`fail_reason`, `traceback`),
    one line says so, and the caller goes on with the next trial. Interrupts, a full disk and a lost
    storage are no fault of the trial and stop the worker."""
    import optuna
    from optuna.trial import TrialState

    state, value, error, failure = TrialState.COMPLETE, None, None, None
    # Lightning sets SIGINT to 'ignore' when it catches a Ctrl-C and never sets it back: put it back after.
    with heartbeat(trial_id(trial), storage_of(study)), signals({signal.SIGINT: None}):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except Diverged as err:
            state = TrialState.FAIL
            trial.set_user_attr("fail_reason", f"diverged: {err}")
        except BaseException as err:
            if is_interrupt(err):
                with signals({signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_IGN}):  # a second one must not tear the record
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
            if not isinstance(err, Exception) or (user_line(err) is not None and not isinstance(err, BenchError)):
                state, error = TrialState.FAIL, err  # SystemExit, a storage gone: the worker stops
                trial.set_user_attr("fail_reason", trial_failure(err))
            else:
                state, failure = TrialState.FAIL, trial_failure(err)
                trial.set_user_attr("fail_reason", failure)
                trial.set_user_attr("traceback", _traceback(err))
    study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    if error is not None:
        raise error
    if failure is not None:
        print(f"{study.study_name} trial {trial.number} failed: {failure} (its traceback is stored with the trial)", file=sys.stderr)
        return ERROR
    return state.name


ERROR = "ERROR"  # run_trial's answer for a trial failed by an exception (its state is FAIL)
_TRACEBACK_CHARS = 20_000  # the end of a longer traceback is kept (where it was raised)


def trial_failure(err: BaseException) -> str:
    """One short line for an exception that failed a trial: `RuntimeError: ...`, `out of memory: ...`."""
    text = " ".join(str(err).split()) or type(err).__name__
    memory = isinstance(err, MemoryError) or "out of memory" in text.lower() or "can't allocate memory" in text
    head = "out of memory" if memory else type(err).__name__
    return f"{head}: {text if len(text) <= 200 else text[:200] + '…'}"


def _traceback(err: BaseException) -> str:
    import traceback

    text = "".join(traceback.format_exception(err))
    return text if len(text) <= _TRACEBACK_CHARS else "…" + text[-_TRACEBACK_CHARS:]


def _stop(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    """Fail a trial stopped through no fault of its configuration (Ctrl-C, a full disk) and queue it
    again (same hyperparameters and seed), so that the same command continues it; a fixed `bench
    train` trial is only failed (the command adds its own)."""
    from optuna.trial import TrialState

    requeue = _requeues(study)
    trial.set_user_attr("fail_reason", reason + ("; queued again" if requeue else ""))
    # The retry is queued before the trial is failed: when the disk is full and either write fails,
    # the trial is left RUNNING and the next run fails and retries it as a dead worker's (once).
    if requeue:
        retry_stale_trial(study, storage_of(study).get_trial(trial_id(trial)), bounded=False)
    study.tell(trial, None, state=TrialState.FAIL)


def _requeues(study: optuna.Study) -> bool:
    """Whether a trial stopped through no fault of its own is queued again: yes but for `bench train`'s."""
    return study.user_attrs.get("kind") != Kind.FIXED


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
    before a claim, or MAX_ERRORS_IN_A_ROW trials in a row failed by an exception: a broken cell
    fails the same way whatever its configuration); returns the number of trials this worker ran."""
    start, ran, errors = time.monotonic(), 0, 0
    while timeout is None or time.monotonic() - start < timeout:
        trial = _claim(study, planned, results_dir)
        if trial is None:
            break
        state = run_trial(study, trial, objective)
        ran += 1
        errors = errors + 1 if state == ERROR else 0
        if on_trial_done is not None:
            on_trial_done(study, state)
        if errors >= MAX_ERRORS_IN_A_ROW:
            print(f"{study.study_name}: stopped after {errors} trials in a row failed by an exception", file=sys.stderr)
            break
    return ran


MAX_ERRORS_IN_A_ROW = 3
OTHERS_POLL_S = 1.0  # how often a run that has nothing left to claim looks again at others' running trials


def wait_for_others(store: StorageSpec, name: str, *, poll: float = OTHERS_POLL_S) -> bool:
    """Wait while other processes (a second `bench run` of the same cell, a `bench worker`) still
    run trials of study `name`, so that a run judges its cell only once the plan is done, not while
    the last trial is someone else's. A trial is waited for while its worker is known alive: on this
    host, or under an RDB storage's heartbeats, which fail it when they stop; one on another host of
    a journal is not (nothing could tell if it died). When a worker dies meanwhile its trial is
    failed and queued again, as a claim does: True, for the caller to run it; False once nothing it
    can wait for is left running."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=store.open())
    beats = heartbeat_enabled(storage_of(study))
    while True:
        with claim_lock(study, store.results):
            fail_dead_trials(study)
            trials = counted_trials(study.get_trials(deepcopy=False))
        if any(t.state == TrialState.WAITING for t in trials):
            return True
        running = [t for t in trials if t.state == TrialState.RUNNING]
        if not any(beats or worker_alive(t.user_attrs.get("worker") or {}) for t in running):
            return False
        time.sleep(poll)


# --- worker processes on this machine ------------------------------------------------------------


def work_on(store: StorageSpec, name: str, worker_index: int, *, timeout: float | None, progress=None) -> int:
    """One worker's loop on study `name`: claims and runs trials until the study's plan is done."""
    from benchbench.sweep.objective import Objective
    from benchbench.sweep.studies import load_study

    study = load_study(store, name, worker_index)
    objective = Objective(study, store, progress)
    return work(
        study, objective, planned=int(study.user_attrs["planned"]), results_dir=store.results, timeout=timeout,
        on_trial_done=progress.trial_done if progress is not None else None,
    )  # fmt: skip


# Modules every trial needs, imported once by the fork server (a clean process) while the command
# plans; each worker forks from it with them loaded, instead of importing them itself.
_PRELOAD = ["torch", "lightning.pytorch", "optuna", "optuna_integration", "benchbench.training", "benchbench.sweep.objective"]


def _pool_worker(index: int, threads: int, device: str | None, jobs, done) -> None:
    """Entry point of a pool worker: takes (storage, study, timeout) jobs from its queue and works on
    each study's plan until a None arrives; reports each job done on `done`. Exits 2 after printing
    the one line of a user-facing error (a full disk, a storage gone), 130 on Ctrl-C or SIGTERM."""
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device  # pin this worker to one GPU; several may share one
    import torch

    torch.set_num_threads(threads)
    try:
        with sigterm_as_interrupt():
            while (job := jobs.get()) is not None:
                store, name, timeout = job
                work_on(store, name, index, timeout=timeout)
                done.put(index)
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


class WorkerPool:
    """`jobs` long-lived worker processes of one command: started once, they work on every study the
    command runs (each cell of a matrix, each search and its evaluation), so a worker pays its start-up
    (imports, CUDA) once, not once per study; the data of a study is loaded once per worker.

    The processes fork from a fork server (a clean interpreter that imported torch, Lightning and the
    trial code once, started by `start()` so that its imports overlap the command's planning), so no
    worker imports them again and none inherits the command's threads or CUDA state. Worker i runs on
    GPU i mod the GPU count when there are GPUs, with `threads` intra-op threads."""

    def __init__(self, jobs: int, threads: int) -> None:
        import multiprocessing

        self.jobs, self.threads = jobs, intra_op_threads(threads, jobs)
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self.context = multiprocessing.get_context(method)
        self.workers: list = [None] * jobs
        self.queues: list = []
        self.done = None
        self.gpus: list[str] | None = None

    def start(self) -> WorkerPool:
        """Start the fork server now (it imports while the caller plans); the workers start at the first `run`."""
        if self.context.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            self.context.set_forkserver_preload(_PRELOAD)
            forkserver.ensure_running()
        return self

    def _revive(self) -> None:
        """Start the workers that are not running (first use, or after one stopped on an error)."""
        if self.done is None:
            self.done = self.context.Queue()
            self.queues = [self.context.Queue() for _ in range(self.jobs)]
        if self.gpus is None:
            self.gpus = _gpu_list()
        for i, worker in enumerate(self.workers):
            if worker is not None and worker.is_alive():
                continue
            self.queues[i] = self.context.Queue()  # a dead worker's queue may hold a job it never took
            device = self.gpus[i % len(self.gpus)] if self.gpus else None
            self.workers[i] = self.context.Process(
                target=_pool_worker, args=(i, self.threads, device, self.queues[i], self.done), daemon=False
            )
            self.workers[i].start()

    def run(self, store: StorageSpec, name: str, *, timeout: float | None, progress=None) -> None:
        """Every worker works on study `name` until its plan is done; returns when all have finished."""
        import queue

        self._revive()
        for q in self.queues:
            q.put((store, name, timeout))
        pending = set(range(self.jobs))
        failed: list[int] = []
        try:
            while pending:
                try:
                    pending.discard(self.done.get(timeout=1.0))
                except queue.Empty:
                    pass
                for i in [i for i in pending if not self.workers[i].is_alive()]:
                    pending.discard(i)
                    failed.append(self.workers[i].exitcode)
                if progress is not None:
                    progress.poll(store, name)
        except KeyboardInterrupt:
            _stop_workers([w for w in self.workers if w is not None])
            raise Interrupted(name, None, requeued=True) from None
        if failed and set(failed) == {2}:  # each printed its one line (a full disk, a storage gone)
            raise BenchError(f"{len(failed)} of {self.jobs} workers of {name} stopped (see their errors above); run the same command to continue")
        if failed:
            raise RuntimeError(f"{len(failed)} of {self.jobs} workers of {name} exited with codes {failed}; see their output above")

    def close(self) -> None:
        """Let idle workers exit; stop any that does not within a few seconds."""
        for worker, q in zip(self.workers, self.queues):
            if worker is not None and worker.is_alive():
                q.put(None)
        for worker in self.workers:
            if worker is not None:
                worker.join(10.0)
                if worker.is_alive():
                    worker.terminate()
                    worker.join()
        self.workers = [None] * self.jobs

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


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


def run_workers(
    store: StorageSpec, name: str, jobs: int, *, threads: int, timeout: float | None, progress=None, pool: WorkerPool | None = None
) -> None:
    """Run the study's plan with `jobs` workers: in this process for one, else in the processes of
    `pool` (a WorkerPool of `jobs` workers the caller keeps for its other studies; one made for this
    study alone when None), while this process shows progress. Each worker runs
    `intra_op_threads(threads, jobs)` intra-op threads."""
    threads = intra_op_threads(threads, jobs)
    if jobs == 1:
        import torch

        torch.set_num_threads(threads)
        work_on(store, name, 0, timeout=timeout, progress=progress)
        return
    if pool is not None:
        pool.run(store, name, timeout=timeout, progress=progress)
        return
    with WorkerPool(jobs, threads) as own:
        own.run(store, name, timeout=timeout, progress=progress)
