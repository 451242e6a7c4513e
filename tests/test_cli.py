"""The `bench` commands through Typer's CliRunner, as a user types them."""

import io
import json
import subprocess
import sys

import optuna
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.analysis.leaderboard import COLUMNS
from benchbench.store.storage import JOURNAL, open_storage

runner = CliRunner()


def bench(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _trials(results, name="adding/lstm/smoke"):
    return optuna.load_study(study_name=name, storage=open_storage(results)).get_trials(deepcopy=False)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 2-trial smoke run, then the same study planned to 4 trials: the second run continues the first."""
    results = tmp_path_factory.mktemp("swept") / "results"
    first = bench("run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", 2, "--results", results)
    assert first.exit_code == 0, first.output
    after_first = [t.params for t in _trials(results)]
    second = bench("run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", 4, "--results", results)
    assert second.exit_code == 0, second.output
    return results, first, second, after_first


def test_run_records_every_trial(swept):
    results, first, _, _ = swept
    assert (results / JOURNAL).is_file()
    assert "adding · budget smoke" in first.output and "lstm" in first.output
    naive = [line.split() for line in first.output.splitlines() if "naive" in line]  # rows of their own kind
    assert any("constant[value=1]" in row for row in naive) and any("train-mean" in row for row in naive)
    complete = [t for t in _trials(results) if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete
    for trial in complete:
        for key in ("test", "params", "epochs", "best_epoch", "wall_time", "seed", "device"):
            assert key in trial.user_attrs, key
        assert trial.user_attrs["params"] > 0
        # the value is the best (lowest: mse) validation figure of the epochs run, reported every epoch
        per_epoch = trial.intermediate_values
        assert sorted(per_epoch) == list(range(trial.user_attrs["epochs"]))
        assert trial.value == min(per_epoch.values()) == per_epoch[trial.user_attrs["best_epoch"]] > 0
        # the CSV log holds the same validation figures and the test figure the trial recorded
        log = pd.read_csv(results / "logs" / "adding" / "lstm" / "smoke" / f"trial_{trial.number}" / "metrics.csv")
        assert log["val_mse"].dropna().tolist() == pytest.approx([per_epoch[e] for e in sorted(per_epoch)], rel=1e-6)
        assert log["test_mse"].dropna().tolist() == pytest.approx([trial.user_attrs["test"]], rel=1e-6)


def test_second_run_continues_the_study_without_repeats(swept):
    results, _, _, after_first = swept
    trials = _trials(results)
    assert len(after_first) == 2 and len(trials) == 4
    assert [t.params for t in trials[:2]] == after_first  # first run's trials kept as they were
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert [t.user_attrs["seed"] for t in trials] == [0, 1, 2, 3]
    params = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(params)) == 4  # no configuration repeated


def test_same_command_again_runs_nothing_new(swept):
    results, *_ = swept
    before = [(t.number, t.state, t.value) for t in _trials(results)]
    evals = len(_trials(results, "adding/lstm/smoke/eval"))
    again = bench("run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", 4, "--results", results)
    assert again.exit_code == 0, again.output
    assert [(t.number, t.state, t.value) for t in _trials(results)] == before
    assert len(_trials(results, "adding/lstm/smoke/eval")) == evals


def test_best_configuration_retrained_with_fresh_seeds(swept):
    results, *_ = swept
    search = _trials(results)
    best = min((t for t in search if t.value is not None), key=lambda t: t.value)
    evals = [t for t in _trials(results, "adding/lstm/smoke/eval") if t.user_attrs["source_trial"] == best.number]
    assert sorted(t.user_attrs["seed"] for t in evals) == [10_000, 10_001, 10_002]  # smoke budget: 3 seeds
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in evals)
    assert all(t.user_attrs["hparams"] == best.user_attrs["hparams"] for t in evals)
    assert len({t.user_attrs["test"] for t in evals}) == 3  # fresh seeds: different runs


def test_every_trial_records_its_provenance(swept):
    results, *_ = swept
    for trial in _trials(results) + _trials(results, "adding/lstm/smoke/eval"):
        attrs = trial.user_attrs
        assert {"seed", "hparams", "provenance", "command", "wall_time", "device"} <= set(attrs)
        prov = attrs["provenance"]
        assert prov["torch"] and prov["optuna"] and prov["lightning"] and prov["python"] and prov["host"]
        assert f"--seed {attrs['seed']}" in attrs["command"] and attrs["command"].startswith("bench train")


def test_the_rerun_command_keeps_the_tasks_options(tmp_path):
    out = bench("run", "--task", "adding", "--model", "gru", "--budget", "smoke", "--trials", 1, "--option", "seq_len=16", "--results", tmp_path)
    assert out.exit_code == 0, out.output
    trials = _trials(tmp_path, "adding[seq_len=16]/gru/smoke") + _trials(tmp_path, "adding[seq_len=16]/gru/smoke/eval")
    assert trials and all("--option seq_len=16" in t.user_attrs["command"] for t in trials)


def test_show_prints_record_and_rerun_command(swept):
    results, *_ = swept
    out = bench("show", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--results", results)
    assert out.exit_code == 0, out.output
    assert "rerun: bench train --task adding --model lstm --budget smoke --seed" in out.output.replace("\n", " ")
    assert "torch" in out.output and "seed" in out.output
    missing = runner.invoke(app, ["show", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trial", "99", "--results", str(results)])
    assert missing.exit_code == 2 and "no trial 99" in missing.stderr


def test_rerun_command_reproduces_the_trial(swept, tmp_path):
    """The command `bench show` prints trains the same configuration with the same seed: same result."""
    import shlex

    results, *_ = swept
    trial = next(t for t in _trials(results) if t.state == optuna.trial.TrialState.COMPLETE)
    words = shlex.split(trial.user_attrs["command"])
    assert words[:2] == ["bench", "train"]
    out = bench(*words[1:], "--results", tmp_path)
    assert out.exit_code == 0, out.output
    (rerun,) = _trials(tmp_path, "adding/lstm/fixed-smoke")
    assert rerun.user_attrs["test"] == pytest.approx(trial.user_attrs["test"], rel=1e-5)
    assert rerun.value == pytest.approx(trial.value, rel=1e-5)


def test_leaderboard_json(swept):
    results, *_ = swept
    out = bench("leaderboard", "--results", results, "--format", "json")
    assert out.exit_code == 0
    rows = json.loads(out.stdout)
    assert [(r["model"], r["kind"]) for r in rows[:1]] == [("lstm", "model")]
    row, *naive = rows  # naive baselines after the families, best first
    assert {(r["model"], r["kind"]) for r in naive} == {("constant[value=1]", "baseline"), ("train-mean", "baseline")}
    assert naive[0]["test"] <= naive[1]["test"]
    assert set(COLUMNS) <= set(row)
    assert (row["task"], row["model"], row["metric"], row["direction"]) == ("adding", "lstm", "mse", "minimize")
    assert row["trials"] == 4 and row["rank"] == 1
    best = min((t for t in _trials(results) if t.value is not None), key=lambda t: t.value)
    assert row["val"] == pytest.approx(best.value)
    assert row["test"] == pytest.approx(best.user_attrs["test"])
    assert row["params"] == best.user_attrs["params"]
    assert row["hyperparams"] == best.params
    # the adding problem's target is ~1 with variance 1/6: both naive predictors score about that
    assert all(r["rank"] is None and r["test"] == pytest.approx(1 / 6, rel=0.25) for r in naive)
    assert row["baseline"] == min(r["test"] for r in naive)
    assert row["baseline_label"] in ("constant[value=1]", "train-mean")
    assert row["beats_baseline"] is (row["test_ci_high"] < row["baseline"])


def test_leaderboard_csv_markdown_table(swept):
    results, *_ = swept
    csv = bench("leaderboard", "--results", results, "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == COLUMNS and frame.loc[0, "model"] == "lstm"
    md = bench("leaderboard", "--results", results, "--format", "markdown").stdout
    lines = md.strip().splitlines()
    assert lines[0].startswith("|") and "model" in lines[0] and "lstm" in lines[2]
    table = bench("leaderboard", "--results", results).stdout
    assert "MSE, lower is better" in table and "lstm" in table
    assert any("train-mean" in line and "naive" in line for line in table.splitlines())
    filtered = bench("leaderboard", "--results", results, "--task", "nothing", "--format", "json")
    assert filtered.exit_code == 2 and "no results of task 'nothing'" in filtered.stderr


def test_results_folder_from_environment(swept, monkeypatch):
    results, *_ = swept
    monkeypatch.setenv("BENCH_RESULTS", str(results))
    rows = json.loads(bench("leaderboard", "--format", "json").stdout)
    assert rows and rows[0]["model"] == "lstm"


def test_empty_results_folder(results):
    out = runner.invoke(app, ["leaderboard", "--results", str(results)])
    assert out.exit_code == 2 and out.stderr.startswith(f"error: no results in {results}") and out.stdout == ""
    as_json = runner.invoke(app, ["leaderboard", "--results", str(results), "--format", "json"])
    assert as_json.exit_code == 2 and as_json.stdout == ""
    assert not results.exists()  # reading never creates anything


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "nope", "--model", "lstm"], "unknown task 'nope'; choose one of: adding"),
        (["--task", "adding", "--model", "nope"], "unknown model 'nope'; choose one of: "),
        (["--task", "adding", "--model", "lstm", "--trials", "0"], "--trials must be positive"),
        (["--task", "adding", "--model", "lstm", "--trials", "-3"], "--trials must be positive"),
        (["--task", "adding", "--model", "lstm", "--max-epochs", "0"], "--max-epochs must be positive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(results, args, message):
    out = runner.invoke(app, ["run", *args, "--results", str(results)])
    assert out.exit_code == 2
    assert out.stderr.strip().count("\n") == 0 and message in out.stderr
    assert "Traceback" not in out.output
    assert not results.exists()  # nothing written


def test_unwritable_results_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = runner.invoke(app, ["run", "--task", "adding", "--model", "lstm", "--results", str(blocker / "results")])
    assert out.exit_code == 2
    assert out.stderr.startswith("error: results folder") and "not writable" in out.stderr
    assert blocker.read_text() == "not a folder"


def test_list_models_and_tasks():
    from benchbench.models import MODELS

    models = bench("list", "models").stdout.splitlines()
    assert [line.split()[0] for line in models] == MODELS.names()
    assert all(len(line.split(maxsplit=1)) == 2 for line in models)  # each has a description
    tasks = bench("list", "tasks").stdout.splitlines()
    assert tasks[0].split()[0] == "adding" and "lower is better" in tasks[0]
    out = runner.invoke(app, ["list", "things"])
    assert out.exit_code == 2 and "choose one of: models, tasks" in out.stderr


def _commands(command=None, path=()):
    """Every command of the Typer app, sub-groups included, as (words after `bench`, click command)."""
    command = command or typer.main.get_command(app)
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands())


def test_the_walk_finds_the_commands_and_groups():
    assert {("run",), ("leaderboard",), ("baseline",), ("baseline", "save"), ("check",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(("bench", *path)))
def test_every_command_has_help(path):
    command = COMMANDS[path]
    assert command.help and command.help.strip(), f"bench {' '.join(path)} has no docstring"
    out = bench(*path, "--help")
    assert out.exit_code == 0 and "Usage" in out.stdout
    first_line = command.help.strip().splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(out.stdout.split())
    for name in getattr(command, "commands", None) or {}:  # a group lists its commands
        assert name in out.stdout, name
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden and param.name != "help":
            assert param.help, f"bench {' '.join(path)} --{param.name.replace('_', '-')} has no help text"


def test_help_paragraphs_wrap_at_the_terminal_not_at_the_source():
    """A command's summary in `bench --help` and its paragraphs in `bench X --help` are one line each
    on a wide terminal: the docstring's own line breaks do not show."""
    wide = {"COLUMNS": "300"}
    listing = runner.invoke(app, ["--help"], env=wide).stdout
    for path, command in COMMANDS.items():
        if len(path) != 1 or not command.help:
            continue
        summary = command.help.split("\n\n")[0]
        assert "\n" not in summary and summary[:150] in listing, path
        page = runner.invoke(app, [*path, "--help"], env=wide).stdout
        for paragraph in command.help.split("\n\n"):
            assert paragraph in page, (path, paragraph)


def test_help_imports_no_heavy_library():
    """`bench --help` must stay instant: torch, lightning and optuna load only inside commands."""
    code = "import sys; from benchbench.cli import app; print(sorted(m for m in ('torch', 'lightning', 'optuna', 'pandas') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
