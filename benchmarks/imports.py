"""The package's import graph, checked: every import between benchbench's modules (at module level and
inside functions), whether any module imports from a layer above its own (or across between sweep and
analysis), and whether any cycle remains. Prints the layers' sizes; exits 1 on a violation.

    python benchmarks/imports.py
"""

from __future__ import annotations

import ast
import collections
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "benchbench"
# base (errors, registry, tasks, models, data, training, ...) < store < sweep | analysis < render < cli
RANK = {"base": 0, "store": 1, "sweep": 2, "analysis": 2, "render": 3, "cli": 4}


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in ("store", "sweep", "analysis", "render"):
        return parts[1]
    return "cli" if name in ("benchbench.cli", "benchbench.dashboard") else "base"


def edges(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = collections.defaultdict(set)
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("benchbench"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    out[name].add(candidate if candidate in mods else node.module)
            elif isinstance(node, ast.Import):
                out[name].update(a.name for a in node.names if a.name.startswith("benchbench"))
    return out


def cycles(graph: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index and w in nodes:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in nodes:
        if v not in index:
            visit(v)
    return found


def main() -> int:
    mods = modules()
    graph = edges(mods)
    bad = sorted(
        (a, b)
        for a in graph
        for b in graph[a]
        if b in mods and a != b and (RANK[layer(b)] > RANK[layer(a)] or {layer(a), layer(b)} == {"sweep", "analysis"})
    )
    loops = cycles(graph, sorted(mods))
    sizes = collections.Counter()
    for name, path in mods.items():
        sizes[layer(name)] += len(path.read_text().splitlines())
    print("lines per layer:", ", ".join(f"{k} {sizes[k]}" for k in RANK))
    print(f"{sum(len(v) for v in graph.values())} imports between {len(mods)} modules")
    print("imports from a layer above (or between sweep and analysis):", bad or "none")
    print("cycles:", loops or "none")
    return 1 if bad or loops else 0


if __name__ == "__main__":
    sys.exit(main())
