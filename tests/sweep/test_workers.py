"""Sweeps that survive: diverging trials, SIGKILL and resume, parallel workers on one storage, and
workers sharing a study through a real PostgreSQL server. Real `bench` processes, real trainings."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from benchbench.store.storage import open_storage
from benchbench.space import Param
from benchbench.sweep.config import SweepConfig
from benchbench.sweep.run import run_sweep
from benchbench.tasks import Task
from benchbench.store.trials import counted_trials, retried_numbers

from tests.postgres import postgres_server

SMOKE = ["--task", "adding", "--model", "lstm", "--budget", "smoke", "--seeds", "0", "--pruner", "none"]


def bench_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "benchbench.cli", *map(str, args)]


def _env() -> dict[str, str]:
    # One thread per process: the tests run workers side by side on a small machine.
    return {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "100"}


def run_bench_workers(study: str, url: str, root: Path, count: int = 2) -> list[tuple[str, str]]:
    """`count` `bench worker` processes on `study` at once, as on as many machines (results folders
    root/w0, root/w1, ...); asserts each exits 0 and returns their (stdout, stderr)."""
    workers = [
        subprocess.Popen(
            bench_cmd("worker", "--study", study, "--storage", url, "--results", root / f"w{i}"),
            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(count)
    ]  # fmt: skip
    outputs = [w.communicate(timeout=400) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    return outputs


def _study(results: Path | None, name: str = "adding/lstm/smoke", url: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(results, url))


def _assert_plan_done_exactly_once(study: optuna.Study, planned: int) -> list[optuna.trial.FrozenTrial]:
    trials = study.get_trials(deepcopy=False)
    counted = counted_trials(trials)
    assert len(counted) == planned, [(t.number, t.state) for t in trials]
    assert all(t.state == TrialState.COMPLETE for t in counted), [(t.number, t.state, t.user_attrs.get("fail_reason")) for t in trials]
    configs = [json.dumps(t.params, sort_keys=True) for t in counted]
    assert len(set(configs)) == planned  # every planned trial once: no configuration ran twice
    return counted


def test_diverging_trials_fail_with_reason_and_the_sweep_goes_on(tmp_path, monkeypatch):
    original = Task.search_space

    def exploding(self, family, budget=None):  # plain SGD with an absurd step: the loss becomes NaN
        space = dict(original(self, family, budget))
        space.update(
            lr=Param("lr", low=1e5, high=1e6, log=True),
            optimizer=Param("optimizer", fixed="sgd"),
            gradient_clip=Param("gradient_clip", fixed=None),
        )
        return space

    monkeypatch.setattr(Task, "search_space", exploding)
    names = run_sweep(SweepConfig(task="adding", model="rnn", budget="smoke", trials=2, seeds=1, results=tmp_path))
    trials = _study(tmp_path, names["search"]).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    reasons = [t.user_attrs["fail_reason"] for t in trials]
    assert all(r.startswith("diverged: ") and (" nan " in r or " inf " in r) for r in reasons), reasons
    assert "eval" not in names  # nothing finished, so nothing to retrain


def test_sigkill_then_the_same_command_resumes(tmp_path):
    """Kill a real sweep mid-trial with SIGKILL; the same command finishes the plan: no finished
    trial lost or repeated, the killed trial failed with its reason and retried with the same
    configuration and seed."""
    results = tmp_path / "results"
    command = bench_cmd("run", *SMOKE, "--trials", 6, "--max-epochs", 4, "--results", results)
    sweep = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while True:  # wait until two trials are done and the third is training (its seed recorded)
            assert time.monotonic() < deadline and sweep.poll() is None, "the sweep ended before it could be killed"
            if (results / "studies.journal").exists():
                trials = _study(results).get_trials(deepcopy=False)
                done = [t for t in trials if t.state == TrialState.COMPLETE]
                running = [t for t in trials if t.state == TrialState.RUNNING and "seed" in t.user_attrs]
                if len(done) >= 2 and running:
                    break
            time.sleep(0.1)
        os.kill(sweep.pid, signal.SIGKILL)
    finally:
        sweep.kill()
        sweep.wait()
    before = {t.number: (t.state, t.value, t.params) for t in _study(results).get_trials(deepcopy=False)}
    killed = [n for n, (state, _, _) in before.items() if state == TrialState.RUNNING]
    assert killed, "no trial was running when the sweep was killed: nothing to resume"
    print(f"\nkilled pid {sweep.pid} with trials {sorted(n for n, s in before.items() if s[0] == TrialState.COMPLETE)} "
          f"complete and {killed} running")  # fmt: skip

    resumed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    study = _study(results)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    for number, (state, value, params) in before.items():  # nothing finished was lost or changed
        if state == TrialState.COMPLETE:
            assert trials[number].state == TrialState.COMPLETE and trials[number].value == value
    for number in killed:  # the dead worker's trial: failed, said why, and retried as it was
        dead = trials[number]
        assert dead.state == TrialState.FAIL and "died" in dead.user_attrs["fail_reason"]
        (retry,) = [t for t in trials.values() if t.system_attrs.get("failed_trial") == number]
        assert retry.state == TrialState.COMPLETE
        assert retry.params == before[number][2] and retry.user_attrs["seed"] == dead.user_attrs["seed"]
        print(f"trial {number}: {dead.user_attrs['fail_reason']} -> trial {retry.number} "
              f"(seed {retry.user_attrs['seed']}, val {retry.value:.4g})")  # fmt: skip
    counted = _assert_plan_done_exactly_once(study, 6)
    assert retried_numbers(list(trials.values())) == set(killed)
    print(f"after resume: {len(trials)} trials stored, {len(counted)} counted, all complete")


def test_jobs_runs_worker_processes_on_one_storage(tmp_path):
    results = tmp_path / "results"
    out = subprocess.run(
        bench_cmd("run", *SMOKE, "--trials", 8, "--max-epochs", 3, "--jobs", 2, "--results", results),
        env=_env(), capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    counted = _assert_plan_done_exactly_once(_study(results), 8)
    assert sorted(t.number for t in counted) == list(range(8))
    assert len({t.user_attrs["worker"]["pid"] for t in counted}) == 2  # both workers took trials
    assert (results / "leaderboard.json").is_file()


def test_worker_processes_live_across_cells_and_evaluations(tmp_path):
    """`--jobs 2` over a matrix of two cells: the same two worker processes run every trial of both
    searches and both evaluations (started once; imports and start-up paid once per worker)."""
    results = tmp_path / "results"
    out = subprocess.run(
        bench_cmd("run", "--task", "adding", "--model", "lstm,gru", "--budget", "smoke", "--pruner", "none",
                  "--trials", 3, "--seeds", 2, "--max-epochs", 1, "--jobs", 2, "--results", results),
        env=_env(), capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    pids = set()
    for model in ("lstm", "gru"):
        search = _assert_plan_done_exactly_once(_study(results, f"adding/{model}/smoke"), 3)
        evaluation = _study(results, f"adding/{model}/smoke/eval").trials
        assert len(evaluation) == 2 and all(t.state == TrialState.COMPLETE for t in evaluation)
        pids |= {t.user_attrs["worker"]["pid"] for t in [*search, *evaluation]}
    assert len(pids) == 2, pids


def test_grid_sampler_visits_each_point_once(tmp_path):
    results = tmp_path / "results"
    out = subprocess.run(
        bench_cmd("run", "--task", "exchange-rate", "--model", "lstm", "--budget", "smoke", "--seeds", "0",
                  "--sampler", "grid", "--trials", 1000, "--results", results),
        env=_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    study = _study(results, "exchange-rate/lstm/smoke")
    from benchbench.space import grid
    from benchbench.tasks import load_task

    points = grid(load_task("exchange-rate").search_space("lstm", "smoke"))
    size = 1
    for values in points.values():
        size *= len(values)
    assert study.user_attrs["planned"] == size  # capped at the grid, not 1000
    seen = {json.dumps(t.params, sort_keys=True) for t in study.trials}
    assert len(study.trials) == len(seen) == size


@pytest.mark.parametrize("sampler,pruner", [("random", "hyperband"), ("tpe", "median"), ("gp", "halving"), ("qmc", "median")])
def test_sampler_and_pruner_choices(tmp_path, sampler, pruner):
    config = SweepConfig(
        task="adding", model="gru", budget="smoke", trials=5, max_epochs=3, seeds=0, results=tmp_path,
        sampler=sampler, pruner=pruner,
    )  # fmt: skip
    names = run_sweep(config)
    study = _study(tmp_path, names["search"])
    assert (study.user_attrs["sampler"], study.user_attrs["pruner"]) == (sampler, pruner)
    assert len(study.trials) == 5 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    again = run_sweep(dataclasses.replace(config, results=tmp_path / "again"))
    twin = _study(tmp_path / "again", again["search"])
    assert [t.params for t in twin.trials] == [t.params for t in study.trials]  # seeded: reproducible


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


def test_run_jobs_against_postgresql(postgres_url, tmp_path):
    out = subprocess.run(
        bench_cmd("run", *SMOKE, "--trials", 6, "--max-epochs", 2, "--jobs", 2, "--storage", postgres_url,
                  "--results", tmp_path),
        env=_env(), capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    counted = _assert_plan_done_exactly_once(_study(None, url=postgres_url), 6)
    assert len({t.user_attrs["worker"]["pid"] for t in counted}) == 2


def test_two_bench_workers_share_a_study_on_postgresql(postgres_url, tmp_path):
    """`bench run --jobs 0` plans the study; two `bench worker`s, as on two machines, take its trials
    from the server; every planned trial runs exactly once, then the last one runs the evaluation."""
    name = "adding[seq_len=16]/gru/smoke"
    plan = subprocess.run(
        bench_cmd("run", *SMOKE[:3], "gru", "--budget", "smoke", "--seeds", 2, "--pruner", "none", "--option", "seq_len=16", "--trials", 8,
                  "--max-epochs", 3, "--jobs", 0, "--storage", postgres_url, "--results", tmp_path),
        env=_env(), capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert _study(None, name, postgres_url).user_attrs["planned"] == 8 and not _study(None, name, postgres_url).trials
    outputs = run_bench_workers(name, postgres_url, tmp_path)
    counted = _assert_plan_done_exactly_once(_study(None, name, postgres_url), 8)
    ran = [int(out.strip().rsplit("ran ", 1)[1].split()[0]) for out, _ in outputs]
    assert len({t.user_attrs["worker"]["pid"] for t in counted}) == 2 and min(ran) >= 1, ran
    evaluation = _study(None, f"{name}/eval", postgres_url)
    assert sorted(t.user_attrs["seed"] for t in evaluation.trials) == [10_000, 10_001], [(t.number, t.state.name, t.user_attrs, t.system_attrs) for t in evaluation.trials]
    assert all(t.state == TrialState.COMPLETE for t in evaluation.trials)
    assert sum(ran) == 8 + 2, ran


def test_a_trial_that_died_before_recording_its_seed_is_retried_with_its_own(tmp_path):
    """Killed between its claim and its first line of training, a search trial has no seed yet: its
    retry trains with the seed that trial would have had (base seed + its number), not its own."""
    from benchbench.store.retry import retry_stale_trial

    study = optuna.create_study(storage=open_storage(tmp_path), study_name="adding/lstm/smoke")
    study.set_user_attr("kind", "search")
    study.set_user_attr("seed", 7)
    for _ in range(3):
        study.tell(study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}), 0.5)
    dead = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
    study.tell(dead, state=TrialState.FAIL)
    retry_stale_trial(study, study.trials[dead.number])
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs["seed"] == 7 + dead.number == 10
    assert waiting[0].params == study.trials[dead.number].params


def _with_a_running_trial(results: Path, worker: dict) -> tuple[optuna.Study, optuna.Trial]:
    """A search study with one finished trial and one RUNNING, claimed by `worker`."""
    study = optuna.create_study(storage=open_storage(results), study_name="adding/lstm/smoke")
    study.set_user_attr("kind", "search")
    study.set_user_attr("seed", 0)
    lr = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    study.tell(study.ask(lr), 0.5)
    running = study.ask(lr)
    running.set_user_attr("worker", worker)
    return study, running


def test_a_run_with_nothing_left_to_claim_waits_for_the_trial_another_live_process_runs(tmp_path):
    """Two runs of one cell: the one that finds nothing left to claim waits for the other's last
    trial instead of judging the cell while it runs (it used to report the search cut short)."""
    import threading

    from benchbench.store.retry import WorkerId
    from benchbench.store.storage import StorageSpec
    from benchbench.sweep.workers import wait_for_others

    study, running = _with_a_running_trial(tmp_path, WorkerId.current().as_attr())
    finisher = threading.Timer(0.5, lambda: study.tell(running, 0.4))
    start = time.monotonic()
    finisher.start()
    assert wait_for_others(StorageSpec.of(tmp_path), "adding/lstm/smoke", poll=0.05) is False
    assert time.monotonic() - start >= 0.5
    assert study.trials[running.number].state == TrialState.COMPLETE


def test_waiting_for_others_queues_a_dead_workers_trial_for_this_run(tmp_path):
    from benchbench.store.retry import WorkerId
    from benchbench.store.storage import StorageSpec
    from benchbench.sweep.workers import wait_for_others

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    dead = dataclasses.replace(WorkerId.current(), pid=gone.pid, started=None).as_attr()
    gone.wait()
    study, running = _with_a_running_trial(tmp_path, dead)
    assert wait_for_others(StorageSpec.of(tmp_path), "adding/lstm/smoke", poll=0.05) is True
    assert study.trials[running.number].state == TrialState.FAIL
    assert [t.params for t in study.get_trials(states=(TrialState.WAITING,))] == [study.trials[running.number].params]


def test_a_trial_on_another_host_of_a_journal_is_not_waited_for_and_the_cut_short_line_says_why(tmp_path):
    """Nothing can tell whether a journal's worker on another host is alive: the run does not wait
    for it, and the cell's line says the trial is running elsewhere, not that trials failed."""
    from benchbench.store.storage import StorageSpec
    from benchbench.sweep.run import _mark_cut_short
    from benchbench.sweep.workers import wait_for_others

    study, running = _with_a_running_trial(tmp_path, {"host": "another-machine", "pid": 1, "started": None})
    start = time.monotonic()
    assert wait_for_others(StorageSpec.of(tmp_path), "adding/lstm/smoke", poll=0.05) is False
    assert time.monotonic() - start < 5
    assert study.trials[running.number].state == TrialState.RUNNING
    _mark_cut_short(study, 2, SweepConfig(task="adding", model="lstm", budget="smoke", results=tmp_path))
    why = _study(tmp_path).user_attrs["cut_short"]
    assert why.startswith("the search has 1 of 2 planned trials finished and 1 still running in another process"), why
