"""Search spaces as data: each hyperparameter is a fixed value, a list of choices or a range.

In a task spec (TOML):
    lr = { low = 1e-4, high = 1e-2, log = true }   # float range (log-uniform with log = true)
    hidden_size = { low = 16, high = 128, log = true }  # int range: both bounds are integers
    batch_size = { choices = [32, 64, 128] }      # categorical
    num_layers = 1                                 # fixed, not searched
    momentum = { low = 0.01, high = 1.0, log = true, one_minus = true }  # 1 - log-uniform (Greff et al.)

With `one_minus`, Optuna samples `1-<name>` from the range and the run trains with 1 minus that
value, so a momentum close to 1 is searched on a log scale. `grid` values (used by the grid
sampler) are the choices, or the low, middle and high points of a range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchbench.errors import BenchError

if TYPE_CHECKING:
    import optuna

__all__ = ["Param", "grid", "parse_space", "suggest"]


@dataclass(frozen=True)
class Param:
    name: str
    fixed: Any = None  # the value when not searched
    choices: tuple | None = None
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    one_minus: bool = False  # sample 1 - value from the range (see the module docstring)

    @property
    def searched(self) -> bool:
        return self.choices is not None or self.low is not None

    @property
    def key(self) -> str:
        """The parameter's name in Optuna (what trials store and importances rank)."""
        return f"1-{self.name}" if self.one_minus else self.name

    def value(self, sampled: Any) -> Any:
        """The training value of a sampled one."""
        return 1 - sampled if self.one_minus else sampled

    def grid(self) -> list:
        """The values the grid sampler visits: every choice, or a range's low, middle and high."""
        if self.choices is not None:
            return list(self.choices)
        if self.low is None:
            return [self.fixed]
        points = [self.low, self._middle(), self.high]
        return list(dict.fromkeys(points))  # ordered, without repeats (e.g. an int range of width 1)

    def _middle(self) -> Any:
        middle = (self.low * self.high) ** 0.5 if self.log else (self.low + self.high) / 2
        return round(middle) if isinstance(self.low, int) and isinstance(self.high, int) else middle

    def centre(self) -> Any:
        """A value without search: the fixed value, the first choice, or the middle of the range
        (geometric middle when log-scaled)."""
        if self.choices is not None:
            return self.choices[0]
        if self.low is None:
            return self.fixed
        return self.value(self._middle())

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.low is None:
            return self.fixed
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.key, self.low, self.high, log=self.log, step=self.step or 1)
        return self.value(trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log, step=self.step))


def _parse(name: str, spec: Any, where: str) -> Param:
    if not isinstance(spec, dict):
        return Param(name, fixed=spec)
    if "choices" in spec:
        if set(spec) != {"choices"} or not isinstance(spec["choices"], list) or not spec["choices"]:
            raise BenchError(f"{where}: {name} = {{ choices = [...] }} takes a non-empty list and nothing else")
        return Param(name, choices=tuple(spec["choices"]))
    unknown = set(spec) - {"low", "high", "log", "step", "one_minus"}
    if unknown or "low" not in spec or "high" not in spec:
        raise BenchError(
            f"{where}: {name} must be a value, {{ choices = [...] }} or {{ low, high[, log][, step][, one_minus] }}, got {spec}"
        )
    low, high = spec["low"], spec["high"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) or low > high:
        raise BenchError(f"{where}: {name} needs numbers with low <= high, got low={low!r} high={high!r}")
    if spec.get("log") and low <= 0:
        raise BenchError(f"{where}: {name} is log-scaled, so low must be > 0 (got {low})")
    one_minus = bool(spec.get("one_minus", False))
    if one_minus and (isinstance(low, int) and isinstance(high, int)):
        raise BenchError(f"{where}: {name} with one_minus needs a float range, got low={low!r} high={high!r}")
    return Param(name, low=low, high=high, log=bool(spec.get("log", False)), step=spec.get("step"), one_minus=one_minus)


def parse_space(spec: dict[str, Any], *, where: str) -> dict[str, Param]:
    """Validate a `{name: value | choices | range}` table; errors name the file and the entry."""
    return {name: _parse(name, value, where) for name, value in spec.items()}


def suggest(trial: optuna.Trial, space: dict[str, Param]) -> dict[str, Any]:
    """Ask the trial for every searched value; fixed values come along as they are."""
    return {name: param.suggest(trial) for name, param in space.items()}


def grid(space: dict[str, Param]) -> dict[str, list]:
    """The grid sampler's search space: every searched parameter's grid values, by Optuna name."""
    return {param.key: param.grid() for param in space.values() if param.searched}
