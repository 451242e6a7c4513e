"""How figures are written, once for every view: number formats, p-values, the metric's direction as an
arrow or a word, metric labels with units, JSON-ready records, and the published references a task
spec holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchbench.errors import BenchError
from benchbench.stats import is_missing
from benchbench.store.names import task_label

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MISSING", "arrow", "better", "count", "fmt", "metric_label", "p_text", "plain", "records", "reference_matches",
    "references", "signed",
]  # fmt: skip

MISSING = "—"  # a figure without a value


def fmt(value: Any, spec: str = ".4g") -> str:
    """A figure in `spec` (4 significant digits by default), or — without a value."""
    return MISSING if is_missing(value) else format(value, spec)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 task`, `3 tasks`: a number with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def signed(value: Any, spec: str = ".3g") -> str:
    """A difference with its sign, `+0.012`."""
    return MISSING if is_missing(value) else format(value, "+" + spec)


def p_text(value: Any) -> str:
    """A p-value: two significant digits, `<0.001` below that."""
    return MISSING if is_missing(value) else "<0.001" if value < 0.001 else format(value, ".2g")


def arrow(direction: str) -> str:
    """↓ where lower is better, ↑ where higher is."""
    return "↓" if direction == "minimize" else "↑"


def better(direction: str) -> str:
    """`lower` or `higher`: which way is better."""
    return "lower" if direction == "minimize" else "higher"


def metric_label(metric_name: str, units: str) -> str:
    """How a metric is named in headers: its label, with the study's units, e.g. `RMSE (µg/m³)`."""
    from benchbench.metrics import METRICS

    label = METRICS.get(metric_name).label if metric_name in METRICS else metric_name
    return f"{label} ({units})" if units else label


def plain(value: Any) -> Any:
    """A value as plain JSON: NaN and NA -> None, numpy scalars -> Python numbers, containers as they are."""
    if isinstance(value, dict | list):
        return value
    if is_missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values, floats at full precision."""
    return [{key: plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def references(task: str):
    """Published results from the task spec of a task label, when the spec is still there."""
    from benchbench.tasks import load_task

    try:
        return load_task(task.split("[")[0]).references
    except BenchError:
        return ()


def reference_matches(ref, task: str) -> bool:
    """A published figure is shown beside the task variant whose options it was measured with."""
    base = task.split("[")[0]
    return task_label(base, ref.options) == task or (not ref.options and task == base)

