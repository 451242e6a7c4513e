"""The package's layers (README, "What is where"): no module imports from a layer above its own, sweep
and analysis never import each other, and no import cycle exists (benchmarks/imports.py walks every
import, inside functions too). `bench --help` staying free of torch is tested in test_cli."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "imports.py"


def _imports():
    spec = importlib.util.spec_from_file_location("imports_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_upward_import_and_no_cycle(capsys):
    assert _imports().main() == 0, capsys.readouterr().out


def test_the_checker_finds_a_cycle_and_an_upward_import():
    check = _imports()
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert check.cycles(graph, sorted(graph)) == [["a", "b", "c"]]
    assert check.layer("benchbench.store.names") == "store" and check.layer("benchbench.cli") == "cli"
    assert check.RANK[check.layer("benchbench.render.text")] > check.RANK[check.layer("benchbench.store.storage")]
