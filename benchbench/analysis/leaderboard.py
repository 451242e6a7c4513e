"""Results -> one DataFrame, ranked. Reads a ResultSet (frame.py); never trains, never prints.

One row per task x budget x family. A row pairs a search study (or a fixed study, budget `fixed`)
with its eval study `<search study>/eval` (docs/results.md):

- `val`, `test`, `params`, `hyperparams`, `best_trial` come from the best search trial (best
  validation value, in the metric's direction);
- `test_mean`, `test_std`, `test_ci_low`, `test_ci_high`, `n_seeds` summarise the test values of the
  eval trials that retrained that configuration with fresh seeds (`frame.seed_trials`); without any,
  the best search trial alone (n_seeds 1, no spread). For a metric positive by nature (metrics.py)
  the 95% interval is computed on the log values and transformed back (`test_ci_scale` log), so it
  stays inside (0, ∞); fewer than two seeds give no interval;
- families are ranked within a task and budget by `test_mean` in the metric's direction (by `val`
  where there is no test value), and each is compared with the best by Welch's t-test over seeds;
- every family is held against the task's best naive baseline (`beats_naive`).

Renderings (rich, CSV, Markdown, JSON, HTML) live in benchbench/render.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchbench.analysis.frame import ResultSet, read, seed_trials
from benchbench.stats import is_finite, is_missing
from benchbench.store.names import task_label
from benchbench.store.storage import StorageSpec
from benchbench.store.trials import best_trial, counted_trials

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["BASELINE", "COLUMNS", "MODEL", "SIGNIFICANCE", "beats_naive", "collect", "leaderboard", "positive"]

SIGNIFICANCE = 0.05  # p below this: significantly different from the best family

# The stable columns of every rendering, in order (JSON rows carry exactly these keys; docs/results.md,
# "Leaderboard JSON", says what each means).
COLUMNS = [
    "task", "budget", "kind", "rank", "model", "metric", "direction", "units",
    "val", "test", "test_mean", "test_std", "test_ci_low", "test_ci_high", "test_ci_scale", "n_seeds", "p_value",
    "same_as_best", "test_extra", "params", "trials", "complete", "pruned", "failed", "cut_short", "wall_time", "best_trial",
    "hyperparams", "baseline", "baseline_label", "beats_baseline", "tolerance", "search",
]  # fmt: skip
MODEL, BASELINE = "model", "baseline"  # row kinds: a family's result, a naive baseline's
_INTEGERS = ["rank", "n_seeds", "params", "trials", "complete", "pruned", "failed", "best_trial"]


def beats_naive(mean: Any, ci_low: Any, ci_high: Any, naive: float, direction: str) -> bool:
    """The one rule for "beats the naive baseline": the whole 95% interval of the test mean lies on the
    better side of the naive baseline's test value (with a single test value, that value)."""
    minimize = direction == "minimize"
    bound = ci_high if minimize else ci_low
    bound = mean if is_missing(bound) else bound
    return bool(bound < naive if minimize else bound > naive)


def positive(metric: Any) -> bool:
    """Whether a metric (by name) is positive by nature, as metrics.py declares it; False for a name it
    does not know (a metric of a newer version, say)."""
    from benchbench.metrics import METRICS

    return isinstance(metric, str) and metric in METRICS and METRICS.get(metric).positive


def _seconds(trials: Iterable[FrozenTrial]) -> float:
    return sum(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.datetime_start and t.datetime_complete
    )


def _mean(values: list[Any]) -> float | None:
    finite = [v for v in values if is_finite(v)]
    return math.fsum(finite) / len(finite) if finite else None


def _row(attrs: dict[str, Any], trials: list[FrozenTrial], evals: list[FrozenTrial]) -> dict[str, Any]:
    """One leaderboard row from a search (or fixed) study's attributes and trials and its eval trials."""
    from optuna.trial import TrialState

    from benchbench.stats import summarize

    counted = counted_trials(trials)
    row: dict[str, Any] = {
        "task": task_label(attrs.get("task"), attrs.get("task_options")),
        "budget": attrs.get("budget"),
        "kind": MODEL,
        "model": attrs.get("model"),
        "metric": attrs.get("metric"),
        "direction": attrs.get("direction"),
        "units": attrs.get("units", ""),
        "trials": len(counted),
        "complete": sum(t.state == TrialState.COMPLETE for t in counted),
        "pruned": sum(t.state == TrialState.PRUNED for t in counted),
        "failed": sum(t.state == TrialState.FAIL for t in counted),
        "cut_short": attrs.get("cut_short"),  # why the search stopped short of its plan, or None
        "wall_time": _seconds(trials) + _seconds(evals),  # everything this row cost, retraining included
        "baseline": None, "baseline_label": "", "beats_baseline": None,
        "tolerance": attrs.get("tolerance"),
        "val": None, "test": None, "test_mean": None, "test_std": None, "test_ci_low": None, "test_ci_high": None,
        "test_ci_scale": None, "n_seeds": 0, "test_extra": {}, "params": None, "best_trial": None, "hyperparams": {}, "_tests": [],
        "search": _search(attrs),
    }  # fmt: skip
    best = best_trial(counted, attrs.get("direction"))
    if best is None:
        return row
    seeds = seed_trials(evals, best.number)  # the seeds of the best configuration
    if not seeds and is_finite(best.user_attrs.get("test")):
        seeds = [best]
    extras = attrs.get("extra_metrics", [])
    row.update(
        val=best.value,
        test=best.user_attrs.get("test"),
        test_extra={m: _mean([t.user_attrs.get(f"test_{m}") for t in seeds]) for m in extras},
        params=best.user_attrs.get("params"),
        best_trial=best.number,
        hyperparams={**best.params, **best.user_attrs.get("model_options", {})},  # searched, then the family's fixed options
        n_seeds=len(seeds),
        _tests=[t.user_attrs["test"] for t in seeds],
    )
    if seeds:
        s = summarize(row["_tests"], positive=positive(row["metric"]))
        row.update(test_mean=s.mean, test_std=s.std, test_ci_low=s.ci_low, test_ci_high=s.ci_high)
        row["test_ci_scale"] = s.scale if s.ci_low is not None else None
    return row


def _search(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """How a search study searched: sampler, random start-up trials, pruner, and whether its family drew
    the same configurations as the others (paired); None for a fixed run. Studies made before these
    were recorded searched with 10 start-up trials, paired."""
    if "sampler" not in attrs:
        return None
    return {
        "sampler": attrs["sampler"], "startup": attrs.get("startup", 10), "pruner": attrs.get("pruner"),
        "paired": bool(attrs.get("paired_search", True)),
    }  # fmt: skip


def _baseline_rows(attrs: dict[str, Any], trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    """One row per naive baseline stored in a `task/baselines/<budget>` study (the first of each)."""
    from optuna.trial import TrialState

    rows, seen = [], set()
    for t in trials:
        name = t.user_attrs.get("baseline")
        if t.state != TrialState.COMPLETE or name in seen or not is_finite(t.user_attrs.get("test")):
            continue
        seen.add(name)
        test = t.user_attrs["test"]
        rows.append({
            "task": task_label(attrs.get("task"), attrs.get("task_options")), "budget": attrs.get("budget"),
            "kind": BASELINE, "model": name, "metric": attrs.get("metric"), "direction": attrs.get("direction"),
            "units": attrs.get("units", ""), "trials": 0, "complete": 0, "pruned": 0, "failed": 0, "cut_short": None,
            "wall_time": t.user_attrs.get("wall_time", 0.0), "baseline": None, "baseline_label": "",
            "beats_baseline": None, "tolerance": attrs.get("tolerance"), "val": t.value, "test": test,
            "test_mean": test, "test_std": None, "test_ci_low": None, "test_ci_high": None, "test_ci_scale": None,
            "n_seeds": 0,
            "test_extra": {m: t.user_attrs.get(f"test_{m}") for m in attrs.get("extra_metrics", [])},
            "params": 0, "best_trial": t.number, "hyperparams": dict(t.user_attrs.get("options", {})), "_tests": [], "search": None,
        })  # fmt: skip
    return rows


def collect(
    where: StorageSpec | Path,
    *,
    task: str | Sequence[str] | None = None,
    model: str | Sequence[str] | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Every task x budget x family in a storage (a results folder's journal, or an RDB URL) as one
    row (columns COLUMNS), ranked within task and budget; `task` and `model` keep only those names
    (a name or a list of names). With `strict`, a name that matches no result while the storage
    holds some is a BenchError listing the names it has (a typo, not an empty leaderboard)."""
    return leaderboard(read(StorageSpec.of(where), task=task, model=model, strict=strict))


def leaderboard(results: ResultSet) -> pd.DataFrame:
    """The leaderboard of a ResultSet: a row per search or fixed study, then its task's naive baselines."""
    rows = []
    for study in results.primary:
        evaluation = results.evaluation_of(study.name)
        rows.append(_row(study.attrs, study.trials, evaluation.trials if evaluation is not None else []))
    if not rows:  # baselines alone are no leaderboard
        return pd.DataFrame(columns=COLUMNS)
    cells = {(r["task"], r["budget"]) for r in rows}
    for study in results.naive:
        rows += [r for r in _baseline_rows(study.attrs, study.trials) if (r["task"], r["budget"]) in cells]
    return _rank(pd.DataFrame(rows))


def _rank(frame: pd.DataFrame) -> pd.DataFrame:
    """Rank within task and budget and compare every family with the best one by Welch's t-test."""
    from benchbench.stats import welch

    score = frame["test_mean"].where(frame["test_mean"].notna(), frame["val"]).astype(float)
    # Negate maximised metrics so that smaller is better everywhere.
    frame["_key"] = score * frame["direction"].map({"minimize": 1.0, "maximize": -1.0})
    # Families first, ranked; naive baselines after them, unranked, best first.
    frame["_baseline"] = frame["kind"] == BASELINE
    frame = frame.sort_values(["task", "budget", "_baseline", "_key", "model"], na_position="last", kind="stable")
    models = frame[~frame["_baseline"]]
    frame["rank"] = models.groupby(["task", "budget"])["_key"].rank(method="min")
    p_values: dict[Any, float | None] = {}
    for _, group in frame.groupby(["task", "budget"], sort=False):
        _compare_with_baselines(frame, group)
        group = group[~group["_baseline"]]
        best = group.iloc[0]
        for index, row in group.iterrows():
            unranked = index == best.name or pd.isna(row["rank"])
            p_values[index] = None if unranked else welch(row["_tests"], best["_tests"])
    frame["p_value"] = pd.Series(p_values, dtype=object)  # None, not NaN, where not computed
    frame["same_as_best"] = [
        bool(rank == 1 or (p is not None and p >= SIGNIFICANCE)) for rank, p in zip(frame["rank"], frame["p_value"])
    ]
    frame = frame.astype({c: "Int64" for c in _INTEGERS})
    return frame[COLUMNS].reset_index(drop=True)


def _compare_with_baselines(frame: pd.DataFrame, group: pd.DataFrame) -> None:
    """Give every family row of one task x budget the best naive baseline's test value and name, and
    whether the family beats it: the whole 95% interval of its test mean on the better side (with
    a single test value, that value)."""
    naive = group[group["_baseline"] & group["_key"].notna()]
    if naive.empty:
        return
    best = naive.iloc[0]
    for index, row in group[~group["_baseline"]].iterrows():
        frame.at[index, "baseline"] = float(best["test"])
        frame.at[index, "baseline_label"] = best["model"]
        if is_missing(row["test_mean"]):
            continue
        frame.at[index, "beats_baseline"] = beats_naive(
            row["test_mean"], row["test_ci_low"], row["test_ci_high"], float(best["test"]), row["direction"]
        )
