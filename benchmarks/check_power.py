"""How often `bench check` cries wolf and how often it catches a real regression, for the old rule (a
fixed relative tolerance on the mean) and the rule of baseline version 2 (a one-sided Welch t-test on
the seeds, on log values for positive metrics, Holm-corrected across cells, AND the tolerance as the
practical margin), side by side.

Each cell is simulated from the spread its three evaluation seeds have in results/baselines/default.json
(the coefficient of variation of the seeds: its 95% t interval's half-width · √3 / t(0.975, 2), over
the mean): a saved baseline of 3 seeds and a rerun of 3 seeds drawn from the same distribution (an
honest rerun that is not bit-identical: another machine, thread count or torch), or with the rerun's
values made worse by 25% or by 2x (multiplied by 1.25 or 2 where lower is better, by 0.75 or 0.5
where higher is better). Positive metrics are drawn lognormal with the cell's mean and CV (seed noise
of an error is skewed: a few bad seeds, never below zero), a gamma of the same mean and CV as a check
of robustness; accuracy is drawn normal.

    python benchmarks/check_power.py            # 2000 simulated reruns per cell and case
    python benchmarks/check_power.py --reruns 500 --seed 1
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from benchbench.analysis.check import DEFAULT_TOLERANCE, REGRESSED, Cell, judge

# (cell, metric, direction, mean, CV of its seeds) from the version 1 results/baselines/default.json of
# 2026-12-03 00:17 UTC (the file the README figures were measured on; version 2 keeps every seed)
CELLS = [
    ("adding/gru", "mse", "minimize", 1.479e-4, 0.719),
    ("adding/lstm", "mse", "minimize", 4.193e-4, 0.158),
    ("ptb/gru", "perplexity", "minimize", 270.1, 0.016),
    ("sentiment/gru", "accuracy", "maximize", 82.19, 0.013),
    ("exchange-rate/lstm", "rse", "minimize", 0.01714, 0.001),
]
SEEDS = 3
CASES = [("honest rerun", 1.0), ("25% worse", 1.25), ("2x worse", 2.0)]


def draw(rng: np.random.Generator, mean: float, cv: float, metric: str, n: int, family: str) -> np.ndarray:
    """n seeds' test values of a cell with this mean and coefficient of variation."""
    if metric == "accuracy":
        return rng.normal(mean, cv * mean, n)
    if family == "gamma":
        shape = 1 / cv**2
        return rng.gamma(shape, mean / shape, n)
    sigma = math.sqrt(math.log1p(cv**2))
    return rng.lognormal(math.log(mean) - sigma**2 / 2, sigma, n)


def worsen(values: np.ndarray, factor: float, direction: str) -> np.ndarray:
    return values * factor if direction == "minimize" else values * (2 - factor if factor <= 2 else 0)


def old_rule(before: np.ndarray, now: np.ndarray, direction: str) -> bool:
    """Version 1: the mean moved the bad way by more than the relative tolerance."""
    moved = now.mean() - before.mean() if direction == "minimize" else before.mean() - now.mean()
    return bool(moved > DEFAULT_TOLERANCE["relative"] * abs(before.mean()))


def cell(name: str, metric: str, direction: str, before: np.ndarray) -> Cell:
    task, model = name.split("/")
    return Cell(task=task, budget="default", model=model, metric=metric, direction=direction, units="",
                value=float(before.mean()), n_seeds=len(before), tolerance=dict(DEFAULT_TOLERANCE),
                seeds=[float(v) for v in before])  # fmt: skip


def rates(rng: np.random.Generator, reruns: int, family: str) -> dict[tuple[str, str], tuple[float, float]]:
    """{(cell, case): (old rule's rate, new rule's rate)} of cells flagged REGRESSED, each cell alone."""
    out = {}
    for name, metric, direction, mean, cv in CELLS:
        for case, factor in CASES:
            old = new = 0
            for _ in range(reruns):
                before = draw(rng, mean, cv, metric, SEEDS, family)
                now = worsen(draw(rng, mean, cv, metric, SEEDS, family), factor, direction)
                old += old_rule(before, now, direction)
                (verdict,) = judge([cell(name, metric, direction, before)], [[float(v) for v in now]])
                new += verdict.status == REGRESSED
            out[name, case] = (old / reruns, new / reruns)
    return out


def family_wise(rng: np.random.Generator, reruns: int, family: str) -> tuple[float, float]:
    """Honest reruns of every cell at once: how often at least one cell is flagged (Holm across them)."""
    old = new = 0
    for _ in range(reruns):
        befores = [draw(rng, mean, cv, metric, SEEDS, family) for _, metric, _, mean, cv in CELLS]
        nows = [draw(rng, mean, cv, metric, SEEDS, family) for _, metric, _, mean, cv in CELLS]
        old += any(old_rule(b, n, c[2]) for b, n, c in zip(befores, nows, CELLS))
        cells = [cell(c[0], c[1], c[2], b) for c, b in zip(CELLS, befores)]
        new += any(v.status == REGRESSED for v in judge(cells, [[float(x) for x in n] for n in nows]))
    return old / reruns, new / reruns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=2000, help="simulated reruns per cell and case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    for family in ("lognormal", "gamma"):
        rng = np.random.default_rng(args.seed)
        table = rates(rng, args.reruns, family)
        print(f"\n{family} seeds, {SEEDS} vs {SEEDS}, {args.reruns} simulated reruns per row; share flagged REGRESSED")
        print(f"  old: mean worse by > {DEFAULT_TOLERANCE['relative']:.0%};  new: one-sided Welch (logs for positive "
              f"metrics) p < 0.05 after Holm AND mean worse by > {DEFAULT_TOLERANCE['relative']:.0%}")
        header = f"  {'cell':<20} {'metric':<10} {'CV':>6}  " + "  ".join(f"{case:>17}" for case, _ in CASES)
        print(header + "\n  " + " " * 40 + "  ".join(f"{'old':>8} {'new':>8}" for _ in CASES))
        for name, metric, _, _, cv in CELLS:
            figures = "  ".join(f"{table[name, case][0]:>8.1%} {table[name, case][1]:>8.1%}" for case, _ in CASES)
            print(f"  {name:<20} {metric:<10} {cv:>6.1%}  {figures}")
        old, new = family_wise(rng, args.reruns, family)
        print(f"  all {len(CELLS)} cells checked at once, honest reruns: any cell flagged {old:.1%} (old) vs {new:.1%} (new)")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
