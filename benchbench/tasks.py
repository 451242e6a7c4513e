"""Tasks: declarative specs under tasks/*.toml turned into data, a head, a loss and a metric.

A spec names its dataset (and the dataset's options), its output kind, its metric, the baseline to
show, its budgets (data sizes, epochs, trials) and the search space of each family. Budgets override
the dataset options; `[search.<family>]` overrides `[search.default]` key by key, a budget's
`[budgets.<b>.search]` overrides both, and `[budgets.<b>.by_family.<family>]` overrides that for one family.

Specs from outside the package are read and checked exactly as the shipped ones, from:

    --task path/to/my-task.toml            one file (`use_task`), named after it: my-task
    --task csv:prices.csv                  a CSV or Parquet file of series, no spec (`csv_task`)
    --tasks-dir DIR, env BENCH_TASKS_PATH  folders of specs (os.pathsep-separated in the variable)
    entry points `benchbench.tasks`        an installed package's spec file, folder, or a callable returning one

The shipped specs win: a spec outside named like one of them is reported once and left out.
"""

from __future__ import annotations

import inspect
import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from benchbench import plugins
from benchbench.errors import BenchError, shown
from benchbench.registry import NAME
from benchbench.space import Param, parse_space

__all__ = [
    "DEFAULT_TOLERANCE", "TASKS_PATH_ENV", "BaselineSpec", "Budget", "Reference", "Task", "add_tasks_dir", "as_tolerance",
    "csv_task", "load_task", "restore_task", "task_names", "task_origin", "task_reference", "tasks_dir", "use_task",
]  # fmt: skip

TASKS_PATH_ENV = "BENCH_TASKS_PATH"  # folders of task specs, os.pathsep-separated, as --tasks-dir

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
    by_family: dict[str, dict[str, Param]] = field(default_factory=dict)  # this budget's entries for one family


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
    source: str = ""  # the spec file it was read from (or the CSV file of a csv: task)

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
        """`[search.default]`, then the space the family declares (a plugin's `search_space`), then
        `[search.<family>]`, then the budget's own entries, then the budget's entries for this family, key by key."""
        from benchbench.models import declared_space

        chosen = self.budget(budget) if budget else None
        narrowed = {**chosen.search, **chosen.by_family.get(family, {})} if chosen else {}
        return {**self.search.get("default", {}), **declared_space(family), **self.search.get(family, {}), **narrowed}

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
        required = [p.name for p in inspect.signature(load).parameters.values() if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
        missing = [key for key in required if key not in spec and key not in (options or {})]
        if missing:
            raise BenchError(f"{self.source or self.name}: [dataset] needs {missing[0]} = ..., an option of dataset {self.dataset!r} (its options: {', '.join(accepted)})")
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


_KEYS = {
    "description": "a one-line description", "output": "the output kind", "metric": "the metric",
    "dataset": "the dataset table", "budgets": "the budgets table", "search": "the search spaces",
    "extra_metrics": "other test metrics", "baselines": "naive baselines", "causal": "true/false", "units": "the metric's units",
    "references": "published results", "presets": "named configurations", "check": "bench check's tolerance",
}  # fmt: skip
_BUDGET_KEYS = ("trials", "max_epochs", "dataset", "search", "top_k", "seeds", "by_family")


def _choose(where: str, key: str, value: Any, choices: list[str]) -> None:
    if value not in choices:
        raise BenchError(f"{where}: {key} = {value!r} is not one of: {', '.join(choices)}")


def _check_schema(raw: dict[str, Any], where: str) -> None:
    """The keys and kinds of values of a spec, each error naming the file, the key and what is allowed."""
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise BenchError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(_KEYS)}")
    for key in ("description", "output", "metric", "dataset", "budgets", "search"):
        if key not in raw:
            raise BenchError(f"{where}: missing required key {key!r} ({_KEYS[key]})")
    for key in ("description", "output", "metric", "units"):
        if key in raw and not isinstance(raw[key], str):
            raise BenchError(f"{where}: {key} must be a string, got {raw[key]!r}")
    for key in ("dataset", "budgets", "search", "presets", "check"):
        if key in raw and not isinstance(raw[key], dict):
            raise BenchError(f"{where}: {key} must be a table ([{key}]), got {raw[key]!r}")
    if not isinstance(raw["dataset"].get("name"), str):
        raise BenchError(f"{where}: [dataset] needs name = \"...\", a registered dataset")
    if "causal" in raw and not isinstance(raw["causal"], bool):
        raise BenchError(f"{where}: causal must be true or false, got {raw['causal']!r}")
    if not raw["budgets"]:
        raise BenchError(f"{where}: [budgets] needs at least one budget, e.g. [budgets.smoke] and [budgets.default]")
    for b, spec in raw["budgets"].items():
        if not isinstance(spec, dict):
            raise BenchError(f"{where}: [budgets.{b}] must be a table, got {spec!r}")
        extra = sorted(set(spec) - set(_BUDGET_KEYS))
        if extra:
            raise BenchError(f"{where}: [budgets.{b}] unknown key {extra[0]!r}; allowed keys: {', '.join(_BUDGET_KEYS)}")
        for key in ("trials", "max_epochs"):
            if key not in spec:
                raise BenchError(f"{where}: [budgets.{b}] missing required key {key!r} (a positive integer)")
        for key in ("trials", "max_epochs", "top_k", "seeds"):
            if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], int) or spec[key] < 1):
                raise BenchError(f"{where}: [budgets.{b}] {key} must be a positive integer, got {spec[key]!r}")


def _check_names(task: Task, where: str) -> None:
    """The output kind, metrics and dataset a spec names are registered ones."""
    from benchbench.data import DATASETS
    from benchbench.heads import HEADS
    from benchbench.metrics import METRICS

    _choose(where, "output", task.output, HEADS.names())
    _choose(where, "metric", task.metric, METRICS.names())
    for metric in task.extra_metrics:
        _choose(where, "extra_metrics", metric, METRICS.names())
    _choose(where, "[dataset] name", task.dataset, DATASETS.names())


def _parse(name: str, raw: dict[str, Any], where: str) -> Task:
    _check_schema(raw, where)
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
                by_family={
                    family: parse_space(space, where=f"{where} [budgets.{b}.by_family.{family}]")
                    for family, space in spec.get("by_family", {}).items()
                },
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
            source=where,
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


# --- where specs are found -------------------------------------------------------------------------

_FILES: dict[str, Path] = {}  # task name -> a spec file given by path (--task my.toml)
_CSV: dict[str, Path] = {}  # task name -> a series file given as csv:PATH
_DIRS: list[Path] = []  # --tasks-dir folders, after BENCH_TASKS_PATH's
_ORIGINS: dict[str, plugins.Origin] = {}  # task name -> the entry point that provides it


def add_tasks_dir(path: str | Path) -> None:
    """Read task specs from folder `path` too (--tasks-dir)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise BenchError(f"--tasks-dir {path}: no such folder; give a folder of task specs (*.toml)")
    if folder not in _DIRS:
        _DIRS.append(folder)


def _env_dirs() -> list[Path]:
    dirs = []
    for entry in os.environ.get(TASKS_PATH_ENV, "").split(os.pathsep):
        if entry.strip():
            folder = Path(entry.strip()).expanduser().resolve()
            if not folder.is_dir():
                raise BenchError(f"{TASKS_PATH_ENV}: {entry} is not a folder; give folders of task specs separated by {os.pathsep!r}")
            dirs.append(folder)
    return dirs


def _entry_point_specs() -> dict[str, tuple[Path, plugins.Origin]]:
    """Spec files of the installed packages' `benchbench.tasks` entry points. A broken entry point
    is reported once and left out: it breaks only the runs that name it (as unknown)."""
    found: dict[str, tuple[Path, plugins.Origin]] = {}
    for ep in plugins.entry_points(plugins.TASK_GROUP):
        try:
            target = ep.load()
            target = target() if callable(target) else target
            path = Path(target)
        except Exception as err:
            plugins.notice(f"task plugin {ep.name!r} ({ep.value}) failed to load: {type(err).__name__}: {err}")
            continue
        origin = plugins.entry_point_origin(ep)
        files = sorted(path.glob("*.toml")) if path.is_dir() else [path] if path.suffix == ".toml" and path.is_file() else []
        if not files:
            plugins.notice(f"task plugin {ep.name!r} ({ep.value}) names {path}, which is neither a .toml spec nor a folder of them")
        for file in files:
            found.setdefault(file.stem, (file, origin))
    return found


def _outside() -> dict[str, Path]:
    """Spec files outside the package, by task name: given by path, in folders, from entry points.
    Names the shipped specs hold are reported once and left out."""
    shipped = set(_shipped())
    found: dict[str, Path] = {}
    for folder in [*_env_dirs(), *_DIRS]:
        for file in sorted(folder.glob("*.toml")):
            found.setdefault(file.stem, file)
    for name, (file, origin) in _entry_point_specs().items():
        if name not in found:
            found[name] = file
            _ORIGINS[name] = origin
    found.update(_FILES)
    for name in sorted(set(found) & shipped):
        plugins.notice(f"task spec {found.pop(name)} has the name of the built-in task {name!r}, which is used; rename the file")
    return found


def _shipped() -> dict[str, Path]:
    return {p.stem: p for p in tasks_dir().glob("*.toml")}


def load_task(name: str) -> Task:
    """The task `name`: a shipped spec, then one from outside (see the module docstring)."""
    path = _shipped().get(name)
    if path is None and name in _CSV:
        return _csv_task(name, str(_CSV[name]))
    if path is None:
        path = _outside().get(name)
    if path is None:
        raise BenchError(f"unknown task {shown(name)}; choose one of: {', '.join(task_names())} (or give a spec's path, or csv:FILE)")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise BenchError(f"task {name!r}: its spec {path} cannot be read ({err.strerror})") from None
    return _load_file(name, str(path), mtime)


@cache
def _load_file(name: str, path: str, mtime: int) -> Task:  # mtime: an edited spec is read again
    try:
        raw = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise BenchError(f"{path}: cannot be read ({err.strerror})") from None
    if isinstance(raw.get("dataset"), dict) and isinstance(raw["dataset"].get("path"), str):
        # a data file named relative to its spec: the spec's folder, wherever bench runs
        raw["dataset"]["path"] = str((Path(path).parent / Path(raw["dataset"]["path"]).expanduser()).resolve())
    task = _parse(name, raw, path)
    _check_names(task, path)
    return task


def task_names() -> list[str]:
    """The shipped tasks, then those from outside, sorted within each."""
    shipped = sorted(_shipped())
    return shipped + sorted((set(_outside()) | set(_CSV)) - set(shipped))


def _new_name(name: str, ref: str) -> str:
    if not NAME.fullmatch(name):
        raise BenchError(f"--task {ref}: {name!r} cannot name a task (letters, digits, _ . -); rename the file")
    if name in _shipped():
        raise BenchError(f"--task {ref}: {name!r} is the name of a built-in task; rename the file")
    return name


def use_task(ref: str) -> str:
    """The name of task `ref`: a task name, a spec's path (`my-task.toml`, named after the file) or
    `csv:FILE` / `parquet:FILE` (a series file, see `csv_task`); a path is read and checked now."""
    kind, sep, rest = ref.partition(":")
    if sep and kind in ("csv", "parquet"):
        path = Path(rest).expanduser().resolve()
        if not path.is_file():
            raise BenchError(f"--task {ref}: no file {path}; give csv:PATH to a CSV or Parquet file of series")
        name = _new_name(path.stem, ref)
        _csv_task(name, str(path))  # checked before it is registered: a bad one leaves no trace
        _FILES.pop(name, None)
        _CSV[name] = path
        return name
    if ref.endswith(".toml") or os.sep in ref or "/" in ref:
        path = Path(ref).expanduser().resolve()
        if not path.is_file():
            raise BenchError(f"--task {ref}: no file {path}; give a task spec (.toml), a task name or csv:FILE")
        name = _new_name(path.stem, ref)
        _load_file(name, str(path), path.stat().st_mtime_ns)  # read and checked now: an error names the file and the key
        _CSV.pop(name, None)
        _FILES[name] = path
        return name
    load_task(ref)  # an unknown name lists the choices
    return ref


def task_origin(name: str) -> dict[str, Any]:
    """Where task `name` comes from, as studies record it; empty for a shipped task."""
    if name in _shipped():
        return {}
    if name in _CSV:
        path = _CSV[name]
        return plugins.Origin(kind="csv", ref=f"csv:{path}", file=str(path), sha256=plugins.file_sha256(path)).to_attrs()
    path = _outside().get(name)
    if path is None:
        return {}
    if name in _ORIGINS and _FILES.get(name) is None:
        entry = _ORIGINS[name]
        return plugins.Origin(
            kind="entry-point", ref=entry.ref, module=entry.module, file=str(path), sha256=plugins.file_sha256(path),
            package=entry.package, version=entry.version,
        ).to_attrs()  # fmt: skip
    return plugins.Origin(kind="file", ref=str(path), file=str(path), sha256=plugins.file_sha256(path)).to_attrs()


def task_reference(name: str, origin: dict[str, Any] | None) -> str:
    """What `--task` takes to find task `name` again in a fresh process: its name, or its reference."""
    if origin and origin.get("kind") in ("file", "csv"):
        return str(origin["ref"])
    return name


def restore_task(name: str, origin: dict[str, Any] | None) -> None:
    """Make task `name` available in this process as a study recorded it (a worker process, `bench
    worker` on another machine, a reader of its results)."""
    if name in _shipped() or name in _CSV or name in _FILES:
        return
    if origin and origin.get("kind") in ("file", "csv"):
        use_task(str(origin["ref"]))


def csv_task(name: str, path: str | Path) -> Task:
    """A forecasting task over the series of a CSV or Parquet file, with no spec to write: the
    `csv` dataset's defaults (every numeric column an input and a target, window 24, horizon 1,
    chronological 60/20/20, scaled on train), RSE and CORR, persistence and train-mean baselines,
    the search space of the exchange-rate task. Change the data with --option (target=close,
    window=48, ...); write a spec with `[dataset] name = "csv"` for more."""
    return _csv_task(name, str(Path(path).resolve()))


@cache
def _csv_task(name: str, path: str) -> Task:
    raw = {
        "description": f"Series of {Path(path).name}: forecast from a window of past rows (csv dataset)",
        "output": "sequence-regression",
        "metric": "rse",
        "extra_metrics": ["corr"],
        "baselines": [{"name": "persistence"}, {"name": "train-mean"}],
        "dataset": {"name": "csv", "path": path},
        "budgets": {
            "smoke": {"trials": 2, "max_epochs": 2, "dataset": {"limit": 256}, "search": {"hidden_size": 16, "num_layers": 1}},
            "default": {"trials": 8, "max_epochs": 8},
            "paper": {"trials": 30, "max_epochs": 20, "seeds": 5},
        },
        "search": {
            "default": {
                "lr": {"low": 3e-4, "high": 1e-2, "log": True}, "hidden_size": {"low": 16, "high": 128, "log": True},
                "num_layers": {"choices": [1, 2]}, "dropout": {"low": 0.0, "high": 0.3},
                "gradient_clip": {"low": 0.5, "high": 10.0, "log": True}, "batch_size": {"choices": [32, 64, 128]},
                "residual": True,  # predict the change from each target's last value (see exchange-rate.toml)
            }
        },
    }  # fmt: skip
    task = _parse(name, raw, f"csv:{path}")
    _check_names(task, f"csv:{path}")
    return task
