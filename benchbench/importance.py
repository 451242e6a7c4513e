"""Hyperparameter importances of a search study: Optuna's fANOVA over its complete trials.

fANOVA (Hutter et al. 2014) fits a random forest from the hyperparameters to the trial value and
splits the forest's variance among the hyperparameters; the importances are those shares, summing to
one. The evaluator is seeded, so the same trials always give the same ranking.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from benchbench.errors import BenchError
from benchbench.results import JOURNAL

if TYPE_CHECKING:
    import optuna
    from rich.table import Table

__all__ = ["find_study", "importance_table", "param_importances", "render"]

_EVAL = "eval"  # the last part of an eval study's name (docs/results.md)


def _search_studies(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in `storage` that are not final evaluations (`.../eval`), sorted."""
    import optuna

    names = (s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False))
    return sorted(n for n in names if n.rsplit("/", 1)[-1] != _EVAL)


def _base_task(name: str) -> str:
    """`electricity` for `electricity[horizon=24]/gru/default`."""
    return name.rsplit("/", 2)[0].split("[", 1)[0]


def find_study(results: Path, *, task: str, model: str, budget: str = "default") -> str:
    """The name of the study of `model` on `task` at `budget` under `results`.

    `task` is a task label as stored (`electricity[horizon=24]`) or a plain task name; a plain name
    picks its one study with changed dataset options when the spec's own options have none. A missing
    or ambiguous study is a BenchError naming the studies that exist for the task.
    """
    from benchbench.results import open_storage, study_name

    if not (results / JOURNAL).is_file():
        raise BenchError(f"no results under {results}; run `bench run --task TASK --model MODEL` first")
    names = _search_studies(open_storage(results))
    wanted = study_name(task, model, budget)
    if wanted in names:
        return wanted
    variants = [n for n in names if n.startswith(f"{task}[") and n.endswith(f"/{model}/{budget}")]
    if len(variants) == 1:
        return variants[0]
    if variants:
        raise BenchError(f"{task!r} has several studies of {model}/{budget}: {', '.join(variants)}; pass one as --task")
    of_task = [n for n in names if _base_task(n) == task.split("[", 1)[0]]
    if not of_task:
        raise BenchError(
            f"no study of task {task!r} under {results}; run `bench run --task {task} --model {model}` first"
        )
    raise BenchError(f"no study {wanted} under {results}; studies of {task.split('[', 1)[0]}: {', '.join(of_task)}")


def param_importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importance of each hyperparameter that varied across the study's complete trials,
    most important first (they sum to 1). A BenchError says why when there is nothing to rank."""
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    complete = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]  # fmt: skip
    name = study.study_name
    if len(complete) < 2:
        raise BenchError(
            f"study {name} has {len(complete)} complete trial(s); importances need at least 2 (bench run adds trials)"
        )
    # Only hyperparameters every complete trial has and that took more than one value: a constant one
    # explains nothing, and fANOVA needs the same parameters on every trial it fits.
    shared = set.intersection(*(set(t.params) for t in complete))
    varied = sorted(p for p in shared if len({repr(t.params[p]) for t in complete}) > 1)
    if not varied:
        raise BenchError(f"no hyperparameter varied across the complete trials of {name}; nothing to rank")
    if len({t.value for t in complete}) < 2:
        raise BenchError(
            f"every complete trial of {name} scored {complete[0].value:.4g}; there is no variance to attribute"
        )
    try:
        return get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), params=varied)
    except (ValueError, RuntimeError) as err:  # e.g. a search space that changed between runs of the study
        raise BenchError(f"cannot rank the hyperparameters of {name}: {err}") from None


def render(name: str, importances: dict[str, float], *, width: int = 30) -> Table:
    """A rich table of `importances`: parameter, importance, and a bar `width` cells long at 1.0."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{name} · fANOVA hyperparameter importance"), title_justify="left")
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    table.add_column("", style="cyan", no_wrap=True, min_width=width)
    for param, value in importances.items():
        table.add_row(escape(param), f"{value:.3f}", "█" * round(value * width) or "▏")
    return table


def importance_table(results: Path, *, task: str, model: str, budget: str = "default") -> Table:
    """Find the study of `model` on `task` at `budget` and render its hyperparameter importances."""
    import optuna

    from benchbench.results import open_storage

    name = find_study(results, task=task, model=model, budget=budget)
    study = optuna.load_study(study_name=name, storage=open_storage(results))
    return render(name, param_importances(study))
