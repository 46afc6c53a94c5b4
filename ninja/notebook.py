"""Check the backward cells of a Jupyter notebook written like Karpathy's.

Only the cells that assign the exercise's gradients run, after the template's forward pass (the
trusted one: every intermediate, n, Xb, Yb, the parameters, torch and F are in scope). The other
cells (downloads, training, plots) never run. The notebook's `cmp(...)` calls are silenced: the
report says the same, with shapes and statuses.
"""

from __future__ import annotations

import ast
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ninja.results import LearnerError, Report

SILENT_CMP = "def cmp(*args, **kwargs):  # the notebook's cmp: the report below says it all\n    pass\n"


class NotebookError(Exception):
    """The notebook cannot be read, or has no cell for this exercise (exit code 2)."""


@dataclass
class Cell:
    number: int  # 1-based, as a person counts the notebook's cells
    source: str
    assigns: set[str]  # d-variables assigned by a top-level statement


def python_source(cell_source: str) -> str:
    """IPython's `%magic` and `!shell` lines become comments, so the cell parses as Python; line
    numbers stay the same."""
    lines = cell_source.splitlines()
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in lines) + "\n"


def top_level_assignments(source: str) -> set[str]:
    """Names bound by top-level assignment statements. A gradient assigned inside a loop or a
    `with` block (the notebook's training loop) does not count."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for statement in tree.body:
        targets = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
            targets = [statement.target]
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def read_cells(path: Path, gradient_names: set[str]) -> list[Cell]:
    """Every code cell, with the gradients (d<name> for a name in `gradient_names`) it assigns."""
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError) as e:
        raise NotebookError(f"cannot read notebook {path}: {e}") from None
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code":
            source = python_source(cell.source)
            assigned = {name for name in top_level_assignments(source) if name in gradient_names}
            cells.append(Cell(number, source, assigned))
    return cells


def backward_cells(cells: list[Cell], checked: set[str], every_gradient: set[str]) -> list[Cell]:
    """The cells of this exercise: those that assign only this exercise's gradients, in order, less
    a later cell that merely redoes gradients already assigned (Karpathy's exercise 2 and 3 cells
    redo dlogits and dhprebn in one go: they belong to those exercises, not to exercise 1)."""
    chosen, assigned = [], set()
    for cell in cells:
        ours = cell.assigns & checked
        if not ours or (cell.assigns & every_gradient) - checked or ours <= assigned:
            continue
        chosen.append(cell)
        assigned |= ours
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


def program(template_source: str, cells: list[Cell]) -> Program:
    lines = template_source.rstrip("\n").split("\n") + SILENT_CMP.rstrip("\n").split("\n")
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


def check(exercise, notebook: Path, settings, every_gradient: set[str]) -> Report:
    """Check the notebook's backward cells for `exercise` against autograd."""
    gradients = {f"d{name}" for name in every_gradient}
    checked = {f"d{name}" for name in exercise.checked}
    cells = backward_cells(read_cells(notebook, gradients), checked, gradients)
    if not cells:
        names = ", ".join(sorted(checked)[:4]) + (", ..." if len(checked) > 4 else "")
        raise NotebookError(
            f"no cell of {notebook} assigns {exercise.name}'s gradients ({names}) at the top level of the cell"
        )
    prog = program(exercise.template.read_text(encoding="utf-8"), cells)
    with tempfile.TemporaryDirectory(prefix="ninja-notebook-") as folder:
        generated = Path(folder) / f"{exercise.name}_from_notebook.py"
        generated.write_text(prog.source, encoding="utf-8")
        report = exercise.check(generated, settings)
    report.error = in_notebook_terms(report.error, notebook, prog)
    return report
