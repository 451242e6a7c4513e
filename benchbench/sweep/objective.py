"""The one trial path: every trial, of a search, a final evaluation or a fixed `bench train` run, is
trained here and recorded the same way (seed, hyperparameters, provenance, rerun command, figures,
wall time), by whichever worker claimed it."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any

from benchbench.device import DEFAULT_PRECISION
from benchbench.store.names import Kind, search_seed
from benchbench.store.storage import StorageSpec
from benchbench.sweep.studies import origins, provenance, rerun_command, restore
from benchbench.tasks import Task, load_task

if TYPE_CHECKING:
    import optuna

__all__ = ["Objective", "family_options", "record_result", "trial_data"]


def record_result(result) -> dict[str, Any]:
    """A RunResult as trial user attributes (extra test metrics flattened to test_<name>)."""
    attrs = dataclasses.asdict(result)
    attrs.update({f"test_{name}": value for name, value in attrs.pop("test_extra").items()})
    return attrs


def family_options(hparams: dict[str, Any], searched: dict[str, Any]) -> dict[str, Any]:
    """The family's own options that the spec fixed rather than searched (gru's `reset_after`): which
    function the family computed, which the leaderboard shows beside the searched values. Training
    settings and the sizes every family takes are left out."""
    from benchbench.training import TRAIN_KEYS

    common = TRAIN_KEYS | {"hidden_size", "num_layers", "dropout"}
    return {key: value for key, value in hparams.items() if key not in common and key not in searched}


class Objective:
    """Trains the trial's configuration; built from the study's user attributes alone, so any worker
    on any machine builds the same one."""

    def __init__(self, study: optuna.Study, store: StorageSpec, progress=None) -> None:
        self.attrs = dict(study.user_attrs)
        restore(self.attrs)
        self.kind = self.attrs["kind"]
        self.task = load_task(self.attrs["task"])
        self.model = self.attrs["model"]
        self.budget = self.attrs["budget"]
        self.space = self.task.search_space(self.model, self.budget) if self.kind == Kind.SEARCH else {}
        self.max_epochs = int(self.attrs["max_epochs"])
        self.study_name = study.study_name
        self.store = store
        self.progress = progress

    def __call__(self, trial: optuna.Trial) -> float:
        from benchbench.space import suggest
        from benchbench.training import fit_and_test

        monitor = f"val_{self.task.metric}"
        callbacks = []
        planned = trial.user_attrs
        if self.kind == Kind.SEARCH:
            from optuna_integration import PyTorchLightningPruningCallback

            hparams = suggest(trial, self.space)
            seed = int(planned.get("seed", search_seed(self.attrs, trial.number)))  # a retry keeps its seed
            callbacks.append(PyTorchLightningPruningCallback(trial, monitor=monitor))
        else:  # evaluation and fixed runs: the planned configuration and seed
            hparams = dict(planned["hparams"])
            seed = int(planned["seed"])
        # A fixed run may carry its own epochs and data (a preset's protocol); the others, the study's.
        max_epochs = int(planned.get("max_epochs", self.max_epochs))
        budget = planned.get("data_budget", self.budget)
        options = planned.get("data_options", self.attrs.get("task_options") or {})
        precision = planned.get("precision", self.attrs.get("precision", DEFAULT_PRECISION))
        data = trial_data(self.task, budget, options)
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("hparams", hparams)
        if self.kind == Kind.SEARCH and (own := family_options(hparams, trial.params)):
            trial.set_user_attr("model_options", own)
        trial.set_user_attr("provenance", {**provenance(), **origins(self.attrs)})
        command = {**self.attrs, "budget": budget, "task_options": options, "precision": precision}
        trial.set_user_attr("command", rerun_command(command, hparams, seed, max_epochs))
        if self.progress is not None:
            self.progress.trial_started(trial.number)
            callbacks.append(self.progress.callback(monitor))
        tracking = None
        if self.attrs.get("trackers"):
            from benchbench.sweep.tracking import TrialTracking

            tracking = TrialTracking(
                tuple(self.attrs["trackers"]), results=self.store.results, study=trial.study, trial=trial,
                attrs=self.attrs, hparams=hparams, seed=seed, budget=budget,
            )  # fmt: skip
            callbacks += tracking.callbacks
        start = time.perf_counter()
        try:
            result = fit_and_test(
                self.task, self.model, hparams, data=data, max_epochs=max_epochs, seed=seed,
                callbacks=callbacks, log_dir=self.store.results / "logs", log_name=self.study_name,
                log_version=f"trial_{trial.number}", precision=precision,
                loggers=tracking.loggers if tracking is not None else [],
            )  # fmt: skip
        except BaseException as err:  # pruned, diverged or broken: the record still says where and how long
            import optuna
            import torch

            trial.set_user_attr("wall_time", time.perf_counter() - start)
            trial.set_user_attr("device", "cuda:0" if torch.cuda.is_available() else "cpu")
            if tracking is not None:
                tracking.finish(state="PRUNED" if isinstance(err, optuna.TrialPruned) else "FAIL", values={})
            raise
        for key, value in record_result(result).items():
            trial.set_user_attr(key, value)
        if tracking is not None:
            extra = {f"final_test_{k}": v for k, v in result.test_extra.items()}
            tracking.finish(state="COMPLETE", values={"final_val": result.val, "final_test": result.test, **extra})
        return result.val


_LOADED: dict[str, Any] = {}  # the last splits loaded in this process: a sweep reads its data once


def trial_data(task: Task, budget: str, options: dict[str, Any]):
    """The task's splits at `budget` with dataset `options`, loaded once while a worker runs trials on them."""
    key = json.dumps([task.name, budget, options], sort_keys=True, default=str)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = task.load_data(budget, options)
    return _LOADED[key]
