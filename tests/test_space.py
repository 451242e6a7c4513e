import optuna
import pytest

from benchbench.errors import BenchError
from benchbench.space import parse_space, suggest


def test_kinds_are_inferred_from_the_spec():
    space = parse_space(
        {
            "lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "hidden_size": {"low": 16, "high": 128, "log": True},
            "batch_size": {"choices": [32, 64]},
            "num_layers": 2,
        },
        where="t",
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    values = suggest(trial, space)
    assert 1e-4 <= values["lr"] <= 1e-2 and isinstance(values["lr"], float)
    assert 16 <= values["hidden_size"] <= 128 and isinstance(values["hidden_size"], int)
    assert values["batch_size"] in (32, 64)
    assert values["num_layers"] == 2
    assert set(trial.params) == {"lr", "hidden_size", "batch_size"}  # fixed values are not searched
    dist = trial.distributions
    assert dist["lr"].log and dist["hidden_size"].log


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"low": 5, "high": 1}, "low <= high"),
        ({"low": 0.0, "high": 1.0, "log": True}, "low must be > 0"),
        ({"low": 1}, r"\{ low, high"),
        ({"choices": []}, "non-empty list"),
        ({"low": "a", "high": 2}, "needs numbers"),
    ],
)
def test_bad_entries_name_file_and_entry(spec, message):
    with pytest.raises(BenchError, match=message) as err:
        parse_space({"x": spec}, where="tasks/t.toml [search.default]")
    assert "tasks/t.toml [search.default]: x" in str(err.value)
