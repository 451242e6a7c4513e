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
import statistics
import time
from collections.abc import Callable

import torch
from rich.console import Console
from rich.table import Table

from benchbench.models import MODELS, create

WARMUP = 2


class _TorchLSTM(torch.nn.Module):
    """The yardstick: nn.LSTM, batch-first, one layer."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, object]:
        return self.lstm(x)


def _step(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], float]:
    """A function that runs forward + backward once and returns its wall time in seconds."""

    def run() -> float:
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        out, _ = model(x)  # (B, T, output_size)
        out.square().mean().backward()
        return time.perf_counter() - start

    return run


def measure(name: str, x: torch.Tensor, hidden_size: int, reps: int) -> dict:
    """First-call and median times of family `name` and of nn.LSTM, alternating call by call."""
    torch.manual_seed(0)
    start = time.perf_counter()
    model = create(name, input_size=x.shape[-1], hidden_size=hidden_size).train()
    run = _step(model, x)
    run()
    first = time.perf_counter() - start  # building the model and its first call
    run_ref = _step(_TorchLSTM(x.shape[-1], hidden_size), x)
    for _ in range(WARMUP):
        run(), run_ref()
    times, ref_times = [], []
    for _ in range(reps):
        ref_times.append(run_ref())
        times.append(run())
    ms, ref_ms = statistics.median(times) * 1e3, statistics.median(ref_times) * 1e3
    return {"first_ms": first * 1e3, "ms": ms, "ref_ms": ref_ms, "ratio": ms / ref_ms}


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
    torch.manual_seed(0)
    x = torch.randn(args.B, args.T, args.I)  # (B, T, I): data, so no gradient of its own
    rows: dict[str, dict | str] = {}
    for name in args.family or MODELS.names():
        try:
            rows[name] = measure(name, x, args.H, args.reps)
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
                name, f"{row['first_ms']:.0f}", f"{row['ms']:.1f}", f"{row['ref_ms']:.1f}", f"{row['ratio']:.2f}"
            )
    Console().print(table)


if __name__ == "__main__":
    main()
