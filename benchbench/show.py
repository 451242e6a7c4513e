"""`bench show`: one trial's full record and the command that reruns it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchbench.errors import BenchError
from benchbench.results import StorageSpec, best_trial, counted_trials, eval_study_name, find_study

__all__ = ["TrialRecord", "render_trial", "trial_record"]


@dataclass(frozen=True)
class TrialRecord:
    study: str
    number: int
    state: str
    value: float | None
    attrs: dict[str, Any]  # the trial's user attributes (see docs/results.md)
    params: dict[str, Any]  # what Optuna sampled (names as searched, e.g. 1-momentum)
    started: str | None
    finished: str | None


def trial_record(
    store: StorageSpec, task: str, model: str, budget: str, number: int | None, *, evaluation: bool = False
) -> TrialRecord:
    """The record of trial `number` (default: the best complete trial) of a search, eval or fixed study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = store.open()
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    search = find_study(names, task, model, budget, where=store.label)
    name = eval_study_name(search) if evaluation else search
    if name not in names:
        raise BenchError(f"study {search!r} has no final evaluation yet; rerun its `bench run` to make one")
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    if number is None:
        direction = "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        trial = best_trial(counted_trials(trials), direction)
        if trial is None:
            raise BenchError(f"study {name!r} has no complete trial; pass --trial N (it has {len(trials)})")
    else:
        matches = [t for t in trials if t.number == number]
        if not matches:
            raise BenchError(f"study {name!r} has no trial {number}; it has trials 0-{len(trials) - 1}")
        trial = matches[0]
    return TrialRecord(
        study=name, number=trial.number, state=trial.state.name, value=trial.value, attrs=dict(trial.user_attrs),
        params=dict(trial.params),
        started=trial.datetime_start.isoformat(timespec="seconds") if trial.datetime_start else None,
        finished=trial.datetime_complete.isoformat(timespec="seconds") if trial.datetime_complete else None,
    )  # fmt: skip


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
    command = a.get("command")
    rerun = Text(f"rerun: {command}" if command else "rerun: (no command recorded for this trial)")
    return Group(table, rerun)
