"""Studies: their attributes, creation and loading with the sampler and pruner they name, the plan of
a search and of its final evaluation, the naive baselines, and each trial's provenance.

    bench run  ->  search study `task/family/budget`   (sampler + pruner, `planned` trials)
               ->  eval study   `task/family/budget/eval` (best K configurations x N fresh seeds)

Seeds: the sampler is seeded with seed + the trials already in the study (a continued study gets a
fresh stream, so no configuration repeats); search trial n trains with seed + n; the final
evaluation trains with seed + EVAL_SEED_OFFSET + i for i < N, seeds no search trial used (store/names.py).
"""

from __future__ import annotations

import functools
import json
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchbench.device import DEFAULT_PRECISION
from benchbench.errors import BenchError
from benchbench.store.locks import claim_lock
from benchbench.store.names import (
    NAIVE_FAMILY,
    Kind,
    eval_seed,
    eval_study_name,
    study_name,
)
from benchbench.store.storage import StorageSpec
from benchbench.store.trials import count_trials, counted_trials, ranked_trials
from benchbench.sweep.config import SweepConfig
from benchbench.sweep.samplers import LEGACY_STARTUP, PRUNERS, SAMPLERS, default_startup, trial_seeded
from benchbench.tasks import Task, load_task

if TYPE_CHECKING:
    import optuna

__all__ = [
    "StudyAttrs", "create_study", "load_study", "origins", "plan_evaluation", "plan_search", "provenance", "record_baselines",
    "rerun_command", "restore", "sampler_seed",
]  # fmt: skip


@functools.cache
def provenance() -> dict[str, Any]:
    """Package versions, git commit (when the package runs from a checkout), host and platform;
    computed once per process."""
    import platform
    import socket
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    git = None
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=5,
            ).stdout.strip()  # fmt: skip
            git = head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {
        "benchbench": ver("benchbench"), "python": platform.python_version(), "torch": ver("torch"),
        "lightning": ver("lightning") or ver("pytorch-lightning"), "optuna": ver("optuna"),
        "git": git, "host": socket.gethostname(), "platform": platform.platform(),
    }  # fmt: skip


def rerun_command(attrs: dict[str, Any], hparams: dict[str, Any], seed: int, max_epochs: int) -> str:
    """The `bench train` command line that trains one configuration alone, as a trial did; a family
    or task from outside the package is given as the study recorded it (its reference, its spec's
    path, its plugin modules), so the line works in a fresh shell."""
    from benchbench.tasks import task_reference

    words = ["bench", "train"]
    for module in attrs.get("plugins") or ():
        words += ["--plugin", module]
    model = attrs["model"]
    origin = attrs.get("model_origin") or {}
    if origin.get("kind") == "reference":
        model = origin["ref"]
    task = task_reference(attrs["task"], attrs.get("task_origin"))
    words += ["--task", task, "--model", model, "--budget", attrs["budget"]]
    for key, value in sorted((attrs.get("task_options") or {}).items()):
        words += ["--option", f"{key}={_literal(value)}"]
    words += ["--seed", str(seed), "--max-epochs", str(max_epochs)]
    if attrs.get("precision", "32-true") != "32-true":
        words += ["--precision", attrs["precision"]]
    for key, value in hparams.items():
        if value is not None:
            words += ["--set", f"{key}={_literal(value)}"]
    return shlex.join(words)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class StudyAttrs:
    """What every reader and every worker needs of a study, so that neither needs the command line;
    stored as the study's user attributes (`to_attrs`) and read back with `from_attrs`."""

    kind: str  # a Kind
    task: str  # task spec name
    task_options: dict[str, Any] = field(default_factory=dict)  # dataset options changed from the spec
    model: str = ""  # family name (NAIVE_FAMILY for naive baselines)
    budget: str = "default"  # budget name, or `fixed`
    metric: str = ""
    direction: str = "minimize"
    units: str = ""
    extra_metrics: list[str] = field(default_factory=list)
    tolerance: Any = None  # the task spec's regression tolerance
    seed: int = 0  # base seed
    precision: str = DEFAULT_PRECISION  # Lightning's precision plugin of every trial (--precision)
    # Code and specs from outside the package (benchbench/plugins.py), so that any worker loads them:
    model_origin: dict[str, Any] = field(default_factory=dict)  # the family's reference, module, file sha256, package; {} built-in
    task_origin: dict[str, Any] = field(default_factory=dict)  # the task spec's (or CSV file's) path and sha256; {} shipped
    plugins: list[str] = field(default_factory=list)  # --plugin / BENCH_PLUGINS modules imported when it was made
    # every family's search draws the same configurations from the same sampler stream (common random
    # numbers across families); False: each family's stream is offset by its name (sampler_seed)
    paired_search: bool = True

    @classmethod
    def of(
        cls, task: Task, *, kind: str, model: str, budget: str, options: dict[str, Any], seed: int,
        precision: str = DEFAULT_PRECISION, paired_search: bool = True,
    ) -> StudyAttrs:
        from benchbench.tasks import task_origin

        model_origin, modules = {}, []
        if model != NAIVE_FAMILY:
            from benchbench.models import model_origin as origin_of, use_plugins

            model_origin, modules = origin_of(model), use_plugins()
        return cls(
            kind=str(kind), task=task.name, task_options=dict(options), model=str(model), budget=str(budget),
            metric=task.metric, direction=task.direction, units=task.units, extra_metrics=list(task.extra_metrics),
            tolerance=task.tolerance, seed=seed, precision=precision, model_origin=model_origin,
            task_origin=task_origin(task.name), plugins=modules, paired_search=paired_search,
        )  # fmt: skip

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> StudyAttrs:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in attrs.items() if k in names})

    def to_attrs(self) -> dict[str, Any]:
        return asdict(self)


def study_attrs(task: Task, config: SweepConfig, kind: str, budget_name: str) -> dict[str, Any]:
    """The attributes of a study of `config`'s family on `task`, with the trackers this run's trials
    log to (`trackers`, read by every worker)."""
    attrs = StudyAttrs.of(
        task, kind=kind, model=config.model, budget=budget_name, options=dict(config.options), seed=config.seed,
        precision=config.precision, paired_search=config.paired_search,
    ).to_attrs()
    return {**attrs, "trackers": list(config.trackers)}


def sampler_seed(attrs: dict[str, Any]) -> int:
    """The seed a search study's sampler stream starts from: the base seed, offset by the family's name
    when the search is not paired (a stable CRC, not Python's salted hash), so independent searches of
    two families draw different configurations while each stays reproducible."""
    import zlib

    seed = int(attrs["seed"])
    if not attrs.get("paired_search", True):
        seed += zlib.crc32(str(attrs["model"]).encode()) % 1_000_003
    return seed


def create_study(store: StorageSpec, name: str, direction: str, attrs: dict[str, Any]):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=store.open(), study_name=name, direction=direction, load_if_exists=True)
    for key, value in attrs.items():
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
    return study


def load_study(store: StorageSpec, name: str, worker_index: int = 0) -> optuna.Study:
    """A study with the sampler and pruner its attributes name, seeded as its sampler's entry says
    (SamplerEntry.seeding: per trial, per study, or per worker, where `worker_index` counts)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = store.open()
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False))
        raise BenchError(f"no study {name!r} in {store.label}; studies there: {', '.join(names) or 'none'}") from None
    attrs = study.user_attrs
    restore(attrs)
    if attrs.get("kind") in (Kind.EVAL, Kind.FIXED):
        study.sampler = optuna.samplers.RandomSampler()  # never asked: every configuration is planned
        return study
    task = load_task(attrs["task"])
    space = task.search_space(attrs["model"], attrs["budget"])
    entry = SAMPLERS.get(attrs.get("sampler", "tpe"))
    seed, startup = sampler_seed(attrs), int(attrs.get("startup", LEGACY_STARTUP))  # seeding: see SamplerEntry
    if entry.seeding == "trial":
        study.sampler = trial_seeded(lambda s: entry.build(space, s, startup), seed)
    else:
        offset = len(study.trials) + 10_007 * worker_index if entry.seeding == "worker" else 0
        study.sampler = entry.build(space, seed + offset, startup)
    study.pruner = PRUNERS.get(attrs.get("pruner", "median")).build(int(attrs["max_epochs"]))
    return study


def restore(attrs: dict[str, Any]) -> None:
    """Load what a study's family and task need from outside the package, as the study recorded it
    (plugin modules, the family's reference, the task spec's path): a worker process or `bench
    worker` on another machine then builds exactly what `bench run` did."""
    from benchbench.models import restore_model
    from benchbench.tasks import restore_task

    restore_task(attrs["task"], attrs.get("task_origin"))
    if attrs.get("model") and attrs.get("model") != NAIVE_FAMILY:
        restore_model(attrs["model"], attrs.get("model_origin"), attrs.get("plugins") or ())


def origins(attrs: dict[str, Any]) -> dict[str, Any]:
    """The provenance entries of a study's family and task from outside the package (none when built in)."""
    out = {}
    for key in ("model_origin", "task_origin"):
        origin = attrs.get(key) or {}
        for field_name in ("ref", "module", "file", "sha256", "package", "version"):
            if origin.get(field_name) is not None:
                out[f"{key.removesuffix('_origin')} {field_name}"] = origin[field_name]
    if attrs.get("plugins"):
        out["plugins"] = ", ".join(attrs["plugins"])
    return out


def plan_search(task: Task, config: SweepConfig) -> tuple[optuna.Study, int, int]:
    """Create or update the search study's plan; returns (the study, planned trials, max_epochs)."""
    budget = task.budget(config.budget)
    planned = config.trials or budget.trials
    max_epochs = config.max_epochs or budget.max_epochs
    # a sampler that can propose only so many points (the grid) caps the plan there: every point once
    planned = int(min(planned, SAMPLERS.get(config.sampler).size(task.search_space(config.model, config.budget))))
    attrs = study_attrs(task, config, Kind.SEARCH, config.budget)
    attrs.update(
        sampler=config.sampler, pruner=config.pruner, max_epochs=max_epochs, planned=planned,
        startup=config.startup if config.startup is not None else default_startup(planned),
        top_k=config.top_k or budget.top_k, eval_seeds=budget.seeds if config.seeds is None else config.seeds,
    )  # fmt: skip
    name = study_name(task.name, config.model, config.budget, dict(config.options))
    study = create_study(config.store, name, task.direction, attrs)
    done = count_trials(study)
    if done > planned:  # a study planned bigger before keeps its trials; the plan never shrinks them
        study.set_user_attr("planned", done)
        planned = done
    return study, planned, max_epochs


def plan_evaluation(store: StorageSpec, search: optuna.Study, *, seeds: int | None = None) -> tuple[optuna.Study, int]:
    """Queue the final evaluation: the best `top_k` distinct configurations of the search, each with
    `eval_seeds` fresh seeds (with `seeds`, that many for the best configuration alone: `--seeds
    auto` adding seeds); only (configuration, seed) pairs not yet queued, running or done are added.
    Returns (the eval study, trials it plans)."""
    import optuna
    from optuna.trial import TrialState

    attrs = search.user_attrs
    k, n = int(attrs["top_k"]), int(attrs["eval_seeds"])
    chosen, seen = [], set()
    for trial in ranked_trials(counted_trials(search.get_trials(deepcopy=False)), attrs["direction"]):
        key = json.dumps(trial.user_attrs.get("hparams", trial.params), sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            chosen.append(trial)
        if len(chosen) == k:
            break
    name = eval_study_name(search.study_name)
    eval_attrs = {**{key: attrs[key] for key in attrs if key not in ("sampler", "pruner", "startup", "planned", "top_k", "eval_seeds")}}
    eval_attrs.update(kind=Kind.EVAL.value, search_study=search.study_name, ranking=[t.number for t in chosen])
    study = create_study(store, name, attrs["direction"], eval_attrs)
    with claim_lock(study, store.results):
        have = {
            (t.user_attrs.get("source_trial"), t.user_attrs.get("seed"))
            for t in counted_trials(study.get_trials(deepcopy=False))
        }
        for rank, source in enumerate(chosen, start=1):
            for i in range(max(n, seeds) if seeds is not None and rank == 1 else n):
                seed = eval_seed(attrs, i)
                if (source.number, seed) in have:
                    continue
                study.add_trial(
                    optuna.trial.create_trial(
                        state=TrialState.WAITING, params=source.params, distributions=source.distributions,
                        user_attrs={"seed": seed, "source_trial": source.number, "rank": rank,
                                    "hparams": source.user_attrs.get("hparams", source.params)},
                    )
                )  # fmt: skip
        planned = len(counted_trials(study.get_trials(deepcopy=False)))
        study.set_user_attr("planned", planned)
    return study, planned


def record_baselines(store: StorageSpec, task: Task, budget: str, options: dict[str, Any], data, *, label: str | None = None):
    """Compute the task's naive baselines on `data` (fitted on train, scored on val and test through
    the metric code) and store each as a complete trial of the study `task/baselines/<label>` (label:
    the budget, or `fixed` for `bench train`). A baseline already stored there is not computed again."""
    import optuna

    from benchbench.baselines import evaluate_baseline
    from benchbench.heads import HEADS

    if not task.baselines:
        return None
    label = label or budget
    attrs = StudyAttrs.of(task, kind=Kind.NAIVE, model=NAIVE_FAMILY, budget=label, options=dict(sorted(options.items())), seed=0).to_attrs()
    attrs.update(data_budget=budget)
    study = create_study(store, study_name(task.name, NAIVE_FAMILY, label, options), task.direction, attrs)
    have = {t.user_attrs.get("baseline") for t in study.get_trials(deepcopy=False)}
    regression = HEADS.get(task.output).regression
    for spec in task.baselines:
        if spec.label in have:
            continue
        result = evaluate_baseline(spec, data, metric=task.metric, extra_metrics=task.extra_metrics, regression=regression)
        study.add_trial(
            optuna.trial.create_trial(
                value=result.val,
                user_attrs={
                    "baseline": spec.label, "name": spec.name, "options": dict(spec.options), "val": result.val,
                    "test": result.test, **{f"test_{k}": v for k, v in result.test_extra.items()},
                    "wall_time": result.wall_time, "provenance": provenance(),
                },
            )
        )  # fmt: skip
    return study

