"""Reproduce Zaremba et al. 2014's small non-regularized LSTM on Penn Treebank.

Trains the task preset `zaremba-small` (2x200 LSTM, no dropout, init ±0.1, SGD lr 1 halved every
epoch after epoch 4, 13 epochs, clip 5, batch 20, unroll 20) exactly as

    bench train --task ptb --model lstm --preset zaremba-small

and prints validation and test perplexity beside the paper's (valid 120.7, test 114.5), the
relative difference, and the wall time. The target is test within 3% of 114.5. About half an hour
on 2 CPU cores. Needs PTB in $BENCH_DATA_DIR (or downloads it).

    python benchmarks/zaremba.py [--results DIR] [--max-epochs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchbench.sweep import FixedConfig, train_fixed

PAPER = {"val": 120.7, "test": 114.5}
TOLERANCE = 0.03


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=None, help="results folder (default: a temporary one)")
    parser.add_argument("--max-epochs", type=int, default=None, help="fewer epochs for a quick look")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    results = args.results or Path(tempfile.mkdtemp(prefix="zaremba-"))
    config = FixedConfig(task="ptb", model="lstm", max_epochs=args.max_epochs, results=results, preset="zaremba-small")
    _, run = train_fixed(config, show_progress=not args.json)
    figures = {
        "val": run.val,
        "test": run.test,
        "paper_val": PAPER["val"],
        "paper_test": PAPER["test"],
        "test_rel_diff": run.test / PAPER["test"] - 1,
        "within_3pct": abs(run.test / PAPER["test"] - 1) <= TOLERANCE,
        "epochs": run.epochs,
        "best_epoch": run.best_epoch + 1,
        "wall_time_s": run.wall_time,
        "device": run.device,
        "params": run.params,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"zaremba-small on PTB ({run.device}, {run.params:,} parameters, {run.epochs} epochs, best epoch {run.best_epoch + 1})")
    print(f"  {'':<6}{'ours':>10}{'paper':>10}{'diff':>9}")
    for split in ("val", "test"):
        ours, paper = figures[split], PAPER[split]
        print(f"  {split:<6}{ours:>10.2f}{paper:>10.1f}{ours / paper - 1:>+9.1%}")
    verdict = "within" if figures["within_3pct"] else "NOT within"
    print(f"  test is {verdict} 3% of the paper · wall time {run.wall_time / 60:.1f} min")


if __name__ == "__main__":
    main()
