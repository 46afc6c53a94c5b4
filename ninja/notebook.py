"""Check the backward cells of a Jupyter notebook written like Karpathy's.

Only the cells that write the exercise's gradients run, after the template's forward pass (the
trusted one: every intermediate, n, Xb, Yb, the parameters, torch and F are in scope). The other
cells (downloads, training, plots) never run. The notebook's `cmp(...)` calls are silenced: the
report says the same, with shapes and statuses.
"""

from __future__ import annotations

import ast
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ninja.results import LearnerError, Report

SILENT_CMP = "def cmp(*args, **kwargs):  # the notebook's cmp: the report below says it all\n    pass\n"

# `dX = ...`, `dX[ix] += ...` in a cell that does not parse: still a backward cell, whose
# SyntaxError the report shows
WRITE = re.compile(r"^\s*(d\w+)\s*(\[[^\]]*\])?\s*[-+*/@]?=(?!=)", re.MULTILINE)


class NotebookError(Exception):
    """The notebook cannot be read, or has no cell for this exercise (exit code 2)."""


@dataclass
class Cell:
    number: int  # 1-based, as a person counts the notebook's cells
    source: str
    binds: set[str]  # gradients the cell assigns afresh: dX = ...
    updates: set[str]  # gradients it goes on with: dX += ..., dX[ix] = ..., dX.index_add_(...)
    in_loop: bool = False  # it assigns a gradient afresh inside a loop: the notebook's training loop

    @property
    def gradients(self) -> set[str]:
        return self.binds | self.updates


def python_source(cell_source: str) -> str:
    """IPython's `%magic` and `!shell` lines become comments, so the cell parses as Python; line
    numbers stay the same."""
    lines = cell_source.splitlines()
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in lines) + "\n"


def outside_functions(node: ast.AST, in_loop: bool = False):
    """(node, inside a loop?) for every node of the cell that runs when the cell runs: not the
    bodies of the functions and classes it defines."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield child, in_loop
        yield from outside_functions(child, in_loop or isinstance(child, (ast.For, ast.While)))


def base_name(target: ast.AST) -> str | None:
    """dC for dC, dC[ix], dC.data[0]."""
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def unpacked(target: ast.AST) -> list[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for element in target.elts for t in unpacked(element)]
    return unpacked(target.value) if isinstance(target, ast.Starred) else [target]


def gradient_writes(source: str, gradient_names: set[str]) -> tuple[set[str], set[str], bool]:
    """(binds, updates, whether a gradient is bound inside a loop) of one cell, anywhere in it
    (in for and with blocks too)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {m.group(1) for m in WRITE.finditer(source)} & gradient_names, set(), False
    binds, updates, in_loop = set(), set(), False
    for node, looping in outside_functions(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in (t for each in targets for t in unpacked(each)):
                if isinstance(target, ast.Name) and target.id in gradient_names:
                    binds.add(target.id)
                    in_loop |= looping
                elif not isinstance(target, ast.Name):
                    updates.add(base_name(target))
        elif isinstance(node, ast.AugAssign):
            updates.add(base_name(node.target))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"):
            updates.add(base_name(node.func.value))  # in place: dC.index_add_(0, ix, demb)
    return binds, updates & gradient_names, in_loop


def read_cells(path: Path, gradient_names: set[str]) -> list[Cell]:
    """Every code cell, with the gradients (names in `gradient_names`) it writes."""
    try:
        notebook = nbformat.read(str(path), as_version=4)
        numbered = enumerate(notebook.cells, start=1)
        code = [(number, cell.source) for number, cell in numbered if cell.cell_type == "code"]
        if not all(isinstance(source, str) for _, source in code):
            raise TypeError("a cell's source is not text")
    except (OSError, ValueError, nbformat.ValidationError) as e:
        raise NotebookError(f"cannot read notebook {path}: {e}") from None
    except (KeyError, TypeError, AttributeError) as e:  # JSON, not laid out as a notebook ("'int' object is not ...")
        raise NotebookError(
            f"cannot read notebook {path}: its JSON is not laid out as a Jupyter notebook ({type(e).__name__}: {e}); "
            "open it in Jupyter and save it again"
        ) from None
    cells = []
    for number, source in code:
        source = python_source(source)
        cells.append(Cell(number, source, *gradient_writes(source, gradient_names)))
    return cells


def backward_cells(cells: list[Cell], checked: set[str], every_gradient: set[str]) -> list[Cell]:
    """The cells of this exercise, in order: those that write only this exercise's gradients.
    Not a cell that merely redoes gradients already assigned (Karpathy's exercise 2 and 3 cells
    redo dlogits and dhprebn in one go: they belong to those exercises, not to exercise 1), nor
    the training loop; but yes a cell that goes on with a gradient assigned before (the dC loop
    in its own cell after `dC = torch.zeros_like(C)`)."""
    chosen, bound = [], set()
    for cell in cells:
        ours = cell.gradients & checked
        redo = cell.binds and cell.binds <= bound
        if not ours or (cell.gradients & every_gradient) - checked or redo or cell.in_loop:
            continue
        chosen.append(cell)
        bound |= cell.binds
    return chosen


@dataclass
class Program:
    """The template's forward followed by the chosen cells, as one file the runner can run."""

    source: str
    cell_starts: list[tuple[int, Cell]]  # (first line in `source`, cell)

    def where(self, line: int | None) -> tuple[Cell, int] | None:
        """The notebook cell and the line in it for a line of `source`."""
        for start, cell in reversed(self.cell_starts):
            if line is not None and line >= start:
                return cell, line - start + 1
        return None


def forward_of(template_source: str, gradient_names: set[str]) -> str:
    """The template less its `dX = None  # TODO` lines and its __main__ block (blanked, so line
    numbers stay): a gradient the cells never reach is then unassigned, as in a .py file that
    raised before it, not None."""
    lines = template_source.split("\n")
    for statement in ast.parse(template_source).body:
        placeholder = (
            isinstance(statement, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id in gradient_names for t in statement.targets)
            and isinstance(statement.value, ast.Constant)
            and statement.value.value is None
        )
        main_block = isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test)
        if placeholder or main_block:
            first, last = statement.lineno - 1, statement.end_lineno
            lines[first:last] = [""] * (last - first)
    return "\n".join(lines)


def program(template_source: str, cells: list[Cell], gradient_names: set[str]) -> Program:
    lines = forward_of(template_source, gradient_names).rstrip("\n").split("\n")
    lines += SILENT_CMP.rstrip("\n").split("\n")
    starts = []
    for cell in cells:
        lines.append(f"# ---- notebook cell {cell.number} ----")
        starts.append((len(lines) + 1, cell))
        lines += cell.source.rstrip("\n").split("\n")
    return Program("\n".join(lines) + "\n", starts)


def in_notebook_terms(error: LearnerError | None, notebook: Path, prog: Program) -> LearnerError | None:
    """Point an error at the notebook's cell and line instead of the generated file."""
    if error is None:
        return None
    place = prog.where(error.line)
    if place is None:  # in the template's forward: cannot happen unless the package is broken
        return error
    cell, line = place
    source_lines = cell.source.splitlines()
    text = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else error.source
    return LearnerError(error.kind, error.message, f"{notebook} (cell {cell.number})", line, text)


def point_at_notebook(report: Report, notebook: Path, prog: Program) -> Report:
    """Every path:line of the report in the notebook's terms, `my.ipynb (cell 7):N` as errors say.
    A report has one path for all its lines: when they are in several cells, the path is the
    notebook and each diagnosis starts with its cell and line."""
    report.error = in_notebook_terms(report.error, notebook, prog)
    places = {v.name: prog.where(v.line) for v in report.variables}
    cells = {place[0].number for place in places.values() if place}
    report.path = f"{notebook} (cell {next(iter(cells))})" if len(cells) == 1 else str(notebook)
    for v in report.variables:
        place = places[v.name]
        v.line = place[1] if place and len(cells) == 1 else None
        if place and len(cells) > 1 and v.diagnosis:
            v.diagnosis = f"cell {place[0].number}, line {place[1]}: {v.diagnosis}"
    return report


@dataclass
class Generated:
    """A notebook's cells for one exercise as a file that `exercise.check` (or a grading child) runs."""

    notebook: Path
    program: Program

    def write(self, folder: Path, exercise_name: str) -> Path:
        path = folder / f"{exercise_name}_from_notebook.py"
        path.write_text(self.program.source, encoding="utf-8")
        return path

    def point(self, report: Report) -> Report:
        return point_at_notebook(report, self.notebook, self.program)


def generate(exercise, notebook: Path, every_gradient: set[str] | None = None) -> Generated:
    """The template's forward and the notebook's cells for `exercise`; NotebookError when none.
    `every_gradient`: the checked names of every exercise (a cell writing another's is not ours)."""
    if every_gradient is None:
        from ninja.registry import EXERCISES

        every_gradient = {name for ex in EXERCISES.values() for name in ex.checked}
    gradients = {f"d{name}" for name in every_gradient}
    checked = {f"d{name}" for name in exercise.checked}
    cells = backward_cells(read_cells(notebook, gradients), checked, gradients)
    if not cells:
        names = ", ".join(sorted(checked)[:4]) + (", ..." if len(checked) > 4 else "")
        raise NotebookError(f"no cell of {notebook} assigns {exercise.name}'s gradients ({names})")
    return Generated(notebook, program(exercise.template.read_text(encoding="utf-8"), cells, gradients))


def check(exercise, notebook: Path, settings, every_gradient: set[str]) -> Report:
    """Check the notebook's backward cells for `exercise` against autograd."""
    generated = generate(exercise, notebook, every_gradient)
    with tempfile.TemporaryDirectory(prefix="ninja-notebook-") as folder:
        report = exercise.check(generated.write(Path(folder), exercise.name), settings)
    return generated.point(report)
