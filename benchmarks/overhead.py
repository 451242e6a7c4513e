"""Per-trial overhead of `fit_and_test` against a plain PyTorch loop doing the same work, side by side.

Both train the same module (`training.build_model`, same seed, so the same weights and batch order)
on the adding task's default data for the same epochs: Adam, gradient-norm clipping, an evaluation
on validation after every epoch keeping the best weights, and one test evaluation of them. The plain
loop is what a trial cannot do with less: batches sliced from the split's tensors by a seeded
permutation, `loss.backward(); clip; step()`, the metric summed on validation and test. `fit_and_test` runs as a sweep calls it, with its per-epoch CSV log
(into a temporary folder). The two alternate for --reps runs each and the ratio is the median of
`fit_and_test` over the median of the plain loop measured in the same stretch, so that load from
other processes moves the seconds more than the ratio; the CPU-time ratio (process time, all threads)
is printed too, as what other processes' load moves least.

Configurations: "small" is the issue's (hidden 57, batch 32, one layer: 256 steps an epoch); "large"
is hidden 128, batch 128 (64 steps an epoch, each four times the arithmetic).

    python benchmarks/overhead.py [--epochs 3] [--reps 3] [--threads 1 2] [--config small large] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from benchbench.metrics import in_units
from benchbench.tasks import load_task
from benchbench.training import TrainConfig, build_model, fit_and_test, quiet_lightning

CONFIGS = {
    "small": {"hidden_size": 57, "num_layers": 1, "batch_size": 32, "lr": 3e-3, "gradient_clip": 1.0},
    "large": {"hidden_size": 128, "num_layers": 1, "batch_size": 128, "lr": 3e-3, "gradient_clip": 1.0},
}
MODEL = "lstm"
SEED = 0


def plain(task, data, hparams: dict, epochs: int) -> tuple[float, float]:
    """The same trial as a bare loop; returns (best validation MSE, its test MSE)."""
    torch.manual_seed(SEED)
    train_options = {k: v for k, v in hparams.items() if k in ("batch_size", "lr", "gradient_clip")}
    config = TrainConfig(max_epochs=epochs, seed=SEED, **train_options)
    module = build_model(task, MODEL, hparams, data, config)
    metric = module.metrics[0]
    optimizer = torch.optim.Adam(module.parameters(), lr=config.lr)
    eval_batch = max(config.batch_size, 256)
    generator = torch.Generator().manual_seed(SEED)

    def batches(split, batch_size: int, shuffle: bool):  # slices of the split's tensors, no per-example collation
        x, y = split.tensors  # (N, T, I), (N, 1)
        if shuffle:  # the draws a shuffling DataLoader makes from its generator, so the batches are the same
            torch.empty((), dtype=torch.int64).random_(generator=generator)  # its workers' base seed
            order = torch.randperm(len(x), generator=generator)
        else:
            order = torch.arange(len(x))
        for i in range(0, len(x), batch_size):
            index = order[i : i + batch_size]
            yield x[index], y[index]

    def evaluate(split) -> float:
        module.eval()
        sums = None
        with torch.no_grad():
            for x, y in batches(split, eval_batch, False):
                pred, _ = module(x)
                pred, y = in_units(pred, y, module.target_scale, module.target_offset)
                batch = metric.stats(pred, y)
                sums = batch if sums is None else sums + batch
        return metric.finalize(sums)

    best, best_state = None, None
    for _ in range(epochs):
        module.train()
        for x, y in batches(data.train, config.batch_size, True):
            pred, _ = module(x)
            loss = module.kind.loss(pred, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), config.gradient_clip)
            optimizer.step()
        value = evaluate(data.val)
        if best is None or value < best:
            best, best_state = value, copy.deepcopy(module.state_dict())
    module.load_state_dict(best_state)
    return best, evaluate(data.test)


def lightning(task, data, hparams: dict, epochs: int, log_dir: Path, run: int) -> tuple[float, float]:
    result = fit_and_test(
        task, MODEL, hparams, data=data, max_epochs=epochs, seed=SEED, log_dir=log_dir, log_name="overhead",
        log_version=f"{torch.get_num_threads()}-{hparams['hidden_size']}-{run}",
    )  # fmt: skip
    return result.val, result.test


def measure(task, data, name: str, epochs: int, reps: int, log_dir: Path) -> dict:
    hparams = CONFIGS[name]
    lightning(task, data, hparams, 1, log_dir, -1)  # warm-up: imports, first-call costs
    plain(task, data, hparams, 1)
    times, ref_times, cpu, ref_cpu, figures = [], [], [], [], {}
    for rep in range(reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        figures["plain"] = plain(task, data, hparams, epochs)
        ref_times.append(time.perf_counter() - start)
        ref_cpu.append(time.process_time() - start_cpu)
        start, start_cpu = time.perf_counter(), time.process_time()
        figures["fit_and_test"] = lightning(task, data, hparams, epochs, log_dir, rep)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    s, ref_s = statistics.median(times), statistics.median(ref_times)
    return {
        "fit_and_test_s": s, "plain_s": ref_s, "ratio": s / ref_s, "cpu_ratio": statistics.median(cpu) / statistics.median(ref_cpu),
        "spread": (max(times) - min(times)) / s, "test": figures["fit_and_test"][1], "plain_test": figures["plain"][1],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3, help="timed runs of each, alternating")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch intra-op threads")
    parser.add_argument("--config", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()

    quiet_lightning()
    task = load_task("adding")
    data = task.load_data("default")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        for threads in args.threads:
            torch.set_num_threads(threads)
            for name in args.config:
                row = measure(task, data, name, args.epochs, args.reps, Path(tmp))
                rows.append({"threads": threads, "config": name, **row})
                if not args.json:  # a row as soon as it is measured: the whole table takes minutes
                    print(f"threads {threads} {name}: ratio {row['ratio']:.3f} (cpu {row['cpu_ratio']:.3f})", flush=True)
    if args.json:
        print(json.dumps(rows))
        return
    table = Table(title=f"adding, {MODEL}, {args.epochs} epochs, median of {args.reps}")
    for column in ("threads", "config", "fit_and_test s", "plain loop s", "ratio", "cpu ratio", "spread", "test MSE (fit / plain)"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            str(r["threads"]), r["config"], f"{r['fit_and_test_s']:.2f}", f"{r['plain_s']:.2f}", f"{r['ratio']:.3f}",
            f"{r['cpu_ratio']:.3f}", f"{r['spread']:.0%}", f"{r['test']:.4g} / {r['plain_test']:.4g}",
        )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
