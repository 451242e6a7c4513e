"""The rich progress display of `bench run`, `bench worker` and `bench train`."""

from __future__ import annotations

from benchbench.store.storage import StorageSpec
from benchbench.store.trials import finished_trials

__all__ = ["Progress"]


class Progress:
    """A rich progress display: one bar for the study's trials, one line for the running trial's
    epochs (in-process workers), and a bar over the cells of a matrix."""

    def __init__(self, total_cells: int = 1) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # Descriptions are plain text: a task label like `electricity[horizon=24]` is not markup.
        # Time remaining: rich's estimate from the pace of the bar so far (trials of a study, cells of a matrix).
        self.bar = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("left"), TimeRemainingColumn(),
        )
        self.cells = self.bar.add_task("cells", total=total_cells, visible=total_cells > 1)
        self.trials = self.bar.add_task("", total=1, visible=False)
        self.epochs = self.bar.add_task("  trial", total=1, visible=False)
        self.title = ""
        self.label = "  trial"

    def study(self, name: str, planned: int, done: int, max_epochs: int | None) -> None:
        self.title = name
        self.bar.reset(self.trials, total=planned, completed=done, description=name, visible=True)
        self.bar.reset(self.epochs, total=max_epochs or 1, visible=max_epochs is not None)

    def cell_done(self) -> None:
        self.bar.advance(self.cells)

    def trial_started(self, number: int) -> None:
        self.label = f"  trial {number}"
        self.bar.reset(self.epochs, description=self.label)

    def epoch_done(self, epoch: int, value: float | None) -> None:
        shown = "" if value is None else f" · val {value:.4g}"
        self.bar.update(self.epochs, completed=epoch + 1, description=self.label + shown)

    def _describe(self, study) -> None:
        import optuna

        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        best = f" · best val {study.best_value:.4g} (trial {study.best_trial.number})" if complete else ""
        self.bar.update(self.trials, completed=finished_trials(study), description=self.title + best)

    def trial_done(self, study, state: str) -> None:
        self._describe(study)

    def poll(self, store: StorageSpec, name: str) -> None:
        import optuna

        self._describe(optuna.load_study(study_name=name, storage=store.open()))

    def callback(self, monitor: str):
        import lightning.pytorch as pl

        progress = self

        class _EpochProgress(pl.Callback):
            def on_validation_end(self, trainer, pl_module) -> None:
                value = trainer.callback_metrics.get(monitor)
                progress.epoch_done(trainer.current_epoch, None if value is None else float(value))

        return _EpochProgress()

