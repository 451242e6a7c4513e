"""One-line descriptions of what is registered, for `bench list`."""

from __future__ import annotations

__all__ = ["describe_models", "describe_tasks"]


def describe_models() -> dict[str, str]:
    from benchbench.models import describe

    return describe()


def describe_tasks() -> dict[str, str]:
    from benchbench.metrics import METRICS
    from benchbench.tasks import load_task, task_names

    out = {}
    for name in task_names():
        task = load_task(name)
        metric = METRICS.get(task.metric)
        out[name] = f"{task.description} [{metric.label}, {'lower' if metric.direction == 'minimize' else 'higher'} is better]"
    return out
