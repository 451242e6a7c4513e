"""The contract every family passes, built-in or not: `bench check-model` runs it on a user's family,
and the tests run it on every registered one (tests/models/test_models.py, tests/sweep/test_matrix.py).

    description     a one-line description (the first docstring line), shown by `bench list`
    shapes          batch-first: (B, T, input_size) -> (B, T, output_size), with 1 and 2 layers
    final state     a final state is returned, and feeding a sequence in two chunks with the state
                    passed on equals feeding it whole (unless bidirectional: it reads it all)
    causality       outputs at step t do not change when only inputs after t do, unless the family
                    declares `bidirectional = True`; then they must
    gradients       every parameter gets a finite gradient, and so does the input
    stacked dropout 2 layers with dropout build, train and, in eval mode, give the same output twice
    seeded          the same seed builds the same weights and outputs
    trains on TASK  two optimizer steps and a validation pass on the task's smoke data: finite loss,
                    finite gradients, finite metric (a bidirectional family on a causal task is refused)

Each check raises `ContractFailure` with one line saying what is wrong; `check_family` runs them all
and collects a `ContractReport`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightning.pytorch as pl
import torch

from benchbench import models
from benchbench.errors import BenchError

__all__ = [
    "CHECKS", "Check", "ContractFailure", "ContractReport", "check_causal", "check_description", "check_dropout",
    "check_family", "check_gradients", "check_seeded", "check_shapes", "check_state", "train_steps",
]  # fmt: skip

B, T, I, H = 3, 7, 5, 8  # batch, steps, input features, hidden size of the probes


class ContractFailure(AssertionError):
    """A family breaks the contract; the message is one line."""


def _fail(message: str) -> None:
    raise ContractFailure(message)


def _make(name: str, **options: Any) -> models.Backbone:
    torch.manual_seed(0)
    return models.create(name, input_size=I, hidden_size=H, **options).eval()


def _run(model: models.Backbone, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
    result = model(x, state) if state is not None else model(x)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], torch.Tensor)):
        _fail(f"forward must return (outputs, final state), got {type(result).__name__}")
    return result


def check_description(name: str) -> None:
    description = models.describe()[name]
    if not description.strip():
        _fail("no description: give the class or factory a docstring whose first line names the cell and its paper")


def check_shapes(name: str) -> None:
    for layers in (1, 2):
        model = _make(name, num_layers=layers, dropout=0.1 if layers > 1 else 0.0)
        size = getattr(model, "output_size", None)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            _fail(f"output_size must be a positive int (features per step), got {size!r}")
        out, _ = _run(model, torch.randn(B, T, I))
        if tuple(out.shape) != (B, T, size):
            _fail(f"{layers} layer(s): input (B, T, I) = {(B, T, I)} gave outputs {tuple(out.shape)}, expected (B, T, output_size) = {(B, T, size)}")
        if not torch.isfinite(out).all():
            _fail(f"{layers} layer(s): outputs are not all finite")


def check_state(name: str) -> None:
    model = _make(name, num_layers=2, dropout=0.0)
    x = torch.randn(B, T, I)
    whole, state = _run(model, x)
    if state is None:
        _fail("forward returned no final state (None); return what continues the sequence")
    if model.bidirectional:
        return
    first, carried = _run(model, x[:, :3])
    second, _ = _run(model, x[:, 3:], carried)
    joined = torch.cat([first, second], dim=1)
    if joined.shape != whole.shape or not torch.allclose(joined, whole, atol=1e-5, rtol=1e-4):
        gap = (joined - whole).abs().max().item() if joined.shape == whole.shape else float("nan")
        _fail(f"feeding steps 0-2 then 3-{T - 1} with the state passed on differs from feeding all {T} steps (max gap {gap:.3g})")


def check_causal(name: str) -> None:
    model = _make(name)
    x = torch.randn(B, T, I)
    y = x.clone()
    y[:, 4:] += 1.0
    a, _ = _run(model, x)
    b, _ = _run(model, y)
    if torch.allclose(a[:, 4:], b[:, 4:]):
        _fail("changing inputs at steps 4 and later left the outputs there unchanged: the input does not reach the output")
    early = (a[:, :4] - b[:, :4]).abs().max().item()
    if model.bidirectional and early == 0:
        _fail("declared bidirectional, but outputs before step 4 ignore inputs after it")
    if not model.bidirectional and early > 1e-6:
        _fail(f"reads the future: outputs at steps 0-3 moved by {early:.3g} when only inputs at steps 4+ changed; set bidirectional = True if it reads both ways")


def check_gradients(name: str) -> None:
    for layers in (1, 2):
        model = _make(name, num_layers=layers, dropout=0.1 if layers > 1 else 0.0).train()
        x = torch.randn(B, T, I, requires_grad=True)
        out, _ = _run(model, x)
        out.square().mean().backward()
        for pname, p in model.named_parameters():
            if p.requires_grad and p.grad is None:
                _fail(f"{layers} layer(s): parameter {pname!r} gets no gradient")
            if p.requires_grad and not torch.isfinite(p.grad).all():
                _fail(f"{layers} layer(s): parameter {pname!r} has a non-finite (NaN or inf) gradient")
        if x.grad is None or not torch.isfinite(x.grad).all() or x.grad.abs().sum() == 0:
            _fail(f"{layers} layer(s): the gradient of the input is {'missing' if x.grad is None else 'zero or not finite'}")


def check_dropout(name: str) -> None:
    model = _make(name, num_layers=2, dropout=0.3)
    x = torch.randn(B, T, I)
    out, _ = _run(model.train(), x)
    out.square().mean().backward()
    model.eval()
    with torch.no_grad():
        a, _ = _run(model, x)
        b, _ = _run(model, x)
    if not torch.equal(a, b):
        _fail("2 layers with dropout 0.3: two forward passes in eval mode differ (dropout must be off in eval mode)")


def check_seeded(name: str) -> None:
    one, two = _make(name, num_layers=2), _make(name, num_layers=2)
    for (pname, p), (_, q) in zip(one.state_dict().items(), two.state_dict().items(), strict=True):
        if not torch.equal(p, q):
            _fail(f"the same seed built different weights ({pname!r}); draw every random number from torch's generator")
    x = torch.randn(B, T, I)
    with torch.no_grad():
        if not torch.equal(_run(one, x)[0], _run(two, x)[0]):
            _fail("the same seed and input gave different outputs")


def train_steps(task_name: str, family: str, data: Any, *, steps: int = 2) -> None:
    """Two optimizer steps and a validation pass of `family` on `task_name`'s `data` (its smoke splits)
    at the smallest configuration of the smoke search space. A bidirectional family on a causal
    task must be refused with one line instead."""
    from benchbench.batching import make_loader
    from benchbench.tasks import load_task
    from benchbench.training import TrainConfig, build_model, quiet_lightning, split_hparams

    task = load_task(task_name)
    hparams = smoke_hparams(task, family)
    train_options, _ = split_hparams(hparams)
    config = TrainConfig(max_epochs=1, **train_options)
    if task.causal and models.is_bidirectional(family):
        try:
            build_model(task, family, hparams, data, config)
        except BenchError as err:
            if "bidirectional" in str(err) and "\n" not in str(err):
                return
            raise
        _fail("a bidirectional family on a causal task was not refused")
    module = build_model(task, family, hparams, data, config)
    if sum(p.numel() for p in module.parameters() if p.requires_grad) == 0:
        _fail("no trainable parameters")
    recorder = _Recorder()
    quiet_lightning()
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=steps, limit_val_batches=2,
        gradient_clip_val=config.gradient_clip, callbacks=[recorder], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip

    def loader(split: str, shuffle: bool):
        return make_loader(data[split], batch_size=config.batch_size, shuffle=shuffle, seed=0, bptt=config.bptt)

    trainer.fit(module, train_dataloaders=loader("train", True), val_dataloaders=loader("val", False))
    if len(recorder.losses) != steps or not all(math.isfinite(loss) for loss in recorder.losses):
        _fail(f"training losses {recorder.losses} are not {steps} finite values")
    if recorder.missing:
        _fail(f"parameters without a gradient in training: {', '.join(recorder.missing[:3])}")
    if recorder.not_finite:
        _fail(f"parameters with a non-finite gradient in training: {', '.join(recorder.not_finite[:3])}")
    for metric in (task.metric, *task.extra_metrics):
        if f"val_{metric}" not in trainer.callback_metrics:
            _fail(f"validation logged no {metric}")
    value = float(trainer.callback_metrics[f"val_{task.metric}"])
    if not math.isfinite(value):
        _fail(f"validation {task.metric} is {value}")


def smoke_hparams(task, family: str) -> dict[str, Any]:
    """The centre of the smoke search space, with the smallest width, depth and batch it allows."""
    space = task.search_space(family, "smoke")
    hparams = {name: param.centre() for name, param in space.items()}
    for name in ("hidden_size", "num_layers", "batch_size"):
        if name in space:
            param = space[name]
            hparams[name] = min(param.choices) if param.choices is not None else param.low if param.low is not None else param.fixed
    return hparams


class _Recorder(pl.Callback):
    """Each training step's loss and, after its backward pass, every parameter missing a gradient or
    holding a non-finite one."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.missing: list[str] = []
        self.not_finite: list[str] = []

    def on_after_backward(self, trainer, module) -> None:
        for name, p in module.named_parameters():
            if p.requires_grad and p.grad is None:
                self.missing.append(name)
            elif p.requires_grad and not torch.isfinite(p.grad).all():
                self.not_finite.append(name)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))


CHECKS: dict[str, Callable[[str], None]] = {
    "description": check_description,
    "shapes": check_shapes,
    "final state": check_state,
    "causality": check_causal,
    "gradients": check_gradients,
    "stacked dropout": check_dropout,
    "seeded": check_seeded,
}


@dataclass(frozen=True)
class Check:
    name: str
    outcome: str  # "pass", "FAIL" or "skip"
    detail: str = ""  # why it failed or was skipped (one line)
    seconds: float = 0.0


@dataclass(frozen=True)
class ContractReport:
    model: str  # the family's registered name
    ref: str  # as the user gave it
    origin: dict[str, Any] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == "FAIL"]

    def failure_lines(self) -> list[str]:
        return [f"FAIL {self.model} {c.name}: {c.detail}" for c in self.failed]


def _outcome(name: str, run: Callable[[], None]) -> Check:
    import time

    start = time.perf_counter()
    try:
        run()
    except ContractFailure as err:
        return Check(name, "FAIL", str(err), time.perf_counter() - start)
    except Exception as err:  # the family's own code raised: its error is the failure
        message = " ".join(str(err).split())
        return Check(name, "FAIL", f"{type(err).__name__}: {message[:300]}", time.perf_counter() - start)
    return Check(name, "pass", "", time.perf_counter() - start)


def check_family(ref: str, *, tasks: str | list[str] | None = None) -> ContractReport:
    """Run the contract on family `ref` (a name or a reference; loading it is a BenchError when it
    fails, as for `bench run`), training on every task's smoke data (or on `tasks`' only). A task
    whose data is not available here is skipped, with why."""
    from benchbench.tasks import load_task, task_names, use_task

    name = models.use_model(ref)
    if isinstance(tasks, str):
        tasks = [use_task(t.strip()) for t in tasks.split(",") if t.strip()]
    checks = [_outcome(check, lambda check=check: CHECKS[check](name)) for check in CHECKS]
    for task in tasks or task_names():
        try:
            data = load_task(task).load_data("smoke")
        except BenchError as err:
            reason = str(err) if len(str(err)) <= 120 else str(err)[:117] + "..."
            checks.append(Check(f"trains on {task}", "skip", f"no smoke data here: {reason}"))
            continue
        checks.append(_outcome(f"trains on {task}", lambda task=task, data=data: train_steps(task, name, data)))
    return ContractReport(model=name, ref=ref, origin=models.model_origin(name), checks=tuple(checks))
