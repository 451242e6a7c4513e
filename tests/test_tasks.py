"""Contract tests generated from the task specs: a new spec under tasks/ is checked with no new code."""

import pytest

from benchbench.data import DATASETS
from benchbench.heads import HEADS
from benchbench.metrics import METRICS
from benchbench.models import MODELS
from benchbench.tasks import load_task, task_names
from tests.test_matrix import OFFLINE_MISSING

TASKS = task_names()


def test_adding_is_registered():
    assert "adding" in TASKS


@pytest.mark.parametrize("name", TASKS)
def test_spec_is_complete_and_refers_to_registered_things(name):
    task = load_task(name)
    assert task.description
    assert task.output in HEADS and task.metric in METRICS and task.dataset in DATASETS
    assert {"smoke", "default"} <= set(task.budgets)
    assert task.direction in ("minimize", "maximize")
    for family in task.search:
        assert family == "default" or family in MODELS, f"[search.{family}] names no registered family"
    for family in MODELS.names():
        assert {"lr", "hidden_size"} <= set(task.search_space(family))


@pytest.mark.parametrize("name", [t for t in TASKS if t not in OFFLINE_MISSING])
def test_smoke_data_has_three_splits(name):
    data = load_task(name).load_data("smoke")
    assert all(len(data[split]) > 0 for split in ("train", "val", "test"))
