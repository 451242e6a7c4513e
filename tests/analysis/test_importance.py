"""`bench importance` on synthetic search studies, through Typer's CliRunner."""

import math
import random

import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from benchbench.cli import app
from tests.synthetic import add_study, add_trial

runner = CliRunner()


def importance(results, *args):
    return runner.invoke(app, ["importance", *map(str, args), "--results", str(results)])


def _random_params(rng: random.Random) -> dict[str, float]:
    return {"lr": 10 ** rng.uniform(-4, -1), "hidden_size": rng.uniform(16, 256), "dropout": rng.uniform(0, 0.5)}


def _rows(output: str, names) -> list[str]:
    """The parameters in the order the table lists them."""
    found = {name: output.find(f"│ {name} ") for name in names}
    return sorted((n for n, at in found.items() if at >= 0), key=found.get)


def test_the_one_parameter_the_value_depends_on_ranks_first(results):
    study = add_study(results, task="adding", model="lstm", budget="default")
    rng = random.Random(0)
    for _ in range(24):
        params = _random_params(rng)
        add_trial(study, params, (math.log10(params["lr"]) + 2.5) ** 2)  # lr alone decides the value
    out = importance(results, "--task", "adding", "--model", "lstm")
    assert out.exit_code == 0, out.output
    assert "adding/lstm/default" in out.stdout and "fANOVA" in out.stdout
    assert _rows(out.stdout, ["lr", "hidden_size", "dropout"])[0] == "lr"
    lr_line = next(line for line in out.stdout.splitlines() if "│ lr " in line)
    assert float(lr_line.split("│")[2]) > 0.5


def test_budget_picks_the_study(results):
    smoke = add_study(results, task="adding", model="gru", budget="smoke")
    rng = random.Random(1)
    for _ in range(12):
        params = _random_params(rng)
        add_trial(smoke, params, params["dropout"])  # dropout alone decides the value
    out = importance(results, "--task", "adding", "--model", "gru", "--budget", "smoke")
    assert out.exit_code == 0, out.output
    assert _rows(out.stdout, ["lr", "hidden_size", "dropout"])[0] == "dropout"


def test_a_plain_task_name_picks_its_only_variant(results):
    study = add_study(results, task="electricity", model="gru", options={"horizon": 24})
    rng = random.Random(2)
    for _ in range(10):
        params = _random_params(rng)
        add_trial(study, params, params["hidden_size"])
    out = importance(results, "--task", "electricity", "--model", "gru")
    assert out.exit_code == 0, out.output
    assert "electricity[horizon=24]/gru/default" in out.stdout


def test_several_variants_are_ambiguous(results):
    for horizon in (6, 24):
        add_study(results, task="electricity", model="gru", options={"horizon": horizon})
    out = importance(results, "--task", "electricity", "--model", "gru")
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and "electricity[horizon=24]/gru/default" in out.stderr
    assert "electricity[horizon=6]/gru/default" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "adding", "--model", "rnn"], "no study adding/rnn/default"),
        (
            ["--task", "adding", "--model", "lstm", "--budget", "smoke"],
            "studies of adding: adding/gru/default, adding/lstm/default",
        ),
        (["--task", "ptb", "--model", "lstm"], "no study of task 'ptb'"),
    ],
)
def test_a_missing_study_lists_the_studies_of_the_task(results, args, message):
    add_study(results, model="lstm")
    add_study(results, model="gru")
    add_study(results, model="lstm", kind="eval")  # a final evaluation is not a search to rank
    out = importance(results, *args)
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert "eval" not in out.stderr


def test_no_results_says_to_run_first(results):
    out = importance(results, "--task", "adding", "--model", "lstm")
    assert out.exit_code == 2 and "run `bench run" in out.stderr
    assert not results.exists()  # reading never creates a journal


def test_fewer_than_the_minimum_of_complete_trials_withholds_it(results):
    """Nine complete trials whose value lr alone decides, and a pruned one: still withheld (10 needed)."""
    study = add_study(results)
    rng = random.Random(4)
    for _ in range(9):
        params = _random_params(rng)
        add_trial(study, params, (math.log10(params["lr"]) + 2.5) ** 2)
    add_trial(study, {"lr": 0.02, "hidden_size": 64.0, "dropout": 0.2}, None, state=TrialState.PRUNED)
    out = importance(results, "--task", "adding", "--model", "lstm")
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "importance withheld: study adding/lstm/default has 9 complete trial(s), fewer than the 10" in out.stderr
    add_trial(study, _random_params(rng), 1.0)  # the tenth
    assert importance(results, "--task", "adding", "--model", "lstm").exit_code == 0


def test_no_parameter_that_varied(results):
    study = add_study(results)
    for value in (0.3, 0.5, 0.4, 0.6, 0.2, 0.1, 0.7, 0.8, 0.9, 0.35):
        add_trial(study, {"lr": 0.01, "hidden_size": 32.0}, value)
    out = importance(results, "--task", "adding", "--model", "lstm")
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and "no hyperparameter varied" in out.stderr


def test_help():
    out = runner.invoke(app, ["importance", "--help"])
    assert out.exit_code == 0 and "fANOVA" in out.stdout and "--budget" in out.stdout
    assert "electricity[horizon=24]" in out.stdout  # the bracket survives rich markup


def test_no_variance_in_the_values(results):
    study = add_study(results)
    rng = random.Random(3)
    for _ in range(10):
        add_trial(study, _random_params(rng), 0.25)
    out = importance(results, "--task", "adding", "--model", "lstm")
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and "no variance" in out.stderr


def _pooled_studies(results, value, *, families=("peephole", "lstm-nfg", "lstm-cifg"), per_family=8, seed=3):
    rng = random.Random(seed)
    for family in families:
        study = add_study(results, task="jsb-chorales", model=family, metric="frame-nll")
        for _ in range(per_family):
            params = _random_params(rng)
            add_trial(study, params, value(family, params))


def test_pooled_families_rank_the_family_first_when_only_the_family_decides(results):
    """Greff et al.'s view across variants: one variant much worse, the hyperparameters irrelevant."""
    _pooled_studies(results, lambda family, params: 12.0 if family == "lstm-nfg" else 8.4)
    out = importance(results, "--task", "jsb-chorales", "--model", "peephole,lstm-nfg,lstm-cifg")
    assert out.exit_code == 0, out.output
    assert "24 complete trials pooled" in " ".join(out.stdout.split())
    assert _rows(out.stdout, ["family", "lr", "hidden_size", "dropout"])[0] == "family"


def test_pooled_families_rank_the_learning_rate_first_when_it_decides_in_every_family(results):
    _pooled_studies(results, lambda family, params: (math.log10(params["lr"]) + 2.5) ** 2 + (0.01 if family == "lstm-nfg" else 0))
    out = importance(results, "--task", "jsb-chorales", "--model", "peephole,lstm-nfg,lstm-cifg")
    assert out.exit_code == 0, out.output
    assert _rows(out.stdout, ["family", "lr", "hidden_size", "dropout"])[0] == "lr"


def test_pooled_families_with_a_missing_study_name_it_in_one_line(results):
    _pooled_studies(results, lambda family, params: params["lr"], families=("peephole", "lstm-nfg"))
    out = importance(results, "--task", "jsb-chorales", "--model", "peephole,lstm-noaf")
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and "lstm-noaf" in out.stderr
