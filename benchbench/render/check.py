"""`bench check`'s outcome as a rich table, one row per cell of the regression baseline file."""

from __future__ import annotations

from benchbench.analysis.check import IDENTICAL, IMPROVED, MISSING, OK, REGRESSED, TEST, Comparison, Outcome
from benchbench.render.text import p_text

__all__ = ["render_check"]

_STYLE = {OK: "green", IMPROVED: "cyan", REGRESSED: "bold red", MISSING: "yellow"}


def render_check(outcome: Outcome):
    """The comparison as a rich table, one row per baseline cell; the caption says the rule."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=escape(f"bench check · {outcome.results} against {outcome.baseline}"), title_justify="left",
        box=box.SIMPLE_HEAD, pad_edge=False, caption=escape(outcome.note), caption_justify="left",
    )  # fmt: skip
    # The status first and never cut; a long task variant wraps before any number is shortened.
    table.add_column("status", no_wrap=True, min_width=len(REGRESSED))
    table.add_column("task/family/budget", overflow="fold", min_width=len("task/family/budget"))
    # the metric is left to the regressed line: at 80 columns every figure and the evidence fit
    for column in ("baseline", "now", "delta", "tol.", "evidence"):
        table.add_column(column, justify="left" if column == "evidence" else "right", no_wrap=True)
    for c in outcome.comparisons:
        table.add_row(
            f"[{_STYLE[c.status]}]{c.status}[/]", escape(c.cell.name), f"{c.cell.value:.4g}",
            "—" if c.now is None else f"{c.now:.4g}", c.change(), c.tolerance(), _evidence(c),
        )  # fmt: skip
    return table


def _evidence(c: Comparison) -> str:
    """`identical` (the same seeds), `p=0.003` (the test's Holm-corrected one-sided p), or `tol. only`."""
    if c.status == MISSING:
        return "—"
    if c.rule == IDENTICAL:
        return IDENTICAL
    return f"p={p_text(c.p_holm)}" if c.rule == TEST else "tol. only"
