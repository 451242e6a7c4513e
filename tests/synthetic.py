"""Synthetic results for every test of what reads results (leaderboard, compare, check, importance,
report): studies and trials written straight into the journal storage with the attributes
docs/results.md defines, no training. `add_study`/`add_trial` build one study trial by trial;
`study`/`seeds` build a whole study with its evaluation in one call."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from benchbench.store.names import study_name
from benchbench.store.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

# The search space of the synthetic trials (floats: each continuous, as most of a real search space).
SPACE = {
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "hidden_size": FloatDistribution(16, 256),
    "dropout": FloatDistribution(0.0, 0.5),
}


def add_study(
    results: Path,
    *,
    task: str = "adding",
    model: str = "lstm",
    budget: str = "default",
    options: dict[str, Any] | None = None,
    kind: str | None = "search",
    metric: str = "mse",
    direction: str | None = None,
    **extra: Any,
) -> optuna.Study:
    """An empty study named as `bench run` names it, with the user attributes every kind of study
    carries (`extra` adds or overrides them); the direction defaults to the metric's own.
    `kind=None` writes a study from before kinds existed."""
    from benchbench.metrics import METRICS

    name = study_name(task, model, budget, options) + ("/eval" if kind == "eval" else "")
    direction = direction or METRICS.get(metric).direction
    results.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(storage=open_storage(results), study_name=name, direction=direction)
    attrs = {
        "kind": kind, "task": task, "task_options": options or {}, "model": model, "budget": budget,
        "metric": metric, "direction": direction, "units": "", "extra_metrics": [],
        "tolerance": {"relative": 0.1}, **extra,
    }  # fmt: skip
    if kind == "eval":
        attrs["search_study"] = study_name(task, model, budget, options)
    for key, value in attrs.items():
        if not (key == "kind" and value is None):
            study.set_user_attr(key, value)
    return study


def add_baselines(
    results: Path,
    scores: dict[str, tuple[float, float]],
    *,
    task: str = "adding",
    budget: str = "default",
    options: dict[str, Any] | None = None,
    metric: str = "mse",
) -> optuna.Study:
    """The naive baselines' study of task x budget as `bench run` stores it: one complete trial per
    baseline label (e.g. `constant[value=1]`) with its (validation, test) score."""
    study = add_study(results, task=task, model="baselines", budget=budget, options=options, kind="baseline", metric=metric)
    for label, (val, test) in scores.items():
        name, _, rest = label.partition("[")
        study.add_trial(
            optuna.trial.create_trial(
                value=val,
                user_attrs={"baseline": label, "name": name, "options": {}, "val": val, "test": test, "wall_time": 0.01},
            )
        )
    return study


def add_trial(
    study: optuna.Study,
    params: dict[str, float],
    value: float | None,
    *,
    state: TrialState = TrialState.COMPLETE,
    **attrs: Any,
) -> None:
    """A finished trial with `params` (from SPACE) and the user attributes of docs/results.md; `attrs`
    overrides or adds to them (e.g. rank= and source_trial= for an eval trial)."""
    user_attrs = {
        "val": value, "test": None if value is None else value * 1.1, "params": 1000, "epochs": 3,
        "best_epoch": 2, "wall_time": 1.0, "device": "cpu", "seed": len(study.trials), "hparams": dict(params),
        **attrs,
    }  # fmt: skip
    study.add_trial(
        optuna.trial.create_trial(
            params=params,
            distributions={name: SPACE[name] for name in params},
            value=value if state == TrialState.COMPLETE else None,
            state=state,
            user_attrs=user_attrs,
        )
    )


def write_log(results: Path, study: optuna.Study, number: int, values: list[float]) -> Path:
    """A Lightning-style CSV log of trial `number`: one validation and one training row per epoch."""
    metric = study.user_attrs["metric"]
    folder = results / "logs" / study.study_name / f"trial_{number}"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"epoch,step,train_loss,val_{metric}"]
    for epoch, value in enumerate(values):
        lines += [f"{epoch},{epoch * 4 + 3},,{value}", f"{epoch},{epoch * 4 + 3},{value * 2},"]
    path = folder / "metrics.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


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


# A user's task spec (short adding sequences) for the tests that run `bench run --tasks-dir`.
USER_TASK = '''
description = "My adding variant (Le et al. 2015): short sequences"
output = "sequence-regression"
metric = "mse"
baselines = [{ name = "train-mean" }]

[dataset]
name = "adding"
seq_len = 12
train_size = 256
val_size = 128
test_size = 128
seeds = { train = 1, val = 2, test = 3 }

[budgets.smoke]
trials = 1
max_epochs = 1

[budgets.default]
trials = 2
max_epochs = 2

[search.default]
lr = { low = 1e-3, high = 3e-2, log = true }
hidden_size = 8
num_layers = 1
batch_size = 64
'''
