"""The leaderboard frame (analysis/leaderboard.py) rendered: rich tables for a terminal, Markdown,
CSV and JSON, and the `leaderboard.*` files of a results folder. The human views share one display
frame (`display`), every figure formatted once."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.analysis.leaderboard import BASELINE, MODEL, SIGNIFICANCE
from benchbench.render.text import (
    arrow,
    better,
    fmt,
    metric_label,
    records,
    reference_matches,
    references,
)
from benchbench.stats import is_missing
from benchbench.store.names import is_fixed_label

__all__ = ["DISPLAY", "FORMATS", "LEGEND", "PUBLISHED", "display", "render", "search_note", "write_leaderboards"]

FORMATS = ("table", "csv", "markdown", "json")


def _hparams(h: dict[str, Any]) -> str:
    return " ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in h.items())


def _test(row: pd.Series) -> str:
    """`mean ± std` over seeds (the mean alone for one seed)."""
    if is_missing(row["test_mean"]):
        return "—"
    return fmt(row["test_mean"]) + ("" if is_missing(row["test_std"]) else f" ± {fmt(row['test_std'], '.2g')}")


def _ci(row: pd.Series) -> str:
    """`[low, high]` (log-scale intervals of a positive metric are asymmetric about the mean); `1 seed`
    where a family has too few seeds for any interval."""
    low, high = row["test_ci_low"], row["test_ci_high"]
    if is_missing(low):
        lone = row["kind"] != BASELINE and not is_missing(row["n_seeds"]) and 0 < row["n_seeds"] < 2
        return "1 seed" if lone else "—"
    return f"[{fmt(low)}, {fmt(high)}]"


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


def _is_baseline(row: pd.Series) -> bool:
    return row["kind"] == BASELINE


LEGEND = (
    "test: mean ± sd of the best configuration over its seeds, with the 95% t interval of the mean "
    "(for a positive metric such as MSE or perplexity, of the geometric mean: computed on log values, "
    "transformed back; `1 seed`: too few for an interval); "
    f"≈: not significantly different from the best (Welch's t-test, p ≥ {SIGNIFICANCE}); "
    "vs naive: better than the best naive baseline by that much, ✗ where the 95% interval does not clear it; "
    "naive rows are fitted on train and scored by the same metric code"
)

CUT_SHORT_MARK = "(cut short)"  # after a family whose search stopped before its planned trials
CUT_SHORT_NOTE = f"{CUT_SHORT_MARK}: the search stopped before its planned trials (--timeout); the same command without it finishes it"
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
        metric = f"{metric_label(first['metric'], first['units'])} {arrow(first['direction'])}"
        extras = list(first["test_extra"]) if isinstance(first["test_extra"], dict) else []
        for _, row in group.iterrows():
            cells = {"task": task, "budget": budget, "kind": row["kind"], "metric": metric, "val": fmt(row["val"])}
            cells.update({f"test {metric_label(m, '')}": fmt(row["test_extra"].get(m)) for m in extras})
            if _is_baseline(row):
                cells.update(
                    style="naive", model=f"{row['model']} (naive)", test=fmt(row["test"]),
                    time=f"{row['wall_time']:.0f}s", note=_baseline_note(row),
                )  # fmt: skip
            else:
                cells.update(
                    # green only for a best family that also clears the naive baseline; red where it does not
                    style="below" if row["beats_baseline"] is False else "best" if _first(row) else "",
                    model=row["model"] + (f" {CUT_SHORT_MARK}" if row.get("cut_short") else ""), test=_test(row), seeds=fmt(row["n_seeds"], "d"),
                    params=fmt(row["params"], ",d"), time=f"{row['wall_time']:.0f}s",
                    hyperparameters=_hparams(row["hyperparams"]),
                    **{"#": fmt(row["rank"], "d"), "95% CI": _ci(row), "vs best": _versus_best(row),
                       "vs naive": _versus_naive(row), "trials c/p/f": _trials(row)},
                )  # fmt: skip
            rows.append(cells)
        for ref in references(task):
            if reference_matches(ref, task):
                rows.append({
                    "task": task, "budget": budget, "kind": PUBLISHED, "style": "reference", "metric": metric,
                    "model": f"{PUBLISHED} {ref.model}", "val": fmt(ref.val), "test": fmt(ref.test),
                    **{f"test {metric_label(m, '')}": fmt(ref.extra.get(m)) for m in extras if m in (ref.extra or {})},
                    "note": f"{ref.source}{' · ' + ref.note if ref.note else ''}",
                })  # fmt: skip
    extra_columns = sorted({c for r in rows for c in r} - set(DISPLAY))
    at = DISPLAY.index("vs naive") + 1
    columns = DISPLAY[:at] + extra_columns + DISPLAY[at:]
    return pd.DataFrame([{c: r.get(c, "") for c in columns} for r in rows], columns=columns, dtype=object)


# The table's columns: (display column, justify, keep, priority). A terminal too narrow for all of them
# leaves out the lowest priority first (console.fit): the wall time and parameter count, then the seeds
# and trial counts, and keeps the rank, the name, the test figure and the verdicts, the significance
# against the best family (vs best) longest of them.
_RICH = [
    ("#", "right", True, 0), ("model", "left", True, 0), ("val", "right", False, 4), ("test", "right", True, 0),
    ("95% CI", "right", False, 6), ("seeds", "right", False, 2), ("vs best", "left", False, 8),
    ("vs naive", "left", False, 7), ("params", "right", False, 1), ("trials c/p/f", "right", False, 3),
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

    from benchbench.render.console import Column, fit

    text = display(frame)
    for (task, budget), group in text.groupby(["task", "budget"], sort=True):
        first = frame[(frame["task"] == task) & (frame["budget"] == budget)].iloc[0]
        label = metric_label(first["metric"], first["units"])
        setting = f"fixed configurations (bench train), {budget}" if is_fixed_label(budget) else f"budget {budget}"
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
            title=escape(f"{task} · {setting} · {label}, {better(first['direction'])} is better"), title_justify="left",
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
        if group["model"].str.endswith(CUT_SHORT_MARK).any():
            lines.append(CUT_SHORT_NOTE)
        searched = search_note(frame[(frame["task"] == task) & (frame["budget"] == budget)])
        if searched:
            lines.append(searched)
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


def search_note(frame: pd.DataFrame) -> str:
    """One line on how the families of a leaderboard were searched: sampler, start-up and pruner, and
    whether the search was paired (every family drew the same configurations) or independent."""
    searches = [s for s in frame.get("search", pd.Series(dtype=object)) if isinstance(s, dict)]
    if not searches:
        return ""
    how = sorted({
        f"{s['sampler']}" + (f" after {s['startup']} random trials" if s["sampler"] in ("tpe", "gp") else "")
        + f", {s['pruner']} pruner" for s in searches
    })  # fmt: skip
    paired = {s["paired"] for s in searches}
    if paired == {True}:
        pairing = "paired: every family drew the same configurations (--paired-search)"
    elif paired == {False}:
        pairing = "independent: each family drew its own configurations (--no-paired-search)"
    else:
        pairing = "mixed: some families paired, some independent (compare with care)"
    return f"search: {'; '.join(how)}; {pairing}"


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
    note = f" {CUT_SHORT_NOTE}." if text["model"].str.endswith(CUT_SHORT_MARK).any() else ""
    pairs = sorted(set(zip(frame["task"], frame["budget"])))
    notes = [n for n in (search_note(frame[(frame["task"] == t) & (frame["budget"] == b)]) for t, b in pairs) if n]
    searched = "".join(f"\n\n{n}." for n in dict.fromkeys(notes))
    return text.to_markdown(index=False, disable_numparse=True) + "\n\n" + LEGEND + "." + note + searched + "\n"


def render(frame: pd.DataFrame, fmt: str, *, width: int = 120) -> str | list:
    """The leaderboard as text (csv, markdown, json) or as rich renderables (table, for a terminal
    `width` columns wide). CSV and JSON carry every column of COLUMNS; Markdown and the table are
    the human views."""
    if fmt == "table":
        return list(_rich_tables(frame, width))
    if fmt == "json":
        return json.dumps(records(frame), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(frame)
    if fmt == "csv":
        as_json = {
            c: frame[c].map(lambda v: json.dumps(v, sort_keys=True)) for c in ("hyperparams", "test_extra", "tolerance", "search")
        }
        return frame.assign(**as_json).to_csv(index=False)
    raise ValueError(f"unknown format {fmt!r}")


def write_leaderboards(frame: pd.DataFrame, folder: Path) -> None:
    """Write `leaderboard.csv`, `.md` and `.json` of a leaderboard frame into a results folder, each
    replaced atomically: all three are rendered before any is written, so an error leaves the previous
    files as they were. A missing folder is left alone."""
    from benchbench.atomic import write_text_atomic

    if not folder.is_dir():
        return
    texts = {
        f"leaderboard.{ext}": render(frame, fmt) for ext, fmt in (("csv", "csv"), ("md", "markdown"), ("json", "json"))
    }
    for name, text in texts.items():
        write_text_atomic(folder / name, text)
