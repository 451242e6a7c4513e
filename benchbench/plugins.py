"""Code and specs from outside the package: how a reference is loaded and where it came from.

Families and tasks enter through the same registries as the built-in ones (models/__init__.py and
tasks.py use this module), in three ways:

    a reference      `my_cells.py:MinGRU` (a file) or `mypkg.cells:MinGRU` (an importable module),
                     then the name of an object in it
    an entry point   an installed package declaring `[project.entry-points."benchbench.models"]`
                     (or `"benchbench.tasks"`); listed by name, loaded on first use
    a plugin module  `--plugin mypkg.cells` (env BENCH_PLUGINS, comma-separated): imported, and what
                     it registers counts

Every object loaded here carries an `Origin` (module, file, file sha256, package and version), which
studies record so that worker processes, `bench worker` on other machines and `bench show`'s rerun
command load the same code. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from benchbench.errors import BenchError

__all__ = [
    "MODEL_GROUP", "PLUGINS_ENV", "TASK_GROUP", "Origin", "entry_points", "file_sha256", "import_module",
    "is_reference", "load_reference", "module_origin", "notice", "plugin_modules",
]  # fmt: skip

MODEL_GROUP = "benchbench.models"  # entry points naming a family: a Backbone subclass or a factory
TASK_GROUP = "benchbench.tasks"  # entry points naming a task spec file, a folder of them, or a callable returning one
PLUGINS_ENV = "BENCH_PLUGINS"  # modules to import, comma-separated, as --plugin
_NOTICED_ENV = "BENCH_PLUGIN_NOTICES"  # lines already printed by this process or its parent


@dataclass(frozen=True)
class Origin:
    """Where a family or task from outside the package comes from; stored with every study."""

    kind: str  # "reference" (file.py:Name or module:Name), "entry-point", "plugin" (a --plugin module), "file", "csv"
    ref: str  # what loads it again: the reference, `name = module:attr`, the module, or the spec's path
    module: str | None = None  # the module the object is defined in
    file: str | None = None  # that module's (or the spec's) file
    sha256: str | None = None  # of that file, as it was when loaded
    package: str | None = None  # the installed distribution providing it
    version: str | None = None  # its version

    def to_attrs(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> Origin:
        return cls(**{k: attrs.get(k) for k in cls.__dataclass_fields__})


def file_sha256(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _distribution(module: str) -> tuple[str | None, str | None]:
    """(distribution, version) that installs top-level package of `module`, when one does."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    names = packages_distributions().get(module.split(".")[0], [])
    for name in names:
        try:
            return name, version(name)
        except PackageNotFoundError:
            continue
    return None, None


def module_origin(kind: str, ref: str, module_name: str | None) -> Origin:
    module = sys.modules.get(module_name or "")
    path = getattr(module, "__file__", None)
    package, version = _distribution(module_name) if module_name and not module_name.startswith("_benchbench_user") else (None, None)
    return Origin(
        kind=kind, ref=ref, module=module_name, file=str(Path(path).resolve()) if path else None,
        sha256=file_sha256(path) if path else None, package=package, version=version,
    )  # fmt: skip


def is_reference(text: str) -> bool:
    """Whether `text` is a `file.py:Name` or `module:Name` reference rather than a registered name."""
    return ":" in text


def _file_module(path: Path, ref: str):
    """Import a Python file as a module of its own (named after its path, so the same file imported
    twice in one process is one module)."""
    if not path.is_file():
        raise BenchError(f"{ref}: no file {path}; give an existing path.py:Name or an importable module:Name")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_benchbench_user_{path.stem.replace('-', '_')}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BenchError(f"{ref}: {path} cannot be imported as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's code: any error is theirs, said in one line
        del sys.modules[name]
        raise BenchError(f"{ref}: importing {path} failed: {type(err).__name__}: {err}") from None
    return module


def import_module(name: str, *, what: str):
    """Import module `name`; its failure is one line naming `what` asked for it."""
    try:
        return importlib.import_module(name)
    except BenchError:
        raise
    except Exception as err:
        hint = "; is it installed, or on PYTHONPATH?" if isinstance(err, ModuleNotFoundError) else ""
        raise BenchError(f"{what}: importing {name} failed: {type(err).__name__}: {err}{hint}") from None


def load_reference(ref: str) -> tuple[Any, Origin]:
    """The object a `path.py:Name` or `module:Name` reference names, and its origin."""
    where, sep, attr = ref.rpartition(":")
    if not sep or not where or not attr.isidentifier():
        raise BenchError(f"{ref!r} is not a reference; write path/to/file.py:Name or package.module:Name")
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = Path(where).expanduser().resolve()
        module = _file_module(path, ref)
        ref = f"{path}:{attr}"  # absolute: a worker or a rerun elsewhere in the tree finds the same file
    else:
        module = import_module(where, what=ref)
    if not hasattr(module, attr):
        public = sorted(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise BenchError(f"{ref}: {where} has no {attr!r}; it defines: {', '.join(public) or 'nothing callable'}")
    return getattr(module, attr), module_origin("reference", ref, module.__name__)


@cache
def entry_points(group: str) -> tuple[Any, ...]:
    """The installed entry points of `group`, read once per process (nothing is imported)."""
    from importlib.metadata import entry_points as installed

    return tuple(sorted(installed(group=group), key=lambda ep: ep.name))


def entry_point_origin(ep: Any) -> Origin:
    dist = getattr(ep, "dist", None)
    module = sys.modules.get(ep.module)
    path = getattr(module, "__file__", None)
    return Origin(
        kind="entry-point", ref=f"{ep.name} = {ep.value}", module=ep.module, file=str(Path(path).resolve()) if path else None,
        sha256=file_sha256(path) if path else None, package=dist.name if dist else None, version=dist.version if dist else None,
    )  # fmt: skip


def plugin_modules(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The modules of BENCH_PLUGINS (comma-separated) and then `extra` (--plugin), in order, once each."""
    from_env = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    return list(dict.fromkeys([*from_env, *extra]))


def notice(line: str) -> None:
    """Print a warning line on stderr once: once per process and its worker processes (which
    inherit the environment that remembers it)."""
    seen = os.environ.get(_NOTICED_ENV, "")
    key = hashlib.sha256(line.encode()).hexdigest()[:10]
    if key in seen.split(","):
        return
    os.environ[_NOTICED_ENV] = f"{seen},{key}" if seen else key
    print(f"warning: {line}", file=sys.stderr)
