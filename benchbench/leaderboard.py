"""Results -> one DataFrame -> rich tables, CSV, Markdown or JSON. Reads results; never trains.

One row per task x budget x family. A row pairs a search study (or a fixed study, budget `fixed`)
with its eval study `<search study>/eval` (docs/results.md):

- `val`, `test`, `params`, `hyperparams`, `best_trial` come from the best search trial (best
  validation value, in the metric's direction);
- `test_mean`, `test_std`, `test_ci_low`, `test_ci_high`, `n_seeds` summarise the test values of the
  eval trials that retrained that configuration with fresh seeds (`rank` 1); without any, the best
  search trial alone (n_seeds 1, no spread);
- families are ranked within a task and budget by `test_mean` in the metric's direction (by `val`
  where there is no test value), and each is compared with the best by Welch's t-test over seeds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchbench.errors import BenchError
from benchbench.planning import parse_names
from benchbench.results import EVAL, FIXED, StorageSpec

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = [
    "BASELINE", "COLUMNS", "DISPLAY", "FORMATS", "MODEL", "PUBLISHED", "SIGNIFICANCE", "collect", "display", "is_finite", "is_missing", "metric_label",
    "parse_names", "reference_matches", "render", "write_leaderboards",
]  # fmt: skip

FORMATS = ("table", "csv", "markdown", "json")
SIGNIFICANCE = 0.05  # p below this: significantly different from the best family

# The stable columns of every rendering, in order (JSON rows carry exactly these keys; docs/results.md,
# "Leaderboard JSON", says what each means).
COLUMNS = [
    "task", "budget", "kind", "rank", "model", "metric", "direction", "units",
    "val", "test", "test_mean", "test_std", "test_ci_low", "test_ci_high", "n_seeds", "p_value", "same_as_best",
    "test_extra", "params", "trials", "complete", "pruned", "failed", "wall_time", "best_trial", "hyperparams",
    "baseline", "baseline_label", "beats_baseline", "tolerance",
]  # fmt: skip
MODEL, BASELINE = "model", "baseline"  # row kinds: a family's result, a naive baseline's
_REQUIRED = ("task", "model", "budget", "metric", "direction")  # study attributes a row cannot do without
_INTEGERS = ["rank", "n_seeds", "params", "trials", "complete", "pruned", "failed", "best_trial"]


def is_finite(value: Any) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _kind(attrs: dict[str, Any]) -> str:
    """search, eval or fixed; studies written before kinds existed are search studies, or fixed ones
    by their budget."""
    return attrs.get("kind") or (FIXED if attrs.get("budget") == FIXED else "search")


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

    from benchbench.results import best_trial, counted_trials, task_label
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
        "wall_time": _seconds(trials) + _seconds(evals),  # everything this row cost, retraining included
        "baseline": None, "baseline_label": "", "beats_baseline": None,
        "tolerance": attrs.get("tolerance"),
        "val": None, "test": None, "test_mean": None, "test_std": None, "test_ci_low": None, "test_ci_high": None,
        "n_seeds": 0, "test_extra": {}, "params": None, "best_trial": None, "hyperparams": {}, "_tests": [],
    }  # fmt: skip
    best = best_trial(counted, attrs.get("direction"))
    if best is None:
        return row
    # Seeds of the best configuration: eval trials ranked 1 that retrained this very trial (an eval
    # study of an earlier best is stale once the search has moved on).
    seeds = [
        t
        for t in evals
        if t.state == TrialState.COMPLETE
        and t.user_attrs.get("rank") == 1
        and t.user_attrs.get("source_trial", best.number) == best.number
        and is_finite(t.user_attrs.get("test"))
    ]
    if not seeds and is_finite(best.user_attrs.get("test")):
        seeds = [best]
    extras = attrs.get("extra_metrics", [])
    row.update(
        val=best.value,
        test=best.user_attrs.get("test"),
        test_extra={m: _mean([t.user_attrs.get(f"test_{m}") for t in seeds]) for m in extras},
        params=best.user_attrs.get("params"),
        best_trial=best.number,
        hyperparams=dict(best.params),
        n_seeds=len(seeds),
        _tests=[t.user_attrs["test"] for t in seeds],
    )
    if seeds:
        s = summarize(row["_tests"])
        row.update(test_mean=s.mean, test_std=s.std, test_ci_low=s.ci_low, test_ci_high=s.ci_high)
    return row


def _baseline_rows(attrs: dict[str, Any], trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    """One row per naive baseline stored in a `task/baselines/<budget>` study (the first of each)."""
    from optuna.trial import TrialState

    from benchbench.results import task_label

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
            "units": attrs.get("units", ""), "trials": 0, "complete": 0, "pruned": 0, "failed": 0,
            "wall_time": t.user_attrs.get("wall_time", 0.0), "baseline": None, "baseline_label": "",
            "beats_baseline": None, "tolerance": attrs.get("tolerance"), "val": t.value, "test": test,
            "test_mean": test, "test_std": None, "test_ci_low": None, "test_ci_high": None, "n_seeds": 0,
            "test_extra": {m: t.user_attrs.get(f"test_{m}") for m in attrs.get("extra_metrics", [])},
            "params": 0, "best_trial": t.number, "hyperparams": dict(t.user_attrs.get("options", {})), "_tests": [],
        })  # fmt: skip
    return rows


def _matches(label: str, tasks: Sequence[str] | None) -> bool:
    """A task name matches every variant of it (`electricity` matches `electricity[horizon=24]`)."""
    return tasks is None or any(label == t or label.startswith(f"{t}[") for t in tasks)


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
    store = StorageSpec.of(where)
    if not store.exists:
        return pd.DataFrame(columns=COLUMNS)
    from benchbench.results import task_label

    tasks = [task] if isinstance(task, str) else task
    models = [model] if isinstance(model, str) else model
    storage = store.open()
    primary, evals, baselines = [], {}, []
    found_tasks, found_models = set(), set()
    for study in storage.get_all_studies():
        attrs = study.user_attrs
        if not all(attrs.get(key) for key in _REQUIRED):  # not ours, or being created by a running sweep
            continue
        kind, label = _kind(attrs), task_label(attrs.get("task"), attrs.get("task_options"))
        if kind != BASELINE:
            found_tasks.add(label)
            found_models.add(attrs.get("model"))
        if not _matches(label, tasks):
            continue
        if models is not None and attrs.get("model") not in models and kind != BASELINE:
            continue
        if kind == BASELINE:
            baselines.append(study)
        elif kind == EVAL:
            evals[attrs.get("search_study") or study.study_name.removesuffix(f"/{EVAL}")] = study
        elif kind in ("search", FIXED):
            primary.append(study)

    if strict and found_tasks:
        for name in tasks or ():
            if not any(_matches(label, [name]) for label in found_tasks):
                raise BenchError(f"no results of task {name!r} in {store.label}; tasks with results: {', '.join(sorted(found_tasks))}")
        for name in models or ():
            if name not in found_models:
                raise BenchError(f"no results of family {name!r} in {store.label}; families with results: {', '.join(sorted(found_models))}")

    def trials(study) -> list[FrozenTrial]:
        return storage.get_all_trials(storage.get_study_id_from_name(study.study_name), deepcopy=False)

    rows = [
        _row(s.user_attrs, trials(s), trials(evals[s.study_name]) if s.study_name in evals else []) for s in primary
    ]
    if not rows:  # baselines alone are no leaderboard
        return pd.DataFrame(columns=COLUMNS)
    cells = {(r["task"], r["budget"]) for r in rows}
    for study in baselines:
        rows += [r for r in _baseline_rows(study.user_attrs, trials(study)) if (r["task"], r["budget"]) in cells]
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
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
        minimize = row["direction"] == "minimize"
        bound = row["test_ci_high" if minimize else "test_ci_low"]
        bound = row["test_mean"] if is_missing(bound) else bound
        frame.at[index, "beats_baseline"] = bool(bound < best["test"] if minimize else bound > best["test"])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values (NaN -> null, numpy scalars -> Python numbers), floats at full precision."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict | list):
            return value
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        return value.item() if hasattr(value, "item") else value

    return [{key: plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def is_missing(value: Any) -> bool:
    """None, pandas' NA or NaN: a leaderboard cell without a value."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "—" if is_missing(value) else format(value, spec)


def _hparams(h: dict[str, Any]) -> str:
    return " ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in h.items())


def _references(task: str):
    """Published results from the task spec, when the spec is still there."""
    from benchbench.tasks import load_task

    try:
        return load_task(task.split("[")[0]).references
    except BenchError:
        return ()


def metric_label(metric_name: str, units: str) -> str:
    """How a metric is named in headers: its label, with the study's units, e.g. `RMSE (µg/m³)`."""
    from benchbench.metrics import METRICS

    label = METRICS.get(metric_name).label if metric_name in METRICS else metric_name
    return f"{label} ({units})" if units else label


def _test(row: pd.Series) -> str:
    """`mean ± std` over seeds (the mean alone for one seed)."""
    if is_missing(row["test_mean"]):
        return "—"
    return _fmt(row["test_mean"]) + ("" if is_missing(row["test_std"]) else f" ± {_fmt(row['test_std'], '.2g')}")


def _ci(row: pd.Series) -> str:
    low, high = row["test_ci_low"], row["test_ci_high"]
    return "—" if is_missing(low) else f"[{_fmt(low)}, {_fmt(high)}]"


def _first(row: pd.Series) -> bool:
    return not is_missing(row["rank"]) and row["rank"] == 1


def _versus_best(row: pd.Series) -> str:
    """`best`, `≈ p=0.31` (not significantly different from the best), `p=0.002`, or — (no test)."""
    if _first(row) and is_missing(row["p_value"]):
        return "best"
    if is_missing(row["p_value"]):
        return "≈" if row["same_as_best"] else "—"
    return f"{'≈ ' if row['same_as_best'] else ''}p={row['p_value']:.2g}"


def _trials(row: pd.Series) -> str:
    return f"{row['trials']} ({row['complete']}/{row['pruned']}/{row['failed']})"


def _versus_naive(row: pd.Series) -> str:
    """How much better than the best naive baseline the test mean is, `✓ 27%`; `✗` when the 95%
    interval does not clear the baseline (`✗ -3%`: worse on average)."""
    if row["kind"] == BASELINE or is_missing(row["baseline"]) or is_missing(row["test_mean"]):
        return ""
    sign = 1.0 if row["direction"] == "minimize" else -1.0
    base = float(row["baseline"])
    gain = sign * (base - float(row["test_mean"])) / abs(base) * 100 if base else math.nan
    text = "" if math.isnan(gain) else f" {gain:.3g}%"
    return ("✓" if row["beats_baseline"] else "✗") + text


def reference_matches(ref, task: str) -> bool:
    """A published figure is shown beside the task variant whose options it was measured with."""
    from benchbench.results import task_label

    base = task.split("[")[0]
    return task_label(base, ref.options) == task or (not ref.options and task == base)


def _is_baseline(row: pd.Series) -> bool:
    return row["kind"] == BASELINE


LEGEND = (
    "test: mean ± sd of the best configuration over its seeds, with the 95% t interval of the mean; "
    f"≈: not significantly different from the best (Welch's t-test, p ≥ {SIGNIFICANCE}); "
    "vs naive: better than the best naive baseline by that much, ✗ where the 95% interval does not clear it; "
    "naive rows are fitted on train and scored by the same metric code"
)

PUBLISHED = "published"  # the kind of a display row holding a published reference figure
# The display frame's text columns, in order; `test <extra>` columns follow `vs naive` where a task has extra metrics.
DISPLAY = [
    "task", "budget", "kind", "style", "metric", "#", "model", "val", "test", "95% CI", "seeds", "vs best",
    "vs naive", "params", "trials c/p/f", "time", "hyperparameters", "note",
]  # fmt: skip


def display(frame: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as text: what every human view renders (the rich table, Markdown, the HTML
    report). One row per family, naive baseline (`X (naive)`) and published reference figure
    (`published X`, after the rows of its task and budget), every figure formatted once: 4
    significant digits, `mean ± sd`, the 95% interval, the verdicts against the best family and the
    best naive baseline. `style` is `best`, `below` (does not clear the best naive baseline),
    `naive`, `reference` or empty; `metric` is the label with its direction (`MSE ↓`); `note` holds
    a naive baseline's description or a reference's source."""
    rows: list[dict[str, str]] = []
    for (task, budget), group in frame.groupby(["task", "budget"], sort=True):
        first = group.iloc[0]
        metric = f"{metric_label(first['metric'], first['units'])} {'↓' if first['direction'] == 'minimize' else '↑'}"
        extras = list(first["test_extra"]) if isinstance(first["test_extra"], dict) else []
        for _, row in group.iterrows():
            cells = {"task": task, "budget": budget, "kind": row["kind"], "metric": metric, "val": _fmt(row["val"])}
            cells.update({f"test {metric_label(m, '')}": _fmt(row["test_extra"].get(m)) for m in extras})
            if _is_baseline(row):
                cells.update(
                    style="naive", model=f"{row['model']} (naive)", test=_fmt(row["test"]),
                    time=f"{row['wall_time']:.0f}s", note=_baseline_note(row),
                )  # fmt: skip
            else:
                cells.update(
                    style="best" if _first(row) else "below" if row["beats_baseline"] is False else "",
                    model=row["model"], test=_test(row), seeds=_fmt(row["n_seeds"], "d"),
                    params=_fmt(row["params"], ",d"), time=f"{row['wall_time']:.0f}s",
                    hyperparameters=_hparams(row["hyperparams"]),
                    **{"#": _fmt(row["rank"], "d"), "95% CI": _ci(row), "vs best": _versus_best(row),
                       "vs naive": _versus_naive(row), "trials c/p/f": _trials(row)},
                )  # fmt: skip
            rows.append(cells)
        for ref in _references(task):
            if reference_matches(ref, task):
                rows.append({
                    "task": task, "budget": budget, "kind": PUBLISHED, "style": "reference", "metric": metric,
                    "model": f"{PUBLISHED} {ref.model}", "val": _fmt(ref.val), "test": _fmt(ref.test),
                    **{f"test {metric_label(m, '')}": _fmt(ref.extra.get(m)) for m in extras if m in (ref.extra or {})},
                    "note": f"{ref.source}{' · ' + ref.note if ref.note else ''}",
                })  # fmt: skip
    extra_columns = sorted({c for r in rows for c in r} - set(DISPLAY))
    at = DISPLAY.index("vs naive") + 1
    columns = DISPLAY[:at] + extra_columns + DISPLAY[at:]
    return pd.DataFrame([{c: r.get(c, "") for c in columns} for r in rows], columns=columns, dtype=object)


# The table's columns: (display column, justify, keep, priority). A terminal too narrow for all of them
# leaves out the lowest priority first (console.fit): the wall time and parameter count, then the seeds
# and trial counts, and keeps the rank, the name, the test figure and the verdicts.
_RICH = [
    ("#", "right", True, 0), ("model", "left", True, 0), ("val", "right", False, 4), ("test", "right", True, 0),
    ("95% CI", "right", False, 6), ("seeds", "right", False, 2), ("vs best", "left", False, 7),
    ("vs naive", "left", False, 8), ("params", "right", False, 1), ("trials c/p/f", "right", False, 3),
    ("time", "right", False, 0),
]  # fmt: skip
_HPARAMS_MIN = 40  # a hyperparameters column narrower than this goes into the caption instead
_GAP = 3  # cells between two columns of an unruled table: padding, the blank rule, padding
_STYLES = {"naive": "dim", "reference": "dim italic", "best": "bold green", "below": "red", "": None}


def _rich_tables(frame: pd.DataFrame, width: int):
    """One rich table per task x budget that fits `width` terminal cells: names are never cut; where
    not every column fits, the least important are left out and the caption names them."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from benchbench.console import Column, fit

    text = display(frame)
    for (task, budget), group in text.groupby(["task", "budget"], sort=True):
        first = frame[(frame["task"] == task) & (frame["budget"] == budget)].iloc[0]
        label = metric_label(first["metric"], first["units"])
        better = "lower" if first["direction"] == "minimize" else "higher"
        setting = "fixed configurations (bench train)" if budget == FIXED else f"budget {budget}"
        extras = [(f"test {metric_label(m, '')}", "right", False, 5) for m in first["test_extra"]]
        specs = _RICH[:8] + extras + _RICH[8:]
        headers = {"val": f"val {label}", "test": f"test {label}"}
        columns = [
            Column(headers.get(name, name), list(group[name]), keep=keep, priority=priority)
            for name, _, keep, priority in specs
        ]  # fmt: skip
        natural = sum(c.width for c in columns)
        # Wide terminals: ruled boxes (3 cells between columns, 2 at each edge) and a hyperparameters column.
        wide = natural + 3 * len(columns) + 4 + _HPARAMS_MIN <= width
        shown, left_out = (columns, []) if wide else fit(columns, width, gap=_GAP)
        table = Table(
            title=escape(f"{task} · {setting} · {label}, {better} is better"), title_justify="left",
            box=box.HEAVY_HEAD if wide else box.SIMPLE_HEAD, pad_edge=wide, show_edge=wide,
        )  # fmt: skip
        keep = [columns.index(c) for c in shown]
        for i in keep:
            # names and figures are never shortened: a column holds its widest cell, or folds it
            table.add_column(
                escape(columns[i].header), justify=specs[i][1], no_wrap=True, overflow="fold",
                min_width=columns[i].width if specs[i][2] else None,
            )  # fmt: skip
        if wide:
            table.add_column("hyperparameters", overflow="fold", min_width=_HPARAMS_MIN)
        kinds = list(group["kind"]) + [None]
        for n, (_, row) in enumerate(group.iterrows()):
            note = [escape(row["note"] or row["hyperparameters"])] if wide else []
            last_model = row["kind"] == MODEL and kinds[n + 1] != MODEL  # a rule after the families
            cells = [escape(columns[i].cells[n]) for i in keep]
            table.add_row(*cells, *note, style=_STYLES[row["style"]], end_section=last_model)
        lines = [LEGEND]
        if left_out:
            needs = natural + _GAP * (len(columns) - 1)
            lines.append(
                f"left out at {width} columns: {', '.join(c.header for c in left_out)} "
                f"(a terminal of {needs} columns, or --format markdown, shows them)"
            )
        if not wide:
            best = group[group["style"] == "best"]
            if not best.empty and best.iloc[0]["hyperparameters"]:
                lines.append(f"best: {best.iloc[0]['hyperparameters']}")
            lines += [f"{r['model']}: {r['note']}" for _, r in group[group["kind"] == PUBLISHED].iterrows()]
        table.caption, table.caption_justify = escape("\n".join(lines)), "left"
        yield table


def _baseline_note(row: pd.Series) -> str:
    from benchbench.baselines import BASELINES

    name = row["model"].split("[")[0]
    return "naive baseline: " + (BASELINES.get(name).description if name in BASELINES else name)


_MARKDOWN = [
    "task", "budget", "#", "model", "metric", "val", "test", "95% CI", "seeds", "vs best", "vs naive",
    "params", "trials c/p/f", "time", "hyperparameters",
]  # fmt: skip


def _markdown(frame: pd.DataFrame) -> str:
    """One GitHub table (one header row, plain text; DataFrame.to_markdown), then the legend: pastes
    into a PR as it is. Published figures are in the table view and the report."""
    text = display(frame)
    at = _MARKDOWN.index("vs naive") + 1
    extras = [c for c in text.columns if c not in DISPLAY]  # e.g. `test CORR`, blank on tasks without it
    text = text[text["kind"] != PUBLISHED][_MARKDOWN[:at] + extras + _MARKDOWN[at:]]
    text = text.rename(columns={"test": "test mean ± sd"})
    text = text.map(lambda cell: cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " "))
    if text.empty:
        return "| " + " | ".join(text.columns) + " |\n|" + "---|" * len(text.columns) + "\n"
    return text.to_markdown(index=False, disable_numparse=True) + "\n\n" + LEGEND + ".\n"


def render(frame: pd.DataFrame, fmt: str, *, width: int = 120) -> str | list:
    """The leaderboard as text (csv, markdown, json) or as rich renderables (table, for a terminal
    `width` columns wide). CSV and JSON carry every column of COLUMNS; Markdown and the table are
    the human views."""
    if fmt == "table":
        return list(_rich_tables(frame, width))
    if fmt == "json":
        return json.dumps(_records(frame), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(frame)
    if fmt == "csv":
        as_json = {
            c: frame[c].map(lambda v: json.dumps(v, sort_keys=True)) for c in ("hyperparams", "test_extra", "tolerance")
        }
        return frame.assign(**as_json).to_csv(index=False)
    raise ValueError(f"unknown format {fmt!r}")


def write_leaderboards(where: StorageSpec | Path) -> None:
    """Write `leaderboard.csv`, `.md` and `.json` of a storage into its results folder, each replaced
    atomically: all three are rendered before any is written, so an error leaves the previous files
    as they were. An empty results folder gets empty leaderboards; a missing one is left alone."""
    from benchbench.atomic import write_text_atomic

    store = StorageSpec.of(where)
    results = store.results
    if not results.is_dir():
        return
    frame = collect(store)
    texts = {
        f"leaderboard.{ext}": render(frame, fmt) for ext, fmt in (("csv", "csv"), ("md", "markdown"), ("json", "json"))
    }
    for name, text in texts.items():
        write_text_atomic(results / name, text)
