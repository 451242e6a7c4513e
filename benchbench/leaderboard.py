"""Results -> one DataFrame -> rich table, CSV, Markdown or JSON. Reads results; never trains.

One row per study (task x family x budget). Families are ranked within a task and budget by their
best trial's validation metric, in the metric's direction; the row reports that trial's test metric,
parameter count and hyperparameters, with trial counts and the study's total wall time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.results import JOURNAL

__all__ = ["COLUMNS", "FORMATS", "collect", "render"]

FORMATS = ("table", "csv", "markdown", "json")

# The stable columns of every rendering, in order (JSON rows carry exactly these keys).
COLUMNS = [
    "task", "budget", "rank", "model", "metric", "direction", "units", "val", "test", "test_extra",
    "params", "trials", "complete", "pruned", "failed", "wall_time", "best_trial", "hyperparams",
    "baseline", "baseline_label",
]  # fmt: skip


def _study_row(summary, storage) -> dict[str, Any]:
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    attrs = study.user_attrs
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None and not math.isnan(t.value)]
    from benchbench.results import task_label

    row: dict[str, Any] = {
        "task": task_label(attrs.get("task"), attrs.get("task_options")),
        "budget": attrs.get("budget"),
        "model": attrs.get("model"),
        "metric": attrs.get("metric"),
        "direction": attrs.get("direction"),
        "units": attrs.get("units", ""),
        "trials": len(trials),
        "complete": sum(t.state == TrialState.COMPLETE for t in trials),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "wall_time": sum(
            (t.datetime_complete - t.datetime_start).total_seconds()
            for t in trials
            if t.datetime_start and t.datetime_complete
        ),
        "baseline": attrs.get("baseline"),
        "baseline_label": attrs.get("baseline_label", ""),
        "val": None, "test": None, "test_extra": {}, "params": None, "best_trial": None, "hyperparams": {},
    }  # fmt: skip
    if done:
        pick = min if attrs.get("direction") == "minimize" else max
        best = pick(done, key=lambda t: t.value)
        row.update(
            val=best.value,
            test=best.user_attrs.get("test"),
            test_extra={m: best.user_attrs.get(f"test_{m}") for m in attrs.get("extra_metrics", [])},
            params=best.user_attrs.get("params"),
            best_trial=best.number,
            hyperparams=dict(best.params),
        )
    return row


def collect(results: Path, *, task: str | None = None) -> pd.DataFrame:
    """Every study under `results` as one row each, ranked within task and budget."""
    if not (results / JOURNAL).is_file():
        return pd.DataFrame(columns=COLUMNS)
    import optuna

    from benchbench.results import open_storage

    storage = open_storage(results)
    rows = [_study_row(s, storage) for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    if task is not None:  # a task name matches every variant of it (e.g. electricity[horizon=24])
        frame = frame[(frame["task"] == task) | frame["task"].str.startswith(f"{task}[")]
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    # Rank in each metric's own direction: negate maximised metrics so "smaller is better" everywhere.
    frame["_key"] = frame["val"].astype(float) * frame["direction"].map({"minimize": 1.0, "maximize": -1.0})
    frame = frame.sort_values(["task", "budget", "_key", "model"], na_position="last")
    frame["rank"] = frame.groupby(["task", "budget"])["_key"].rank(method="min").astype("Int64")
    return frame.drop(columns="_key")[COLUMNS].reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values (NaN -> null, numpy scalars -> Python numbers), floats at full precision."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        return value.item() if hasattr(value, "item") else value

    return [{key: plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def _fmt(value: Any, spec: str = ".4g") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    return format(value, spec)


def _hparams(h: dict[str, Any]) -> str:
    return " ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in h.items())


def _references(task: str):
    """Published results from the task spec, when the spec is still there."""
    from benchbench.errors import BenchError
    from benchbench.tasks import load_task

    try:
        return load_task(task.split("[")[0]).references
    except BenchError:
        return ()


def _label(metric_name: str, units: str) -> str:
    from benchbench.metrics import METRICS

    label = METRICS.get(metric_name).label if metric_name in METRICS else metric_name
    return f"{label} ({units})" if units else label


def _rich_tables(frame: pd.DataFrame, width: int):
    from rich.markup import escape
    from rich.table import Table

    wide = width >= 120  # hyperparameters get a column on wide terminals, a caption otherwise
    for (task, budget), group in frame.groupby(["task", "budget"], sort=True):
        first = group.iloc[0]
        label = _label(first["metric"], first["units"])
        extras = list(first["test_extra"])
        better = "lower" if first["direction"] == "minimize" else "higher"
        setting = "fixed configurations (bench train)" if budget == "fixed" else f"budget {budget}"
        table = Table(title=escape(f"{task} · {setting} · {label}, {better} is better"), title_justify="left")
        columns = [("#", "right"), ("model", "left"), ("val", "right"), ("test", "right")]
        columns += [(f"test {_label(m, '')}", "right") for m in extras]
        columns += [("params", "right"), ("trials c/p/f", "right"), ("time", "right")]
        for column, justify in columns:
            table.add_column(column, justify=justify, no_wrap=True)
        if wide:
            table.add_column("best hyperparameters", overflow="fold")
        for _, row in group.iterrows():
            cells = [_fmt(row["rank"], "d"), row["model"], _fmt(row["val"]), _fmt(row["test"])]
            cells += [_fmt(row["test_extra"].get(m)) for m in extras]
            cells += [
                _fmt(row["params"], ",d") if row["params"] is not None and not pd.isna(row["params"]) else "—",
                f"{row['trials']} ({row['complete']}/{row['pruned']}/{row['failed']})",
                f"{row['wall_time']:.0f}s",
            ]
            table.add_row(
                *map(escape, cells), *([escape(_hparams(row["hyperparams"]))] if wide else []),
                style="bold green" if row["rank"] == 1 else None,
            )  # fmt: skip
        blank = [""] * (len(columns) - 4)
        if first["baseline"] is not None and not pd.isna(first["baseline"]):
            value = _fmt(first["baseline"])
            table.add_row("", "baseline", value, value, *blank, *([escape(first["baseline_label"])] if wide else []), style="dim")
        for ref in _references(task):
            note = f"{ref.source}{' · ' + ref.note if ref.note else ''}"
            table.add_row(
                "", f"published {ref.model}", _fmt(ref.val), _fmt(ref.test), *blank, *([escape(note)] if wide else []),
                style="dim italic",
            )  # fmt: skip
        if not wide:
            best = group.iloc[0]
            lines = [f"best: {_hparams(best['hyperparams'])}"] if best["hyperparams"] else []
            if first["baseline"] is not None and not pd.isna(first["baseline"]):
                lines.append(f"baseline: {first['baseline_label']}")
            lines += [f"published {r.model}: {r.source}{' · ' + r.note if r.note else ''}" for r in _references(task)]
            table.caption, table.caption_justify = escape("\n".join(lines)), "left"
        yield table


def render(frame: pd.DataFrame, fmt: str, *, width: int = 120) -> str | list:
    """The leaderboard as text (csv, markdown, json) or as rich renderables (table, for a terminal
    `width` columns wide)."""
    if fmt == "table":
        return list(_rich_tables(frame, width))
    if fmt == "json":
        return json.dumps(_records(frame), indent=2) + "\n"
    as_json = {c: frame[c].map(lambda h: json.dumps(h, sort_keys=True)) for c in ("hyperparams", "test_extra")}
    flat = frame.assign(**as_json)
    if fmt == "csv":
        return flat.to_csv(index=False)
    if fmt == "markdown":
        return flat.to_markdown(index=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
