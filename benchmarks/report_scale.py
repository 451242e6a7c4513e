"""How the HTML report grows with the number of studies: its size and build time for N synthetic
search studies (tests/synthetic.py: written straight into a journal, no training), each with 20
search trials, a 3-seed final evaluation, learning-curve logs, and the naive baselines of its task.

    .venv/bin/python benchmarks/report_scale.py [--studies 115] [--keep DIR]

Prints the studies, the page's size in MB, its height in px when --chromium is given (headless
Chromium via playwright), and the build time (the median of --repeat builds).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import synthetic  # noqa: E402

TASKS = ["adding", "electricity", "exchange-rate", "moving-digits", "ptb", "ptb-char", "sentiment", "uci-pm25"]


def build_results(folder: Path, studies: int, *, seed: int = 0) -> None:
    from benchbench.metrics import METRICS
    from benchbench.models import MODELS
    from benchbench.tasks import load_task

    rng = random.Random(seed)
    families = MODELS.names()
    cells = [(t, f) for t in TASKS for f in families if not (load_task(t).causal and f == "bilstm")][:studies]
    for task in dict.fromkeys(t for t, _ in cells):
        metric = load_task(task).metric
        synthetic.add_baselines(folder, {"constant[value=1]": (1.0, 1.0), "train-mean": (0.9, 0.95)}, task=task, budget="smoke", metric=metric)
    for task, family in cells:
        metric = load_task(task).metric
        sign = 1 if METRICS.get(metric).direction == "minimize" else -1
        base = 0.5 + rng.random() * 0.4 if sign == 1 else 0.6 + rng.random() * 0.3
        study = synthetic.add_study(folder, task=task, model=family, budget="smoke", metric=metric, planned=20, top_k=1, eval_seeds=3)
        for n in range(20):
            params = {"lr": 10 ** rng.uniform(-4, -1), "hidden_size": rng.uniform(16, 256), "dropout": rng.uniform(0, 0.5)}
            value = base + sign * rng.random() * 0.2
            synthetic.add_trial(study, params, value)
            synthetic.write_log(folder, study, n, [value + sign * 0.1 * (5 - e) / 5 for e in range(5)])
        best = min(range(20), key=lambda i: sign * study.trials[i].value)
        evaluation = synthetic.add_study(folder, task=task, model=family, budget="smoke", metric=metric, kind="eval")
        for i in range(3):
            value = study.trials[best].value + rng.gauss(0, 0.01)
            synthetic.add_trial(evaluation, dict(study.trials[best].params), value, rank=1, source_trial=best, seed=10_000 + i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=115)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the results folder and report here")
    parser.add_argument("--chromium", action="store_true", help="also measure the page height and take a screenshot")
    parser.add_argument("--page", type=Path, help="only open this report in Chromium (no build)")
    args = parser.parse_args()
    if args.page is not None:
        _chromium(args.page, args.page.parent)
        return

    from benchbench.analysis.frame import read
    from benchbench.render.report import write_report
    from benchbench.store.storage import StorageSpec

    folder = args.keep or Path(tempfile.mkdtemp(prefix="report-scale-"))
    results = folder / "results"
    if not (results / "studies.journal").exists():
        start = time.perf_counter()
        build_results(results, args.studies)
        print(f"wrote {args.studies} synthetic studies in {time.perf_counter() - start:.1f}s")
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        page = write_report(read(StorageSpec(results)), results / "report.html")
        times.append(time.perf_counter() - start)
    size = page.stat().st_size
    print(f"studies {args.studies}: report {size / 1e6:.2f} MB, build {statistics.median(times):.1f}s (median of {len(times)})")
    if args.chromium:
        _chromium(page, folder)


def _chromium(page: Path, folder: Path) -> None:
    """Open the report in headless Chromium: time to the load event, page height, a screenshot of the top."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        view = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        view.goto(page.as_uri(), wait_until="load", timeout=600_000)
        loaded = time.perf_counter() - start
        height = view.evaluate("document.documentElement.scrollHeight")
        drawn = view.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        shot = folder / f"{page.stem}-top.png"
        view.screenshot(path=str(shot))
        print(f"chromium: load event after {loaded:.1f}s, page height {height} px, {drawn} figures drawn, screenshot {shot}")
        browser.close()

if __name__ == "__main__":
    main()
