"""Names and kinds of studies, and the seeds their trials train with (docs/results.md, "Studies").

    task/family/budget          a search study (Kind.SEARCH)
    task/family/fixed-budget    `bench train` runs at that budget's data (Kind.FIXED); `task/family/fixed`
                                before they were named by budget (still read)
    task/family/budget/eval     the final evaluation of a search (Kind.EVAL)
    task/baselines/budget       the task's naive baselines (Kind.NAIVE)

A task whose dataset options differ from its spec is labelled `task[key=value,...]` in every name.
The stored strings never change: old result folders read as new ones.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from benchbench.errors import BenchError, shown

__all__ = [
    "EVAL_SEED_OFFSET", "NAIVE_FAMILY", "Kind", "eval_seed", "eval_study_name", "find_study", "fixed_label", "is_fixed_label", "kind_of",
    "search_seed", "study_name", "task_label",
]  # fmt: skip


class Kind(StrEnum):
    """What a study holds; its value is the study's `kind` user attribute."""

    SEARCH = "search"  # a hyperparameter search: its trials sample their configuration
    EVAL = "eval"  # the best configurations of a search retrained with fresh seeds
    FIXED = "fixed"  # `bench train`: configurations given, not searched
    NAIVE = "baseline"  # a task's naive baselines (predictors fitted on train, no network)


NAIVE_FAMILY = "baselines"  # the family part of a naive-baseline study's name
EVAL_SEED_OFFSET = 10_000  # evaluation seeds: seed + EVAL_SEED_OFFSET + i, seeds no search trial uses


def fixed_label(budget: str) -> str:
    """The budget part of a `bench train` study's name: `fixed-smoke`, so that runs on different data
    (budgets, and dataset options in the task label) never share a study or a leaderboard row."""
    return f"{Kind.FIXED}-{budget}"


def is_fixed_label(budget: Any) -> bool:
    """Whether a study's budget part names `bench train` runs: `fixed-<budget>`, or `fixed` (older results)."""
    return isinstance(budget, str) and (budget == Kind.FIXED or budget.startswith(f"{Kind.FIXED}-"))


def kind_of(attrs: dict[str, Any]) -> str:
    """A study's kind; studies written before kinds existed are search studies, or fixed ones by their budget."""
    return attrs.get("kind") or (Kind.FIXED.value if attrs.get("budget") == Kind.FIXED else Kind.SEARCH.value)


def task_label(task: str, options: dict | None = None) -> str:
    """A task with dataset options changed from its spec, e.g. `electricity[horizon=24]`."""
    if not options:
        return task
    return f"{task}[{','.join(f'{k}={v}' for k, v in sorted(options.items()))}]"


def study_name(task: str, family: str, budget: str, options: dict | None = None) -> str:
    return f"{task_label(task, options)}/{family}/{budget}"


def eval_study_name(search: str) -> str:
    """The study holding the final evaluation of the search study `search`."""
    return f"{search}/{Kind.EVAL}"


def search_seed(attrs: dict[str, Any], number: int) -> int:
    """The seed search trial `number` trains with: the study's base seed + the number. A retry keeps
    the seed of the first trial of its chain."""
    return int(attrs["seed"]) + number


def eval_seed(attrs: dict[str, Any], index: int) -> int:
    """The seed of the `index`-th fresh seed of a final evaluation."""
    return int(attrs["seed"]) + EVAL_SEED_OFFSET + index


def find_study(
    names: list[str], task: str, model: str, budget: str, *, where: str,
    known_tasks: list[str] | None = None, known_models: list[str] | None = None,
) -> str:  # fmt: skip
    """The one search (or fixed) study of `model` on `task` at `budget` among `names`. `task` is a
    label as stored (`electricity[horizon=24]`) or a plain task name, which finds its one variant run
    with changed dataset options. A missing or ambiguous study is a one-line BenchError naming the
    studies the task has in `where` (the storage's label); a task or family not among `known_tasks` or
    `known_models` (the registries' names, when given) is refused as unknown, listing the choices,
    rather than answered with a `bench run` of the same unknown name."""
    base = task.split("[", 1)[0]
    if known_tasks is not None and base not in known_tasks:
        raise BenchError(f"unknown task {shown(base)}; choose one of: {', '.join(known_tasks)}")
    if known_models is not None and model not in known_models:
        raise BenchError(f"unknown model {shown(model)}; choose one of: {', '.join(known_models)}")
    wanted = study_name(task, model, budget)
    if wanted in names:
        return wanted
    variants = [n for n in names if n.startswith(f"{task}[") and n.endswith(f"/{model}/{budget}")]
    if len(variants) == 1:
        return variants[0]
    if variants:
        raise BenchError(f"{shown(task)} has several studies of {model}/{budget}: {', '.join(variants)}; pass one as --task")
    of_task = sorted(n for n in names if n.split("/", 1)[0].split("[", 1)[0] == base and not n.endswith(f"/{Kind.EVAL}"))
    if not of_task:
        raise BenchError(f"no study of task {shown(task)} in {where}; run `bench run --task {task} --model {model}` first")
    raise BenchError(f"no study {wanted} in {where}; studies of {base}: {', '.join(of_task)}")
