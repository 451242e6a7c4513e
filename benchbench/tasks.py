"""Tasks: declarative specs under tasks/*.toml turned into data, a head, a loss and a metric.

A spec names its dataset (and the dataset's options), its output kind, its metric, the baseline to
show, its budgets (data sizes, epochs, trials) and the search space of each family. Budgets override
the dataset options; `[search.<family>]` overrides `[search.default]` key by key.
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from benchbench.errors import BenchError, shown
from benchbench.space import Param, parse_space

__all__ = [
    "DEFAULT_TOLERANCE", "BaselineSpec", "Budget", "Reference", "Task", "as_tolerance", "load_task", "task_names", "tasks_dir",
]  # fmt: skip

DEFAULT_TOLERANCE = {"relative": 0.1}  # how far `bench check` lets a result move the bad way, unless told


def as_tolerance(raw: Any) -> dict[str, float] | None:
    """The one rule for a tolerance: `{"relative": r}` or `{"absolute": a}` with a number >= 0, as a
    task spec's `[check] tolerance`, a baseline file's cell or `--tolerance` gives it; None otherwise."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return None
    ((kind, value),) = raw.items()
    if kind not in ("relative", "absolute") or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return {kind: float(value)} if value >= 0 and value == value and value != float("inf") else None


def tasks_dir() -> Path:
    """Specs ship inside the wheel as benchbench/tasks; an editable install reads the repo's tasks/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "tasks", here.parent / "tasks"):
        if candidate.is_dir():
            return candidate
    raise BenchError(f"no task specs found next to {here}; reinstall benchbench")


@dataclass(frozen=True)
class Budget:
    name: str
    trials: int  # trials the search study holds when `bench run` is done
    max_epochs: int  # epochs per trial (pruning may stop a trial earlier)
    dataset: dict[str, Any] = field(default_factory=dict)  # dataset options for this budget
    search: dict[str, Param] = field(default_factory=dict)  # hyperparameters this budget fixes or narrows
    top_k: int = 1  # best search configurations retrained after the search
    seeds: int = 3  # fresh seeds each of them is retrained with


@dataclass(frozen=True)
class BaselineSpec:
    """A naive baseline as a task spec names it (`benchbench.baselines` computes it)."""

    name: str  # a name in baselines.BASELINES
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"period": 24}

    @property
    def label(self) -> str:
        """How tables name it: `persistence`, `seasonal-persistence[period=24]`."""
        if not self.options:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in sorted(self.options.items()))}]"


def _same_kind(value: Any, default: Any) -> bool:
    """Whether an --option value has the type of the option's default (an int serves for a float)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


@dataclass(frozen=True)
class Reference:
    """A published result to show beside ours."""

    source: str  # e.g. "Zaremba et al. 2014, non-regularized LSTM (small)"
    model: str  # the family it corresponds to, or a free label
    test: float | None = None
    val: float | None = None
    note: str = ""  # protocol details (horizon, preset, ...) and where it differs from ours
    options: dict[str, Any] = field(default_factory=dict)  # the dataset options it was measured with
    extra: dict[str, float] = field(default_factory=dict)  # its other test metrics, e.g. {"corr": 0.9786}


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    output: str  # output kind, a name in heads.HEADS
    metric: str  # a name in metrics.METRICS; it carries the direction
    dataset: str  # a name in data.DATASETS
    dataset_options: dict[str, Any]
    budgets: dict[str, Budget]
    search: dict[str, dict[str, Param]]  # "default" and per-family overrides
    baselines: tuple[BaselineSpec, ...] = ()  # naive predictors computed on the same splits
    causal: bool = False  # predicts each step from the past: bidirectional families are refused
    units: str = ""  # units of the metric, e.g. "µg/m³"
    extra_metrics: tuple[str, ...] = ()  # also reported on test, e.g. ("rse", "corr")
    references: tuple[Reference, ...] = ()  # published results
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)  # named fixed configurations
    tolerance: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCE))  # bench check's

    @property
    def direction(self) -> str:
        from benchbench.metrics import METRICS

        return METRICS.get(self.metric).direction

    def budget(self, name: str) -> Budget:
        if name not in self.budgets:
            raise BenchError(f"task {self.name!r} has no budget {shown(name)}; choose one of: {', '.join(self.budgets)}")
        return self.budgets[name]

    def preset(self, name: str) -> dict[str, Any]:
        if name not in self.presets:
            choices = ", ".join(self.presets) or "none"
            raise BenchError(f"task {self.name!r} has no preset {shown(name)}; choose one of: {choices}")
        return self.presets[name]

    def search_space(self, family: str, budget: str | None = None) -> dict[str, Param]:
        """`[search.default]`, then `[search.<family>]`, then the budget's own entries, key by key."""
        narrowed = self.budget(budget).search if budget else {}
        return {**self.search.get("default", {}), **self.search.get(family, {}), **narrowed}

    def load_data(self, budget: str, options: dict[str, Any] | None = None):
        """The dataset's `Splits` for a budget; `options` override the spec's dataset options."""
        from benchbench.data import DATASETS

        load = DATASETS.get(self.dataset)
        accepted = [p.name for p in inspect.signature(load).parameters.values() if p.kind == p.KEYWORD_ONLY]
        unknown = sorted(set(options or {}) - set(accepted))
        if unknown:
            raise BenchError(f"task {self.name!r} has no option {unknown[0]!r}; choose one of: {', '.join(accepted)}")
        spec = {**self.dataset_options, **self.budget(budget).dataset}
        defaults = {p.name: p.default for p in inspect.signature(load).parameters.values() if p.default is not p.empty}
        for key, value in (options or {}).items():
            default = spec.get(key, defaults.get(key))
            if default is not None and not _same_kind(value, default):
                raise BenchError(
                    f"--option {key}={value!r} must be a {type(default).__name__} like the task's {key}={default!r}"
                )
        merged = {**spec, **(options or {})}
        _check_split_seeds(self.name, merged.get("seeds"))
        try:
            return load(**merged)
        except MemoryError:
            raise _too_big(self.name, budget, options) from None
        except RuntimeError as err:  # torch's allocator: "can't allocate memory", "out of memory"
            if "allocate" not in str(err) and "out of memory" not in str(err):
                raise
            raise _too_big(self.name, budget, options) from None


def _too_big(task: str, budget: str, options: dict[str, Any] | None) -> BenchError:
    changed = ", ".join(f"{k}={v}" for k, v in (options or {}).items())
    return BenchError(
        f"the data of task {task!r} at budget {budget!r}{' with ' + changed if changed else ''} does not fit in memory; "
        "choose smaller sizes"
    )


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _check_split_seeds(task: str, seeds: Any) -> None:
    """Splits generated from seeds must each have their own: two splits with one seed are the same
    data, and a configuration chosen on validation would then be chosen on the test set."""
    if not isinstance(seeds, dict):
        return
    by_seed: dict[Any, list[str]] = {}
    for split, seed in seeds.items():
        by_seed.setdefault(seed, []).append(split)
    shared = next((splits for splits in by_seed.values() if len(splits) > 1), None)
    if shared is not None:
        raise BenchError(
            f"task {task!r}: the {_and(shared)} seeds are all {seeds[shared[0]]!r}, which makes those splits the same "
            "data (the configuration would be chosen on the test set); give each split its own seed, "
            "e.g. --option 'seeds={train=1,val=2,test=3}'"
        )


def _parse(name: str, raw: dict[str, Any], where: str) -> Task:
    try:
        dataset = dict(raw["dataset"])
        budgets = {
            b: Budget(
                b,
                int(spec["trials"]),
                int(spec["max_epochs"]),
                dict(spec.get("dataset", {})),
                parse_space(spec.get("search", {}), where=f"{where} [budgets.{b}.search]"),
                top_k=int(spec.get("top_k", 1)),
                seeds=int(spec.get("seeds", 3)),
            )
            for b, spec in raw["budgets"].items()
        }
        search = {family: parse_space(space, where=f"{where} [search.{family}]") for family, space in raw["search"].items()}
        baselines = tuple(_baseline(entry, where) for entry in raw.get("baselines", ()))
        return Task(
            name=name,
            description=raw["description"],
            output=raw["output"],
            metric=raw["metric"],
            dataset=dataset.pop("name"),
            dataset_options=dataset,
            budgets=budgets,
            search=search,
            baselines=baselines,
            causal=bool(raw.get("causal", False)),
            units=raw.get("units", ""),
            extra_metrics=tuple(raw.get("extra_metrics", ())),
            references=tuple(Reference(**ref) for ref in raw.get("references", ())),
            presets={name: dict(values) for name, values in raw.get("presets", {}).items()},
            tolerance=_tolerance(raw.get("check", {}).get("tolerance", DEFAULT_TOLERANCE), where),
        )
    except KeyError as missing:
        raise BenchError(f"{where}: missing required entry {missing}") from None
    except TypeError as err:
        raise BenchError(f"{where}: {err}") from None


def _baseline(entry: Any, where: str) -> BaselineSpec:
    """`{ name = "seasonal-persistence", period = 24 }`: a registered baseline and its options."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise BenchError(f"{where}: each of baselines must be {{ name = \"...\", option = value }}, got {entry!r}")
    options = {k: v for k, v in entry.items() if k != "name"}
    return BaselineSpec(entry["name"], options)


def _tolerance(raw: Any, where: str) -> dict[str, float]:
    """`[check] tolerance = { relative = 0.05 }` or `{ absolute = 0.01 }`: how far a result may move
    in the bad direction before `bench check` calls it a regression."""
    tolerance = as_tolerance(raw)
    if tolerance is None:
        raise BenchError(f"{where}: [check] tolerance must be {{ relative = R }} or {{ absolute = A }} with a number >= 0, got {raw!r}")
    return tolerance


@cache
def load_task(name: str) -> Task:
    path = tasks_dir() / f"{name}.toml"
    try:
        found = "/" not in name and path.is_file()
    except OSError:  # a name too long for a file name
        found = False
    if not found:
        raise BenchError(f"unknown task {shown(name)}; choose one of: {', '.join(task_names())}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: not valid TOML ({err})") from None
    return _parse(name, raw, str(path))


def task_names() -> list[str]:
    return sorted(p.stem for p in tasks_dir().glob("*.toml"))
