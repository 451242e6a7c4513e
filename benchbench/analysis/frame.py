"""One read of a storage that every reader shares: the ResultSet.

`read` opens a storage (a results folder's journal or an RDB URL) once and keeps every benchbench
study with its trials. Readers take what they need from it: the leaderboard its rows, `compare` the
evaluation seeds behind each row, the report the studies for its figures. `trials` is the same data
as one tidy DataFrame, a row per trial of every study (as Optuna's `trials_dataframe`, across studies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchbench.errors import BenchError, shown
from benchbench.stats import is_finite
from benchbench.store.names import Kind, kind_of, task_label
from benchbench.store.storage import StorageSpec

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["TRIAL_COLUMNS", "ResultSet", "StudyRecord", "known_names", "matches", "read", "seed_trials"]

REQUIRED = ("task", "model", "budget", "metric", "direction")  # study attributes a result cannot do without
TRIAL_COLUMNS = [
    "study", "kind", "task", "model", "budget", "number", "state", "value", "test", "seed", "rank", "source_trial",
]  # fmt: skip


@dataclass(frozen=True)
class StudyRecord:
    """One benchbench study: its name, kind, task label, user attributes and trials."""

    name: str
    kind: str  # a Kind value
    task: str  # the task label, with changed dataset options: `electricity[horizon=24]`
    attrs: dict[str, Any]
    trials: list[FrozenTrial]

    @property
    def search(self) -> str:
        """The search study an eval study retrains (itself for other kinds)."""
        if self.kind == Kind.EVAL:
            return self.attrs.get("search_study") or self.name.removesuffix(f"/{Kind.EVAL}")
        return self.name


@dataclass
class ResultSet:
    """The studies of a storage, filtered by task and family, read once."""

    store: StorageSpec
    studies: list[StudyRecord]
    _loaded: dict[str, optuna.Study] = field(default_factory=dict, repr=False)

    @property
    def primary(self) -> list[StudyRecord]:
        """Search and fixed studies: one leaderboard row each."""
        return [s for s in self.studies if s.kind in (Kind.SEARCH, Kind.FIXED)]

    @property
    def naive(self) -> list[StudyRecord]:
        return [s for s in self.studies if s.kind == Kind.NAIVE]

    def evaluation_of(self, search: str) -> StudyRecord | None:
        """The eval study retraining the search study named `search`, if any."""
        return next((s for s in self.studies if s.kind == Kind.EVAL and s.search == search), None)

    @property
    def trials(self) -> pd.DataFrame:
        """Every trial of every study as one tidy frame (TRIAL_COLUMNS)."""
        rows = [
            {
                "study": s.name, "kind": s.kind, "task": s.task, "model": s.attrs.get("model"), "budget": s.attrs.get("budget"),
                "number": t.number, "state": t.state.name, "value": t.value, "test": t.user_attrs.get("test"),
                "seed": t.user_attrs.get("seed"), "rank": t.user_attrs.get("rank"), "source_trial": t.user_attrs.get("source_trial"),
            }
            for s in self.studies
            for t in s.trials
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=TRIAL_COLUMNS)

    def evaluation_seeds(self, rows: pd.DataFrame) -> dict[tuple[str, str, str], dict[int, float]]:
        """{(task, budget, model): {seed: test}} of the evaluation trials behind each leaderboard row's
        test mean (`seed_trials`). Rows without an evaluation have no entry."""
        out: dict[tuple[str, str, str], dict[int, float]] = {}
        for _, row in rows.iterrows():
            evaluation = self.evaluation_of(f"{row['task']}/{row['model']}/{row['budget']}")
            best = row["best_trial"]
            if evaluation is None or best is None or best is pd.NA:
                continue
            out[(row["task"], row["budget"], row["model"])] = {
                t.user_attrs.get("seed", -1 - n): float(t.user_attrs["test"])
                for n, t in enumerate(evaluation.trials)
                if t in seed_trials(evaluation.trials, int(best))
            }
        return out

    def study(self, name: str) -> optuna.Study:
        """The Optuna study `name` (for Optuna's own plots), loaded once."""
        if name not in self._loaded:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            self._loaded[name] = optuna.load_study(study_name=name, storage=self.store.open())
        return self._loaded[name]


def seed_trials(evals: list[FrozenTrial], best: int) -> list[FrozenTrial]:
    """The one rule for which evaluation trials stand behind a result: complete, ranked 1, retraining
    the search's best trial `best` (an eval study of an earlier best is stale once the search has moved
    on), with a finite test value."""
    from optuna.trial import TrialState

    return [
        t
        for t in evals
        if t.state == TrialState.COMPLETE
        and t.user_attrs.get("rank") == 1
        and t.user_attrs.get("source_trial", best) == best
        and is_finite(t.user_attrs.get("test"))
    ]


def known_names() -> dict[str, list[str]]:
    """The registered task and family names, for `find_study` to refuse unknown ones."""
    from benchbench.models import MODELS
    from benchbench.tasks import task_names

    return {"known_tasks": task_names(), "known_models": MODELS.names()}


def matches(label: str, tasks: Sequence[str] | None) -> bool:
    """A task name matches every variant of it (`electricity` matches `electricity[horizon=24]`)."""
    return tasks is None or any(label == t or label.startswith(f"{t}[") for t in tasks)


def read(
    where: StorageSpec,
    *,
    task: str | Sequence[str] | None = None,
    model: str | Sequence[str] | None = None,
    strict: bool = False,
) -> ResultSet:
    """The benchbench studies of a storage whose task and family match `task` and `model` (a name or a
    list of names; naive baselines are kept whatever `model` says). With `strict`, a name that matches
    no result while the storage holds some is a BenchError listing the names it has (a typo, not an
    empty leaderboard). A storage with nothing to read (no results folder, or no journal in it) is a
    BenchError, the same line for every reader (StorageSpec.require)."""
    store = StorageSpec.of(where).require()
    tasks = [task] if isinstance(task, str) else task
    models = [model] if isinstance(model, str) else model
    storage = store.open()
    kept: list[tuple[Any, str, str]] = []
    found_tasks, found_models = set(), set()
    for study in storage.get_all_studies():
        attrs = study.user_attrs
        if not all(attrs.get(key) for key in REQUIRED):  # not ours, or being created by a running sweep
            continue
        kind, label = kind_of(attrs), task_label(attrs.get("task"), attrs.get("task_options"))
        if kind != Kind.NAIVE:
            found_tasks.add(label)
            found_models.add(attrs.get("model"))
        if not matches(label, tasks):
            continue
        if models is not None and attrs.get("model") not in models and kind != Kind.NAIVE:
            continue
        if kind in (Kind.SEARCH, Kind.FIXED, Kind.EVAL, Kind.NAIVE):
            kept.append((study, kind, label))
    if strict and found_tasks:
        for name in tasks or ():
            if not any(matches(label, [name]) for label in found_tasks):
                raise BenchError(f"no results of task {shown(name)} in {store.label}; tasks with results: {', '.join(sorted(found_tasks))}")
        for name in models or ():
            if name not in found_models:
                raise BenchError(f"no results of family {shown(name)} in {store.label}; families with results: {', '.join(sorted(found_models))}")
    studies = [
        StudyRecord(s.study_name, kind, label, s.user_attrs, storage.get_all_trials(storage.get_study_id_from_name(s.study_name), deepcopy=False))
        for s, kind, label in kept
    ]
    return ResultSet(store, studies)
