"""The LightningModule and `bench train`: state carried on streams, the LR schedule of a preset,
selection on validation."""

import json
import math

import lightning.pytorch as pl
import pytest
import torch
from typer.testing import CliRunner

from benchbench import training
from benchbench.batching import GroupedBatches, make_loader
from benchbench.cli import app
from benchbench.tasks import load_task
from benchbench.training import TrainConfig, build_model, fit_and_test, split_hparams

runner = CliRunner()


def test_stream_model_carries_state_between_batches():
    task = load_task("ptb")
    data = task.load_data("smoke")
    module = build_model(task, "lstm", {"hidden_size": 8, "num_layers": 1}, data, TrainConfig())
    assert module.stateful and isinstance(module.encoder, torch.nn.Embedding)
    x = data.train[:40].view(2, 20)
    module._reset("val")
    module._step((x[:, :10], x[:, 1:11]), "val")
    second, _ = module._step((x[:, 10:], x[:, 10:]), "val")
    whole, _ = module(x)
    torch.testing.assert_close(second, whole[:, 10:])  # the second window continued from the first


def test_zaremba_schedule_halves_after_epoch_four():
    config = TrainConfig(optimizer="sgd", lr=1.0, lr_decay=0.5, lr_decay_after=4)
    task = load_task("adding")
    module = build_model(task, "lstm", {"hidden_size": 4}, task.load_data("smoke"), config)
    optimizer = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(7):
        rates.append(optimizer.get_last_lr()[0])
        optimizer.optimizer.step()
        optimizer.step()
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]


def test_init_range_is_applied_to_every_parameter():
    task = load_task("adding")
    module = build_model(task, "gru", {"hidden_size": 16}, task.load_data("smoke"), TrainConfig(init_range=0.05))
    assert all(p.abs().max() <= 0.05 for p in module.parameters())


def test_bench_train_with_preset_and_overrides(tmp_path):
    results = tmp_path / "results"
    out = runner.invoke(
        app,
        ["train", "--task", "ptb", "--model", "lstm", "--preset", "zaremba-small", "--budget", "smoke",
         "--set", "hidden_size=12", "--set", "max_epochs=2", "--results", str(results)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "ptb/lstm: val" in out.stdout and "2 epochs" in out.stdout
    rows = json.loads(runner.invoke(app, ["leaderboard", "--results", str(results), "--format", "json"]).stdout)
    (row,) = [r for r in rows if r["kind"] == "model"]
    assert [(r["model"], r["budget"]) for r in rows if r["kind"] == "baseline"] == [("unigram", "fixed-smoke")]
    assert row["budget"] == "fixed-smoke" and row["model"] == "lstm" and row["baseline_label"] == "unigram"
    assert row["hyperparams"]["hidden_size"] == 12 and row["hyperparams"]["optimizer"] == "sgd"
    assert row["hyperparams"]["lr"] == 20.0 and math.isfinite(row["test"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "ptb", "--model", "lstm", "--preset", "nope"], "no preset 'nope'; choose one of: zaremba-small"),
        (["--task", "ptb", "--model", "lstm", "--set", "oops"], "--set takes key=value"),
        (["--task", "ptb", "--model", "bilstm"], "bidirectional"),
        (["--task", "ptb", "--model", "lstm", "--budget", "smoke", "--set", "colour=3"], "colour"),
        (["--task", "exchange-rate", "--model", "gru", "--option", "nope=1"], "has no option 'nope'; choose one of: "),
    ],
)
def test_train_bad_input(args, message, tmp_path):
    results = tmp_path / "results"
    out = runner.invoke(app, ["train", *args, "--results", str(results)])
    assert out.exit_code == 2, out.output
    assert message in out.stderr and out.stderr.strip().count("\n") == 0
    assert "Traceback" not in out.output


def test_task_options_make_their_own_study(tmp_path):
    results = tmp_path / "results"
    base = ["run", "--task", "exchange-rate", "--model", "gru", "--budget", "smoke", "--trials", "1", "--results", str(results)]
    assert runner.invoke(app, [*base, "--option", "horizon=6"]).exit_code == 0
    assert runner.invoke(app, base).exit_code == 0
    rows = json.loads(runner.invoke(app, ["leaderboard", "--results", str(results), "--format", "json", "--task", "exchange-rate"]).stdout)
    assert sorted(r["task"] for r in rows if r["kind"] == "model") == ["exchange-rate", "exchange-rate[horizon=6]"]
    naive = {(r["task"], r["model"]): r["test"] for r in rows if r["kind"] == "baseline"}
    assert set(naive) == {(t, b) for t in ("exchange-rate", "exchange-rate[horizon=6]") for b in ("persistence", "train-mean")}
    # a longer horizon is harder to guess by repeating the last value
    assert naive["exchange-rate[horizon=6]", "persistence"] > naive["exchange-rate", "persistence"]


def test_convolutional_family_predicts_frames_per_pixel():
    """On frames, ConvLSTM's maps go through a shared 1x1 head (Shi et al. 2015); flat families get a dense one."""
    task = load_task("moving-digits")
    data = task.load_data("smoke")
    conv = build_model(task, "convlstm", {"hidden_size": 6}, data, TrainConfig())
    dense = build_model(task, "lstm", {"hidden_size": 6}, data, TrainConfig())
    assert sum(p.numel() for p in conv.head.parameters()) == 6 + 1
    assert sum(p.numel() for p in dense.head.parameters()) == 6 * 256 + 256
    x, y = data.train[0:2]
    assert conv(x)[0].shape == y.shape == dense(x)[0].shape
    maps = torch.randn(2, 10, 6 * 256)
    maps2 = maps.clone()
    maps2.view(2, 10, 6, 256)[:, -1, :, 7] += 1.0  # change pixel 7's channels at the last step only
    changed = (conv.head(maps) != conv.head(maps2)).nonzero()
    assert changed[:, 1].unique().tolist() == [4] and changed[:, 2].unique().tolist() == [7]


def test_l1_loss_trains_on_absolute_error_in_the_tasks_units():
    """`loss=l1` (LSTNet's training loss) is the mean absolute error of de-normalised values;
    a task whose output is not a regression refuses it in one line."""
    task = load_task("uci-pm25")
    data = task.load_data("smoke")
    module = build_model(task, "gru", {"hidden_size": 8}, data, TrainConfig(loss="l1"))
    x, y = next(iter(torch.utils.data.DataLoader(data.train, batch_size=16)))
    pred, _ = module(x)
    expected = (pred * module.target_scale + module.target_offset - (y * module.target_scale + module.target_offset)).abs().mean()
    module.trainer = type("T", (), {"num_training_batches": 99})()  # training_step reads it for logging
    assert module.training_step((x, y), 0).item() == pytest.approx(expected.item(), rel=1e-5)
    sentiment = load_task("sentiment")
    with pytest.raises(Exception, match="l1 \\(regression tasks only\\)"):
        build_model(sentiment, "gru", {"hidden_size": 8}, sentiment.load_data("smoke"), TrainConfig(loss="l1"))


@pytest.mark.parametrize(
    "task_name, hparams",
    [  # 8 batches of 32 from 256 examples, shuffled; 50 windows of a stream carrying the state
        ("adding", {"hidden_size": 8, "batch_size": 32, "gradient_clip": 0.05, "input_noise": 0.1, "optimizer": "sgd", "lr": 0.5, "lr_decay": 0.5}),
        ("ptb", {"hidden_size": 8, "batch_size": 8, "bptt": 10, "gradient_clip": 0.25, "lr": 0.01}),
    ],
)  # fmt: skip
def test_grouped_steps_train_exactly_as_one_step_per_call(task_name, hparams):
    """fit_and_test's training_step takes several batches a call (manual optimization): the weights,
    epoch loss and step count are those of Lightning's automatic loop taking one batch a call, with
    clipping, the per-epoch learning-rate decay, the noise draws and the carried state, whether the
    batches fill the last group or not."""
    task = load_task(task_name)
    data = task.load_data("smoke")
    train_options, _ = split_hparams(hparams)
    config = TrainConfig(**train_options)
    runs = []
    for group in (None, 3):
        pl.seed_everything(0, verbose=False)
        module = build_model(task, "lstm", hparams, data, config)
        loader = make_loader(data.train, batch_size=config.batch_size, shuffle=True, seed=0, bptt=config.bptt)
        if group is not None:
            module.automatic_optimization = False
            loader = GroupedBatches(loader, group)
        trainer = pl.Trainer(
            accelerator="cpu", max_epochs=2, gradient_clip_val=None if group else config.gradient_clip, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        )  # fmt: skip
        trainer.fit(module, train_dataloaders=loader)
        runs.append((trainer.global_step, module.state_dict(), trainer.callback_metrics["train_loss"]))
    (steps, expected, loss), (grouped_steps, weights, grouped_loss) = runs
    assert grouped_steps == steps == 2 * len(loader.loader) and len(loader.loader) % 3 != 0
    assert loss == grouped_loss
    for name, value in expected.items():
        torch.testing.assert_close(weights[name], value, rtol=0, atol=0, msg=name)


def test_fit_and_test_counts_optimizer_steps():
    task = load_task("adding")
    steps = []

    class Steps(pl.Callback):
        def on_train_epoch_end(self, trainer, module) -> None:
            steps.append(trainer.global_step)

    result = fit_and_test(task, "gru", {"hidden_size": 4, "batch_size": 8}, data=task.load_data("smoke"), max_epochs=2, seed=0, callbacks=[Steps()])
    assert steps == [32, 64] and training.STEPS_PER_CALL < 32  # 256 examples in batches of 8, several calls an epoch
    assert result.epochs == 2
