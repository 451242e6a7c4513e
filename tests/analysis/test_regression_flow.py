"""The newcomer's path end to end, with real sweeps: run, save a baseline, make a model worse by
changing a hyperparameter default in its task spec, and `bench check` fails naming the regression."""

import json

from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.space import Param
from benchbench.tasks import Task

runner = CliRunner()
SWEEP = ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--seed", "0"]


def test_a_worse_default_fails_the_check_and_names_it(tmp_path, monkeypatch):
    before, after, baseline = tmp_path / "before", tmp_path / "after", tmp_path / "baseline.json"
    assert runner.invoke(app, [*SWEEP, "--results", str(before)]).exit_code == 0
    saved = runner.invoke(app, ["baseline", "save", "--results", str(before), "--out", str(baseline)])
    assert saved.exit_code == 0, saved.output
    same = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(before)])
    assert same.exit_code == 0, same.output

    original = Task.search_space

    def worse(self, family, budget=None):  # as if the spec's learning rate were set far too small
        space = dict(original(self, family, budget))
        space["lr"] = Param("lr", fixed=1e-6)
        return space

    monkeypatch.setattr(Task, "search_space", worse)
    assert runner.invoke(app, [*SWEEP, "--results", str(after)]).exit_code == 0
    out = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(after)])
    assert out.exit_code == 1, out.output
    last = out.output.strip().splitlines()[-1]
    assert "regressed" in last and "adding/lstm/smoke" in last, last
    rows = json.loads(baseline.read_text())["cells"]
    assert sorted((r["task"], r["model"], r["budget"], r["kind"]) for r in rows) == [
        ("adding", "constant[value=1]", "smoke", "baseline"),
        ("adding", "lstm", "smoke", "model"),
        ("adding", "train-mean", "smoke", "baseline"),
    ]  # the naive baselines are held too: they are computed, so a change in the data or metric shows
