"""benchmarks/gpu.py, the one script a GPU machine runs, runs here first: `--device cpu --quick` goes
through every section's code on the CPU and writes every figure; `--device cuda` without a GPU stops
at once with one line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    environment.pop("OUT", None)
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=environment, timeout=900)


def test_quick_cpu_run_measures_every_section(tmp_path):
    out = tmp_path / "gpu.json"
    done = _run("--device", "cpu", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["environment"]["device"] == "cpu" and figures["sections"] == ["tests", "equality", "syncs", "sweeps", "bf16", "cells", "jobs"]
    for section in figures["sections"]:
        assert "error" not in figures[section], (section, figures[section]["error"])
    for shape, rows in figures["cells"].items():
        if isinstance(rows, dict):
            assert all(math.isfinite(row["ratio"]) and row["ratio"] > 0 for row in rows.values()), shape
    assert figures["tests"]["passed"] and figures["equality"]["all_equal"] and figures["syncs"]["all_zero"] and figures["bf16"]["all_finite"]
    assert all(row["ok"] and row["devices"] == ["cpu"] for row in figures["sweeps"].values() if isinstance(row, dict) and "ok" in row)
    assert [figures["jobs"][f"jobs={n}"]["complete"] for n in (1, 2)] == [2, 4]
    assert [figures["jobs"][f"jobs={n}"]["worker_processes"] for n in (1, 2)] == [1, 2]  # not a process per trial
    assert figures["jobs"]["best"] in ("jobs=1", "jobs=2") and figures["jobs"]["jobs=2"]["gpu_util_mean"] is None
    assert "ptb" not in figures  # its time is printed and recorded (wall_s), not asserted: a shared machine varies
    assert "equality:" in done.stdout and "trials/hour" in done.stdout  # every figure is printed too


def test_cuda_without_a_gpu_stops_first_with_one_line(tmp_path):
    if torch.cuda.is_available():
        return  # this machine has one: the other test's run and the cuda tests cover it
    out = tmp_path / "gpu.json"
    done = _run("--device", "cuda", "--out", str(out))
    assert done.returncode == 2 and "sees no CUDA GPU" in done.stderr and done.stderr.strip().count("\n") == 0
    assert not out.exists()


def test_out_defaults_to_the_out_folder(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--only", "equality"],
        capture_output=True, text=True, env={**os.environ, "OUT": str(tmp_path)}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "gpu.json").read_text())["equality"]["all_equal"]


def test_unknown_section_is_one_line():
    done = _run("--device", "cpu", "--only", "cells,nope")
    assert done.returncode == 2 and "unknown section 'nope'" in done.stderr


def test_ptb_figures_are_read_past_anything_printed_before_them():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    figures = {"test": 112.9, "naive_test": {"unigram": 666.6}, "device": "cuda:0"}
    printed = "GPU available: True (cuda), used: True\n{ not json\n" + json.dumps(figures, indent=2) + "\n"
    assert gpu._last_json(printed) == figures
