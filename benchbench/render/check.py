"""`bench check`'s outcome as a rich table, one row per cell of the regression baseline file."""

from __future__ import annotations

from benchbench.analysis.check import IMPROVED, MISSING, OK, REGRESSED, Outcome

__all__ = ["render_check"]

_STYLE = {OK: "green", IMPROVED: "cyan", REGRESSED: "bold red", MISSING: "yellow"}


def render_check(outcome: Outcome):
    """The comparison as a rich table, one row per baseline cell."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=escape(f"bench check · {outcome.results} against {outcome.baseline}"), title_justify="left",
        box=box.SIMPLE_HEAD, pad_edge=False,
    )  # fmt: skip
    # The status first and never cut; a long task variant wraps before any number is shortened.
    table.add_column("status", no_wrap=True, min_width=len(REGRESSED))
    table.add_column("task/family/budget", overflow="fold", min_width=len("task/family/budget"))
    for column in ("metric", "baseline", "now", "delta", "tolerance"):
        table.add_column(column, justify="left" if column == "metric" else "right", no_wrap=True)
    for c in outcome.comparisons:
        table.add_row(
            f"[{_STYLE[c.status]}]{c.status}[/]", escape(c.cell.name), escape(c.cell.metric), f"{c.cell.value:.4g}",
            "—" if c.now is None else f"{c.now:.4g}", c.change(), c.tolerance(),
        )  # fmt: skip
    return table
