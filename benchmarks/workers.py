"""Trials per hour with `--jobs 1` against `--jobs N`, side by side in one run on this machine.

Each setting runs the same seeded sweep (`bench run`, the adding task's default data, no pruning, no
final evaluation) into a fresh results folder, through the installed console script, and the wall
time covers everything a user waits for: start-up, data, every trial, the leaderboard. With one job
the process uses every core for its intra-op threads; with N jobs each worker gets cores / N.

    python benchmarks/workers.py                    # jobs 1 vs 2, 8 trials of 2 epochs each
    python benchmarks/workers.py --jobs 1 2 4 --trials 12 --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from benchbench.store.storage import open_storage


def measure(jobs: int, trials: int, epochs: int, model: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        results = Path(tmp)
        command = [
            str(Path(sys.executable).parent / "bench"), "run", "--task", "adding", "--model", model,
            "--trials", str(trials), "--max-epochs", str(epochs), "--pruner", "none", "--seeds", "0",
            "--jobs", str(jobs), "--results", str(results),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name=f"adding/{model}/default", storage=open_storage(results))
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        train_time = sum(t.user_attrs["wall_time"] for t in done)
    return {
        "jobs": jobs, "trials": len(done), "wall_s": round(wall, 1), "trials_per_hour": round(len(done) * 3600 / wall, 1),
        "mean_trial_s": round(train_time / len(done), 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = [measure(j, args.trials, args.epochs, args.model) for j in args.jobs]
    base = rows[0]["trials_per_hour"]
    for row in rows:
        row["speedup"] = round(row["trials_per_hour"] / base, 2)
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2))
        return
    print(f"adding/{args.model}, default data, {args.trials} trials x {args.epochs} epochs, {os.cpu_count()} CPUs")
    print(f"{'jobs':>4} {'trials':>6} {'wall s':>8} {'trials/h':>9} {'s/trial':>8} {'speedup':>8}")
    for r in rows:
        print(f"{r['jobs']:>4} {r['trials']:>6} {r['wall_s']:>8} {r['trials_per_hour']:>9} {r['mean_trial_s']:>8} {r['speedup']:>8}")


if __name__ == "__main__":
    main()
