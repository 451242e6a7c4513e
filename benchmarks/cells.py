"""Forward + backward time of every registered family against torch.nn.LSTM, side by side.

Each family is built with `benchbench.models.create(name, input_size=I, hidden_size=H)` (one layer)
and timed on the same batch (B, T, I) as an nn.LSTM of the same size: one call is a forward pass, a
mean-square loss on every output and its backward pass, as in a training step. The first call of a
fresh model (where any compilation or tracing a new trial would pay happens) is reported on its own;
then the family and nn.LSTM alternate for --reps calls each after a warm-up, and the ratio is the
median time of the family over the median of nn.LSTM measured in the same stretch, so that load from
other processes distorts the milliseconds more than the ratios. A family that fails to build or run at
these shapes shows its error in its row.

    python benchmarks/cells.py [--T 100] [--B 64] [--I 32] [--H 128] [--reps 10] [--threads 2] [--family NAME ...] [--json]
"""

from __future__ import annotations

import argparse
import json

import torch
from rich.console import Console
from rich.table import Table

from benchbench.device_checks import time_forward_backward
from benchbench.models import MODELS

WARMUP = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=100, help="sequence length")
    parser.add_argument("--B", type=int, default=64, help="batch size")
    parser.add_argument("--I", type=int, default=32, help="input features")
    parser.add_argument("--H", type=int, default=128, help="hidden size")
    parser.add_argument("--reps", type=int, default=10, help="timed calls per family (and as many of nn.LSTM)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--family", nargs="+", default=None, help="only these families (default: every registered one)")
    parser.add_argument("--json", action="store_true", help="print {family: ratio to nn.LSTM} as JSON")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    shape = {"T": args.T, "B": args.B, "I": args.I, "H": args.H}
    rows: dict[str, dict | str] = {}
    for name in args.family or MODELS.names():
        try:  # the same timing the GPU check uses (benchbench.device_checks), here on the CPU
            rows[name] = time_forward_backward(name, "cpu", **shape, reps=args.reps, warmup=WARMUP)
        except Exception as error:  # noqa: BLE001 -- a family that cannot run here is reported, not fatal
            rows[name] = f"{type(error).__name__}: {error}".splitlines()[0]

    if args.json:
        print(json.dumps({name: (row["ratio"] if isinstance(row, dict) else None) for name, row in rows.items()}))
        return
    table = Table(
        title=f"forward + backward, T={args.T} B={args.B} I={args.I} H={args.H}, "
        f"{args.threads} threads, median of {args.reps}"
    )
    for column in ("family", "first call ms", "ms", "nn.LSTM ms", "ratio"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for name, row in rows.items():
        if isinstance(row, str):
            table.add_row(name, f"[red]{row}[/red]", "", "", "")
        else:
            table.add_row(
                name, f"{row['first_call_ms']:.0f}", f"{row['ms']:.1f}", f"{row['lstm_ms']:.1f}", f"{row['ratio']:.2f}"
            )
    Console().print(table)


if __name__ == "__main__":
    main()
