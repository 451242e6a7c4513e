"""The one LightningModule (encoder + backbone + head + loss + metrics + logging) and the trainer.

Selection happens on validation: `BestState` keeps the weights of the best validation epoch in
memory, and the test split is evaluated with those weights once, after training. On a token stream
(language modelling) the recurrent state is carried from one batch to the next and detached, which
is truncated backpropagation through time; on `Sequences` (polyphonic music) it is carried through
the windows of one group of sequences and started afresh at the next group's first window.

`fit_and_test` trains with manual optimization, `STEPS_PER_CALL` consecutive batches to a call of
`training_step`, each its own optimizer step: the same training as one batch a call, without paying
Lightning's per-call hooks and bookkeeping on every step (see `SequenceModel.training_step`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import nn

from benchbench import models
from benchbench.batching import GroupedBatches, is_sequences, is_stream, make_loader
from benchbench.data.registry import Splits
from benchbench.device import DEFAULT_PRECISION, check_precision, on_device, release_memory, trial_device
from benchbench.errors import BenchError, Diverged
from benchbench.heads import HEADS, OutputKind
from benchbench.metrics import METRICS, Metric, in_units
from benchbench.tasks import Task

__all__ = ["BestState", "RunResult", "SequenceModel", "TrainConfig", "build_model", "fit_and_test", "quiet_lightning"]


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 1e-3  # learning rate
    batch_size: int = 64  # training batch size (parallel streams for language modelling)
    gradient_clip: float | None = None  # max gradient norm; None disables clipping
    weight_decay: float = 0.0  # L2 penalty
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.0  # SGD momentum
    lr_decay: float = 1.0  # multiply the learning rate by this every epoch after `lr_decay_after`
    lr_decay_after: int = 0  # epochs at the initial learning rate before decay starts
    init_range: float | None = None  # initialise every parameter from U[-r, r]; None keeps torch's init
    embedding_size: int | None = None  # token embedding width; None uses hidden_size
    input_noise: float = 0.0  # std of Gaussian noise added to real-valued inputs while training
    output_dropout: float = 0.0  # dropout on the backbone's outputs, before the head (also with one layer)
    residual: bool = False  # forecasting: predict the change from each target series' last observed value
    loss: Literal["task", "l1"] = "task"  # the task's loss (MSE for regression), or the mean absolute error in the task's units
    bptt: int = 35  # truncated-BPTT window on token streams
    eval_batch_size: int | None = None  # None: 10 streams for language modelling, else max(batch, 256)
    max_epochs: int = 10  # epochs unless pruning stops earlier
    seed: int = 0  # seeds weights, dropout and batch order
    precision: str = DEFAULT_PRECISION  # Lightning's precision plugin: 32-true, bf16-mixed, 16-mixed or 64-true (device.py)


EVAL_WINDOW = 256  # tokens per evaluation window on a stream
STEPS_PER_CALL = 16  # optimizer steps per call of `SequenceModel.training_step` in `fit_and_test`

# Hyperparameters that configure training; every other name is a model option.
# max_epochs, seed and precision are settings of a run (`--max-epochs`, `--seed`, `--precision`), not searched.
TRAIN_KEYS = frozenset(f.name for f in dataclasses.fields(TrainConfig)) - {"max_epochs", "seed", "precision"}


@dataclass(frozen=True)
class RunResult:
    val: float  # best validation value of the task's metric over the epochs run
    test: float  # test value of the best-validation weights
    params: int  # trainable parameters (encoder + backbone + head)
    epochs: int  # epochs run
    best_epoch: int  # epoch the val figure comes from (0-based)
    wall_time: float  # seconds for fit + test
    device: str  # where it ran, e.g. "cpu" or "cuda:0"
    precision: str = DEFAULT_PRECISION  # the arithmetic it trained in (TrainConfig.precision)
    test_extra: dict[str, float] = field(default_factory=dict)  # the task's other metrics on test


def _detach(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(_detach(s) for s in state)
    return state


class SequenceModel(pl.LightningModule):
    """Encoder (token embedding or none), backbone, head and loss; logs `val_<metric>` per epoch and
    `test_<metric>` once, for the task's metric and its extra metrics."""

    def __init__(
        self,
        backbone: nn.Module,
        head: nn.Module,
        *,
        kind: OutputKind,
        metrics: list[Metric],
        config: TrainConfig,
        encoder: nn.Module | None = None,
        stateful: bool = False,
        target_scale: torch.Tensor | None = None,
        target_offset: torch.Tensor | None = None,
        residual_channels: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder if encoder is not None else nn.Identity()
        self.backbone = backbone
        self.head = head
        self.kind = kind
        self.metrics = metrics
        self.config = config
        self.stateful = stateful
        # Regression metrics are reported in the task's units: pred * scale + offset.
        self.register_buffer("target_scale", None if target_scale is None else torch.as_tensor(target_scale).float())
        self.register_buffer("target_offset", None if target_offset is None else torch.as_tensor(target_offset).float())
        # Forecasting with a skip connection (LSTNet's highway, with its one weight fixed at 1): the
        # prediction is the last observed value of each target series plus what the head adds.
        self.residual_channels = residual_channels
        self._state: dict[str, Any] = {}
        self._sums: dict[str, list[torch.Tensor | None]] = {}
        self._loss_sum: torch.Tensor | None = None  # this epoch's Σ batch loss × batch size
        self._loss_count = 0  # and Σ batch size

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        out, state = self.backbone(self.encoder(x), state)  # (B, T, F)
        pred = self.head(out)
        if self.residual_channels is not None:
            pred = pred + x[:, -1, self.residual_channels]  # (B, D)
        return pred, state

    def _step(self, batch, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        x, y, *first = batch  # windows of `Sequences` say whether they start new sequences
        carried = self.stateful and not (first and first[0])
        pred, state = self(x, self._state.get(split) if carried else None)
        if self.stateful:
            self._state[split] = _detach(state)
        return pred, y

    def _reset(self, split: str) -> None:
        self._state[split] = None
        self._sums[split] = [None] * len(self.metrics)

    def on_train_epoch_start(self) -> None:
        self._reset("train")
        self._loss_sum, self._loss_count = None, 0

    def _train_loss(self, batch) -> torch.Tensor:
        x, y, *rest = batch
        if self.config.input_noise > 0 and x.is_floating_point():  # Greff et al.'s input noise
            batch = (x + self.config.input_noise * torch.randn_like(x), y, *rest)
        pred, y = self._step(batch, "train")
        if self.config.loss == "l1":  # LSTNet's loss: absolute error in the task's units
            loss = nn.functional.l1_loss(*in_units(pred, y, self.target_scale, self.target_offset))
        else:
            loss = self.kind.loss(pred, y)
        # `train_loss` is the epoch's mean over examples, as `log(on_epoch=True, batch_size=...)` would
        # give, summed here and logged once at the epoch's last batch: Lightning's per-call `log`
        # bookkeeping costs more than a small model's whole step.
        weighted = loss.detach() * len(y)
        self._loss_sum = weighted if self._loss_sum is None else self._loss_sum + weighted
        self._loss_count += len(y)
        return loss

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        """One optimizer step on `batch`, or, with `automatic_optimization` off, one step on each batch
        of a group of consecutive ones (`batching.GroupedBatches`), as Lightning's automatic loop
        would take them one call each: same order, loss, gradient-norm clipping, optimizer step and
        learning-rate schedule, and `trainer.global_step` still counts optimizer steps (a logger's
        `step` column counts calls). Lightning's loop costs about 1 ms a call in hooks and
        bookkeeping, a fifth of a small model's step on a CPU; a group pays it once."""
        if self.automatic_optimization:
            loss = self._train_loss(batch)
        else:
            optimizer = self.optimizers()
            for one in batch:
                loss = self._train_loss(one)
                self.manual_backward(loss)
                optimizer.step()  # clipped in on_before_optimizer_step
                optimizer.zero_grad()
            loss = loss.detach()
        if batch_idx == self.trainer.num_training_batches - 1:
            self.log("train_loss", self._loss_sum / self._loss_count, on_step=False, on_epoch=True, batch_size=1)
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:  # noqa: ANN001
        """Gradient-norm clipping of manual optimization. Lightning calls this inside each
        `optimizer.step()`, after a gradient scaler (16-mixed) has unscaled the gradients, so the
        norm is the true one; clipping before the step would clip the scaled gradients."""
        if not self.automatic_optimization and self.config.gradient_clip is not None:
            self.clip_gradients(optimizer, gradient_clip_val=self.config.gradient_clip, gradient_clip_algorithm="norm")

    def on_train_epoch_end(self) -> None:
        schedule = self.lr_schedulers()
        if schedule is not None and not self.automatic_optimization:  # Lightning steps it only in automatic mode
            schedule.step()

    def _accumulate(self, batch, split: str) -> None:
        pred, y = self._step(batch, split)
        if self.kind.regression:
            pred, y = in_units(pred, y, self.target_scale, self.target_offset)
        if pred.dtype in (torch.float16, torch.bfloat16):  # mixed precision: sums of a split need float32
            pred = pred.float()
        sums = self._sums[split]
        for i, metric in enumerate(self.metrics):
            batch_sums = metric.stats(pred.detach(), y)
            sums[i] = batch_sums if sums[i] is None else sums[i] + batch_sums

    def _log_metrics(self, split: str) -> None:
        for metric, sums in zip(self.metrics, self._sums[split], strict=True):
            if sums is not None:
                self.log(f"{split}_{metric.name}", metric.finalize(sums))

    def on_validation_epoch_start(self) -> None:
        self._reset("val")

    def validation_step(self, batch, batch_idx: int) -> None:
        self._accumulate(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_start(self) -> None:
        self._reset("test")

    def test_step(self, batch, batch_idx: int) -> None:
        self._accumulate(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def configure_optimizers(self):
        c = self.config
        if c.optimizer == "sgd":
            optimizer = torch.optim.SGD(self.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        else:
            optimizer = torch.optim.Adam(self.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        if c.lr_decay == 1.0:
            return optimizer
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: c.lr_decay ** max(epoch + 1 - c.lr_decay_after, 0)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}


class FiniteGuard(pl.Callback):
    """Stops a diverging run: a NaN or infinite epoch training loss or validation metric raises
    `Diverged`, so the trial fails with the reason recorded and the sweep goes on."""

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor

    def _check(self, trainer: pl.Trainer, name: str) -> None:
        value = trainer.callback_metrics.get(name)
        if value is not None and not torch.isfinite(value).all():
            raise Diverged(f"{name} is {float(value)} at epoch {trainer.current_epoch}")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check(trainer, "train_loss")

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._check(trainer, self.monitor)


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
            self.state = {name: t.detach().clone() for name, t in pl_module.state_dict().items()}


def quiet_lightning() -> None:
    """Lightning's banners and data-loader hints would drown the sweep's own progress display."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=PossibleUserWarning)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # Sequence windows are served in the main process (no workers), where their length is exact.
    warnings.filterwarnings("ignore", message=".*IterableDataset.*__len__.*defined.*")
    # Lightning's pytree helper still builds torch's deprecated LeafSpec; nothing for a user to act on.
    warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)


def split_hparams(hparams: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training options, model options) from one flat dict of hyperparameters."""
    train = {k: v for k, v in hparams.items() if k in TRAIN_KEYS}
    model = {k: v for k, v in hparams.items() if k not in TRAIN_KEYS}
    return train, model


def build_model(task: Task, family: str, hparams: dict[str, Any], data: Splits, config: TrainConfig) -> SequenceModel:
    """The LightningModule for one configuration of `family` on `task`."""
    _, model_options = split_hparams(hparams)
    encoder = None
    if "vocab_size" in data.meta:  # token inputs: an embedding feeds the backbone
        width = config.embedding_size or model_options.get("hidden_size")
        encoder = nn.Embedding(data.meta["vocab_size"], width)
        input_size = width
    else:
        input_size = data.train[0][0].shape[-1]
    try:
        backbone = models.create(family, input_size=input_size, step_shape=data.meta.get("step_shape"), **model_options)
    except TypeError as err:  # an option this family does not take, e.g. from `--set`
        raise BenchError(f"model {family!r}: {err}") from None
    if task.causal and backbone.bidirectional:
        raise BenchError(f"task {task.name!r} predicts each step from the past; bidirectional model {family!r} would see the future")
    kind = HEADS.get(task.output)
    if config.loss not in ("task", "l1") or (config.loss == "l1" and not kind.regression):
        raise BenchError(f"loss={config.loss!r}: choose task (the task's own loss) or l1 (regression tasks only)")
    head = kind.head(backbone, data)
    if not 0.0 <= config.output_dropout < 1.0:
        raise BenchError(f"output_dropout={config.output_dropout!r}: choose a probability in [0, 1)")
    if config.output_dropout > 0:
        head = nn.Sequential(nn.Dropout(config.output_dropout), head)
    residual_channels = None
    if config.residual:
        if not kind.regression or "target_channels" not in data.meta:
            raise BenchError(f"task {task.name!r}: residual needs a forecasting task whose inputs carry the target series")
        residual_channels = list(data.meta["target_channels"])
        last = [m for m in head.modules() if isinstance(m, nn.Linear)][-1]
        nn.init.zeros_(last.weight)  # start exactly at persistence
        nn.init.zeros_(last.bias)
    module = SequenceModel(
        backbone,
        head,
        kind=kind,
        metrics=[METRICS.get(name) for name in (task.metric, *task.extra_metrics)],
        config=config,
        encoder=encoder,
        stateful=is_stream(data.train) or is_sequences(data.train),
        target_scale=data.meta.get("target_scale"),
        target_offset=data.meta.get("target_offset"),
        residual_channels=residual_channels,
    )
    if config.init_range is not None:
        for p in module.parameters():
            nn.init.uniform_(p, -config.init_range, config.init_range)
    return module


def fit_and_test(
    task: Task,
    family: str,
    hparams: dict[str, Any],
    *,
    data: Splits,
    max_epochs: int,
    seed: int,
    callbacks: list[pl.Callback] = (),
    log_dir: Path | None = None,
    log_name: str = "",
    log_version: str = "",
    precision: str = DEFAULT_PRECISION,
    loggers: list[Any] = (),
) -> RunResult:
    """Train one configuration, select its best validation epoch, and evaluate that on test, in
    `precision` (device.PRECISIONS). The trial's device memory is released when it ends, however it
    ends (device.release_memory), so that the next trial of a worker, or another worker sharing the
    GPU, starts from what it held before."""
    try:
        return _fit_and_test(
            task, family, hparams, data=data, max_epochs=max_epochs, seed=seed, callbacks=callbacks,
            log_dir=log_dir, log_name=log_name, log_version=log_version, precision=precision, loggers=loggers,
        )  # fmt: skip
    finally:
        release_memory()


def _fit_and_test(  # noqa: PLR0913
    task, family, hparams, *, data, max_epochs, seed, callbacks, log_dir, log_name, log_version, precision, loggers
) -> RunResult:
    quiet_lightning()
    start = time.perf_counter()
    pl.seed_everything(seed, workers=True, verbose=False)
    train_options, _ = split_hparams(hparams)
    config = TrainConfig(max_epochs=max_epochs, seed=seed, precision=check_precision(precision), **train_options)
    module = build_model(task, family, hparams, data, config)
    data = on_device(data, trial_device())  # tensor-held splits moved once, not batch by batch
    module.automatic_optimization = False  # training_step takes STEPS_PER_CALL batches at a time

    monitor = f"val_{task.metric}"
    best = BestState(monitor, METRICS.get(task.metric).direction)
    logger: Any = False
    if log_dir is not None:
        from lightning.pytorch.loggers import CSVLogger

        logger = CSVLogger(save_dir=log_dir, name=log_name, version=log_version)
    if loggers:  # trackers' loggers (sweep/tracking.py) beside the CSV log
        logger = [*([logger] if logger else []), *loggers]
    trainer = pl.Trainer(
        accelerator="auto",
        devices=1,
        precision=config.precision,
        max_epochs=max_epochs,
        callbacks=[FiniteGuard(monitor), best, *callbacks],
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    eval_batch = config.eval_batch_size or (10 if is_stream(data.train) else max(config.batch_size, 256))

    def loader(split: str, batch_size: int, shuffle: bool):
        # With the state carried across windows, evaluation gives the same figure for any window
        # length, so evaluation reads long windows: far fewer calls than training's `bptt`.
        window = config.bptt if split == "train" else max(config.bptt, EVAL_WINDOW)
        return make_loader(data[split], batch_size=batch_size, shuffle=shuffle, seed=seed, bptt=window)

    train = GroupedBatches(loader("train", config.batch_size, True), STEPS_PER_CALL)
    trainer.fit(module, train_dataloaders=train, val_dataloaders=loader("val", eval_batch, False))
    if best.state is not None:
        module.load_state_dict(best.state)
    (scores,) = trainer.test(module, dataloaders=loader("test", eval_batch, False), verbose=False)
    if best.best is None:
        raise Diverged(f"{monitor} was never finite")
    return RunResult(
        val=best.best,
        test=float(scores[f"test_{task.metric}"]),
        params=sum(p.numel() for p in module.parameters() if p.requires_grad),
        epochs=trainer.current_epoch,
        best_epoch=best.best_epoch,
        wall_time=time.perf_counter() - start,
        device=str(module.device),
        precision=config.precision,
        test_extra={name: float(scores[f"test_{name}"]) for name in task.extra_metrics},
    )
