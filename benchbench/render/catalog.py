"""One-line descriptions of what is registered, for `bench list`."""

from __future__ import annotations

__all__ = ["describe_baselines", "describe_models", "describe_tasks"]


def describe_baselines() -> dict[str, str]:
    """Each naive baseline, and the tasks whose specs name it."""
    from benchbench.baselines import BASELINES
    from benchbench.tasks import load_task, task_names

    users: dict[str, list[str]] = {name: [] for name in BASELINES}
    for task in task_names():
        for spec in load_task(task).baselines:
            users.setdefault(spec.name, []).append(task)
    return {
        name: f"{BASELINES.get(name).description} [{', '.join(dict.fromkeys(users[name])) or 'no task'}]"
        for name in BASELINES
    }


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
