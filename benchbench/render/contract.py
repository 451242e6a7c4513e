"""`bench check-model`'s pass/fail table of a family's contract checks."""

from __future__ import annotations

from benchbench.contract import ContractReport

__all__ = ["render_contract"]

_STYLE = {"pass": "green", "FAIL": "bold red", "skip": "yellow"}


def render_contract(report: ContractReport):
    """A rich table: one row per check, its outcome, its time and why it failed or was skipped."""
    from rich.markup import escape
    from rich.table import Table

    counts = {outcome: sum(c.outcome == outcome for c in report.checks) for outcome in ("pass", "FAIL", "skip")}
    source = f" ({report.ref})" if report.ref != report.model else ""
    title = f"contract of {report.model}{source}: {counts['pass']} pass, {counts['FAIL']} fail, {counts['skip']} skipped"
    table = Table(title=escape(title), title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("s", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        style = _STYLE[check.outcome]
        table.add_row(escape(check.name), f"[{style}]{check.outcome}[/{style}]", f"{check.seconds:.1f}", escape(check.detail))
    return table
