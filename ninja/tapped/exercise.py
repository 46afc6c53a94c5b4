"""A tapped exercise: a forward pass written as module-level code in the learner's file, then one
`d<name> = ...` per checked variable, compared with autograd on the model's trusted forward at the
same settings (or on the learner's own tensors), with local blame and named mistakes.

makemore's exercises 1-3 and every exercise file (ninja/tapped/files.py) are these; the engine
they run on is ninja/tapped/model.py (the reference and the cut forward), blame.py and diagnose.py.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ninja import collected, engine, runner
from ninja.engine import UNREACHED
from ninja.exercise import BundledFiles, NotebookSpec, RunOptions, cached
from ninja.results import GRADIENTS, LearnerError, Report
from ninja.settings import Settings
from ninja.tapped import blame, context
from ninja.tapped import roles as generic_roles
from ninja.tapped.model import Model

CHECKING = RunOptions()  # `ninja check`'s: a file's own tensors are the reference's


@dataclass(frozen=True)
class Exercise(BundledFiles):
    """A tapped exercise: module-level forward pass in the learner's file, then one `d<name> = ...`
    per checked variable, compared with autograd on the trusted forward at the same settings."""

    name: str
    title: str
    checked: tuple[str, ...]  # in backward order; d<name> holds d loss / d <name>
    forward_names: tuple[str, ...]  # intermediates the learner's file computes, in forward order
    rtol: float = 1e-5
    atol: float = 1e-8
    # per checked variable: (1 shapes and the consuming line, 2 the local derivative in words, 3 the rule)
    hints: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    model: Model | None = None  # None only for an exercise that brings its own judging (exercise 4)
    given: tuple[str, ...] = ()  # gradients handed to the learner (exercise 3's dhpreact)
    # (trusted values, reference gradients) -> {checked name: [(kind, words, wrong tensor)]}
    mistakes: Callable[..., dict] | None = None  # (values, grads, strict=False)
    # (namespace, model, forward_names) -> Roles or None: the learner's own tensors by role
    find_roles: Callable | None = None
    describe: Callable[[dict], str] | None = None  # the sizes of a learner's own tensors, in words
    notebook: NotebookSpec = NotebookSpec()
    template_file: Path | None = None  # else exercises/<name>.py of the package
    solution_file: Path | None = None  # else solutions/<name>.py of the package
    learner_module: str = "ninja.tapped.learner"  # where a template imports its tensors from
    source_file: Path | None = None  # the exercise file it was loaded from (a course's own exercise)
    track = "makemore"  # checked names are variables, shown as d<name>; not a field
    labels = GRADIENTS  # how its results read: d<name>, exact shown, graded at several batch sizes
    notebook_cells = True  # a notebook's cells can hold its gradients (ninja/notebook.py)
    learner_tensors = True  # checked on the learner's own parameters and batch where they have some

    @property
    def template(self) -> Path:
        return self.template_file or super().template

    @property
    def solution(self) -> Path:
        return self.solution_file or super().solution

    def check(self, path: Path, settings: Settings = Settings(), options: RunOptions = CHECKING) -> Report:
        data = self.collect(path, settings) if options is CHECKING else self.collect(path, settings, options)
        if options.own_tensors and setup_failed(data) and not uses_package_tensors(path, self.learner_module):
            from ninja import notebook  # a script whose set-up does not run here: read as a notebook

            try:
                return notebook.check(self, Path(path), settings)
            except notebook.NotebookError:
                pass
        return self.judge(data, settings)  # (exercise 4's collect takes no options: it has its own loop)

    def graded_by_cells(self, text: str) -> bool:
        """A script that makes tensors of its own instead of importing the package's (its set-up reads
        names.txt, builds its own network). Grading judges on ninja's tensors alone (secret seed, two
        batch sizes), so it is graded as a notebook is: its backward after the template's forward, as
        `check` does when the set-up cannot run."""
        return self.notebook_cells and self.learner_tensors and not has_package_tensors(text, self.learner_module)

    def warm_up(self, settings: Settings) -> None:
        """Run once before `ninja watch` forks its checks: the data loaded, torch's kernels warm."""
        self.collect(self.warm_up_file, settings)

    def for_grading(self) -> Exercise:
        """The same exercise: what grading changes is in its RunOptions (RunOptions.grading)."""
        return self

    @property
    def tapped(self) -> Model:
        """The model; only an exercise that brings its own judging (exercise 4) has none, and never asks."""
        if self.model is None:
            raise TypeError(f"{self.name} has no tapped model")
        return self.model

    def reference(self, settings: Settings, names, own: dict | None = None) -> tuple[dict, dict]:
        values, grads = self.tapped.reference(settings, names, own)
        return values, grads

    def pieces(self, settings: Settings, names, own: dict | None = None) -> tuple[dict, dict]:
        return self.tapped.cut(settings, names, own)

    def given_gradients(self, settings: Settings) -> dict[str, torch.Tensor]:
        """What the template's given(...) hands the learner at `settings` (grading sends it to the child)."""
        return self.reference(settings, self.given)[1] if self.given else {}

    def named_mistakes(self, settings: Settings, own: dict | None = None) -> dict:
        if self.mistakes is None:
            return {}
        values, grads = self.reference(settings, (*self.checked, *self.given), own)
        return {k: v for k, v in self.mistakes(values, grads).items() if k in self.checked}

    def collect(self, path: Path, settings: Settings = Settings(), options: RunOptions = CHECKING) -> dict:
        """Run the learner's file (in this process; `ninja grade` runs this in a sandboxed child) and
        keep, as plain data, what judge and blame need from it."""
        gradients = {f"d{name}" for name in self.checked}
        own = options.own_tensors and not uses_package_tensors(path, self.learner_module)
        with context.running(settings, options.given, self, own_tensors=own):
            run = runner.run_file(path, until=runner.end_of_backward(path, gradients))
            found = self.own_roles(run.namespace, settings) if own else None
            bare = not any(k in run.namespace for k in self.forward_names)  # its code is all under a guard?
            if own and found is None and bare and runner.main_guard(path):  # a script's `if __name__ == "__main__":`
                run = runner.run_file(path, as_main=True, until=runner.end_of_backward(path, gradients, as_main=True))
                found = self.own_roles(run.namespace, settings)
        names = found.names if found else {}
        grad_of = {name: gradient_name(name, names.get(name, name), run) for name in self.checked}
        answers = {name: run.value(grad_of[name]) for name in self.checked}
        spans = {f"d{name}": run.changed_at.get(grad_of[name], []) for name in self.checked}
        ran = lines_that_ran(run)
        error = blocking_error(run, self.checked, answers, spans)
        changes = blame.change_lines({f"d{name}": ran.get(grad_of[name], []) for name in self.checked}, self.checked)
        error_line = error.line if error else None
        return {
            "path": str(path),
            "error": collected.error_data(error),
            "other_errors": [collected.error_data(e) for e in run.errors if e is not error],
            "output": run.output,
            "answers": {name: collected.plain(value) for name, value in answers.items()},
            "near": near_names(run.namespace, self.checked, answers, self.forward_names),
            "autograd_lines": autograd_lines(path, gradients),
            "forward": {
                name: collected.plain(value) for name, value in self.learner_forward(run, found, settings).items()
            },
            "forward_lines": forward_lines(run, found, self.forward_names),
            # the learner's own parameters and batch (their sizes, seed, dtype), by role, and their names
            "own": {role: collected.plain(t) for role, t in found.tensors.items()} if found else None,
            "own_names": names,
            "own_batch": found is not None and not self.same_inputs(found.tensors, settings),
            "grad_names": {name: grad for name, grad in grad_of.items() if grad != f"d{name}"},
            "changes": changes,
            "statements": statement_values(run, grad_of, self.checked),
            "raised": blame.raised_in(spans, self.checked, error_line),
            "raised_here": {
                name: collected.error_data(e)
                for e in run.errors
                if e is not error and (name := blame.raised_in(spans, self.checked, e.line))
            },
            "shared": tied_gradients(run, answers, changes, grad_of),  # storage is only visible here
            # shapes for "this line raised ...; shapes: ...", only when a line raised
            "shapes": {k: list(v.shape) for k, v in run.namespace.items() if error and torch.is_tensor(v)},
        }

    def judge(self, data: dict, settings: Settings = Settings(), cache: dict | None = None) -> Report:
        """Pure: the collected data against the trusted references (kept in `cache` when given).
        With the learner's own tensors (collected unless grading), the reference is autograd on the
        trusted forward applied to them, compared at their dtype's precision."""
        own = {k: collected.value_of(v) for k, v in data["own"].items()} if data.get("own") else None
        key = (self.name, settings)
        refs = (lambda name, make: make()) if own else (lambda name, make: cached(cache, (name, *key), make))
        trusted, grads = refs("reference", lambda: self.reference(settings, self.checked, own))
        answers = {name: collected.value_of(data["answers"][name]) for name in self.checked}
        taken = take_near_names(answers, data.get("near") or {}, grads)
        error = collected.error_of(data["error"])
        dtype = self.own_dtype(own)
        low = own is not None and dtype != torch.float64
        rounded = self.reference(settings, self.checked, {**own, "dtype": dtype}) if own and low else (None, None)
        precision = Precision.of(dtype, grads, rounded[1], forward=(trusted, rounded[0]))
        report = engine.check(
            self.name,
            precision.upcast(answers),
            grads,
            learner_forward={name: collected.value_of(data["forward"][name]) for name in self.forward_names},
            trusted_forward=trusted,
            forward_names=self.forward_names,
            error=error,
            rtol=self.rtol,
            atol=self.atol,
            tolerances=precision.tolerances,
            forward_tolerance=precision.forward,
            every_intermediate=own is None,  # a learner's own forward may skip some (hprebn.var(...) in one go)
            forward_lines=data.get("forward_lines"),
        )
        report.output = data["output"]
        report.path = data["path"]
        report.notes += self.notes(data, own, taken)
        outputs, leaves = refs("pieces", lambda: self.pieces(settings, self.checked, own))
        named = refs("mistakes", lambda: self.named_mistakes(settings, own))
        blame.blame(
            report.variables,
            precision.upcast(answers),
            grads,
            outputs,
            leaves,
            n=self.batch_size(own, settings),
            changes=data["changes"],
            error=error,
            raised=data["raised"],
            namespace={k: torch.empty(shape, device="meta") for k, shape in data["shapes"].items()},
            forward_ok=report.forward_ok,
            alias=data["shared"],
            mistakes=named,
            raised_here=errors_by_name(data.get("raised_here") or {}),
            statements={
                name: [(line, collected.value_of(value), adds) for line, value, adds in steps]
                for name, steps in (data.get("statements") or {}).items()
            },
        )
        return report

    def notes(self, data: dict, own: dict | None, taken: Mapping[str, str]) -> list[str]:
        """What the report says about the whole file: its own tensors, near names taken, the errors
        of cells that did not stop the check, .grad read in the backward."""
        notes = []
        if own:
            package_batch = not data.get("own_batch")
            own_names, grad_names = data.get("own_names") or {}, data.get("grad_names") or {}
            notes.append(self.own_note(own, own_names, grad_names, package_batch))
        notes += [f"d{name}: taken from {other}, a near name (rename it d{name})" for name, other in taken.items()]
        notes += [ran_on(error) for e in data.get("other_errors") or () if (error := collected.error_of(e))]
        if data.get("autograd_lines"):
            notes.append(
                f"{data['path']}:{data['autograd_lines'][0]}: .grad or .backward() in your backward: ninja checks "
                "your formulas, autograd is the reference (a gradient read from .grad is autograd's, not yours)"
            )
        return notes

    # ---- the learner's own tensors ----

    def own_roles(self, namespace, settings: Settings):
        """The learner's own parameters and inputs (found by role), unless they are the package's."""
        finder = self.find_roles or generic_roles.by_name
        found = finder(namespace, self.model, self.forward_names)
        if found is None:
            return None
        return None if generic_roles.is_the_packages(found.tensors, self.tapped.package_tensors(settings)) else found

    def learner_forward(self, run: runner.LearnerRun, found, settings: Settings) -> dict:
        """The learner's intermediates by role. With their own tensors, a name their code never
        computed still holds the template's value (a notebook's cells run after the template's
        forward): that is not theirs, so it is left out."""
        if found is None:
            return {name: run.namespace.get(name) for name in self.forward_names}
        package = self.tapped.values(settings)
        values = {}
        for name in self.forward_names:
            value = run.namespace.get(found.names.get(name, name))
            stale = (
                name not in found.names
                and torch.is_tensor(value)
                and name in package
                and generic_roles.same(value, package[name])
            )
            values[name] = None if stale else value
        return values

    def same_inputs(self, tensors: Mapping[str, torch.Tensor], settings: Settings) -> bool:
        """The learner's inputs (Xb and Yb) are the package's at `settings`."""
        package = self.tapped.package_tensors(settings)
        return all(
            tensors[k].shape == package[k].shape and torch.equal(tensors[k], package[k])
            for k in self.tapped.input_names
        )

    def own_dtype(self, own: Mapping | None) -> torch.dtype | None:
        """The precision of a learner's own parameters (their first floating one's dtype)."""
        if not own:
            return None
        return next((own[k].dtype for k in self.tapped.parameter_names if own[k].is_floating_point()), torch.float64)

    def batch_size(self, own: Mapping | None, settings: Settings) -> int:
        """n, for the factors blame names: the first input's first dim on the learner's own tensors."""
        inputs = [own[k] for k in self.tapped.input_names if own[k].dim()] if own else []
        return inputs[0].shape[0] if inputs else settings.batch_size

    def own_note(self, own: dict, names: Mapping[str, str], grad_names: Mapping[str, str], package_batch=False) -> str:
        """One line: which tensors of theirs the check ran on, and their names for them."""
        dtype = str(self.own_dtype(own)).removeprefix("torch.")
        sizes = self.describe(own) if self.describe else f"batch {self.batch_size(own, Settings())}"
        every = (*self.tapped.parameter_names, *self.tapped.input_names)
        renamed = [f"{names[k]} for {k}" for k in every if names.get(k, k) != k]
        renamed += [f"{g} for d{k}" for k, g in grad_names.items()]
        yours = f"; your names: {', '.join(renamed)}" if renamed else ""
        what = "your own parameters and ninja's batch" if package_batch else "your own parameters and batch"
        return f"checked on {what} ({sizes}, {dtype}){yours}"


@dataclass(frozen=True)
class Precision:
    """How closely a learner's gradients can match: float64's defaults, or, on their own float32
    tensors, float32's rounding without letting a wrong formula through. That rounding is
    measured, not guessed: autograd on the same tensors in float32 differs from float64 by some
    amount per gradient (a right float32 answer differs by at most 2.8 times that: python
    bench/float32_fairness.py), and the tolerance is ten times it. A wrong formula is off by a
    percent or more of the scale."""

    tolerances: dict | None = None
    # the forward check is as strict as the gradient check can see: float64's rounding, or ten
    # times the learner's dtype's, measured the same way per intermediate
    forward: tuple[float, float] | dict = (1e-9, 1e-12)
    dtype: torch.dtype | None = None

    @staticmethod
    def of(
        dtype: torch.dtype | None,
        grads: Mapping[str, torch.Tensor],
        rounded: Mapping[str, torch.Tensor] | None,
        forward: tuple[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor] | None] = ({}, None),
    ) -> Precision:
        """`dtype`: the learner's own tensors' (None: the package's); `rounded`: the reference
        computed at that dtype; `forward`: the trusted forward values in float64 and at that dtype."""
        if dtype is None or dtype == torch.float64 or rounded is None:
            return Precision()
        tolerances = {k: (1e-5, 10 * noise(rounded[k], g) + 1e-12) for k, g in grads.items()}
        trusted, rounded_forward = forward[0], forward[1] or {}
        forward_tolerances = {k: (0.0, 10 * noise(rounded_forward[k], t) + 1e-12)
                              for k, t in trusted.items() if k in rounded_forward and t.is_floating_point()}  # fmt: skip
        return Precision(tolerances, forward_tolerances or (1e-4, 1e-5), dtype)

    def upcast(self, answers: dict) -> dict:
        """A learner's float32 gradients in float64, so no dtype note talks about it: their tensors are float32."""
        if self.dtype is None:
            return answers
        return {
            k: v.to(torch.float64) if torch.is_tensor(v) and v.dtype == self.dtype else v for k, v in answers.items()
        }


def noise(rounded: torch.Tensor, exact: torch.Tensor) -> float:
    """How far a value computed at a lower precision lands from float64's: the largest difference,
    where both are finite (a mask's -inf is -inf at every precision)."""
    difference = rounded.to(torch.float64) - exact
    finite = difference[torch.isfinite(difference)]
    return finite.abs().max().item() if finite.numel() else 0.0


def package_tensors_import(module: str) -> re.Pattern:
    """`from <module> import ..., tensors` (or parameters, batch): how a template gets its tensors."""
    return re.compile(rf"^\s*from {re.escape(module)} import [^\n]*\b(parameters|batch|tensors)\b", re.MULTILINE)


def uses_package_tensors(path: Path, module: str) -> bool:
    """A .py made from ninja's template (`from ninja.makemore import batch, parameters`, or
    `from ninja.tapped.learner import tensors`: `module`): its
    tensors are the package's, whatever its lines do to them (an edited forward is a changed
    forward). A notebook's cells say for themselves (the program ninja made imports them too)."""
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return has_package_tensors(source, module)


def has_package_tensors(source: str, module: str) -> bool:
    """uses_package_tensors, on the file's text."""
    return runner.CELL_MARK not in source and bool(package_tensors_import(module).search(source))


def gradient_name(role: str, learner_name: str, run: runner.LearnerRun) -> str:
    """The learner's gradient of `role`: d<their name> (dw1 for their w1), else d<role> (dW1)."""
    for name in (f"d{learner_name}", f"d{role}"):
        if name in run.namespace or name in run.changed_at:
            return name
    return f"d{role}"


def blocking_error(run: runner.LearnerRun, checked, answers, spans) -> LearnerError | None:
    """The error a report stands on: a plain file's, or (a notebook's cells, which run on after one
    raises) the first that left a gradient unwritten; the others are notes."""
    if len(run.segments) <= 1 or not run.compiled or run.stopped is not None:
        return run.error
    unreached = [name for name in checked if answers[name] is UNREACHED]
    for e in run.errors:
        if e.line is None:
            return e
        _, last = run.segment_of(e.line)
        lines = (first for name in unreached for first, _ in spans.get(f"d{name}", ()))
        if any(e.line <= line <= last for line in lines):
            return e
    return None


def lines_that_ran(run: runner.LearnerRun) -> dict[str, list[tuple[int, int]]]:
    """changed_at less the statements that never ran (after an error in their cell); the one that
    raised stays, it is the line to point at."""
    raised = [e.line for e in run.errors if e.line]
    return {
        name: [(a, b) for a, b in spans if run.ran(a) or any(a <= line <= b for line in raised)]
        for name, spans in run.changed_at.items()
    }


def forward_lines(run: runner.LearnerRun, found, forward_names) -> dict[str, str]:
    """By intermediate, "path:line: source" of the learner's last statement that computes it."""
    try:
        source = runner.read_source(run.path)
    except (OSError, SyntaxError):
        return {}
    lines = {}
    for name in forward_names:
        spans = run.changed_at.get(found.names.get(name, name) if found else name)
        if spans:
            line = spans[-1][0]
            lines[name] = f"{run.path}:{line}: `{runner.source_line(source, line)}`"
    return lines


def tied_gradients(run: runner.LearnerRun, answers, changes, grad_of: Mapping[str, str]) -> dict[str, list]:
    """blame.shared_storage, told which of the learner's statements bind a gradient afresh, with the
    two statements that tied two gradients and changed them in place, as they wrote them."""
    try:
        source = runner.read_source(run.path)
        statements = statements_by_line(source)
    except (OSError, SyntaxError, ValueError):
        return blame.shared_storage(answers, changes)
    fresh = {
        name: [line for line in lines if line in statements and binds(statements[line], grad_of[name])]
        for name, lines in changes.items()
    }
    said = lambda line: runner.source_line(source, line)  # noqa: E731
    return {
        name: [other, tied, changed, said(tied), said(changed)]
        for name, (other, tied, changed) in blame.shared_storage(answers, changes, fresh).items()
    }


@functools.lru_cache(maxsize=8)
def statements_by_line(source: str) -> dict[int, ast.stmt]:
    """The whole statement that starts at each line of a file (the outermost: ast.walk meets it first)."""
    statements: dict[int, ast.stmt] = {}
    for statement in ast.walk(runner.parsed(source)):
        if isinstance(statement, ast.stmt):
            statements.setdefault(statement.lineno, statement)
    return statements


def binds(statement: ast.stmt, name: str) -> bool:
    """`statement` gives `name` a new object (`dx = ...`, a for target), not only changes the one it
    holds in place (`dx += ...` on a tensor, `dx[i] = ...`, `dx.add_(...)`)."""
    augmented = {id(node.target) for node in ast.walk(statement) if isinstance(node, ast.AugAssign)}
    return any(
        isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store) and id(node) not in augmented
        for node in ast.walk(statement)
    )


def statement_values(run: runner.LearnerRun, grad_of: Mapping[str, str], checked) -> dict[str, list]:
    """For a gradient written in several statements (`=` then `+=`), what it held after each, as
    plain data: blame judges it statement by statement."""
    return {
        name: [[step.line, collected.plain(step.value), step.adds] for step in run.snapshots[grad_of[name]]]
        for name in checked
        if len(run.snapshots.get(grad_of[name], ())) > 1
    }


def errors_by_name(data: Mapping[str, list]) -> dict[str, LearnerError]:
    """collect's "raised_here" back into LearnerErrors."""
    return {name: error for name, e in data.items() if (error := collected.error_of(e)) is not None}


def setup_failed(data: dict) -> bool:
    """The file raised before its backward: no gradient was reached, and none of its own tensors found
    (a script that reads ./data.txt or imports a module that is not here)."""
    answers = (data.get("answers") or {}).values()  # exercise 4 collects a function's returns instead
    return bool(answers) and data["error"] is not None and not data.get("own") and all(a is UNREACHED for a in answers)


def ran_on(error: LearnerError) -> str:
    return f"{error.where}: {error.kind}: {error.message} (this cell stopped there; the cells after it ran)"


def distance(a: str, b: str) -> int:
    """Levenshtein distance: edits that turn a into b."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def near_names(namespace, checked, answers, forward_names=()) -> dict[str, list]:
    """For a gradient that is missing, tensors under a near name (dlogits_maxes for
    dlogit_maxes: at most 2 edits), as plain data; judge keeps the first of the right shape.
    Never one of the forward's own names (diff is no typo of ddiff)."""
    ours = {f"d{name}" for name in checked} | set(forward_names)
    near = {}
    for name in checked:
        if answers[name] is None:
            found = [
                (k, collected.plain(v))
                for k, v in namespace.items()
                if k.startswith("d") and k not in ours and torch.is_tensor(v) and distance(k, f"d{name}") <= 2
            ]
            if found:
                near[name] = [list(pair) for pair in found[:3]]
    return near


def take_near_names(answers: dict, near: Mapping, grads: Mapping) -> dict[str, str]:
    """Put a near name's tensor in place of a missing gradient when its shape is right: name -> the
    learner's name."""
    taken = {}
    for name, candidates in near.items():
        for other, value in candidates:
            value = collected.value_of(value)
            fits = torch.is_tensor(value) and engine.shape_mistake(value.shape, grads[name].shape) is None
            if answers.get(name) is None and fits:  # (64,) for (1, 64) too: it updates bnmeani alike
                answers[name], taken[name] = value, other
    return taken


AUTOGRAD = re.compile(r"\.grad\b(?!_)|\.backward\(")


def autograd_lines(path: Path, gradients: set[str]) -> list[int]:
    """The lines of the backward (from the first statement that writes one of `gradients` to the
    last, a training loop after it left out) that read .grad or call .backward(): there autograd is
    the reference, not a learner's tool. A script's own cmp and loss.backward() before or after its
    backward are its business."""
    try:
        source = runner.read_source(Path(path))
    except (OSError, SyntaxError):
        return []
    return list(backward_autograd_lines(source, frozenset(gradients)))


@functools.lru_cache(maxsize=8)
def backward_autograd_lines(source: str, gradients: frozenset[str]) -> tuple[int, ...]:
    """autograd_lines of a file's text: worked out once when it runs at several settings."""
    try:
        tree = runner.parsed(source)
    except (SyntaxError, ValueError):
        return ()
    end = runner.backward_end(source, gradients, as_main=True) or len(source.splitlines())
    writing = [
        s for s in runner.module_statements(tree, as_main=True)
        if runner.changed_names(s) & gradients and s.lineno <= end and not runner.training_loop(s, set(gradients))
    ]  # fmt: skip
    if not writing:
        return ()
    first, last = writing[0].lineno, writing[-1].end_lineno or writing[-1].lineno
    code = [text.split("#")[0] for text in source.splitlines()]
    return tuple(i for i, text in enumerate(code, 1) if first <= i <= last and AUTOGRAD.search(text))
