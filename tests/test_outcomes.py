"""Every outcome says what happened (issue 21): exit codes with one meaning each, a failing family that
never sinks a matrix, split and memory guards, `bench train` studies named by their data, and the
smaller honesty fixes, each through the CLI as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest
import torch
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.models import MODELS, Backbone
from benchbench.store.storage import open_storage
from tests import synthetic

runner = CliRunner()


def bench(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)


def _one_line(out) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.output
    return lines[0]


class _Broken(Backbone):
    """A user's fragile cell: raises in its forward (`nan=False`) or outputs NaN (every trial diverges)."""

    def __init__(self, *, input_size: int, hidden_size: int, nan: bool, **_) -> None:
        super().__init__()
        self.proj, self.output_size, self.nan = torch.nn.Linear(input_size, hidden_size), hidden_size, nan

    def forward(self, x, state=None):
        if not self.nan:
            raise RuntimeError("badcell: a deliberately broken forward")
        return self.proj(x) * float("nan"), state  # (B, T, H)


@pytest.fixture
def broken_cells(monkeypatch):
    """`badcell` and `nancell` registered beside the built-ins for this test only."""
    monkeypatch.setitem(MODELS._items, "badcell", lambda **kw: _Broken(nan=False, **kw))
    monkeypatch.setitem(MODELS._items, "nancell", lambda **kw: _Broken(nan=True, **kw))


def _trials(results, name):
    return optuna.load_study(study_name=name, storage=open_storage(results)).get_trials(deepcopy=False)


# --- 1. exit codes ---------------------------------------------------------------------------------


def test_exit_codes_are_in_the_help():
    out = bench("--help")
    text = " ".join(out.stdout.split())
    for words in ("0 every requested cell has a result", "1 the run finished but some cells have no result",
                  "2 bad input, nothing written", "130 interrupted", "143"):  # fmt: skip
        assert words in text.replace("│", " ").replace("  ", " ") or words in " ".join(text.replace("│", " ").split())


def test_a_matrix_whose_every_cell_is_skipped_is_refused_as_one_cell_is(results):
    matrix = runner.invoke(app, ["run", "--task", "ptb,ptb-char", "--model", "bilstm", "--budget", "smoke", "--results", str(results)])
    single = runner.invoke(app, ["run", "--task", "ptb", "--model", "bilstm", "--budget", "smoke", "--results", str(results)])
    assert matrix.exit_code == single.exit_code == 2
    line = _one_line(matrix)
    assert line.startswith("error: nothing to run") and "ptb/bilstm, ptb-char/bilstm" in line and "unidirectional" in line
    assert not results.exists()


def test_a_cell_whose_every_trial_diverged_says_it_has_no_result(results, broken_cells):
    out = runner.invoke(
        app, ["run", "--task", "adding", "--model", "nancell,lstm", "--budget", "smoke", "--trials", "1", "--seeds", "0",
              "--max-epochs", "1", "--results", str(results)],
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    lines = [line for line in out.stderr.splitlines() if line.startswith("adding/")]
    assert len(lines) == 1 and lines[0].startswith("adding/nancell/smoke: no result: 1 of 1 trials failed")
    assert "diverged" in lines[0] and "bench show --task adding --model nancell --budget smoke" in lines[0]
    assert f"--results {results}" in lines[0] and "bench run --task adding --model nancell" in lines[0]
    rows = json.loads((results / "leaderboard.json").read_text())
    assert {r["model"] for r in rows if r["kind"] == "model"} == {"nancell", "lstm"}


def test_a_search_cut_short_by_timeout_is_marked_and_exits_1(results):
    out = runner.invoke(
        app, ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", "3", "--max-epochs", "1",
              "--timeout", "0.001", "--seeds", "1", "--results", str(results)],
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    line = [line for line in out.stderr.splitlines() if line.startswith("adding/")]
    assert len(line) == 1 and line[0].startswith("adding/lstm/smoke: cut short: --timeout 0.001s stopped the search after 1 of 3")
    assert "final evaluation retrained its best configuration so far" in line[0]
    assert line[0].endswith(f"finish it with `bench run --task adding --model lstm --budget smoke --trials 3 --max-epochs 1 --seeds 1 --results {results}`")
    row = next(r for r in json.loads((results / "leaderboard.json").read_text()) if r["kind"] == "model")
    assert "1 of 3 planned trials" in row["cut_short"]
    assert "lstm (cut short)" in out.stdout and "the search stopped before its planned trials" in " ".join(out.stdout.split())
    assert "lstm (cut short)" in (results / "leaderboard.md").read_text()
    # the same command without --timeout finishes it: exit 0, and the mark is gone
    again = runner.invoke(
        app, ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", "3", "--max-epochs", "1",
              "--seeds", "1", "--results", str(results)],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    row = next(r for r in json.loads((results / "leaderboard.json").read_text()) if r["kind"] == "model")
    assert row["cut_short"] is None and row["trials"] == 3
    assert not (results / "mlflow.db").exists() and not (results / "tensorboard").exists()  # no tracker unless asked


READERS = [
    ["leaderboard"], ["leaderboard", "--format", "json"], ["compare"], ["compare", "--format", "json"], ["report"],
    ["baseline", "save"], ["show", "--task", "adding", "--model", "lstm"], ["importance", "--task", "adding", "--model", "lstm"],
]  # fmt: skip


@pytest.mark.parametrize("args", READERS, ids=" ".join)
@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_every_reader_says_the_same_line_for_a_folder_without_results(results, args, folder):
    if folder == "empty":
        results.mkdir()
    out = runner.invoke(app, [*args, "--results", str(results)])
    assert out.exit_code == 2
    assert _one_line(out) == f"error: no results in {results}; run `bench run --task TASK --model MODEL --results {results}` first"
    assert out.stdout == ""
    assert (not results.exists()) if folder == "missing" else list(results.iterdir()) == []  # reading writes nothing


def test_check_on_a_folder_without_results(results, tmp_path):
    synthetic.study(tmp_path / "other", trials=[{"value": 0.1, "test": 0.1}])
    assert bench("baseline", "save", "--results", tmp_path / "other", "--out", tmp_path / "b.json").exit_code == 0
    out = runner.invoke(app, ["check", "--baseline", str(tmp_path / "b.json"), "--results", str(results)])
    assert out.exit_code == 2 and _one_line(out).startswith(f"error: no results in {results}; run `bench run")


# --- 2. failure isolation ------------------------------------------------------------------------


def test_a_family_raising_in_its_forward_fails_its_trials_and_the_matrix_goes_on(results, broken_cells):
    out = runner.invoke(
        app, ["run", "--task", "adding", "--model", "badcell,lstm", "--budget", "smoke", "--trials", "4", "--seeds", "1",
              "--max-epochs", "1", "--results", str(results)],
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output
    failed = [line for line in out.stderr.splitlines() if "trial" in line and "failed: RuntimeError" in line]
    assert len(failed) == 3  # one line per failed trial; three in a row stop the cell
    assert "adding/badcell/smoke: stopped after 3 trials in a row failed by an exception" in out.stderr
    summary = [line for line in out.stderr.splitlines() if line.startswith("adding/badcell/smoke: no result")]
    assert len(summary) == 1 and "RuntimeError: badcell: a deliberately broken forward" in summary[0]
    # lstm ran in full and every leaderboard file was written for what finished
    for ext in ("csv", "md", "json"):
        assert (results / f"leaderboard.{ext}").is_file()
    rows = {r["model"]: r for r in json.loads((results / "leaderboard.json").read_text()) if r["kind"] == "model"}
    assert rows["lstm"]["complete"] == 4 and rows["lstm"]["n_seeds"] == 1 and rows["badcell"]["failed"] == 3
    bad = _trials(results, "adding/badcell/smoke")
    assert len(bad) == 3 and all(t.state == optuna.trial.TrialState.FAIL for t in bad)
    assert bad[0].user_attrs["fail_reason"] == "RuntimeError: badcell: a deliberately broken forward"
    assert "Traceback (most recent call last)" in bad[0].user_attrs["traceback"] and "def forward" not in bad[0].user_attrs["traceback"]
    assert 'raise RuntimeError("badcell' in bad[0].user_attrs["traceback"]
    shown = bench("show", "--task", "adding", "--model", "badcell", "--budget", "smoke", "--trial", 0, "--results", results)
    assert shown.exit_code == 0 and "traceback:" in shown.stdout and "badcell: a deliberately broken forward" in shown.stdout


def test_a_failed_trial_has_a_short_reason_for_every_kind_of_exception():
    from benchbench.sweep.workers import trial_failure

    assert trial_failure(RuntimeError("boom")) == "RuntimeError: boom"
    cpu = RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried 10 bytes")
    assert trial_failure(cpu).startswith("out of memory: ")
    assert trial_failure(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")).startswith("out of memory: CUDA")
    assert trial_failure(MemoryError()).startswith("out of memory: ")
    long = trial_failure(ValueError("x" * 5000 + "\nsecond line"))
    assert len(long) < 230 and "\n" not in long


# --- 3. guards ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, words",
    [
        ("seeds={train=1,val=1,test=1}", "the train, val and test seeds are all 1, which makes those splits the same data"),
        ("seeds={train=1,val=2,test=2}", "the val and test seeds are all 2"),
        ("seq_len=100000000", "the adding problem with seq_len=100000000 would take"),
    ],
)
def test_splits_that_overlap_or_do_not_fit_are_refused_in_one_line(results, option, words):
    out = runner.invoke(app, ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--option", option, "--results", str(results)])
    assert out.exit_code == 2
    assert words in _one_line(out)
    assert not results.exists()


def test_moving_digits_seeds_are_checked_too(results):
    out = runner.invoke(
        app, ["run", "--task", "moving-digits", "--model", "lstm", "--budget", "smoke", "--option", "seeds={train=4,val=4,test=5}",
              "--results", str(results)],
    )  # fmt: skip
    assert out.exit_code == 2 and "the train and val seeds are all 4" in _one_line(out)


def test_train_studies_are_named_by_budget_and_data(results):
    common = ["train", "--task", "adding", "--model", "lstm", "--max-epochs", "1", "--set", "hidden_size=8", "--results", results]
    assert bench(*common, "--budget", "smoke").exit_code == 0
    assert bench(*common, "--budget", "smoke", "--option", "seq_len=30").exit_code == 0
    assert bench(*common, "--budget", "smoke").exit_code == 0  # the same data again: the same study
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(open_storage(results)))
    assert names == [
        "adding/baselines/fixed-smoke", "adding/lstm/fixed-smoke",
        "adding[seq_len=30]/baselines/fixed-smoke", "adding[seq_len=30]/lstm/fixed-smoke",
    ]  # fmt: skip
    assert len(_trials(results, "adding/lstm/fixed-smoke")) == 2
    rows = json.loads(bench("leaderboard", "--format", "json", "--results", results).stdout)
    models = [(r["task"], r["budget"], r["model"]) for r in rows if r["kind"] == "model"]
    assert models == [("adding", "fixed-smoke", "lstm"), ("adding[seq_len=30]", "fixed-smoke", "lstm")]
    naive = {(r["task"], r["model"]): r["test"] for r in rows if r["kind"] == "baseline"}
    assert naive[("adding", "train-mean")] != naive[("adding[seq_len=30]", "train-mean")]  # each from its own data
    shown = bench("show", "--task", "adding", "--model", "lstm", "--budget", "fixed-smoke", "--results", results)
    assert shown.exit_code == 0 and "adding/lstm/fixed-smoke" in shown.stdout
    assert "fixed configurations (bench train), fixed-smoke" in bench("leaderboard", "--results", results).stdout


def test_a_train_trial_that_fails_exits_1_with_its_line(results, broken_cells):
    out = runner.invoke(app, ["train", "--task", "adding", "--model", "badcell", "--budget", "smoke", "--max-epochs", "1", "--results", str(results)])
    assert out.exit_code == 1
    line = [ln for ln in out.stderr.splitlines() if ln.startswith("adding/badcell/fixed-smoke trial 0: no result")]
    assert len(line) == 1 and f"bench show --task adding --model badcell --budget fixed-smoke --results {results} --trial 0" in line[0]


def test_old_fixed_studies_are_still_read(results):
    synthetic.study(results, budget="fixed", kind="fixed", trials=[{"value": 0.2, "test": 0.21, "command": "bench train --task adding"}])
    rows = json.loads(bench("leaderboard", "--format", "json", "--results", results).stdout)
    assert [(r["budget"], r["kind"], r["test"]) for r in rows] == [("fixed", "model", 0.21)]
    assert "fixed configurations (bench train), fixed" in bench("leaderboard", "--results", results).stdout
    shown = bench("show", "--task", "adding", "--model", "lstm", "--budget", "fixed", "--results", results)
    assert shown.exit_code == 0 and f"rerun: bench train --task adding --results {results}" in "".join(shown.stdout.split("\n"))


# --- 4. the smaller items ----------------------------------------------------------------------------


def test_a_malformed_task_list_shows_a_task_example(results):
    out = runner.invoke(app, ["run", "--task", "adding ptb", "--model", "lstm", "--results", str(results)])
    assert out.exit_code == 2 and "e.g. adding,ptb" in _one_line(out) and "lstm,gru" not in out.stderr


@pytest.mark.parametrize("flag", ["--task", "--model"])
def test_a_very_long_name_is_not_echoed_whole(results, flag):
    other = {"--task": ["--model", "lstm"], "--model": ["--task", "adding"]}[flag]
    out = runner.invoke(app, ["run", flag, "x" * 100_000, *other, "--results", str(results)])
    line = _one_line(out)
    assert out.exit_code == 2 and len(line) < 600 and "(100,000 characters)" in line


def test_show_and_importance_refuse_unknown_names_instead_of_suggesting_them(results):
    synthetic.study(results, trials=[{"value": 0.1, "test": 0.1}])
    for command in ("show", "importance"):
        task = runner.invoke(app, [command, "--task", "nope", "--model", "lstm", "--budget", "smoke", "--results", str(results)])
        assert task.exit_code == 2 and _one_line(task).startswith("error: unknown task 'nope'; choose one of: ") and "bench run" not in task.stderr
        model = runner.invoke(app, [command, "--task", "adding", "--model", "nope", "--budget", "smoke", "--results", str(results)])
        assert model.exit_code == 2 and _one_line(model).startswith("error: unknown model 'nope'; choose one of: ")


def test_a_results_symlink_loop_is_named(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    out = runner.invoke(app, ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--results", str(tmp_path / "loop" / "results")])
    assert out.exit_code == 2
    line = _one_line(out)
    assert "symbolic link that leads nowhere" in line and "File exists" not in line


def test_a_killed_writer_leaves_no_temporary_file_after_the_next_write(tmp_path):
    from benchbench.atomic import write_text_atomic

    target = tmp_path / "report.html"
    target.write_text("old")
    # a writer killed by SIGKILL halfway: its temporary file stays behind, the old file is intact
    code = (
        "import os, sys\nfrom pathlib import Path\nimport benchbench.atomic as a\n"
        "def die(*args): os.kill(os.getpid(), 9)\n"
        "a.os.replace = die\n"
        f"a.write_text_atomic(Path({str(target)!r}), 'new')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and target.read_text() == "old"
    live = tmp_path / f".report.html.{os.getpid()}.x.tmp"  # a writer still running (this one) is left alone
    live.write_text("")
    write_text_atomic(target, "newer")
    assert target.read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["report.html", live.name])


def test_narrow_terminals_keep_the_significance_longer_than_vs_naive(results, monkeypatch):
    synthetic.add_baselines(results, {"constant[value=1]": (0.17, 0.17)}, budget="smoke")
    synthetic.study(results, trials=[{"value": 0.1, "test": 0.1}])
    synthetic.study(results, model="gru", trials=[{"value": 0.12, "test": 0.12}])
    only_best = []
    for width in range(50, 130, 2):
        monkeypatch.setenv("COLUMNS", str(width))
        header = next(line for line in bench("leaderboard", "--results", results).stdout.splitlines() if " model " in line)
        if "vs naive" in header:
            assert "vs best" in header, width
        elif "vs best" in header:
            only_best.append(width)
    assert only_best  # some widths show the significance and leave out vs naive (at 80 columns, before, the reverse)


def test_one_task_is_not_tasks():
    from benchbench.render.text import count

    assert (count(1, "task"), count(3, "task"), count(1, "family", "families"), count(2, "family", "families")) == (
        "1 task", "3 tasks", "1 family", "2 families",
    )  # fmt: skip


def test_compare_over_one_task_says_task(results):
    synthetic.study(results, trials=[{"value": 0.1, "test": 0.1}])
    synthetic.study(results, model="gru", trials=[{"value": 0.12, "test": 0.12}])
    out = bench("compare", "--results", results, "--format", "markdown")
    assert "1 task:" in out.stdout and "1 tasks" not in out.stdout


def test_the_progress_display_shows_the_time_left():
    from rich.progress import TimeRemainingColumn

    from benchbench.sweep.progress import Progress

    assert any(isinstance(column, TimeRemainingColumn) for column in Progress().bar.columns)


def test_completion_goes_on_after_a_comma():
    from benchbench.cli import _complete_models, _complete_tasks

    assert "lstm,gru" in _complete_models("lstm,g") and all(c.startswith("lstm,") for c in _complete_models("lstm,g"))
    assert "lstm,lstm" not in _complete_models("lstm,")
    assert _complete_tasks("adding,pt") == ["adding,ptb", "adding,ptb-char"]
    assert "gru" in _complete_models("g")
