"""Families and tasks from outside the package, end to end (issue 24).

- The example package examples/benchbench-mingru is pip-installed into the test venv by `make install`
  (the Makefile's dev install): its families and task are found through real entry points.
- A family given as `file.py:Class` runs, records its origin, reruns from `bench show`'s command in a
  fresh process, and runs in `--jobs 2` worker processes and in a `bench worker` that knows nothing
  but the study.
- Broken plugins (an import error, a wrong base class, a built-in's name) give one line and exit 2,
  and other runs keep working; installed as a real (fake) distribution on PYTHONPATH.
- A user TOML task and a CSV task run at the smoke budget and reach the leaderboard, compare and report.
- The contract check fails with the right line on broken cells.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.store.storage import open_storage

from tests.synthetic import USER_TASK as TASK

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "benchbench-mingru"

# A tiny, correct family: an Elman cell written out, in a file of the user's.
CELLS = '''
import torch
from torch import nn
from benchbench.models import Backbone


class TinyCell(Backbone):
    """Tiny Elman cell (Elman 1990), written out step by step."""

    def __init__(self, *, input_size, hidden_size, num_layers=1, dropout=0.0):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.output_size = hidden_size

    def forward(self, x, state=None):
        return self.rnn(x, state)


class LSTM(TinyCell):
    """Named like a built-in family."""


class NotACell(nn.Module):
    """Derives from nn.Module only."""


class FutureCell(TinyCell):
    """Reads the future (Nobody 2024): adds the sum of the steps after t to step t."""

    name = "futurecell"

    def forward(self, x, state=None):
        later = x.flip(1).cumsum(1).flip(1) - x  # (B, T, I): sum of the steps after t
        return self.rnn(x + later, state)


class WrongShape(TinyCell):
    """Returns time-first outputs (Nobody 2024)."""

    name = "wrongshape"

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return out.transpose(0, 1), state


class _NaNGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


class NaNGrad(TinyCell):
    """Finite outputs, NaN gradients (Nobody 2024)."""

    name = "nangrad"

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return _NaNGrad.apply(out), state
'''



def bench(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def _subprocess_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("BENCH_PLUGINS", "BENCH_TASKS_PATH", "BENCH_RESULTS")}
    env.update(OMP_NUM_THREADS="1", COLUMNS="200", **extra)
    return env


def bench_process(*args, **env):
    """`bench` in a fresh interpreter (entry points are read when benchbench.models is imported)."""
    return subprocess.run(
        [sys.executable, "-m", "benchbench.cli", *map(str, args)], capture_output=True, text=True, env=_subprocess_env(**env),
        cwd=REPO, timeout=600,
    )  # fmt: skip


def _one_error_line(out) -> str:
    stderr = out.stderr.strip()
    assert out.exit_code == 2 if hasattr(out, "exit_code") else out.returncode == 2, (stderr, getattr(out, "stdout", ""))
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "my_cells.py"
    path.write_text(CELLS)
    return path


@pytest.fixture(scope="module")
def user_task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tasks")
    path = folder / "my-adding.toml"
    path.write_text(TASK)
    return path


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    """A CSV of two noisy daily-cycle series with a date column, 300 rows."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    t = np.arange(300)
    frame = pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=300, freq="h").strftime("%Y-%m-%d %H:%M"),
        "open": 10 + np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.1, 300),
        "close": 10 + np.sin(2 * np.pi * (t + 1) / 24) + rng.normal(0, 0.1, 300),
    })  # fmt: skip
    path = tmp_path_factory.mktemp("csv") / "prices.csv"
    frame.to_csv(path, index=False)
    return path


# --- the example package, installed --------------------------------------------------------------


def test_example_package_is_installed_and_its_entry_points_are_listed():
    try:
        dist = distribution("benchbench-mingru")
    except PackageNotFoundError:
        pytest.fail("examples/benchbench-mingru is not installed in this venv; run `make install` (the dev install adds it)")
    names = {ep.name for ep in dist.entry_points}
    assert {"mingru", "minlstm", "benchbench-mingru"} <= names
    models = bench("list", "models")
    assert models.exit_code == 0, models.output
    rows = {line.split()[0]: line for line in models.stdout.splitlines()}
    assert "Feng et al. 2024" in rows["mingru"] and "[plugin: benchbench-mingru 0.1.0]" in rows["mingru"]
    assert "[plugin: benchbench-mingru 0.1.0]" in rows["minlstm"]
    assert "[plugin" not in rows["lstm"]
    tasks = bench("list", "tasks")
    assert any(line.startswith("synthetic-load ") for line in tasks.stdout.splitlines()), tasks.stdout


def test_plugin_family_declares_its_search_space():
    from benchbench.tasks import load_task

    task = load_task("adding")
    assert task.search_space("mingru")["num_layers"].choices == (1, 2, 3)  # the family's own
    assert task.search_space("lstm")["num_layers"].choices == (1, 2)  # the task's
    assert task.search_space("mingru", "smoke")["lr"] == task.search_space("lstm", "smoke")["lr"]  # inherited


def test_example_families_pass_the_contract():
    out = bench("check-model", "mingru", "--task", "adding,synthetic-load")
    assert out.exit_code == 0, out.output
    assert "contract of mingru: 9 pass, 0 fail, 0 skipped" in out.stdout
    out = bench("check-model", "benchbench_mingru.cells:MinLSTM", "--task", "synthetic-load")
    assert out.exit_code == 0 and "8 pass, 0 fail" in out.stdout, out.output


# --- a family by reference, its origin, its rerun, its workers ----------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory, cells, user_task, prices):
    """lstm and a family from a file on the shipped adding task and a user's TOML task, then lstm and
    gru on a CSV task; all at the smoke budget, in one results folder."""
    results = tmp_path_factory.mktemp("swept") / "results"
    first = bench(
        "run", "--task", f"adding,{user_task}", "--model", f"lstm,{cells}:TinyCell", "--budget", "smoke",
        "--trials", 1, "--seeds", 2, "--results", results,
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    second = bench(
        "run", "--task", f"csv:{prices}", "--option", "target=close", "--model", "lstm,gru", "--budget", "smoke",
        "--trials", 1, "--seeds", 2, "--results", results,
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    return results, first, second


def _study(results, name):
    return optuna.load_study(study_name=name, storage=open_storage(results))


def test_file_family_records_its_origin(swept, cells):
    results, first, _ = swept
    assert "tinycell" in first.stdout and "my-adding · budget smoke" in first.stdout
    attrs = _study(results, "adding/tinycell/smoke").user_attrs
    origin = attrs["model_origin"]
    assert origin["kind"] == "reference" and origin["ref"] == f"{cells.resolve()}:TinyCell"
    assert origin["file"] == str(cells.resolve()) and origin["sha256"] == hashlib.sha256(cells.read_bytes()).hexdigest()
    assert _study(results, "adding/lstm/smoke").user_attrs["model_origin"] == {}
    task_attrs = _study(results, "my-adding/lstm/smoke").user_attrs["task_origin"]
    assert task_attrs["kind"] == "file" and task_attrs["ref"] == str(Path(task_attrs["file"]))
    trial = _study(results, "adding/tinycell/smoke/eval").best_trial
    assert trial.user_attrs["provenance"]["model sha256"] == origin["sha256"]


def test_rerun_command_reproduces_a_file_family_in_a_fresh_process(swept, cells, tmp_path):
    results, _, _ = swept
    shown = bench("show", "--task", "adding", "--model", "tinycell", "--budget", "smoke", "--results", results)
    assert shown.exit_code == 0, shown.output
    assert "model sha256" in shown.stdout and str(cells.resolve()) in shown.stdout.replace("\n", "")
    trial = _study(results, "adding/tinycell/smoke").best_trial
    command = shlex.split(trial.user_attrs["command"])
    assert command[:2] == ["bench", "train"] and f"{cells.resolve()}:TinyCell" in command
    out = bench_process(*command[1:], "--results", tmp_path / "rerun")
    assert out.returncode == 0, out.stderr
    val = float(out.stdout.split("val ")[1].split()[0])
    assert val == pytest.approx(trial.value, rel=1e-3)


def test_user_task_rerun_names_its_spec(swept, user_task):
    results, _, _ = swept
    command = _study(results, "my-adding/lstm/smoke").best_trial.user_attrs["command"]
    assert f"--task {user_task.resolve()}" in command


def test_file_family_runs_in_worker_processes(cells, tmp_path):
    results = tmp_path / "results"
    out = bench(
        "run", "--task", "adding", "--model", f"{cells}:TinyCell", "--budget", "smoke", "--trials", 2, "--seeds", 0,
        "--jobs", 2, "--results", results,
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    trials = _study(results, "adding/tinycell/smoke").get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert os.getpid() not in {t.user_attrs["worker"]["pid"] for t in trials}  # trained in the spawned workers


def test_bench_worker_loads_the_family_and_task_from_the_study(cells, user_task, tmp_path):
    """`bench run --jobs 0` plans; a `bench worker` in a fresh process, told only the study, runs it."""
    results = tmp_path / "results"
    planned = bench(
        "run", "--task", user_task, "--model", f"{cells}:TinyCell", "--budget", "smoke", "--trials", 1, "--seeds", 0,
        "--jobs", 0, "--results", results,
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    out = bench_process("worker", "--study", "my-adding/tinycell/smoke", "--results", results)
    assert out.returncode == 0, out.stderr
    assert "this worker ran 1 trials" in out.stdout
    assert _study(results, "my-adding/tinycell/smoke").best_trial.value > 0


# --- broken plugins ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory):
    """A folder on PYTHONPATH holding a (fake) installed distribution whose entry points are broken in
    three ways, next to one good one."""
    site = tmp_path_factory.mktemp("site")
    (site / "brokenmod.py").write_text('raise ImportError("needs the package fancyops, which is not installed")\n')
    (site / "okmod.py").write_text(CELLS.replace("TinyCell", "Cell"))
    info = site / "fake_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[benchbench.models]\nbroken = brokenmod:Cell\nwrongbase = okmod:NotACell\nlstm = okmod:Cell\nokcell = okmod:Cell\n"
    )
    return site


def test_broken_plugins_are_listed_and_fail_only_when_named(broken_site, tmp_path):
    env = {"PYTHONPATH": str(broken_site)}
    listed = bench_process("list", "models", **env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "(broken plugin)" in rows["broken"] and "fancyops" in rows["broken"]
    assert "okcell" in rows and "(broken" not in rows["okcell"]
    warnings = [line for line in listed.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "'lstm'" in warnings[0] and "built-in" in warnings[0], listed.stderr
    assert "Hochreiter" in rows["lstm"]  # the built-in won

    results = tmp_path / "results"
    line = _one_error_line(bench_process("run", "--task", "adding", "--model", "broken", "--budget", "smoke", "--results", results, **env))
    assert "model plugin 'broken' (brokenmod:Cell, package fake-plugins)" in line and "ImportError" in line and "fancyops" in line
    line = _one_error_line(bench_process("run", "--task", "adding", "--model", "wrongbase", "--budget", "smoke", "--results", results, **env))
    assert "NotACell" in line and "not benchbench.models.Backbone" in line
    assert not results.exists()  # nothing written by a refused run

    ok = bench_process(
        "run", "--task", "adding", "--model", "okcell,lstm", "--budget", "smoke", "--trials", 1, "--seeds", 0, "--results", results, **env
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "okcell" in ok.stdout and "lstm" in ok.stdout
    assert _study(results, "adding/okcell/smoke").user_attrs["model_origin"]["package"] == "fake-plugins"


def test_reference_errors_are_one_line(cells, tmp_path):
    results = tmp_path / "results"
    cases = [
        (f"{cells}:LSTM", "'lstm', a built-in family"),
        (f"{cells}:NotACell", "not benchbench.models.Backbone"),
        (f"{cells}:Missing", "has no 'Missing'"),
        (f"{tmp_path}/nope.py:Cell", "no file"),
        ("no_such_module_xyz:Cell", "ModuleNotFoundError"),
    ]
    for ref, expected in cases:
        line = _one_error_line(bench("run", "--task", "adding", "--model", ref, "--budget", "smoke", "--results", results))
        assert expected in line, (ref, line)
    assert not results.exists()


def test_plugin_modules_register_families(tmp_path, monkeypatch):
    (tmp_path / "goodplugin.py").write_text(
        CELLS.replace("class TinyCell(Backbone):", "from benchbench.models import MODELS\n\n@MODELS.register('plugcell')\nclass TinyCell(Backbone):")
    )
    (tmp_path / "clashplugin.py").write_text("from benchbench.models import MODELS\nMODELS.register('gru')(object)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    listed = bench("list", "models", "--plugin", "goodplugin")
    assert listed.exit_code == 0 and any(line.startswith("plugcell ") for line in listed.stdout.splitlines()), listed.output
    line = _one_error_line(bench("list", "models", "--plugin", "clashplugin"))
    assert "plugin clashplugin" in line and "'gru' is already registered" in line
    line = _one_error_line(bench("list", "models", env={"BENCH_PLUGINS": "missingplugin_xyz"}))
    assert "plugin missingplugin_xyz" in line and "ModuleNotFoundError" in line


# --- user tasks in the leaderboard, compare and report -------------------------------------------


def test_user_tasks_reach_leaderboard_compare_and_report(swept):
    results, _, second = swept
    assert "prices[target=close] · budget smoke" in second.stdout
    frame = json.loads(bench("leaderboard", "--results", results, "--format", "json").stdout)
    cells = {(row["task"], row["model"]) for row in frame}
    assert {("my-adding", "lstm"), ("my-adding", "tinycell"), ("adding", "tinycell")} <= cells
    assert {("prices[target=close]", "lstm"), ("prices[target=close]", "gru")} <= cells
    naive = {row["model"] for row in frame if row["task"] == "prices[target=close]" and row["kind"] == "baseline"}
    assert {"persistence", "train-mean"} <= naive, naive
    compared = bench("compare", "--results", results, "--against", "lstm", "--format", "json")
    assert compared.exit_code == 0, compared.output
    assert "tinycell" in compared.stdout and "my-adding" in compared.stdout and "prices[target=close]" in compared.stdout
    against = bench("compare", "--results", results, "--against", "tinycell")
    assert against.exit_code == 0, against.output
    page = bench("report", "--results", results, "--against", "tinycell")
    assert page.exit_code == 0, page.output
    html = (results / "report.html").read_text()
    assert "my-adding" in html and "prices[target=close]" in html and "tinycell" in html


def test_tasks_dir_and_env_list_user_specs(user_task):
    listed = bench("list", "tasks", "--tasks-dir", user_task.parent)
    assert any(line.startswith("my-adding ") for line in listed.stdout.splitlines()), listed.output
    listed = bench("list", "tasks", env={"BENCH_TASKS_PATH": str(user_task.parent)})
    assert any(line.startswith("my-adding ") for line in listed.stdout.splitlines()), listed.output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.replace('metric = "mse"', 'metric = "mse"\ncolour = "blue"'), "unknown key 'colour'; allowed keys: description, output"),
        (lambda s: s.replace('metric = "mse"', 'metric = "mape"'), "metric = 'mape' is not one of: "),
        (lambda s: s.replace('output = "sequence-regression"', 'output = "tree"'), "output = 'tree' is not one of: "),
        (lambda s: s.replace('name = "adding"', 'name = "addition"'), "[dataset] name = 'addition' is not one of: "),
        (lambda s: s.replace("trials = 1", "trials = 0"), "[budgets.smoke] trials must be a positive integer, got 0"),
        (lambda s: s.replace('description = "My adding variant (Le et al. 2015): short sequences"\n', ""), "missing required key 'description'"),
        (lambda s: s.replace("[search.default]", "[search.default"), "not valid TOML"),
    ],
)
def test_bad_task_specs_name_the_file_and_key(tmp_path, edit, expected):
    spec = tmp_path / "bad-task.toml"
    spec.write_text(edit(TASK))
    line = _one_error_line(bench("run", "--task", spec, "--model", "lstm", "--budget", "smoke", "--results", tmp_path / "r"))
    assert str(spec) in line and expected in line, line
    assert not (tmp_path / "r").exists()


def test_a_user_task_named_like_a_shipped_one_is_refused(tmp_path):
    spec = tmp_path / "adding.toml"
    spec.write_text(TASK)
    line = _one_error_line(bench("run", "--task", spec, "--model", "lstm", "--budget", "smoke", "--results", tmp_path / "r"))
    assert "'adding' is the name of a built-in task" in line


@pytest.mark.parametrize(
    ("options", "content", "expected"),
    [
        (["--option", "target=volume"], None, "prices.csv: no column 'volume' (--option target); its columns are: date, open, close"),
        (["--option", "time=open", "--option", "inputs=date"], None, "column 'date' has a non-numeric value"),
        ([], "a,b\n1,2\n3,x\n", "column 'b' has a non-numeric value 'x' at data row 2"),
        (["--option", "window=200"], None, "300 rows are too few for window 200 + horizon 1"),
        ([], "a,b\n1,2\n3,4\n", "2 rows are too few for window 24 + horizon 1"),
    ],
)
def test_csv_errors_are_one_line(prices, tmp_path, options, content, expected):
    path = prices
    if content is not None:
        path = tmp_path / "prices.csv"
        path.write_text(content)
    line = _one_error_line(bench("run", "--task", f"csv:{path}", "--model", "lstm", "--budget", "smoke", *options, "--results", tmp_path / "r"))
    assert expected in line, line
    assert not (tmp_path / "r").exists()


# --- the contract on broken cells --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "check", "expected"),
    [
        ("FutureCell", "causality", "reads the future: outputs at steps 0-3 moved"),
        ("WrongShape", "shapes", "input (B, T, I) = (3, 7, 5) gave outputs (7, 3, 8), expected (B, T, output_size) = (3, 7, 8)"),
        ("NaNGrad", "gradients", "has a non-finite (NaN or inf) gradient"),
    ],
)
def test_contract_fails_broken_cells_with_the_right_line(cells, cell, check, expected):
    out = bench("check-model", f"{cells}:{cell}", "--task", "adding")
    assert out.exit_code == 1, out.output
    failures = [line for line in out.stderr.splitlines() if line.startswith("FAIL")]
    assert any(line.startswith(f"FAIL {cell.lower()} {check}: ") and expected in line for line in failures), failures
    assert "Traceback" not in out.output


def test_contract_passes_a_correct_file_family(cells):
    out = bench("check-model", f"{cells}:TinyCell", "--task", "adding")
    assert out.exit_code == 0, out.output
    assert "8 pass, 0 fail" in out.stdout and not out.stderr.strip()


def test_check_model_of_an_unknown_family_is_one_line():
    line = _one_error_line(bench("check-model", "nope"))
    assert "unknown model 'nope'; choose one of:" in line and "mingru" in line


def test_csv_task_from_a_spec_reads_its_file_beside_it():
    """The example's spec names its CSV by a path relative to the spec."""
    from benchbench.tasks import load_task

    task = load_task("synthetic-load")
    assert Path(task.dataset_options["path"]).is_file() and task.dataset == "csv"
    data = task.load_data("smoke")
    assert data.train.tensors[0].shape[1:] == (48, 3) and data.meta["target_channels"] == (2,)


def test_example_readme_commands_are_documented():
    text = textwrap.dedent((EXAMPLE / "README.md").read_text())
    for command in ("bench check-model", "bench run", "bench compare --against lstm"):
        assert command in text
