"""DESIGN.md's rules of the house, read from ninja/'s imports with ast (scripts/import_graph.py):
a track imports the core and never another track; the core imports a track only through
ninja/registry.py; the engine imports nothing that runs or prints; nothing imports the cli."""

import ast
import importlib.util
import sys

import pytest
from conftest import ROOT


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and annotations look their module up
    spec.loader.exec_module(module)
    return module


graph = load_script("import_graph")
EDGES = graph.graph()


def broken(rule: str) -> list[str]:
    return [line for line in graph.broken_rules(EDGES) if line.endswith(rule)]


def test_the_graph_is_read_from_every_module_and_finds_lazy_imports():
    assert {"ninja.cli", "ninja.cli.check", "ninja.registry", "ninja.makemore.exercise1", "ninja.cs231n.layers"} <= set(
        EDGES
    )
    assert "ninja.notebook" in EDGES["ninja.cli.base"]  # imported inside check_file, not at the top
    assert "ninja.cs231n.layers" in EDGES["ninja.registry"]  # `from ninja.cs231n import layers` names the module


def test_a_track_imports_the_core_and_never_another_track():
    assert broken("a track never imports another track") == []
    assert any(graph.track_of(s) and not graph.track_of(t) for s, ts in EDGES.items() for t in ts)


def test_the_core_imports_a_track_only_through_the_registry():
    assert broken("the core imports a track only through ninja/registry.py") == []


def test_the_engine_imports_nothing_that_runs_or_prints_and_prints_nothing():
    assert broken("the engine imports nothing that runs or prints") == []
    modules = graph.modules()
    for name in graph.ENGINE:
        if name in modules:
            calls = ast.walk(ast.parse(modules[name].read_text(encoding="utf-8")))
            assert not [c for c in calls if isinstance(c, ast.Call) and getattr(c.func, "id", None) == "print"], name


def test_nothing_imports_the_cli():
    assert broken("nothing imports the cli") == []


# two-way imports (a function importing a module that imports its own) that came with the merges of
# 10:42-11:30 (issue20, 22, 23): each leaves this set when it is untangled, and no new one joins it
KNOWN_CIRCLES = {
    ("ninja.grade.batch", "ninja.grade.discover"),  # discover's NOT_SUBMITTED from batch
    ("ninja.grade.discover", "ninja.grade.jobs"),  # discover.holds_cells calls jobs.notebook_program
    ("ninja.grade.formats", "ninja.grade.report"),  # formats writes report.page; report reads formats
    ("ninja.notebook", "ninja.tapped.exercise"),  # check reads a script as a notebook; notebook's NotebookSpec
}


def test_no_two_modules_of_the_core_import_each_other():
    core = {(a, b) for a, b in graph.circles(EDGES) if not graph.track_of(a) and not graph.track_of(b)}
    assert core <= KNOWN_CIRCLES  # (notebook.py <-> registry.py was one, gone with the tapped engine)


@pytest.mark.parametrize(
    "importer, line, rule",
    [
        ("ninja/makemore/x.py", "from ninja.cs231n import layers", "a track never imports another track"),
        ("ninja/render.py", "import ninja.makemore.mlp", "the core imports a track only through ninja/registry.py"),
        ("ninja/hint.py", "from .makemore import mlp", "the core imports a track only through ninja/registry.py"),
        ("ninja/engine.py", "from rich.text import Text", "the engine imports nothing that runs or prints"),
        ("ninja/tapped/blame.py", "from ninja import runner", "the engine imports nothing that runs or prints"),
        ("ninja/grade/batch.py", "def f():\n    from ninja.cli import base", "nothing imports the cli"),
    ],
)
def test_each_rule_catches_an_import_that_breaks_it(tmp_path, importer, line, rule):
    package = tmp_path / "ninja"
    for path in ("__init__.py", "runner.py", "makemore/__init__.py", "makemore/mlp.py", "cs231n/__init__.py",
                 "cs231n/layers.py", "cli/__init__.py", "cli/base.py", "registry.py", "tapped/__init__.py"):  # fmt: skip
        (package / path).parent.mkdir(parents=True, exist_ok=True)
        (package / path).write_text("")
    (tmp_path / importer).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / importer).write_text(line + "\n")
    (package / "registry.py").write_text("from ninja.makemore import mlp\nfrom ninja.cs231n import layers\n")
    found = graph.broken_rules(graph.graph(package))
    assert found and all(f.endswith(rule) for f in found), found
