"""`bench show`: one trial's full record and the command that reruns it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchbench.errors import BenchError
from benchbench.analysis.frame import known_names
from benchbench.store.names import eval_study_name, find_study
from benchbench.store.storage import StorageSpec
from benchbench.store.trials import best_trial, counted_trials

__all__ = ["TrialRecord", "trial_record"]


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
    rerun: str | None = None  # the command that trains it again, with this results folder


def _rerun(command: str | None, store: StorageSpec) -> str | None:
    """The recorded command, with --results where the results folder is not the default one."""
    import shlex
    from pathlib import Path

    if not command or store.url is not None or store.results == Path("results"):
        return command
    return f"{command} --results {shlex.quote(str(store.results))}"


def trial_record(
    store: StorageSpec, task: str, model: str, budget: str, number: int | None, *, evaluation: bool = False
) -> TrialRecord:
    """The record of trial `number` (default: the best complete trial) of a search, eval or fixed study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = store.require().open()
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    search = find_study(names, task, model, budget, where=store.label, **known_names())
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
        rerun=_rerun(trial.user_attrs.get("command"), store),
    )  # fmt: skip
