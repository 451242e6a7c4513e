"""The GRU's two forms side by side: torch's nn.GRU (reset gate after the recurrent product) and the
reset-before form of Cho et al. 2014's final version (`--set reset_after=false`), trained on one task
with the same seed and settings, one process each (1 thread) at the same time. Prints the validation
metric after every epoch, the test value of the best epoch, and the wall time of each with their ratio.

    python benchmarks/gru_forms.py                               # Nottingham, 4 epochs (~2 min on 2 cores)
    python benchmarks/gru_forms.py --task jsb-chorales --epochs 40 --set batch_size=8 --set output_dropout=0.4
    python benchmarks/gru_forms.py --epochs 12 --json

Defaults are the Nottingham default budget's centre (220 units, Adam at 6.9e-3, output dropout 0.2,
windows of 100 frames, 16 tunes a step), where nn.GRU's form stays on a plateau near 4.7 and the
reset-before form does not. Needs the data in $BENCH_DATA_DIR (or downloads it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMS = {"nn.GRU (reset after)": "true", "reset before": "false"}
DEFAULTS = ("hidden_size=220", "lr=6.9e-3", "output_dropout=0.2")


def _curve(results: Path, metric: str) -> list[float]:
    """The validation metric after each epoch, from the run's Lightning CSV log."""
    (log,) = results.glob("logs/**/metrics.csv")
    with log.open() as handle:
        return [float(row[f"val_{metric}"]) for row in csv.DictReader(handle) if row.get(f"val_{metric}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="nottingham")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a hyperparameter for both forms (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    from benchbench.tasks import load_task

    metric = load_task(args.task).metric
    settings = dict(item.split("=", 1) for item in (*DEFAULTS, *args.set))
    root = Path(tempfile.mkdtemp(prefix="gru-forms-"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = {}
    for label, flag in FORMS.items():
        results = root / flag
        command = [
            sys.executable, "-m", "benchbench.cli", "train", "--task", args.task, "--model", "gru",
            "--max-epochs", str(args.epochs), "--seed", str(args.seed), "--results", str(results),
            "--set", f"reset_after={flag}", *(f"--set={k}={v}" for k, v in settings.items()),
        ]  # fmt: skip
        runs[label] = (results, time.perf_counter(), subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    figures = {}
    for label, (results, start, process) in runs.items():
        output, _ = process.communicate()
        if process.returncode:
            sys.exit(f"{label}: bench train exited {process.returncode}:\n{output[-2000:]}")
        summary = next(line for line in output.splitlines() if line.startswith(f"{args.task}/gru: val"))
        test = float(summary.split("test ")[1].split(" ")[0])
        figures[label] = {"val_by_epoch": _curve(results, metric), "test": test, "wall_s": time.perf_counter() - start}
    after, before = (figures[label] for label in FORMS)
    result = {
        "task": args.task, "epochs": args.epochs, "seed": args.seed, "settings": settings, "forms": figures,
        "time_ratio_before_over_after": before["wall_s"] / after["wall_s"],
    }  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"gru on {args.task}, {args.epochs} epochs, seed {args.seed}, " + " ".join(f"{k}={v}" for k, v in settings.items()))
    print(f"  {'epoch':>5}" + "".join(f"{label:>24}" for label in FORMS) + f"   (validation {metric})")
    for epoch in range(max(len(f["val_by_epoch"]) for f in figures.values())):
        row = [f["val_by_epoch"][epoch] if epoch < len(f["val_by_epoch"]) else float("nan") for f in figures.values()]
        print(f"  {epoch + 1:>5}" + "".join(f"{value:>24.4g}" for value in row))
    print(f"  {'test':>5}" + "".join(f"{f['test']:>24.4g}" for f in figures.values()) + "   (best validation epoch)")
    print(f"  {'wall':>5}" + "".join(f"{f['wall_s']:>23.0f}s" for f in figures.values()))
    print(f"  reset before / nn.GRU time: {result['time_ratio_before_over_after']:.2f}x")


if __name__ == "__main__":
    main()
