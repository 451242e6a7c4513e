"""Samplers and pruners a search can use, registered by name: `bench run --sampler/--pruner` offers
exactly these. Each builds Optuna's own sampler or pruner; nothing here imports Optuna until one is
built, so the CLI lists the choices without loading it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchbench.registry import Registry

if TYPE_CHECKING:
    import optuna

__all__ = ["PRUNERS", "SAMPLERS", "PrunerEntry", "SamplerEntry"]


@dataclass(frozen=True)
class SamplerEntry:
    """A sampler: how to build it for a search space and seed, and how many trials it can plan."""

    build: Callable[[dict[str, Any], int], optuna.samplers.BaseSampler]
    help: str  # one line for `bench run --help`
    size: Callable[[dict[str, Any]], float] = lambda space: math.inf  # most trials worth planning


@dataclass(frozen=True)
class PrunerEntry:
    """A pruner: how to build it for trials of at most `max_epochs` epochs."""

    build: Callable[[int], optuna.pruners.BasePruner]
    help: str


SAMPLERS: Registry[SamplerEntry] = Registry("sampler")
PRUNERS: Registry[PrunerEntry] = Registry("pruner")


def _tpe(space: dict[str, Any], seed: int):
    import optuna

    # constant_liar: parallel workers see each other's running trials and do not propose the same point.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _random(space: dict[str, Any], seed: int):
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _grid(space: dict[str, Any], seed: int):
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


SAMPLERS.register("tpe")(SamplerEntry(_tpe, "TPE (the default)"))
SAMPLERS.register("random")(SamplerEntry(_random, "random search, Greff et al.'s protocol"))
SAMPLERS.register("grid")(
    SamplerEntry(_grid, "every grid point once: choices, and a range's low, middle and high", size=_grid_size)
)


def _median(max_epochs: int):
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=min(3, max_epochs - 1))


def _hyperband(max_epochs: int):
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)


def _none(max_epochs: int):
    import optuna

    return optuna.pruners.NopPruner()


PRUNERS.register("median")(PrunerEntry(_median, "stop a trial below the median of earlier ones at the same epoch"))
PRUNERS.register("hyperband")(PrunerEntry(_hyperband, "Hyperband over epochs (reduction factor 3)"))
PRUNERS.register("none")(PrunerEntry(_none, "train every trial to its last epoch"))
