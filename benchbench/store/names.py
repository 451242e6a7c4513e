"""Names and kinds of studies, and the seeds their trials train with (docs/results.md, "Studies").

    task/family/budget          a search study (Kind.SEARCH), or `task/family/fixed` (Kind.FIXED)
    task/family/budget/eval     the final evaluation of a search (Kind.EVAL)
    task/baselines/budget       the task's naive baselines (Kind.NAIVE)

A task whose dataset options differ from its spec is labelled `task[key=value,...]` in every name.
The stored strings never change: old result folders read as new ones.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from benchbench.errors import BenchError

__all__ = [
    "EVAL_SEED_OFFSET", "NAIVE_FAMILY", "Kind", "eval_seed", "eval_study_name", "find_study", "kind_of",
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


def find_study(names: list[str], task: str, model: str, budget: str, *, where: str) -> str:
    """The one search (or fixed) study of `model` on `task` at `budget` among `names`. `task` is a
    label as stored (`electricity[horizon=24]`) or a plain task name, which finds its one variant run
    with changed dataset options. A missing or ambiguous study is a one-line BenchError naming the
    studies the task has in `where` (the storage's label)."""
    wanted = study_name(task, model, budget)
    if wanted in names:
        return wanted
    variants = [n for n in names if n.startswith(f"{task}[") and n.endswith(f"/{model}/{budget}")]
    if len(variants) == 1:
        return variants[0]
    if variants:
        raise BenchError(f"{task!r} has several studies of {model}/{budget}: {', '.join(variants)}; pass one as --task")
    base = task.split("[", 1)[0]
    of_task = sorted(n for n in names if n.split("/", 1)[0].split("[", 1)[0] == base and not n.endswith(f"/{Kind.EVAL}"))
    if not of_task:
        raise BenchError(f"no study of task {task!r} in {where}; run `bench run --task {task} --model {model}` first")
    raise BenchError(f"no study {wanted} in {where}; studies of {base}: {', '.join(of_task)}")
