"""`bench baseline table`: a saved baseline as the README's Results table."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from benchbench.analysis.check import Cell, load_baseline
from benchbench.cli import app
from benchbench.render.results_table import results_table

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "results" / "baselines" / "default.json"


def _cell(model: str, value: float, *, kind: str = "model", ci=(None, None), task: str = "adding", seconds=None) -> Cell:
    return Cell(
        task=task, budget="default", model=model, metric="mse", direction="minimize", units="", value=value,
        n_seeds=3 if kind == "model" else 0, tolerance={"relative": 0.1}, kind=kind, ci_low=ci[0], ci_high=ci[1],
        wall_time=seconds,
    )  # fmt: skip


def test_families_are_columns_and_the_best_naive_baseline_is_named():
    text = results_table([
        _cell("lstm", 0.01, ci=(0.005, 0.015), seconds=60), _cell("gru", 0.02, ci=(0.01, 0.03), seconds=30),
        _cell("constant[value=1]", 0.17, kind="baseline"), _cell("train-mean", 0.16, kind="baseline"),
    ])  # fmt: skip
    header, _, row = text.splitlines()[:3]
    assert header == "| task | budget | metric | lstm | gru | best naive baseline | published | time |"
    assert "| 0.01 [0.005, 0.015] | 0.02 [0.01, 0.03] | 0.16 (train-mean) |" in row
    assert row.endswith("| 1.5 min |") and "MSE ↓" in row and "✗" not in row


def test_a_family_whose_interval_reaches_the_baseline_is_marked():
    row = results_table([_cell("lstm", 0.15, ci=(0.12, 0.18)), _cell("train-mean", 0.16, kind="baseline")]).splitlines()[2]
    assert "0.15 [0.12, 0.18] ✗" in row


def test_published_figures_come_from_the_task_spec_for_the_matching_variant():
    cells = [_cell("gru", 0.02, task="exchange-rate"), _cell("gru", 0.03, task="exchange-rate[horizon=6]")]
    rows = results_table(cells).splitlines()[2:4]
    assert "0.0192 (gru, Lai et al. 2018" in rows[0] and "0.0228 (AR" in rows[0] and "0.0264" not in rows[0]
    assert "0.0264 (gru" in rows[1] and "0.0192" not in rows[1]


def test_the_readme_results_table_is_the_committed_default_baseline():
    """The README's Results section is `bench baseline table` of results/baselines/default.json, so
    the figures it quotes are the ones `bench check` holds later runs to."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- results:start -->\n(.*?)<!-- results:end -->", readme, re.S)
    assert block is not None, "README.md has no <!-- results:start --> ... <!-- results:end --> block"
    out = CliRunner().invoke(app, ["baseline", "table", "--baseline", str(DEFAULT)])
    assert out.exit_code == 0, out.output
    assert block.group(1) == out.output
    cells = load_baseline(DEFAULT)
    assert {c.kind for c in cells} == {"model", "baseline"}
    assert json.loads(DEFAULT.read_text())["cells"]  # committed with figures, not empty


def test_bad_baseline_file_is_one_line_and_exit_2(tmp_path):
    out = CliRunner().invoke(app, ["baseline", "table", "--baseline", str(tmp_path / "missing.json")])
    assert out.exit_code == 2 and "does not exist" in out.output and "Traceback" not in out.output


def _greff_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("greff_readme", ROOT / "benchmarks" / "greff_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_greff_section_calls_a_variant_worse_only_when_its_seeds_are(tmp_path):
    """Synthetic seeds with a known answer: lstm-nfg 1.0 worse than peephole on every seed, the other
    variants peephole's values plus noise far below the seed-to-seed spread."""
    from benchbench.analysis.check import FORMAT, VERSION

    greff = _greff_module()
    base = [8.40, 8.45, 8.38, 8.50, 8.42]
    cells = []
    for i, family in enumerate(greff.FAMILIES):
        seeds = [v + (1.0 if family == "lstm-nfg" else 0.001 * ((i + k) % 3 - 1)) for k, v in enumerate(base)]
        mean = sum(seeds) / len(seeds)
        cells.append({"task": "jsb-chorales", "budget": "default", "model": family, "metric": "frame-nll",
                      "direction": "minimize", "units": "nats/frame", "value": mean, "n_seeds": 5,
                      "tolerance": {"relative": 0.1}, "kind": "model", "ci_low": mean - 0.1, "ci_high": mean + 0.1,
                      "wall_time": 60.0, "seeds": seeds})  # fmt: skip
    cells.append({"task": "jsb-chorales", "budget": "default", "model": "key-markov", "metric": "frame-nll",
                  "direction": "minimize", "units": "nats/frame", "value": 10.49, "n_seeds": 0,
                  "tolerance": {"relative": 0.1}, "kind": "baseline"})  # fmt: skip
    baseline = tmp_path / "greff.json"
    baseline.write_text(json.dumps({"format": FORMAT, "version": VERSION, "provenance": {}, "cells": cells}))
    importance = tmp_path / "importance.json"
    importance.write_text(json.dumps({"complete_trials": 30, "importances": {"family": 0.6, "lr": 0.4}, "command": "x"}))
    text = greff.section(baseline, importance)
    rows = {line.split(" | ")[0].strip("| ").split(":")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "| significantly worse | significantly worse |" in rows["NFG"]
    for name in ("CIFG", "NP", "NIG", "NOG", "NIAF", "NOAF"):
        assert "| no significant difference |" in rows[name], rows[name]
    assert "agrees with Greff et al.'s on 6 of the 7 variants" in text  # NOAF: Greff worse, ours not


def test_the_readme_greff_section_is_the_committed_result_set():
    """The README's Greff-on-JSB section is benchmarks/greff_readme.py's output for the committed
    results/baselines/greff-jsb.json and its importance file."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- greff:start -->\n(.*?)<!-- greff:end -->", readme, re.S)
    assert block is not None, "README.md has no <!-- greff:start --> ... <!-- greff:end --> block"
    assert block.group(1) == _greff_module().section()
