"""A saved regression baseline file as one Markdown table: per task x budget, each family's test mean with its
95% interval, the best naive baseline and the published references, with units and direction.

`bench baseline table --baseline results/baselines/default.json` prints it; the README's Results
section is this output for the committed default-budget file (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Sequence

from benchbench.analysis.check import Cell
from benchbench.analysis.leaderboard import beats_naive
from benchbench.render.text import (
    arrow,
    fmt,
    metric_label,
    reference_matches,
    references,
)

__all__ = ["results_table"]


def _beats(cell: Cell, naive: Cell | None) -> bool | None:
    """Whether the family beats the best naive baseline, by the leaderboard's rule."""
    return None if naive is None else beats_naive(cell.value, cell.ci_low, cell.ci_high, naive.value, cell.direction)


def _family(cell: Cell, naive: Cell | None) -> str:
    interval = f" [{fmt(cell.ci_low)}, {fmt(cell.ci_high)}]" if cell.ci_low is not None else ""
    mark = {True: "", False: " ✗", None: ""}[_beats(cell, naive)]
    return f"{fmt(cell.value)}{interval}{mark}"


def _published(task: str) -> str:
    return "; ".join(
        f"{fmt(ref.test)} ({ref.model}, {ref.source})" for ref in references(task) if reference_matches(ref, task)
    )


def results_table(cells: Sequence[Cell]) -> str:
    """The Markdown table of a baseline file's cells (families as columns, in order of appearance)."""
    families = list(dict.fromkeys(c.model for c in cells if c.kind == "model"))
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.task, cell.budget), []).append(cell)
    head = ["task", "budget", "metric", *families, "best naive baseline", "published", "time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for (task, budget), group in sorted(groups.items()):
        first = group[0]
        sign = 1 if first.direction == "minimize" else -1
        naive = min((c for c in group if c.kind == "baseline"), key=lambda c: sign * c.value, default=None)
        models = {c.model: c for c in group if c.kind == "model"}
        seconds = sum(c.wall_time or 0.0 for c in models.values())
        row = [
            task, budget, f"{metric_label(first.metric, first.units)} {arrow(first.direction)}",
            *(_family(models[f], naive) if f in models else "—" for f in families),
            "—" if naive is None else f"{fmt(naive.value)} ({naive.model})",
            _published(task) or "—",
            f"{seconds / 60:.1f} min" if seconds else "—",
        ]  # fmt: skip
        lines.append("| " + " | ".join(text.replace("|", "\\|") for text in row) + " |")
    # a version 1 file's intervals are plain t intervals; version 2 says per cell how each was computed
    logged = any(c.ci_scale == "log" for c in cells)
    scale = "; for a positive metric (MSE, RMSE, RSE, perplexity, bpc) computed on log values and transformed back" if logged else ""
    lines += [
        "",
        "Test figures: mean over the evaluation seeds of the configuration the search chose on validation, "
        f"[95% t interval{scale}]; ✗: the interval does not clear the best naive baseline. Naive baselines are fitted "
        "on the training split and scored by the same metric code. Time: search and evaluation of the "
        "families shown, summed over their trials.",
    ]
    return "\n".join(lines) + "\n"
