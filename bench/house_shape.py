"""The shape of the house: rooms and arrows (which part of ninja/ imports which), the import circles
between modules, and the longest functions. Run it on this tree and on another (a checkout of
main before a change) to see the before and after:

    .venv/bin/python bench/house_shape.py [--tree DIR] [--top 10]

A room is a package under ninja/ (tapped, makemore, cs231n, grade, cli) or `core` for the modules
directly in ninja/. An arrow A -> B (n) says modules of A import modules of B at n places, at the
top of a module or inside a function. Pure reading: nothing of the tree is imported.
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS) else "core"


ROOMS = {"tapped", "makemore", "cs231n", "grade", "cli"}


def imports(path: Path, module: str, known: set[str]) -> list[tuple[str, bool]]:
    """(imported ninja module, at the module's top level?) for each import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names
            ]
        for name in names:
            if name.split(".")[0] == "ninja" and name != module:
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                found.append((name, id(node) in top))
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import circles between modules."""
    found, seen = [], set()
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start and len(path) > 1:
                    key = frozenset(path)
                    if key not in seen:
                        seen.add(key)
                        found.append(path + [start])
                elif nxt not in path and len(path) < 6:
                    stack.append((nxt, path + [nxt]))
    return found


def functions(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.end_lineno - node.lineno + 1, f"{path}:{node.lineno} {node.name}")
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the source tree to read [default: this one]")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    package = args.tree / "ninja"
    files = {module_name(p, package): p for p in sorted(package.rglob("*.py")) if "_bundled" not in p.parts}
    arrows: Counter = Counter()
    edges: dict[str, set[str]] = {}
    core_to_tracks = set()
    for module, path in files.items():
        for target, _ in imports(path, module, set(files)):
            if room(module) != room(target):
                arrows[(room(module), room(target))] += 1
            if room(module) == "core" and room(target) in ("makemore", "cs231n"):
                core_to_tracks.add(f"{module} -> {target}")
            edges.setdefault(module, set()).add(target)
    print(f"rooms and arrows of {package} ({len(files)} modules):")
    for (a, b), n in sorted(arrows.items()):
        print(f"  {a:>8} -> {b:<8} ({n})")
    print("core modules that import a track:")
    for line in sorted(core_to_tracks):
        print(f"  {line}")
    circles = [c for c in cycles(edges) if len(c) <= 3]
    print(f"import circles between two modules (any import, lazy ones too): {len(circles)}")
    for circle in circles:
        print("  " + " -> ".join(circle))
    longest = sorted((f for p in files.values() for f in functions(p)), reverse=True)[: args.top]
    print(f"the {args.top} longest functions:")
    for lines, where in longest:
        print(f"  {lines:4d} lines  {where.replace(str(args.tree) + '/', '')}")


if __name__ == "__main__":
    main()
