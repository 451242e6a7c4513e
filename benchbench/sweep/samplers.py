"""Samplers and pruners a search can use, registered by name: `bench run --sampler/--pruner` offers
exactly these. Each builds Optuna's own sampler or pruner; nothing here imports Optuna until one is
built, so the CLI lists the choices without loading it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from benchbench.registry import Registry

if TYPE_CHECKING:
    import optuna

__all__ = [
    "LEGACY_STARTUP", "PRUNERS", "SAMPLERS", "PrunerEntry", "SamplerEntry", "default_startup", "startup_share", "trial_seeded",
]  # fmt: skip

LEGACY_STARTUP = 10  # random start-up trials of a study made before `startup` was recorded (Optuna's default)


def startup_share(planned: int) -> int:
    """A start-up suited to the plan: a third of it, at least 3 (a model needs a few points) and at
    most Optuna's 10. Measured against the fixed 10 by benchmarks/search.py (`tpe-share`); offered
    through `--startup`, not the default (see default_startup)."""
    return min(LEGACY_STARTUP, max(3, planned // 3))


def default_startup(planned: int) -> int:
    """Random start-up trials of a model-based sampler (TPE, GP) when `--startup` is not given: Optuna's
    10, whatever the plan. With 10 or fewer planned trials that is a random search (most default
    budgets plan 3 to 10); benchmarks/search.py did not show a start-up suited to the plan
    (startup_share) clearly better at 8 trials (README, "Search"), so the default stays."""
    return LEGACY_STARTUP


def trial_seeded(make: Callable[[int], optuna.samplers.BaseSampler], seed: int) -> optuna.samplers.BaseSampler:
    """A sampler whose trial number n draws from `make(seed + n)`, whichever worker process asks it.

    Paired searches need it: every family's trial n must get the same random draw, but with
    `--jobs 2` the trials of one study are shared out between workers as they come free, so a
    stream per worker would hand trial n a different draw in each family. Rebuilding the sampler
    for each trial costs nothing for these samplers, which read the study's history afresh for
    every trial anyway. A model-based sampler's proposals after its start-up still depend on the
    values seen, as they must. Attributes not defined here are read from the current sampler."""
    import optuna

    class TrialSeeded(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._inner = make(seed)

        def __getattr__(self, name: str) -> Any:  # e.g. TPE's _n_startup_trials, for inspection
            return getattr(self.__dict__["_inner"], name)

        def before_trial(self, study, trial) -> None:
            self._inner = make(seed + trial.number)
            self._inner.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._inner.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._inner.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values) -> None:
            self._inner.after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            self._inner.reseed_rng()

    return TrialSeeded()


@dataclass(frozen=True)
class SamplerEntry:
    """A sampler: how to build it for a search space, seed and start-up, and how many trials it can plan.

    `build(space, seed, startup)`: `startup` is the number of random trials a model-based sampler
    draws before its model proposes; samplers without a model ignore it. `seeding` says which stream
    a worker's sampler draws from:
    - "trial": trial n draws from (seed + n) whichever worker asks (trial_seeded), so a paired search
      gives every family's trial n the same draw, and a continued study repeats nothing;
    - "study": the study's base seed in every worker and run: a sampler that continues one sequence
      stored in the study (QMC's Sobol index);
    - "worker": a stream per worker and load (seed + trials so far + 10,007 x worker): the grid, which
      picks an unvisited point at random and must not be rebuilt between trials."""

    build: Callable[[dict[str, Any], int, int], optuna.samplers.BaseSampler]
    help: str  # one line for `bench run --help`
    size: Callable[[dict[str, Any]], float] = lambda space: math.inf  # most trials worth planning
    seeding: Literal["trial", "study", "worker"] = "trial"


@dataclass(frozen=True)
class PrunerEntry:
    """A pruner: how to build it for trials of at most `max_epochs` epochs."""

    build: Callable[[int], optuna.pruners.BasePruner]
    help: str


SAMPLERS: Registry[SamplerEntry] = Registry("sampler")
PRUNERS: Registry[PrunerEntry] = Registry("pruner")


def _tpe(space: dict[str, Any], seed: int, startup: int = LEGACY_STARTUP):
    import optuna

    # constant_liar: parallel workers see each other's running trials and do not propose the same point.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=startup)


def _gp(space: dict[str, Any], seed: int, startup: int = LEGACY_STARTUP):
    import warnings

    import optuna

    # A Gaussian process over the normalised space (Optuna's GPSampler): it models running trials of
    # other workers itself. Categorical and integer choices are searched by its own discrete search.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup, deterministic_objective=False)


def _qmc(space: dict[str, Any], seed: int, startup: int = 0):
    import warnings

    import optuna

    # Scrambled Sobol points for the numeric ranges (the sequence index is kept in the study, shared
    # by its workers); choices (categorical) are drawn at random beside them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.QMCSampler(
            qmc_type="sobol", scramble=True, seed=seed, independent_sampler=optuna.samplers.RandomSampler(seed=seed),
            warn_asynchronous_seeding=False, warn_independent_sampling=False,
        )  # fmt: skip


def _random(space: dict[str, Any], seed: int, startup: int = 0):
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _grid(space: dict[str, Any], seed: int, startup: int = 0):
    import optuna

    from benchbench.space import grid

    class PlannedGrid(optuna.samplers.GridSampler):
        """The grid sampler without its `study.stop()` once every point is visited (that call is
        meant for `optimize`): a sweep caps its plan at the grid's size and stops by the plan."""

        def after_trial(self, study, trial, state, values) -> None:
            pass

    return PlannedGrid(grid(space), seed=seed)


def _grid_size(space: dict[str, Any]) -> float:
    from benchbench.space import grid

    return math.prod(len(values) for values in grid(space).values())


SAMPLERS.register("tpe")(SamplerEntry(_tpe, "TPE after --startup random trials (the default)"))
SAMPLERS.register("gp")(SamplerEntry(_gp, "Gaussian-process Bayesian optimisation after --startup random trials"))
SAMPLERS.register("qmc")(SamplerEntry(_qmc, "quasi-random scrambled Sobol points", seeding="study"))
SAMPLERS.register("random")(SamplerEntry(_random, "random search, Greff et al.'s protocol"))
SAMPLERS.register("grid")(
    SamplerEntry(_grid, "every grid point once: choices, and a range's low, middle and high", size=_grid_size, seeding="worker")
)


def _median(max_epochs: int):
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=min(3, max_epochs - 1))


def _hyperband(max_epochs: int):
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)


def _halving(max_epochs: int):
    import optuna

    # Asynchronous successive halving: a trial goes on past epoch 3^k only while it is in the top third
    # of the trials that reached that epoch.
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


def _none(max_epochs: int):
    import optuna

    return optuna.pruners.NopPruner()


PRUNERS.register("median")(PrunerEntry(_median, "stop a trial below the median of earlier ones at the same epoch"))
PRUNERS.register("hyperband")(PrunerEntry(_hyperband, "Hyperband over epochs (reduction factor 3)"))
PRUNERS.register("halving")(PrunerEntry(_halving, "asynchronous successive halving over epochs (top third goes on)"))
PRUNERS.register("none")(PrunerEntry(_none, "train every trial to its last epoch"))
