"""Optuna studies: one per task x family x budget, seeded TPE, median pruning through Lightning.

Running a sweep again continues the same study: the trial count grows and nothing is repeated,
because the sampler's seed advances with the number of trials already in the study and each trial
trains with seed + its trial number.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from benchbench.errors import BenchError
from benchbench.tasks import Task, load_task

__all__ = ["SweepConfig", "run_sweep", "validate"]


@dataclass(frozen=True)
class SweepConfig:
    task: str  # task spec name
    model: str  # family name
    budget: str = "default"  # a budget of the task spec
    trials: int | None = None  # trials to add; None takes the budget's
    max_epochs: int | None = None  # epochs per trial; None takes the budget's
    timeout: float | None = None  # stop starting trials after this many seconds
    seed: int = 0  # base seed of sampler and trials
    results: Path = Path("results")  # results folder


def validate(config: SweepConfig) -> Task:
    """Check everything a user typed before anything is written; BenchError on the first problem."""
    from benchbench.models import MODELS

    task = load_task(config.task)
    MODELS.get(config.model)
    task.budget(config.budget)
    for name in ("trials", "max_epochs", "timeout"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise BenchError(f"--{name.replace('_', '-')} must be positive, got {value}")
    return task


class _Progress:
    """A rich progress display: one bar for trials, one line for the running trial's epochs."""

    def __init__(self, title: str, trials: int, max_epochs: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
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


def run_sweep(config: SweepConfig, *, show_progress: bool = True):
    """Run (or continue) the study of `config`; returns the optuna Study."""
    import lightning.pytorch as pl
    import optuna
    from optuna_integration import PyTorchLightningPruningCallback

    from benchbench.results import open_storage, prepare_results_dir, study_name
    from benchbench.space import suggest
    from benchbench.training import fit_and_test

    task = validate(config)
    results = prepare_results_dir(config.results)
    budget = task.budget(config.budget)
    trials = config.trials or budget.trials
    max_epochs = config.max_epochs or budget.max_epochs
    space = task.search_space(config.model)
    data = task.load_data(config.budget)  # generated or read once, shared by every trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = study_name(task.name, config.model, config.budget)
    study = optuna.create_study(
        storage=open_storage(results),
        study_name=name,
        direction=task.direction,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3),
        load_if_exists=True,
    )
    # A continued study gets a fresh sampler stream, so its new trials repeat none of the old ones.
    study.sampler = optuna.samplers.TPESampler(seed=config.seed + len(study.trials))
    for key, value in {
        "task": task.name,
        "model": config.model,
        "budget": config.budget,
        "metric": task.metric,
        "direction": task.direction,
        "baseline": task.baseline,
        "baseline_label": task.baseline_label,
    }.items():
        study.set_user_attr(key, value)

    monitor = f"val_{task.metric}"
    progress = _Progress(f"{name}", trials, max_epochs) if show_progress else None

    class _EpochProgress(pl.Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            value = trainer.callback_metrics.get(monitor)
            progress.epoch_done(trainer.current_epoch, None if value is None else float(value))

    def objective(trial: optuna.Trial) -> float:
        hparams = suggest(trial, space)
        seed = config.seed + trial.number
        trial.set_user_attr("seed", seed)
        callbacks = [PyTorchLightningPruningCallback(trial, monitor=monitor)]
        if progress is not None:
            progress.trial_started(trial.number)
            callbacks.append(_EpochProgress())
        result = fit_and_test(
            task,
            config.model,
            hparams,
            budget=config.budget,
            max_epochs=max_epochs,
            seed=seed,
            data=data,
            callbacks=callbacks,
            log_dir=results / "logs",
            log_name=name,
            log_version=f"trial_{trial.number}",
        )
        for key, value in dataclasses.asdict(result).items():
            trial.set_user_attr(key, value)
        return result.val

    callbacks = [progress.trial_done] if progress is not None else []
    if progress is not None:
        with progress.bar:
            study.optimize(objective, n_trials=trials, timeout=config.timeout, callbacks=callbacks)
    else:
        study.optimize(objective, n_trials=trials, timeout=config.timeout)
    return study
