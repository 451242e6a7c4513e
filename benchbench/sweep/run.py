"""Sweeps: a hyperparameter search per task x family x budget, then a final evaluation of its best
configurations with fresh seeds; and fixed `bench train` runs. Both are Optuna studies in one storage
(see docs/results.md). This module is the entry points; the parts live beside it:

    config.py     what the user asked for: SweepConfig, FixedConfig, validation, the task x family matrix
    samplers.py   the samplers and pruners a study names
    studies.py    study attributes, creation and loading, the plans, naive baselines, provenance
    objective.py  the one trial path: every trial of any kind trains and is recorded there
    workers.py    claiming trials exactly once, worker processes and GPUs (dead workers: store/retry.py)
    signals.py    Ctrl-C and SIGTERM
    progress.py   the progress display

A study plans a number of trials; running the same `bench run` again continues it: finished trials
are kept, trials a killed worker left behind are failed and retried (see workers.py), and only what
is missing runs. `--jobs N` runs N worker processes against the storage; `bench worker` joins a
study from any machine that reaches the storage: everything a worker needs is in the study's user
attributes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from benchbench.errors import BenchError, OutOfSpace, Unfinished
from benchbench.store.names import Kind, fixed_label, study_name, task_label
from benchbench.store.storage import StorageSpec, prepare_results_dir
from benchbench.store.trials import count_trials, counted_trials, finished_trials
from benchbench.sweep.config import FixedConfig, SweepConfig, resolve, validate
from benchbench.sweep.objective import trial_data
from benchbench.sweep.progress import Progress
from benchbench.sweep.studies import (
    create_study,
    load_study,
    plan_evaluation,
    plan_search,
    record_baselines,
    study_attrs,
)
from benchbench.sweep.workers import MAX_ERRORS_IN_A_ROW, WorkerPool, run_workers, wait_for_others, work_on

__all__ = [
    "CUT_SHORT", "DONE", "NO_RESULT", "CellOutcome", "auto_seeds", "cell_outcome", "run_command", "run_matrix", "run_sweep",
    "run_worker", "train_fixed",
]  # fmt: skip


def run_sweep(
    config: SweepConfig, *, progress: Progress | None = None, show_progress: bool = False, pool: WorkerPool | None = None
) -> dict[str, str]:
    """Run (or continue) the search of `config`, then its final evaluation. Returns the names of the
    studies: {"search": ..., "eval": ...} (no "eval" when `seeds` is 0). With `jobs` > 1 both run in
    the processes of `pool` (one is made for this sweep when None)."""
    task = validate(config)
    if pool is None and config.jobs > 1:
        with WorkerPool(config.jobs, config.threads) as own:  # its fork server imports while this plans
            return run_sweep(config, progress=progress, show_progress=show_progress, pool=own)
    trial_data(task, config.budget, dict(config.options))  # fails early (missing data, bad option), before writing
    prepare_results_dir(config.results)  # only once the input is known to be good
    if progress is None and show_progress:
        progress = Progress()
    with progress.bar if progress is not None and show_progress else nullcontext():
        search, planned, max_epochs = plan_search(task, config)
        record_baselines(config.store, task, config.budget, dict(config.options), trial_data(task, config.budget, dict(config.options)))
        names = {"search": search.study_name}
        if config.jobs == 0:  # planned only: `bench worker`s anywhere do the work
            return names
        shown_epochs = max_epochs if config.jobs == 1 else None  # epoch progress from in-process workers only
        if progress is not None:
            progress.study(search.study_name, planned, finished_trials(search), shown_epochs)
        _work(config, search.study_name, timeout=config.timeout, progress=progress, pool=pool)
        _mark_cut_short(search, planned, config)
        if int(search.user_attrs["eval_seeds"]) > 0 and _has_complete(search):
            evaluation, eval_planned = plan_evaluation(config.store, search)
            if progress is not None:
                progress.study(evaluation.study_name, eval_planned, finished_trials(evaluation), shown_epochs)
            _work(config, evaluation.study_name, timeout=None, progress=progress, pool=pool)
            names["eval"] = evaluation.study_name
            if config.seeds_target is not None:
                _more_seeds(config, search, progress, pool)
    return names


def auto_seeds(values: list[float], target: float, cap: int) -> int | None:
    """How many seeds the best configuration should have for `--seeds auto`, or None when it has
    enough: its detectable difference (a two-sided t-test at 5% with 80% power against a rerun of
    itself with as many seeds, stats.detectable, relative to the mean) is at most `target`, or it
    holds `cap` seeds. The difference shrinks about as 1/√n, so n · (detectable / target)² seeds are
    asked for at once (at least one more, at most `cap`)."""
    from benchbench.stats import detectable, summarize

    n = len(values)
    if n >= cap:
        return None
    if n < 2:
        return min(cap, 2)
    s = summarize(values)
    if s.mean == 0:
        return None
    relative = detectable(s.std, n) / abs(s.mean)
    if relative <= target:
        return None
    return min(cap, max(n + 1, math.ceil(n * (relative / target) ** 2)))


def _best_values(evaluation) -> list[float]:
    """The test values of the evaluation's complete trials of its best configuration (`ranking`'s first)."""
    from optuna.trial import TrialState

    from benchbench.stats import is_finite

    best = (evaluation.user_attrs.get("ranking") or [None])[0]
    return [
        float(t.user_attrs["test"])
        for t in evaluation.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("rank") == 1 and t.user_attrs.get("source_trial") == best and is_finite(t.user_attrs.get("test"))
    ]


def _more_seeds(config: SweepConfig, search, progress: Progress | None, pool=None) -> None:
    """`--seeds auto`: retrain the search's best configuration with more seeds until auto_seeds is
    satisfied (each round queues the seeds it asks for and runs them)."""
    assert config.seeds_target is not None
    while True:
        evaluation, _ = plan_evaluation(config.store, search)
        wanted = auto_seeds(_best_values(evaluation), config.seeds_target, config.max_seeds)
        if wanted is None:
            return
        evaluation, planned = plan_evaluation(config.store, search, seeds=wanted)
        if progress is not None:
            progress.study(evaluation.study_name, planned, finished_trials(evaluation), None)
        _work(config, evaluation.study_name, timeout=None, progress=progress, pool=pool)


def _work(config: SweepConfig, name: str, *, timeout: float | None, progress: Progress | None, pool) -> None:
    """Run study `name`'s plan here; then, unless a timeout bounds this run, wait for the trials
    other processes still run (another `bench run` of the same cell, `bench worker`s), running any
    that a dead worker left queued, so the cell is judged once its plan is done."""
    while True:
        run_workers(config.store, name, config.jobs, threads=config.threads, timeout=timeout, progress=progress, pool=pool)
        if timeout is not None or not wait_for_others(config.store, name):
            return


def _mark_cut_short(search, planned: int, config: SweepConfig) -> None:
    """Record on the search study whether this run left its plan short (`cut_short`: why, or None
    once a later run finished it), so that the leaderboard and its JSON mark the row."""
    from optuna.trial import TrialState

    trials = search.get_trials(deepcopy=False)
    finished = finished_trials(search)
    counted = [t for t in trials if t.state.is_finished()]
    elsewhere = sum(t.state == TrialState.RUNNING for t in counted_trials(trials))
    if finished >= planned:
        why = None
    elif config.timeout is not None and not _errors_at_end(counted):
        why = f"--timeout {config.timeout:g}s stopped the search after {finished} of {planned} planned trials"
    elif elsewhere:
        why = (
            f"the search has {finished} of {planned} planned trials finished and {elsewhere} still running in another "
            "process (a second run of this cell or a `bench worker`)"
        )
    else:
        why = f"the search stopped after {finished} of {planned} planned trials, {MAX_ERRORS_IN_A_ROW} in a row failed by an exception"
    if search.user_attrs.get("cut_short") != why:
        search.set_user_attr("cut_short", why)


def _errors_at_end(trials) -> bool:
    last = trials[-MAX_ERRORS_IN_A_ROW:]
    return len(last) == MAX_ERRORS_IN_A_ROW and all("traceback" in t.user_attrs for t in last)


def _has_complete(study) -> bool:
    from optuna.trial import TrialState

    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


@dataclass(frozen=True)
class CellOutcome:
    """How one cell of a `bench run` ended: `done` (it has its result), `cut short` (a result, but
    the search stopped before its plan) or `no result`; with the reason and the command that
    continues it."""

    task: str  # the task label (with changed dataset options)
    model: str
    budget: str
    status: str  # DONE, CUT_SHORT or NO_RESULT
    reason: str = ""
    advice: str = ""  # what to do, with the command that continues the cell

    @property
    def line(self) -> str:
        """The one summary line of a cell that is not done."""
        return f"{self.task}/{self.model}/{self.budget}: {self.status}: {self.reason}; {self.advice}"


DONE, CUT_SHORT, NO_RESULT = "done", "cut short", "no result"


def run_command(config: SweepConfig, *, timeout: bool = True, trials: int | None = None) -> str:
    """The `bench run` command line of one cell of `config` (options left at their defaults are left out)."""
    words = ["bench", "run", "--task", config.task, "--model", config.model, "--budget", config.budget]
    defaults = SweepConfig(task=config.task, model=config.model)
    for name in ("trials", "max_epochs", "timeout", "sampler", "pruner", "top_k", "seeds", "seed", "jobs", "threads"):
        value = trials if name == "trials" and trials is not None else getattr(config, name)
        if value != getattr(defaults, name) and (timeout or name != "timeout"):
            words += [f"--{name.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    for key, value in config.options:
        words += ["--option", f"{key}={_toml(value)}"]
    for name in config.trackers:
        words += ["--tracker", name]
    if config.storage is not None:
        words += ["--storage", config.store.label]
    if config.results != defaults.results:
        words += ["--results", str(config.results)]
    return shlex.join(words)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return value
    return repr(value) if isinstance(value, float) else str(value)


def cell_outcome(config: SweepConfig, names: dict[str, str]) -> CellOutcome:
    """How the cell of `config` stands after its run: read from its search (and eval) study."""
    from optuna.trial import TrialState

    search = load_study(config.store, names["search"])
    cell = dict(task=names["search"].rsplit("/", 2)[0], model=config.model, budget=config.budget)
    if config.jobs == 0:
        return CellOutcome(**cell, status=DONE)  # planned only: the workers report
    trials = search.get_trials(deepcopy=False)
    planned = int(search.user_attrs.get("planned", len(trials)))
    show = f"bench show --task {shlex.quote(cell['task'])} --model {config.model} --budget {config.budget}"
    if config.results != SweepConfig(task="", model="").results:
        show += f" --results {shlex.quote(str(config.results))}"
    if not _has_complete(search):
        failed = [t for t in counted_trials(trials) if t.state == TrialState.FAIL]
        pruned = sum(t.state == TrialState.PRUNED for t in trials)
        if failed:
            first = failed[0]
            why = f"{len(failed)} of {len(trials)} trials failed, e.g. trial {first.number}: {first.user_attrs.get('fail_reason', 'no reason recorded')}"
            what = f"`{show} --trial {first.number}` shows its traceback; after a fix, `{run_command(config, trials=planned + len(failed))}` tries more"
        else:
            why = f"no trial completed ({pruned} pruned, {len(trials) - pruned} unfinished)"
            what = f"continue with `{run_command(config, timeout=False, trials=max(planned, len(trials) + 1))}`"
        return CellOutcome(**cell, status=NO_RESULT, reason=why, advice=what)
    cut = search.user_attrs.get("cut_short")
    if cut:
        evaluated = "; the final evaluation retrained its best configuration so far" if "eval" in names else ""
        return CellOutcome(**cell, status=CUT_SHORT, reason=cut + evaluated, advice=f"finish it with `{run_command(config, timeout=False)}`")
    if "eval" in names:
        evaluation = load_study(config.store, names["eval"])
        evals = counted_trials(evaluation.get_trials(deepcopy=False))
        failed = [t for t in evals if t.state == TrialState.FAIL]
        if failed:
            first = failed[0]
            why = (
                f"{len(failed)} of {len(evals)} final-evaluation trials failed, e.g. trial {first.number}: "
                f"{first.user_attrs.get('fail_reason', 'no reason recorded')}"
            )
            advice = f"`{show} --eval --trial {first.number}` shows why (the result stands on the seeds that finished)"
            return CellOutcome(**cell, status=CUT_SHORT, reason=why, advice=advice)
    return CellOutcome(**cell, status=DONE)


def run_matrix(configs: list[SweepConfig], *, show_progress: bool = True) -> list[CellOutcome]:
    """Run every cell's sweep in turn with one progress display over the matrix. A cell whose data
    can't be had, or whose every trial failed, is reported and the others go on; one cell asked for
    alone raises its BenchError (bad input). Returns every cell's outcome, in order."""
    for config in configs:
        validate(config)  # every name and number before the first cell runs
    progress = Progress(total_cells=len(configs)) if show_progress else None
    outcomes = []
    # one pool of worker processes for every cell with the first cell's jobs and threads (the CLI gives all the same)
    jobs, threads = (configs[0].jobs, configs[0].threads) if configs else (1, 1)
    with WorkerPool(jobs, threads) if jobs > 1 else nullcontext() as pool, progress.bar if progress is not None else nullcontext():
        for config in configs:
            try:
                own = pool if (config.jobs, config.threads) == (jobs, threads) else None
                outcomes.append(cell_outcome(config, run_sweep(config, progress=progress, pool=own)))
            except BenchError as err:
                if len(configs) == 1 or isinstance(err, OutOfSpace):
                    raise
                label = study_name(config.task, config.model, config.budget, dict(config.options)).rsplit("/", 2)[0]
                outcomes.append(CellOutcome(label, config.model, config.budget, NO_RESULT, str(err), f"then `{run_command(config)}`"))
                if progress is not None:
                    progress.bar.console.print(f"no result for {config.task}/{config.model}: {err}", markup=False)
            if progress is not None:
                progress.cell_done()
    return outcomes


def run_worker(store: StorageSpec, name: str, *, timeout: float | None = None, show_progress: bool = True) -> int:
    """Join a study created by `bench run` (on this or another machine) and work on its plan; the
    worker that finishes a search's last trial plans its final evaluation and works on that too.
    Returns the number of trials this worker ran."""
    from optuna.trial import TrialState

    if timeout is not None and not timeout > 0:  # NaN too
        raise BenchError(f"--timeout must be positive, got {timeout}")
    study = load_study(store, name)
    if "planned" not in study.user_attrs or "kind" not in study.user_attrs:
        raise BenchError(f"study {name!r} was not made by `bench run`; a worker needs its plan")
    progress = Progress() if show_progress else None
    ran = 0
    with progress.bar if progress is not None else nullcontext():
        if progress is not None:
            progress.study(name, int(study.user_attrs["planned"]), finished_trials(study), int(study.user_attrs["max_epochs"]))
        ran += work_on(store, name, os.getpid(), timeout=timeout, progress=progress)
        unfinished = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
        attrs = study.user_attrs
        if attrs["kind"] == Kind.SEARCH and int(attrs["eval_seeds"]) > 0 and not unfinished and _has_complete(study):
            evaluation, eval_planned = plan_evaluation(store, study)
            if progress is not None:
                progress.study(evaluation.study_name, eval_planned, finished_trials(evaluation), int(attrs["max_epochs"]))
            ran += work_on(store, evaluation.study_name, os.getpid(), timeout=None, progress=progress)
    return ran


def train_fixed(config: FixedConfig, *, show_progress: bool = True):
    """Train one configuration without search: the space's fixed values and centres, then the preset,
    then the overrides. It is planned as a trial of `task/family/fixed-<budget>` (the task labelled
    with its dataset options, a preset's included) and trained through the same
    trial path as a search trial (objective.py); returns (the finished trial, its RunResult)."""
    import optuna
    from optuna.trial import TrialState

    from benchbench.training import RunResult

    config = resolve(config)  # a family or task given by reference stands for the name it registers
    task = validate(config)
    hparams = {name: param.centre() for name, param in task.search_space(config.model, config.budget).items()}
    preset = dict(task.preset(config.preset)) if config.preset else {}
    data_options = {**preset.pop("dataset", {}), **dict(config.options)}  # a preset's data protocol, then --option
    hparams.update(preset)
    hparams.update(dict(config.overrides))
    preset_epochs = hparams.pop("max_epochs", None)
    max_epochs = config.max_epochs or preset_epochs or task.budget(config.budget).max_epochs
    data = trial_data(task, config.budget, data_options)  # fails early (missing data, bad option), before writing
    prepare_results_dir(config.results)

    # Named by budget and data options as a search study is, so that different data never share a row.
    label = fixed_label(config.budget)
    record_baselines(config.store, task, config.budget, data_options, data, label=label)
    attrs = {**study_attrs(task, config, Kind.FIXED, label), "task_options": data_options, "max_epochs": max_epochs}
    study = create_study(config.store, study_name(task.name, config.model, label, data_options), task.direction, attrs)
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING, params=hparams,
            distributions={k: optuna.distributions.CategoricalDistribution([v]) for k, v in hparams.items()},
            user_attrs={
                "seed": config.seed, "hparams": hparams, "max_epochs": max_epochs, "data_budget": config.budget,
                "data_options": data_options, "preset": config.preset, "overrides": dict(config.overrides),
                "precision": config.precision,
            },
        )
    )  # fmt: skip
    number = study.get_trials(deepcopy=False)[-1].number
    study.set_user_attr("planned", count_trials(study))
    progress = Progress() if show_progress else None
    with progress.bar if progress is not None else nullcontext():
        if progress is not None:
            progress.study(f"{study.study_name} · {config.preset or 'fixed'}", 1, 0, max_epochs)
        work_on(config.store, study.study_name, 0, timeout=None, progress=progress)
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    if trial.state != TrialState.COMPLETE:
        show = f"bench show --task {shlex.quote(task_label(task.name, data_options))} --model {config.model} --budget {label}"
        if config.results != Path("results"):
            show += f" --results {shlex.quote(str(config.results))}"
        raise Unfinished([
            f"{study.study_name} trial {number}: no result: {trial.user_attrs.get('fail_reason', trial.state.name.lower())}; "
            f"`{show} --trial {number}` shows its record"
        ])  # fmt: skip
    fields = {f.name for f in dataclasses.fields(RunResult)} - {"test_extra"}
    extra = {m: trial.user_attrs[f"test_{m}"] for m in task.extra_metrics if f"test_{m}" in trial.user_attrs}
    return trial, RunResult(**{k: trial.user_attrs[k] for k in fields}, test_extra=extra)
