"""Synthetic results for the leaderboard and check tests: studies written straight into the journal
storage with the attributes docs/results.md defines, no training."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from .studies import add_study


def study(
    results: Path,
    *,
    task: str = "adding",
    model: str = "lstm",
    budget: str = "smoke",
    kind: str | None = "search",
    metric: str = "mse",
    trials: list[dict[str, Any]] = (),
    **attrs: Any,
) -> str:
    """Create a study named as `bench run` names it and add `trials`, each a dict with `value`
    (validation), `test`, and optionally `state`, `lr`, `seconds`, `system_attrs` and any other user
    attributes (`rank`, `source_trial`, `test_<metric>` ...). `kind=None` writes a study from before
    kinds existed. Returns the study name."""
    options = attrs.pop("task_options", None)
    s = add_study(results, task=task, model=model, budget=budget, options=options, kind=kind, metric=metric, **attrs)
    for spec in trials:
        s.add_trial(trial(**spec))
    return s.study_name


def trial(
    *,
    value: float | None = None,
    test: float | None = None,
    state: TrialState = TrialState.COMPLETE,
    lr: float = 0.01,
    seconds: float = 1.0,
    system_attrs: dict[str, Any] | None = None,
    **user_attrs: Any,
) -> optuna.trial.FrozenTrial:
    finished = state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    attrs = {"params": 1000, **user_attrs} if state == TrialState.COMPLETE else dict(user_attrs)
    if test is not None:
        attrs["test"] = test
    t = optuna.trial.create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"lr": lr},
        distributions={"lr": FloatDistribution(1e-5, 1.0, log=True)},
        user_attrs=attrs,
        system_attrs=system_attrs or {},
    )
    if finished:
        t.datetime_start = t.datetime_complete - datetime.timedelta(seconds=seconds)
    return t


def seeds(tests: list[float], *, source: int = 0, rank: int = 1, **extra: Any) -> list[dict[str, Any]]:
    """Eval trials: configuration `source` retrained once per test value."""
    return [
        {"value": t, "test": t, "rank": rank, "source_trial": source, "seed": 1000 + i, **extra}
        for i, t in enumerate(tests)
    ]
