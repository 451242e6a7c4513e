"""Every reader on a shared PostgreSQL storage: two `bench worker`s fill a study, then the leaderboard,
the report, `baseline save` and `check` read it with --storage and agree with the same studies read
from a journal file. Real processes, a real server (tests/postgres.py)."""

from __future__ import annotations

import json
import re
import subprocess

import optuna
import pytest

from benchbench.store.storage import open_storage

from tests.postgres import postgres_server
from tests.sweep.test_workers import _env, bench_cmd, run_bench_workers

STUDY = "adding/gru/smoke"


def _bench(*args, timeout: int = 400) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args), env=_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A study planned on PostgreSQL, filled by two workers; its studies copied into a journal."""
    root = tmp_path_factory.mktemp("shared")
    with postgres_server() as url:
        plan = _bench(
            "run", "--task", "adding", "--model", "gru", "--budget", "smoke", "--trials", 4, "--max-epochs", 2,
            "--seeds", 2, "--pruner", "none", "--jobs", 0, "--storage", url, "--results", root / "plan",
        )  # fmt: skip
        assert plan.returncode == 0, plan.stderr[-2000:]
        run_bench_workers(STUDY, url, root)
        journal = root / "journal"
        journal.mkdir()
        for summary in optuna.get_all_study_summaries(open_storage(None, url), include_best_trial=False):
            optuna.copy_study(from_study_name=summary.study_name, from_storage=url, to_storage=open_storage(journal))
        yield url, journal, root


def _leaderboard(*where) -> list[dict]:
    out = _bench("leaderboard", *where, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_leaderboard_on_postgresql_is_the_journals(shared):
    url, journal, root = shared
    rows = _leaderboard("--storage", url, "--results", root / "empty")
    assert rows == _leaderboard("--results", journal)
    gru = next(r for r in rows if r["model"] == "gru")
    assert gru["trials"] == 4 and gru["n_seeds"] == 2 and gru["test_ci_low"] < gru["test_mean"] < gru["test_ci_high"]
    assert {r["model"] for r in rows if r["kind"] == "baseline"} == {"constant[value=1]", "train-mean"}
    table = _bench("leaderboard", "--storage", url, "--results", root / "empty").stdout
    assert "adding · budget smoke" in table and "gru" in table


def test_baseline_save_and_check_on_postgresql(shared):
    url, journal, root = shared
    saved = _bench("baseline", "save", "--storage", url, "--results", root / "empty", "--out", root / "pg.json")
    assert saved.returncode == 0, saved.stderr
    _bench("baseline", "save", "--results", journal, "--out", root / "journal.json")
    cells = lambda path: json.loads(path.read_text())["cells"]  # noqa: E731
    assert cells(root / "pg.json") == cells(root / "journal.json")
    for where in (("--storage", url, "--results", root / "empty"), ("--results", journal)):
        out = _bench("check", "--baseline", root / "pg.json", *where)
        assert out.returncode == 0 and "ok: 3 cells within tolerance" in out.stdout, out.stdout + out.stderr


def test_report_on_postgresql_draws_the_leaderboards_intervals(shared):
    url, _, root = shared
    out = _bench("report", "--storage", url, "--results", root / "w0", "--out", root / "report.html")
    assert out.returncode == 0, out.stderr
    page = (root / "report.html").read_text()
    gru = next(r for r in _leaderboard("--storage", url, "--results", root / "empty") if r["model"] == "gru")
    minus = float(re.search(r'"arrayminus":\[([^,\]]+)', page).group(1))
    plus = float(re.search(r'"array":\[([^,\]]+)', page).group(1))
    assert minus == pytest.approx(gru["test_mean"] - gru["test_ci_low"])
    assert plus == pytest.approx(gru["test_ci_high"] - gru["test_mean"])
    assert "gru: 2 seeds" in page


def test_run_with_storage_writes_the_leaderboard_files(shared):
    """Rerunning the finished cell against the server does no training and writes results/leaderboard.*."""
    url, _, root = shared
    results = root / "rerun"
    out = _bench(
        "run", "--task", "adding", "--model", "gru", "--budget", "smoke", "--trials", 4, "--max-epochs", 2,
        "--seeds", 2, "--pruner", "none", "--storage", url, "--results", results,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    written = json.loads((results / "leaderboard.json").read_text())
    assert written == _leaderboard("--storage", url, "--results", root / "empty")
    md = (results / "leaderboard.md").read_text()
    cells = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in md.splitlines() if line.startswith("|")]
    assert sum(row[3] == "gru" for row in cells) == 1  # one row, whatever the column padding


def test_a_storage_that_goes_away_mid_run_is_one_line_and_the_same_command_continues(tmp_path):
    """The PostgreSQL server dies during a trial: the run exits 2 with one line (no traceback), the
    finished trials stay, and once the server is back the same command fails the orphaned trial by
    its stopped heartbeat, retries it and ends with the plan exact."""
    import time

    from optuna.trial import TrialState

    from benchbench.store.trials import counted_trials

    from tests.postgres import own_postgres_server

    env = {**_env(), "BENCH_HEARTBEAT": "1", "BENCH_GRACE": "2"}
    with own_postgres_server() as server:
        command = bench_cmd("run", "--task", "adding", "--model", "gru", "--budget", "smoke", "--trials", 2, "--seeds", 0,
                            "--max-epochs", 20, "--storage", server.url, "--results", tmp_path)  # fmt: skip
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:  # until a trial is running
            time.sleep(0.3)
            try:
                trials = optuna.load_study(study_name=STUDY, storage=server.url).get_trials(deepcopy=False)
            except KeyError:  # not created yet
                continue
            if any(t.state == TrialState.RUNNING for t in trials):
                break
        time.sleep(1)
        server.stop()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err[-3000:]
        assert "Traceback" not in err and err.count("error: ") == 1, err[-3000:]
        assert "lost the connection to the storage" in err and "run the same command" in err
        server.start()
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
        assert again.returncode == 0, again.stderr[-3000:]
        trials = optuna.load_study(study_name=STUDY, storage=server.url).get_trials(deepcopy=False)
        counted = counted_trials(trials)
        assert len(counted) == 2 and all(t.state == TrialState.COMPLETE for t in counted), [(t.number, t.state) for t in trials]
        assert any(t.system_attrs.get("failed_trial") is not None for t in trials)  # the orphan was retried
