"""Check the backward cells of a Jupyter notebook written like Karpathy's.

Only the cells that write the exercise's gradients run, after the template's forward pass (the
trusted one: every intermediate, n, Xb, Yb, the parameters, torch and F are in scope), each cell on
its own: one that raises is a note at that cell, and the cells after it still run, so the
notebook's final state decides (a later "attempt 2" cell overrides the first). A plain
`NAME = value` line in another cell (BATCH_SIZE = 32) is taken as it stands before the gradient
cell. The other cells (downloads, training, plots) never run. The notebook's `cmp(...)` calls are
silenced: the report says the same, with shapes and statuses.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys
import tempfile
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ninja import collected
from ninja.exercise import NotebookSpec
from ninja.results import LearnerError, Note, Report, at, kind_of
from ninja.runner import CELL_MARK

# after the template's forward: the notebook's cmp silenced (the track may add its own names)
SILENCED = """def cmp(*args, **kwargs):  # the notebook's cmp: the report below says it all
    pass
"""

# `dX = ...`, `dX[ix] += ...` in a cell that does not parse: still a backward cell, whose
# SyntaxError the report shows
WRITE = re.compile(r"^\s*(d\w+)\s*(\[[^\]]*\])?\s*[-+*/@]?=(?!=)", re.MULTILINE)


class NotebookError(Exception):
    """The notebook cannot be read, or has no cell for this exercise (exit code 2)."""


@dataclass
class Cell:
    number: int  # 1-based among the notebook's code cells
    source: str
    binds: set[str]  # gradients the cell assigns afresh: dX = ...
    updates: set[str]  # gradients it goes on with: dX += ..., dX[ix] = ..., dX.index_add_(...)
    in_loop: bool = False  # it assigns a gradient afresh inside a loop: the notebook's training loop
    # per statement that writes a gradient: (the gradients it binds, those it changes, the gradients it reads)
    steps: list[tuple[set[str], set[str], set[str]]] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)  # NAME -> `NAME = value`, the last in the cell
    syntax_error: SyntaxError | None = None
    line: int | None = None  # a script's paragraph read as a cell: the file's line it starts at

    @property
    def gradients(self) -> set[str]:
        return self.binds | self.updates

    @property
    def label(self) -> str:
        """code cell 7 ("# Exercise 1: ..."): where a person finds it."""
        first = next((text.strip() for text in self.source.splitlines() if text.strip()), "")
        if len(first) > 20:
            first = first[: first.rfind(" ", 0, 17) if " " in first[:17] else 17] + " ..."
        return f'code cell {self.number} ("{first}")'

    def one_go(self, names: set[str], given: set[str]) -> bool:
        """The cell computes `names` on its own (Karpathy's exercise 2 and 3 cells): the value each
        ends with is made from no other gradient than those and `given`. A line redone after it (a
        "# before we had:" recap of exercise 1's lines above the formula) does not count."""
        allowed, made = names | given, {}  # made: gradient -> its value so far reads allowed ones only
        for binds, changes, reads in self.steps:
            ok = reads <= allowed
            made |= {name: ok and made.get(name, True) for name in changes - binds}
            made |= dict.fromkeys(binds, ok)
        ended = [name for name in names if name in made]
        return bool(ended) and all(made[name] for name in ended)


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
    binds, updates, in_loop, _ = cell_writes(source, gradient_names)
    return binds, updates, in_loop


def written(node: ast.AST, gradient_names: set[str]) -> tuple[set[str], set[str]]:
    """(bound afresh, changed) gradient names of one statement or call."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        flat = [t for each in targets for t in unpacked(each)]
        binds = {t.id for t in flat if isinstance(t, ast.Name) and t.id in gradient_names}
        return binds, {base_name(t) for t in flat if not isinstance(t, ast.Name)} & gradient_names
    if isinstance(node, ast.AugAssign):
        return set(), {base_name(node.target)} & gradient_names
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"):
        return set(), {base_name(node.func.value)} & gradient_names  # in place: dC.index_add_(0, ix, demb)
    return set(), set()


def loads(node: ast.AST) -> set[str]:
    """The names a statement reads; `dX += ...` and `dX[i] = ...` read dX too."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    targets = [node.target] if isinstance(node, ast.AugAssign) else getattr(node, "targets", [])
    return (
        names | {base_name(t) for t in targets if isinstance(node, ast.AugAssign) or not isinstance(t, ast.Name)}
    ) - {None}


def cell_writes(source: str, gradient_names: set[str]) -> tuple[set[str], set[str], bool, list]:
    """(binds, updates, in_loop, steps) of one cell: see Cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {m.group(1) for m in WRITE.finditer(source)} & gradient_names, set(), False, []
    binds, updates, in_loop, steps = set(), set(), False, []
    for node, looping in outside_functions(tree):
        fresh, changed = written(node, gradient_names)
        if fresh or changed:
            binds |= fresh
            updates |= changed
            in_loop |= looping and bool(fresh)
            steps.append((fresh, changed, loads(node) & gradient_names))
    return binds, updates, in_loop, steps


CONSTANT_NODES = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Tuple, ast.operator, ast.unaryop)


def constants_of(source: str) -> dict[str, str]:
    """The cell's `NAME = value` lines whose value is numbers (and other such names): BATCH_SIZE = 32,
    INPUT = BLOCK * EMBD. The last of each name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for statement in tree.body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and all(isinstance(n, CONSTANT_NODES) for n in ast.walk(statement.value))):  # fmt: skip
            found[statement.targets[0].id] = ast.get_source_segment(source, statement)
    return found


def make_cell(number: int, source: str, gradient_names: set[str], line: int | None = None) -> Cell:
    binds, updates, in_loop, steps = cell_writes(source, gradient_names)
    try:
        ast.parse(source)
        error = None
    except SyntaxError as e:
        error = e
    return Cell(number, source, binds, updates, in_loop, steps, constants_of(source), error, line)


SCRIPT_CELL = re.compile(r"^# ?(%%|In\[[\d ]*\]:)")  # `# %%` (VS Code, Jupytext) or nbconvert's `# In[12]:`


def script_cells(path: Path, gradient_names: set[str]) -> list[Cell]:
    """A script read as a notebook: its `# %%` (or `# In[ ]:`) cells, else its paragraphs (top-level
    statements after a blank or comment line start a new one); the body of its `if __name__ ==
    "__main__":` block is read as top-level code. Each cell keeps the file line it starts at."""
    from ninja.runner import read_source

    try:
        source = read_source(path)
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError) as e:
        raise NotebookError(f"cannot read {path}: {e}") from None
    lines = source.split("\n")
    statements = []
    for statement in tree.body:
        guard = isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test)
        statements += statement.body if guard else [statement]
    starts = [k for k, text in enumerate(lines, 1) if SCRIPT_CELL.match(text)]
    groups: list[list[ast.stmt]] = []
    previous_end = 0
    for statement in statements:
        if starts:
            new = any(previous_end < k <= statement.lineno for k in starts)
        else:
            before = lines[statement.lineno - 2].strip() if statement.lineno > 1 else ""
            new = not before or before.startswith("#")
        if new or not groups:
            groups.append([])
        groups[-1].append(statement)
        previous_end = statement.end_lineno
    cells = []
    for group in groups:
        first, last = group[0].lineno, group[-1].end_lineno
        text = textwrap.dedent("\n".join(lines[first - 1 : last]))
        cells.append(make_cell(len(cells) + 1, python_source(text), gradient_names, line=first))
    return cells


def read_cells(path: Path, gradient_names: set[str]) -> list[Cell]:
    """Every code cell, with the gradients (names in `gradient_names`) it writes; a script's cells
    are its `# %%` cells or its paragraphs."""
    if Path(path).suffix == ".py":
        return script_cells(path, gradient_names)
    try:
        notebook = nbformat.read(str(path), as_version=4)
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        if not all(isinstance(source, str) for source in code):
            raise TypeError("a cell's source is not text")
    except (OSError, ValueError, nbformat.ValidationError) as e:
        raise NotebookError(f"cannot read notebook {path}: {e}") from None
    except (KeyError, TypeError, AttributeError) as e:  # JSON, not laid out as a notebook ("'int' object is not ...")
        raise NotebookError(
            f"cannot read notebook {path}: its JSON is not laid out as a Jupyter notebook ({type(e).__name__}: {e}); "
            "open it in Jupyter and save it again"
        ) from None
    return [make_cell(k, python_source(source), gradient_names) for k, source in enumerate(code, 1)]


@dataclass(frozen=True)
class Part:
    """Another exercise's gradients and what its template gives (exercise 3 gives dhpreact)."""

    names: frozenset[str]
    given: frozenset[str]


def backward_cells(cells: list[Cell], checked: set[str], given: set[str], parts: list[Part],
                   part: bool | None = None) -> list[Cell]:  # fmt: skip
    """The cells of this exercise, in notebook order. Exercise 1's: every cell that writes its
    gradients, not the training loop, nor an exercise 2 or 3 cell that redoes, in one go,
    gradients already assigned (they belong to those exercises). A part's (exercise 2, 3): every
    cell that computes its gradients in one go, however the cells are split."""
    if part is None:
        part = any(checked < p.names for p in parts)
    if part:  # this exercise is a part of a bigger one
        return [cell for cell in cells if not cell.in_loop and cell.gradients & checked and
                (cell.one_go(checked, given) or only_ours(cell, checked | given))]  # fmt: skip
    chosen, bound = [], set()
    for cell in cells:
        redo = cell.binds <= bound and any(cell.one_go(set(p.names), set(p.given)) for p in parts)
        if not cell.gradients & checked or cell.in_loop or (cell.binds and redo):
            continue
        chosen.append(cell)
        bound |= cell.binds
    return chosen


def only_ours(cell: Cell, names: set[str]) -> bool:
    """A cell that does not parse and writes only `names` (exercise 3's dhprebn, with a typo): its
    SyntaxError is the answer, not "no cell assigns"."""
    return cell.syntax_error is not None and cell.gradients <= names


@dataclass
class Program:
    """The template's forward followed by the chosen cells, as one file the runner can run."""

    source: str
    origin: dict[int, tuple[Cell, int]]  # a line of `source` -> (the cell, the line in it)
    setup: set[int] = field(default_factory=set)  # the numbers of the set-up cells it runs

    def in_setup(self, line: int | None) -> bool:
        place = self.where(line)
        return place is not None and place[0].number in self.setup

    def where(self, line: int | None) -> tuple[Cell, int] | None:
        """The notebook cell and the line in it for a line of `source`."""
        return self.origin.get(line) if line is not None else None


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


def bound_names(source: str) -> set[str]:
    """Every name a piece of code binds anywhere (assignments, imports, loops, defs)."""
    tree = ast.parse(source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {
        a.asname or a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    return names | {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def free_names(cell: Cell) -> list[str]:
    """Names a cell reads and does not bind itself, in order of appearance."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    read = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    bound = bound_names(cell.source)
    return [name for name in dict.fromkeys(read) if name not in bound]


def constants_for(cell: Cell, cells: list[Cell], known: set[str]) -> list[tuple[Cell, str]]:
    """The `NAME = value` lines of the cells before `cell` that it needs (the last one of each name
    before it, and what those read), in the order to run them."""
    needed, out = list(free_names(cell)), []
    while needed:
        name = needed.pop(0)
        if name in known:
            continue
        known.add(name)
        source = next((c for c in reversed(cells) if c.number < cell.number and name in c.constants), None)
        if source is not None:
            text = source.constants[name]
            needed += [n.id for n in ast.walk(ast.parse(text).body[0].value) if isinstance(n, ast.Name)]
            out.insert(0, (source, text))
    return out


def line_in(cell: Cell, text: str) -> int:
    """The line of `cell` where the statement `text` starts (its last occurrence)."""
    lines = cell.source.splitlines()
    first = text.split("\n")[0]
    return next((i for i in range(len(lines), 0, -1) if lines[i - 1].startswith(first)), 1)


class NoPlots:
    """matplotlib for a set-up cell: plotting is no part of a check, and importing it takes seconds."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


PLOTTING = re.compile(r"^(\s*)(import matplotlib\S*|from matplotlib\S* import \w+)( as (\w+))?\s*(#.*)?$")


def without_plots(line: str) -> str:
    """`import matplotlib.pyplot as plt` -> `plt = NoPlots()`, on the same line."""
    found = PLOTTING.match(line)
    if not found:
        return line
    name = found.group(4) or found.group(2).split()[-1].split(".")[0]
    return f"{found.group(1)}{name} = __import__('ninja.notebook').notebook.NoPlots()"


def cell_lines(cell: Cell, gradient_names: set[str], setup: bool = False) -> list[str]:
    """The cell's lines to run; a cell that does not parse raises its SyntaxError at its line, and
    the gradients it would write stay unreached. A set-up cell plots nothing."""
    lines = cell.source.rstrip("\n").split("\n")
    if setup:
        lines = [without_plots(line) for line in lines]
    e = cell.syntax_error
    if e is None:
        return lines
    at = min(max(e.lineno or 1, 1), len(lines))
    stub = [""] * (at - 1) + [f"raise SyntaxError({e.msg!r})"]
    writes = sorted({m.group(1) for m in WRITE.finditer(cell.source)} & gradient_names)
    return stub + ([" = ".join(writes) + " = None"] if writes else [])


SILENCE = "def cmp(*args, **kwargs):  # the notebook's cmp, after its set-up: silenced again\n    pass"


def program(template_source: str, cells: list[Cell], gradient_names: set[str], every_cell: list[Cell] = (),
            setup: list[Cell] = (), given: set[str] = frozenset(), prelude: str = "",
            aliases: dict[str, str] | None = None) -> Program:  # fmt: skip
    """The template's forward, the track's `prelude`, then the notebook's `setup` cells (its own
    parameters and batch, if asked; the `given` gradients again on them), then for each gradient
    cell the constants it needs and the cell itself."""
    forward = forward_of(template_source, gradient_names)
    prelude = SILENCED + prelude.removeprefix(SILENCED)
    lines = (forward.rstrip("\n") + "\n" + prelude).rstrip("\n").split("\n")
    known = bound_names(forward + "\n" + prelude) | set(dir(builtins))
    origin: dict[int, tuple[Cell, int]] = {}

    def add(cell: Cell, first: int, texts: list[str], title: str) -> None:
        lines.append(f"{CELL_MARK}{cell.number}{title} ----")
        for k, text in enumerate(texts):
            origin[len(lines) + 1] = (cell, first + k)
            lines.append(text)

    for cell in setup:
        add(cell, 1, cell_lines(cell, gradient_names, setup=True), ", set-up")
        known |= bound_names(cell.source) if cell.syntax_error is None else set()
    if setup:
        lines += [f"{CELL_MARK}0, cmp ----", *SILENCE.split("\n")]
        lines += [
            f"{name} = __import__('ninja.tapped.learner').tapped.learner.given_here({name[1:]!r}, globals())"
            for name in sorted(given)
        ]  # what the template gives, on the notebook's own tensors
    lines += [f"{theirs} = {ours}" for theirs, ours in sorted((aliases or {}).items())]  # under the learner's names
    known |= set(aliases or {})
    for cell in cells:
        for source, text in constants_for(cell, list(every_cell), known):
            add(source, line_in(source, text), text.split("\n"), ", a constant")
        known |= bound_names(cell.source) if cell.syntax_error is None else set()
        add(cell, 1, cell_lines(cell, gradient_names), "")
    return Program("\n".join(lines) + "\n", origin, {cell.number for cell in setup})


def trains(cell: Cell) -> bool:
    """A loop that calls .backward() or updates .data: a training cell, not set-up."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return True
    loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))]
    return any(".backward(" in ast.unparse(loop) or ".data" in ast.unparse(loop) for loop in loops)


def setup_cells(every_cell: list[Cell], chosen: list[Cell]) -> list[Cell]:
    """The cells before the first gradient cell that write no gradient and do not train: where the
    notebook makes its own data, parameters, batch and forward pass."""
    first = chosen[0].number if chosen else 0
    return [c for c in every_cell if c.number < first and not c.gradients and c.syntax_error is None and not trains(c)]


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
    line, label = located(place)
    return LearnerError(error.kind, error.message, str(notebook), line, text, label)


def located(place: tuple[Cell, int] | None) -> tuple[int | None, str | None]:
    """(line, cell label) for the learner: a notebook's line counts in its cell; a script's cells
    are its own lines."""
    if place is None:
        return None, None
    cell, line = place
    return (line, cell.label) if cell.line is None else (cell.line + line - 1, None)


def point_at_notebook(
    report: Report, notebook: Path, prog: Program, generated_path: str | None, provided: str = ""
) -> Report:
    """Every line of the report in the notebook's terms: `my.ipynb, code cell 7 ("# Exercise 1:
    ..."), line 12`, for each variable its own cell."""
    report.error = in_notebook_terms(report.error, notebook, prog)
    report.path = str(notebook)
    for v in report.variables:
        v.line, v.cell = located(prog.where(v.line))

    def pointer(match: re.Match) -> str:
        line, cell = located(prog.where(int(match.group(1))))
        return at(str(notebook), cell, line)

    # path:line of the generated file, which grading names by the notebook's path once it is back
    # TODO(issue18-engine): notes with a place (path, line) of their own, mapped like the variables
    paths = [re.escape(p) for p in (generated_path, str(notebook)) if p]
    here = re.compile(f"(?:{'|'.join(paths)}):(\\d+)")
    report.notes = [Note(here.sub(pointer, note), kind_of(note)) for note in report.notes]
    names_missing = [e for e in [report.error] if e and e.kind == "NameError"]
    if names_missing or any("NameError" in note for note in report.notes):
        report.notes.append(
            f"only the gradient cells run, after ninja's forward; it provides {provided}, and a plain "
            "`NAME = value` line in another cell; define anything else in the gradient cell"
        )
    return report


@dataclass
class Generated:
    """A notebook's cells for one exercise as a file that `exercise.check` (or a grading child) runs."""

    notebook: Path
    program: Program
    path: str | None = None  # where `write` put it
    provided: str = ""  # what the cells find in scope, in words

    def write(self, folder: Path, exercise_name: str) -> Path:
        path = folder / f"{exercise_name}_from_notebook.py"
        path.write_text(self.program.source, encoding="utf-8")
        self.path = str(path)
        return path

    def point(self, report: Report) -> Report:
        return point_at_notebook(report, self.notebook, self.program, self.path, self.provided)


def family_of(exercise) -> tuple:
    """The exercises whose cells may share a notebook with `exercise` (the track says), itself first."""
    spec = getattr(exercise, "notebook", None)
    family = spec.family() if spec is not None and spec.family else ()
    return (exercise, *[ex for ex in family if ex.name != exercise.name])


def parts_of(exercise) -> tuple[set[str], list[Part], set[str]]:
    """(what this exercise's template gives, the other exercises of its notebook as Parts, every
    gradient name of them all)."""
    family = family_of(exercise)
    gradients = {f"d{name}" for ex in family for name in ex.checked}

    def given(ex) -> frozenset[str]:  # the gradients its template assigns for real, not its `dX = None  # TODO`
        return frozenset(bound_names(forward_of(ex.template.read_text(encoding="utf-8"), gradients)) & gradients)

    others = [ex for ex in family[1:] if ex.template.is_file()]
    parts = [Part(frozenset(f"d{name}" for name in ex.checked), given(ex)) for ex in others]
    return set(given(exercise)), parts, gradients


def generate(exercise, notebook: Path, setup: bool = False, names: dict[str, str] | None = None) -> Generated:
    """The template's forward and the notebook's cells for `exercise`; NotebookError when none. A
    cell writing the gradients of another exercise of the same notebook is not this one's.
    `setup`: run the notebook's set-up cells too (its own tensors, where they can run here).
    `names`: the learner's names by role, where exercise 1 found them (h_pre_batch_norm for hprebn):
    exercise 3's cell then writes dh_pre_batch_norm from dh_pre_act."""
    checked = {f"d{name}" for name in exercise.checked}
    given, parts, gradients = parts_of(exercise)
    theirs = {f"d{role}": f"d{name}" for role, name in (names or {}).items() if name != role}
    gradients = gradients | set(theirs.values())
    part = any(checked < p.names for p in parts)
    every_cell = read_cells(notebook, gradients)
    rename = lambda found: {theirs.get(name, name) for name in found}  # noqa: E731
    cells = backward_cells(every_cell, rename(checked), rename(given), parts, part=part)
    if not cells:
        shown = ", ".join(sorted(checked)[:4]) + (", ..." if len(checked) > 4 else "")
        raise NotebookError(f"no cell of {notebook} assigns {exercise.name}'s gradients ({shown})")
    first = setup_cells(every_cell, cells) if setup else []
    template = exercise.template.read_text(encoding="utf-8")
    spec = getattr(exercise, "notebook", None) or NotebookSpec()
    aliases = {theirs[name]: name for name in given if name in theirs}  # dh_pre_act = dhpreact
    prog = program(template, cells, gradients, every_cell, first, given, spec.prelude, aliases)
    return Generated(notebook, prog, provided=spec.provided)


def run_generated(exercise, generated: Generated, settings) -> dict:
    """Run the generated file from a folder of its own, with the notebook's folder importable (its
    sibling modules: `from mlp import MLP`)."""
    with tempfile.TemporaryDirectory(prefix="ninja-notebook-") as folder, importable(generated.notebook.parent):
        return exercise.collect(generated.write(Path(folder), exercise.name), settings)


@contextmanager
def importable(folder: Path):
    """`folder` on sys.path while the cells run; the modules imported from it forgotten after."""
    from ninja.runner import forget_modules_from

    entry, before = str(Path(folder).resolve()), set(sys.modules)
    sys.path.append(entry)
    try:
        yield
    finally:
        sys.path.remove(entry)
        forget_modules_from(Path(entry), before)


def check(exercise, notebook: Path, settings) -> Report:
    """Check the notebook's backward cells for `exercise` against autograd: on the notebook's own
    parameters and batch where its set-up cells run here, else on the template's forward."""
    setup = getattr(exercise, "learner_tensors", False)
    try:
        generated = generate(exercise, notebook, setup=setup)
    except NotebookError:  # exercise 2 or 3 under the learner's names, which exercise 1 finds by role
        names = learner_names(exercise, notebook, settings) if setup else {}
        if not names:
            raise
        generated = generate(exercise, notebook, setup=setup, names=names)
    data = run_generated(exercise, generated, settings)
    errors = [collected.error_of(e) for e in [data["error"], *data.get("other_errors", [])] if e]
    failed = [e for e in errors if generated.program.in_setup(e.line)]
    note = None
    kind = "script" if notebook.suffix == ".py" else "notebook"
    if failed and not data.get("own"):  # its set-up does not run here: the template's forward, said so
        first = in_notebook_terms(failed[0], notebook, generated.program)
        note = (f"your {kind}'s set-up does not run here ({first.where}: {first.kind}: {first.message}): checked "
                "on ninja's parameters and batch, after the template's forward")  # fmt: skip
        generated = generate(exercise, notebook)
        data = run_generated(exercise, generated, settings)
    else:  # the set-up cells are not gradient cells: what went wrong there is no verdict
        data = without_setup(data, generated.program)
        if failed and not data.get("own_batch"):  # it did not make its own batch: say why
            first = in_notebook_terms(failed[0], notebook, generated.program)
            note = f"your {kind}'s set-up did not all run here ({first.where}: {first.kind}: {first.message})"
    report = generated.point(exercise.judge(data, settings))
    if note:
        report.notes.insert(0, note)
    return report


def learner_names(exercise, notebook: Path, settings) -> dict[str, str]:
    """The notebook's own names by role (hprebn -> h_pre_batch_norm), as the check of the biggest
    exercise of its family (makemore's exercise 1) finds them; {} where it has none, or its
    set-up does not run here."""
    family = [ex for ex in family_of(exercise) if getattr(ex, "learner_tensors", False) and ex.checked]
    whole = max(family, key=lambda ex: len(ex.checked))
    if whole is exercise:
        return {}
    try:
        data = run_generated(whole, generate(whole, notebook, setup=True), settings)
    except NotebookError:
        return {}
    return data.get("own_names") or {}


def without_setup(data: dict, prog: Program) -> dict:
    """What the set-up cells did wrong, or their .grad lines, is no part of the verdict."""
    others = [e for e in data.get("other_errors", []) if not prog.in_setup(collected.error_of(e).line)]
    error = data["error"]
    if error and prog.in_setup(collected.error_of(error).line):
        error = None
    lines = [line for line in data.get("autograd_lines", []) if prog.where(line) and not prog.in_setup(line)]
    return data | {"error": error, "other_errors": others, "autograd_lines": lines}
