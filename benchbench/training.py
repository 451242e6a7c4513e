"""The one LightningModule (backbone + head + loss + metric + logging) and the trainer factory.

Selection happens on validation: `BestState` keeps the weights of the best validation epoch in
memory, and the test split is evaluated with those weights once, after training.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchmetrics import MeanMetric

from benchbench import models
from benchbench.heads import HEADS
from benchbench.metrics import METRICS, Metric
from benchbench.tasks import TRAIN_KEYS, Task

__all__ = ["BestState", "RunResult", "SequenceModel", "TrainConfig", "fit_and_test", "quiet_lightning"]


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 64  # training batch size
    gradient_clip: float | None = None  # max gradient norm; None disables clipping
    weight_decay: float = 0.0  # Adam L2 penalty
    max_epochs: int = 10  # epochs unless pruning stops earlier
    seed: int = 0  # seeds weights, dropout and batch order


@dataclass(frozen=True)
class RunResult:
    val: float  # best validation metric over the epochs run
    test: float  # test metric of the best-validation weights
    params: int  # trainable parameters (backbone + head)
    epochs: int  # epochs run
    best_epoch: int  # epoch the val figure comes from (0-based)
    wall_time: float  # seconds for fit + test
    device: str  # where it ran, e.g. "cpu" or "cuda:0"


class SequenceModel(pl.LightningModule):
    """A backbone, a head and a loss; logs `val_<metric>` per epoch and `test_<metric>` once."""

    def __init__(self, backbone: nn.Module, head: nn.Module, *, loss, metric: Metric, config: TrainConfig) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.loss_fn = loss
        self.metric = metric
        self.config = config
        self.val_metric = MeanMetric()
        self.test_metric = MeanMetric()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.backbone(x)  # (B, T, F)
        return self.head(out)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(x))
        return loss

    def _evaluate(self, batch, mean: MeanMetric) -> None:
        x, y = batch
        mean.update(self.metric.statistic(self(x), y))

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, self.val_metric)

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, self.test_metric)

    def _log_metric(self, split: str, mean: MeanMetric) -> None:
        self.log(f"{split}_{self.metric.name}", self.metric.finalize(mean.compute()))
        mean.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metric("val", self.val_metric)

    def on_test_epoch_end(self) -> None:
        self._log_metric("test", self.test_metric)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)


class BestState(pl.Callback):
    """Keeps an in-memory copy of the weights at the best value of `monitor` (no checkpoint files)."""

    def __init__(self, monitor: str, direction: str) -> None:
        self.monitor = monitor
        self.sign = 1.0 if direction == "minimize" else -1.0
        self.best: float | None = None
        self.best_epoch = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if value == value and (self.best is None or self.sign * value < self.sign * self.best):  # NaN never wins
            self.best, self.best_epoch = value, trainer.current_epoch
            self.state = copy.deepcopy(pl_module.state_dict())


def quiet_lightning() -> None:
    """Lightning's banners and data-loader hints would drown the sweep's own progress display."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=PossibleUserWarning)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # Lightning's pytree helper still builds torch's deprecated LeafSpec; nothing for a user to act on.
    warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)


def split_hparams(hparams: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training options, model options) from one flat dict of hyperparameters."""
    train = {k: v for k, v in hparams.items() if k in TRAIN_KEYS}
    model = {k: v for k, v in hparams.items() if k not in TRAIN_KEYS}
    return train, model


def _loader(data: Dataset, batch_size: int, *, shuffle: bool, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)


def fit_and_test(
    task: Task,
    family: str,
    hparams: dict[str, Any],
    *,
    budget: str,
    max_epochs: int,
    seed: int,
    data: dict[str, Dataset] | None = None,
    callbacks: list[pl.Callback] = (),
    log_dir: Path | None = None,
    log_name: str = "",
    log_version: str = "",
) -> RunResult:
    """Train one configuration, select its best validation epoch, and evaluate that on test."""
    quiet_lightning()
    start = time.perf_counter()
    pl.seed_everything(seed, workers=True, verbose=False)
    data = data if data is not None else task.load_data(budget)
    train_options, model_options = split_hparams(hparams)
    config = TrainConfig(max_epochs=max_epochs, seed=seed, **train_options)

    x, y = data["train"][0]
    backbone = models.create(family, input_size=x.shape[-1], **model_options)
    kind = HEADS.get(task.output)
    head = kind.head(backbone.output_size, y.shape[-1], backbone.bidirectional)
    metric = METRICS.get(task.metric)
    module = SequenceModel(backbone, head, loss=kind.loss, metric=metric, config=config)

    monitor = f"val_{metric.name}"
    best = BestState(monitor, metric.direction)
    logger: Any = False
    if log_dir is not None:
        from lightning.pytorch.loggers import CSVLogger

        logger = CSVLogger(save_dir=log_dir, name=log_name, version=log_version)
    trainer = pl.Trainer(
        accelerator="auto",
        devices=1,
        max_epochs=max_epochs,
        gradient_clip_val=config.gradient_clip,
        callbacks=[best, *callbacks],
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    eval_batch = max(config.batch_size, 256)
    trainer.fit(
        module,
        train_dataloaders=_loader(data["train"], config.batch_size, shuffle=True, seed=seed),
        val_dataloaders=_loader(data["val"], eval_batch, shuffle=False, seed=seed),
    )
    if best.state is not None:
        module.load_state_dict(best.state)
    (scores,) = trainer.test(module, dataloaders=_loader(data["test"], eval_batch, shuffle=False, seed=seed), verbose=False)
    return RunResult(
        val=best.best if best.best is not None else float("nan"),
        test=float(scores[f"test_{metric.name}"]),
        params=sum(p.numel() for p in module.parameters() if p.requires_grad),
        epochs=trainer.current_epoch,
        best_epoch=best.best_epoch,
        wall_time=time.perf_counter() - start,
        device=str(module.device),
    )
