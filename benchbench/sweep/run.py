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
import os
from contextlib import nullcontext

from benchbench.errors import BenchError, OutOfSpace
from benchbench.store.names import Kind, study_name
from benchbench.store.storage import StorageSpec, prepare_results_dir
from benchbench.store.trials import count_trials, finished_trials
from benchbench.sweep.config import FixedConfig, SweepConfig, validate
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
from benchbench.sweep.workers import WorkerPool, run_workers, work_on

__all__ = ["run_matrix", "run_sweep", "run_worker", "train_fixed"]


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
        run_workers(config.store, search.study_name, config.jobs, threads=config.threads, timeout=config.timeout, progress=progress, pool=pool)
        if int(search.user_attrs["eval_seeds"]) > 0 and _has_complete(search):
            evaluation, eval_planned = plan_evaluation(config.store, search)
            if progress is not None:
                progress.study(evaluation.study_name, eval_planned, finished_trials(evaluation), shown_epochs)
            run_workers(config.store, evaluation.study_name, config.jobs, threads=config.threads, timeout=None, progress=progress, pool=pool)
            names["eval"] = evaluation.study_name
    return names


def _has_complete(study) -> bool:
    from optuna.trial import TrialState

    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def run_matrix(configs: list[SweepConfig], *, show_progress: bool = True) -> list[tuple[str, str, str]]:
    """Run every cell's sweep in turn with one progress display over the matrix; a cell whose data
    can't be had is reported and the others go on. Returns the failed cells (task, model, reason)."""
    for config in configs:
        validate(config)  # every name and number before the first cell runs
    progress = Progress(total_cells=len(configs)) if show_progress else None
    failed = []
    # one pool of worker processes for every cell with the first cell's jobs and threads (the CLI gives all the same)
    jobs, threads = (configs[0].jobs, configs[0].threads) if configs else (1, 1)
    with WorkerPool(jobs, threads) if jobs > 1 else nullcontext() as pool, progress.bar if progress is not None else nullcontext():
        for config in configs:
            try:
                run_sweep(config, progress=progress, pool=pool if (config.jobs, config.threads) == (jobs, threads) else None)
            except BenchError as err:
                if len(configs) == 1 or isinstance(err, OutOfSpace):
                    raise
                failed.append((config.task, config.model, str(err)))
                if progress is not None:
                    progress.bar.console.print(f"skipped {config.task}/{config.model}: {err}", markup=False)
            if progress is not None:
                progress.cell_done()
    return failed


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
    then the overrides. It is planned as a trial of `task/family/fixed` and trained through the same
    trial path as a search trial (objective.py); returns (the finished trial, its RunResult)."""
    import optuna
    from optuna.trial import TrialState

    from benchbench.training import RunResult

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

    record_baselines(config.store, task, config.budget, dict(config.options), data, label=Kind.FIXED)
    attrs = {**study_attrs(task, config, Kind.FIXED, Kind.FIXED), "max_epochs": max_epochs}
    study = create_study(config.store, study_name(task.name, config.model, Kind.FIXED, dict(config.options)), task.direction, attrs)
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING, params=hparams,
            distributions={k: optuna.distributions.CategoricalDistribution([v]) for k, v in hparams.items()},
            user_attrs={
                "seed": config.seed, "hparams": hparams, "max_epochs": max_epochs, "data_budget": config.budget,
                "data_options": data_options, "preset": config.preset, "overrides": dict(config.overrides),
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
        raise BenchError(f"{study.study_name} trial {number} {trial.state.name.lower()}: {trial.user_attrs.get('fail_reason', 'no result')}")
    fields = {f.name for f in dataclasses.fields(RunResult)} - {"test_extra"}
    extra = {m: trial.user_attrs[f"test_{m}"] for m in task.extra_metrics if f"test_{m}" in trial.user_attrs}
    return trial, RunResult(**{k: trial.user_attrs[k] for k in fields}, test_extra=extra)
