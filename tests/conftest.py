import os

import pytest
import torch

# Tests run side by side under xdist on few cores: one intra-op thread each avoids oversubscription.
torch.set_num_threads(1)


@pytest.fixture
def results(tmp_path, monkeypatch):
    """An empty results folder; BENCH_RESULTS from the environment must not leak into tests."""
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    return tmp_path / "results"


@pytest.fixture(autouse=True)
def _no_terminal_width_surprises(monkeypatch):
    monkeypatch.setenv("COLUMNS", os.environ.get("COLUMNS", "200"))
