"""Optuna studies: one per task x family x budget, seeded TPE, median pruning through Lightning.

Running a sweep again continues the same study: the trial count grows and nothing is repeated,
because the sampler's seed advances with the number of trials already in the study and each trial
trains with seed + its trial number.

`train_fixed` trains one fixed configuration (a task preset and/or `key=value` overrides) without
search and records it as a trial of the study `task/family/fixed`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.errors import BenchError
from benchbench.tasks import Task, load_task

__all__ = ["FixedConfig", "SweepConfig", "parse_overrides", "run_sweep", "train_fixed", "validate"]

FIXED = "fixed"  # the budget label of studies holding `bench train` runs


@dataclass(frozen=True)
class SweepConfig:
    task: str  # task spec name
    model: str  # family name
    budget: str = "default"  # a budget of the task spec
    trials: int | None = None  # trials to add; None takes the budget's
    max_epochs: int | None = None  # epochs per trial; None takes the budget's (or the preset's)
    timeout: float | None = None  # stop starting trials after this many seconds
    seed: int = 0  # base seed of sampler and trials
    results: Path = Path("results")  # results folder
    options: tuple[tuple[str, Any], ...] = ()  # dataset options overriding the spec (--option key=value)


@dataclass(frozen=True)
class FixedConfig(SweepConfig):
    preset: str | None = None  # a preset of the task spec
    overrides: tuple[tuple[str, Any], ...] = ()  # (key, value) pairs from --set, applied last


def validate(config: SweepConfig) -> Task:
    """Check everything a user typed before anything is written; BenchError on the first problem."""
    from benchbench.models import is_bidirectional

    task = load_task(config.task)
    bidirectional = is_bidirectional(config.model)  # raises on an unknown family, listing the choices
    if task.causal and bidirectional:
        raise BenchError(
            f"task {task.name!r} predicts each step from the past, so bidirectional model {config.model!r} "
            "would see what it predicts; choose a unidirectional family"
        )
    task.budget(config.budget)
    for name in ("trials", "max_epochs", "timeout"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise BenchError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if isinstance(config, FixedConfig) and config.preset is not None:
        task.preset(config.preset)
    return task


def parse_overrides(pairs: list[str], *, flag: str = "--set") -> tuple[tuple[str, Any], ...]:
    """`key=value` strings; values read as TOML literals (1, 0.5, true, "sgd"), else kept as text."""
    out = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"{flag} takes key=value, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        out.append((key.strip(), value))
    return tuple(out)


class _Progress:
    """A rich progress display: one bar for trials, one line for the running trial's epochs."""

    def __init__(self, title: str, trials: int, max_epochs: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # Descriptions are plain text: a task label like `electricity[horizon=24]` is not markup.
        self.bar = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self.title = title
        self.label = "  trial"
        self.trials = self.bar.add_task(title, total=trials)
        self.epochs = self.bar.add_task(self.label, total=max_epochs)

    def trial_started(self, number: int) -> None:
        self.label = f"  trial {number}"
        self.bar.reset(self.epochs, description=self.label)

    def epoch_done(self, epoch: int, value: float | None) -> None:
        shown = "" if value is None else f" · val {value:.4g}"
        self.bar.update(self.epochs, completed=epoch + 1, description=self.label + shown)

    def trial_done(self, study, trial) -> None:
        import optuna

        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        best = f" · best val {study.best_value:.4g} (trial {study.best_trial.number})" if complete else ""
        self.bar.update(self.trials, advance=1, description=self.title + best)

    def callback(self, monitor: str):
        import lightning.pytorch as pl

        progress = self

        class _EpochProgress(pl.Callback):
            def on_validation_end(self, trainer, pl_module) -> None:
                value = trainer.callback_metrics.get(monitor)
                progress.epoch_done(trainer.current_epoch, None if value is None else float(value))

        return _EpochProgress()


def _open_study(task: Task, model: str, budget: str, results: Path, options: dict[str, Any]):
    import optuna

    from benchbench.results import open_storage, study_name

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=open_storage(results),
        study_name=study_name(task.name, model, budget, options),
        direction=task.direction,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3),
        load_if_exists=True,
    )
    # What the leaderboard needs to read the study without the task spec.
    attrs = {
        "task": task.name,
        "task_options": options,
        "model": model,
        "budget": budget,
        "metric": task.metric,
        "direction": task.direction,
        "units": task.units,
        "extra_metrics": list(task.extra_metrics),
        "baseline": task.baseline,
        "baseline_label": task.baseline_label,
    }
    for key, value in attrs.items():
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
    return study


def _record(result) -> dict[str, Any]:
    """A RunResult as trial user attributes (extra test metrics flattened to test_<name>)."""
    attrs = dataclasses.asdict(result)
    attrs.update({f"test_{name}": value for name, value in attrs.pop("test_extra").items()})
    return attrs


def _fit(task, model, hparams, data, study, number, seed, max_epochs, results, callbacks):
    """One training of trial `number` of `study`, logged under results/logs/<study>/trial_<number>."""
    from benchbench.training import fit_and_test

    return fit_and_test(
        task, model, hparams, data=data, max_epochs=max_epochs, seed=seed, callbacks=callbacks,
        log_dir=results / "logs", log_name=study.study_name, log_version=f"trial_{number}",
    )  # fmt: skip


def run_sweep(config: SweepConfig, *, show_progress: bool = True):
    """Run (or continue) the study of `config`; returns the optuna Study."""
    import optuna
    from optuna_integration import PyTorchLightningPruningCallback

    from benchbench.results import prepare_results_dir
    from benchbench.space import suggest

    task = validate(config)
    budget = task.budget(config.budget)
    trials = config.trials or budget.trials
    max_epochs = config.max_epochs or budget.max_epochs
    space = task.search_space(config.model, config.budget)
    data = task.load_data(config.budget, dict(config.options))  # read once, shared by every trial
    results = prepare_results_dir(config.results)  # only once the input is known to be good

    study = _open_study(task, config.model, config.budget, results, dict(config.options))
    # A continued study gets a fresh sampler stream, so its new trials repeat none of the old ones.
    study.sampler = optuna.samplers.TPESampler(seed=config.seed + len(study.trials))
    monitor = f"val_{task.metric}"
    progress = _Progress(study.study_name, trials, max_epochs) if show_progress else None

    def objective(trial: optuna.Trial) -> float:
        hparams = suggest(trial, space)
        seed = config.seed + trial.number
        trial.set_user_attr("seed", seed)
        callbacks = [PyTorchLightningPruningCallback(trial, monitor=monitor)]
        if progress is not None:
            progress.trial_started(trial.number)
            callbacks.append(progress.callback(monitor))
        result = _fit(task, config.model, hparams, data, study, trial.number, seed, max_epochs, results, callbacks)
        for key, value in _record(result).items():
            trial.set_user_attr(key, value)
        return result.val

    with progress.bar if progress is not None else nullcontext():
        study.optimize(
            objective,
            n_trials=trials,
            timeout=config.timeout,
            callbacks=[progress.trial_done] if progress is not None else None,
        )
    return study


def train_fixed(config: FixedConfig, *, show_progress: bool = True):
    """Train one configuration without search: the space's fixed values and centres, then the preset,
    then the overrides. Records it as a trial of `task/family/fixed`; returns (trial, RunResult)."""
    import optuna

    from benchbench.results import prepare_results_dir

    task = validate(config)
    hparams = {name: param.centre() for name, param in task.search_space(config.model, config.budget).items()}
    hparams.update(task.preset(config.preset) if config.preset else {})
    hparams.update(dict(config.overrides))
    preset_epochs = hparams.pop("max_epochs", None)
    max_epochs = config.max_epochs or preset_epochs or task.budget(config.budget).max_epochs
    data = task.load_data(config.budget, dict(config.options))
    results = prepare_results_dir(config.results)

    study = _open_study(task, config.model, FIXED, results, dict(config.options))
    number = len(study.trials)
    seed = config.seed
    title = f"{study.study_name} · {config.preset or 'fixed'}"
    progress = _Progress(title, 1, max_epochs) if show_progress else None
    monitor = f"val_{task.metric}"
    with progress.bar if progress is not None else nullcontext():
        if progress is not None:
            progress.trial_started(number)
        callbacks = [progress.callback(monitor)] if progress is not None else []
        result = _fit(task, config.model, hparams, data, study, number, seed, max_epochs, results, callbacks)
    trial = optuna.trial.create_trial(
        params=hparams,
        distributions={k: optuna.distributions.CategoricalDistribution([v]) for k, v in hparams.items()},
        value=result.val,
        user_attrs={
            **_record(result),
            "seed": seed,
            "preset": config.preset,
            "overrides": dict(config.overrides),
            "data_budget": config.budget,
            "max_epochs": max_epochs,
        },
    )
    study.add_trial(trial)
    return trial, result
