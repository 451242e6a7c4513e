"""One small generic registry: register by explicit name, get by name, list names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from benchbench.errors import BenchError, shown

__all__ = ["Registry", "first_line", "parse_names"]

T = TypeVar("T")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")  # a task or family name


def first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring, used as a one-line description."""
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


class Registry(Generic[T]):
    """Maps names to objects of one kind (model factories, datasets, metrics, ...).

    Registering a taken name raises; asking for an unknown name raises a `BenchError` that lists the
    valid choices, so the CLI can print it as is.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise BenchError(f"unknown {self.kind} {shown(name)}; choose one of: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


_EXAMPLES = {"--task": "adding,ptb"}  # the example of a malformed list, by flag (families otherwise)


def parse_names(text: str | None, *, flag: str) -> list[str] | None:
    """A comma-separated list of names (`lstm,gru`), or None for no filter; BenchError when malformed
    (an empty item, a space or a character no task or family name has)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    bad = next((name for name in names if not _NAME.fullmatch(name)), None)
    if bad is not None:
        raise BenchError(f"{flag} takes names separated by commas, e.g. {_EXAMPLES.get(flag, 'lstm,gru')}; got {shown(text)}")
    return names
