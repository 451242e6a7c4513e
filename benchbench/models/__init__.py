"""Recurrent backbones, one module per family; importing this package registers them all.

`create(name, ...)` is the one way to build a backbone: the CLI, the sweep and the tests use it.

Families from outside the package enter the same registry (benchbench/plugins.py says how): a
reference `use_model("my_cells.py:MinGRU")`, an installed package's entry point in the group
`benchbench.models` (listed at import, loaded on first use), or a module imported by `use_plugins`
that calls `MODELS.register`. Built-in names win: an entry point named like a built-in family is
reported once and left out. A family may declare, as attributes of its class or factory:

    search_space   hyperparameters in the task specs' syntax, over the task's `[search.default]`
    bidirectional  whether step t sees steps after t (a class attribute of Backbone)
    name           the name it is registered under when given by reference (default: lowercased)
"""

from __future__ import annotations

import inspect
from typing import Any

from benchbench import plugins
from benchbench.errors import BenchError
from benchbench.models import clockwork, convlstm, gru, lstm, rnn  # noqa: F401  (registration happens on import)
from benchbench.models._base import Backbone
from benchbench.models.registry import MODELS
from benchbench.registry import NAME, first_line

__all__ = [
    "MODELS", "Backbone", "create", "declared_space", "describe", "is_bidirectional", "model_origin", "restore_model",
    "use_model", "use_plugins",
]  # fmt: skip

BUILTIN = frozenset(MODELS.names())  # the families this package registers
_ORIGINS: dict[str, plugins.Origin] = {}  # family name -> where a family from outside came from
_IMPORTED: list[str] = []  # plugin modules imported in this process, in order


def create(
    name: str,
    *,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    step_shape: tuple[int, ...] | None = None,
    **options: Any,
) -> Backbone:
    """Build the backbone registered as `name`: (B, T, input_size) -> (B, T, output_size), state.

    `step_shape` is the shape of one step before flattening (e.g. (C, H, W) for frames); inputs are
    always flattened to input_size features. Only families whose factory takes a `step_shape`
    parameter (the convolutional ones) receive it; the others read the flat vector.
    """
    factory = MODELS.get(name)
    if step_shape is not None and "step_shape" in inspect.signature(factory).parameters:
        options["step_shape"] = tuple(step_shape)
    model = factory(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, **options)
    if not isinstance(model, Backbone):
        raise BenchError(
            f"model {name!r}: its factory returned a {type(model).__name__}, not a benchbench.models.Backbone; "
            "derive the module from Backbone (outputs (B, T, H) and a final state)"
        )
    return model


def describe() -> dict[str, str]:
    """Each registered family with the first line of its factory's docstring; a family from outside
    also names its origin, and a plugin that fails to load says why instead."""
    out = {}
    for name in MODELS:
        try:
            text = first_line(MODELS.get(name).__doc__)
        except BenchError as err:
            out[name] = f"(broken plugin) {err}"
            continue
        origin = _ORIGINS.get(name)
        if origin is not None:
            source = f"{origin.package} {origin.version}" if origin.package else origin.ref
            text = f"{text} [plugin: {source}]"
        out[name] = text
    return out


def is_bidirectional(name: str) -> bool:
    """Whether family `name` reads each sequence in both directions (built tiny to ask it)."""
    return bool(create(name, input_size=4, hidden_size=8).bidirectional)


def declared_space(name: str) -> dict[str, Any]:
    """The search space family `name` declares (`search_space` on its class or factory), parsed;
    empty when it declares none."""
    from benchbench.space import parse_space

    raw = getattr(MODELS.get(name), "search_space", None)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BenchError(f"model {name!r}: search_space must be a dict of hyperparameters, got {type(raw).__name__}")
    return parse_space(raw, where=f"model {name!r} search_space")


def _check_family(obj: Any, what: str) -> Any:
    """A family is a Backbone subclass or a factory (a function returning one)."""
    if isinstance(obj, type):
        if not issubclass(obj, Backbone):
            bases = ", ".join(b.__name__ for b in obj.__mro__[1:-1]) or "object"
            raise BenchError(
                f"{what}: class {obj.__name__} derives from {bases}, not benchbench.models.Backbone; "
                "derive it from Backbone or give a factory function"
            )
        return obj
    if not callable(obj):
        raise BenchError(f"{what}: {type(obj).__name__} is neither a Backbone subclass nor a factory function")
    return obj


def _name_of(obj: Any, ref: str) -> str:
    name = getattr(obj, "name", None)
    if not isinstance(name, str):
        name = ref.rpartition(":")[2].lower()
    if not NAME.fullmatch(name):
        raise BenchError(f"{ref}: {name!r} cannot name a family (letters, digits, _ . -); set a `name` attribute")
    return name


def use_model(ref: str) -> str:
    """The registered name of `ref`: a family name (an installed plugin's is loaded now), or a
    `file.py:Name` / `module:Name` reference, registered under the object's `name` (default: Name
    lowercased). A reference whose name a built-in family or another plugin holds is refused."""
    if not plugins.is_reference(ref):
        MODELS.get(ref)  # an unknown name lists the choices; a broken plugin says why
        return ref
    obj, origin = plugins.load_reference(ref)
    _check_family(obj, ref)
    name = _name_of(obj, ref)
    if name in MODELS:
        if name in BUILTIN:
            raise BenchError(f"{ref} is named {name!r}, a built-in family; give it another `name` attribute")
        held = _ORIGINS.get(name)
        if MODELS.is_loaded(name) and MODELS.get(name) is obj:  # the same reference again (modules are cached)
            return name
        raise BenchError(f"{ref} is named {name!r}, which {held.ref if held else 'another family'} already holds; give it another `name` attribute")
    MODELS.register(name)(obj)
    _ORIGINS[name] = origin
    return name


def use_plugins(modules: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Import the plugin modules of BENCH_PLUGINS and `modules` (--plugin), once each; the families
    they register are recorded as theirs. Returns every plugin module imported in this process."""
    for module in plugins.plugin_modules(modules):
        if module in _IMPORTED:
            continue
        before = set(MODELS.names())
        try:
            plugins.import_module(module, what=f"plugin {module}")
        except ValueError as err:  # MODELS.register of a taken name
            raise BenchError(f"plugin {module}: {err}; register it under another name") from None
        _IMPORTED.append(module)
        for name in set(MODELS.names()) - before:
            _ORIGINS[name] = plugins.module_origin("plugin", module, getattr(MODELS.get(name), "__module__", module))
    return list(_IMPORTED)


def model_origin(name: str) -> dict[str, Any]:
    """Where family `name` comes from, as studies record it; empty for a built-in family."""
    origin = _ORIGINS.get(name)
    return origin.to_attrs() if origin is not None else {}


def restore_model(name: str, origin: dict[str, Any] | None, modules: list[str] | tuple[str, ...] = ()) -> None:
    """Make family `name` available in this process as a study recorded it (a worker process, `bench
    worker` on another machine): its plugin modules imported, its reference loaded again."""
    if modules:
        use_plugins(modules)
    if name in MODELS or not origin:
        return
    recorded = plugins.Origin.from_attrs(origin)
    if recorded.kind == "reference":
        if use_model(recorded.ref) != name:
            raise BenchError(f"{recorded.ref} is no longer named {name!r}; the study was made with it under that name")
    elif recorded.kind == "plugin":
        use_plugins([recorded.ref])
    if name not in MODELS:
        where = f"; install {recorded.package} {recorded.version or ''}".rstrip() if recorded.package else ""
        raise BenchError(f"model {name!r} ({recorded.ref}) is not available on this machine{where}")


def _discover() -> None:
    """List the installed packages' families (entry points of `benchbench.models`), loaded on first use."""
    for ep in plugins.entry_points(plugins.MODEL_GROUP):

        def load(ep=ep):
            what = f"model plugin {ep.name!r} ({ep.value}{f', package {ep.dist.name}' if getattr(ep, 'dist', None) else ''})"
            try:
                obj = ep.load()
            except BenchError:
                raise
            except Exception as err:
                raise BenchError(f"{what}: {type(err).__name__}: {err}") from None
            _check_family(obj, what)
            _ORIGINS[ep.name] = plugins.entry_point_origin(ep)
            return obj

        if ep.name in MODELS:
            holder = "a built-in family" if ep.name in BUILTIN else "another plugin"
            plugins.notice(f"model plugin {ep.name!r} ({ep.value}) has the name of {holder}, which is used; rename the entry point")
            continue
        if not NAME.fullmatch(ep.name):
            plugins.notice(f"model plugin {ep.name!r} ({ep.value}): not a family name (letters, digits, _ . -); left out")
            continue
        MODELS.add_lazy(ep.name, load)
        _ORIGINS[ep.name] = plugins.Origin(kind="entry-point", ref=f"{ep.name} = {ep.value}", module=ep.module,
                                           package=ep.dist.name if getattr(ep, "dist", None) else None,
                                           version=ep.dist.version if getattr(ep, "dist", None) else None)  # fmt: skip


_discover()
