"""Run a learner's file in this process and keep what it defined, what it printed, and where it
stopped if it did not run to the end. A file that fails is a result, never a crash of ninja."""

from __future__ import annotations

import ast
import functools
import io
import sys
import tokenize
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ninja.engine import UNREACHED
from ninja.results import LearnerError

MAX_OUTPUT = 20_000  # characters of the file's own printing that we keep
PACKAGE = Path(__file__).resolve().parent  # ninja itself: never forgotten


class CappedOutput(io.StringIO):
    """Keeps the first MAX_OUTPUT characters: a file that floods its output cannot fill the memory."""

    def write(self, text: str) -> int:
        room = MAX_OUTPUT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


@dataclass
class LearnerRun:
    path: Path
    namespace: dict[str, Any]
    error: LearnerError | None = None
    output: str = ""
    assigned_at: dict[str, int] = field(default_factory=dict)  # name -> first line that assigns it
    # name -> (first, last) line of every module-level statement that assigns or changes it in place
    changed_at: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """What `name` holds after the run: None if undefined or still None, UNREACHED if the file
        raised before the line that assigns it."""
        value = self.namespace.get(name)
        if value is not None or self.error is None:
            return value
        line = self.assigned_at.get(name)
        if self.error.line is None or line is None or line >= self.error.line:
            return UNREACHED
        return None


def assignment_lines(tree: ast.Module) -> dict[str, int]:
    """First line of each module-level statement that binds a name (=, +=, for, with, ...)."""
    lines: dict[str, int] = {}
    for statement in tree.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                lines.setdefault(node.id, statement.lineno)
    return lines


def changed_names(statement: ast.stmt) -> set[str]:
    """Names a statement binds or changes in place: `x = ...`, `x += ...`, `x[i] = ...`, `x.add_(...)`."""
    names = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            names.add(base_name(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"):
            names.add(base_name(node.func))
    names.discard(None)
    return names


def base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def change_spans(tree: ast.Module) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for statement in tree.body:
        for name in changed_names(statement):
            spans.setdefault(name, []).append((statement.lineno, statement.end_lineno or statement.lineno))
    return spans


def source_line(source: str, line: int | None) -> str | None:
    lines = source.splitlines()
    return lines[line - 1].strip() if line and 0 < line <= len(lines) else None


def error_from_exception(exc: BaseException, path: Path, source: str) -> LearnerError:
    """The deepest frame in the learner's file is the line to show them."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            line = lineno
    message = str(exc) or type(exc).__name__
    if isinstance(exc, SystemExit):
        message = f"the file called sys.exit({exc.code!r}) before the end"
    if isinstance(exc, KeyboardInterrupt):  # the learner stopped a file that ran too long: show where
        message = "stopped with Ctrl-C while your file ran (an endless loop?)"
    return LearnerError(type(exc).__name__, message, str(path), line, source_line(source, line))


@functools.lru_cache(maxsize=8)
def compiled(path: str, source: str) -> tuple[Any, dict[str, int], dict[str, list[tuple[int, int]]]]:
    """The file's code and where it assigns what: parsed once when a file runs at several settings
    (grading runs it at two batch sizes). Raises SyntaxError."""
    tree = ast.parse(source, filename=path)
    return compile(tree, path, "exec"), assignment_lines(tree), change_spans(tree)


def read_source(path: Path) -> str:
    """The file's text, decoded as Python decodes source (UTF-8 unless a coding line says
    otherwise). Raises SyntaxError, as Python would, when it cannot be decoded."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as e:
        raise SyntaxError(f"{path} is not text Python can read ({e}); save it as UTF-8") from None


def package_of(folder: Path) -> tuple[Path, str | None]:
    """Where imports start and the file's package: a file in a package folder (with __init__.py,
    like CS231n's cs231n/classifiers/fc_net.py) may import relatively (`from ..layers import *`)."""
    parts = []
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts) or None


def forget_modules_from(folder: Path, before: set[str]) -> None:
    """Drop the modules the run imported from the learner's folder, so the next run (ninja watch)
    sees their new code; ninja's own modules and anything imported earlier stay."""
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        # a package without __init__.py (a namespace package) has a __path__ and no __file__
        file = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", None) or ()), None)
        if file and Path(file).resolve().is_relative_to(folder) and not Path(file).resolve().is_relative_to(PACKAGE):
            del sys.modules[name]


def quiet_cmp(*args: Any, **kwargs: Any) -> None:
    """The notebook's cmp(s, dt, t), pasted with the answers: ninja's report says it all."""


def run_file(path: Path, layout: tuple[Path, str | None] | None = None) -> LearnerRun:
    """Execute the learner's file as a module named __ninja__ (so its `if __name__ == "__main__"`
    block does not run), with its folder importable, capturing what it prints. `layout` is (where
    imports start, the file's package) when a track knows its course's tree (CS231n's cs231n/
    folders need no __init__.py); else package_of reads the __init__.py files."""
    path = Path(path)
    source = ""
    try:
        source = read_source(path)
        code, assigned_at, changed_at = compiled(str(path), source)
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes, on some Pythons
        line = getattr(e, "lineno", None)
        message = getattr(e, "msg", None) or str(e)
        return LearnerRun(path, {}, LearnerError("SyntaxError", message, str(path), line, source_line(source, line)))
    root, package = layout or package_of(path.parent.resolve())
    namespace: dict[str, Any] = {
        "__name__": "__ninja__",
        "__file__": str(path),
        "__package__": package,
        "__builtins__": __builtins__,
        "cmp": quiet_cmp,
    }
    run = LearnerRun(path, namespace, assigned_at=dict(assigned_at), changed_at=dict(changed_at))
    output = CappedOutput()
    importable = [str(path.parent)] + ([str(root)] if package else [])
    sys.path[:0] = importable
    before, writes_bytecode = set(sys.modules), sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in the learner's folder, no stale bytecode on rechecks
    try:
        with redirect_stdout(output), redirect_stderr(output):
            exec(code, namespace)
    except BaseException as e:  # noqa: BLE001 (the learner's error, SystemExit included, is a result)
        run.error = error_from_exception(e, path, source)
    finally:
        sys.dont_write_bytecode = writes_bytecode
        for entry in importable:
            sys.path.remove(entry)
        forget_modules_from(root if package else path.parent.resolve(), before)
    run.output = output.getvalue()[:MAX_OUTPUT]
    return run
