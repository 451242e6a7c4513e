"""Faults and bad input, end to end through the CLI.

Each case states what a user relies on (docs STYLE.md, "Errors a user sees"): a user error prints one
line naming the problem and what to do, exits with code 2, shows no traceback, and leaves what was
already written as it was. Cases that must just work (odd folder names, SQLite storage, two runs at
once) check that they do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchbench.cli import app

runner = CliRunner()

SMOKE = ["--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", "1", "--seeds", "0", "--max-epochs", "1"]


def bench(*args):
    return runner.invoke(app, [*map(str, args)])


def _bench_env() -> dict[str, str]:
    """The environment of a `bench` subprocess: one thread, a known width, no results folder or storage
    from the caller's environment."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120"}
    env.pop("BENCH_RESULTS", None)
    env.pop("BENCH_STORAGE", None)
    return env


def assert_one_line_error(out, *words: str) -> str:
    """Exit code 2, one line on stderr that names each of `words`, no traceback anywhere."""
    assert out.exit_code == 2, (out.exit_code, out.output, out.exception)
    assert out.exception is None or isinstance(out.exception, SystemExit), repr(out.exception)
    assert "Traceback" not in out.output
    assert out.stderr.count("\n") == 1, out.stderr
    for word in words:
        assert word in out.stderr, (word, out.stderr)
    return out.stderr


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (the leaderboards, the journal, ...)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".claim.lock"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A results folder holding one finished smoke run of adding/lstm (search and its leaderboards)."""
    folder = tmp_path_factory.mktemp("finished") / "results"
    out = bench("run", *SMOKE, "--results", folder)
    assert out.exit_code == 0, out.output
    return folder


@pytest.fixture
def copy_of_finished(finished, tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    folder = tmp_path / "results"
    shutil.copytree(finished, folder)
    return folder


# 1. A damaged results journal ---------------------------------------------------------------------
# Optuna's journal is append-only: a crash mid-write leaves a last line without its newline, and any
# other damage (garbage appended, a torn line in the middle) makes every later line unreadable. A
# command that reads or writes it refuses with one line naming the file and the byte where the damage
# starts, and changes nothing: the file stays byte for byte as it was, so a user can repair it (truncate
# it to that byte) or move it aside.


def _truncate_mid_line(journal: Path) -> int:
    data = journal.read_bytes()
    cut = data.rindex(b"\n", 0, len(data) - 1) + 20  # 20 bytes into the last line
    journal.write_bytes(data[:cut])
    return data.rindex(b"\n", 0, len(data) - 1) + 1


def _append_garbage(journal: Path) -> int:
    size = journal.stat().st_size
    with journal.open("ab") as f:
        f.write(b"\x00\x00garbage{not json\n")
    return size


def _garbage_in_the_middle(journal: Path) -> int:
    lines = journal.read_bytes().splitlines(keepends=True)
    at = sum(map(len, lines[:3]))
    journal.write_bytes(b"".join(lines[:3]) + b"{\"op_code\": 1, torn\n" + b"".join(lines[3:]))
    return at


DAMAGE = {"truncated mid-line": _truncate_mid_line, "garbage appended": _append_garbage, "torn line inside": _garbage_in_the_middle}
COMMANDS = {
    "leaderboard": lambda results: ["leaderboard", "--results", results],
    "leaderboard --format json": lambda results: ["leaderboard", "--format", "json", "--results", results],
    "run": lambda results: ["run", *SMOKE, "--results", results],
    "show": lambda results: ["show", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--results", results],
    "importance": lambda results: ["importance", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--results", results],
    "compare": lambda results: ["compare", "--results", results],
    "report": lambda results: ["report", "--results", results],
    "worker": lambda results: ["worker", "--study", "adding/lstm/smoke", "--results", results],
    "baseline save": lambda results: ["baseline", "save", "--results", results],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_journal_is_refused_naming_the_file_and_byte_and_left_as_it_is(copy_of_finished, damage, command):
    journal = copy_of_finished / "studies.journal"
    at = DAMAGE[damage](journal)
    before = _tree(copy_of_finished)
    out = bench(*COMMANDS[command](copy_of_finished))
    assert_one_line_error(out, str(journal), f"byte {at}")
    assert _tree(copy_of_finished) == before  # not repaired, not appended to, no leaderboard rewritten


def test_a_journal_that_is_a_folder_is_refused(results):
    (results / "studies.journal").mkdir(parents=True)
    for args in (["leaderboard"], ["run", *SMOKE]):
        out = bench(*args, "--results", results)
        assert_one_line_error(out, str(results / "studies.journal"))
    assert (results / "studies.journal").is_dir()


def test_an_emptied_journal_says_there_are_no_results_in_it(copy_of_finished):
    # An empty journal is what Optuna leaves when a storage is opened and nothing is written yet:
    # there is nothing to recover, and the leaderboard names the file it found empty.
    journal = copy_of_finished / "studies.journal"
    journal.write_bytes(b"")
    out = bench("leaderboard", "--results", copy_of_finished)
    assert out.exit_code == 0 and "Traceback" not in out.output
    assert f"no results in {journal}" in out.stdout
    out = bench("leaderboard", "--format", "json", "--results", copy_of_finished)
    assert out.exit_code == 0 and json.loads(out.stdout) == [] and f"no results in {journal}" in out.stderr


def test_the_journal_before_damage_still_reads_once_truncated_at_the_named_byte(copy_of_finished):
    """What the refusal suggests works: truncating at the byte keeps every trial written before."""
    journal = copy_of_finished / "studies.journal"
    at = _append_garbage(journal)
    out = bench("leaderboard", "--format", "json", "--results", copy_of_finished)
    assert_one_line_error(out, f"byte {at}")
    os.truncate(journal, at)
    out = bench("leaderboard", "--format", "json", "--results", copy_of_finished)
    assert out.exit_code == 0, out.output
    assert any(row["model"] == "lstm" for row in json.loads(out.stdout))


# 2. Results folders that are a file, read-only, or oddly named --------------------------------------


def test_a_results_folder_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "results"
    path.write_bytes(b"not a folder")
    for args in (["run", *SMOKE], ["leaderboard"], ["worker", "--study", "adding/lstm/smoke"]):
        out = bench(*args, "--results", path)
        assert_one_line_error(out, str(path), "--results")
    assert path.read_bytes() == b"not a folder"


def test_a_results_folder_on_a_read_only_filesystem_is_refused():
    # Tests run as root, for whom chmod does not make a folder read-only; /proc refuses everyone.
    path = Path("/proc/benchbench-results")
    for args in (["run", *SMOKE], ["worker", "--study", "adding/lstm/smoke"]):
        out = bench(*args, "--results", path)
        assert_one_line_error(out, str(path), "not writable", "--results")


def _read_only(folder: Path) -> list[str]:
    """A command prefix that runs `bench` with `folder` read-only: chmod for a user, a read-only bind
    mount in a private mount namespace for root (whom chmod does not stop)."""
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return [sys.executable, "-m", "benchbench.cli"]
    mount = f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && exec \"$@\""
    probe = subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"root here cannot mount a folder read-only: {probe.stderr.strip()}")
    return ["unshare", "-m", "sh", "-c", mount, "sh", sys.executable, "-m", "benchbench.cli"]


def test_a_read_only_results_folder_is_read_and_refused_for_writing(copy_of_finished, tmp_path):
    """Results on a read-only mount (or another user's folder) can be read, ranked, shown and reported;
    a run into them is refused in one line; nothing in them changes."""
    before = _tree(copy_of_finished)
    prefix = _read_only(copy_of_finished)

    def run(*args):
        return subprocess.run([*prefix, *args, "--results", str(copy_of_finished)], env=_bench_env(), capture_output=True, text=True, timeout=120)

    board = run("leaderboard", "--format", "json")
    assert board.returncode == 0 and [r["model"] for r in json.loads(board.stdout) if r["kind"] != "baseline"] == ["lstm"], board.stderr
    shown = run("show", "--task", "adding", "--model", "lstm", "--budget", "smoke")
    assert shown.returncode == 0 and "rerun: bench train" in shown.stdout, shown.stderr
    report = run("report", "--out", str(tmp_path / "report.html"))
    assert report.returncode == 0 and (tmp_path / "report.html").stat().st_size > 0, report.stderr
    refused = run("run", *SMOKE)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "not writable" in refused.stderr, refused.stderr
    if os.geteuid() != 0:
        for path in [copy_of_finished, *copy_of_finished.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert _tree(copy_of_finished) == before


@pytest.mark.parametrize(
    "args, words",
    [
        (["report", "--out", "/proc/benchbench-report.html"], ["/proc/benchbench-report.html", "--out"]),
        (["report", "--out", "."], ["--out"]),
        (["baseline", "save", "--out", "/proc/benchbench/baseline.json"], ["/proc/benchbench/baseline.json", "--out"]),
    ],
)
def test_an_output_file_that_cannot_be_written_is_refused(copy_of_finished, args, words):
    before = _tree(copy_of_finished)
    out = bench(*args, "--results", copy_of_finished)
    assert_one_line_error(out, *words)
    assert _tree(copy_of_finished) == before


def test_bench_train_into_a_read_only_folder_is_refused():
    out = bench("train", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--max-epochs", "1",
                "--results", "/proc/benchbench-results")  # fmt: skip
    assert_one_line_error(out, "/proc/benchbench-results", "not writable", "--results")


def test_a_results_folder_below_a_file_is_refused(tmp_path):
    (tmp_path / "a-file").write_bytes(b"x")
    out = bench("run", *SMOKE, "--results", tmp_path / "a-file" / "results")
    assert_one_line_error(out, "not writable", "--results")
    assert (tmp_path / "a-file").read_bytes() == b"x"


def test_a_results_folder_named_with_spaces_and_non_ascii_just_works(tmp_path):
    folder = tmp_path / "my results" / "résultats ü 日本"
    out = bench("run", *SMOKE, "--results", folder)
    assert out.exit_code == 0, out.output
    assert (folder / "studies.journal").is_file() and (folder / "leaderboard.json").is_file()
    out = bench("leaderboard", "--format", "json", "--results", folder)
    assert out.exit_code == 0 and any(row["model"] == "lstm" for row in json.loads(out.stdout))


# 3. --storage URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, words",
    [
        ("not a url", ["not a supported URL", "postgresql://"]),
        ("postgresql:/missing-slashes", ["not a supported URL"]),
        ("mysql://user@host/db", ["not a supported URL", "postgresql://"]),
        ("redis://localhost:6379", ["not a supported URL"]),
        ("", ["not a supported URL"]),
        ("postgresql://nobody:secret@127.0.0.1:1/x", ["cannot open storage", "127.0.0.1:1"]),
    ],
)
@pytest.mark.parametrize("command", ["run", "leaderboard", "show"])
def test_a_bad_storage_url_is_refused_in_one_line(results, url, words, command):
    args = {
        "run": ["run", *SMOKE],
        "leaderboard": ["leaderboard"],
        "show": ["show", "--task", "adding", "--model", "lstm"],
    }[command]
    out = bench(*args, "--storage", url, "--results", results)
    err = assert_one_line_error(out, *words)
    assert "secret" not in err  # a password is never printed
    assert not (results / "studies.journal").exists()


def test_sqlite_storage_is_accepted(tmp_path, results):
    """SQLite is not advised for many writers, but a file lock beside the database serialises them."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    out = bench("run", *SMOKE, "--storage", url, "--results", results)
    assert out.exit_code == 0, out.output
    out = bench("leaderboard", "--format", "json", "--storage", url, "--results", results)
    assert out.exit_code == 0 and any(row["model"] == "lstm" for row in json.loads(out.stdout))


# 4. Numbers, options, presets and studies that do not exist -----------------------------------------

RUN = ["run", "--task", "adding", "--model", "lstm", "--budget", "smoke"]


@pytest.mark.parametrize(
    "option, value, words",
    [
        *[(o, v, [o, "positive"]) for o in ("--trials", "--max-epochs", "--timeout", "--top-k") for v in ("0", "-1")],
        *[(o, "-1", [o, "0 or more"]) for o in ("--seeds", "--jobs", "--threads")],
        *[(o, "abc", [o]) for o in ("--trials", "--max-epochs", "--timeout", "--top-k", "--seeds", "--jobs", "--threads", "--seed")],
        ("--timeout", "nan", ["--timeout", "positive"]),
        ("--trials", "1.5", ["--trials"]),
        ("--seed", "", ["--seed"]),
        ("--seed", "-1", ["--seed", "between 0 and 2147483647"]),
        ("--seed", str(2**32), ["--seed", "between 0 and 2147483647"]),
        ("--trials", str(10**30), ["--trials", "at most 2147483647"]),
        ("--seeds", str(10**24), ["--seeds", "at most 1000"]),
        ("--threads", str(10**9), ["--threads", "cores"]),
    ],
)
def test_a_bad_number_is_one_line_and_writes_nothing(results, option, value, words):
    out = bench(*RUN, option, value, "--results", results)
    assert_one_line_error(out, *words)
    assert not results.exists()


@pytest.mark.parametrize("option", ["--seeds", "--jobs", "--threads"])
def test_zero_is_allowed_where_it_means_something(option):
    """--seeds 0 skips the evaluation, --jobs 0 only plans, --threads 0 is torch's choice: no error
    before anything runs (checked by validation alone, to keep this cheap)."""
    from benchbench.sweep.config import SweepConfig, validate

    validate(SweepConfig(task="adding", model="lstm", budget="smoke", **{option[2:]: 0}))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--option", "nonsense=1"], ["nonsense"]),
        (["--option", "no-equals-sign"], ["--option", "key=value"]),
        (["--option", "=1"], ["--option", "key=value"]),
        (["--option", "seq_len=abc"], ["seq_len"]),
        (["--option", "seq_len=-5"], ["seq_len"]),
        (["--option", "seq_len=0"], ["seq_len"]),
        (["--budget", "huge"], ["--budget", "huge"]),
        (["--sampler", "nope"], ["--sampler", "nope"]),
    ],
)
def test_bad_options_of_bench_run_are_one_line(results, args, words):
    out = bench(*RUN, *args, "--results", results)
    assert_one_line_error(out, *words)
    assert not results.exists()


TRAIN = ["train", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--max-epochs", "1"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--preset", "no-such-preset"], ["no-such-preset"]),
        (["--set", "no_such_key=1"], ["no_such_key"]),
        (["--set", "lr"], ["--set", "key=value"]),
        (["--set", "lr=fast"], ["lr"]),
        (["--set", "hidden_size=-3"], ["hidden_size"]),
        (["--set", "dropout=1.5"], ["dropout"]),
        (["--max-epochs", "0"], ["--max-epochs"]),
        (["--seed", "x"], ["--seed"]),
    ],
)
def test_bad_options_of_bench_train_are_one_line(results, args, words):
    out = bench(*TRAIN, *args, "--results", results)
    assert_one_line_error(out, *words)
    assert not (results / "studies.journal").exists()


@pytest.mark.parametrize(
    "values, words",
    [
        ({"dropout": 1.5}, ["task 'adding' preset 'custom':", "dropout=1.5", "below 1"]),
        ({"lr": -1.0}, ["preset 'custom'", "lr=-1.0", "positive"]),
        ({"hidden_size": "big"}, ["preset 'custom'", "hidden_size='big'", "int"]),
        ({"no_such_key": 1}, ["preset 'custom'", "no_such_key"]),
        ({"optimizer": "newton"}, ["preset 'custom'", "optimizer='newton'", "choose one of"]),
    ],
)
def test_a_preset_with_bad_values_is_one_line(results, monkeypatch, values, words):
    """A preset's values pass the checks of --set (a task spec is a file a user can edit)."""
    from benchbench.tasks import Task

    presets = {"custom": {**values, "dataset": {}}}
    monkeypatch.setattr(Task, "preset", lambda self, name: presets[name])
    out = bench(*TRAIN, "--preset", "custom", "--results", results)
    assert_one_line_error(out, *words)
    assert not results.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["leaderboard", "--task", "nosuch"], ["task 'nosuch'", "tasks with results: adding"]),
        (["leaderboard", "--model", "nosuch"], ["family 'nosuch'", "families with results: lstm"]),
        (["leaderboard", "--format", "json", "--model", "lstm,gur"], ["family 'gur'"]),
        (["compare", "--task", "adding,nosuch"], ["task 'nosuch'"]),
        (["compare", "--model", "lstm,nosuch"], ["family 'nosuch'"]),
        (["baseline", "save", "--task", "nosuch"], ["task 'nosuch'"]),
    ],
)
def test_a_filter_that_matches_no_result_is_one_line(copy_of_finished, args, words):
    """A --task or --model that names nothing in the results is a typo to point out (with the names
    there are), not an empty table that looks like a lost run."""
    before = _tree(copy_of_finished)
    out = bench(*args, "--results", copy_of_finished)
    assert_one_line_error(out, str(copy_of_finished), *words)
    assert _tree(copy_of_finished) == before


@pytest.mark.parametrize("task, model, preset", [("exchange-rate", "gru", "lstnet-gru"), ("ptb", "lstm", "zaremba-small")])
def test_the_shipped_presets_pass_the_checks(task, model, preset):
    from benchbench.sweep.config import FixedConfig, validate
    from benchbench.tasks import load_task

    assert preset in load_task(task).presets
    validate(FixedConfig(task=task, model=model, preset=preset))


@pytest.mark.parametrize(
    "args, words",
    [
        (["show", "--task", "adding", "--model", "gru", "--budget", "smoke"], ["adding/gru/smoke"]),
        (["show", "--task", "nosuchtask", "--model", "lstm"], ["nosuchtask"]),
        (["importance", "--task", "adding", "--model", "gru", "--budget", "smoke"], ["adding/gru/smoke"]),
        (["worker", "--study", "adding/gru/smoke"], ["adding/gru/smoke"]),
        (["worker", "--study", "nonsense"], ["nonsense"]),
    ],
)
def test_commands_on_studies_that_do_not_exist_are_one_line(copy_of_finished, args, words):
    before = _tree(copy_of_finished)
    out = bench(*args, "--results", copy_of_finished)
    assert_one_line_error(out, *words)
    assert _tree(copy_of_finished) == before


@pytest.mark.parametrize("command", ["show", "importance"])
def test_reading_commands_on_an_empty_results_folder_are_one_line(results, command):
    out = bench(command, "--task", "adding", "--model", "lstm", "--results", results)
    assert_one_line_error(out, "bench run")


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_a_bad_worker_timeout_is_one_line(copy_of_finished, value):
    before = _tree(copy_of_finished)
    out = bench("worker", "--study", "adding/lstm/smoke", "--timeout", value, "--results", copy_of_finished)
    assert_one_line_error(out, "--timeout", "positive")
    assert _tree(copy_of_finished) == before


def test_a_bad_number_from_the_environment_is_one_line(results, monkeypatch):
    monkeypatch.setenv("BENCH_THREADS", "many")
    out = bench(*RUN, "--results", results)
    assert_one_line_error(out, "--threads", "BENCH_THREADS")
    assert not results.exists()


@pytest.mark.parametrize("trial", ["-1", "999"])
def test_show_of_a_trial_that_does_not_exist_is_one_line(copy_of_finished, trial):
    out = bench("show", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trial", trial, "--results", copy_of_finished)
    assert_one_line_error(out, f"no trial {trial}", "0-0")


def test_an_unknown_option_is_one_line(results):
    out = bench(*RUN, "--trails", "3", "--results", results)
    assert_one_line_error(out, "--trails")


def test_no_arguments_still_prints_the_help():
    out = bench()
    assert "Usage" in out.output and "run" in out.output


# 5. Baseline files for bench check ------------------------------------------------------------------

GOOD_CELL = {
    "task": "adding", "budget": "smoke", "model": "lstm", "metric": "mse", "direction": "minimize",
    "value": 0.1, "n_seeds": 1, "tolerance": {"relative": 0.1},
}  # fmt: skip


@pytest.mark.parametrize(
    "content, words",
    [
        (None, ["does not exist", "bench baseline save"]),
        (b"", ["not valid JSON"]),
        (b"{not json", ["not valid JSON"]),
        (b"\xff\xfe\x00garbage", ["baseline"]),
        (b"[1, 2, 3]", ["format"]),
        (b'{"format": "something-else"}', ["format"]),
        (b'"just a string"', ["format"]),
        (b"null", ["format"]),
        ("folder", ["cannot read"]),
    ],
)
def test_a_bad_baseline_file_is_one_line(copy_of_finished, tmp_path, content, words):
    path = tmp_path / "baseline.json"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    out = bench("check", "--baseline", path, "--results", copy_of_finished)
    assert_one_line_error(out, str(path), *words)
    if isinstance(content, bytes):
        assert path.read_bytes() == content


def _saved_baseline(results: Path, tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "baseline.json"
    out = bench("baseline", "save", "--out", path, "--results", results)
    assert out.exit_code == 0, out.output
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d.update(version=999), ["version"]),
        (lambda d: d.update(cells=[]), ["cells"]),
        (lambda d: d.update(cells={"a": 1}), ["cells"]),
        (lambda d: d["cells"][0].update(value="fast"), ["cells[0].value"]),
        (lambda d: d["cells"][0].update(direction="sideways"), ["cells[0].direction"]),
        (lambda d: d["cells"][0].pop("task"), ["cells[0].task"]),
    ],
)
def test_a_baseline_of_another_shape_is_one_line(copy_of_finished, tmp_path, change, words):
    path, document = _saved_baseline(copy_of_finished, tmp_path)
    change(document)
    path.write_text(json.dumps(document))
    before = path.read_bytes()
    out = bench("check", "--baseline", path, "--results", copy_of_finished)
    assert_one_line_error(out, str(path), *words)
    assert path.read_bytes() == before


def test_a_baseline_naming_cells_with_no_results_is_one_line(copy_of_finished, tmp_path):
    path, document = _saved_baseline(copy_of_finished, tmp_path)
    document["cells"].append({**document["cells"][0], "model": "gru"})
    path.write_text(json.dumps(document))
    out = bench("check", "--baseline", path, "--results", copy_of_finished)
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.stderr.count("\n") == 1 and "adding/gru/smoke" in out.stderr and "bench baseline save" in out.stderr


def test_a_baseline_against_an_empty_results_folder_is_one_line(copy_of_finished, tmp_path):
    path, _ = _saved_baseline(copy_of_finished, tmp_path)
    out = bench("check", "--baseline", path, "--results", tmp_path / "empty")
    assert_one_line_error(out, "no results")


# 6. Two runs of one cell at once on one results folder ----------------------------------------------


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_two_runs_of_the_same_cell_at_once_run_the_plan_exactly_once(tmp_path, storage):
    """Both exit 0, and the search and its evaluation hold exactly their planned trials, each finished
    once. SQLite is accepted for parallel writers: a file lock beside the database serialises them
    (its path has a space and non-ASCII characters too)."""
    import optuna
    from optuna.trial import TrialState

    from benchbench.store.trials import counted_trials
    from benchbench.store.storage import open_storage

    results = tmp_path / "results"
    url = f"sqlite:///{tmp_path / 'db ü' / 'studies.db'}" if storage == "sqlite" else None
    if url:
        (tmp_path / "db ü").mkdir()
    env = _bench_env()
    command = [sys.executable, "-m", "benchbench.cli", "run", *SMOKE[:-6], "--trials", "3", "--seeds", "1",
               "--max-epochs", "1", "--results", str(results), *(["--storage", url] if url else [])]  # fmt: skip
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=400) for p in procs]
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    storage = open_storage(results, url)
    for name in ("adding/lstm/smoke", "adding/lstm/smoke/eval"):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        counted = counted_trials(trials)
        assert len(counted) == int(study.user_attrs["planned"]), [(t.number, t.state) for t in trials]
        assert name.endswith("eval") or len(counted) == 3
        assert all(t.state == TrialState.COMPLETE for t in counted)


# 7. Ctrl-C during a trial -------------------------------------------------------------------------
# Under a real terminal Ctrl-C sends SIGINT to every process of the foreground group (the run and its
# worker processes). The run stops within seconds, says in one line what was kept, exits 130 (the
# shell's code for SIGINT), and leaves no trial RUNNING: the interrupted one is failed and queued again
# with its hyperparameters and seed, so the same command continues it and the plan ends exact.

# Trials long enough (10-30 s each) that a signal sent after the first epoch's output always lands
# mid-trial, even when the test process itself waits for a core on a busy machine.
INTERRUPTIBLE = [*SMOKE[:-6], "--trials", "2", "--seeds", "0", "--max-epochs", "100"]


def _default_signals() -> None:
    """In a child about to run `bench`: SIGINT and SIGTERM at their defaults, whatever this test process
    inherited or was left with (an ignored signal survives exec, and the child would never see it)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _ctrl_c_in_a_terminal(args: list[str], *, after: bytes, timeout: float = 120) -> tuple[int, str, float]:
    """Run `bench ARGS` in a pseudo-terminal, press Ctrl-C once its output shows `after`; returns
    (exit code, everything it printed, seconds from Ctrl-C to exit)."""
    import pty
    import select
    import signal
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: the session leader of the terminal, as a shell's foreground job
        _default_signals()
        os.execve(sys.executable, [sys.executable, "-m", "benchbench.cli", *args], _bench_env())
    output, pressed, start = b"", None, time.monotonic()
    try:
        while True:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the terminal closed: the child exited
                    break
                if not chunk:
                    break
                output += chunk
            if pressed is None and after in output:
                os.write(fd, b"\x03")  # the terminal turns it into SIGINT for the foreground group
                pressed = time.monotonic()
            if time.monotonic() - start > timeout:
                os.kill(pid, signal.SIGKILL)
                break
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert pressed is not None, output.decode(errors="replace")[-2000:]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace")).replace("\r", "")  # no colours, cursor moves
    return os.waitstatus_to_exitcode(status), text, time.monotonic() - pressed


def _trials(results: Path, name: str):
    import optuna

    from benchbench.store.storage import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(results)).get_trials(deepcopy=False)


def test_ctrl_c_in_a_terminal_stops_within_seconds_and_the_same_command_continues(tmp_path):
    from optuna.trial import TrialState

    from benchbench.store.trials import counted_trials

    results = tmp_path / "results"
    command = ["run", *INTERRUPTIBLE, "--results", str(results)]
    code, output, seconds = _ctrl_c_in_a_terminal(command, after=b"trial 0 \xc2\xb7 val")  # trial 0 has run an epoch
    assert code == 130, output[-2000:]
    assert seconds < 10, seconds
    assert "Traceback" not in output
    lines = [line[line.index("interrupted: ") :] for line in output.splitlines() if "interrupted: " in line]
    assert lines == [
        f"interrupted: 0 finished trials of adding/lstm/smoke are kept in {results / 'studies.journal'}; trial 0 was "
        "stopped and queued again; run the same command to continue"
    ], output[-2000:]
    trials = _trials(results, "adding/lstm/smoke")
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped, retry = trials[0], trials[-1]
    assert stopped.state == TrialState.FAIL and "interrupted" in stopped.user_attrs["fail_reason"]
    assert retry.state == TrialState.WAITING and retry.system_attrs["failed_trial"] == stopped.number
    assert retry.params == stopped.params and retry.user_attrs["seed"] == stopped.user_attrs["seed"]

    again = subprocess.run([sys.executable, "-m", "benchbench.cli", *command], env=_bench_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    trials = _trials(results, "adding/lstm/smoke")
    counted = counted_trials(trials)
    assert len(counted) == 2 and all(t.state == TrialState.COMPLETE for t in counted), [(t.number, t.state) for t in trials]
    assert next(t for t in trials if t.system_attrs.get("failed_trial") == 0).params == stopped.params


def test_sigint_to_a_run_with_worker_processes_reaches_them_and_queues_their_trials(tmp_path):
    """A `kill -INT` of the run alone (not its group) is passed on to its workers, which record
    their trials before the run exits."""
    import signal
    import time

    from optuna.trial import TrialState

    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchbench.cli", "run", *INTERRUPTIBLE, "--jobs", "2", "--results", str(results)],
        env=_bench_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_default_signals,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # both workers have claimed a trial
        time.sleep(0.5)
        if (results / "studies.journal").exists() and len(_running(results)) == 2:
            break
    time.sleep(2)  # into training
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted: 0 finished trials of adding/lstm/smoke are kept"), err[-2000:]
    trials = _trials(results, "adding/lstm/smoke")
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert len(stopped) == 2 and all("interrupted" in t.user_attrs["fail_reason"] for t in stopped)
    assert sorted(t.system_attrs["failed_trial"] for t in trials if t.state == TrialState.WAITING) == sorted(t.number for t in stopped)


def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path):
    """`kill`, `docker stop` or a batch scheduler's notice: the trial is recorded and queued again,
    one line, exit 143 (128 + SIGTERM)."""
    import signal
    import time

    from optuna.trial import TrialState

    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchbench.cli", "run", *INTERRUPTIBLE, "--results", str(results)],
        env=_bench_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _running(results):
        time.sleep(0.3)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("interrupted: 0 finished trials of adding/lstm/smoke are kept"), err[-2000:]
    trials = _trials(results, "adding/lstm/smoke")
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[1].system_attrs["failed_trial"] == 0


def _running(results: Path) -> list:
    from optuna.trial import TrialState

    if not (results / "studies.journal").exists():
        return []
    try:
        return [t for t in _trials(results, "adding/lstm/smoke") if t.state == TrialState.RUNNING]
    except KeyError:  # the study is not made yet
        return []


def test_ctrl_c_of_bench_train_says_the_trial_was_stopped(tmp_path):
    results = tmp_path / "results"
    command = ["train", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--max-epochs", "200", "--results", str(results)]
    code, output, seconds = _ctrl_c_in_a_terminal(command, after=b"trial 0 \xc2\xb7 val")
    assert code == 130 and seconds < 10 and "Traceback" not in output, output[-2000:]
    assert "interrupted: adding/lstm/fixed-smoke trial 0 was stopped and recorded as failed; run the command again to train it" in output
    assert [t.state.name for t in _trials(results, "adding/lstm/fixed-smoke")] == ["FAIL"]


def test_bench_run_on_an_emptied_journal_starts_the_plan_again(copy_of_finished):
    """An empty journal holds nothing to recover: the run plans and runs the study anew."""
    journal = copy_of_finished / "studies.journal"
    journal.write_bytes(b"")
    out = bench("run", *SMOKE, "--results", copy_of_finished)
    assert out.exit_code == 0, out.output
    assert "adding" in out.stdout and "lstm" in out.stdout
    assert [t.state.name for t in _trials(copy_of_finished, "adding/lstm/smoke")] == ["COMPLETE"]


# 8. A full disk ---------------------------------------------------------------------------------------


def test_a_full_disk_stops_the_run_in_one_line_and_the_same_command_continues(tmp_path):
    """The results folder on a 48 KiB filesystem fills up during the run: one line, exit 2, the trial
    it stopped is queued again, and once there is room the same command ends with the plan exact."""
    import optuna
    from optuna.trial import TrialState

    from benchbench.store.trials import counted_trials
    from benchbench.store.storage import open_storage

    if os.geteuid() != 0:
        pytest.skip("a small filesystem of its own needs root (a tmpfs in a private mount namespace)")
    disk, results = tmp_path / "disk", tmp_path / "disk" / "results"
    disk.mkdir()
    command = [sys.executable, "-m", "benchbench.cli", "run", *SMOKE[:-6], "--trials", "4", "--seeds", "2", "--max-epochs", "2",
               "--results", str(results)]  # fmt: skip
    script = (
        f"mount -t tmpfs -o size=48k tmpfs '{disk}' && {{ \"$@\"; first=$?; mount -o remount,size=4m '{disk}'; "
        f"echo SECOND >&2; \"$@\"; second=$?; cp -a '{disk}/.' '{tmp_path}/copy'; echo $first $second >&2; }}"
    )
    (tmp_path / "copy").mkdir()
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"root here cannot make a mount namespace: {probe.stderr.strip()}")
    out = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *command], env=_bench_env(), capture_output=True, text=True, timeout=300)
    first, second = out.stderr.split("SECOND\n")
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    errors = [line for line in first.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "no space left on the device" in errors[0] and "run the same command" in errors[0], first[-3000:]
    assert second.strip().splitlines()[-1] == "2 0", second[-3000:]
    copy = tmp_path / "copy" / "results"  # the folder as the second run left it (the tmpfs is gone)
    reasons = [t.user_attrs.get("fail_reason", "") for n in ("adding/lstm/smoke", "adding/lstm/smoke/eval") for t in _trials(copy, n)]
    # The stopped trial was queued again: with its reason when the disk still took that record, else
    # (the disk full from the first write on) as a dead worker's by the second run.
    assert any((r.startswith("no space left on the device") and r.endswith("queued again")) or r.endswith("died while running it; retried") for r in reasons), reasons
    for name in ("adding/lstm/smoke", "adding/lstm/smoke/eval"):
        trials = _trials(copy, name)
        counted = counted_trials(trials)
        # finished: complete, or stopped by the median pruner (which trials it stops depends on what the sampler proposed)
        assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in counted), [(t.number, t.state, t.user_attrs.get("fail_reason")) for t in trials]
        planned = optuna.load_study(study_name=name, storage=open_storage(copy)).user_attrs["planned"]
        assert len(counted) == int(planned) and (name.endswith("eval") or planned == 4)
