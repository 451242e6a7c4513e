"""One small generic registry: register by explicit name, get by name, list names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from benchbench.errors import BenchError, shown

__all__ = ["NAME", "Registry", "first_line", "parse_names"]

T = TypeVar("T")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")  # a task or family name


def first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring, used as a one-line description."""
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


class Registry(Generic[T]):
    """Maps names to objects of one kind (model factories, datasets, metrics, ...).

    Registering a taken name raises; asking for an unknown name raises a `BenchError` that lists the
    valid choices, so the CLI can print it as is. A lazy entry (`add_lazy`, e.g. an installed plugin's
    entry point) is listed by name and loaded on its first `get`: a loader that fails breaks only the
    callers that ask for that name.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, Callable[[], T]] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorator

    def add_lazy(self, name: str, load: Callable[[], T]) -> bool:
        """List `name` now and call `load()` for its object on the first `get(name)`; a name already
        taken is left as it is (registered names win) and False is returned."""
        if name in self:
            return False
        self._lazy[name] = load
        return True

    def get(self, name: str) -> T:
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            obj = self._lazy[name]()  # raises for a broken entry; it stays listed for the next caller
            del self._lazy[name]
            self._items[name] = obj
            return obj
        raise BenchError(f"unknown {self.kind} {shown(name)}; choose one of: {', '.join(self.names())}")

    def is_loaded(self, name: str) -> bool:
        """Whether `name` is registered and, if lazy, already loaded."""
        return name in self._items

    def names(self) -> list[str]:
        return [*self._items, *(name for name in self._lazy if name not in self._items)]

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


_EXAMPLES = {"--task": "adding,ptb"}  # the example of a malformed list, by flag (families otherwise)


def parse_names(text: str | None, *, flag: str) -> list[str] | None:
    """A comma-separated list of names (`lstm,gru`), or None for no filter; BenchError when malformed
    (an empty item, a space or a character no task or family name has)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    bad = next((name for name in names if not NAME.fullmatch(name)), None)
    if bad is not None:
        raise BenchError(f"{flag} takes names separated by commas, e.g. {_EXAMPLES.get(flag, 'lstm,gru')}; got {shown(text)}")
    return names
