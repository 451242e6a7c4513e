"""Naive baselines: contract tests generated from the baseline and task registries, hand-computed
values on tiny data, and how they reach the leaderboard, the check and `bench list`."""

import json
import math

import pytest
import torch
from torch.utils.data import TensorDataset
from typer.testing import CliRunner

from benchbench.baselines import BASELINES, evaluate_baseline
from benchbench.cli import app
from benchbench.data.registry import Splits
from benchbench.errors import BenchError
from benchbench.heads import HEADS
from benchbench.analysis.leaderboard import collect
from benchbench.render.leaderboard import render
from benchbench.tasks import BaselineSpec, load_task, task_names
from tests.synthetic import add_baselines
from tests.synthetic import seeds, study
from tests.sweep.test_matrix import smoke_data

runner = CliRunner()

NAMED = [(task, spec) for task in task_names() for spec in load_task(task).baselines]


def test_every_task_names_a_baseline_and_every_name_is_registered():
    for task in task_names():
        specs = load_task(task).baselines
        assert specs, f"{task} names no naive baseline"
        assert all(spec.name in BASELINES for spec in specs), task
    assert {spec.name for _, spec in NAMED} == set(BASELINES.names())  # none registered and never used


@pytest.mark.parametrize("task, spec", NAMED, ids=lambda p: getattr(p, "label", p))
def test_each_named_baseline_scores_finite_values_on_smoke_data(task, spec):
    t = load_task(task)
    data = smoke_data(task)  # a task whose file is missing offline reads its stand-in (test_matrix)
    result = evaluate_baseline(
        spec, data, metric=t.metric, extra_metrics=t.extra_metrics, regression=HEADS.get(t.output).regression
    )
    assert math.isfinite(result.val) and math.isfinite(result.test)
    assert set(result.test_extra) == set(t.extra_metrics)
    assert all(math.isfinite(v) or t.metric == "corr" or name == "corr" for name, v in result.test_extra.items())
    if t.metric in ("perplexity",):
        assert result.test > 1.0
    if t.metric == "accuracy":
        assert 0.0 <= result.test <= 100.0


def _series(train, val, test, *, window=2, scale=None):
    """Forecasting windows of one series: inputs are `window` past values (one channel), the target
    the next value, as the LSTNet and UCI loaders build them (meta target_channels = (0,))."""

    def windows(values):
        v = torch.tensor(values, dtype=torch.float32)
        x = torch.stack([v[i : i + window] for i in range(len(v) - window)]).unsqueeze(-1)
        y = v[window:].unsqueeze(-1)
        return TensorDataset(x, y)

    meta = {"target_channels": (0,), "window": window, "horizon": 1}
    if scale is not None:
        meta.update(target_scale=torch.tensor([scale]), target_offset=torch.tensor([0.0]))
    return Splits(windows(train), windows(val), windows(test), meta)


def _score(name, data, metric="rmse", **options):
    spec = BaselineSpec(name, options)
    return evaluate_baseline(spec, data, metric=metric, extra_metrics=(), regression=True)


def test_persistence_and_train_mean_equal_hand_computed_values():
    data = _series([1, 2, 3, 4, 5], [5, 7, 4], [4, 4, 6, 9])
    # persistence predicts the previous value. val: target 4 after 7 -> error 3; test: 6 after 4 -> 2, 9 after 6 -> 3
    persistence = _score("persistence", data)
    assert persistence.val == pytest.approx(3.0)
    assert persistence.test == pytest.approx(math.sqrt((2**2 + 3**2) / 2))
    # train-mean: the mean training target (3, 4, 5) -> 4; val target 4 -> 0; test targets 6, 9 -> 2, 5
    mean = _score("train-mean", data)
    assert mean.val == pytest.approx(0.0, abs=1e-6)
    assert mean.test == pytest.approx(math.sqrt((2**2 + 5**2) / 2))


def test_baselines_are_scored_in_the_tasks_units():
    """Targets stored divided by 10 are scored in the original units, as the models' are."""
    data = _series([0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.7, 0.4], [0.4, 0.4, 0.6, 0.9], scale=10.0)
    assert _score("persistence", data).test == pytest.approx(math.sqrt((2**2 + 3**2) / 2), rel=1e-5)
    constant = _score("constant", data, value=4.0)  # in the task's units, not the stored ones
    assert constant.val == pytest.approx(0.0, abs=1e-5)
    assert constant.test == pytest.approx(math.sqrt((2**2 + 5**2) / 2), rel=1e-5)


def test_seasonal_persistence_takes_the_value_one_period_before_the_target():
    data = _series(list(range(10)), [0, 10, 20, 30, 40], [1, 1, 1, 5, 1], window=4)
    # period 4 with window 4, horizon 1: the first input step. val targets 40 <- 0 (error 40)
    result = _score("seasonal-persistence", data, period=4)
    assert result.val == pytest.approx(40.0)
    assert result.test == pytest.approx(0.0)  # target 1 <- first input 1
    with pytest.raises(BenchError, match="period 9 must lie between"):
        _score("seasonal-persistence", data, period=9)


def test_majority_class_and_unigram_on_hand_built_data():
    sentences = lambda labels: [(torch.tensor([1, 2]), label) for label in labels]  # noqa: E731
    data = Splits(sentences([1, 1, 0]), sentences([1, 0]), sentences([1, 1, 1, 0]), {"num_classes": 2})
    majority = evaluate_baseline(BaselineSpec("majority-class", {}), data, metric="accuracy", regression=False)
    assert (majority.val, majority.test) == (pytest.approx(50.0), pytest.approx(75.0))

    stream = Splits(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 1, 0]), torch.tensor([0, 0]), {"vocab_size": 3})
    unigram = evaluate_baseline(BaselineSpec("unigram", {}), stream, metric="perplexity", regression=False)
    # add-one counts 4, 2, 1 of 7: val predicts tokens 1 and 0 -> exp(-(log 2/7 + log 4/7) / 2)
    assert unigram.val == pytest.approx(math.exp(-(math.log(2 / 7) + math.log(4 / 7)) / 2), rel=1e-5)
    assert unigram.test == pytest.approx(7 / 4, rel=1e-5)


def test_a_baseline_that_does_not_fit_the_data_is_one_clear_error():
    stream = Splits(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([0, 1]), {"vocab_size": 2})
    with pytest.raises(BenchError, match="baseline 'persistence' needs fixed-length examples"):
        evaluate_baseline(BaselineSpec("persistence", {}), stream, metric="mse", regression=True)
    with pytest.raises(BenchError, match="baseline 'constant'"):  # a missing option
        _score("constant", _series([1, 2, 3], [1, 2, 3], [1, 2, 3]))


def test_the_residual_head_starts_as_persistence():
    """exchange-rate's recipe: an untrained residual model predicts exactly what persistence does."""
    from benchbench.training import TrainConfig, build_model

    task = load_task("exchange-rate")
    data = task.load_data("smoke")
    module = build_model(task, "gru", {"hidden_size": 8}, data, TrainConfig(residual=True))
    x, _ = data.test.tensors
    with torch.no_grad():
        predicted, _ = module(x[:16])
    assert torch.allclose(predicted, x[:16, -1, list(data.meta["target_channels"])])


# --- how they reach the readers ---------------------------------------------------------------


@pytest.fixture
def ranked(tmp_path):
    """adding x lstm (tests 0.010-0.012) and gru (0.15-0.19), and two naive baselines scoring 0.17 and 0.18."""
    results = tmp_path / "results"
    for model, tests in (("lstm", [0.010, 0.011, 0.012]), ("gru", [0.15, 0.17, 0.19])):
        study(results, model=model, trials=[{"value": tests[0], "test": tests[0]}])
        study(results, model=model, kind="eval", trials=seeds(tests))
    add_baselines(results, {"constant[value=1]": (0.16, 0.17), "train-mean": (0.17, 0.18)}, budget="smoke")
    return results


def test_baseline_rows_come_after_the_families_unranked(ranked):
    rows = json.loads(render(collect(ranked), "json"))
    assert [(r["model"], r["kind"], r["rank"]) for r in rows] == [
        ("lstm", "model", 1), ("gru", "model", 2), ("constant[value=1]", "baseline", None),
        ("train-mean", "baseline", None),
    ]  # fmt: skip
    lstm, gru, constant, _ = rows
    assert constant["test"] == 0.17 and constant["val"] == 0.16
    assert (lstm["baseline"], lstm["baseline_label"]) == (0.17, "constant[value=1]")
    assert lstm["beats_baseline"] is True  # its whole interval lies below 0.17
    assert gru["beats_baseline"] is False  # mean 0.17: its interval reaches the baseline


def test_the_not_beaten_mark_shows_in_every_format(ranked):
    md = render(collect(ranked), "markdown")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("| adding")]
    lines = {row[3]: row for row in rows}
    assert "✓ 93.5%" in lines["lstm"] and "✗ 0%" in lines["gru"]
    assert "constant[value=1] (naive)" in lines and "train-mean (naive)" in lines
    table = runner.invoke(app, ["leaderboard", "--results", str(ranked)], env={"COLUMNS": "200"}).stdout
    assert "✓ 93.5%" in table and "✗ 0%" in table and "train-mean" in table and "naive" in table


def test_no_mark_without_a_baseline(tmp_path):
    results = tmp_path / "results"
    study(results, model="lstm", trials=[{"value": 0.1, "test": 0.1}])
    rows = [line for line in render(collect(results), "markdown").splitlines() if line.startswith("| adding")]
    assert len(rows) == 1 and "✗" not in rows[0] and "✓" not in rows[0]


def test_check_holds_the_baselines_as_cells_of_their_own_kind(ranked, tmp_path):
    out = tmp_path / "baseline.json"
    assert runner.invoke(app, ["baseline", "save", "--results", str(ranked), "--out", str(out)]).exit_code == 0
    cells = {(c["model"], c["kind"]): c for c in json.loads(out.read_text())["cells"]}
    assert set(cells) == {("lstm", "model"), ("gru", "model"), ("constant[value=1]", "baseline"), ("train-mean", "baseline")}
    assert cells["train-mean", "baseline"]["value"] == 0.18 and cells["train-mean", "baseline"]["ci_low"] is None
    checked = runner.invoke(app, ["check", "--baseline", str(out), "--results", str(ranked)])
    assert checked.exit_code == 0, checked.output
    # a naive baseline that moved (the data or the metric code changed) is a regression like any other
    add_baselines(ranked, {"constant[value=1]": (0.3, 0.3)}, budget="other")  # unrelated budget: ignored
    document = json.loads(out.read_text())
    for cell in document["cells"]:
        if cell["model"] == "train-mean":
            cell["value"] = 0.1
    out.write_text(json.dumps(document))
    moved = runner.invoke(app, ["check", "--baseline", str(out), "--results", str(ranked)])
    assert moved.exit_code == 1 and "adding/train-mean/smoke (naive)" in moved.output


def test_a_baseline_file_from_before_kinds_still_loads(ranked, tmp_path):
    old = tmp_path / "old.json"
    assert runner.invoke(app, ["baseline", "save", "--results", str(ranked), "--out", str(old)]).exit_code == 0
    document = json.loads(old.read_text())
    document["cells"] = [
        {k: v for k, v in c.items() if k not in ("kind", "ci_low", "ci_high", "wall_time")}
        for c in document["cells"] if c["kind"] == "model"
    ]  # fmt: skip
    old.write_text(json.dumps(document))
    out = runner.invoke(app, ["check", "--baseline", str(old), "--results", str(ranked)])
    assert out.exit_code == 0, out.output


def test_bench_list_baselines_names_each_with_its_tasks():
    out = runner.invoke(app, ["list", "baselines"])
    assert out.exit_code == 0, out.output
    for name in BASELINES.names():
        assert name in out.stdout
    line = next(line for line in out.stdout.splitlines() if line.startswith("persistence"))
    assert "exchange-rate" in line and "uci-pm25" in line
