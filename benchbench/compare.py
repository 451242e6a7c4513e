"""Which family wins across tasks, and by how much against a reference family. Reads results; never trains.

Two views of the leaderboard's family rows (`benchbench.leaderboard.collect`), each budget on its own:

- across tasks, as benchmark papers compare classifiers over datasets (Demšar 2006; Benavoli et al.
  2016): each family's average rank over the tasks where every compared family has a result (ranked
  by the test mean of the selected configuration, in each task's own direction; ties share the
  average rank), the Friedman test over those ranks, and pairwise post-hoc tests: Wilcoxon's
  signed-rank test over tasks of the relative differences, Holm-corrected, and Nemenyi's test with
  its critical difference (scikit-posthocs). A family without a result on a task most families ran
  is left out (the test keeps its tasks); a task fewer than half of the families ran is left out.
  With too few tasks for a test to reach p < 0.05 even when every task agrees, the test is not run
  and one line says so.
- against a reference family (Greff et al. 2017): per task, each family's difference from the
  reference in the task's units and in percent, a t-test over the evaluation seeds, Holm-corrected
  across every comparison of the budget, and a verdict. Evaluation seeds are the same for every
  family (seed + 10000 + i), so where both sides have two or more seeds in common the paired t-test
  (scipy.stats.ttest_rel) decides; elsewhere Welch's t-test does; the `test` column says which.

Every view is a DataFrame of `Comparison`; rich tables, CSV, Markdown and JSON are renderings of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchbench.errors import BenchError
from benchbench.leaderboard import is_finite, is_missing, metric_label
from benchbench.results import StorageSpec

if TYPE_CHECKING:
    import optuna

__all__ = [
    "AGAINST_COLUMNS", "ALPHA", "FORMATS", "PAIR_COLUMNS", "RANK_COLUMNS", "TEST_COLUMNS", "Comparison", "analyse",
    "compare", "default_reference", "evaluation_seeds", "render",
]  # fmt: skip

ALPHA = 0.05  # significance level of every test and of the critical difference
FORMATS = ("table", "csv", "markdown", "json")
MIN_TASKS = 3  # below this the Friedman test's chi-square approximation means nothing

RANK_COLUMNS = ["budget", "model", "avg_rank", "n_tasks", "task_ranks"]
PAIR_COLUMNS = [
    "budget", "model", "versus", "model_rank", "versus_rank", "rank_diff", "n_tasks", "wins", "ties", "losses",
    "p_wilcoxon", "p_wilcoxon_holm", "p_nemenyi", "critical_difference", "beyond_cd", "verdict",
]  # fmt: skip
TEST_COLUMNS = [
    "budget", "n_tasks", "n_families", "tasks", "families", "friedman_statistic", "friedman_p",
    "critical_difference", "friedman_note", "wilcoxon_note",
]  # fmt: skip
LEFT_OUT_COLUMNS = ["budget", "view", "kind", "name", "reason"]
AGAINST_COLUMNS = [
    "budget", "task", "model", "reference", "metric", "direction", "units", "mean", "reference_mean", "diff",
    "diff_pct", "n_seeds", "reference_seeds", "n_paired", "p_welch", "p_paired", "test", "p_value", "p_holm", "verdict",
]  # fmt: skip

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


def evaluation_seeds(
    storage: optuna.storages.BaseStorage, frame: pd.DataFrame
) -> dict[tuple[str, str, str], dict[int, float]]:
    """{(task, budget, model): {seed: test}} of the evaluation trials behind each row's `test_mean`:
    the eval trials ranked 1 that retrained the row's best trial (as `leaderboard.collect` picks them).
    Rows without an evaluation have no entry; their single test value pairs with nothing."""
    from optuna.trial import TrialState

    names = {s.study_name for s in storage.get_all_studies()}
    seeds: dict[tuple[str, str, str], dict[int, float]] = {}
    for _, row in frame.iterrows():
        name = f"{row['task']}/{row['model']}/{row['budget']}/eval"
        if name not in names or is_missing(row["best_trial"]):
            continue
        trials = storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False)
        seeds[(row["task"], row["budget"], row["model"])] = {
            t.user_attrs.get("seed", -1 - n): float(t.user_attrs["test"])
            for n, t in enumerate(trials)
            if t.state == TrialState.COMPLETE
            and t.user_attrs.get("rank") == 1
            and t.user_attrs.get("source_trial", row["best_trial"]) == row["best_trial"]
            and is_finite(t.user_attrs.get("test"))
        }
    return seeds


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
    from benchbench.leaderboard import collect

    if isinstance(task, str):
        from benchbench.planning import parse_names

        task = parse_names(task, flag="--task")
    if against is not None:
        from benchbench.models import MODELS

        MODELS.get(against)  # an unknown name lists the valid ones
        if model is not None and against not in model:
            model = [*model, against]
    store = StorageSpec.of(where)
    frame = _models_only(collect(store, task=task, model=model, strict=True))
    if budget is not None:
        budgets = sorted(frame["budget"].unique())
        frame = frame[frame["budget"] == budget]
        if frame.empty and budgets:
            raise BenchError(f"no results at budget {budget!r}; budgets with results: {', '.join(budgets)}")
    if against is not None and not frame.empty and against not in set(frame["model"]):
        found = ", ".join(sorted(set(frame["model"])))
        raise BenchError(f"no results of {against} to compare with; families with results: {found}")
    seeds = {}
    if against is not None and not frame.empty:
        seeds = evaluation_seeds(store.open(), frame)
    return analyse(frame, seeds, against=against)


def _models_only(frame: pd.DataFrame) -> pd.DataFrame:
    from benchbench.leaderboard import MODEL

    return frame[frame["kind"] == MODEL].reset_index(drop=True) if "kind" in frame.columns else frame


def analyse(
    frame: pd.DataFrame, seeds: dict[tuple[str, str, str], dict[int, float]] | None = None, *, against: str | None = None
) -> Comparison:
    """Both views of leaderboard rows `frame` (columns of `leaderboard.COLUMNS`); `seeds` as
    `evaluation_seeds` reads them, needed only with `against`."""
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


def _wilcoxon_floor(n_tasks: int) -> float:
    """The smallest two-sided p of Wilcoxon's signed-rank test over `n_tasks` differences."""
    return 2.0 / 2**n_tasks


def _across(group: pd.DataFrame, budget: str) -> tuple[list, list, dict, list]:
    import numpy as np
    from scipy import stats

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
    # Friedman, and Nemenyi's post-hoc test with its critical difference (Demšar 2006, section 3.2.2)
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
        nemenyi = _nemenyi(block)
        q = float(stats.studentized_range.ppf(1 - ALPHA, k, np.inf)) / math.sqrt(2)
        test["critical_difference"] = q * math.sqrt(k * (k + 1) / (6 * n))
    wilcoxon_ok = _wilcoxon_floor(n) < ALPHA
    if not wilcoxon_ok and n >= MIN_TASKS:
        test["wilcoxon_note"] = (
            f"too few tasks ({n}) for the pairwise Wilcoxon test: its smallest p over {n} tasks is "
            f"{_wilcoxon_floor(n):.2g}; it needs 6 or more"
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
    for row, p in zip(pair_rows, _holm([r["p_wilcoxon"] for r in pair_rows])):
        row["p_wilcoxon_holm"] = p
        if p is None:
            row["verdict"] = TOO_FEW_TASKS
        else:
            row["verdict"] = SAME if p >= ALPHA else BETTER if row.pop("_ahead") else WORSE
        row.pop("_ahead", None)
    return rank_rows, pair_rows, test, left


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
    """Two-sided p of Wilcoxon's signed-rank test; zero differences are split between the signs
    (Demšar 2006), and no difference at all is p = 1."""
    import warnings

    from scipy import stats

    if all(d == 0 for d in diffs):
        return 1.0
    with warnings.catch_warnings():  # scipy warns that zeros or ties force the normal approximation
        warnings.simplefilter("ignore", UserWarning)
        return float(stats.wilcoxon(diffs, zero_method="zsplit").pvalue)


def _holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down correction of the p-values that exist (statsmodels); None stays None."""
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if present:
        corrected = multipletests([p_values[i] for i in present], alpha=ALPHA, method="holm")[1]
        for i, p in zip(present, corrected):
            out[i] = float(p)
    return out


# --- against a reference ---------------------------------------------------------------------------


def _against(
    group: pd.DataFrame, budget: str, reference: str, seeds: dict[tuple[str, str, str], dict[int, float]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every family's difference from `reference` on each task of one budget, tested over seeds."""
    from benchbench.stats import paired, welch

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
        for model in sorted(by_model):
            if model == reference:
                continue
            row = by_model[model]
            own = seeds.get((task, budget, model), {})
            shared = sorted(set(own) & set(ref_seeds))
            p_welch = welch(list(own.values()), list(ref_seeds.values()))
            p_paired = paired([own[s] for s in shared], [ref_seeds[s] for s in shared])
            diff = float(row["test_mean"]) - float(ref["test_mean"])
            rows.append({
                "budget": budget, "task": task, "model": model, "reference": reference, "metric": row["metric"],
                "direction": row["direction"], "units": row["units"], "mean": float(row["test_mean"]),
                "reference_mean": float(ref["test_mean"]), "diff": diff,
                "diff_pct": diff / abs(float(ref["test_mean"])) * 100 if ref["test_mean"] else None,
                "n_seeds": int(row["n_seeds"]), "reference_seeds": int(ref["n_seeds"]), "n_paired": len(shared),
                "p_welch": p_welch, "p_paired": p_paired,
                "test": PAIRED if p_paired is not None else WELCH if p_welch is not None else None,
                "p_value": p_paired if p_paired is not None else p_welch, "p_holm": None, "verdict": TOO_FEW_SEEDS,
            })  # fmt: skip
    for row, p in zip(rows, _holm([r["p_value"] for r in rows])):
        row["p_holm"] = p
        if p is not None:
            better = row["diff"] < 0 if row["direction"] == "minimize" else row["diff"] > 0
            row["verdict"] = SAME if p >= ALPHA else BETTER if better else WORSE
    return rows, left


# --- rendering -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return value
    if is_missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _fmt(value: Any, spec: str = ".3g") -> str:
    return "—" if is_missing(value) else format(value, spec)


def _p(value: Any) -> str:
    return "—" if is_missing(value) else "<0.001" if value < 0.001 else format(value, ".2g")


def _signed(value: Any, spec: str = ".3g") -> str:
    return "—" if is_missing(value) else format(value, "+" + spec)


def friedman_line(test: pd.Series | dict) -> str:
    """One line: the Friedman test's result and the critical difference, or why it was not run."""
    if not is_missing(test["friedman_p"]):
        return (
            f"Friedman χ²={test['friedman_statistic']:.3g}, p={_p(test['friedman_p'])} over {test['n_tasks']} tasks × "
            f"{test['n_families']} families; Nemenyi critical difference {test['critical_difference']:.3g} (α={ALPHA})"
        )
    return str(test["friedman_note"])


def _reference_line(comparison: Comparison) -> str:
    return (
        f"difference from {comparison.reference} in the task's units and in % of {comparison.reference}'s test mean; "
        f"p from the paired t-test over the evaluation seeds both sides share, else Welch's t-test; "
        f"Holm-corrected across the budget's {len(comparison.against)} comparisons; significant: Holm p < {ALPHA}"
    )


ACROSS_LEGEND = (
    "avg rank: mean over the tasks of each family's rank by test mean (1 = best, ties share); "
    "Wilcoxon: signed-rank test over tasks of the relative differences, Holm-corrected; "
    "Nemenyi: post-hoc test after Friedman, beyond CD when the ranks differ by more than the critical difference"
)


_SHORT = {BETTER: "better", WORSE: "worse", SAME: "no sig. diff."}  # verdicts in the narrow table


def _rich(comparison: Comparison, view: str) -> list:
    """Tables (and one-line notes) readable at 80 columns: names never wrap, the verdict folds."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    def table(title: str, left: list[str], right: list[str], last: str) -> Table:
        t = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for header in left:
            t.add_column(header, no_wrap=True)
        for header in right:
            t.add_column(header, justify="right", no_wrap=True)
        t.add_column(last, overflow="fold")
        return t

    out: list = []
    for budget in sorted(set(comparison.tests["budget"])):
        test = comparison.tests[comparison.tests["budget"] == budget].iloc[0]
        left = comparison.left_out[(comparison.left_out["budget"] == budget) & (comparison.left_out["view"] == view)]
        if view == "across":
            ranks = comparison.ranks[comparison.ranks["budget"] == budget]
            tasks = ", ".join(test["tasks"])
            t = table(f"across tasks · budget {budget} · {test['n_tasks']} tasks: {tasks}", ["model"], ["avg rank"],
                      "rank on each task")  # fmt: skip
            for _, r in ranks.iterrows():
                each = " · ".join(f"{task} {v:g}" for task, v in r["task_ranks"].items())
                t.add_row(escape(r["model"]), f"{r['avg_rank']:.2f}", escape(each))
            out += [t, escape(friedman_line(test))]  # a line of its own: as wide as the terminal
            pairs = comparison.pairwise[comparison.pairwise["budget"] == budget]
            if test["n_tasks"] >= MIN_TASKS and not pairs.empty:  # below, the one line above says it all
                t = table(f"pairwise · budget {budget}", ["model", "vs"],
                          ["Δ rank", "w/t/l", "Wilcoxon\nHolm p", "Nemenyi\np"], "verdict")  # fmt: skip
                for _, r in pairs.iterrows():
                    cd = " >CD" if not is_missing(r["beyond_cd"]) and r["beyond_cd"] else ""
                    t.add_row(
                        escape(r["model"]), escape(r["versus"]), f"{r['rank_diff']:.2f}{cd}",
                        f"{r['wins']}/{r['ties']}/{r['losses']}", _p(r["p_wilcoxon_holm"]), _p(r["p_nemenyi"]),
                        _SHORT.get(r["verdict"], r["verdict"]),
                    )  # fmt: skip
                t.caption, t.caption_justify = escape(ACROSS_LEGEND + "; verdict: Wilcoxon after Holm"), "left"
                out.append(t)
                out += [escape(test["wilcoxon_note"])] if not is_missing(test["wilcoxon_note"]) else []
        else:
            rows = comparison.against[comparison.against["budget"] == budget]
            for task, group in rows.groupby("task", sort=True):
                first = group.iloc[0]
                label = metric_label(first["metric"], first["units"])
                better = "lower" if first["direction"] == "minimize" else "higher"
                title = (
                    f"{task} · budget {budget} · {label}, {better} is better · against {comparison.reference}: "
                    f"{_fmt(first['reference_mean'], '.4g')} over {first['reference_seeds']} seeds"
                )
                t = table(title, ["model"], ["Δ", "Δ %", "seeds", "test", "p", "Holm\np"], "verdict")
                for _, r in group.iterrows():
                    pct = "—" if is_missing(r["diff_pct"]) else f"{r['diff_pct']:+.2g}%"
                    t.add_row(
                        escape(r["model"]), _signed(r["diff"]), pct, str(r["n_seeds"]), r["test"] or "—",
                        _p(r["p_value"]), _p(r["p_holm"]), _SHORT.get(r["verdict"], r["verdict"]),
                    )  # fmt: skip
                out.append(t)
            if not rows.empty:
                out.append(escape(_reference_line(comparison)))
        for _, r in left.iterrows():
            out.append(escape(f"left out: {r['kind']} {r['name']}: {r['reason']}"))
    return out


def _markdown(comparison: Comparison, view: str) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    def table(head: list[str], rows: list[list[Any]]) -> list[str]:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]

    lines: list[str] = []
    for budget in sorted(set(comparison.tests["budget"])):
        test = comparison.tests[comparison.tests["budget"] == budget].iloc[0]
        if view == "across":
            lines += [f"### Across tasks · budget {budget} · {test['n_tasks']} tasks: {', '.join(test['tasks'])}", ""]
            ranks = comparison.ranks[comparison.ranks["budget"] == budget]
            tasks = list(test["tasks"])
            lines += table(
                ["model", "avg rank", *tasks],
                [[r["model"], f"{r['avg_rank']:.2f}", *(f"{r['task_ranks'][t]:g}" for t in tasks)] for _, r in ranks.iterrows()],
            )  # fmt: skip
            lines += ["", friedman_line(test) + ".", ""]
            pairs = comparison.pairwise[comparison.pairwise["budget"] == budget]
            if test["n_tasks"] >= MIN_TASKS and not pairs.empty:
                lines += table(
                    ["model", "vs", "Δ rank", "beyond CD", "w/t/l", "Wilcoxon p", "Wilcoxon Holm p", "Nemenyi p", "verdict"],
                    [
                        [r["model"], r["versus"], f"{r['rank_diff']:.2f}", "—" if is_missing(r["beyond_cd"]) else
                         ("yes" if r["beyond_cd"] else "no"), f"{r['wins']}/{r['ties']}/{r['losses']}",
                         _p(r["p_wilcoxon"]), _p(r["p_wilcoxon_holm"]), _p(r["p_nemenyi"]), r["verdict"]]
                        for _, r in pairs.iterrows()
                    ],
                )  # fmt: skip
                notes = [ACROSS_LEGEND] + ([test["wilcoxon_note"]] if not is_missing(test["wilcoxon_note"]) else [])
                lines += ["", *(n + "." for n in notes), ""]
        else:
            rows = comparison.against[comparison.against["budget"] == budget]
            lines += [f"### Against {comparison.reference} · budget {budget}", ""]
            lines += table(
                ["task", "metric", "model", f"{comparison.reference}", "mean", "Δ", "Δ %", "seeds", "paired", "test",
                 "p Welch", "p paired", "Holm p", "verdict"],
                [
                    [r["task"], f"{metric_label(r['metric'], r['units'])} {'↓' if r['direction'] == 'minimize' else '↑'}",
                     r["model"], _fmt(r["reference_mean"], ".4g"), _fmt(r["mean"], ".4g"), _signed(r["diff"]),
                     _signed(r["diff_pct"], ".2g"), r["n_seeds"], r["n_paired"], r["test"] or "—", _p(r["p_welch"]),
                     _p(r["p_paired"]), _p(r["p_holm"]), r["verdict"]]
                    for _, r in rows.iterrows()
                ],
            )  # fmt: skip
            lines += ["", _reference_line(comparison) + ".", ""]
        left = comparison.left_out[(comparison.left_out["budget"] == budget) & (comparison.left_out["view"] == view)]
        lines += [f"- left out: {r['kind']} {r['name']}: {r['reason']}" for _, r in left.iterrows()]
        lines += [""] if not left.empty else []
    return "\n".join(lines).rstrip("\n") + "\n" if lines else ""


def render(comparison: Comparison, fmt: str, *, view: str = "across") -> str | list:
    """The comparison as text (csv, markdown, json) or rich renderables (table). `view` is `across`
    or `against`. JSON holds every frame (docs/results.md, "Compare JSON"); CSV holds the view's
    main frame: the pairwise tests across tasks, or the comparisons with the reference."""
    if view not in ("across", "against"):
        raise ValueError(f"unknown view {view!r}")
    if fmt == "table":
        return _rich(comparison, view)
    if fmt == "markdown":
        return _markdown(comparison, view)
    if fmt == "json":
        data = {
            "view": view, "reference": comparison.reference, "alpha": ALPHA,
            "tests": _records(comparison.tests), "ranks": _records(comparison.ranks),
            "pairwise": _records(comparison.pairwise), "against": _records(comparison.against),
            "left_out": _records(comparison.left_out),
        }  # fmt: skip
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        return (comparison.pairwise if view == "across" else comparison.against).to_csv(index=False)
    raise BenchError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
