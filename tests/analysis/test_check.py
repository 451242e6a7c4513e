"""`bench baseline save` and `bench check` through the CLI, on synthetic results (no training)."""

import json

import pytest
from typer.testing import CliRunner

from benchbench import __version__
from benchbench.analysis.check import FORMAT, parse_tolerance
from benchbench.cli import app
from benchbench.errors import BenchError

from tests.synthetic import seeds, study

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
    assert document["format"] == FORMAT and document["version"] == 1
    assert document["provenance"]["benchbench"] == __version__ and document["provenance"]["created"]
    cells = _cells(path)
    assert set(cells) == {("adding", "lstm", "smoke"), ("adding", "gru", "smoke"), ("sentiment", "lstm", "smoke")}
    lstm = cells["adding", "lstm", "smoke"]
    assert list(lstm) == [
        "task", "budget", "model", "metric", "direction", "units", "value", "n_seeds", "tolerance",
        "kind", "ci_low", "ci_high", "wall_time",
    ]  # fmt: skip
    assert lstm["kind"] == "model" and lstm["ci_low"] < lstm["value"] < lstm["ci_high"]
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


def test_check_fails_naming_the_regression(saved, tmp_path):
    _, path = saved
    worse = make_results(tmp_path / "after", lstm=(0.018, 0.02, 0.022))  # mean 0.011 -> 0.02: +82%
    out = bench("check", "--baseline", path, "--results", worse)
    assert out.exit_code == 1, out.output
    last = out.stdout.strip().splitlines()[-1]
    assert last == "regressed: adding/lstm/smoke mse 0.011 -> 0.02 (+82%, tolerance 10%)"
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
        out.exit_code == 1 and "regressed: sentiment/lstm/smoke accuracy 81 -> 71 (-12%, tolerance 10%)" in out.stdout
    )
    higher = make_results(tmp_path / "higher", accuracy=(95.0, 96.0, 97.0))
    assert bench("check", "--baseline", path, "--results", higher).exit_code == 0


def test_tolerance_override_decides(saved, tmp_path):
    results, _ = saved
    strict, loose = tmp_path / "strict.json", tmp_path / "loose.json"
    bench("baseline", "save", "--results", results, "--out", strict, "--tolerance", "relative=0.01")
    bench("baseline", "save", "--results", results, "--out", loose, "--tolerance", "absolute=0.01")
    now = make_results(tmp_path / "after", lstm=(0.0115, 0.0115, 0.0115))  # +4.5%, +0.0005
    out = bench("check", "--baseline", strict, "--results", now)
    assert out.exit_code == 1 and "(+4.5%, tolerance 1%)" in out.stdout
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
