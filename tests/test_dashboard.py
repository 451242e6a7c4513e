"""`bench dashboard`: the optional extra missing, present (a fake server: no test starts one), and --help."""

import sys
import types

from optuna.storages import JournalStorage
from typer.testing import CliRunner

from benchbench.cli import app
from tests.synthetic import add_study

runner = CliRunner()


def test_without_the_extra_it_says_how_to_install_it(results, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # `import optuna_dashboard` raises ImportError
    add_study(results)
    out = runner.invoke(app, ["dashboard", "--results", str(results)])
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and "pip install 'benchbench[dashboard]'" in out.stderr


def _fake_dashboard(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    fake = types.ModuleType("optuna_dashboard")
    fake.run_server = lambda storage, host, port: calls.append((storage, host, port))
    monkeypatch.setitem(sys.modules, "optuna_dashboard", fake)
    return calls


def test_serves_the_results_journal(results, monkeypatch):
    calls = _fake_dashboard(monkeypatch)
    add_study(results)
    out = runner.invoke(app, ["dashboard", "--results", str(results), "--port", "8123", "--host", "0.0.0.0"])
    assert out.exit_code == 0, out.output
    [(storage, host, port)] = calls
    assert isinstance(storage, JournalStorage) and (host, port) == ("0.0.0.0", 8123)
    assert [s.study_name for s in storage.get_all_studies()] == ["adding/lstm/default"]
    assert "http://0.0.0.0:8123/" in out.stdout


def test_no_results_is_one_line_and_creates_nothing(results, monkeypatch):
    calls = _fake_dashboard(monkeypatch)
    out = runner.invoke(app, ["dashboard", "--results", str(results)])
    assert out.exit_code == 2 and "run `bench run" in out.stderr and not calls
    assert not results.exists()


def test_help():
    out = runner.invoke(app, ["dashboard", "--help"])
    assert out.exit_code == 0
    assert "--port" in out.stdout and "--host" in out.stdout and "optuna-dashboard" in out.stdout
