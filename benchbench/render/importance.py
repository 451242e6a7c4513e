"""`bench importance`'s bars: each hyperparameter's fANOVA share of the variance."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["render"]


def render(name: str, importances: dict[str, float], *, width: int = 30) -> Table:
    """A rich table of `importances`: parameter, importance, and a bar `width` cells long at 1.0."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{name} · fANOVA hyperparameter importance"), title_justify="left")
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    table.add_column("", style="cyan", no_wrap=True, min_width=width)
    for param, value in importances.items():
        table.add_row(escape(param), f"{value:.3f}", "█" * round(value * width) or "▏")
    return table
