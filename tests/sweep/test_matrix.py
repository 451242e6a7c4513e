"""Every registered family x every task, generated from the registries (new names need no new code).

- The all-pairs contract, through the library: each family is built on each task's smoke data, takes
  two training steps (finite loss, a finite gradient for every parameter) and one evaluation pass (the
  task's metric is finite), or, a bidirectional family on a causal task, is refused with one line.
- A short CLI diagonal: `bench run` at the smoke budget pairs task i with family i (cycling through
  the shorter list), so every task and every family runs end to end once and reaches the leaderboard.

The shared data folder has no copy of LSTNet's electricity file (see its README). Offline the task
must refuse with one line saying where to put the file (asserted below); its pairs then run on a
stand-in of the same format, the exchange-rate file, read by the electricity loader itself.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from functools import cache

import optuna
import pytest
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.contract import train_steps
from benchbench.data import lstnet
from benchbench.data.download import fetch
from benchbench.errors import BenchError
from benchbench.models import MODELS, is_bidirectional
from benchbench.store.storage import open_storage
from benchbench.tasks import load_task, task_names

# Tasks whose data file is not in $BENCH_DATA_DIR and cannot be downloaded in tests, with the file of
# the same format their loader reads instead.
STAND_INS = {"electricity": lstnet.EXCHANGE_RATE}
OFFLINE_MISSING = set(STAND_INS)

TASKS = task_names()
FAMILIES = MODELS.names()
BIDIRECTIONAL = {family for family in FAMILIES if is_bidirectional(family)}

runner = CliRunner()


def refused(task: str, family: str) -> bool:
    """A bidirectional family on a causal task sees what it predicts: refused."""
    return load_task(task).causal and family in BIDIRECTIONAL


def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No download and an empty per-user cache: data comes from $BENCH_DATA_DIR or nowhere."""
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@contextmanager
def _stand_in(task: str):
    """For a task in STAND_INS, its loader reads the stand-in file; other tasks load as they are."""
    if task not in STAND_INS:
        yield
        return
    remote = STAND_INS[task]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(lstnet, "fetch", lambda _: fetch(remote))  # the real fetch: found and checksummed
        yield


@cache
def smoke_data(task: str):
    """Each task's smoke splits, loaded once per test process."""
    with _stand_in(task):
        return load_task(task).load_data("smoke")


@pytest.mark.parametrize("task", sorted(OFFLINE_MISSING))
def test_offline_missing_data_is_a_one_line_error(task, tmp_path, monkeypatch):
    """If this fails because the data loads, the file is now in $BENCH_DATA_DIR: drop it from STAND_INS."""
    _offline(monkeypatch, tmp_path)
    with pytest.raises(BenchError) as err:
        load_task(task).load_data("smoke")
    message = str(err.value)
    assert "\n" not in message and "BENCH_DATA_DIR" in message


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", TASKS)
def test_contract(task, family):
    """Two training steps (finite loss, a finite gradient for every parameter) and a validation pass
    (the task's metric is finite), or, a bidirectional family on a causal task, a one-line refusal:
    `benchbench.contract.train_steps`, which `bench check-model` runs too."""
    train_steps(task, family, smoke_data(task))


def test_every_causal_task_refuses_every_bidirectional_family_through_the_cli(tmp_path, monkeypatch):
    """The CLI refuses before anything is written, in one line, exit code 2."""
    pairs = [(task, family) for task in TASKS for family in FAMILIES if refused(task, family)]
    assert pairs, "no causal task x bidirectional family left to check"
    for task, family in pairs:
        results = tmp_path / f"{task}-{family}"
        out = runner.invoke(app, ["run", "--task", task, "--model", family, "--budget", "smoke", "--results", str(results)])
        assert out.exit_code == 2, out.output
        line = out.stderr.strip()
        assert "\n" not in line and "bidirectional" in line and "Traceback" not in out.output
        assert not results.exists()


@pytest.mark.parametrize("task", sorted(OFFLINE_MISSING))
def test_cli_says_where_to_put_missing_data(task, tmp_path, monkeypatch):
    results = tmp_path / "results"
    family = next(f for f in FAMILIES if not refused(task, f))
    _offline(monkeypatch, tmp_path)
    out = runner.invoke(app, ["run", "--task", task, "--model", family, "--budget", "smoke", "--results", str(results)])
    assert out.exit_code == 2, out.output
    line = out.stderr.strip()
    assert "\n" not in line and "BENCH_DATA_DIR" in line and "Traceback" not in out.output
    assert not results.exists()


def _diagonal() -> list[tuple[str, str]]:
    """Task i with family i, cycling through the shorter list; a refused pair takes the family's next
    allowed task instead."""
    pairs = []
    for i in range(max(len(TASKS), len(FAMILIES))):
        family = FAMILIES[i % len(FAMILIES)]
        candidates = [TASKS[(i + k) % len(TASKS)] for k in range(len(TASKS))]
        pairs.append((next(task for task in candidates if not refused(task, family)), family))
    return pairs


DIAGONAL = _diagonal()


def test_diagonal_runs_every_task_and_every_family():
    assert {task for task, _ in DIAGONAL} == set(TASKS)
    assert {family for _, family in DIAGONAL} == set(FAMILIES)


@pytest.mark.parametrize("task, family", DIAGONAL, ids=[f"{t}-{f}" for t, f in DIAGONAL])
def test_cli_diagonal(task, family, tmp_path, monkeypatch):
    results = tmp_path / "results"
    _offline(monkeypatch, tmp_path)
    with _stand_in(task):
        out = runner.invoke(
            app,
            ["run", "--task", task, "--model", family, "--budget", "smoke", "--trials", "1", "--seeds", "1", "--results", str(results)],
        )  # fmt: skip
    assert out.exit_code == 0, out.output
    study = optuna.load_study(study_name=f"{task}/{family}/smoke", storage=open_storage(results))
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert math.isfinite(trial.value) and math.isfinite(trial.user_attrs["test"])
    (evaluation,) = optuna.load_study(study_name=f"{task}/{family}/smoke/eval", storage=open_storage(results)).trials
    assert evaluation.state == optuna.trial.TrialState.COMPLETE and evaluation.params == trial.params
    rows = json.loads((results / "leaderboard.json").read_text())
    (row,) = [r for r in rows if r["kind"] == "model"]
    assert (row["task"], row["model"], row["trials"]) == (task, family, 1)
    assert math.isfinite(row["test"]) and row["params"] == trial.user_attrs["params"] > 0
    assert family in out.stdout  # the leaderboard printed after the run shows it
