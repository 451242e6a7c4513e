"""What a user asks a sweep for: its configuration, checked before anything is written, and the
task x family matrix a `bench run` expands to. Reads no results; trains nothing."""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.device import check_precision
from benchbench.errors import BenchError, shown
from benchbench.registry import parse_names
from benchbench.store.storage import StorageSpec
from benchbench.sweep.samplers import PRUNERS, SAMPLERS
from benchbench.tasks import Task, load_task

__all__ = ["FixedConfig", "SweepConfig", "expand_matrix", "parse_overrides", "resolve", "validate"]

MAX_SEED = 2**31 - 1  # --seed and the trial count: seed + trial number stays a valid numpy seed
MAX_SEEDS = 1000  # fresh seeds per retrained configuration; the evaluation queues them all at once


@dataclass(frozen=True)
class SweepConfig:
    task: str  # task spec name
    model: str  # family name
    budget: str = "default"  # a budget of the task spec
    trials: int | None = None  # trials the search study plans in all; None takes the budget's
    max_epochs: int | None = None  # epochs per trial; None takes the budget's (or the preset's)
    timeout: float | None = None  # start no new search trial after this many seconds
    seed: int = 0  # base seed of sampler and trials
    results: Path = Path("results")  # results folder (journal storage, logs, leaderboards)
    options: tuple[tuple[str, Any], ...] = ()  # dataset options overriding the spec (--option key=value)
    sampler: str = "tpe"  # a name of sweep/samplers.py SAMPLERS: tpe, gp, qmc, random or grid
    pruner: str = "median"  # a name of PRUNERS: median, hyperband, halving or none
    startup: int | None = None  # random trials before TPE/GP model; None: samplers.default_startup(planned) (10)
    paired_search: bool = True  # every family draws the same configurations (see StudyAttrs.paired_search)
    top_k: int | None = None  # configurations retrained after the search; None takes the budget's
    seeds: int | None = None  # fresh seeds per configuration; None takes the budget's; 0 skips it
    storage: str | None = None  # an RDB URL shared by many machines; None: the results folder's journal
    jobs: int = 1  # worker processes on this machine; 0 only plans the study for `bench worker`s
    threads: int = 1  # torch intra-op threads per worker process; 0: torch's choice split over jobs (cores / jobs)
    precision: str = "32-true"  # Lightning's precision plugin for every trial (device.PRECISIONS)
    seeds_target: float | None = None  # --seeds auto: retrain the best until its detectable difference is at most this (relative)
    max_seeds: int = 20  # --seeds auto: the cap on the best configuration's seeds
    trackers: tuple[str, ...] = ()  # experiment trackers each trial also logs to (sweep/tracking.py), none by default

    @functools.cached_property
    def store(self) -> StorageSpec:
        """Where the sweep's studies live, built and checked once."""
        return StorageSpec(self.results, self.storage)


@dataclass(frozen=True)
class FixedConfig(SweepConfig):
    preset: str | None = None  # a preset of the task spec
    overrides: tuple[tuple[str, Any], ...] = ()  # (key, value) pairs from --set, applied last


def validate(config: SweepConfig) -> Task:
    """Check everything a user typed before anything is written; BenchError on the first problem."""
    from benchbench.models import is_bidirectional

    from benchbench.baselines import BASELINES

    task = load_task(config.task)
    for spec in task.baselines:
        if spec.name not in BASELINES:
            raise BenchError(f"{task.source}: baselines: unknown baseline {spec.name!r}; choose one of: {', '.join(BASELINES.names())}")
    bidirectional = is_bidirectional(config.model)  # raises on an unknown family, listing the choices
    if task.causal and bidirectional:
        raise BenchError(
            f"task {task.name!r} predicts each step from the past, so bidirectional model {config.model!r} "
            "would see what it predicts; choose a unidirectional family"
        )
    if config.budget not in task.budgets:
        raise BenchError(f"--budget {shown(config.budget)}: task {task.name!r} has no such budget; choose one of: {', '.join(task.budgets)}")
    for name in ("trials", "max_epochs", "timeout", "top_k"):
        value = getattr(config, name)
        if value is not None and not value > 0:  # NaN too
            raise BenchError(f"--{name.replace('_', '-')} must be positive, got {value}")
    for name in ("seeds", "jobs", "threads", "startup"):
        value = getattr(config, name)
        if value is not None and value < 0:
            raise BenchError(f"--{name} must be 0 or more, got {value}")
    if not 0 <= config.seed <= MAX_SEED:
        raise BenchError(f"--seed must be between 0 and {MAX_SEED} (trial seeds count up from it; numpy takes seeds below 2**32), got {config.seed}")
    if config.trials is not None and config.trials > MAX_SEED:
        raise BenchError(f"--trials must be at most {MAX_SEED} (each trial's seed counts up from --seed), got {config.trials}")
    if config.seeds_target is not None and not (0 < config.seeds_target < 1):
        raise BenchError(f"--target-detectable must be a fraction between 0 and 1 (0.05: 5%), got {config.seeds_target}")
    if config.seeds_target is not None and not (2 <= config.max_seeds <= MAX_SEEDS):
        raise BenchError(f"--max-seeds must be between 2 and {MAX_SEEDS}, got {config.max_seeds}")
    if config.seeds is not None and config.seeds > MAX_SEEDS:
        raise BenchError(f"--seeds must be at most {MAX_SEEDS} (each seed of each retrained configuration is queued at once), got {config.seeds}")
    cores = os.cpu_count() or 1
    if config.threads > cores:
        raise BenchError(f"--threads {config.threads}: this machine has {cores} cores; use at most {cores} (0: torch's choice)")
    if config.sampler not in SAMPLERS:
        raise BenchError(f"unknown sampler {config.sampler!r}; choose one of: {', '.join(SAMPLERS)}")
    if config.pruner not in PRUNERS:
        raise BenchError(f"unknown pruner {config.pruner!r}; choose one of: {', '.join(PRUNERS)}")
    config.store  # validates the storage URL
    # only planned (--jobs 0): the workers that train may have the GPU this machine lacks
    check_precision(config.precision, cuda=True if config.jobs == 0 else None)
    from benchbench.sweep.tracking import check_trackers

    check_trackers(config.trackers)
    if isinstance(config, FixedConfig) and config.preset is not None:
        preset = {k: v for k, v in task.preset(config.preset).items() if k != "dataset"}  # dataset: checked on load
        _check_values(task, config.model, config.budget, preset.items(), f"task {task.name!r} preset {config.preset!r}:")
    if isinstance(config, FixedConfig):
        _check_values(task, config.model, config.budget, config.overrides, "--set")
    return task


def _check_values(task: Task, model: str, budget: str, items, label: str) -> None:
    """Each (key, value) of --set or of a preset names a training option, a searched hyperparameter
    or an option of the family, with a value of its kind and in its range, before anything is written."""
    import dataclasses
    import inspect
    import typing

    from benchbench.models import MODELS
    from benchbench.training import TRAIN_KEYS, TrainConfig

    space = task.search_space(model, budget)
    factory = inspect.signature(MODELS.get(model)).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in factory.values())
    model_keys = {"hidden_size", "num_layers"} | {n for n in factory if n not in ("input_size", "step_shape")}
    hints = typing.get_type_hints(TrainConfig)
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for key, value in items:
        if key == "max_epochs":
            expected = (int,)
        elif key in TRAIN_KEYS:
            choices = typing.get_args(hints[key]) if typing.get_origin(hints[key]) is typing.Literal else ()
            if choices:
                if value not in choices:
                    raise BenchError(f"{label} {key}={value!r}: choose one of: {', '.join(map(str, choices))}")
                continue
            expected = (type(defaults[key]),) if defaults[key] is not None else (int, float)
        elif key in space:
            param = space[key]
            examples = param.choices if param.choices is not None else (param.low, param.high, param.fixed)
            expected = tuple({type(v) for v in examples if v is not None}) or (object,)
        elif key in model_keys or takes_any:
            continue
        else:
            known = sorted(TRAIN_KEYS | set(space) | model_keys | {"max_epochs"})
            raise BenchError(f"{label} {key}: no such hyperparameter of {model!r}; choose one of: {', '.join(known)}")
        if float in expected:
            expected = (*expected, int)
        if isinstance(value, bool) != (bool in expected) or not isinstance(value, expected):
            kind = " or ".join(sorted({t.__name__ for t in expected}))
            raise BenchError(f"{label} {key}={value!r}: expected a {kind}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_range(key, value, space.get(key), label)


# Limits of hyperparameters a value outside of is meaningless (not merely outside the search range).
_UNIT = ("dropout", "input_noise")  # a probability, or noise that must not be negative


def _check_range(key: str, value: float, param: Any, label: str) -> None:
    if key.endswith("dropout") and not 0 <= value < 1:
        raise BenchError(f"{label} {key}={value!r}: a dropout probability must be at least 0 and below 1")
    if key in ("hidden_size", "num_layers", "batch_size", "max_epochs", "bptt") and value < 1:
        raise BenchError(f"{label} {key}={value!r}: must be 1 or more")
    if key == "lr" and value <= 0:
        raise BenchError(f"{label} {key}={value!r}: the learning rate must be positive")
    low = getattr(param, "low", None)
    if value < 0 and (key in _UNIT or (low is not None and low >= 0)):
        raise BenchError(f"{label} {key}={value!r}: must not be negative (its search range starts at {low if low is not None else 0})")


def parse_overrides(pairs: list[str], *, flag: str = "--set") -> tuple[tuple[str, Any], ...]:
    """`key=value` strings; values read as TOML literals (1, 0.5, true, "sgd"), else kept as text."""
    out = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"{flag} takes key=value, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        out.append((key.strip(), value))
    return tuple(out)


def _is_reference(text: str) -> bool:
    """A family or task given by reference (`cells.py:MinGRU`, `pkg.cells:MinGRU`, `my-task.toml`,
    `csv:prices.csv`) rather than by a registered name."""
    return ":" in text or "/" in text or text.endswith((".toml", ".py"))


def _names(text: str, known: list[str], what: str, use) -> list[str]:
    """`all`, one name or reference, or a comma-separated list of them; unknown names are refused
    with the choices, references are loaded (`use`) and stand for the name they register."""
    if text.strip() == "all":
        return list(known)
    if not text.strip():
        raise BenchError(f"--{what} needs a name, a comma-separated list or 'all'")
    items = [item.strip() for item in text.split(",")]
    refs = {item: use(item) for item in items if _is_reference(item)}
    names = parse_names(",".join(refs.get(item, item) for item in items), flag=f"--{what}")
    for name in names:
        if name not in known and name not in refs.values():
            raise BenchError(f"unknown {what} {shown(name)}; choose one of: {', '.join(known)} (a comma-separated list, or all)")
        if name not in refs.values():
            use(name)  # a plugin listed by name is loaded now: a broken one fails before anything runs
    return list(dict.fromkeys(names))


def resolve(config: SweepConfig) -> SweepConfig:
    """`config` with its task and family given by name: a reference (`--model cells.py:MinGRU`,
    `--task my-task.toml`) is loaded and replaced by the name it registers."""
    from benchbench.models import use_model
    from benchbench.tasks import use_task

    return dataclasses.replace(config, task=use_task(config.task), model=use_model(config.model))


def expand_matrix(tasks: str, models: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """(cells to run, cells skipped with the reason) for `--task` and `--model` values that may be
    lists, references or `all`. A bidirectional family on a causal task is skipped in a matrix; asked
    for alone, it is refused (by `validate`), and so is a matrix whose every cell would be skipped."""
    from benchbench.models import MODELS, is_bidirectional, use_model
    from benchbench.tasks import task_names, use_task

    task_list = _names(tasks, task_names(), "task", use_task)
    model_list = _names(models, MODELS.names(), "model", use_model)
    cells, skipped = [], []
    if models.strip() == "all":  # a broken plugin is skipped, with why; the families that load run
        for model in list(model_list):
            try:
                MODELS.get(model)
            except BenchError as err:
                model_list.remove(model)
                skipped += [(task, model, str(err)) for task in task_list]
    for task in task_list:
        for model in model_list:
            if len(task_list) * len(model_list) > 1 and load_task(task).causal and is_bidirectional(model):
                skipped.append((task, model, "bidirectional family on a causal task"))
            else:
                cells.append((task, model))
    if skipped and not cells:
        pairs = ", ".join(f"{t}/{m}" for t, m, _ in skipped)
        raise BenchError(
            f"nothing to run: every requested cell is refused ({pairs}: a bidirectional family on a causal task sees "
            "what it predicts); choose a unidirectional family"
        )
    return cells, skipped
