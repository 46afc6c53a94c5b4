"""`ninja dev check FILE [--solution S]`: is an exercise file a sound exercise?

What it checks, each failure one line saying what to change:
- the file loads and is valid (ninja/tapped/files.py says what is wrong where);
- the reference agrees with central differences, for every checked name;
- every checked gradient is reachable and not all zero at the package's inputs;
- the generated template runs and reports every checked gradient missing, and the audit that
  grading runs finds nothing in it;
- the solution, if given, passes;
- a mistake injected at each checked line (the sign flipped; a sum dropped where the forward
  broadcasts) is blamed on that line: it is the root cause, and whatever fails after it inherits.
"""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ninja import engine
from ninja.results import MISSING, PASS
from ninja.settings import Settings
from ninja.tapped import blame, files
from ninja.tapped.exercise import Exercise

SMALL = Settings(seed=0, batch_size=4)  # central differences cost a forward per element: a small batch
SAMPLES = 3  # elements per checked name


class DevCheckUsage(Exception):
    """The command cannot run: a path that is not a readable .py file (exit code 2)."""


@dataclass
class Outcome:
    name: str
    passed: list[str] = field(default_factory=list)  # what was checked and holds, one line each
    failures: list[str] = field(default_factory=list)  # one line each: what to change

    @property
    def ok(self) -> bool:
        return not self.failures

    def run(self, steps: list[tuple[str, Callable[[Any], list[str]]]], exercise) -> bool:
        """Each step on `exercise`: its failures, or its words as passed. Whether all passed."""
        ok = True
        for words, step in steps:
            found = step(exercise)
            self.failures += found
            if not found:
                self.passed.append(words)
            ok = ok and not found
        return ok

    def run_solution(self, exercise, solution: Path, passes, made_wrong: tuple[str, Callable]) -> None:
        """The solution passes (passes(exercise, solution) finds nothing), and then the solution made
        wrong (made_wrong's step): a solution that fails says nothing about it made wrong."""
        if self.run([(f"the solution {solution} passes", lambda e: passes(e, Path(solution)))], exercise):
            words, step = made_wrong
            self.run([(words, lambda e: step(e, Path(solution)))], exercise)


def readable(path: Path, what: str) -> Path:
    if path.suffix != ".py" or not path.is_file():
        raise DevCheckUsage(f"{what} {path}: give a readable .py file")
    return path


def dev_check(path: Path, solution: Path | None = None, name: str | None = None, module=None) -> Outcome:
    """Every check above on the tapped exercise file at `path` (named `name`, default its stem;
    `module`: the file already imported). ninja/registry.py's dev_check picks the checks of a
    file's kind: these, or CS231n's (ninja/cs231n/filecheck.py)."""
    path = readable(Path(path), "FILE")
    if solution is not None:
        readable(Path(solution), "--solution")
    outcome = Outcome(name or path.stem)
    try:
        exercise = files.loaded(path, outcome.name, module)
    except files.ExerciseFileError as e:
        outcome.failures.append(str(e))
        return outcome
    outcome.passed.append(f"{path} loads: {len(exercise.checked)} checked names, {len(exercise.given)} given")
    steps: list[tuple[str, Callable[[Exercise], list[str]]]] = [
        ("the reference agrees with central differences", central_differences),
        ("every checked gradient is reachable and not all zero", reachable),
        ("the template runs and reports every gradient missing; the audit finds nothing in it", template_is_blank),
        ("a mistake injected at each checked line is blamed on that line", injected_mistakes),
        ("every named mistake computes, in its gradient's shape", named_mistakes_compute),
    ]
    outcome.run(steps, exercise)
    if solution is not None:
        blamed = ("in the solution, each line made wrong is the root cause blame names", blamed_in_solution)
        outcome.run_solution(exercise, Path(solution), solution_passes, blamed)
    return outcome


def loss_with(exercise: Exercise, name: str, index: tuple, step: float) -> float:
    """The loss with element `index` of `name` (a parameter or a tapped step) moved by `step`."""
    model = exercise.model
    assert model is not None  # a loaded exercise file has one
    tensors = model.package_tensors(SMALL)

    def nudge(t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        t[index] += step
        return t

    if name in tensors:
        tensors[name] = nudge(tensors[name])
    with torch.no_grad():
        loss = model.forward(lambda k, t: nudge(t) if k == name else t, **tensors)
    return loss.item()


def central_differences(exercise: Exercise, eps: float = 1e-6) -> list[str]:
    """Autograd's gradient against (L(x + eps) - L(x - eps)) / 2 eps at a few elements of each name."""
    _, grads = exercise.reference(SMALL, (*exercise.checked, *exercise.given))
    g = torch.Generator().manual_seed(0)
    failures = []
    for name, grad in grads.items():
        if grad.numel() == 0:
            continue
        for flat in torch.randint(0, grad.numel(), (SAMPLES,), generator=g).tolist():
            index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), grad.shape))
            numeric = (loss_with(exercise, name, index, eps) - loss_with(exercise, name, index, -eps)) / (2 * eps)
            analytic = grad[index].item()
            if abs(numeric - analytic) > 1e-5 + 1e-3 * abs(analytic):
                failures.append(
                    f"d{name}{list(index)}: autograd says {analytic:.6g}, central differences {numeric:.6g}: the "
                    f"forward is not smooth there (a max or abs at a tie, rounding to integers) or it is not "
                    f"deterministic; make {name}'s line differentiable at the package's inputs"
                )
                break
    return failures


def reachable(exercise: Exercise) -> list[str]:
    _, grads = exercise.reference(Settings(), exercise.checked)
    return [
        f"d{name} is all zero at the package's inputs: {name} does not reach the loss, or its gradient vanishes "
        f"there; take it out of CHECKED or change parameters()/inputs()"
        for name, grad in grads.items()
        if not torch.any(grad != 0)
    ]


def template_is_blank(exercise, forward: str = "the forward") -> list[str]:
    """The generated template runs, leaves every checked result to the learner, and passes the
    audit: for either kind of exercise file (`forward`: what a learner's template is given)."""
    from ninja.grade.audit import audit

    shown = exercise.labels.shown
    source = exercise.template.read_text(encoding="utf-8")
    report = exercise.check(exercise.template, Settings())
    failures = []
    if report.error is not None:
        e = report.error
        failures.append(f"the template raises at line {e.line}: {e.kind}: {e.message}: fix {forward} or its imports")
    failures += [f"the template: {note}" for note in report.notes]
    failures += [
        f"the template already gives {shown(v.name)} ({v.status}): it must leave every checked result to the learner"
        for v in report.variables
        if v.status != MISSING and report.error is None
    ]
    failures += [
        f"the template: grading's audit flags line {f.line}: {f.what}: keep such code out of {forward}"
        for f in audit(source, str(exercise.template))
    ]
    return failures


def named_mistakes_compute(exercise: Exercise) -> list[str]:
    """MISTAKES' candidates, each computed on the reference: one that raises or has the wrong shape
    would never name anything."""
    if exercise.mistakes is None:
        return []
    values, grads = exercise.reference(Settings(), (*exercise.checked, *exercise.given))
    try:
        exercise.mistakes(values, grads, strict=True)
    except files.ExerciseFileError as e:
        return [str(e)]
    return []


def solution_passes(exercise, solution: Path) -> list[str]:
    """The solution passes every checked result (either kind of exercise file)."""
    report = exercise.check(solution, Settings())
    if report.error is not None:
        e = report.error
        return [f"the solution raises at {e.where}: {e.kind}: {e.message}"]
    failures = [f"the solution: {note}" for note in report.notes if not report.forward_ok]
    return failures + [
        f"the solution's {exercise.labels.shown(v.name)} {v.status}s{': ' + why if (why := v.diagnosis or v.note) else ''}"
        for v in report.variables
        if v.status != PASS
    ]


def injections(exercise: Exercise, name: str, right: torch.Tensor, outputs, leaves) -> list[tuple[str, torch.Tensor]]:
    """(what, the wrong gradient): the sign flipped, and where a line broadcasts `name`, its sum dropped."""
    wrong = [("the sign flipped", -right)]
    used_by = blame.consumers(outputs, leaves).get(name, [])
    for consumer in used_by[:1]:
        try:
            shape = torch.broadcast_shapes(right.shape, outputs[consumer].shape)
        except RuntimeError:  # not broadcast there (a matrix product, an index)
            continue
        if shape != right.shape:
            spread = right.expand(shape) / (torch.Size(shape).numel() / right.numel())
            wrong.append(("a sum dropped", spread))
    return wrong


def injected_mistakes(exercise: Exercise) -> list[str]:
    """Each checked gradient made wrong alone, the others right: blame must name it, and only it."""
    settings = Settings()
    _, grads = exercise.reference(settings, exercise.checked)
    outputs, leaves = exercise.pieces(settings, exercise.checked)
    lines = {name: [i + 1] for i, name in enumerate(exercise.checked)}
    failures = []
    for name in exercise.checked:
        for what, wrong in injections(exercise, name, grads[name], outputs, leaves):
            answers = dict(grads) | {name: wrong}
            report = engine.check(exercise.name, answers, grads)
            if report.variables[exercise.checked.index(name)].status == PASS:
                continue  # a gradient that is zero at these inputs (d logit_maxes): no mistake to find
            blame.blame(report.variables, answers, grads, outputs, leaves, n=settings.batch_size, changes=lines)
            roots = [v.name for v in report.variables if v.root_cause]
            if roots != [name]:
                said = f"blames {', '.join('d' + r for r in roots)}" if roots else "names no root cause"
                failures.append(
                    f"d{name} with {what}: blame {said}, not d{name}: {name}'s line is not a step of its own "
                    f"(tap it where it is computed, one small step a line)"
                )
    return failures


def blamed_in_solution(exercise: Exercise, solution: Path) -> list[str]:
    """The solution with each checked line made wrong in turn (`dX = -dX` after its last
    assignment): the report's root cause is dX, and every later failure inherits from it."""
    source = solution.read_text(encoding="utf-8")
    tree = ast.parse(source)
    last: dict[str, int] = {}
    for statement in tree.body:  # a loop that writes dC[ix] counts as a whole
        for node in ast.walk(statement):
            for target in getattr(node, "targets", [getattr(node, "target", None)]):
                while isinstance(target, (ast.Subscript, ast.Attribute)):  # dC[ix] = ..., dC += ...
                    target = target.value
                if isinstance(target, ast.Name) and target.id.startswith("d"):
                    last[target.id[1:]] = statement.end_lineno or statement.lineno
    failures = []
    with tempfile.TemporaryDirectory(prefix="ninja-devcheck-") as folder:
        for name in exercise.checked:
            if name not in last:
                continue
            lines = source.splitlines()
            lines.insert(last[name], f"d{name} = -d{name}")
            broken = Path(folder) / solution.name
            broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
            report = exercise.check(broken, Settings())
            if next(v for v in report.variables if v.name == name).status == PASS:
                continue  # a gradient that is zero at these inputs: flipping it changes nothing
            roots = [v.name for v in report.variables if v.root_cause]
            strays = [
                v.name for v in report.variables if v.status != PASS and not v.root_cause and v.inherited_from != name
            ]
            if roots != [name] or strays:
                failures.append(
                    f"the solution with d{name} flipped: blame names {roots or 'nothing'} as root cause"
                    f"{' and leaves ' + ', '.join(strays) + ' unexplained' if strays else ''}: check that {name} is "
                    f"tapped where the solution computes it"
                )
    return failures
