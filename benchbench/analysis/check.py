"""Regression checks: save the leaderboard's numbers as a regression baseline file, compare later
results against it. (Not to be confused with a task's naive baselines, which are predictors.)

A regression baseline file is a JSON file (docs/results.md, "Baseline JSON") with one cell per task x budget x
family: the metric and its direction, the value (the test mean over seeds, else the single test
value), the test value of each evaluation seed (version 2) and a tolerance. `bench check` recomputes
every cell from the results folder and asks for evidence before it cries regression:

- where both the baseline and the results have two or more seeds of a cell, the cell has *regressed*
  when a one-sided Welch t-test says the new seeds are worse (on log values for a metric positive by
  nature: a ratio is what moves), at level ALPHA after Holm's correction across every cell tested,
  AND the mean moved the bad way by more than the tolerance (the practical margin: a significant
  0.1% drift is no regression). A rerun that reproduces the saved seeds bit for bit passes at once.
  Seed noise alone then raises a false alarm on at most ALPHA of the checks, whatever the cell's
  spread; a fixed percentage cried wolf on the noisy cells and missed a real regression on the
  quiet ones (benchmarks/check_power.py measures both rules);
- elsewhere (a naive baseline, a single seed, a version 1 file without per-seed values) the cell has
  regressed when it moved the bad way by more than its tolerance, the rule of version 1.

Moving the good way is fine (`improved` when beyond the tolerance, and by the mirrored test where
there are seeds).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.analysis.frame import matches, read
from benchbench.analysis.leaderboard import leaderboard, positive
from benchbench.errors import BenchError
from benchbench.stats import holm, worse
from benchbench.store.storage import StorageSpec
from benchbench.tasks import DEFAULT_TOLERANCE, as_tolerance

__all__ = [
    "ALPHA", "DEFAULT_TOLERANCE", "FORMAT", "IDENTICAL", "TEST", "TOLERANCE", "VERSION", "Cell", "judge", "Comparison", "Outcome", "check_results", "load_baseline",
    "IMPROVED", "MISSING", "OK", "REGRESSED", "parse_tolerance", "save_baseline", "select",
]  # fmt: skip

FORMAT = "benchbench-baseline"  # the file's `format`, so that any other JSON is refused at once
VERSION = 2  # 2 adds each cell's per-seed test values (`seeds`); version 1 files still load
READABLE = (1, 2)
OK, IMPROVED, REGRESSED, MISSING = "ok", "improved", "REGRESSED", "missing"
ALPHA = 0.05  # the level of the one-sided test, after Holm's correction across the cells tested
TEST, TOLERANCE, IDENTICAL = "test", "tolerance", "identical"  # the rule that decided a cell


@dataclass(frozen=True)
class Cell:
    """One task x budget x family of a baseline."""

    task: str  # with changed dataset options, e.g. electricity[horizon=24]
    budget: str
    model: str
    metric: str
    direction: str  # minimize | maximize
    units: str
    value: float  # test mean over seeds, or the single test value
    n_seeds: int  # test values behind `value`
    tolerance: dict[str, float]  # {"relative": r} or {"absolute": a}
    kind: str = "model"  # model (a family's result) or baseline (a naive baseline's, computed)
    ci_low: float | None = None  # 95% interval over seeds (on log values for a positive metric), when there are seeds
    ci_high: float | None = None
    wall_time: float | None = None  # seconds the cell's search and evaluation took
    seeds: list[float] | None = None  # the test value of each evaluation seed (version 2; None in version 1)
    ci_scale: str | None = None  # log or linear: how ci_low/ci_high were computed (version 2)

    @property
    def name(self) -> str:
        return f"{self.task}/{self.model}/{self.budget}" + (" (naive)" if self.kind == "baseline" else "")

    @property
    def allowed(self) -> float:
        """How far the value may move the bad way before it counts as a regression."""
        ((kind, amount),) = self.tolerance.items()
        return amount * abs(self.value) if kind == "relative" else amount


def parse_tolerance(text: str) -> dict[str, float]:
    """`relative=0.05` or `absolute=0.01` as a tolerance; BenchError otherwise."""
    kind, _, amount = text.partition("=")
    try:
        tolerance = as_tolerance({kind.strip(): float(amount)})
    except ValueError:
        tolerance = None
    if tolerance is None:
        raise BenchError(
            f"--tolerance takes relative=R or absolute=A with a number >= 0, e.g. relative=0.05; got {text!r}"
        )
    return tolerance


def _value(row: pd.Series) -> float | None:
    """The number a cell compares: the test mean over seeds, else the single test value."""
    for key in ("test_mean", "test"):
        value = row[key]
        if value is not None and value is not pd.NA and isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    return None


def _seed_values(per_seed: dict[tuple[str, str, str], dict[int, float]], row: pd.Series) -> list[float] | None:
    """The test values of a row's evaluation seeds, in seed order; None for a naive baseline or a row
    without an evaluation over seeds."""
    values = per_seed.get((row["task"], row["budget"], row["model"]))
    return [values[seed] for seed in sorted(values)] if values else None


def _optional(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _scale(raw: Any) -> str | None:
    """How an interval was computed (log or linear); None for anything else (no interval, NaN)."""
    return raw if raw in ("log", "linear") else None


def _valid_tolerance(raw: Any) -> bool:
    return as_tolerance(raw) is not None


def save_baseline(
    where: StorageSpec | Path,
    out: Path,
    *,
    task: str | None = None,
    model: list[str] | None = None,
    tolerance: dict[str, float] | None = None,
    update: bool = False,
) -> list[Cell]:
    """Write the current results of a storage as a baseline to `out` (atomically) and return the
    cells taken from the storage. Each cell's tolerance is `tolerance` when given, else its study's
    (from the task spec's `[check] tolerance`), else DEFAULT_TOLERANCE. With `update`, `out` keeps
    its other cells: a cell of the same task, budget and family is replaced where it stood, a new
    one is added at the end (one task of a matrix rerun, the rest of the file untouched)."""
    from benchbench import __version__
    from benchbench.atomic import write_text_atomic

    store = StorageSpec.of(where)
    results = read(store, task=task, model=model, strict=True)
    frame = leaderboard(results)
    per_seed = results.evaluation_seeds(frame) if not frame.empty else {}
    cells = []
    for _, row in frame.iterrows():
        value = _value(row)
        if value is None:  # no finished trial yet: nothing to hold later results to
            continue
        own = row["tolerance"] if _valid_tolerance(row["tolerance"]) else DEFAULT_TOLERANCE
        cells.append(
            Cell(
                task=row["task"], budget=row["budget"], model=row["model"], metric=row["metric"],
                direction=row["direction"], units=row["units"] or "", value=value, n_seeds=int(row["n_seeds"]),
                tolerance={k: float(v) for k, v in (tolerance or own).items()}, kind=row["kind"],
                ci_low=_optional(row["test_ci_low"]), ci_high=_optional(row["test_ci_high"]),
                wall_time=_optional(row["wall_time"]), ci_scale=_scale(row["test_ci_scale"]),
                seeds=_seed_values(per_seed, row),
            )
        )  # fmt: skip
    if not cells:
        raise BenchError(f"no finished results in {store.label} to save as a baseline; run `bench run` first")
    kept = _load(out)[1] if update and out.exists() else []
    fresh = {(c.task, c.budget, c.model, c.kind): c for c in cells}
    merged = [fresh.pop((c.task, c.budget, c.model, c.kind), c) for c in kept] + list(fresh.values())
    document = {
        "format": FORMAT,
        "version": VERSION,
        "provenance": {"benchbench": __version__, "created": datetime.now(UTC).isoformat(timespec="seconds")},
        "cells": [asdict(cell) for cell in merged],
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out, json.dumps(document, indent=2) + "\n")
    except OSError as err:
        raise BenchError(f"cannot write baseline {out} ({err.strerror}); pass --out FILE") from None
    return cells


_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "task": (str, "a string"),
    "budget": (str, "a string"),
    "model": (str, "a string"),
    "metric": (str, "a string"),
    "direction": (str, "minimize or maximize"),
    "units": (str, "a string"),
    "value": ((int, float), "a finite number"),
    "n_seeds": (int, "an integer"),
    "tolerance": (dict, '{"relative": R} or {"absolute": A}'),
}


def load_baseline(path: Path) -> list[Cell]:
    """The cells of a baseline file (version 1 or 2); BenchError (one line) when it is missing, not
    JSON or not a baseline."""
    return _load(path)[1]


def _load(path: Path) -> tuple[int, list[Cell]]:
    """(version, cells) of a baseline file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchError(f"baseline {path} does not exist; create it with `bench baseline save --out {path}`") from None
    except OSError as err:
        raise BenchError(f"cannot read baseline {path} ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise BenchError(f"baseline {path} is not valid JSON (not UTF-8 text at byte {err.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise BenchError(f"baseline {path} is not valid JSON (line {err.lineno}: {err.msg})") from None

    def wrong(what: str) -> BenchError:
        return BenchError(f"baseline {path} is not a {FORMAT} file version {' or '.join(map(str, READABLE))}: {what}")

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise wrong(f'expected an object with "format": "{FORMAT}"')
    version = document.get("version")
    if version not in READABLE or isinstance(version, bool):
        raise wrong(f"unsupported version {version!r}")
    raw_cells = document.get("cells")
    if not isinstance(raw_cells, list) or not raw_cells:
        raise wrong('"cells" must be a non-empty list')
    cells = []
    for i, raw in enumerate(raw_cells):
        if not isinstance(raw, dict):
            raise wrong(f"cells[{i}] must be an object")
        for key, (types, expected) in _FIELDS.items():
            value = raw.get(key)
            ok = isinstance(value, types) and not isinstance(value, bool)
            ok = ok and {
                "direction": lambda v: v in ("minimize", "maximize"),
                "value": math.isfinite,
                "n_seeds": lambda v: v >= 0,
                "tolerance": _valid_tolerance,
            }.get(key, lambda v: True)(value)
            if not ok:
                raise wrong(f"cells[{i}].{key} must be {expected}, got {value!r}")
        kind = raw.get("kind", "model")  # files written before naive baselines have model cells only
        if kind not in ("model", "baseline"):
            raise wrong(f"cells[{i}].kind must be model or baseline, got {kind!r}")
        extra = {key: _optional(raw.get(key)) for key in ("ci_low", "ci_high", "wall_time")}  # optional figures
        seeds = raw.get("seeds") if version >= 2 else None
        if seeds is not None and not (
            isinstance(seeds, list) and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in seeds)
        ):
            raise wrong(f"cells[{i}].seeds must be a list of finite numbers or null, got {seeds!r}")
        cells.append(Cell(**{key: raw[key] for key in _FIELDS}, kind=kind, **extra, seeds=seeds, ci_scale=_scale(raw.get("ci_scale"))))
    return version, cells


@dataclass(frozen=True)
class Comparison:
    """A baseline cell against its value now (None when the results hold none)."""

    cell: Cell
    now: float | None
    n_seeds: int | None
    status: str  # ok | improved | REGRESSED | missing
    rule: str = TOLERANCE  # what decided: test (seeds on both sides), tolerance, or identical (the same seeds)
    p_value: float | None = None  # one-sided p that the new seeds are worse (rule `test`)
    p_holm: float | None = None  # the same after Holm's correction across the cells tested

    @property
    def delta(self) -> float | None:
        return None if self.now is None else self.now - self.cell.value

    def change(self) -> str:
        """The signed change, relative (`+12%`) unless the baseline is 0."""
        if self.delta is None:
            return "—"
        if self.delta == 0:
            return "0%"  # reproduced exactly
        if self.cell.value == 0:
            return f"{self.delta:+.4g}"
        percent = 100 * self.delta / abs(self.cell.value)
        return f"{percent:+.0f}%" if abs(percent) >= 10 else f"{percent:+.1f}%"

    def tolerance(self) -> str:
        ((kind, amount),) = self.cell.tolerance.items()
        return f"{100 * amount:g}%" if kind == "relative" else f"±{amount:g}"

    def describe(self) -> str:
        """E.g. `adding/lstm/smoke mse 0.001 -> 0.02 (+1900%, tolerance 10%, Holm p=0.003)`."""
        now = "—" if self.now is None else f"{self.now:.4g}"
        change = f"{self.change()}, tolerance {self.tolerance()}"
        if self.p_holm is not None:
            change += f", one-sided Welch Holm p={self.p_holm:.2g}"
        return f"{self.cell.name} {self.cell.metric} {self.cell.value:.4g} -> {now} ({change})"


def _moved(cell: Cell, now: float) -> float:
    """How far the value moved the bad way (< 0: the good way)."""
    return now - cell.value if cell.direction == "minimize" else cell.value - now


def _status(cell: Cell, now: float) -> str:
    """The rule of version 1: beyond the tolerance is a regression, whatever the seeds' spread."""
    moved = _moved(cell, now)
    if moved > cell.allowed:
        return REGRESSED
    return IMPROVED if -moved > cell.allowed else OK


@dataclass(frozen=True)
class Outcome:
    """Every baseline cell compared; what `bench check` prints and exits with."""

    baseline: Path
    results: str  # where the results were read: the storage's label
    comparisons: list[Comparison]
    version: int = VERSION  # of the baseline file

    @property
    def note(self) -> str:
        """One line on the rule the cells were checked by."""
        tested = sum(c.rule in (TEST, IDENTICAL) for c in self.comparisons)
        if self.version < 2:
            return (
                f"baseline {self.baseline} is version {self.version} (no per-seed values): every cell checked by the "
                f"fixed tolerance alone; save it again with `bench baseline save` to check by evidence"
            )
        rule = (
            f"{tested} of {len(self.comparisons)} cells checked by evidence: a cell regressed when a one-sided Welch t-test "
            f"(on log values for positive metrics) says worse at p < {ALPHA} after Holm over the {tested} cells AND the "
            f"change is beyond the tolerance"
        )
        rest = len(self.comparisons) - tested
        return rule + (f"; {rest} without two seeds on each side by the tolerance alone" if rest else "")

    @property
    def regressed(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.status == REGRESSED]

    @property
    def missing(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.status == MISSING]

    def missing_error(self) -> BenchError:
        names = ", ".join(c.cell.name for c in self.missing)
        return BenchError(
            f"no result in {self.results} for {names} (in baseline {self.baseline}); "
            "run it again or save a new baseline with `bench baseline save`"
        )

    def regressed_line(self) -> str:
        return "regressed: " + "; ".join(c.describe() for c in self.regressed)


def select(cells: list[Cell], baseline: Path, *, task: list[str] | None = None, model: list[str] | None = None) -> list[Cell]:
    """The baseline cells of these tasks (and their variants) and families (a task's naive baselines
    stay with it, as in the leaderboard): a rerun of part of a matrix is checked against its part.
    BenchError naming what the file holds when a name matches none of its cells (a typo would
    otherwise check nothing and pass)."""
    families = [c for c in cells if c.kind == "model"]
    for name in task or ():
        if not any(matches(c.task, [name]) for c in cells):
            raise BenchError(f"baseline {baseline} holds no cell of task {name!r}; it holds: {', '.join(sorted({c.task for c in cells}))}")
    for name in model or ():
        if not any(c.model == name for c in families):
            raise BenchError(f"baseline {baseline} holds no cell of family {name!r}; it holds: {', '.join(sorted({c.model for c in families}))}")
    kept = [c for c in cells if matches(c.task, task)]
    return [c for c in kept if model is None or c.kind != "model" or c.model in model]


def check_results(
    baseline: Path, where: StorageSpec | Path, *, task: list[str] | None = None, model: list[str] | None = None
) -> Outcome:
    """Compare the results in a storage with the baseline file (only its cells of `task` and `model`
    when given: `select`); BenchError on a bad baseline file, on a name the file does not hold, on
    results that hold none of it, or on a cell whose metric changed."""

    version, cells = _load(baseline)
    cells = select(cells, baseline, task=task, model=model)
    store = StorageSpec.of(where)
    results = read(store)
    frame = leaderboard(results)
    if frame.empty:
        raise BenchError(
            f"no results in {store.label}; the baseline {baseline} expects {len(cells)} (e.g. {cells[0].name})"
        )
    rows = {(row["task"], row["budget"], row["model"], row["kind"]): row for _, row in frame.iterrows()}
    per_seed = results.evaluation_seeds(frame)
    comparisons: list[Comparison] = []
    for cell in cells:
        row = rows.get((cell.task, cell.budget, cell.model, cell.kind))
        now = None if row is None else _value(row)
        if now is None:
            comparisons.append(Comparison(cell, None, None, MISSING))
            continue
        if (row["metric"], row["direction"]) != (cell.metric, cell.direction):
            raise BenchError(
                f"{cell.name}: the baseline measures {cell.metric} ({cell.direction}), the results now "
                f"{row['metric']} ({row['direction']}); save a new baseline with `bench baseline save`"
            )
        comparisons.append(_compared(cell, now, int(row["n_seeds"]), _seed_values(per_seed, row) or []))
    return Outcome(baseline, store.label, _decide(comparisons), version)


def _compared(cell: Cell, now: float, n_seeds: int, seeds: list[float]) -> Comparison:
    """One cell before the correction across cells: identical seeds, the test's one-sided p, or the
    tolerance rule where a side has fewer than two seeds."""
    if cell.seeds and sorted(cell.seeds) == sorted(seeds):  # reproduced bit for bit
        return Comparison(cell, now, len(seeds), OK, rule=IDENTICAL, p_value=1.0)
    if cell.seeds and len(cell.seeds) >= 2 and len(seeds) >= 2:
        p = worse(cell.seeds, seeds, direction=cell.direction, positive=positive(cell.metric))
        return Comparison(cell, now, len(seeds), OK, rule=TEST, p_value=p)
    return Comparison(cell, now, n_seeds, _status(cell, now))


def judge(cells: list[Cell], seeds: list[list[float]]) -> list[Comparison]:
    """Each cell against the test values of its new seeds (its value now: their mean), by the rule
    `bench check` applies, Holm's correction across these cells included. What benchmarks/check_power.py
    and the tests simulate reruns with."""
    return _decide([_compared(c, math.fsum(s) / len(s), len(s), list(s)) for c, s in zip(cells, seeds, strict=True)])


def _decide(comparisons: list[Comparison]) -> list[Comparison]:
    """Holm's correction across the cells decided by the test, then each one's status: REGRESSED
    where the corrected p < ALPHA and the mean moved the bad way beyond the tolerance; IMPROVED where
    it moved the good way beyond the tolerance and the mirrored one-sided p (uncorrected: an
    improvement raises no alarm) < ALPHA."""
    tested = [i for i, c in enumerate(comparisons) if c.rule in (TEST, IDENTICAL)]
    adjusted = holm([comparisons[i].p_value for i in tested])
    out = list(comparisons)
    for i, p_holm in zip(tested, adjusted):
        c = comparisons[i]
        if c.rule == IDENTICAL:
            out[i] = Comparison(c.cell, c.now, c.n_seeds, OK, rule=IDENTICAL, p_value=1.0, p_holm=p_holm)
            continue
        moved = _moved(c.cell, c.now)  # type: ignore[arg-type]
        status = OK
        if p_holm is not None and p_holm < ALPHA and moved > c.cell.allowed:
            status = REGRESSED
        elif c.p_value is not None and 1.0 - c.p_value < ALPHA and -moved > c.cell.allowed:
            status = IMPROVED  # a continuous t statistic: P(better) = 1 - P(worse)
        out[i] = Comparison(c.cell, c.now, c.n_seeds, status, rule=TEST, p_value=c.p_value, p_holm=p_holm)
    return out
