"""Which family wins across tasks, and by how much against a reference family. Reads results; never trains.

Two views of the leaderboard's family rows (analysis/leaderboard.py), each budget on its own:

- across tasks, as benchmark papers compare classifiers over datasets (Demšar 2006; Benavoli et al.
  2016): each family's average rank over the tasks where every compared family has a result (ranked
  by the test mean of the selected configuration, in each task's own direction; ties share the
  average rank), the omnibus test over those ranks: Iman and Davenport's F (which decides: Demšar
  2006 recommends it over Friedman's χ², conservative with few tasks) with Friedman's χ² beside it,
  then, only where the omnibus test rejects, Nemenyi's post-hoc test with its critical difference
  (scikit-posthocs); and pairwise Wilcoxon signed-rank tests over tasks of the relative differences,
  Holm-corrected over the pairs, exact (method="exact": every sign pattern, no scipy-version
  dependent approximation) where no difference is zero or tied, the normal approximation
  (method="approx") named as such otherwise. A family without a result on a task most families ran
  is left out (the test keeps its tasks); a task fewer than half of the families ran is left out.
  With too few tasks for a test to reach p < 0.05 even when every task agrees (for Wilcoxon: after
  Holm over the pairs), the test is not run and one line says so, with the tasks it would need.
- against a reference family (Greff et al. 2017): per task, each family's difference from the
  reference in the task's units and in percent, a t-test over the evaluation seeds, Holm-corrected
  across every comparison of the budget, and a verdict. Evaluation seeds are the same for every
  family (seed + 10000 + i), so where both sides have two or more seeds in common the paired t-test
  (scipy.stats.ttest_rel) decides; elsewhere Welch's t-test does; the `test` column says which.
  Beside each verdict, the smallest difference the seeds could have detected with 80% power
  (`detectable`, two-sided t-test at ALPHA, from the observed spreads of both sides) and, per task,
  from the reference's spread alone with as many seeds a side (`task_detectable_pct`): "no significant
  difference" with a detectable difference of 30% says the seeds could not tell 20% apart, not
  that the families are equal.

Every view is a DataFrame of `Comparison`; rich tables, CSV, Markdown and JSON are renderings of them
(render/compare.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.analysis.frame import read
from benchbench.analysis.leaderboard import MODEL, leaderboard
from benchbench.errors import BenchError
from benchbench.registry import parse_names
from benchbench.stats import holm, is_finite
from benchbench.store.storage import StorageSpec

__all__ = [
    "AGAINST_COLUMNS", "ALPHA", "BETTER", "MIN_TASKS", "PAIR_COLUMNS", "RANK_COLUMNS", "SAME", "TEST_COLUMNS", "WORSE",
    "Comparison", "analyse", "compare", "default_reference",
]  # fmt: skip

ALPHA = 0.05  # significance level of every test and of the critical difference
MIN_TASKS = 3  # below this the Friedman test's chi-square approximation means nothing

RANK_COLUMNS = ["budget", "model", "avg_rank", "n_tasks", "task_ranks"]
PAIR_COLUMNS = [
    "budget", "model", "versus", "model_rank", "versus_rank", "rank_diff", "n_tasks", "wins", "ties", "losses",
    "p_wilcoxon", "p_wilcoxon_holm", "p_nemenyi", "critical_difference", "beyond_cd", "verdict",
]  # fmt: skip
TEST_COLUMNS = [
    "budget", "n_tasks", "n_families", "tasks", "families", "friedman_statistic", "friedman_p",
    "iman_davenport_statistic", "iman_davenport_p", "critical_difference", "friedman_note", "posthoc_note",
    "wilcoxon_note",
]  # fmt: skip
LEFT_OUT_COLUMNS = ["budget", "view", "kind", "name", "reason"]
AGAINST_COLUMNS = [
    "budget", "task", "model", "reference", "metric", "direction", "units", "mean", "reference_mean", "diff",
    "diff_pct", "n_seeds", "reference_seeds", "n_paired", "p_welch", "p_paired", "test", "p_value", "p_holm", "verdict",
    "detectable", "detectable_pct", "task_detectable_pct",
]  # fmt: skip
POWER = 0.8  # the power at which `detectable` differences are stated

BETTER, WORSE, SAME = "significantly better", "significantly worse", "no significant difference"
TOO_FEW_SEEDS = "too few seeds"  # fewer than 2 on a side: no test
TOO_FEW_TASKS = "too few tasks"
PAIRED, WELCH = "paired t", "Welch t"


@dataclass(frozen=True)
class Comparison:
    """The two views of one results folder, one DataFrame each (columns as named above)."""

    ranks: pd.DataFrame  # RANK_COLUMNS: a compared family's average rank per budget
    pairwise: pd.DataFrame  # PAIR_COLUMNS: each pair of compared families per budget, better-ranked first
    tests: pd.DataFrame  # TEST_COLUMNS: the Friedman test per budget, or why it was not run
    left_out: pd.DataFrame  # LEFT_OUT_COLUMNS: families and tasks left out of a view, with the reason
    against: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=AGAINST_COLUMNS))
    reference: str | None = None  # the family `against` compares with


# --- reading ---------------------------------------------------------------------------------------


def default_reference(models: Sequence[str]) -> str | None:
    """The family the report compares with when none is asked for: `peephole`, Greff et al.'s
    vanilla LSTM and the baseline of its variants, else `lstm`; None when neither has results."""
    return next((m for m in ("peephole", "lstm") if m in models), None)


def compare(
    where: StorageSpec | Path,
    *,
    task: str | Sequence[str] | None = None,
    model: Sequence[str] | None = None,
    budget: str | None = None,
    against: str | None = None,
) -> Comparison:
    """Compare the families in a storage (a results folder's journal, or an RDB URL) across tasks
    and, with `against`, with that family.

    `task` (a name, a comma-separated list or a list), `model` and `budget` keep only those rows (the reference family is kept whatever `model`
    says). An unknown family for `against`, or one without results, is a BenchError; so is a budget
    without results."""
    if isinstance(task, str):
        task = parse_names(task, flag="--task")
    if against is not None:
        if model is not None and against not in model:
            model = [*model, against]
    results = read(StorageSpec.of(where), task=task, model=model, strict=True)
    frame = _models_only(leaderboard(results))
    if budget is not None:
        budgets = sorted(frame["budget"].unique())
        frame = frame[frame["budget"] == budget]
        if frame.empty and budgets:
            raise BenchError(f"no results at budget {budget!r}; budgets with results: {', '.join(budgets)}")
    if against is not None:
        from benchbench.models import MODELS

        if against not in MODELS and against not in set(frame["model"]):  # a family given by reference has results only
            MODELS.get(against)  # an unknown name lists the valid ones
    if against is not None and not frame.empty and against not in set(frame["model"]):
        found = ", ".join(sorted(set(frame["model"])))
        raise BenchError(f"no results of {against} to compare with; families with results: {found}")
    seeds = {}
    if against is not None and not frame.empty:
        seeds = results.evaluation_seeds(frame)
    return analyse(frame, seeds, against=against)


def _models_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["kind"] == MODEL].reset_index(drop=True) if "kind" in frame.columns else frame


def analyse(
    frame: pd.DataFrame, seeds: dict[tuple[str, str, str], dict[int, float]] | None = None, *, against: str | None = None
) -> Comparison:
    """Both views of leaderboard rows `frame` (columns of `leaderboard.COLUMNS`); `seeds` as
    `ResultSet.evaluation_seeds` reads them, needed only with `against`."""
    frame = _models_only(frame)
    if "test_mean" not in frame.columns:  # a leaderboard from before the final evaluation over seeds
        frame = frame.assign(test_mean=frame["test"], n_seeds=1)
    ranks, pairs, tests, left = [], [], [], []
    against_rows: list[dict[str, Any]] = []
    for budget, group in frame.groupby("budget", sort=True):
        r, p, t, lo = _across(group, str(budget))
        ranks += r
        pairs += p
        tests.append(t)
        left += lo
        if against is not None:
            a, lo = _against(group, str(budget), against, seeds or {})
            against_rows += a
            left += lo
    return Comparison(
        ranks=pd.DataFrame(ranks, columns=RANK_COLUMNS),
        pairwise=pd.DataFrame(pairs, columns=PAIR_COLUMNS),
        tests=pd.DataFrame(tests, columns=TEST_COLUMNS),
        left_out=pd.DataFrame(left, columns=LEFT_OUT_COLUMNS),
        against=pd.DataFrame(against_rows, columns=AGAINST_COLUMNS),
        reference=against,
    )


# --- across tasks ----------------------------------------------------------------------------------


def _keys(group: pd.DataFrame) -> pd.DataFrame:
    """tasks x families of the test mean, negated where higher is better: smaller is better everywhere."""
    sign = group["direction"].map({"minimize": 1.0, "maximize": -1.0})
    keyed = group.assign(_key=pd.to_numeric(group["test_mean"], errors="coerce") * sign)
    return keyed.pivot_table(index="task", columns="model", values="_key", aggfunc="first", dropna=False).sort_index()


def _select(keys: pd.DataFrame, budget: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The complete block of tasks x families the test runs on, and what was left out and why."""
    left: list[dict[str, Any]] = []
    families = sorted(keys.columns)
    present = keys.notna()
    need = max(2, math.ceil(len(families) / 2))
    tasks = []
    for task in keys.index:
        ran = [f for f in families if present.at[task, f]]
        if len(ran) >= need:
            tasks.append(task)
        elif ran:  # a task nobody has a result on is no news
            why = f"only {', '.join(ran)} of the {len(families)} families {'has' if len(ran) == 1 else 'have'} a result"
            left.append({"budget": budget, "view": "across", "kind": "task", "name": task, "reason": why})
    kept = []
    for family in families:
        missing = [t for t in tasks if not present.at[t, family]]
        if missing:
            hint = f"bench run --task {','.join(missing)} --model {family} --budget {budget}"
            why = f"no result on {', '.join(missing)} (run `{hint}`)"
            left.append({"budget": budget, "view": "across", "kind": "family", "name": family, "reason": why})
        elif tasks:
            kept.append(family)
    return keys.loc[tasks, kept], left


def _friedman_floor(n_tasks: int, k: int) -> float:
    """The smallest p the Friedman test can give with `n_tasks` x `k` families: every task ranking
    them the same way (statistic N(k-1))."""
    from scipy.stats import chi2

    return float(chi2.sf(n_tasks * (k - 1), k - 1))


def _wilcoxon_floor(n_tasks: int, pairs: int = 1) -> float:
    """The smallest two-sided p of Wilcoxon's exact signed-rank test over `n_tasks` differences (every
    difference of one sign: 2 of the 2^n sign patterns), after Holm over `pairs` pairs (the smallest
    of them is multiplied by `pairs`)."""
    return min(1.0, pairs * 2.0 / 2**n_tasks)


def _tasks_needed(pairs: int) -> int:
    """The fewest tasks over which Wilcoxon's test can reach p < ALPHA after Holm over `pairs` pairs."""
    n = 1
    while _wilcoxon_floor(n, pairs) >= ALPHA:
        n += 1
    return n


def iman_davenport(chi2: float, n_tasks: int, k: int) -> tuple[float, float]:
    """Iman and Davenport's F = (N - 1) χ² / (N(k - 1) - χ²) from Friedman's χ² over N tasks x k
    families, and its p from the F distribution with k - 1 and (k - 1)(N - 1) degrees of freedom
    (Demšar 2006, section 3.2.2). Perfect agreement (χ² = N(k - 1)) is F = ∞, p = 0."""
    from scipy.stats import f

    denominator = n_tasks * (k - 1) - chi2
    if denominator <= 0:
        return math.inf, 0.0
    statistic = (n_tasks - 1) * chi2 / denominator
    return statistic, float(f.sf(statistic, k - 1, (k - 1) * (n_tasks - 1)))


def _across(group: pd.DataFrame, budget: str) -> tuple[list, list, dict, list]:
    """Average ranks over the tasks every compared family ran, and the tests across tasks."""
    block, left = _select(_keys(group), budget)
    n, k = block.shape
    tasks, families = list(block.index), list(block.columns)
    test = dict.fromkeys(TEST_COLUMNS)
    test.update(budget=budget, n_tasks=n, n_families=k, tasks=tasks, families=families)
    if k < 2 or n == 0:
        test["friedman_note"] = "fewer than two families have results on the same tasks: nothing to compare"
        return [], [], test, left
    ranks = block.rank(axis=1, method="average")  # 1 = best on the task
    average = ranks.mean(axis=0).sort_values(kind="stable")
    rank_rows = [
        {"budget": budget, "model": f, "avg_rank": float(average[f]), "n_tasks": n,
         "task_ranks": {t: float(ranks.at[t, f]) for t in tasks}}
        for f in average.index
    ]  # fmt: skip
    nemenyi = _friedman(block, ranks, test)
    pair_rows = _pairs(block, average, test, nemenyi, budget)
    return rank_rows, pair_rows, test, left


def _friedman(block: pd.DataFrame, ranks: pd.DataFrame, test: dict[str, Any]) -> pd.DataFrame | None:
    """The Friedman test over the tasks x families `block` (its ranks `ranks`) with Iman and Davenport's
    F, and, only where F rejects at ALPHA, Nemenyi's post-hoc test with its critical difference
    (Demšar 2006, section 3.2.2), or why not: fills `test`; returns the Nemenyi p-values, or None."""
    import numpy as np
    from scipy import stats

    n, k = block.shape
    families = list(block.columns)
    friedman_ok = n >= MIN_TASKS and k >= 3 and _friedman_floor(n, k) < ALPHA
    if n < MIN_TASKS:  # one line for every test
        test["friedman_note"] = (
            f"too few tasks ({n}) for a test across tasks to mean anything (Friedman needs {MIN_TASKS} or more, "
            f"Wilcoxon 6); ranks only: run more tasks"
        )
    elif k < 3:
        test["friedman_note"] = "two families: the Friedman test needs three or more; see the pairwise Wilcoxon test"
    elif not friedman_ok:
        test["friedman_note"] = (
            f"too few tasks ({n}) for the Friedman test to mean anything: even the same order of the {k} "
            f"families on every task gives p ≥ {_friedman_floor(n, k):.2g}; run more tasks"
        )
    nemenyi = None
    if friedman_ok:
        if (ranks.nunique(axis=1) == 1).all():  # every family tied on every task: no difference at all
            test.update(friedman_statistic=0.0, friedman_p=1.0)
        else:
            result = stats.friedmanchisquare(*(block[f].to_numpy() for f in families))
            test.update(friedman_statistic=float(result.statistic), friedman_p=float(result.pvalue))
        f_statistic, f_p = iman_davenport(test["friedman_statistic"], n, k)
        test.update(iman_davenport_statistic=f_statistic, iman_davenport_p=f_p)
        if f_p >= ALPHA:  # Demšar 2006: a post-hoc test only once the omnibus test rejects
            test["posthoc_note"] = (
                f"no post-hoc test: Iman–Davenport p={f_p:.2g} ≥ {ALPHA}, so the {k} families' ranks over these "
                f"{n} tasks do not differ beyond chance, and Nemenyi's pairs and critical difference would be noise"
            )
            return None
        nemenyi = _nemenyi(block)
        q = float(stats.studentized_range.ppf(1 - ALPHA, k, np.inf)) / math.sqrt(2)
        test["critical_difference"] = q * math.sqrt(k * (k + 1) / (6 * n))
    return nemenyi


def _pairs(block: pd.DataFrame, average: pd.Series, test: dict[str, Any], nemenyi: pd.DataFrame | None, budget: str) -> list[dict[str, Any]]:
    """Every pair of families, better-ranked first: wins, ties and losses over the tasks, Wilcoxon's
    signed-rank test (Holm-corrected) where the number of tasks allows it, Nemenyi's p and whether the
    ranks differ by more than the critical difference; fills `test`'s note on Wilcoxon."""
    n, k = block.shape
    pairs = k * (k - 1) // 2
    wilcoxon_ok = _wilcoxon_floor(n, pairs) < ALPHA
    if not wilcoxon_ok and n >= MIN_TASKS:
        test["wilcoxon_note"] = (
            f"pairwise Wilcoxon withheld: over {n} tasks its smallest p is {_wilcoxon_floor(n):.2g}, and Holm over the "
            f"{pairs} pair{'s' if pairs > 1 else ''} makes it at least {_wilcoxon_floor(n, pairs):.2g} ≥ {ALPHA} even when "
            f"every task agrees; it needs {_tasks_needed(pairs)} or more tasks"
        )
    pair_rows = []
    order = list(average.index)
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            diffs = _relative(block, a, b)
            wins, losses = int((block[a] < block[b]).sum()), int((block[a] > block[b]).sum())
            row = {
                "budget": budget, "model": a, "versus": b, "model_rank": float(average[a]),
                "versus_rank": float(average[b]), "rank_diff": float(average[b] - average[a]), "n_tasks": n,
                "wins": wins, "ties": n - wins - losses, "losses": losses,
                "p_wilcoxon": _wilcoxon(diffs) if wilcoxon_ok else None, "p_wilcoxon_holm": None,
                "p_nemenyi": None if nemenyi is None else float(nemenyi.at[a, b]),
                "critical_difference": test["critical_difference"], "beyond_cd": None, "verdict": None,
                "_ahead": _median(diffs) > 0 or (_median(diffs) == 0 and sum(diffs) > 0),
            }  # fmt: skip
            if test["critical_difference"] is not None:
                row["beyond_cd"] = bool(row["rank_diff"] > test["critical_difference"])
            pair_rows.append(row)
    for row, p in zip(pair_rows, holm([r["p_wilcoxon"] for r in pair_rows])):
        row["p_wilcoxon_holm"] = p
        if p is None:
            row["verdict"] = TOO_FEW_TASKS
        else:
            row["verdict"] = SAME if p >= ALPHA else BETTER if row.pop("_ahead") else WORSE
        row.pop("_ahead", None)
    return pair_rows


def _nemenyi(block: pd.DataFrame) -> pd.DataFrame:
    """Nemenyi's p-values between every two families (scikit-posthocs; rows are tasks, smaller is better)."""
    import scikit_posthocs as sp

    return sp.posthoc_nemenyi_friedman(block.reset_index(drop=True))


def _relative(block: pd.DataFrame, a: str, b: str) -> list[float]:
    """Per task, how much better `a` is than `b` relative to their mean magnitude (positive: `a`
    better): tasks have their own metrics and units, so only relative differences are comparable."""
    out = []
    for x, y in zip(block[a], block[b]):
        scale = (abs(x) + abs(y)) / 2
        out.append((y - x) / scale if scale else 0.0)
    return out


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def _wilcoxon(diffs: list[float]) -> float:
    """Two-sided p of Wilcoxon's signed-rank test, its method fixed so that the p does not depend on
    the installed scipy (whose "auto" changed between versions): exact (every one of the 2^n sign
    patterns) where no difference is zero and no two have the same size; otherwise the normal
    approximation (method="approx"), zero differences split between the signs (Demšar 2006). No
    difference at all is p = 1."""
    import warnings

    from scipy import stats

    if all(d == 0 for d in diffs):
        return 1.0
    sizes = [abs(d) for d in diffs]
    if 0.0 not in sizes and len(set(sizes)) == len(sizes):
        return float(stats.wilcoxon(diffs, method="exact").pvalue)
    with warnings.catch_warnings():  # scipy notes that zeros or ties need the approximation
        warnings.simplefilter("ignore", UserWarning)
        return float(stats.wilcoxon(diffs, zero_method="zsplit", method="approx").pvalue)


# --- against a reference ---------------------------------------------------------------------------


def _against(
    group: pd.DataFrame, budget: str, reference: str, seeds: dict[tuple[str, str, str], dict[int, float]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every family's difference from `reference` on each task of one budget, tested over seeds."""
    from benchbench.stats import detectable, paired, summarize, welch

    def spread(values: dict[int, float]) -> float | None:
        return summarize(list(values.values())).std if len(values) >= 2 else None

    rows, left = [], []
    for task, rows_of_task in group.groupby("task", sort=True):
        by_model = {r["model"]: r for _, r in rows_of_task.iterrows() if is_finite(r["test_mean"])}
        if reference not in by_model:
            if by_model:
                why = f"{reference} has no result on it (run `bench run --task {task} --model {reference} --budget {budget}`)"
                left.append({"budget": budget, "view": "against", "kind": "task", "name": task, "reason": why})
            continue
        ref = by_model[reference]
        ref_seeds = seeds.get((task, budget, reference), {})
        ref_sd = spread(ref_seeds)
        scale = abs(float(ref["test_mean"]))
        own_task = detectable(ref_sd, len(ref_seeds), alpha=ALPHA, power=POWER) if ref_sd is not None else None
        task_pct = own_task / scale * 100 if own_task is not None and scale else None
        for model in sorted(by_model):
            if model == reference:
                continue
            row = by_model[model]
            own = seeds.get((task, budget, model), {})
            shared = sorted(set(own) & set(ref_seeds))
            p_welch = welch(list(own.values()), list(ref_seeds.values()))
            p_paired = paired([own[s] for s in shared], [ref_seeds[s] for s in shared])
            diff = float(row["test_mean"]) - float(ref["test_mean"])
            own_sd = spread(own)
            mdd = detectable(own_sd, len(own), ref_sd, len(ref_seeds), alpha=ALPHA, power=POWER) if own_sd is not None and ref_sd is not None else None
            rows.append({
                "budget": budget, "task": task, "model": model, "reference": reference, "metric": row["metric"],
                "direction": row["direction"], "units": row["units"], "mean": float(row["test_mean"]),
                "reference_mean": float(ref["test_mean"]), "diff": diff,
                "diff_pct": diff / abs(float(ref["test_mean"])) * 100 if ref["test_mean"] else None,
                "n_seeds": int(row["n_seeds"]), "reference_seeds": int(ref["n_seeds"]), "n_paired": len(shared),
                "p_welch": p_welch, "p_paired": p_paired,
                "test": PAIRED if p_paired is not None else WELCH if p_welch is not None else None,
                "p_value": p_paired if p_paired is not None else p_welch, "p_holm": None, "verdict": TOO_FEW_SEEDS,
                "detectable": mdd, "detectable_pct": mdd / scale * 100 if mdd is not None and scale else None,
                "task_detectable_pct": task_pct,
            })  # fmt: skip
    for row, p in zip(rows, holm([r["p_value"] for r in rows])):
        row["p_holm"] = p
        if p is not None:
            better = row["diff"] < 0 if row["direction"] == "minimize" else row["diff"] > 0
            row["verdict"] = SAME if p >= ALPHA else BETTER if better else WORSE
    return rows, left
