"""Contract tests generated from the task specs: a new spec under tasks/ is checked with no new code."""

import pytest

from benchbench.data import DATASETS
from benchbench.heads import HEADS
from benchbench.metrics import METRICS
from benchbench.models import MODELS
from benchbench.tasks import load_task, task_names
from tests.sweep.test_matrix import smoke_data

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
    for budget in task.budgets.values():
        for family in budget.by_family:
            assert family in MODELS, f"[budgets.{budget.name}.by_family.{family}] names no registered family"
    for family in MODELS.names():
        assert {"lr", "hidden_size"} <= set(task.search_space(family))


@pytest.mark.parametrize("name", TASKS)
def test_smoke_data_has_three_splits(name):
    data = smoke_data(name)  # a task whose file is missing offline reads its stand-in (test_matrix)
    assert all(len(data[split]) > 0 for split in ("train", "val", "test"))


@pytest.mark.parametrize("name", task_names())
def test_every_task_has_the_three_budgets(name):
    task = load_task(name)
    assert {"smoke", "default", "paper"} <= set(task.budgets)
    for budget in task.budgets.values():
        assert budget.top_k >= 1 and budget.seeds >= 1 and budget.trials >= 1
    assert task.budgets["paper"].trials >= task.budgets["default"].trials >= task.budgets["smoke"].trials


def test_greff_search_space_is_data_in_the_adding_spec():
    """Greff et al.'s ranges: hidden log-U[20, 200], lr log-U[1e-6, 1e-2], momentum 1 - log-U[0.01, 1],
    input noise U[0, 1]; sampled values land in them and momentum is searched as 1 - momentum."""
    import optuna

    from benchbench.space import suggest

    space = load_task("adding").search_space("lstm", "paper")
    assert (space["hidden_size"].low, space["hidden_size"].high, space["hidden_size"].log) == (20, 200, True)
    assert (space["lr"].low, space["lr"].high, space["lr"].log) == (1e-6, 1e-2, True)
    assert space["momentum"].one_minus and space["momentum"].key == "1-momentum"
    assert (space["input_noise"].low, space["input_noise"].high, space["input_noise"].log) == (0.0, 1.0, False)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(50):
        trial = study.ask()
        values = suggest(trial, space)
        assert 20 <= values["hidden_size"] <= 200 and 1e-6 <= values["lr"] <= 1e-2
        assert 0.0 <= values["momentum"] <= 0.99 and values["momentum"] == pytest.approx(1 - trial.params["1-momentum"])
        assert 0.0 <= values["input_noise"] <= 1.0 and values["optimizer"] == "sgd"
        study.tell(trial, 0.0)


def test_a_budgets_entries_for_one_family_override_its_entries_for_all():
    from benchbench.tasks import _parse

    raw = {
        "description": "d", "output": "next-frame", "metric": "frame-nll", "dataset": {"name": "jsb-chorales"},
        "search": {"default": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "hidden_size": 64}},
        "budgets": {"small": {"trials": 1, "max_epochs": 1, "search": {"lr": 1e-3}, "by_family": {"gru": {"lr": 5e-4}}}},
    }  # fmt: skip
    task = _parse("t", raw, "t.toml")
    assert task.search_space("gru", "small")["lr"].fixed == 5e-4
    assert task.search_space("lstm", "small")["lr"].fixed == 1e-3
    assert task.search_space("gru", "small")["hidden_size"].fixed == 64
    assert task.search_space("gru")["lr"].low == 1e-4  # no budget: the spec's own search
