"""The comparison of analysis/compare.py rendered: rich tables readable at 80 columns, Markdown, CSV
and JSON."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from benchbench.analysis.compare import (
    ALPHA,
    POWER,
    BETTER,
    MIN_TASKS,
    SAME,
    WORSE,
    Comparison,
)
from benchbench.errors import BenchError
from benchbench.render.text import (
    arrow,
    better,
    count,
    fmt,
    metric_label,
    p_text,
    records,
    signed,
)
from benchbench.stats import is_missing

__all__ = ["ACROSS_LEGEND", "FORMATS", "friedman_line", "render"]

FORMATS = ("table", "csv", "markdown", "json")


def friedman_line(test: pd.Series | dict) -> str:
    """One line: the omnibus tests' results and the critical difference, or why there is no post-hoc
    test, or why no test was run."""
    if not is_missing(test["friedman_p"]):
        line = (
            f"Iman–Davenport F={test['iman_davenport_statistic']:.3g}, p={p_text(test['iman_davenport_p'])} (decides); "
            f"Friedman χ²={test['friedman_statistic']:.3g}, p={p_text(test['friedman_p'])}; over {count(test['n_tasks'], 'task')} × "
            f"{count(test['n_families'], 'family', 'families')}"
        )
        if not is_missing(test["critical_difference"]):
            return line + f"; Nemenyi critical difference {test['critical_difference']:.3g} (α={ALPHA})"
        return line + f"; {test['posthoc_note']}"
    return str(test["friedman_note"])


def _shown(test: pd.Series, pairs: pd.DataFrame) -> bool:
    """Whether the pairwise table has any test to show: Nemenyi's (after the omnibus test rejected)
    or Wilcoxon's (where the tasks can reach significance after Holm)."""
    if test["n_tasks"] < MIN_TASKS or pairs.empty:
        return False
    return bool(pairs["p_nemenyi"].notna().any() or pairs["p_wilcoxon"].notna().any())


def _reference_line(comparison: Comparison) -> str:
    return (
        f"difference from {comparison.reference} in the task's units and in % of {comparison.reference}'s test mean; "
        f"p from the paired t-test over the evaluation seeds both sides share, else Welch's t-test; "
        f"Holm-corrected across the budget's {len(comparison.against)} comparisons; significant: Holm p < {ALPHA}; "
        f"detectable: the smallest difference, in % of {comparison.reference}'s mean, that a two-sided t-test at "
        f"{ALPHA} finds with {POWER:.0%} power given the seeds' observed spread (per task: {comparison.reference}'s "
        f"spread, as many seeds a side); a difference below it going unnoticed is no evidence of equality"
    )


def _detectable(value: Any) -> str:
    if is_missing(value):
        return "too few seeds to say"
    return f"±{value:.0f}%" if value >= 10 else f"±{value:.2g}%"


ACROSS_LEGEND = (
    "avg rank: mean over the tasks of each family's rank by test mean (1 = best, ties share); "
    "Wilcoxon: signed-rank test over tasks of the relative differences (exact where no ties), Holm-corrected over the pairs; "
    "Nemenyi: post-hoc test, run only after the Iman–Davenport test rejects, beyond CD when the ranks differ by "
    "more than the critical difference"
)


_SHORT = {BETTER: "better", WORSE: "worse", SAME: "no sig. diff."}  # verdicts in the narrow table


def _table(title: str, left: list[str], right: list[str], last: str):
    """A table readable at 80 columns: names never wrap, figures right-aligned, the last column folds."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in left:
        t.add_column(header, no_wrap=True)
    for header in right:
        t.add_column(header, justify="right", no_wrap=True)
    t.add_column(last, overflow="fold")
    return t


def _rich_across(comparison: Comparison, budget: str, test: pd.Series) -> list:
    from rich.markup import escape

    out: list = []
    ranks = comparison.ranks[comparison.ranks["budget"] == budget]
    tasks = ", ".join(test["tasks"])
    t = _table(f"across tasks · budget {budget} · {count(test['n_tasks'], 'task')}: {tasks}", ["model"], ["avg rank"],
              "rank on each task")  # fmt: skip
    for _, r in ranks.iterrows():
        each = " · ".join(f"{task} {v:g}" for task, v in r["task_ranks"].items())
        t.add_row(escape(r["model"]), f"{r['avg_rank']:.2f}", escape(each))
    out += [t, escape(friedman_line(test))]  # a line of its own: as wide as the terminal
    pairs = comparison.pairwise[comparison.pairwise["budget"] == budget]
    if _shown(test, pairs):  # otherwise the lines above and below say it all
        t = _table(f"pairwise · budget {budget}", ["model", "vs"],
                  ["Δ rank", "w/t/l", "Wilcoxon\nHolm p", "Nemenyi\np"], "verdict")  # fmt: skip
        for _, r in pairs.iterrows():
            cd = " >CD" if not is_missing(r["beyond_cd"]) and r["beyond_cd"] else ""
            t.add_row(
                escape(r["model"]), escape(r["versus"]), f"{r['rank_diff']:.2f}{cd}",
                f"{r['wins']}/{r['ties']}/{r['losses']}", p_text(r["p_wilcoxon_holm"]), p_text(r["p_nemenyi"]),
                _SHORT.get(r["verdict"], r["verdict"]),
            )  # fmt: skip
        t.caption, t.caption_justify = escape(ACROSS_LEGEND + "; verdict: Wilcoxon after Holm"), "left"
        out.append(t)
    out += [escape(test["wilcoxon_note"])] if not is_missing(test["wilcoxon_note"]) else []
    return out


def _rich_against(comparison: Comparison, budget: str) -> list:
    from rich.markup import escape

    out: list = []
    rows = comparison.against[comparison.against["budget"] == budget]
    for task, group in rows.groupby("task", sort=True):
        first = group.iloc[0]
        label = metric_label(first["metric"], first["units"])
        title = (
            f"{task} · budget {budget} · {label}, {better(first['direction'])} is better · against {comparison.reference}: "
            f"{fmt(first['reference_mean'], '.4g')} over {first['reference_seeds']} seeds; detectable at "
            f"{POWER:.0%} power: {_detectable(first['task_detectable_pct'])}"
        )
        t = _table(title, ["model"], ["Δ", "Δ %", "seeds", "test", "p", "Holm\np"], "verdict")
        for _, r in group.iterrows():
            pct = "—" if is_missing(r["diff_pct"]) else f"{r['diff_pct']:+.2g}%"
            t.add_row(
                escape(r["model"]), signed(r["diff"]), pct, str(r["n_seeds"]), "—" if is_missing(r["test"]) else r["test"],
                p_text(r["p_value"]), p_text(r["p_holm"]), _SHORT.get(r["verdict"], r["verdict"]),
            )  # fmt: skip
        out.append(t)
    if not rows.empty:
        out.append(escape(_reference_line(comparison)))
    return out


def _rich(comparison: Comparison, view: str) -> list:
    """Tables (and one-line notes) readable at 80 columns: names never wrap, the verdict folds."""
    from rich.markup import escape

    out: list = []
    for budget in sorted(set(comparison.tests["budget"])):
        test = comparison.tests[comparison.tests["budget"] == budget].iloc[0]
        left = comparison.left_out[(comparison.left_out["budget"] == budget) & (comparison.left_out["view"] == view)]
        out += _rich_across(comparison, budget, test) if view == "across" else _rich_against(comparison, budget)
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
            lines += [f"### Across tasks · budget {budget} · {count(test['n_tasks'], 'task')}: {', '.join(test['tasks'])}", ""]
            ranks = comparison.ranks[comparison.ranks["budget"] == budget]
            tasks = list(test["tasks"])
            lines += table(
                ["model", "avg rank", *tasks],
                [[r["model"], f"{r['avg_rank']:.2f}", *(f"{r['task_ranks'][t]:g}" for t in tasks)] for _, r in ranks.iterrows()],
            )  # fmt: skip
            lines += ["", friedman_line(test) + ".", ""]
            pairs = comparison.pairwise[comparison.pairwise["budget"] == budget]
            if _shown(test, pairs):
                lines += table(
                    ["model", "vs", "Δ rank", "beyond CD", "w/t/l", "Wilcoxon p", "Wilcoxon Holm p", "Nemenyi p", "verdict"],
                    [
                        [r["model"], r["versus"], f"{r['rank_diff']:.2f}", "—" if is_missing(r["beyond_cd"]) else
                         ("yes" if r["beyond_cd"] else "no"), f"{r['wins']}/{r['ties']}/{r['losses']}",
                         p_text(r["p_wilcoxon"]), p_text(r["p_wilcoxon_holm"]), p_text(r["p_nemenyi"]), r["verdict"]]
                        for _, r in pairs.iterrows()
                    ],
                )  # fmt: skip
                lines += ["", ACROSS_LEGEND + ".", ""]
            if not is_missing(test["wilcoxon_note"]):
                lines += [test["wilcoxon_note"] + ".", ""]
        else:
            rows = comparison.against[comparison.against["budget"] == budget]
            lines += [f"### Against {comparison.reference} · budget {budget}", ""]
            lines += table(
                ["task", "metric", "model", f"{comparison.reference}", "mean", "Δ", "Δ %", "seeds", "paired", "test",
                 "p Welch", "p paired", "Holm p", "verdict", f"detectable ({POWER:.0%} power)"],
                [
                    [r["task"], f"{metric_label(r['metric'], r['units'])} {arrow(r['direction'])}",
                     r["model"], fmt(r["reference_mean"], ".4g"), fmt(r["mean"], ".4g"), signed(r["diff"]),
                     signed(r["diff_pct"], ".2g"), r["n_seeds"], r["n_paired"], "—" if is_missing(r["test"]) else r["test"], p_text(r["p_welch"]),
                     p_text(r["p_paired"]), p_text(r["p_holm"]), r["verdict"], _detectable(r["detectable_pct"])]
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
            "tests": records(comparison.tests), "ranks": records(comparison.ranks),
            "pairwise": records(comparison.pairwise), "against": records(comparison.against),
            "left_out": records(comparison.left_out),
        }  # fmt: skip
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        return (comparison.pairwise if view == "across" else comparison.against).to_csv(index=False)
    raise BenchError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
