"""Hyperparameter importances of a search study: Optuna's fANOVA over its complete trials.

fANOVA (Hutter et al. 2014) fits a random forest from the hyperparameters to the trial value and
splits the forest's variance among the hyperparameters; the importances are those shares, summing to
one. The evaluator is seeded, so the same trials always give the same ranking.

Importances are withheld below MIN_TRIALS complete trials. A forest fitted to a handful of points
splits on whatever separates them: from two trials every family's importances come out the same
(0.34 / 0.28 / 0.21 / 0.10 / 0.07 in a smoke report), which reads as a finding and is an artefact.
Ten is the number of trials Optuna's TPE sampler itself draws at random before it trusts a model of
the objective (n_startup_trials), about two per hyperparameter of a default search space.

Several families on one task can be pooled (Greff et al. 2017's view across LSTM variants): their
search studies' complete trials are fitted as one set, with the family as one more, categorical,
hyperparameter. A small budget that cannot rank one family's hyperparameters can then still say
whether the learning rate matters more than the hidden size across them, and how much of the
variance the choice of family itself explains.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from benchbench.errors import BenchError
from benchbench.analysis.frame import known_names
from benchbench.store.names import find_study
from benchbench.store.storage import StorageSpec

if TYPE_CHECKING:
    import optuna

__all__ = ["FAMILY", "MIN_TRIALS", "param_importances", "pooled_importances", "study_importances"]

MIN_TRIALS = 10  # complete trials below which no importance is computed (see the module's docstring)
FAMILY = "family"  # the pooled fit's categorical hyperparameter: which family a trial trained


def param_importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importance of each hyperparameter that varied across the study's complete trials,
    most important first (they sum to 1). A BenchError says why when there is nothing to rank."""
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    complete = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]  # fmt: skip
    name = study.study_name
    if len(complete) < MIN_TRIALS:
        raise BenchError(
            f"importance withheld: study {name} has {len(complete)} complete trial(s), fewer than the {MIN_TRIALS} a "
            f"fANOVA forest needs to tell hyperparameters apart; rerun with more --trials"
        )
    # Only hyperparameters every complete trial has and that took more than one value: a constant one
    # explains nothing, and fANOVA needs the same parameters on every trial it fits.
    shared = set.intersection(*(set(t.params) for t in complete))
    varied = sorted(p for p in shared if len({repr(t.params[p]) for t in complete}) > 1)
    if not varied:
        raise BenchError(f"no hyperparameter varied across the complete trials of {name}; nothing to rank")
    if len({t.value for t in complete}) < 2:
        raise BenchError(
            f"every complete trial of {name} scored {complete[0].value:.4g}; there is no variance to attribute"
        )
    try:
        return get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), params=varied)
    except (ValueError, RuntimeError) as err:  # e.g. a search space that changed between runs of the study
        words = " ".join(str(err).split())  # Optuna's text may list every pair of distributions: its start
        raise BenchError(f"cannot rank the hyperparameters of {name}: {words if len(words) <= 120 else words[:120] + '…'}") from None


def study_importances(store: StorageSpec, *, task: str, model: str, budget: str = "default") -> tuple[str, dict[str, float]]:
    """Find the study of `model` on `task` at `budget`; returns its name and hyperparameter importances."""
    import optuna

    storage = store.require().open()
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    name = find_study(names, task, model, budget, where=store.label, **known_names())
    study = optuna.load_study(study_name=name, storage=storage)
    return name, param_importances(study)


def _enclosing(name: str, distributions: list) -> optuna.distributions.BaseDistribution:
    """One distribution that holds every trial's value of `name` when the pooled studies searched it
    over different ranges (a family's own range in the spec): the union of the ranges or choices."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    first = distributions[0]
    if all(d == first for d in distributions):
        return first
    kinds = {type(d) for d in distributions}
    if kinds == {CategoricalDistribution}:
        return CategoricalDistribution(list(dict.fromkeys(c for d in distributions for c in d.choices)))
    if len(kinds) == 1 and kinds <= {FloatDistribution, IntDistribution}:
        low, high = min(d.low for d in distributions), max(d.high for d in distributions)
        log = all(d.log for d in distributions)
        return (FloatDistribution if first.__class__ is FloatDistribution else IntDistribution)(low, high, log=log)
    raise BenchError(f"cannot pool the studies: {name} is searched as different kinds of parameter ({', '.join(sorted(k.__name__ for k in kinds))})")


def pooled_importances(
    store: StorageSpec, *, task: str, models: list[str], budget: str = "default"
) -> tuple[str, dict[str, float], int]:
    """fANOVA importances over the complete search trials of several families on one task, fitted as
    one set with the family as a categorical hyperparameter (FAMILY). Returns the pooled set's name,
    the importances (most important first) and the number of complete trials fitted."""
    import optuna
    from optuna.trial import TrialState, create_trial

    storage = store.require().open()
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    rows: list[tuple[str, optuna.trial.FrozenTrial]] = []
    direction = None
    for model in models:
        name = find_study(names, task, model, budget, where=store.label, **known_names())
        study = optuna.load_study(study_name=name, storage=storage)
        direction = direction or study.direction
        rows += [
            (model, t) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)
        ]  # fmt: skip
    label = f"{task}/{{{','.join(models)}}}/{budget}"
    shared = set.intersection(*(set(t.params) for _, t in rows)) if rows else set()
    distributions = {p: _enclosing(p, [t.distributions[p] for _, t in rows]) for p in sorted(shared)}
    distributions[FAMILY] = optuna.distributions.CategoricalDistribution(list(models))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pooled = optuna.create_study(study_name=label, direction=direction)
    pooled.add_trials([
        create_trial(params={**{p: t.params[p] for p in shared}, FAMILY: model}, distributions=distributions, value=t.value)
        for model, t in rows
    ])  # fmt: skip
    return label, param_importances(pooled), len(rows)
