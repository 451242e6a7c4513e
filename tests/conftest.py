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


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` need a CUDA GPU: skipped where there is none (benchmarks/gpu.sh runs them on one)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (run by benchmarks/gpu.sh on the GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _signal_dispositions_restored():
    """A command stopped in-process (Ctrl-C, SIGTERM, Lightning's own handling of a KeyboardInterrupt)
    may leave SIGINT or SIGTERM ignored in this test process; every later `bench` subprocess would
    inherit the ignored signal and never see a Ctrl-C. Each test gets the handlers it started with."""
    import signal

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        if signal.getsignal(sig) is not handler and handler is not None:
            signal.signal(sig, handler)
