"""`--tracker`: a two-family smoke sweep logged to MLflow (a local SQLite store, read back through its
client) and TensorBoard (its event files read back), off by default."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.sweep.tracking import parse_trackers
from benchbench.errors import BenchError

runner = CliRunner()


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    results = tmp_path_factory.mktemp("tracked") / "results"
    out = runner.invoke(
        app, ["run", "--task", "adding", "--model", "lstm,gru", "--budget", "smoke", "--trials", "2", "--max-epochs", "2",
              "--seeds", "1", "--pruner", "none", "--tracker", "mlflow", "--tracker", "tensorboard", "--results", str(results)],
        env={"MLFLOW_TRACKING_URI": "", "MLFLOW_EXPERIMENT_NAME": ""},
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    return results


def _runs(results):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{results / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("benchbench")
    return client, client.search_runs([experiment.experiment_id], max_results=1000)


def test_mlflow_has_a_run_per_study_and_a_nested_run_per_trial(tracked):
    client, runs = _runs(tracked)
    studies = {r.data.tags["study"]: r for r in runs if r.data.tags.get("level") == "study"}
    assert sorted(studies) == ["adding/gru/smoke", "adding/gru/smoke/eval", "adding/lstm/smoke", "adding/lstm/smoke/eval"]
    trials = [r for r in runs if r.data.tags.get("level") == "trial"]
    assert len(trials) == 2 * (2 + 1)  # per family: two search trials, one evaluation seed
    for run in trials:
        tags = run.data.tags
        parent = studies[tags["study"]]
        assert tags["mlflow.parentRunId"] == parent.info.run_id
        assert {k: tags[k] for k in ("task", "budget")} == {"task": "adding", "budget": "smoke"}
        assert tags["family"] in ("lstm", "gru") and tags["kind"] in ("search", "eval") and tags["seed"].isdigit()
        assert run.info.status == "FINISHED" and tags["state"] == "COMPLETE"
        assert {"final_val", "final_test", "val_mse"} <= set(run.data.metrics)
        assert all(key.startswith("hp.") for key in run.data.params) and "hp.lr" in run.data.params
        history = client.get_metric_history(run.info.run_id, "val_mse")
        assert [m.step for m in history] == [0, 1]  # per epoch
        assert run.data.metrics["final_val"] == pytest.approx(min(m.value for m in history), rel=1e-6)


def test_mlflow_figures_are_the_studys(tracked):
    import optuna

    from benchbench.store.storage import open_storage

    _, runs = _runs(tracked)
    by_trial = {(r.data.tags["study"], int(r.data.tags["trial"])): r for r in runs if r.data.tags.get("level") == "trial"}
    for trial in optuna.load_study(study_name="adding/lstm/smoke", storage=open_storage(tracked)).trials:
        run = by_trial[("adding/lstm/smoke", trial.number)]
        assert run.data.metrics["final_test"] == pytest.approx(trial.user_attrs["test"], rel=1e-6)


def test_tensorboard_event_files_hold_each_epoch(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folders = sorted(p.parent for p in (tracked / "tensorboard").rglob("events.out.tfevents.*"))
    names = {str(f.relative_to(tracked / "tensorboard")) for f in folders}
    assert "adding/lstm/smoke/trial_0" in names and "adding/gru/smoke/eval/trial_0" in names and len(names) == 6
    events = EventAccumulator(str(tracked / "tensorboard" / "adding" / "lstm" / "smoke" / "trial_0"))
    events.Reload()
    assert len(events.Scalars("val_mse")) == 2


def test_no_tracker_by_default_and_bad_names_are_one_line(results):
    assert parse_trackers(None) == () and parse_trackers(["mlflow,tensorboard", "mlflow"]) == ("mlflow", "tensorboard")
    with pytest.raises(BenchError, match="unknown tracker 'nope'; choose one of: mlflow, tensorboard, wandb"):
        parse_trackers(["nope"])
    out = runner.invoke(app, ["run", "--task", "adding", "--model", "lstm", "--tracker", "nope", "--results", str(results)])
    assert out.exit_code == 2 and not results.exists()
