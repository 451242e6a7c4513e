"""`bench show`'s record of one trial as a rich table, then the command that reruns it."""

from __future__ import annotations

import json
from typing import Any

from benchbench.analysis.show import TrialRecord

__all__ = ["render_trial"]


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) if value else "—"
    if value is None:
        return "—"
    return str(value) if not isinstance(value, list) else json.dumps(value)


def render_trial(record: TrialRecord):
    """A rich table of the record, then the rerun command."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    a = record.attrs
    table = Table(title=escape(f"{record.study} · trial {record.number} · {record.state}"), title_justify="left", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    rows: list[tuple[str, Any]] = [("value (val)", record.value), ("test", a.get("test"))]
    rows += [(k, v) for k, v in a.items() if k.startswith("test_")]
    rows += [
        ("seed", a.get("seed")), ("hyperparameters", a.get("hparams", record.params)),
        ("sampled", record.params if record.params != a.get("hparams") else None),
        ("source trial", a.get("source_trial")), ("epochs", a.get("epochs")), ("best epoch", a.get("best_epoch")),
        ("parameters", a.get("params")), ("device", a.get("device")), ("precision", a.get("precision")),
        ("wall time (s)", a.get("wall_time")),
        ("started", record.started), ("finished", record.finished), ("worker", a.get("worker")),
        ("fail reason", a.get("fail_reason")),
    ]  # fmt: skip
    prov = a.get("provenance") or {}
    rows += [(f"{k}", v) for k, v in prov.items()]
    for field, value in rows:
        if value is not None and value != {}:
            table.add_row(escape(field), escape(_text(value)))
    parts = [table]
    if a.get("traceback"):
        lines = a["traceback"].rstrip().splitlines()
        shown = lines if len(lines) <= _TRACEBACK_LINES else ["…", *lines[-_TRACEBACK_LINES:]]
        parts.append(Text("traceback:\n" + "\n".join(shown)))
    command = record.rerun or a.get("command")
    parts.append(Text(f"rerun: {command}" if command else "rerun: (no command recorded for this trial)"))
    return Group(*parts)


_TRACEBACK_LINES = 40  # the end of a longer stored traceback, where it was raised
