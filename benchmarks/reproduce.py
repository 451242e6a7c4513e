"""Reproduce a published result from a task preset and print ours beside theirs.

    python benchmarks/reproduce.py zaremba-small    # Zaremba et al. 2014, small LSTM on PTB (~50 min, 2 cores)
    python benchmarks/reproduce.py lstnet-gru       # LSTNet's GRU baseline on exchange-rate (~10 min, 2 cores)
    python benchmarks/reproduce.py bai-lstm         # Bai et al. 2018's LSTM on JSB Chorales (also bai-gru, bai-rnn)
    python benchmarks/reproduce.py bai-lstm --task nottingham   # the same at Nottingham's 1M parameters

Each trains exactly what `bench train --task T --model M --preset P` trains (the preset's comment
in the task spec says what it follows and where it differs), then prints validation and test beside
the published figures of the spec's matching reference, the relative difference, the naive
baselines on the same splits, and the wall time. Needs the data in $BENCH_DATA_DIR (or downloads it).

    python benchmarks/reproduce.py PRESET [--task TASK] [--results DIR] [--max-epochs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchbench.sweep.config import FixedConfig, parse_overrides
from benchbench.sweep.run import train_fixed
from benchbench.tasks import load_task

PRESETS = {  # preset -> (its task unless --task names another whose spec has it, family)
    "zaremba-small": ("ptb", "lstm"),
    "lstnet-gru": ("exchange-rate", "gru"),
    "bai-lstm": ("jsb-chorales", "lstm"),
    "bai-gru": ("jsb-chorales", "gru"),
    "bai-rnn": ("jsb-chorales", "rnn"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("--task", default=None, help="another task whose spec has the preset (e.g. nottingham)")
    parser.add_argument("--results", type=Path, default=None, help="results folder (default: a temporary one)")
    parser.add_argument("--max-epochs", type=int, default=None, help="fewer epochs for a quick look")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a dataset option, e.g. scale=file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    options = parse_overrides(args.option, flag="--option")

    task_name, model = PRESETS[args.preset]
    task_name = args.task or task_name
    task = load_task(task_name)
    if args.preset not in task.presets:
        parser.error(f"task {task_name} has no preset {args.preset}; its presets: {', '.join(sorted(task.presets)) or 'none'}")
    reference = next(r for r in task.references if r.model == model and not r.options)  # the spec's own setting
    results = args.results or Path(tempfile.mkdtemp(prefix=f"{args.preset}-"))
    config = FixedConfig(
        task=task_name, model=model, max_epochs=args.max_epochs, results=results, preset=args.preset, options=options
    )
    _, run = train_fixed(config, show_progress=not args.json)

    from benchbench.analysis.leaderboard import BASELINE, collect

    frame = collect(results)
    naive = {row["model"]: row["test"] for _, row in frame[frame["kind"] == BASELINE].iterrows()}
    figures = {
        "command": f"bench train --task {task_name} --model {model} --preset {args.preset}"
        + (f" --max-epochs {args.max_epochs}" if args.max_epochs else "")
        + "".join(f" --option {k}={v}" for k, v in options),
        "val": run.val,
        "test": run.test,
        **{f"test_{k}": v for k, v in run.test_extra.items()},
        "published_val": reference.val,
        "published_test": reference.test,
        **{f"published_test_{k}": v for k, v in reference.extra.items()},
        "published_source": reference.source,
        "test_rel_diff": run.test / reference.test - 1,
        "naive_test": naive,
        "epochs": run.epochs,
        "best_epoch": run.best_epoch + 1,
        "wall_time_s": run.wall_time,
        "device": run.device,
        "params": run.params,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    metric = task.metric
    print(f"{args.preset}: {figures['command']}")
    print(f"  {run.device}, {run.params:,} parameters, {run.epochs} epochs, best epoch {run.best_epoch + 1}")
    print(f"  {metric:<12}{'ours':>10}{'published':>11}{'diff':>9}")
    for split in ("val", "test"):
        ours, theirs = figures[split], getattr(reference, split)
        diff = f"{ours / theirs - 1:>+9.1%}" if theirs else f"{'':>9}"
        print(f"  {split:<12}{ours:>10.4g}{'—' if theirs is None else format(theirs, '.4g'):>11}{diff}")
    for name, value in run.test_extra.items():
        theirs = reference.extra.get(name)
        print(f"  test {name:<7}{value:>10.4g}{'—' if theirs is None else format(theirs, '.4g'):>11}")
    for name, value in naive.items():
        print(f"  naive {name}: test {value:.4g}")
    print(f"  published: {reference.source} · {reference.note}")
    print(f"  wall time {run.wall_time / 60:.1f} min")


if __name__ == "__main__":
    main()
