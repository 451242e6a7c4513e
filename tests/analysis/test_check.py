"""`bench baseline save` and `bench check` through the CLI, on synthetic results (no training)."""

import json

import pytest
from typer.testing import CliRunner

from benchbench import __version__
from benchbench.analysis.check import FORMAT, parse_tolerance
from benchbench.cli import app
from benchbench.errors import BenchError

from tests.synthetic import add_baselines, seeds, study

runner = CliRunner()


def bench(*args):
    return runner.invoke(app, [str(a) for a in args])


def make_results(
    folder, *, lstm=(0.010, 0.011, 0.012), gru=(0.020, 0.021, 0.022), accuracy=(80.0, 81.0, 82.0), **attrs
):
    """adding x lstm, gru (mse, minimised) and sentiment x lstm (accuracy, maximised), each evaluated
    with the given seeds' test values."""
    for model, tests in (("lstm", lstm), ("gru", gru)):
        if tests is None:
            continue
        study(folder, model=model, trials=[{"value": tests[0], "test": tests[0]}], **attrs)
        study(folder, model=model, kind="eval", trials=seeds(list(tests)), **attrs)
    study(folder, task="sentiment", model="lstm", metric="accuracy", trials=[{"value": 80.0, "test": 80.0}], **attrs)
    study(folder, task="sentiment", model="lstm", metric="accuracy", kind="eval", trials=seeds(list(accuracy)), **attrs)
    return folder


@pytest.fixture
def saved(tmp_path, monkeypatch):
    """Results and a baseline saved from them."""
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    results = make_results(tmp_path / "before")
    out = bench("baseline", "save", "--results", results)
    assert out.exit_code == 0, out.output
    return results, results / "baselines" / "baseline.json"


def _cells(path):
    return {(c["task"], c["model"], c["budget"]): c for c in json.loads(path.read_text())["cells"]}


def test_save_writes_every_cell(saved):
    _, path = saved
    document = json.loads(path.read_text())
    assert document["format"] == FORMAT and document["version"] == 2
    assert document["provenance"]["benchbench"] == __version__ and document["provenance"]["created"]
    cells = _cells(path)
    assert set(cells) == {("adding", "lstm", "smoke"), ("adding", "gru", "smoke"), ("sentiment", "lstm", "smoke")}
    lstm = cells["adding", "lstm", "smoke"]
    assert list(lstm) == [
        "task", "budget", "model", "metric", "direction", "units", "value", "n_seeds", "tolerance",
        "kind", "ci_low", "ci_high", "wall_time", "seeds", "ci_scale",
    ]  # fmt: skip
    assert lstm["kind"] == "model" and 0 < lstm["ci_low"] < lstm["value"] < lstm["ci_high"]
    assert lstm["seeds"] == pytest.approx([0.010, 0.011, 0.012]) and lstm["ci_scale"] == "log"  # MSE: log scale
    assert cells["sentiment", "lstm", "smoke"]["ci_scale"] == "linear"
    assert lstm["value"] == pytest.approx(0.011) and lstm["n_seeds"] == 3
    assert (lstm["metric"], lstm["direction"], lstm["tolerance"]) == ("mse", "minimize", {"relative": 0.1})
    assert cells["sentiment", "lstm", "smoke"]["direction"] == "maximize"


def test_save_filters_and_tolerance_override(saved, tmp_path):
    results, _ = saved
    out = tmp_path / "b.json"
    assert (
        bench(
            "baseline", "save", "--results", results, "--out", out, "--model", "gru", "--tolerance", "absolute=0.01"
        ).exit_code
        == 0
    )
    assert list(_cells(out)) == [("adding", "gru", "smoke")]
    assert _cells(out)["adding", "gru", "smoke"]["tolerance"] == {"absolute": 0.01}
    assert bench("baseline", "save", "--results", results, "--out", out, "--task", "sentiment").exit_code == 0
    assert list(_cells(out)) == [("sentiment", "lstm", "smoke")]


def test_save_reads_the_study_tolerance_and_falls_back_to_the_default(tmp_path):
    results = tmp_path / "r"
    study(results, model="lstm", tolerance={"absolute": 0.5}, trials=[{"value": 1.0, "test": 1.0}])
    study(results, model="gru", tolerance=None, trials=[{"value": 1.0, "test": 1.0}])  # an older study
    out = tmp_path / "b.json"
    assert bench("baseline", "save", "--results", results, "--out", out).exit_code == 0
    cells = _cells(out)
    assert cells["adding", "lstm", "smoke"]["tolerance"] == {"absolute": 0.5}
    assert cells["adding", "gru", "smoke"]["tolerance"] == {"relative": 0.1}
    assert cells["adding", "gru", "smoke"]["n_seeds"] == 1  # no eval study: the best search trial
    assert cells["adding", "gru", "smoke"]["seeds"] is None


def test_a_naive_cell_is_saved_as_strict_json(tmp_path):
    """A naive baseline has no interval: its scale is null, not NaN (which strict JSON readers refuse)."""
    results = tmp_path / "r"
    study(results, model="lstm", budget="default", trials=[{"value": 0.2, "test": 0.2}])
    add_baselines(results, {"constant[value=1]": (0.17, 0.18)})
    out = tmp_path / "b.json"
    assert bench("baseline", "save", "--results", results, "--out", out).exit_code == 0
    naive = json.loads(out.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in the baseline file"))
    (cell,) = [c for c in naive["cells"] if c["kind"] == "baseline"]
    assert cell["model"] == "constant[value=1]" and cell["ci_scale"] is None and cell["value"] == pytest.approx(0.18)


def test_update_replaces_the_rerun_cells_and_keeps_the_others_in_place(saved, tmp_path):
    """One family of a task rerun: its cell is replaced where it stood, the rest of the file is
    untouched, and a cell new to the file is added at the end."""
    _, path = saved
    before = _cells(path)
    rerun = tmp_path / "rerun"
    study(rerun, model="gru", trials=[{"value": 0.5, "test": 0.5}])
    study(rerun, model="gru", kind="eval", trials=seeds([0.5, 0.6, 0.7]))
    study(rerun, model="rnn", trials=[{"value": 0.9, "test": 0.9}])
    out = bench("baseline", "save", "--results", rerun, "--out", path, "--update")
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith(f"updated {path}: 2 cells")
    after = _cells(path)
    assert list(after) == [*before, ("adding", "rnn", "smoke")]
    assert after["adding", "gru", "smoke"]["seeds"] == pytest.approx([0.5, 0.6, 0.7])
    assert after["adding", "lstm", "smoke"] == before["adding", "lstm", "smoke"]
    assert after["sentiment", "lstm", "smoke"] == before["sentiment", "lstm", "smoke"]
    # without --update the file holds the rerun's cells only
    assert bench("baseline", "save", "--results", rerun, "--out", path).exit_code == 0
    assert list(_cells(path)) == [("adding", "gru", "smoke"), ("adding", "rnn", "smoke")]


def test_update_of_a_file_that_is_not_a_baseline_writes_nothing(saved, tmp_path):
    results, _ = saved
    path = tmp_path / "notes.json"
    path.write_text("[1, 2]")
    out = bench("baseline", "save", "--results", results, "--out", path, "--update")
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and "is not a benchbench-baseline file" in out.stderr
    assert path.read_text() == "[1, 2]"


@pytest.mark.parametrize("value", ["relative", "relative=", "relative=-1", "rel=0.1", "absolute=nan", "0.1"])
def test_save_refuses_a_malformed_tolerance(saved, value):
    results, path = saved
    before = path.read_bytes()
    out = bench("baseline", "save", "--results", results, "--tolerance", value)
    assert (
        out.exit_code == 2
        and out.stderr.count("\n") == 1
        and "--tolerance takes relative=R or absolute=A" in out.stderr
    )
    assert path.read_bytes() == before


def test_save_without_results(results):
    out = bench("baseline", "save", "--results", results)
    assert out.exit_code == 2 and "no results in" in out.stderr and not results.exists()


def test_parse_tolerance():
    assert parse_tolerance("relative=0.05") == {"relative": 0.05}
    assert parse_tolerance("absolute=0") == {"absolute": 0.0}
    with pytest.raises(BenchError):
        parse_tolerance("relative=abc")


def test_check_passes_on_the_same_results(saved):
    results, path = saved
    out = bench("check", "--baseline", path, "--results", results)
    assert out.exit_code == 0, out.output
    assert out.stdout.count(" ok ") >= 3 and "ok: 3 cells within tolerance" in out.stdout
    assert out.stdout.count("identical") == 3  # the same seeds bit for bit: passed at once


def test_check_fails_naming_the_regression(saved, tmp_path):
    _, path = saved
    worse = make_results(tmp_path / "after", lstm=(0.018, 0.02, 0.022))  # mean 0.011 -> 0.02: +82%
    out = bench("check", "--baseline", path, "--results", worse)
    assert out.exit_code == 1, out.output
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("regressed: adding/lstm/smoke mse 0.011 -> 0.02 (+82%, tolerance 10%, one-sided Welch Holm p=")
    assert "REGRESSED" in out.stdout and "gru" in out.stdout


def test_better_is_fine_and_within_tolerance_is_ok(saved, tmp_path):
    _, path = saved
    # lstm 0.011 -> 0.0121 is +10%, on the tolerance; gru 0.021 -> 0.01 is better.
    now = make_results(tmp_path / "after", lstm=(0.0121, 0.0121, 0.0121), gru=(0.009, 0.010, 0.011))
    out = bench("check", "--baseline", path, "--results", now)
    assert out.exit_code == 0, out.output
    assert "improved" in out.stdout and "REGRESSED" not in out.stdout


def test_direction_of_a_maximised_metric(saved, tmp_path):
    _, path = saved
    lower = make_results(tmp_path / "lower", accuracy=(70.0, 71.0, 72.0))  # 81 -> 71: worse for accuracy
    out = bench("check", "--baseline", path, "--results", lower)
    assert (
        out.exit_code == 1 and "regressed: sentiment/lstm/smoke accuracy 81 -> 71 (-12%, tolerance 10%, one-sided" in out.stdout
    )
    higher = make_results(tmp_path / "higher", accuracy=(95.0, 96.0, 97.0))
    assert bench("check", "--baseline", path, "--results", higher).exit_code == 0


def test_tolerance_override_decides(tmp_path):
    """A change the seeds show beyond doubt still passes within the tolerance, the practical margin."""
    results = make_results(tmp_path / "before", lstm=(0.01100, 0.01101, 0.01102))
    strict, loose = tmp_path / "strict.json", tmp_path / "loose.json"
    bench("baseline", "save", "--results", results, "--out", strict, "--tolerance", "relative=0.01")
    bench("baseline", "save", "--results", results, "--out", loose, "--tolerance", "absolute=0.01")
    now = make_results(tmp_path / "after", lstm=(0.01150, 0.01151, 0.01152))  # +4.5%, +0.0005
    out = bench("check", "--baseline", strict, "--results", now)
    assert out.exit_code == 1 and "(+4.5%, tolerance 1%, one-sided Welch" in out.stdout
    assert bench("check", "--baseline", loose, "--results", now).exit_code == 0


def _one_line_error(out, *needles):
    assert out.exit_code == 2, out.output
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")
    for needle in needles:
        assert needle in out.stderr
    assert "Traceback" not in out.output


def test_missing_baseline_file(saved, tmp_path):
    results, _ = saved
    _one_line_error(
        bench("check", "--baseline", tmp_path / "nope.json", "--results", results), "nope.json does not exist"
    )


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{not json", "is not valid JSON"),
        ("[]", "expected an object"),
        ('{"format": "other"}', "expected an object"),
        ('{"format": "benchbench-baseline", "version": 9, "cells": []}', "unsupported version 9"),
        ('{"format": "benchbench-baseline", "version": 1, "cells": []}', "non-empty list"),
        ('{"format": "benchbench-baseline", "version": 1, "cells": [{"task": "adding"}]}', "cells[0].budget must be"),
    ],
)
def test_malformed_baseline(saved, tmp_path, text, needle):
    results, _ = saved
    path = tmp_path / "bad.json"
    path.write_text(text)
    _one_line_error(bench("check", "--baseline", path, "--results", results), needle)


@pytest.mark.parametrize(
    "key, value, needle",
    [
        ("value", "0.1", "value must be a finite number"),
        ("value", None, "value must be a finite number"),
        ("direction", "up", "direction must be minimize or maximize"),
        ("tolerance", {"relative": -1}, "tolerance must be"),
        ("tolerance", {"fuzzy": 1}, "tolerance must be"),
        ("n_seeds", True, "n_seeds must be an integer"),
        ("seeds", [0.1, "x"], "seeds must be a list of finite numbers or null"),
        ("seeds", 0.1, "seeds must be a list of finite numbers or null"),
    ],
)
def test_wrong_cell_schema(saved, tmp_path, key, value, needle):
    results, path = saved
    document = json.loads(path.read_text())
    document["cells"][1][key] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    _one_line_error(bench("check", "--baseline", bad, "--results", results), f"cells[1].{needle}")


def test_a_cell_without_a_result_now_names_it(saved, tmp_path):
    _, path = saved
    now = make_results(tmp_path / "after", gru=None)
    out = bench("check", "--baseline", path, "--results", now)
    _one_line_error(out, "adding/gru/smoke")
    assert "missing" in out.stdout  # the table still shows every cell


def test_task_and_model_check_the_part_of_the_baseline_a_rerun_covers(saved, tmp_path):
    _, path = saved
    now = make_results(tmp_path / "after", gru=None, lstm=(0.018, 0.02, 0.022))  # adding/lstm regressed, gru not rerun
    out = bench("check", "--baseline", path, "--results", now, "--task", "sentiment")
    assert out.exit_code == 0, out.output
    assert "ok: 1 cells within tolerance" in out.stdout and "adding" not in out.stdout
    out = bench("check", "--baseline", path, "--results", now, "--task", "adding", "--model", "lstm")
    assert out.exit_code == 1 and out.stdout.strip().splitlines()[-1].startswith("regressed: adding/lstm/smoke")
    assert "gru" not in out.stdout  # not asked for, so not missing
    _one_line_error(bench("check", "--baseline", path, "--results", now, "--task", "adding"), "adding/gru/smoke")


@pytest.mark.parametrize(
    ("flag", "name", "needle"),
    [("--task", "adidng", "holds no cell of task 'adidng'; it holds: adding, sentiment"),
     ("--model", "mingru", "holds no cell of family 'mingru'; it holds: gru, lstm"),
     ("--task", "adding ptb", "--task takes names separated by commas")],
)  # fmt: skip
def test_a_name_the_baseline_does_not_hold_is_bad_input(saved, flag, name, needle):
    results, path = saved
    _one_line_error(bench("check", "--baseline", path, "--results", results, flag, name), needle)


def test_no_results_at_all(saved, tmp_path):
    _, path = saved
    _one_line_error(bench("check", "--baseline", path, "--results", tmp_path / "empty"), "no results in")


def test_a_changed_metric_is_bad_input(saved, tmp_path):
    _, path = saved
    document = json.loads(path.read_text())
    document["cells"][0]["metric"] = "rmse"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    results = saved[0]
    _one_line_error(bench("check", "--baseline", bad, "--results", results), "the baseline measures rmse")


def test_noise_within_the_seeds_spread_is_no_regression(saved, tmp_path):
    """Seeds as noisy as adding/gru's: the mean moves +45%, far beyond the tolerance, yet the one-sided
    test over 3 + 3 seeds does not say worse: ok, where the fixed tolerance cried wolf."""
    _, path = saved  # lstm 0.010, 0.011, 0.012
    noisy = make_results(tmp_path / "noisy-before", lstm=(0.004, 0.011, 0.025))
    noisy_path = tmp_path / "noisy.json"
    assert bench("baseline", "save", "--results", noisy, "--out", noisy_path).exit_code == 0
    rerun = make_results(tmp_path / "noisy-after", lstm=(0.006, 0.016, 0.036))  # mean 0.0133 -> 0.0193
    out = bench("check", "--baseline", noisy_path, "--results", rerun)
    assert out.exit_code == 0, out.output
    assert "+45%" in out.stdout and "REGRESSED" not in out.stdout and "checked by evidence" in out.stdout


def test_a_version_1_file_is_checked_by_the_tolerance_with_a_note(saved, tmp_path):
    results, path = saved
    document = json.loads(path.read_text())
    document["version"] = 1
    for raw in document["cells"]:
        del raw["seeds"], raw["ci_scale"]
    old = tmp_path / "v1.json"
    old.write_text(json.dumps(document))
    out = bench("check", "--baseline", old, "--results", results)
    assert out.exit_code == 0, out.output
    assert "is version 1 (no per-seed values): every cell checked by the fixed tolerance alone" in " ".join(out.stdout.split())
    assert "identical" not in out.stdout
    worse_now = make_results(tmp_path / "after", lstm=(0.0122, 0.0122, 0.0122))  # +11%: beyond 10%, old rule
    assert bench("check", "--baseline", old, "--results", worse_now).exit_code == 1


def test_false_alarms_and_detection_on_simulated_reruns():
    """Honest reruns (3 seeds against 3, lognormal, not bit-identical) of a baseline holding a cell with
    adding/lstm's spread (CV 16%) and one with adding/gru's (CV 72%), 200 of them: the check flags
    some cell in at most 5% (Holm across the two); the fixed tolerance flags ~50% of them. The lstm
    cell alone, over 1000 honest reruns (its rate is 3.8% in expectation: a one-sided 5% Welch test on
    lognormal seeds, 200,000 simulated; over 200 reruns the binomial noise alone is ±1.4%): at most 5%.
    The lstm cell made 2x worse: at least 80% caught."""
    import math

    import numpy as np

    from benchbench.analysis.check import REGRESSED, Cell, judge

    rng = np.random.default_rng(20)

    def draw(cv, factor=1.0):
        sigma = math.sqrt(math.log1p(cv**2))
        return [float(v) * factor for v in rng.lognormal(math.log(4e-4) - sigma**2 / 2, sigma, 3)]

    def cell(model, before):
        return Cell("adding", "default", model, "mse", "minimize", "", sum(before) / 3, 3, {"relative": 0.1}, seeds=before)

    alarms = lstm_alone = caught = old = 0
    for _ in range(200):
        lstm, gru = draw(0.158), draw(0.719)
        now = [draw(0.158), draw(0.719)]
        verdicts = judge([cell("lstm", lstm), cell("gru", gru)], now)
        alarms += any(v.status == REGRESSED for v in verdicts)
        old += any(sum(n) > 1.1 * sum(b) for b, n in zip((lstm, gru), now))
        (doubled,) = judge([cell("lstm", lstm)], [draw(0.158, factor=2.0)])
        caught += doubled.status == REGRESSED
    for _ in range(1000):
        (alone,) = judge([cell("lstm", draw(0.158))], [draw(0.158)])
        lstm_alone += alone.status == REGRESSED
    assert alarms / 200 <= 0.05 and old / 200 > 0.3
    assert lstm_alone / 1000 <= 0.05
    assert caught / 200 >= 0.80
