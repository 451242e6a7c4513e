"""The search as a user experiences it: candidate samplers and pruners side by side, on cheap versions
of real tasks, over independent seeds, at equal trials and at equal time, in one run.

Each search is the product's own path (plan_search -> load_study -> Objective -> work): the study's
sampler, start-up and pruner are built from its attributes exactly as `bench run` builds them. One
process, one intra-op thread, the searches run one after another.

Candidates (phase 1, every one with today's median pruner):
    tpe-10     today's default: TPE after Optuna's 10 random start-up trials
    tpe-share  TPE after samplers.startup_share(trials) random trials (a third, 3 to 10)
    gp         Optuna's GPSampler after the same start-up
    random     random search
    qmc        scrambled Sobol points
Phase 2: the best phase-1 candidate (mean rank at equal time over the tasks, on the first seed) with
the hyperband pruner (--pruners hyperband halving for successive halving too), planned for 3x the
trials but stopped once it has used the CPU time its median-pruned run used on the same task and
seed: at equal time it tries more configurations. Both phases run seed by seed, so a run stopped
early by --minutes has every candidate on the same seeds.

"Time" is the CPU time of this process from the search's start (sampler and training, one thread):
the machine is shared, and CPU seconds are what a busy neighbour cannot inflate; wall seconds are
printed beside them. At equal time, a task and seed's cut is the smallest total time of its
candidates; each candidate's best is taken over the trials it had finished by then.

    OMP_NUM_THREADS=1 python benchmarks/search.py                # 2 tasks x 3 seeds x 8 trials
    OMP_NUM_THREADS=1 python benchmarks/search.py --procs 2 --minutes 24   # two at a time, none started after 24 min
    python benchmarks/search.py --trials 4 --seeds 1 --tasks adding --json out.json   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

# Cheap versions of two real tasks: the same code paths, a fraction of the data and epochs.
TASKS = {
    "adding": {"options": {"seq_len": 10, "train_size": 4096, "val_size": 512, "test_size": 512}, "epochs": 3},
    "uci-pm25": {"options": {"stride": 8, "limit": 1500}, "epochs": 3},
}
SEED_STEP = 1000  # seed k's base seed is k * SEED_STEP: its trial seeds (base + n) never meet another's


@dataclass(frozen=True)
class Candidate:
    name: str
    sampler: str
    pruner: str = "median"
    startup: int | None = None  # None: samplers.startup_share(trials)
    more: int = 1  # planned trials as a multiple of --trials; stopped by the time cap


PHASE1 = [
    Candidate("tpe-10", "tpe", startup=10),
    Candidate("tpe-share", "tpe"),
    Candidate("gp", "gp"),
    Candidate("random", "random"),
    Candidate("qmc", "qmc"),
]


def run_search(task: str, spec: dict, candidate: Candidate, seed: int, trials: int, cap: float | None, model: str) -> dict:
    """One search into a fresh results folder; returns its trials with the time each finished at."""
    import optuna

    from benchbench.sweep.config import SweepConfig, validate
    from benchbench.sweep.objective import Objective, trial_data
    from benchbench.sweep.studies import load_study, plan_search
    from benchbench.sweep.workers import work

    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        config = SweepConfig(
            task=task, model=model, trials=trials * candidate.more, max_epochs=spec["epochs"], seed=seed,
            results=Path(tmp), options=tuple(sorted(spec["options"].items())), sampler=candidate.sampler,
            pruner=candidate.pruner, startup=candidate.startup, seeds=0,
        )  # fmt: skip
        if candidate.startup is None:  # a start-up suited to `trials` (also for the pruned runs of 3x the trials)
            from benchbench.sweep.samplers import startup_share

            config = replace(config, startup=startup_share(trials))
        task_spec = validate(config)
        trial_data(task_spec, config.budget, dict(config.options))  # loaded before the clock starts (cached)
        created, planned, _ = plan_search(task_spec, config)
        study = load_study(config.store, created.study_name)
        objective = Objective(study, config.store)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        done = []
        for k in range(1, planned + 1):
            work(study, objective, planned=k, results_dir=config.store.results)
            trial = study.get_trials(deepcopy=False)[-1]
            done.append({
                "number": trial.number, "state": trial.state.name, "val": trial.value,
                "test": trial.user_attrs.get("test") if trial.state == optuna.trial.TrialState.COMPLETE else None,
                "cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0,
            })  # fmt: skip
            if cap is not None and done[-1]["cpu"] >= cap:
                break
        startup = study.user_attrs.get("startup")
    return {"task": task, "candidate": candidate.name, "seed": seed, "startup": startup, "trials": done}


def best(trials: list[dict], direction: str) -> tuple[float, float] | tuple[None, None]:
    """(val, test) of the best complete trial, or (None, None)."""
    complete = [t for t in trials if t["state"] == "COMPLETE" and t["val"] is not None and math.isfinite(t["val"])]
    if not complete:
        return None, None
    pick = (min if direction == "minimize" else max)(complete, key=lambda t: t["val"])
    return pick["val"], pick["test"]


def summarise(runs: list[dict], trials: int, directions: dict[str, str]) -> dict:
    """Per task and candidate: the best (val, test) of each seed at equal trials and at equal time.
    Only task x seed pairs every phase-1 candidate finished are counted (a run stopped by --minutes)."""
    first = {r["candidate"] for r in runs if "+" not in r["candidate"]}
    whole = {(t, s) for t, s in {(r["task"], r["seed"]) for r in runs}
             if first <= {r["candidate"] for r in runs if (r["task"], r["seed"]) == (t, s)}}  # fmt: skip
    runs = [r for r in runs if (r["task"], r["seed"]) in whole]
    cuts = {}  # (task, seed) -> the smallest total time over its candidates
    for run in runs:
        key = (run["task"], run["seed"])
        total = run["trials"][-1]["cpu"] if run["trials"] else 0.0
        cuts[key] = min(cuts.get(key, math.inf), total)
    table: dict[str, dict[str, dict]] = {}
    for run in runs:
        direction = directions[run["task"]]
        cut = cuts[(run["task"], run["seed"])]
        by_time = [t for t in run["trials"] if t["cpu"] <= cut + 1e-9]
        row = table.setdefault(run["task"], {}).setdefault(run["candidate"], {"trials": [], "time": [], "n_time": [], "cpu": [], "wall": []})
        row["trials"].append(best(run["trials"][:trials], direction))
        row["time"].append(best(by_time, direction))
        row["n_time"].append(len(by_time))
        row["cpu"].append(run["trials"][-1]["cpu"] if run["trials"] else 0.0)
        row["wall"].append(run["trials"][-1]["wall"] if run["trials"] else 0.0)
    for task, rows in table.items():
        for column in ("trials", "time"):
            order = _sign(directions[task]) * 1.0
            medians = {name: _median([v for v, _ in row[column]]) for name, row in rows.items()}
            for name in rows:  # 1 is best; ties share their mean rank; a candidate with no value ranks last
                mine = medians[name]
                if math.isnan(mine):
                    rows[name][f"rank_{column}"] = float(len(rows))
                    continue
                better = sum(1 for m in medians.values() if not math.isnan(m) and order * m < order * mine)
                tied = sum(1 for m in medians.values() if m == mine)
                rows[name][f"rank_{column}"] = better + (tied + 1) / 2
    return table


def _sign(direction: str) -> int:
    return 1 if direction == "minimize" else -1


def _median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else math.nan


def _spread(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{_g(statistics.median(values))} [{_g(min(values))}, {_g(max(values))}]"


def _g(x: float) -> str:
    return f"{x:.4g}"


def mean_ranks(table: dict, column: str) -> dict[str, float]:
    names = set.intersection(*(set(rows) for rows in table.values()))
    return {n: statistics.mean(rows[n][f"rank_{column}"] for rows in table.values()) for n in names}


def render(table: dict, trials: int, seeds: int) -> str:
    lines = []
    for task, rows in table.items():
        spec = TASKS[task]
        lines.append(f"\n{task} ({', '.join(f'{k}={v}' for k, v in spec['options'].items())}, {spec['epochs']} epochs), "
                     f"up to {seeds} seeds (n: seeds run): best validation value and its test value, median [min, max]")  # fmt: skip
        lines.append(f"{'candidate':<20} {'n':>2} {'@' + str(trials) + ' trials: val':>32} {'test':>30} {'rank':>4} | "
                     f"{'@equal time: trials':>19} {'val':>30} {'test':>30} {'rank':>4} | {'cpu s':>6} {'wall s':>6}")  # fmt: skip
        for name, row in sorted(rows.items(), key=lambda kv: kv[1]["rank_time"]):
            lines.append(
                f"{name:<20} {len(row['trials']):>2} {_spread([v for v, _ in row['trials']]):>32} {_spread([t for _, t in row['trials']]):>30} "
                f"{row['rank_trials']:>4g} | {statistics.median(row['n_time']):>19} {_spread([v for v, _ in row['time']]):>30} "
                f"{_spread([t for _, t in row['time']]):>30} {row['rank_time']:>4g} | {statistics.median(row['cpu']):>6.0f} "
                f"{statistics.median(row['wall']):>6.0f}"
            )  # fmt: skip
    for column, label in (("trials", "equal trials"), ("time", "equal time")):
        ranks = mean_ranks(table, column)
        lines.append(f"mean rank over tasks at {label}: " + ", ".join(f"{n} {r:.1f}" for n, r in sorted(ranks.items(), key=lambda kv: kv[1])))
    return "\n".join(lines)


def _one(job, trials: int, model: str) -> dict:
    import torch

    torch.set_num_threads(1)
    task, candidate, seed, cap = job
    return run_search(task, TASKS[task], candidate, seed, trials, cap, model)


def _run_all(jobs: list, args, directions: dict[str, str], stop_at: float) -> list[dict]:
    """Run the searches, `--procs` at a time (separate processes, one intra-op thread each: their CPU
    clocks are their own), starting none after `stop_at` (time.monotonic()); returns those that ran,
    in the order of `jobs`."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    def report(r: dict) -> None:
        last = r["trials"][-1]
        print(f"  {r['task']} {r['candidate']} seed {r['seed']}: {len(r['trials'])} trials, best "
              f"{best(r['trials'], directions[r['task']])}, cpu {last['cpu']:.0f}s wall {last['wall']:.0f}s", flush=True)  # fmt: skip

    if args.procs == 1:
        out = []
        for job in jobs:
            if time.monotonic() > stop_at:
                break
            out.append(_one(job, args.trials, args.model))
            report(out[-1])
        return out
    import multiprocessing

    results: dict[int, dict] = {}
    with ProcessPoolExecutor(args.procs, mp_context=multiprocessing.get_context("spawn")) as pool:
        queue, running = list(enumerate(jobs)), {}
        while queue or running:
            while queue and len(running) < args.procs and time.monotonic() <= stop_at:
                i, job = queue.pop(0)
                running[pool.submit(_one, job, args.trials, args.model)] = i
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                results[running.pop(future)] = future.result()
                report(future.result())
    return [results[i] for i in sorted(results)]


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--trials", type=int, default=8, help="trials per search (equal-trials column)")
    parser.add_argument("--seeds", type=int, default=3, help="independent seeds per candidate and task")
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--candidates", nargs="+", default=[c.name for c in PHASE1])
    parser.add_argument("--no-pruner-phase", action="store_true", help="skip phase 2 (the best with hyperband / halving)")
    parser.add_argument("--pruners", nargs="+", default=["hyperband"], help="pruners of phase 2 (hyperband, halving)")
    parser.add_argument("--procs", type=int, default=1, help="searches run at once, each its own process and core")
    parser.add_argument("--minutes", type=float, help="start no search after this many minutes of wall time; summarise what ran")
    parser.add_argument("--json", type=Path, help="also write every trial and the summary here")
    parser.add_argument("--first-seed", type=int, default=0, help="index of the first seed (seeds k * 1000)")
    parser.add_argument("--chosen", help="the phase-1 candidate whose pruned variants run (default: the first seed's best)")
    parser.add_argument("--merge", type=Path, nargs="+", help="--json files of earlier runs summarised with this one")
    args = parser.parse_args()
    import optuna
    import torch

    from benchbench.tasks import load_task

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    directions = {t: load_task(t).direction for t in args.tasks}
    seeds = [k * SEED_STEP for k in range(args.first_seed, args.first_seed + args.seeds)]
    start, cpu_start, load_start = time.perf_counter(), time.process_time(), _uptime()
    print(f"start: {load_start}", flush=True)
    stop_at = time.monotonic() + args.minutes * 60 if args.minutes else math.inf
    # Seed by seed (stopped early by --minutes, every candidate has the same seeds done): the phase-1
    # candidates, then the pruned variants of the best of them, chosen on the first seed.
    runs, chosen = [], args.chosen
    for seed in seeds:
        jobs = [(task, c, seed, None) for task in args.tasks for c in PHASE1 if c.name in args.candidates]
        runs += _run_all(jobs, args, directions, stop_at)
        if not runs:
            raise SystemExit(f"no search ran before the --minutes {args.minutes} limit")
        if chosen is None:
            ranks = mean_ranks(summarise(runs, args.trials, directions), "time")
            chosen = min(ranks, key=lambda n: (ranks[n], n))
            print(f"best at equal time on the first seed: {chosen} (its pruned variants run next)", flush=True)
        if args.no_pruner_phase:
            continue
        base = next(c for c in PHASE1 if c.name == chosen)
        jobs = []
        for pruner in args.pruners:
            candidate = replace(base, name=f"{chosen}+{pruner}", pruner=pruner, more=3)
            for task in args.tasks:
                own = next((r for r in runs if r["task"] == task and r["seed"] == seed and r["candidate"] == chosen), None)
                if own is not None:
                    jobs.append((task, candidate, seed, own["trials"][-1]["cpu"]))
        runs += _run_all(jobs, args, directions, stop_at)
    for path in args.merge or []:  # earlier runs of this script (--json), e.g. other seeds
        runs += json.loads(path.read_text())["runs"]
    table = summarise(runs, args.trials, directions)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(render(table, args.trials, len({(r["seed"]) for r in runs})))
    searched = sum(r["trials"][-1]["cpu"] for r in runs if r["trials"]) / 60
    print(f"\nran {wall / 60:.1f} min wall; the searches' CPU: {searched:.1f} min (+ {cpu / 60:.1f} min of this process), "
          f"{args.procs} at a time, one intra-op thread each, {os.cpu_count()} CPUs")
    print(f"load at start: {load_start}\nload at end:   {_uptime()}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "table": table, "wall_s": wall, "cpu_s": cpu, "tasks": TASKS}, indent=1, default=str))


if __name__ == "__main__":
    main()
