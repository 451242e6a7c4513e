"""The rich console every table is printed on, and how a table's columns are fitted to its width.

A terminal gets tables fitted to its width. Output that is not a terminal (a pipe, a CI log, a
captured test run) is rendered for `$COLUMNS` when that is set, else wide enough to hold every
column: rich's own fallback of 80 columns would cut names and numbers in logs nobody can widen.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["UNBOUNDED", "Column", "console", "fit"]

UNBOUNDED = 10_000  # the width of non-terminal output without $COLUMNS: every column fits


def console(*, stderr: bool = False) -> Console:
    """A rich Console: the terminal's width, `$COLUMNS`, or UNBOUNDED for piped output."""
    from rich.console import Console

    plain = Console(stderr=stderr)
    if plain.is_terminal or os.environ.get("COLUMNS", "").strip().isdigit():
        return plain
    return Console(stderr=stderr, width=UNBOUNDED)


@dataclass(frozen=True)
class Column:
    """One column of a table to fit: its header, its cells as text, and how it may be treated."""

    header: str
    cells: Sequence[str]
    keep: bool = False  # never left out (names, the primary metric)
    priority: int = 0  # optional columns are left out lowest priority first, the rightmost of equals first

    @property
    def width(self) -> int:
        """The widest line of the header and cells, in terminal cells."""
        from rich.cells import cell_len

        return max((cell_len(line) for text in (self.header, *self.cells) for line in text.split("\n")), default=0)


def fit(columns: Sequence[Column], width: int, *, gap: int = 1) -> tuple[list[Column], list[Column]]:
    """The columns that fit in `width` terminal cells with `gap` cells between neighbours, and those
    left out. Columns marked `keep` always stay, even when they alone are wider than `width`."""
    shown = list(columns)
    left_out: list[Column] = []

    def total() -> int:
        return sum(c.width for c in shown) + gap * max(len(shown) - 1, 0)

    optional = sorted(
        (i for i, c in enumerate(columns) if not c.keep), key=lambda i: (columns[i].priority, -i)
    )  # fmt: skip
    for i in optional:
        if total() <= width:
            break
        shown.remove(columns[i])
        left_out.append(columns[i])
    left_out.sort(key=columns.index)
    return shown, left_out
