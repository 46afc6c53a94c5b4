"""Run a learner's file in this process and keep what it defined, what it printed, and where it
stopped if it did not run to the end. A file that fails is a result, never a crash of ninja."""

from __future__ import annotations
import __future__  # the compiler flags of a learner's own `from __future__ import ...`

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

import torch

from ninja.engine import UNREACHED
from ninja.memory import out_of_memory
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


class TimedOut(KeyboardInterrupt):
    """Raised into the learner's code when `--timeout` runs out (ninja/watchdog.py); a
    KeyboardInterrupt, so that whatever stops for Ctrl-C stops for it too."""


@dataclass(frozen=True)
class Snapshot:
    """A gradient's value right after one of the statements that write it."""

    line: int
    value: Any
    adds: bool  # the statement adds to it (+=, x[i] += ..., a loop of those), not a fresh value


@dataclass
class LearnerRun:
    path: Path
    namespace: dict[str, Any]
    error: LearnerError | None = None
    output: str = ""
    assigned_at: dict[str, int] = field(default_factory=dict)  # name -> first line that assigns it
    # name -> (first, last) line of every module-level statement that assigns or changes it in place
    changed_at: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # a notebook's cells run one after the other: (first, last) line of each, and every error, in
    # order (a cell that raises does not stop the next); a plain file is one segment
    segments: list[tuple[int, int]] = field(default_factory=list)
    errors: list[LearnerError] = field(default_factory=list)
    compiled: bool = True  # False: a SyntaxError, nothing ran
    stopped: int | None = None  # Ctrl-C or sys.exit at this line: no segment after it ran
    # a gradient written in several module-level statements (`=` then `+=`): what it held after each
    # one that ran, with its line and whether the statement adds to it (see adds_to)
    snapshots: dict[str, list[Snapshot]] = field(default_factory=dict)

    def ran(self, line: int) -> bool:
        """Whether the statement at `line` ran: no error before it in its segment."""
        if self.stopped is not None and line >= self.stopped:
            return False
        for e in self.errors:
            if e.line is None:
                return False
            _, last = self.segment_of(e.line)
            if e.line <= line <= last:
                return False
        return True

    def segment_of(self, line: int) -> tuple[int, int]:
        return next(((a, b) for a, b in self.segments if a <= line <= b), (line, 1 << 30))

    def value(self, name: str) -> Any:
        """What `name` holds after the run: None if undefined or still None (never written is
        missing), UNREACHED if every line that assigns it comes after an error in its segment, or
        if the file was stopped before a later line that changes it (by --timeout or Ctrl-C before
        `dlogits /= n`, dlogits is no answer)."""
        value = self.namespace.get(name)
        if value is not None and self.stopped is not None:
            if any(last >= self.stopped for _, last in self.changed_at.get(name, ())):
                return UNREACHED
        if value is not None or not self.errors:
            return value
        if not self.compiled:
            return UNREACHED
        lines = [first for first, _ in self.changed_at.get(name, ())]
        if lines and not any(self.ran(line) for line in lines):
            return UNREACHED
        return None


def top_statements(tree: ast.Module, as_main: bool = False) -> list[ast.stmt]:
    """The module's statements; run as __main__, the bodies of its functions too (a script's
    `def main():` holds the learner's lines)."""
    if not as_main:
        return tree.body
    functions = [f for f in tree.body if isinstance(f, ast.FunctionDef)]
    rest = [s for s in tree.body if not isinstance(s, ast.FunctionDef)]
    return sorted(rest + [s for f in functions for s in f.body], key=lambda s: s.lineno)


def assignment_lines(tree: ast.Module, as_main: bool = False) -> dict[str, int]:
    """First line of each module-level statement that binds a name (=, +=, for, with, ...)."""
    lines: dict[str, int] = {}
    for statement in top_statements(tree, as_main):
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


def change_spans(tree: ast.Module, as_main: bool = False) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for statement in top_statements(tree, as_main):
        for name in changed_names(statement):
            spans.setdefault(name, []).append((statement.lineno, statement.end_lineno or statement.lineno))
    return spans


def source_line(source: str, line: int | None) -> str | None:
    lines = source.splitlines()
    return lines[line - 1].strip() if line and 0 < line <= len(lines) else None


def module_line(exc: BaseException, path: Path) -> int | None:
    """The line of the file's own top level that was running: the first frame in the file (the
    deepest may be inside a function defined above it)."""
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            return lineno
    return None


def error_from_exception(exc: BaseException, path: Path, source: str) -> LearnerError:
    """The deepest frame in the learner's file is the line to show them."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            line = lineno
    kind, message = type(exc).__name__, str(exc) or type(exc).__name__
    if out_of_memory(exc):  # one line, not the allocator's "[enforce fail at alloc_cpu.cpp:127] ..."
        kind, message = "MemoryError", out_of_memory(exc)
    if isinstance(exc, SystemExit):
        message = f"the file called sys.exit({exc.code!r}) before the end"
    if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, TimedOut):  # stopped by the learner: show where
        message = "stopped with Ctrl-C while your file ran (an endless loop?)"
    return LearnerError(kind, message, str(path), line, source_line(source, line))


CELL_MARK = "# ---- notebook cell "  # ninja.notebook's program: each cell runs on its own


def main_block(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test) and not statement.orelse


def module_statements(tree: ast.Module, as_main: bool = False) -> list[ast.stmt]:
    """The statements the module runs, one after the other; run as __main__, its `if __name__ ==
    "__main__":` block's as its own (so that a run can stop inside it, see training_loop)."""
    if not as_main:
        return tree.body
    return [inner for statement in tree.body for inner in (statement.body if main_block(statement) else [statement])]


def training_loop(statement: ast.stmt, gradients: set[str]) -> bool:
    """A loop that trains: it calls .backward(), updates a .data, or computes a gradient afresh at
    each step (exercise 4's loop after the backward, which rebinds the tensors and gradients)."""
    if not isinstance(statement, (ast.For, ast.While)):
        return False
    for node in ast.walk(statement):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in gradients for t in node.targets):
            return True
        if isinstance(node, ast.Attribute) and (
            node.attr == "backward" or (node.attr == "data" and isinstance(node.ctx, ast.Store))
        ):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute) and node.target.attr == "data":
            return True
    return False


def end_of_backward(path: Path, gradients: set[str], as_main: bool = False) -> int | None:
    """The last line before the first training loop that follows the first statement writing one
    of `gradients`: the state to check is the one the backward left, not the one after training.
    None when no such loop follows."""
    try:
        source = read_source(Path(path))
    except (SyntaxError, OSError):
        return None
    return backward_end(source, frozenset(gradients), as_main)


@functools.lru_cache(maxsize=8)
def backward_end(source: str, gradients: frozenset[str], as_main: bool = False) -> int | None:
    """end_of_backward of a file's text: worked out once when it runs at several settings (grading
    runs it at two batch sizes)."""
    try:
        tree = parsed(source)
    except (SyntaxError, ValueError):
        return None
    started = False
    for statement in module_statements(tree, as_main):
        if started and training_loop(statement, gradients):
            return statement.lineno - 1
        started = started or bool(changed_names(statement) & gradients)
    return None


def segments(tree: ast.Module, source: str, as_main: bool = False) -> list[list[ast.stmt]]:
    """The module's statements, split where a `# ---- notebook cell N ----` line starts a cell."""
    starts = [i for i, text in enumerate(source.splitlines(), 1) if text.startswith(CELL_MARK)]
    groups: list[list[ast.stmt]] = [[] for _ in range(len(starts) + 1)]
    for statement in module_statements(tree, as_main):
        groups[sum(start < statement.lineno for start in starts)].append(statement)
    return [group for group in groups if group]


ADDING_METHODS = {"add_", "sub_", "index_add_", "index_put_", "scatter_add_", "put_"}


def adds_to(statement: ast.stmt, name: str) -> bool:
    """Whether `statement` adds to `name` rather than giving it a fresh value: `x += ...`,
    `x -= ...`, `x[i] = ...` or `x[i] += ...`, `x = x + ...`, x.index_add_(...), a loop of those.
    A `*=`, `/=` or a plain `x = ...` does not: a gradient made that way is judged as a whole."""
    adds = False
    for node in ast.walk(statement):
        if isinstance(node, ast.AugAssign) and base_name(node.target) == name:
            if not isinstance(node.op, (ast.Add, ast.Sub)) and isinstance(node.target, ast.Name):
                return False
            adds = True
        elif isinstance(node, ast.Assign) and any(base_name(t) == name for t in node.targets):
            rebinds = any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            grows = isinstance(node.value, ast.BinOp) and isinstance(node.value.op, (ast.Add, ast.Sub)) and \
                isinstance(node.value.left, ast.Name) and node.value.left.id == name  # fmt: skip
            if rebinds and not grows:
                return False
            adds = True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and base_name(node.func) == name:
            if node.func.attr.endswith("_"):
                if node.func.attr not in ADDING_METHODS:
                    return False
                adds = True
    return adds


def future_flags(tree: ast.Module) -> int:
    """The `from __future__ import ...` flags of the module: each statement is compiled alone."""
    flags = 0
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            flags |= sum(getattr(__future__, alias.name).compiler_flag for alias in statement.names)
    return flags


@functools.lru_cache(maxsize=8)
def parsed(source: str) -> ast.Module:
    """A file's syntax tree, parsed once per text: the runs at each setting and every analysis of
    the same file share it (none of them changes it). Raises SyntaxError (ValueError: null bytes)."""
    return ast.parse(source)


@dataclass(frozen=True)
class Step:
    """One module-level statement as the runner runs it: its code, and the names it changes."""

    code: Any
    statement: ast.stmt
    changes: frozenset[str]


@functools.lru_cache(maxsize=8)
def compiled(path: str, source: str, as_main: bool = False):
    """The file's code, one Step per module-level statement, grouped by segment with the
    segment's (first, last) line, and where it assigns what: parsed once when a file runs at
    several settings (grading runs it at two batch sizes). One statement at a time, so that a
    gradient written in several statements can be seen after each. Raises SyntaxError."""
    tree = parsed(source)
    flags = future_flags(tree)
    codes = [
        ([Step(compile(ast.Module(body=[s], type_ignores=[]), path, "exec", flags=flags, dont_inherit=True), s,
               frozenset(changed_names(s))) for s in group], (group[0].lineno, group[-1].end_lineno))
        for group in segments(tree, source, as_main)
    ]  # fmt: skip
    return codes, assignment_lines(tree, as_main), change_spans(tree, as_main)


def watched_names(changed_at: dict[str, list[tuple[int, int]]]) -> set[str]:
    """The gradients (d...) written by more than one statement: worth a snapshot after each."""
    return {name for name, spans in changed_at.items() if name.startswith("d") and len(spans) > 1}


def snapshot(run: LearnerRun, step: Step, watched: set[str]) -> None:
    for name in step.changes & watched:
        value = run.namespace.get(name)
        value = value.detach().clone() if torch.is_tensor(value) else value
        run.snapshots.setdefault(name, []).append(Snapshot(step.statement.lineno, value, adds_to(step.statement, name)))


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


def main_guard(path: Path) -> bool:
    """The file has an `if __name__ == "__main__":` block and is not one of ninja's templates
    (whose block runs ninja itself)."""
    try:
        tree = parsed(read_source(Path(path)))
    except (SyntaxError, ValueError, OSError):
        return False
    uses_ninja = any(isinstance(n, (ast.Import, ast.ImportFrom)) and "ninja" in ast.unparse(n) for n in ast.walk(tree))
    guard = any(isinstance(s, ast.If) and "__main__" in ast.unparse(s.test) for s in tree.body)
    return guard and not uses_ninja


def locals_keeper(path: Path, kept: dict):
    """A profile hook that keeps the locals of each function the module's own code calls, as it
    returns (or raises): a script's main() and what it computed."""
    filename = str(path)

    def hook(frame, event, arg):
        back = frame.f_back
        if event == "return" and frame.f_code.co_filename == filename and back is not None \
                and back.f_code.co_name == "<module>" and back.f_code.co_filename == filename:  # fmt: skip
            kept.update(frame.f_locals)

    return hook


def run_segment(run: LearnerRun, steps: list[Step], source: str, watched: set[str]) -> bool:
    """Run one segment's statements until one raises (a result, kept in run.errors); False when
    the learner stopped the file or it asked to stop."""
    for step in steps:
        try:
            exec(step.code, run.namespace)
        except BaseException as e:  # noqa: BLE001 (the learner's error, SystemExit included, is a result)
            run.errors.append(error_from_exception(e, run.path, source))
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                run.stopped = module_line(e, run.path) or run.errors[-1].line or 0
                return False
            return True
        snapshot(run, step, watched)
    return True


def run_file(
    path: Path, as_main: bool = False, layout: tuple[Path, str | None] | None = None, until: int | None = None
) -> LearnerRun:
    """Execute the learner's file as a module named __ninja__ (so its `if __name__ == "__main__"`
    block does not run), with its folder importable, capturing what it prints. `as_main`: as
    __main__, keeping the locals of the functions its block calls (a script's main()). `layout` is
    (where imports start, the file's package) when a track knows its course's tree (CS231n's cs231n/
    folders need no __init__.py); else package_of reads the __init__.py files. `until`: no
    module-level statement after this line runs (the training after a backward, end_of_backward)."""
    path = Path(path)
    source = ""
    try:
        source = read_source(path)
        codes, assigned_at, changed_at = compiled(str(path), source, as_main)
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes, on some Pythons
        line = getattr(e, "lineno", None)
        message = getattr(e, "msg", None) or str(e)
        error = LearnerError("SyntaxError", message, str(path), line, source_line(source, line))
        return LearnerRun(path, {}, error, errors=[error], compiled=False)
    root, package = layout or package_of(path.parent.resolve())
    namespace: dict[str, Any] = {
        "__name__": "__main__" if as_main else "__ninja__",
        "__file__": str(path),
        "__package__": package,
        "__builtins__": __builtins__,
        "cmp": quiet_cmp,
    }
    if until is not None:  # what comes after the backward neither runs nor counts
        codes = [([step for step in steps if step.statement.lineno <= until], span) for steps, span in codes]
        assigned_at = {name: line for name, line in assigned_at.items() if line <= until}
        changed_at = {name: [s for s in spans if s[0] <= until] for name, spans in changed_at.items()}
    run = LearnerRun(path, namespace, assigned_at=dict(assigned_at), changed_at=dict(changed_at),
                     segments=[span for _, span in codes])  # fmt: skip
    output = CappedOutput()
    importable = [str(path.parent)] + ([str(root)] if package else [])
    sys.path[:0] = importable
    before, writes_bytecode = set(sys.modules), sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in the learner's folder, no stale bytecode on rechecks
    try:
        kept: dict[str, Any] = {}
        with redirect_stdout(output), redirect_stderr(output):
            if as_main:
                sys.setprofile(locals_keeper(path, kept))
            for statements, _ in codes:
                if not run_segment(run, statements, source, watched_names(run.changed_at)):
                    break  # the learner stopped it, or it asked to stop: no further cell
        if as_main:
            sys.setprofile(None)
            namespace.update(kept)  # what main() computed, as it saw it
        run.error = run.errors[0] if run.errors else None
    finally:
        sys.setprofile(None)
        sys.dont_write_bytecode = writes_bytecode
        for entry in importable:
            sys.path.remove(entry)
        forget_modules_from(root if package else path.parent.resolve(), before)
    run.output = output.getvalue()[:MAX_OUTPUT]
    return run
