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


def test_lazy_entries_load_on_first_get_and_registered_names_win():
    reg = Registry("widget")
    reg.register("a")(1)
    calls = []
    assert reg.add_lazy("b", lambda: calls.append("b") or 2)
    assert not reg.add_lazy("a", lambda: 99)  # a registered name is left as it is
    assert reg.names() == ["a", "b"] and "b" in reg and not reg.is_loaded("b") and calls == []
    assert reg.get("b") == 2 and reg.get("b") == 2 and calls == ["b"]  # loaded once
    assert reg.get("a") == 1
    with pytest.raises(ValueError, match="already registered"):
        reg.register("b")(3)


def test_a_broken_lazy_entry_fails_each_time_it_is_asked_for_and_stays_listed():
    reg = Registry("widget")

    def broken():
        raise BenchError("plugin 'c': ImportError: no module fancyops")

    reg.add_lazy("c", broken)
    reg.register("d")(4)
    for _ in range(2):
        with pytest.raises(BenchError, match="fancyops"):
            reg.get("c")
    assert reg.names() == ["d", "c"] and reg.get("d") == 4
