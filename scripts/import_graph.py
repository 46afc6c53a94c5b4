"""The import graph of ninja/, read from the source with ast (every import, those inside functions
too), and the rules of the house (DESIGN.md) it must keep. `python scripts/import_graph.py` prints
the counts: modules, import arrows, arrows from a track to the core and from the core to a track,
and each broken rule. tests/test_house.py asserts the rules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ninja"
TRACKS = ("makemore", "cs231n", "gpt")
# the pure engine, its results, and what it derives from a tapped model (DESIGN.md, "Shape of the code")
ENGINE = ("ninja.engine", "ninja.results", "ninja.tapped.model", "ninja.tapped.blame", "ninja.tapped.diagnose",
          "ninja.tapped.roles")  # fmt: skip
# what runs a learner's code, or prints: the engine imports none of it
RUNS_OR_PRINTS = (
    "ninja.cli", "ninja.runner", "ninja.render", "ninja.watch", "ninja.notebook", "ninja.grade", "ninja.hint",
    "ninja.workspace", "ninja.forked", "ninja.registry", "ninja.tapped.exercise", "ninja.tapped.files",
    "ninja.tapped.learner", "ninja.watchdog", "rich", "typer", "subprocess", "multiprocessing",
)  # fmt: skip


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py")) if "_bundled" not in p.parts}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """Every module `path` (module `name`) imports: ninja's modules by their full name, others by their top name."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name if a.name.startswith("ninja") else a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = absolute(node, name, is_package)
            if not base.startswith("ninja"):
                found.add(base.split(".")[0])
                continue
            for alias in node.names:  # `from ninja.cs231n import layers` imports the module ninja.cs231n.layers
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return found - {name, "__future__"}


def absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    package = parts if is_package else parts[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the modules it imports (ninja's own, and the top names of everything else)."""
    found = modules(package)
    return {name: imported(path, name, set(found)) for name, path in found.items()}


def track_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "ninja" and parts[1] in TRACKS else None


def within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def broken_rules(edges: dict[str, set[str]]) -> list[str]:
    """Each import that breaks a rule of the house, as 'importer -> imported: the rule'."""
    broken = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            why = rule_broken(source, target)
            if why:
                broken.append(f"{source} -> {target}: {why}")
    return broken


def rule_broken(source: str, target: str) -> str | None:
    if within(target, ("ninja.cli",)) and not within(source, ("ninja.cli", "ninja.launch", "ninja.__main__")):
        return "nothing imports the cli"
    here, there = track_of(source), track_of(target)
    if here and there and here != there:
        return "a track never imports another track"
    if there and not here and source != "ninja.registry":
        return "the core imports a track only through ninja/registry.py"
    if within(source, ENGINE) and within(target, RUNS_OR_PRINTS):
        return "the engine imports nothing that runs or prints"
    return None


def counts(edges: dict[str, set[str]]) -> dict[str, int]:
    ours = {(s, t) for s, targets in edges.items() for t in targets if t.startswith("ninja")}
    return {
        "modules": len(edges),
        "arrows": len(ours),
        "track -> core": sum(1 for s, t in ours if track_of(s) and not track_of(t)),
        "core -> track": sum(1 for s, t in ours if not track_of(s) and track_of(t)),
        "track -> another track": sum(1 for s, t in ours if track_of(s) and track_of(t) and track_of(s) != track_of(t)),
    }


def circles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of modules that import each other directly (a track's own included)."""
    return sorted((a, b) for a, targets in edges.items() for b in targets if a < b and a in edges.get(b, ()))


if __name__ == "__main__":
    package = Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE
    edges = graph(package)
    for key, value in counts(edges).items():
        print(f"{key}: {value}")
    for a, b in circles(edges):
        print(f"circle: {a} <-> {b}")
    for line in broken_rules(edges):
        print(f"broken: {line}")
