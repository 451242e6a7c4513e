"""Experiment tracking, opt-in: `bench run --tracker mlflow|tensorboard|wandb` (repeatable; env
BENCH_TRACKER, comma-separated). Off by default; the Optuna storage stays the record, trackers are views.

- mlflow: one run per study (search, evaluation or fixed), and one nested run per trial under it,
  tagged with task, family, budget, seed and kind; per-epoch metrics (the training loss and every
  validation metric, step = epoch), the final `final_val` and `final_test` figures, and the
  trial's hyperparameters as `hp.<name>` (a prefix no autologging writes). The tracking URI is
  MLFLOW_TRACKING_URI when set, else the SQLite file `<results>/mlflow.db`; the experiment is
  MLFLOW_EXPERIMENT_NAME, else `benchbench`. Needs the `tracking` extra (mlflow-skinny).
- tensorboard: Lightning's TensorBoardLogger, one event folder per trial,
  `<results>/tensorboard/<study>/trial_<n>`; needs the `tracking` extra (tensorboard).
- wandb: Lightning's WandbLogger in offline mode, grouped by study, under `<results>/wandb`; needs
  `pip install wandb` (not tested here: see README).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchbench.errors import BenchError

if TYPE_CHECKING:
    import optuna

__all__ = ["TRACKERS", "TrialTracking", "check_trackers", "parse_trackers"]

TRACKERS = {
    "mlflow": ("mlflow", "pip install 'benchbench[tracking]' (mlflow-skinny)"),
    "tensorboard": ("tensorboard", "pip install 'benchbench[tracking]' (tensorboard)"),
    "wandb": ("wandb", "pip install wandb"),
}
EXPERIMENT = "benchbench"


def parse_trackers(values: list[str] | None) -> tuple[str, ...]:
    """`--tracker` values (each may be comma-separated) as a tuple of known tracker names, in order."""
    names: list[str] = []
    for value in values or ():
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in TRACKERS:
                raise BenchError(f"unknown tracker {name!r}; choose one of: {', '.join(TRACKERS)} (repeat --tracker for several)")
            if name not in names:
                names.append(name)
    return tuple(names)


def check_trackers(names: tuple[str, ...]) -> None:
    """Each tracker's package is installed, or a one-line BenchError saying what to install."""
    import importlib.util

    for name in names:
        module, install = TRACKERS[name]
        if importlib.util.find_spec(module) is None:
            raise BenchError(f"--tracker {name}: {module} is not installed; {install}")


def _tracking_uri(results: Path) -> str:
    import os

    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(results).resolve() / 'mlflow.db'}"


def _finite(values: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[key] = number
    return out


class TrialTracking:
    """The trackers of one trial: Lightning loggers and callbacks to train with, then `finish`."""

    def __init__(self, names: tuple[str, ...], *, results: Path, study: optuna.Study, trial: optuna.Trial,
                 attrs: dict[str, Any], hparams: dict[str, Any], seed: int, budget: str) -> None:  # fmt: skip
        self.loggers: list[Any] = []
        self.callbacks: list[Any] = []
        self._mlflow: tuple[Any, str] | None = None
        tags = {
            "task": str(attrs.get("task")), "family": str(attrs.get("model")), "budget": str(budget), "seed": str(seed),
            "kind": str(attrs.get("kind")), "study": study.study_name, "trial": str(trial.number),
        }  # fmt: skip
        version = f"trial_{trial.number}"
        if "tensorboard" in names:
            from lightning.pytorch.loggers import TensorBoardLogger

            self.loggers.append(TensorBoardLogger(save_dir=str(results / "tensorboard"), name=study.study_name, version=version, default_hp_metric=False))
        if "wandb" in names:
            from lightning.pytorch.loggers import WandbLogger

            self.loggers.append(
                WandbLogger(offline=True, project=EXPERIMENT, group=study.study_name, name=f"{study.study_name} {version}",
                            save_dir=str(results), tags=[f"{k}={v}" for k, v in tags.items()], config={"hp": hparams})
            )  # fmt: skip
        if "mlflow" in names:
            self._mlflow = self._start_mlflow(results, study.study_name, tags, hparams)
            self.callbacks.append(self._epoch_callback())

    @staticmethod
    def _start_mlflow(results: Path, study: str, tags: dict[str, str], hparams: dict[str, Any]) -> tuple[Any, str]:
        import logging
        import os

        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        client = MlflowClient(tracking_uri=_tracking_uri(results))
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment is not None else client.create_experiment(name)
        found = client.search_runs([experiment_id], filter_string=f"tags.study = '{study}' and tags.level = 'study'", max_results=1)
        if found:
            parent = found[0].info.run_id
        else:
            study_tags = {k: v for k, v in tags.items() if k not in ("seed", "trial")}
            parent = client.create_run(experiment_id, run_name=study, tags={**study_tags, "level": "study"}).info.run_id
        run = client.create_run(
            experiment_id, run_name=f"{study} trial {tags['trial']}", tags={**tags, "level": "trial", "mlflow.parentRunId": parent}
        )
        for key, value in hparams.items():
            client.log_param(run.info.run_id, f"hp.{key}", value)
        return client, run.info.run_id

    def _epoch_callback(self):
        import lightning.pytorch as pl

        tracking = self

        class _EpochMetrics(pl.Callback):
            def on_validation_end(self, trainer, pl_module) -> None:
                client, run_id = tracking._mlflow
                epoch = trainer.current_epoch
                for key, value in _finite(trainer.callback_metrics).items():
                    if not key.startswith("test_"):
                        client.log_metric(run_id, key, value, step=epoch)

        return _EpochMetrics()

    def finish(self, *, state: str, values: dict[str, Any]) -> None:
        """End the trial's runs: `values` (final_val, final_test, ...) logged, status from `state`
        (COMPLETE, PRUNED or FAIL)."""
        if self._mlflow is not None:
            client, run_id = self._mlflow
            for key, value in _finite(values).items():
                client.log_metric(run_id, key, value)
            status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}.get(state, "FAILED")
            client.set_tag(run_id, "state", state)
            client.set_terminated(run_id, status=status)
        for logger in self.loggers:
            logger.finalize("success" if state == "COMPLETE" else "failed")
