"""`bench report`: the HTML page on synthetic studies, then on real smoke runs in headless Chromium."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

import benchbench.render.report
from benchbench.cli import app
from tests.synthetic import add_baselines, add_study, add_trial, write_log

runner = CliRunner()

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = Path(__file__).parents[1] / "artifacts" / "report.png"
PANELS = ("history", "curves", "importance", "parallel")
# Columns a leaderboard with a final evaluation over seeds adds; the report must work with or without them.
SEED_COLUMNS = ["test_mean", "test_std", "test_ci_low", "test_ci_high", "n_seeds", "p_value", "same_as_best"]


def report(results, *args):
    return runner.invoke(app, ["report", "--results", str(results), *map(str, args)])


def panel(page: str, element_id: str) -> str:
    """`figure` or `note`: what the panel or section with this id shows first."""
    found = re.search(rf'id="{re.escape(element_id)}"><h4>.*?</h4><(div class="figure"|p class="note")', page)
    assert found, f"no panel {element_id}"
    return "figure" if found.group(1).startswith("div") else "note"


def _params(i: int) -> dict[str, float]:
    return {"lr": 10 ** (-3 + 0.3 * i), "hidden_size": 16.0 + 30 * i, "dropout": 0.05 * i}


def _two_families(results):
    """adding/lstm with ten complete trials (the fewest importance is computed from) and a pruned one
    (with logs); adding/gru with one trial."""
    lstm = add_study(results, model="lstm")
    for i, value in enumerate((0.3, 0.2, 0.25, 0.4, 0.35, 0.22, 0.5, 0.45, 0.28, 0.33)):
        add_trial(lstm, _params(i % 7), value)  # inside the search space's ranges
        write_log(results, lstm, i, [0.5, 0.4, value])
    add_trial(lstm, _params(3), None, state=TrialState.PRUNED)
    write_log(results, lstm, 10, [0.9])
    gru = add_study(results, model="gru")
    add_trial(gru, _params(0), 0.22)
    return lstm, gru


def test_every_panel_is_drawn_or_says_why_not(results):
    _two_families(results)
    out = report(results)
    assert out.exit_code == 0, out.output
    path = results / "report.html"
    assert out.stdout.strip() == f"wrote {path}"
    page = path.read_text()
    for section in ("overview", "task-adding-default", "leaderboard-adding-default", "comparison-adding-default"):
        assert f'id="{section}"' in page, section
    assert panel(page, "comparison-adding-default") == "figure"
    # Ten complete trials with logs: everything is drawn.
    assert [panel(page, f"{p}-adding-lstm-default") for p in PANELS] == ["figure"] * 4
    assert "trial 10 (pruned)" in page  # a pruned trial's curve is drawn too
    # One trial and no logs: the history alone is drawn, the rest say why not.
    assert [panel(page, f"{p}-adding-gru-default") for p in PANELS] == ["figure", "note", "note", "note"]
    assert "1 complete trial(s): needs at least 2" in page and "no per-epoch logs" in page
    assert "importance withheld: study adding/gru/default has 1 complete trial(s), fewer than the 10" in page


def test_plotly_is_embedded_once_and_nothing_is_fetched(results):
    _two_families(results)
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    assert page.count("* plotly.js v") == 1  # the library's banner: one inline copy
    body = page.split("</head>", 1)[1]  # the library itself names its CDN; the page must not use it
    assert "<script src" not in body and "cdn.plot.ly" not in body
    # comparison + lstm's four + gru's history, and across families: gru against lstm, fANOVA, lr/hidden size
    assert page.count('class="plotly-graph-div lazy"') == page.count('data-figure="fig-') == 6 + 3
    # each figure is its data alone: the template is in the page once, not in every figure
    assert body.count('"template"') == 0 and page.count("const BENCH_TEMPLATE=") == 1
    # the page opens as its contents: one collapsed section per task, links that open them
    assert page.count('<details class="task"') == 1 and '<details class="task" open' not in page
    # parallel coordinates label log axes with 3 significant digits, not Optuna's 16
    parallel = [json.loads(p) for p in re.findall(r'data-figure="fig-parallel[^"]*">(.*?)</script>', page)]
    ticks = [a["text"] for spec in parallel for a in spec["layout"].get("annotations", []) if a["text"][:1].isdigit()]
    assert parallel and ticks and all(len(t) <= 7 for t in ticks), ticks


def test_a_best_row_that_loses_to_the_naive_baseline_is_not_green(results):
    add_baselines(results, {"constant[value=1]": (0.1, 0.1)})
    for model, value in (("lstm", 0.2), ("gru", 0.3)):
        study = add_study(results, model=model)
        add_trial(study, {"lr": 0.01}, value, test=value)
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    assert '<tr class="best">' not in page
    first = re.findall(r'<tr class="below">(.*?)</tr>', page)
    assert len(first) == 2 and "<td>1</td>" in first[0]


def test_the_best_row_is_highlighted(results):
    _two_families(results)
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    best = re.findall(r'<tr class="best">(.*?)</tr>', page)
    assert len(best) == 1 and "<td>1</td>" in best[0]
    assert 'class="naive"' not in page and 'class="below"' not in page  # no naive baseline stored


def test_naive_baselines_are_rows_and_a_family_below_them_is_marked(results):
    _two_families(results)  # tests: lstm 0.22, gru 0.242
    add_baselines(results, {"constant[value=1]": (0.2, 0.23), "train-mean": (0.3, 0.4)})
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    naive = re.findall(r'<tr class="naive">(.*?)</tr>', page)
    assert len(naive) == 2 and "constant[value=1] (naive)" in naive[0] and "train-mean (naive)" in naive[1]
    below = re.findall(r'<tr class="below">(.*?)</tr>', page)
    assert len(below) == 1 and "gru" in below[0]  # 0.242 does not beat 0.23; lstm's 0.22 does
    assert "naive: constant[value=1]" in page  # the dashed line on the comparison figure


def _without_seed_columns(collect):
    """The leaderboard as it was before the final evaluation over seeds existed."""
    return lambda results, **kw: collect(results, **kw).drop(columns=SEED_COLUMNS, errors="ignore")


def test_intervals_are_the_leaderboards_and_stale_evaluations_draw_none(results):
    """Error bars come from the leaderboard's rows: seeds of the selected configuration only. An
    evaluation of an earlier best (source_trial 0, while the best is now trial 1) draws no interval."""
    from benchbench.analysis.leaderboard import collect

    _two_families(results)
    evals = add_study(results, model="lstm", kind="eval")
    for seed, test in enumerate((0.20, 0.22, 0.24)):
        add_trial(evals, _params(0), test, test=test, rank=1, source_trial=0, seed=100 + seed)  # stale
    out = report(results)
    assert out.exit_code == 0, out.output
    page = (results / "report.html").read_text()
    lstm = collect(results).set_index("model").loc["lstm"]
    assert lstm["n_seeds"] == 1 and pd.isna(lstm["test_ci_low"])  # the leaderboard rejects them
    lone = re.search(r"no interval for ([^:]*):", page).group(1).split(", ")
    assert "lstm: 3 seeds" not in page and sorted(lone) == ["gru", "lstm"]

    for seed, test in enumerate((0.20, 0.22, 0.24)):  # now the best configuration's own seeds
        add_trial(evals, _params(1), test, test=test, rank=1, source_trial=1, seed=200 + seed)
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    lstm = collect(results).set_index("model").loc["lstm"]
    assert "lstm: 3 seeds" in page and "no interval for gru" in page
    low, high = re.search(r'"arrayminus":\[([^,\]]+)', page), re.search(r'"array":\[([^,\]]+)', page)
    assert float(low.group(1)) == pytest.approx(lstm["test_mean"] - lstm["test_ci_low"])
    assert float(high.group(1)) == pytest.approx(lstm["test_ci_high"] - lstm["test_mean"])


def test_seed_columns_are_shown_and_drive_the_intervals(results, monkeypatch):
    from benchbench.analysis.leaderboard import leaderboard

    def with_seeds(results):
        frame = leaderboard(results).drop(columns=SEED_COLUMNS, errors="ignore")
        seeds = pd.DataFrame(
            {
                "test_mean": [0.21, 0.25], "test_std": [0.01, 0.02], "test_ci_low": [0.19, 0.2],
                "test_ci_high": [0.23, 0.3], "n_seeds": [5, 5], "p_value": [None, 0.03], "same_as_best": [True, False],
            },
            index=frame.index,
        )  # fmt: skip
        return pd.concat([frame, seeds], axis=1)

    monkeypatch.setattr(benchbench.render.report, "leaderboard", with_seeds)
    _two_families(results)
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    assert "(mean ± sd)" in page and "[0.19, 0.23]" in page and "0.21 ± 0.01" in page
    assert ">p=0.03</td>" in page  # vs best, as the leaderboard says it
    assert "lstm: 5 seeds" in page and "gru: 5 seeds" in page and "no interval" not in page


def test_no_results_is_one_line_and_keeps_the_old_report(results, tmp_path):
    out_file = tmp_path / "report.html"
    out_file.write_text("the previous report")
    out = report(results, "--out", out_file)
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and "run `bench run" in out.stderr
    assert out_file.read_text() == "the previous report"
    assert not results.exists()


def test_an_unwritable_destination_is_one_line(results, tmp_path):
    _two_families(results)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = report(results, "--out", blocker / "report.html")
    assert out.exit_code == 2
    assert out.stderr.startswith("error: cannot write the report") and out.stderr.count("\n") == 1
    assert blocker.read_text() == "not a folder"


def test_help():
    out = runner.invoke(app, ["report", "--help"])
    assert out.exit_code == 0 and "--out" in out.stdout and "offline" in out.stdout


# --- a real results folder in a real browser ---------------------------------------------------------


@pytest.fixture(scope="session")
def smoke_report(tmp_path_factory) -> Path:
    """Two real smoke sweeps of the adding task (lstm, gru; seconds each), and their report."""
    results = tmp_path_factory.mktemp("report") / "results"
    for model in ("lstm", "gru"):
        args = ["run", "--task", "adding", "--model", model, "--budget", "smoke", "--results", str(results)]
        out = runner.invoke(app, args)
        assert out.exit_code == 0, out.output
    out = report(results)
    assert out.exit_code == 0, out.output
    return results / "report.html"


def test_report_renders_in_chromium(smoke_report):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/run, or apt-get install chromium, for the report's browser test")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    fetched: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))

            def offline(route):  # the report must need nothing but itself
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    fetched.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(smoke_report.as_uri(), wait_until="load")
            figures = page.locator(".plotly-graph-div").count()
            assert page.locator("details.task .js-plotly-plot").count() == 0  # a closed section draws nothing yet
            page.click("#expand-all")
            for i in range(figures):  # each figure draws as it comes near the screen
                page.locator(".plotly-graph-div").nth(i).scroll_into_view_if_needed()
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}", timeout=30_000
            )
            for section in ("overview", "task-adding-smoke", "leaderboard-adding-smoke", "comparison-adding-smoke"):
                assert page.locator(f"#{section}").count() == 1, section
            for model in ("lstm", "gru"):
                assert page.locator(f"#study-adding-{model}-smoke").count() == 1, model
                for kind in PANELS:  # two smoke trials each: every panel but importance (withheld) is a figure
                    drawn = 0 if kind == "importance" else 1
                    assert page.locator(f"#{kind}-adding-{model}-smoke .js-plotly-plot").count() == drawn, (kind, model)
            assert "importance withheld" in page.content()
            assert figures == 1 + 2 * (len(PANELS) - 1) + 2  # + across families: against lstm, lr/hidden size
            plots = page.locator(".js-plotly-plot")
            assert plots.count() == figures
            for i in range(figures):
                assert plots.nth(i).locator(".main-svg").count() >= 1, f"figure {i} did not render"
            # the first row: green where it clears the naive baseline, red where it does not (2 smoke epochs)
            assert page.locator("#leaderboard-adding-smoke tr.best, #leaderboard-adding-smoke tr.below").count() >= 1
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
    assert not fetched, fetched
    print(f"screenshot: {SCREENSHOT}")


def test_the_report_is_written_whole(smoke_report):
    assert smoke_report.stat().st_size > 1_000_000  # plotly.js inline
    assert smoke_report.read_text().rstrip().endswith("</html>")
    assert not list(smoke_report.parent.glob(".report.html.*"))  # no temporary file left behind


def test_curves_come_from_the_storage_without_any_log(results):
    """Intermediate values (what the pruner saw each epoch) draw the curves, so a study filled by
    workers on other machines, whose logs are not here, still has them."""
    import optuna

    from tests.synthetic import SPACE

    lstm = add_study(results, model="lstm")
    for i, value in enumerate((0.3, 0.2)):
        lstm.add_trial(
            optuna.trial.create_trial(
                params=_params(i), distributions={n: SPACE[n] for n in _params(i)}, value=value,
                intermediate_values={0: 0.5, 1: 0.4, 2: value}, user_attrs={"test": value, "seed": i},
            )
        )  # fmt: skip
    assert report(results).exit_code == 0
    page = (results / "report.html").read_text()
    assert panel(page, "curves-adding-lstm-default") == "figure"
    assert not (results / "logs").exists()
