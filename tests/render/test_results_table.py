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
