"""`--precision`: Lightning's precision plugin for `bench run` and `bench train`, checked before anything
is written, recorded with the study and each trial, and usable on a CPU (bf16-mixed, 64-true)."""

from __future__ import annotations

import json
import math

import lightning.pytorch as pl
import optuna
import pytest
import torch
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.device import PRECISIONS, check_precision
from benchbench.errors import BenchError
from benchbench.models import MODELS
from benchbench.store.storage import StorageSpec
from benchbench.tasks import load_task
from benchbench.training import fit_and_test
from benchbench.contract import smoke_hparams
from tests.sweep.test_matrix import smoke_data

runner = CliRunner()


class _HeadDtype(pl.Callback):
    """Records the dtype of the head's output and the trainer's precision while a run trains."""

    def __init__(self) -> None:
        self.dtypes: set[torch.dtype] = set()
        self.precision = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self.precision = trainer.precision
        pl_module.head.register_forward_hook(lambda module, args, out: self.dtypes.add(out.dtype))


@pytest.mark.parametrize("family", MODELS.names())
def test_bf16_mixed_gives_finite_metrics_for_every_family(family):
    """Every registered family trains in bf16-mixed on a CPU at the smoke budget of `adding`, its
    head computing in bfloat16, and ends with finite validation and test figures."""
    seen = _HeadDtype()
    result = fit_and_test(
        load_task("adding"), family, smoke_hparams(load_task("adding"), family), data=smoke_data("adding"), max_epochs=1, seed=0,
        callbacks=[seen], precision="bf16-mixed",
    )  # fmt: skip
    assert seen.precision == "bf16-mixed" and torch.bfloat16 in seen.dtypes
    assert math.isfinite(result.val) and math.isfinite(result.test)
    assert result.precision == "bf16-mixed"


def test_64_true_trains_in_float64():
    seen = _HeadDtype()
    result = fit_and_test(
        load_task("adding"), "peephole", smoke_hparams(load_task("adding"), "peephole"), data=smoke_data("adding"), max_epochs=1,
        seed=0, callbacks=[seen], precision="64-true",
    )  # fmt: skip
    assert seen.dtypes == {torch.float64} and math.isfinite(result.test) and result.precision == "64-true"


def test_default_is_float32():
    seen = _HeadDtype()
    result = fit_and_test(
        load_task("adding"), "gru", smoke_hparams(load_task("adding"), "gru"), data=smoke_data("adding"), max_epochs=1, seed=0,
        callbacks=[seen],
    )  # fmt: skip
    assert seen.dtypes == {torch.float32} and result.precision == "32-true"


def test_check_precision():
    assert [check_precision(p, cuda=True) for p in PRECISIONS] == list(PRECISIONS)
    with pytest.raises(BenchError, match="unknown precision 'fp8'; choose one of: 32-true, bf16-mixed, 16-mixed, 64-true"):
        check_precision("fp8")
    with pytest.raises(BenchError, match="16-mixed needs a CUDA GPU"):
        check_precision("16-mixed", cuda=False)
    assert check_precision("bf16-mixed", cuda=False) == "bf16-mixed"


@pytest.mark.parametrize("command", ["run", "train"])
@pytest.mark.parametrize(
    "precision, message",
    [("fp8", "unknown precision 'fp8'; choose one of: 32-true, bf16-mixed, 16-mixed, 64-true"), ("16-mixed", "needs a CUDA GPU")],
)
def test_bad_precision_is_one_line_and_writes_nothing(command, precision, message, results, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = runner.invoke(
        app, [command, "--task", "adding", "--model", "lstm", "--budget", "smoke", "--precision", precision, "--results", str(results)]
    )
    assert out.exit_code == 2, out.output
    assert message in out.stderr and out.stderr.strip().count("\n") == 0 and "Traceback" not in out.output
    assert not results.exists()


def test_16_mixed_may_be_planned_for_gpu_workers_elsewhere(results, monkeypatch):
    """--jobs 0 only plans: the `bench worker`s that train may run where the GPU is."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = runner.invoke(
        app, ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--precision", "16-mixed", "--jobs", "0", "--results", str(results)]
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    study = optuna.load_study(study_name="adding/lstm/smoke", storage=StorageSpec(results, None).open())
    assert study.user_attrs["precision"] == "16-mixed"


def test_precision_is_recorded_with_the_study_and_each_trial(results):
    out = runner.invoke(
        app,
        ["run", "--task", "adding", "--model", "gru", "--budget", "smoke", "--trials", "2", "--seeds", "1", "--top-k", "1",
         "--precision", "bf16-mixed", "--results", str(results)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads(runner.invoke(app, ["leaderboard", "--results", str(results), "--format", "json"]).stdout)
    assert any(r["kind"] == "model" and math.isfinite(r["test"]) for r in rows)
    storage = StorageSpec(results, None).open()
    for name in ("adding/gru/smoke", "adding/gru/smoke/eval"):
        study = optuna.load_study(study_name=name, storage=storage)
        assert study.user_attrs["precision"] == "bf16-mixed"
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert done and all(t.user_attrs["precision"] == "bf16-mixed" for t in done)
        assert all("--precision bf16-mixed" in t.user_attrs["command"] for t in done)
    # the rerun command trains the same way
    rerun = done[0].user_attrs["command"].split()[1:]
    again = runner.invoke(app, [*rerun, "--results", str(results)])
    assert again.exit_code == 0, again.output
    assert "in bf16-mixed" in again.stdout
    shown = runner.invoke(app, ["show", "--task", "adding", "--model", "gru", "--budget", "smoke", "--results", str(results)])
    rows = [line for line in shown.stdout.splitlines() if line.lstrip("│ ").startswith("precision")]
    assert shown.exit_code == 0 and len(rows) == 1 and "bf16-mixed" in rows[0]  # its own row, beside device


def test_train_records_its_precision_per_trial(results):
    """`bench train` runs share one fixed study; each trial keeps the precision it trained in."""
    base = ["train", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--max-epochs", "1", "--results", str(results)]
    assert runner.invoke(app, [*base, "--precision", "64-true"]).exit_code == 0
    assert runner.invoke(app, base).exit_code == 0
    storage = StorageSpec(results, None).open()
    study = optuna.load_study(study_name="adding/lstm/fixed-smoke", storage=storage)
    assert [t.user_attrs["precision"] for t in study.trials] == ["64-true", "32-true"]
    assert "--precision 64-true" in study.trials[0].user_attrs["command"]
    assert "--precision" not in study.trials[1].user_attrs["command"]


def test_manual_steps_clip_the_unscaled_gradients(monkeypatch):
    """With a gradient scaler (16-mixed on a GPU), fit_and_test's manual steps clip the true gradient
    norm: Lightning unscales inside `optimizer.step()`, before `on_before_optimizer_step`. Shown on
    the CPU with the same plugin and a CPU gradient scaler (Lightning gives a CPU none by itself)."""
    from lightning.pytorch.plugins.precision import MixedPrecision

    from benchbench import training

    norms = []
    clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda params, value, **kw: norms.append(float(clip(params, value, **kw))))
    trainer_class = pl.Trainer

    def scaled_trainer(**kwargs):
        kwargs.pop("precision")
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
        return trainer_class(**kwargs, plugins=[MixedPrecision("16-mixed", "cpu", scaler=scaler)])

    monkeypatch.setattr(training.pl, "Trainer", scaled_trainer)
    hparams = {**smoke_hparams(load_task("adding"), "gru"), "gradient_clip": 1.0}
    training.fit_and_test(load_task("adding"), "gru", hparams, data=smoke_data("adding"), max_epochs=1, seed=0)
    finite = [n for n in norms if math.isfinite(n)]  # an overflowing step is skipped by the scaler, as it should be
    assert len(finite) > len(norms) // 2 and max(finite) < 1e3, norms  # scaled by 2**16: tens of thousands
