"""Trials per hour with `--jobs 1` against `--jobs N`, side by side in one run on this machine.

Each setting runs the same seeded sweep (`bench run`, the adding task's default data, no pruning, no
final evaluation) into a fresh results folder, through a console script, and the wall time covers
everything a user waits for: start-up, data, every trial, the leaderboard. Every setting trains the
same configurations with the same seeds: the study is planned first (`--jobs 0`) and its trials are
queued with hyperparameters drawn once by a seeded random sampler, so the settings differ only in
how the work is spread, not in which (faster or slower) configurations a sampler happened to propose.

Two figures per setting: `trials/h`, over the command's whole wall time (start-up, imports and
planning, which do not shrink with more workers, included), and `steady/h`, from the first trial's
start to the last one's end (how fast the workers go once running). `--bench` compares installs in
one invocation (e.g. the main checkout's console script against this one's).

    python benchmarks/workers.py                    # jobs 1 vs 2, 8 trials of 2 epochs each
    python benchmarks/workers.py --jobs 1 2 4 --trials 16 --json
    python benchmarks/workers.py --bench /work/main/.venv/bin/bench .venv/bin/bench
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


def configurations(trials: int, model: str, seed: int = 0) -> list[dict]:
    """`trials` configurations of the adding task's default search space for `model`, drawn once."""
    from benchbench.space import suggest
    from benchbench.tasks import load_task

    space = load_task("adding").search_space(model, "default")
    draws = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(trials):
        trial = draws.ask()
        suggest(trial, space)
        out.append(dict(trial.params))
        draws.tell(trial, 0.0)
    return out


def measure(bench: str, jobs: int, trials: int, epochs: int, model: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        results = Path(tmp)
        command = [
            bench, "run", "--task", "adding", "--model", model, "--trials", str(trials), "--max-epochs", str(epochs),
            "--pruner", "none", "--seeds", "0", "--results", str(results),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        subprocess.run([*command, "--jobs", "0"], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        name = f"adding/{model}/default"
        study = optuna.load_study(study_name=name, storage=open_storage(results))
        for params in configurations(trials, model):
            study.enqueue_trial(params)
        start = time.perf_counter()
        subprocess.run([*command, "--jobs", str(jobs)], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name=name, storage=open_storage(results))
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        train_time = sum(t.user_attrs["wall_time"] for t in done)
        span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    return {
        "bench": bench, "jobs": jobs, "trials": len(done), "wall_s": round(wall, 1),
        "trials_per_hour": round(len(done) * 3600 / wall, 1), "steady_per_hour": round(len(done) * 3600 / span, 1),
        "mean_trial_s": round(train_time / len(done), 2),
    }  # fmt: skip


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--bench", nargs="+", default=[str(Path(sys.executable).parent / "bench")], help="console scripts to compare")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    load_before = _uptime()
    rows = []
    for bench in args.bench:
        mine = [measure(bench, j, args.trials, args.epochs, args.model) for j in args.jobs]
        for row in mine:
            row["speedup"] = round(row["trials_per_hour"] / mine[0]["trials_per_hour"], 2)
            row["steady_speedup"] = round(row["steady_per_hour"] / mine[0]["steady_per_hour"], 2)
        rows += mine
    load_after = _uptime()
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after, "rows": rows}, indent=2))
        return
    print(f"adding/{args.model}, default data, {args.trials} trials x {args.epochs} epochs (the same configurations and seeds in every setting), {os.cpu_count()} CPUs")
    print(f"{'bench':<40} {'jobs':>4} {'trials':>6} {'wall s':>8} {'trials/h':>9} {'speedup':>8} {'steady/h':>9} {'speedup':>8} {'s/trial':>8}")
    for r in rows:
        print(
            f"{r['bench'][-40:]:<40} {r['jobs']:>4} {r['trials']:>6} {r['wall_s']:>8} {r['trials_per_hour']:>9} {r['speedup']:>8} "
            f"{r['steady_per_hour']:>9} {r['steady_speedup']:>8} {r['mean_trial_s']:>8}"
        )  # fmt: skip
    print(f"load before: {load_before}\nload after:  {load_after}")


if __name__ == "__main__":
    main()
