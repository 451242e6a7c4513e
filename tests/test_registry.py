import pytest

from benchbench.errors import BenchError
from benchbench.registry import Registry, first_line


def test_register_get_and_names():
    reg = Registry("widget")
    reg.register("a")(1)
    reg.register("b")(2)
    assert reg.get("b") == 2
    assert reg.names() == ["a", "b"]
    assert "a" in reg and "c" not in reg


def test_taken_name_raises():
    reg = Registry("widget")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(2)


def test_unknown_name_lists_choices():
    reg = Registry("widget")
    reg.register("a")(1)
    reg.register("b")(2)
    with pytest.raises(BenchError, match=r"unknown widget 'c'; choose one of: a, b"):
        reg.get("c")


def test_first_line():
    assert first_line("\n  Hello there.\n\n  More.") == "Hello there."
    assert first_line(None) == ""
