"""Samplers and start-up: every registered sampler proposes inside the space, the start-up follows the
plan, paired searches draw the same configurations for every family and independent ones do not, and
a QMC search continued by another worker or run carries on its one sequence. No training: trials are
asked and told by hand with a synthetic objective."""

from __future__ import annotations

import json
import math

import optuna
import pytest

from benchbench.space import suggest
from benchbench.store.storage import prepare_results_dir
from benchbench.sweep.config import SweepConfig, validate
from benchbench.sweep.samplers import LEGACY_STARTUP, PRUNERS, SAMPLERS, default_startup, startup_share
from benchbench.sweep.studies import load_study, plan_search
from benchbench.tasks import load_task

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(("planned", "startup"), [(1, 3), (3, 3), (8, 3), (10, 3), (12, 4), (14, 4), (30, 10), (200, 10)])
def test_the_startup_share_is_a_third_of_the_plan_between_3_and_10(planned, startup):
    assert startup_share(planned) == startup
    assert default_startup(planned) == LEGACY_STARTUP  # the default stays Optuna's 10 (README, "Search")


def _planned(tmp_path, model="lstm", **options):
    config = SweepConfig(task="adding", model=model, budget="smoke", trials=12, seeds=0, results=tmp_path, **options)
    task = validate(config)
    prepare_results_dir(tmp_path)
    study, _, _ = plan_search(task, config)
    return config, study.study_name


def _ask(study, space, n: int) -> list[dict]:
    """n trials asked, suggested and told a synthetic value (distance of log lr from log 3e-3)."""
    out = []
    for _ in range(n):
        trial = study.ask()
        hparams = suggest(trial, space)
        study.tell(trial, abs(math.log(hparams["lr"]) - math.log(3e-3)))
        out.append(dict(trial.params))
    return out


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s != "grid"])
def test_every_sampler_proposes_inside_the_space(tmp_path, sampler):
    config, name = _planned(tmp_path, sampler=sampler)
    study = load_study(config.store, name)
    space = load_task("adding").search_space("lstm", "smoke")
    proposed = _ask(study, space, 6)
    lr = space["lr"]
    assert all(lr.low <= p["lr"] <= lr.high for p in proposed)
    assert len({json.dumps(p, sort_keys=True) for p in proposed}) == 6  # no configuration twice
    assert study.user_attrs["sampler"] == sampler and study.user_attrs["startup"] == default_startup(12)


def test_the_model_takes_over_after_the_startup_trials(tmp_path):
    """TPE after 4 start-up trials and TPE after 10 draw the same first 4 (the same random stream),
    then differ: the model proposes from the fifth trial on, not from the eleventh."""
    space = load_task("adding").search_space("lstm", "smoke")
    draws = {}
    for startup in (4, 10):
        config, name = _planned(tmp_path / str(startup), startup=startup)
        study = load_study(config.store, name)
        assert study.sampler._n_startup_trials == startup
        draws[startup] = _ask(study, space, 6)
    assert draws[4][:4] == draws[10][:4] and draws[4][4:] != draws[10][4:]


def test_a_study_from_before_startup_was_recorded_keeps_ten(tmp_path):
    """A study planned before `startup` was recorded continues with the start-up it began with."""
    config, name = _planned(tmp_path)
    storage = config.store.open()
    attrs = {k: v for k, v in optuna.load_study(study_name=name, storage=storage).user_attrs.items() if k != "startup"}
    old = optuna.create_study(study_name="adding/lstm/old", storage=storage, direction="minimize")
    for key, value in attrs.items():
        old.set_user_attr(key, value)
    assert load_study(config.store, "adding/lstm/old").sampler._n_startup_trials == LEGACY_STARTUP


@pytest.mark.parametrize("sampler", ["random", "tpe", "qmc"])
def test_paired_searches_draw_the_same_configurations_and_independent_ones_do_not(tmp_path, sampler):
    space = load_task("adding").search_space("lstm", "smoke")
    assert space == load_task("adding").search_space("gru", "smoke")  # one space: the draws are comparable
    draws = {}
    for paired in (True, False):
        for model in ("lstm", "gru"):
            config, name = _planned(tmp_path / f"{paired}", model=model, sampler=sampler, paired_search=paired)
            study = load_study(config.store, name)
            assert study.user_attrs["paired_search"] is paired
            draws[paired, model] = _ask(study, space, 3)
    assert draws[True, "lstm"] == draws[True, "gru"]
    assert draws[False, "lstm"] != draws[False, "gru"]


def test_a_qmc_search_continued_by_another_worker_carries_on_its_sequence(tmp_path):
    """Each load of a QMC study (a second worker, a continued run) takes the next Sobol points: the
    sequence index lives in the study, and every load is seeded alike, so no point is drawn twice."""
    config, name = _planned(tmp_path, sampler="qmc")
    space = load_task("adding").search_space("lstm", "smoke")
    first = _ask(load_study(config.store, name, worker_index=0), space, 3)
    second = _ask(load_study(config.store, name, worker_index=1), space, 3)
    lr = [p["lr"] for p in first + second]
    assert len(set(lr)) == 6


def test_model_based_search_beats_random_on_a_smooth_objective(tmp_path):
    """A synthetic objective with a known optimum (lr = 3e-3): after 30 trials TPE and GP, each after
    their start-up, are closer to it than random search, over 3 seeds each (median)."""
    space = load_task("adding").search_space("lstm", "smoke")
    medians = {}
    for sampler in ("random", "tpe", "gp"):
        bests = []
        for seed in (0, 1, 2):
            config = SweepConfig(task="adding", model="lstm", budget="smoke", trials=30, seeds=0, seed=seed,
                                 results=tmp_path / f"{sampler}{seed}", sampler=sampler)  # fmt: skip
            task = validate(config)
            prepare_results_dir(config.results)
            created, _, _ = plan_search(task, config)
            study = load_study(config.store, created.study_name)
            _ask(study, space, 30)
            bests.append(study.best_value)
        medians[sampler] = sorted(bests)[1]
    assert medians["tpe"] < medians["random"] and medians["gp"] < medians["random"], medians


def test_every_pruner_builds():
    for name in PRUNERS:
        assert isinstance(PRUNERS.get(name).build(8), optuna.pruners.BasePruner)


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_paired_search_shared_out_between_workers_draws_per_trial_number(tmp_path, sampler):
    """`--jobs 2` hands a study's trials to whichever worker is free: family A's trials all taken by one
    worker, family B's by two in turn, each family's trial n still gets the same configuration."""
    space = load_task("adding").search_space("lstm", "smoke")
    config, name = _planned(tmp_path / "a", model="lstm", sampler=sampler)
    one = _ask(load_study(config.store, name, worker_index=0), space, 4)
    config, name = _planned(tmp_path / "b", model="gru", sampler=sampler)
    first, second = load_study(config.store, name, worker_index=0), load_study(config.store, name, worker_index=1)
    shared = _ask(second, space, 1) + _ask(first, space, 2) + _ask(second, space, 1)
    assert shared == one
    assert len({json.dumps(p, sort_keys=True) for p in one}) == 4
