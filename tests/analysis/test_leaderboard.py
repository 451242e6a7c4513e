"""The leaderboard over synthetic results: pairing of search and eval studies, seeds statistics,
ranking, significance, filters and the renderings (no training)."""

import io
import json
import math
import os

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from scipy import stats as scipy_stats
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.analysis.leaderboard import COLUMNS, collect
from benchbench.render import leaderboard as rendering
from benchbench.render.leaderboard import render, write_leaderboards
from benchbench.store.storage import open_storage

from tests.synthetic import seeds, study

runner = CliRunner()
T_975_DF2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # the t quantile for 3 seeds, in closed form

LSTM_TESTS = [0.010, 0.020, 0.030]  # mean 0.02, sd 0.01
GRU_TESTS = [0.012, 0.021, 0.030]  # close to lstm's: not significantly different
RNN_TESTS = [0.100, 0.101, 0.102]  # far worse


def bench(*args):
    return runner.invoke(app, [str(a) for a in args])


def _three_families(results):
    """adding at smoke: lstm, gru, rnn searched and evaluated with three seeds each."""
    for model, tests, val in (("lstm", LSTM_TESTS, 0.05), ("gru", GRU_TESTS, 0.01), ("rnn", RNN_TESTS, 0.2)):
        study(
            results, model=model,
            trials=[{"value": val * 2, "test": 0.5, "lr": 0.02}, {"value": val, "test": tests[0] + 0.001, "lr": 0.01}],
        )  # fmt: skip
        study(results, model=model, kind="eval", trials=seeds(tests, source=1))


@pytest.fixture
def three(results):
    _three_families(results)
    return results


def _by_model(frame):
    return {row["model"]: row for _, row in frame.iterrows()}


def test_rows_pair_search_and_eval(three):
    frame = collect(three)
    assert list(frame.columns) == COLUMNS
    assert sorted(frame["model"]) == ["gru", "lstm", "rnn"]  # eval studies are no rows of their own
    lstm = _by_model(frame)["lstm"]
    assert lstm["val"] == 0.05 and lstm["best_trial"] == 1 and lstm["hyperparams"] == {"lr": 0.01}
    assert lstm["test"] == pytest.approx(0.011)  # the best search trial's own test value
    assert lstm["n_seeds"] == 3 and lstm["trials"] == 2 and lstm["complete"] == 2
    assert lstm["wall_time"] == pytest.approx(5.0)  # 2 search + 3 eval trials of 1 s


def test_mean_std_and_interval_by_hand(three):
    lstm = _by_model(collect(three))["lstm"]
    assert lstm["test_mean"] == pytest.approx(0.02)
    assert lstm["test_std"] == pytest.approx(0.01)  # sqrt((0.01² + 0 + 0.01²) / 2)
    # MSE is positive by nature: the interval is the t interval of the log values, transformed back
    # (the plain one, 0.02 ± 0.0248, would reach below zero)
    logs = [math.log(0.01), math.log(0.02), math.log(0.03)]
    centre = sum(logs) / 3
    half = T_975_DF2 * math.sqrt(sum((x - centre) ** 2 for x in logs) / 2) / math.sqrt(3)
    assert (lstm["test_ci_low"], lstm["test_ci_high"]) == pytest.approx((math.exp(centre - half), math.exp(centre + half)))
    assert lstm["test_ci_scale"] == "log" and lstm["test_ci_low"] > 0


def test_rank_by_test_mean_not_validation(three):
    frame = collect(three)
    # gru has the best validation value, lstm the best test mean.
    assert list(frame["model"]) == ["lstm", "gru", "rnn"] and list(frame["rank"]) == [1, 2, 3]


def test_welch_against_the_best_and_same_as_best(three):
    rows = _by_model(collect(three))
    assert rows["lstm"]["p_value"] is None and rows["lstm"]["same_as_best"]
    expected = scipy_stats.ttest_ind(GRU_TESTS, LSTM_TESTS, equal_var=False).pvalue
    assert rows["gru"]["p_value"] == pytest.approx(expected) and expected > 0.05
    assert rows["gru"]["same_as_best"]
    assert rows["rnn"]["p_value"] == pytest.approx(scipy_stats.ttest_ind(RNN_TESTS, LSTM_TESTS, equal_var=False).pvalue)
    assert rows["rnn"]["p_value"] < 0.05 and not rows["rnn"]["same_as_best"]


def test_maximized_metric_ranks_highest_first(results):
    for model, tests in (("lstm", [80.0, 81.0, 82.0]), ("gru", [85.0, 86.0, 87.0])):
        study(results, task="sentiment", model=model, metric="accuracy", trials=[{"value": 80.0, "test": 80.0}])
        study(results, task="sentiment", model=model, metric="accuracy", kind="eval", trials=seeds(tests))
    frame = collect(results)
    assert list(frame["model"]) == ["gru", "lstm"] and frame.loc[0, "test_mean"] == pytest.approx(86.0)
    assert frame.loc[1, "p_value"] < 0.05 and not frame.loc[1, "same_as_best"]
    half = T_975_DF2 * 1.0 / math.sqrt(3)  # accuracy is not declared positive: the plain t interval
    assert (frame.loc[0, "test_ci_low"], frame.loc[0, "test_ci_high"]) == pytest.approx((86.0 - half, 86.0 + half))
    assert frame.loc[0, "test_ci_scale"] == "linear"


def test_without_eval_the_best_search_trial_stands_alone(results):
    study(results, model="lstm", trials=[{"value": 0.2, "test": 0.25}, {"value": 0.1, "test": 0.15}])
    study(results, model="gru", trials=[{"value": 0.3, "test": 0.1}])
    rows = _by_model(collect(results))
    assert rows["lstm"]["n_seeds"] == 1 and rows["lstm"]["test_mean"] == pytest.approx(0.15)
    assert pd.isna(rows["lstm"]["test_std"]) and pd.isna(rows["lstm"]["test_ci_low"])
    assert rows["gru"]["rank"] == 1  # by test, though its validation value is worse
    assert rows["lstm"]["p_value"] is None and not rows["lstm"]["same_as_best"]  # one seed: no test


def test_a_family_option_the_spec_fixed_is_shown_with_the_searched_values(results):
    """A gru row of the reset-before form must say so: it is another function than nn.GRU's."""
    study(results, model="gru", trials=[{"value": 0.1, "test": 0.1, "model_options": {"reset_after": False}}])
    study(results, model="lstm", trials=[{"value": 0.1, "test": 0.1}])
    rows = _by_model(collect(results))
    assert rows["gru"]["hyperparams"] == {"lr": 0.01, "reset_after": False}
    assert rows["lstm"]["hyperparams"] == {"lr": 0.01}
    out = runner.invoke(app, ["leaderboard", "--results", str(results), "--format", "markdown"])
    assert "lr=0.01 reset_after=False" in out.stdout


def test_family_options_are_the_fixed_values_that_are_neither_training_nor_size():
    from benchbench.sweep.objective import family_options

    hparams = {"lr": 0.01, "hidden_size": 8, "num_layers": 1, "dropout": 0.0, "batch_size": 4, "bptt": 50, "reset_after": False, "kernel": 3}
    assert family_options(hparams, {"lr": 0.01, "kernel": 3}) == {"reset_after": False}
    assert family_options({"lr": 0.01, "hidden_size": 8}, {"lr": 0.01}) == {}


def test_validation_ranks_where_there_is_no_test(results):
    study(results, model="lstm", trials=[{"value": 0.2}])
    study(results, model="gru", trials=[{"value": 0.1}])
    frame = collect(results)
    assert list(frame["model"]) == ["gru", "lstm"] and list(frame["n_seeds"]) == [0, 0]


def test_stale_eval_of_an_earlier_best_is_ignored(results):
    """The search went on after the evaluation: its seeds retrained trial 0, the best is now trial 1."""
    study(results, trials=[{"value": 0.2, "test": 0.2}, {"value": 0.1, "test": 0.12}])
    study(results, kind="eval", trials=seeds([0.3, 0.31], source=0) + seeds([0.5, 0.6], source=1, rank=2))
    row = collect(results).iloc[0]
    assert row["n_seeds"] == 1 and row["test_mean"] == pytest.approx(0.12)


def test_only_rank_one_seeds_count(results):
    study(results, trials=[{"value": 0.1, "test": 0.1}, {"value": 0.2, "test": 0.2}])
    study(results, kind="eval", trials=seeds([0.1, 0.2], source=0) + seeds([0.9, 0.9], source=1, rank=2))
    assert collect(results).iloc[0]["test_mean"] == pytest.approx(0.15)


def test_extra_metrics_are_means_over_seeds(results):
    study(results, extra_metrics=["corr"], trials=[{"value": 0.1, "test": 0.1, "test_corr": 0.0}])
    study(
        results,
        kind="eval",
        extra_metrics=["corr"],
        trials=seeds([0.1, 0.2], test_corr=0.5) + seeds([0.3], test_corr=0.8),
    )
    assert collect(results).iloc[0]["test_extra"] == {"corr": pytest.approx(0.6)}


def test_retried_failures_are_not_counted(results):
    study(
        results,
        trials=[
            {"state": TrialState.FAIL},  # 0: its worker died; retried as 2
            {"value": 0.1, "test": 0.1},  # 1
            {"value": 0.2, "test": 0.2, "system_attrs": {"failed_trial": 0}},  # 2: the retry
            {"state": TrialState.FAIL},  # 3: failed for good (diverged)
            {"state": TrialState.PRUNED},  # 4
            {"state": TrialState.FAIL},  # 5: retried as 6, which failed too and was retried as 7
            {"state": TrialState.FAIL, "system_attrs": {"failed_trial": 5, "retry_history": [5]}},  # 6
            {"state": TrialState.WAITING, "system_attrs": {"failed_trial": 5, "retry_history": [5, 6]}},  # 7
        ],
    )
    row = collect(results).iloc[0]
    assert (row["trials"], row["complete"], row["pruned"], row["failed"]) == (5, 2, 1, 1)


def test_studies_without_a_kind(results):
    """Studies written before kinds existed: search studies, or fixed ones by their budget."""
    study(results, kind=None, trials=[{"value": 0.1, "test": 0.1}])
    study(results, kind=None, budget="fixed", trials=[{"value": 0.3, "test": 0.3}, {"value": 0.2, "test": 0.25}])
    frame = collect(results)
    assert list(frame["budget"]) == ["fixed", "smoke"] and list(frame["rank"]) == [1, 1]
    assert frame.loc[0, "test_mean"] == pytest.approx(0.25) and frame.loc[0, "trials"] == 2


def test_fixed_and_search_rank_separately(three):
    study(three, model="lstm", budget="fixed", kind="fixed", trials=[{"value": 0.001, "test": 0.001}])
    frame = collect(three)
    fixed = frame[frame["budget"] == "fixed"]
    assert len(fixed) == 1 and fixed.iloc[0]["rank"] == 1
    assert frame[frame["budget"] == "smoke"]["rank"].tolist() == [1, 2, 3]


def test_filters(three):
    study(three, task="sentiment", model="lstm", metric="accuracy", trials=[{"value": 80.0, "test": 80.0}])
    study(
        three,
        task="electricity",
        task_options={"horizon": 24},
        model="gru",
        metric="rmse",
        trials=[{"value": 1.0, "test": 1.0}],
    )
    assert sorted(collect(three, model=["lstm", "rnn"])["model"]) == ["lstm", "lstm", "rnn"]
    assert set(collect(three, task="adding", model="lstm")["task"]) == {"adding"}
    assert collect(three, task="electricity")["task"].tolist() == ["electricity[horizon=24]"]
    assert collect(three, model="peephole").empty


def test_cli_model_filter(three):
    rows = json.loads(bench("leaderboard", "--results", three, "--format", "json", "--model", "lstm,gru").stdout)
    assert [r["model"] for r in rows] == ["lstm", "gru"] and [r["rank"] for r in rows] == [1, 2]
    assert [
        r["model"]
        for r in json.loads(bench("leaderboard", "--results", three, "--format", "json", "--model", "rnn").stdout)
    ] == ["rnn"]


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_cli_filter_naming_a_family_without_results_is_one_line(three, fmt):
    out = bench("leaderboard", "--results", three, "--model", "nope,peephole", "--format", fmt)
    assert out.exit_code == 2 and out.stdout == "" and out.stderr.count("\n") == 1
    assert "no results of family 'nope'" in out.stderr and "families with results: " in out.stderr


@pytest.mark.parametrize("value", ["lstm,,gru", ",", "", "ls tm", "lstm;gru", "lstm,"])
def test_cli_malformed_model_filter(three, value):
    out = bench("leaderboard", "--results", three, "--model", value)
    assert (
        out.exit_code == 2 and out.stderr.count("\n") == 1 and "--model takes names separated by commas" in out.stderr
    )


def test_json_keys_types_and_stability(three):
    out = bench("leaderboard", "--results", three, "--format", "json")
    rows = json.loads(out.stdout)
    assert [list(r) for r in rows] == [COLUMNS] * 3  # exactly these keys, in this order
    assert COLUMNS == [
        "task", "budget", "kind", "rank", "model", "metric", "direction", "units", "val", "test", "test_mean",
        "test_std", "test_ci_low", "test_ci_high", "test_ci_scale", "n_seeds", "p_value", "same_as_best", "test_extra", "params",
        "trials", "complete", "pruned", "failed", "cut_short", "wall_time", "best_trial", "hyperparams", "baseline",
        "baseline_label", "beats_baseline", "tolerance", "search",
    ]  # fmt: skip
    best, second = rows[0], rows[1]
    assert best["p_value"] is None and best["same_as_best"] is True and isinstance(second["p_value"], float)
    for key in ("rank", "n_seeds", "params", "trials", "best_trial"):
        assert type(best[key]) is int, key
    assert best["tolerance"] == {"relative": 0.1} and best["hyperparams"] == {"lr": 0.01}
    assert best["kind"] == "model" and best["baseline"] is None and best["beats_baseline"] is None  # none stored
    assert bench("leaderboard", "--results", three, "--format", "json").stdout == out.stdout  # deterministic


def test_json_nulls_for_a_single_seed(results):
    study(results, trials=[{"value": 0.1, "test": 0.1}])
    (row,) = json.loads(render(collect(results), "json"))
    assert (row["test_std"], row["test_ci_low"], row["test_ci_high"], row["p_value"]) == (None, None, None, None)
    assert row["n_seeds"] == 1 and row["same_as_best"] is True


def test_csv_has_every_column(three):
    frame = pd.read_csv(io.StringIO(render(collect(three), "csv")))
    assert list(frame.columns) == COLUMNS and frame["model"].tolist() == ["lstm", "gru", "rnn"]
    assert json.loads(frame.loc[0, "hyperparams"]) == {"lr": 0.01}


def test_markdown_pastes_into_a_pull_request(three):
    md = render(collect(three), "markdown")
    table = [line for line in md.splitlines() if line.startswith("|")]
    header, rule, *rows = table
    assert len(rows) == 3 and md.splitlines()[: len(table)] == table  # the table comes first, in one piece
    assert "model" in header and "test mean ± sd" in header and "95% CI" in header
    assert set(rule) <= set("|-:") and sum(set(line) <= set("|-: ") for line in table) == 1  # one header row
    assert all(line.count(" | ") == header.count(" | ") for line in table[2:])  # same number of cells
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    assert cells[0][:7] == ["adding", "smoke", "1", "lstm", "MSE ↓", "0.05", "0.02 ± 0.01"] and cells[0][7].startswith("[")
    assert cells[1][9].startswith("≈ p=") and cells[2][9].startswith("p=") and cells[0][9] == "best"
    assert "[bold" not in md and "[/" not in md and "Welch" in md  # no rich markup; the legend follows


def test_markdown_escapes_pipes(results):
    study(results, trials=[{"value": 0.1, "test": 0.1}], model="a|b")
    assert "a\\|b" in render(collect(results), "markdown")


def test_rich_table(three):
    study(three, task="electricity", task_options={"horizon": 24}, model="gru", metric="rmse", units="kW",
          trials=[{"value": 1.0, "test": 1.0}])  # fmt: skip
    out = runner.invoke(app, ["leaderboard", "--results", str(three)], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    text = out.stdout
    assert "adding · budget smoke · MSE, lower is better" in text
    assert "electricity[horizon=24] · budget smoke · RMSE (kW), lower is better" in text  # escaped, not markup
    assert "test RMSE (kW)" in text and "val MSE" in text and "95% CI" in text
    assert "0.02 ± 0.01" in text and "≈ p=" in text and "Welch" in text  # the legend


def test_published_references_shown(three):
    """adding's spec has no references; a monkeypatched one shows with its source."""
    from benchbench.tasks import Reference

    refs = (Reference(source="Le et al. 2015", model="irnn", test=0.001),)
    original = rendering.references
    rendering.references = lambda task: refs
    try:
        text = bench("leaderboard", "--results", three).stdout
    finally:
        rendering.references = original
    assert "published irnn" in text and "Le et al. 2015" in text


def test_write_leaderboards(three):
    write_leaderboards(collect(three), three)
    rows = json.loads((three / "leaderboard.json").read_text())
    assert [r["model"] for r in rows] == ["lstm", "gru", "rnn"]
    assert (three / "leaderboard.md").read_text() == render(collect(three), "markdown")
    assert list(pd.read_csv(three / "leaderboard.csv").columns) == COLUMNS
    assert not [p for p in os.listdir(three) if p.endswith(".tmp")]


def test_write_leaderboards_on_empty_and_missing_folders(results):
    from benchbench.analysis.frame import ResultSet
    from benchbench.analysis.leaderboard import leaderboard
    from benchbench.store.storage import StorageSpec

    empty = leaderboard(ResultSet(StorageSpec(results), []))
    write_leaderboards(empty, results)  # missing: left alone
    assert not results.exists()
    results.mkdir()
    write_leaderboards(empty, results)  # empty: empty leaderboards
    assert json.loads((results / "leaderboard.json").read_text()) == []
    assert (results / "leaderboard.csv").read_text().strip() == ",".join(COLUMNS)


def test_a_failing_render_leaves_the_old_files(three, monkeypatch):
    write_leaderboards(collect(three), three)
    before = {name: (three / name).read_bytes() for name in ("leaderboard.csv", "leaderboard.md", "leaderboard.json")}
    study(three, model="peephole", trials=[{"value": 0.001, "test": 0.001}])
    real = rendering.render

    def render_then_fail(frame, fmt, **kw):
        if fmt == "json":  # csv and markdown are done by now
            raise RuntimeError("crash mid-way")
        return real(frame, fmt, **kw)

    monkeypatch.setattr(rendering, "render", render_then_fail)
    with pytest.raises(RuntimeError):
        write_leaderboards(collect(three), three)
    assert {name: (three / name).read_bytes() for name in before} == before


def test_a_failing_write_leaves_the_old_file_and_no_temporary(three, monkeypatch):
    write_leaderboards(collect(three), three)
    before = (three / "leaderboard.csv").read_bytes()
    study(three, model="peephole", trials=[{"value": 0.001, "test": 0.001}])

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError):
        write_leaderboards(collect(three), three)
    assert (three / "leaderboard.csv").read_bytes() == before
    assert not [p for p in os.listdir(three) if p.endswith(".tmp")]


def test_a_study_without_attributes_is_skipped(three):
    """A study another tool wrote, or one a running sweep has created but not yet described."""
    optuna.create_study(storage=open_storage(three), study_name="half-made")
    assert sorted(collect(three, task="adding")["model"]) == ["gru", "lstm", "rnn"]


GREFF = ["peephole", "lstm-nfg", "lstm-np", "lstm-cifg", "lstm-noaf", "lstm-niaf"]


@pytest.fixture
def greff(results):
    """Six Greff variants on adding, with names that share a prefix and numbers of every size."""
    for i, model in enumerate(GREFF):
        tests = [0.0001479 * (i + 1), 8.273e-05 * (i + 2), 0.0004121 * (i + 1)]
        study(results, model=model, trials=[{"value": 0.1 + i, "test": tests[0], "lr": 0.01, "hidden_size": 57}])
        study(results, model=model, kind="eval", trials=seeds(tests, source=0))
    return results


@pytest.mark.parametrize("width", [60, 80, 160])
def test_table_at_any_width_keeps_every_name_whole(greff, width):
    """Names are never cut and no line is wider than the terminal; what is left out is named."""
    out = runner.invoke(app, ["leaderboard", "--results", str(greff)], env={"COLUMNS": str(width)})
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert max(map(len, lines)) <= width
    rows = [line.split() for line in lines]
    for model in GREFF:
        assert any(model in row for row in rows), model  # the whole name, as one word of a line
    assert "…" not in out.stdout
    table = render(collect(greff), "table", width=width)[0]
    if width >= 160:
        assert "left out" not in str(table.caption)
    else:
        assert "left out at" in str(table.caption) and "params" in str(table.caption)


def test_piped_output_without_columns_holds_every_column(greff, monkeypatch):
    """Not a terminal and no $COLUMNS: every column, hyperparameters included, none cut."""
    monkeypatch.delenv("COLUMNS")
    out = runner.invoke(app, ["leaderboard", "--results", str(greff)])
    assert out.exit_code == 0
    header = next(line for line in out.stdout.splitlines() if "model" in line and "#" in line)
    for column in ("val MSE", "test MSE", "95% CI", "seeds", "vs best", "params", "trials c/p/f", "time", "hyperparameters"):
        assert column in header
    assert "left out" not in out.stdout and "…" not in out.stdout


@pytest.mark.parametrize(
    ("paired", "words"),
    [
        ((True, True), "paired: every family drew the same configurations"),
        ((False, False), "independent: each family drew its own configurations"),
        ((True, False), "mixed: some families paired, some independent"),
    ],
)
def test_the_caption_says_how_the_families_were_searched(results, paired, words):
    for model, pair, val in (("lstm", paired[0], 0.05), ("gru", paired[1], 0.04)):
        study(
            results, model=model, sampler="tpe", pruner="median", startup=4, paired_search=pair,
            trials=[{"value": val, "test": val}],
        )  # fmt: skip
    frame = collect(results)
    assert list(frame["search"]) == [
        {"sampler": "tpe", "startup": 4, "pruner": "median", "paired": p} for p in (paired[1], paired[0])
    ]
    for text in (render(frame, "markdown"), bench("leaderboard", "--results", results).output):
        assert "search: tpe after 4 random trials, median pruner" in text and words in " ".join(text.split())


def test_a_study_from_before_the_search_was_recorded_reads_as_paired_with_ten_startup_trials(results):
    study(results, model="lstm", sampler="random", pruner="median", trials=[{"value": 0.05, "test": 0.05}])
    assert collect(results).loc[0, "search"] == {"sampler": "random", "startup": 10, "pruner": "median", "paired": True}
    assert "search: random, median pruner; paired" in render(collect(results), "markdown")
