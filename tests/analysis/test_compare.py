"""`bench compare` and benchbench.compare on synthetic studies whose answer is known, and the report's
sections across families in headless Chromium."""

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.analysis.leaderboard import COLUMNS
from benchbench.analysis.compare import BETTER, SAME, TOO_FEW_SEEDS, TOO_FEW_TASKS, WORSE, analyse, compare
from benchbench.stats import paired
from tests.synthetic import add_study, add_trial
from tests.synthetic import seeds, study
from tests.render.test_report import CHROMIUM, CHROMIUM_ARGS

runner = CliRunner()
FAMILIES = ("gru", "lstm", "peephole", "rnn")


def bench(*args, env=None):
    return runner.invoke(app, ["compare", *map(str, args)], env=env)


def write(results, table, *, budget="smoke", metric="mse"):
    """One search study (one trial) and one eval study per task x family: `table` maps task -> family ->
    the test values of the evaluation seeds (seeds 1000, 1001, ... for every family: paired)."""
    for task, families in table.items():
        for model, tests in families.items():
            mean = sum(tests) / len(tests)
            study(results, task=task, model=model, budget=budget, metric=metric, trials=[{"value": mean, "test": mean}])
            study(results, task=task, model=model, budget=budget, metric=metric, kind="eval", trials=seeds(tests))


def spread(value, *, n=3, step=0.01):
    return [value + step * (i - (n - 1) / 2) for i in range(n)]


def ordered(tasks=5):
    """gru best on every task, then lstm, peephole, rnn."""
    return {f"t{t}": {m: spread(1.0 + 0.5 * i + 0.1 * t) for i, m in enumerate(FAMILIES)} for t in range(tasks)}


# --- the library -----------------------------------------------------------------------------------


def test_a_family_best_on_every_task_ranks_first_with_a_small_friedman_p(results):
    write(results, ordered(5))
    found = compare(results)
    ranks = found.ranks.set_index("model")["avg_rank"]
    assert list(ranks.index) == list(FAMILIES) and ranks["gru"] == 1.0 and ranks["rnn"] == 4.0
    test = found.tests.iloc[0]
    assert test["n_tasks"] == 5 and test["n_families"] == 4 and test["friedman_p"] < 0.01
    assert test["critical_difference"] == pytest.approx(2.569 * (4 * 5 / 30) ** 0.5, rel=1e-3)  # Demšar's q(0.05, 4)
    gru_rnn = found.pairwise[(found.pairwise["model"] == "gru") & (found.pairwise["versus"] == "rnn")].iloc[0]
    assert gru_rnn["wins"] == 5 and gru_rnn["beyond_cd"] and gru_rnn["p_nemenyi"] < 0.05
    # five tasks: Wilcoxon's smallest p is 2/32 = 0.0625 (x 6 pairs under Holm), so no pairwise p is
    # given and one line says why, and how many tasks it would need: 6 x 2/2^n < 0.05 from n = 8
    assert gru_rnn["p_wilcoxon"] is None and gru_rnn["verdict"] == TOO_FEW_TASKS
    assert test["wilcoxon_note"] == (
        "pairwise Wilcoxon withheld: over 5 tasks its smallest p is 0.062, and Holm over the 6 pairs makes it "
        "at least 0.38 ≥ 0.05 even when every task agrees; it needs 8 or more tasks"
    )
    # every task in the same order: the omnibus tests reject, Iman–Davenport's F is infinite
    assert test["iman_davenport_p"] == 0.0 and pd.isna(test["posthoc_note"])


def test_wilcoxon_with_holm_on_enough_tasks(results):
    write(results, ordered(8))
    pairs = compare(results).pairwise.set_index(["model", "versus"])
    first = pairs.loc[("gru", "rnn")]
    # exact: every difference of one sign is 2 of the 2^8 sign patterns; Holm over six pairs all at the floor
    assert first["p_wilcoxon"] == pytest.approx(2 / 2**8) and first["p_wilcoxon_holm"] == pytest.approx(6 * 2 / 2**8)
    assert first["verdict"] == BETTER and set(pairs["verdict"]) == {BETTER}


def test_seven_tasks_fourteen_families_withhold_the_pairwise_rows(results):
    """91 pairs over 7 tasks: the smallest Wilcoxon p, 2/128, times 91 under Holm is above 1: no pair
    can be significant, so none is tested, and the line says 12 tasks would be needed."""
    from benchbench.analysis.compare import _tasks_needed, _wilcoxon_floor

    assert _wilcoxon_floor(7, 91) == 1.0 and _tasks_needed(91) == 12 and _tasks_needed(1) == 6
    assert _wilcoxon_floor(12, 91) < 0.05 <= _wilcoxon_floor(11, 91)
    families = [f"f{i:02d}" for i in range(14)]
    frame = pd.DataFrame([
        {"task": f"t{t}", "budget": "smoke", "kind": "model", "model": f, "direction": "minimize",
         "test_mean": 1.0 + i + 0.1 * t, "n_seeds": 3}
        for t in range(7) for i, f in enumerate(families)
    ])  # fmt: skip
    found = analyse(frame)
    assert len(found.pairwise) == 91 and found.pairwise["p_wilcoxon"].isna().all()
    assert "it needs 12 or more tasks" in found.tests.iloc[0]["wilcoxon_note"]


def test_no_nemenyi_when_the_omnibus_test_does_not_reject(results):
    """Ranks over 5 tasks of 3 families: a 1,1,1,1,2; b 2,2,3,3,1; c 3,3,2,2,3 (rank sums 6, 11, 13).
    Friedman χ² = 12/(5·3·4) · (36 + 121 + 169) - 3·5·4 = 5.2, p = exp(-2.6) = 0.074; Iman–Davenport
    F = 4 · 5.2 / (10 - 5.2) = 4.33 on (2, 8) degrees of freedom, p = 0.053: no post-hoc test."""
    import math

    orders = [("a", "b", "c"), ("a", "b", "c"), ("a", "c", "b"), ("a", "c", "b"), ("b", "a", "c")]
    write(results, {f"t{t}": {m: spread(1.0 + order.index(m)) for m in "abc"} for t, order in enumerate(orders)})
    found = compare(results)
    test = found.tests.iloc[0]
    assert test["friedman_statistic"] == pytest.approx(5.2) and test["friedman_p"] == pytest.approx(math.exp(-2.6))
    assert test["iman_davenport_statistic"] == pytest.approx(4 * 5.2 / 4.8)
    assert 0.05 < test["iman_davenport_p"] < 0.06
    assert pd.isna(test["critical_difference"]) and found.pairwise["p_nemenyi"].isna().all()
    assert found.pairwise["beyond_cd"].isna().all()
    assert test["posthoc_note"].startswith("no post-hoc test: Iman–Davenport p=0.053 ≥ 0.05")
    out = bench("--results", results, env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "no post-hoc test" in out.stdout and "Nemenyi critical difference" not in out.stdout
    assert ">CD" not in out.stdout and "pairwise · budget" not in out.stdout  # no test to show: no table


def test_wilcoxon_method_is_fixed():
    """Exact where no difference is zero or tied (the p of every sign pattern, as by hand); the normal
    approximation, named, otherwise: the same p whatever scipy's default method is."""
    from benchbench.analysis.compare import _wilcoxon

    # 6 differences, one negative of rank 1: T- = 1; P(T- <= 1) = 2/64 patterns, two-sided 4/64
    assert _wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5, -0.05]) == pytest.approx(4 / 64)
    assert _wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) == pytest.approx(2 / 64)
    from scipy import stats

    tied = [0.1, 0.1, 0.3, -0.2, 0.5, 0.0]
    assert _wilcoxon(tied) == pytest.approx(stats.wilcoxon(tied, zero_method="zsplit", method="approx").pvalue)


def test_a_maximised_metric_ranks_in_its_own_direction(results):
    table = ordered(3)
    write(results, {t: v for t, v in table.items() if t != "t2"})
    write(results, {"acc": {m: spread(90.0 - 5 * i) for i, m in enumerate(FAMILIES)}}, metric="accuracy")
    found = compare(results)
    assert found.ranks.iloc[0]["model"] == "gru" and found.ranks.iloc[0]["task_ranks"]["acc"] == 1.0


def test_identical_families_differ_in_nothing(results):
    write(results, {f"t{t}": {m: spread(1.0 + t) for m in FAMILIES} for t in range(8)})
    found = compare(results, against="lstm")
    test = found.tests.iloc[0]
    assert test["friedman_p"] == 1.0 and set(found.ranks["avg_rank"]) == {2.5}
    assert set(found.pairwise["verdict"]) == {SAME} and set(found.pairwise["p_wilcoxon"]) == {1.0}
    assert set(found.against["verdict"]) == {SAME} and set(found.against["test"]) == {"paired t"}
    assert set(found.against["diff"]) == {0.0}


def test_a_family_missing_on_one_task_is_left_out_with_its_reason(results):
    table = ordered(5)
    del table["t3"]["rnn"]
    write(results, table)
    found = compare(results)
    assert "rnn" not in set(found.ranks["model"]) and found.tests.iloc[0]["n_tasks"] == 5
    left = found.left_out.iloc[0]
    assert (left["kind"], left["name"]) == ("family", "rnn")
    assert left["reason"].startswith("no result on t3") and "bench run --task t3 --model rnn --budget smoke" in left["reason"]


def test_a_task_few_families_ran_is_left_out(results):
    table = ordered(4)
    write(results, table)
    write(results, {"extra": {"gru": spread(1.0)}})
    found = compare(results)
    assert found.tests.iloc[0]["n_tasks"] == 4 and len(found.ranks) == 4
    assert found.left_out.iloc[0]["name"] == "extra" and "only gru of the 4 families has a result" in found.left_out.iloc[0]["reason"]


def test_against_a_variant_worse_on_every_seed_is_worse_after_holm(results):
    ref = [1.0, 1.2, 0.9, 1.1, 1.05]
    table = {
        f"t{t}": {"peephole": ref, "lstm-nfg": [v + 0.5 + 0.01 * i for i, v in enumerate(ref)], "lstm-np": ref[::-1]}
        for t in range(3)
    }
    write(results, table)
    found = compare(results, against="peephole")
    rows = found.against.set_index(["task", "model"])
    worse = rows.xs("lstm-nfg", level="model")
    assert set(worse["verdict"]) == {WORSE} and (worse["p_holm"] < 0.05).all()
    assert (worse["diff"] > 0.5).all() and (worse["diff_pct"] > 40).all()
    assert set(worse["test"]) == {"paired t"} and set(worse["n_paired"]) == {5}
    assert (worse["p_holm"] >= worse["p_value"]).all()  # Holm over the six comparisons
    same = rows.xs("lstm-np", level="model")
    assert set(same["verdict"]) == {SAME}  # the same values, other seeds: paired differences cancel nowhere


def test_against_without_seeds_says_so(results):
    for model, value in (("peephole", 1.0), ("gru", 0.5)):
        study(results, task="t0", model=model, trials=[{"value": value, "test": value}])
    found = compare(results, against="peephole")
    row = found.against.iloc[0]
    assert row["verdict"] == TOO_FEW_SEEDS and row["p_value"] is None and row["test"] is None
    assert row["diff"] == -0.5 and row["diff_pct"] == -50.0


def test_analyse_and_paired_on_plain_values():
    assert paired([1, 2, 3], [1, 2, 3]) == 1.0 and paired([2, 3, 4], [1, 2, 3]) == 0.0 and paired([1], [2]) is None
    assert 0 < paired([1.0, 2.1, 2.9], [1.2, 1.9, 3.3]) < 1
    empty = analyse(pd.DataFrame(columns=COLUMNS))
    assert empty.tests.empty and empty.ranks.empty


# --- the command -----------------------------------------------------------------------------------


def test_two_tasks_print_the_too_few_tasks_line_and_no_p_value(results):
    write(results, ordered(2))
    out = bench("--results", results)
    assert out.exit_code == 0, out.output
    assert "too few tasks (2) for a test across tasks to mean anything" in out.stdout
    assert "p=" not in out.stdout and "Friedman χ²" not in out.stdout and "pairwise" not in out.stdout


def test_table_across_tasks_at_80_columns(results):
    table = ordered(5)
    table["t1"]["lstm-niaf"] = spread(9.0)  # the longest family name, and missing elsewhere
    write(results, table)
    out = bench("--results", results, env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    assert max(map(len, out.stdout.splitlines())) <= 80
    assert "Friedman χ²" in out.stdout and "Nemenyi critical difference" in out.stdout
    for name in FAMILIES:
        assert re.search(rf"^ ?{name} ", out.stdout, re.M), name  # rows start with the whole name
    assert "left out: family lstm-niaf: no result on t0, t2, t3, t4" in out.stdout.replace("\n", " ")


def test_against_table_json_csv_and_markdown(results):
    ref = [1.0, 1.2, 0.9]
    write(results, {f"t{t}": {"peephole": ref, "lstm-noaf": [v + 1 for v in ref]} for t in range(3)})
    table = bench("--results", results, "--against", "peephole", env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    assert "against peephole" in table.stdout and "lstm-noaf" in table.stdout and "worse" in table.stdout
    assert max(map(len, table.stdout.splitlines())) <= 80
    data = json.loads(bench("--results", results, "--against", "peephole", "--format", "json").stdout)
    assert data["view"] == "against" and data["reference"] == "peephole"
    assert set(data) == {"view", "reference", "alpha", "tests", "ranks", "pairwise", "against", "left_out"}
    assert [r["verdict"] for r in data["against"]] == [WORSE] * 3
    csv = bench("--results", results, "--against", "peephole", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("budget,task,model,reference") and len(csv) == 4
    markdown = bench("--results", results, "--against", "peephole", "--format", "markdown").stdout
    assert "### Against peephole · budget smoke" in markdown and "| t0 | MSE ↓ | lstm-noaf |" in markdown
    across = bench("--results", results, "--model", "lstm-noaf,peephole", "--format", "csv").stdout.splitlines()
    assert across[0].startswith("budget,model,versus") and across[1].startswith("smoke,peephole,lstm-noaf")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--against", "nope"], "unknown model 'nope'; choose one of:"),
        (["--against", "gru"], "no results of gru to compare with; families with results: lstm, peephole, rnn"),
        (["--format", "xml"], "unknown format 'xml'; choose one of: table, csv, markdown, json"),
        (["--budget", "paper"], "no results at budget 'paper'; budgets with results: smoke"),
        (["--model", "lstm gru"], "--model takes names separated by commas"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(results, args, message):
    write(results, {"t0": {m: spread(1.0) for m in ("lstm", "peephole", "rnn")}})
    out = bench("--results", results, *args)
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def test_no_results(results):
    out = bench("--results", results, "--format", "json")  # as every reader: one line, exit code 2
    assert out.exit_code == 2 and out.stdout == "" and out.stderr.startswith(f"error: no results in {results}; ")


def test_help():
    out = runner.invoke(app, ["compare", "--help"])
    assert out.exit_code == 0 and "--against" in out.stdout and "Friedman" in out.stdout


# --- the report ------------------------------------------------------------------------------------


def _report_studies(results):
    """Four families x three tasks at budget default: three search trials each (learning rate and
    hidden size varied) and three evaluation seeds of the best; lstm-nfg worse than peephole everywhere."""
    for t, task in enumerate(("adding", "copy", "sum")):
        for i, model in enumerate(("gru", "lstm", "peephole", "lstm-nfg")):
            search = add_study(results, task=task, model=model)
            base = 0.2 + 0.1 * i + 0.05 * t
            for n in range(10):  # fANOVA needs MIN_TRIALS complete trials
                params = {"lr": 10 ** (-3 + 0.2 * n), "hidden_size": 32.0 + 16 * n, "dropout": 0.03 * n}
                add_trial(search, params, base + 0.05 * (n % 3) * (1 + i) + 0.001 * n, test=base + 0.05 * (n % 3) * (1 + i))
            evals = add_study(results, task=task, model=model, kind="eval")
            for s in range(3):
                add_trial(evals, {"lr": 1e-3}, base, test=base + 0.001 * s, rank=1, source_trial=0, seed=10000 + s)


def test_report_draws_the_sections_across_families_in_chromium(results, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/run, or apt-get install chromium, for the report's browser test")
    from playwright.sync_api import sync_playwright

    _report_studies(results)
    out = runner.invoke(app, ["report", "--results", str(results)])
    assert out.exit_code == 0, out.output
    html = (results / "report.html").read_text()
    assert "reference: peephole, chosen by default" in html
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.goto((results / "report.html").as_uri(), wait_until="load")
            figures = page.locator(".plotly-graph-div").count()
            page.click("#expand-all")  # task sections start closed; each figure draws as it nears the screen
            for i in range(figures):
                page.locator(".plotly-graph-div").nth(i).scroll_into_view_if_needed()
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}", timeout=30_000
            )
            section = page.locator("#families-default")
            assert section.count() == 1
            assert page.locator("#contents a[href='#families-default']").count() == 1
            assert section.locator("#cd-default .cd-diagram svg").count() == 1  # matplotlib's SVG, inline
            assert "Friedman χ²" in section.locator("#cd-default").inner_text()
            for kind in ("against", "fanova", "hyperparams"):
                assert section.locator(f"#{kind}-default .js-plotly-plot .main-svg").count() >= 1, kind
            heat = section.locator("#against-default").inner_text()
            assert "worse" in heat and "lstm-nfg" in heat  # worse on every seed of every task
            assert "adding · lstm-nfg" in section.locator("#fanova-default").inner_text()
            assert "learning rate" in section.locator("#hyperparams-default").inner_text()
            section.screenshot(path=str(tmp_path / "families.png"))
        finally:
            browser.close()
    assert not problems, problems


def test_report_sections_say_why_not_when_they_cannot_be_drawn(results):
    for model in ("gru", "rnn"):  # two families, one trial each, no reference family
        add_trial(add_study(results, model=model), {"lr": 1e-3}, 0.3)
    out = runner.invoke(app, ["report", "--results", str(results)])
    assert out.exit_code == 0, out.output
    html = (results / "report.html").read_text()
    assert 'id="families-default"' in html
    assert "no peephole or lstm results: no reference family to compare with" in html
    assert "too few tasks (1) for a test across tasks" in html
    assert "importance withheld: no study has 10 complete trials" in html


def test_against_states_the_detectable_difference(results):
    """peephole's seeds 1.0, 1.2, 0.9 (sd 0.1528, mean 1.0333); lstm's 1.1, 1.0, 1.05 (sd 0.05; no
    significant difference). Three seeds a side, df 4: per task δ = λ · sd · √(2/3) with λ = 3.761
    (the noncentrality at which a 5% two-sided t-test rejects 80% of the time; tests/test_stats.py
    checks it by integration), so 3.761 · 0.1528 · 0.8165 / 1.0333 = 45.4% of peephole's mean; for
    the pair, δ = λ · √(0.1528²/3 + 0.05²/3) = 0.350, 33.9%."""
    ref = [1.0, 1.2, 0.9]
    write(results, {"t0": {"peephole": ref, "lstm": [1.1, 1.0, 1.05]}})
    row = compare(results, against="peephole").against.iloc[0]
    sd = (sum((v - 31 / 30) ** 2 for v in ref) / 2) ** 0.5
    assert row["verdict"] == SAME
    assert row["task_detectable_pct"] == pytest.approx(3.761 * sd * (2 / 3) ** 0.5 / (31 / 30) * 100, rel=1e-3)
    assert row["detectable_pct"] == pytest.approx(3.761 * (sd**2 / 3 + 0.05**2 / 3) ** 0.5 / (31 / 30) * 100, rel=1e-3)
    out = bench("--results", results, "--against", "peephole", env={"COLUMNS": "200"})
    assert "detectable at 80% power: ±45%" in out.stdout
    markdown = bench("--results", results, "--against", "peephole", "--format", "markdown").stdout
    assert "detectable (80% power)" in markdown and "±34%" in markdown
