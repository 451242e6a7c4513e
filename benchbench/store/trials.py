"""Which trials of a study count towards its plan, and which one is best."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["best_trial", "count_trials", "counted_trials", "finished_trials", "ranked_trials", "retried_numbers"]


def retried_numbers(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of failed trials that were queued again: they no longer count. A retry names the first
    trial of its chain in `failed_trial` and every earlier attempt in `retry_history`."""
    out: set[int] = set()
    for trial in trials:
        if "failed_trial" in trial.system_attrs:
            out.add(trial.system_attrs["failed_trial"])
        out.update(trial.system_attrs.get("retry_history", ()))
    return out


def counted_trials(trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    """The trials that fill the plan: queued, running and finished ones, less the attempts that were
    queued again (failed ones, and one a full disk left RUNNING after its retry was queued)."""
    retried = retried_numbers(trials)
    return [t for t in trials if t.number not in retried]


def count_trials(study: optuna.Study) -> int:
    """How many trials of `study` fill its plan."""
    return len(counted_trials(study.get_trials(deepcopy=False)))


def finished_trials(study: optuna.Study) -> int:
    """Counted trials that are no longer queued or running."""
    return sum(t.state.is_finished() for t in counted_trials(study.get_trials(deepcopy=False)))


def ranked_trials(trials: list[optuna.trial.FrozenTrial], direction: str) -> list[optuna.trial.FrozenTrial]:
    """The complete trials with a finite value, best first in `direction` (`minimize`/`maximize`);
    equals keep their trial order, so the first of equals is the best, as in Optuna's best_trial."""
    from optuna.trial import TrialState

    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)]
    return sorted(done, key=lambda t: t.value, reverse=direction == "maximize")


def best_trial(trials: list[optuna.trial.FrozenTrial], direction: str) -> optuna.trial.FrozenTrial | None:
    """The one rule for a study's best trial, used by the leaderboard, `bench show` and the final
    evaluation: the first of `ranked_trials`, or None without a finished one."""
    ranked = ranked_trials(trials, direction)
    return ranked[0] if ranked else None
