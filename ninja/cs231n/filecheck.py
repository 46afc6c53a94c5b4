"""`ninja dev check` on a CS231n-style exercise file (ninja/cs231n/files.py): whether it is a
sound exercise, each failure one line saying what to change. ninja/devcheck.py has the tapped
kind's checks and the Outcome both report in."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from ninja.cs231n.cases import Case, Unit
from ninja.cs231n.files import FileExercise, from_module
from ninja.cs231n.mistakes import Mistake
from ninja.devcheck import Outcome, solution_passes, template_is_blank
from ninja.results import PASS
from ninja.settings import Settings
from ninja.tapped.files import ExerciseFileError


def dev_check(module: ModuleType, path: Path, solution: Path | None, name: str):
    """`ninja dev check` on a file of this kind: a devcheck.Outcome, each failure one line saying
    what to change. The checks: the file loads; each reference's gradients agree with central
    differences; every gradient is reachable; the template runs and reports every result missing,
    clean under grading's audit; MISTAKES compute; a solution passes, and with each backward's
    gradients negated, fails at that function alone, named."""
    outcome = Outcome(name)
    try:
        exercise = from_module(module, name, path)
    except ExerciseFileError as e:
        outcome.failures.append(str(e))
        return outcome
    kinds = ", ".join(f"{u.forward.removesuffix('_forward')} {reference_kind(exercise, u)}" for u in exercise.units)
    results = f"{len(exercise.checked)} checked result{'s' if len(exercise.checked) != 1 else ''}"
    outcome.passed.append(f"{path} loads: {len(exercise.functions)} functions, {results} ({kinds})")
    steps: list[tuple[str, Callable[[FileExercise], list[str]]]] = [
        ("each reference's gradients agree with central differences", central_differences),
        ("every checked gradient is reachable and not all zero", reachable),
        ("the template runs and reports every result missing; the audit finds nothing in it", template_given_forwards),
        ("every named mistake computes, in its gradient's shape", named_mistakes_compute),
    ]
    outcome.run(steps, exercise)
    if solution is not None:
        made_wrong = ("in the solution, each backward made wrong fails at that function, named", negated)
        outcome.run_solution(exercise, Path(solution), solution_passes, made_wrong)
    return outcome


def template_given_forwards(exercise: FileExercise) -> list[str]:
    return template_is_blank(exercise, "GIVEN's forwards")


def reference_kind(exercise: FileExercise, unit: Unit) -> str:
    return "NumPy pair" if unit.forward.removesuffix("_forward") in exercise.numpy_reference else "torch"


def each_gradient(exercise: FileExercise):
    """(unit, case, its tensors, the dout fed back, w, autograd's d w) for every checked gradient."""
    from ninja.cs231n.cases import dout_for, frozen, tensors

    for unit in exercise.units:
        for case in unit.cases(0, None):
            t = tensors(frozen(case.inputs), unit.wrt)
            out = unit.trusted(t, None)
            dout = torch.from_numpy(dout_for(case, tuple(out.shape)))
            grads = torch.autograd.grad(out, [t[w] for w in unit.wrt], dout)
            for w, grad in zip(unit.wrt, grads):
                yield unit, case, t, dout, w, grad


def central_differences(exercise: FileExercise) -> list[str]:
    """The truth (autograd through the reference) against CS231n's numerical gradient, h = 1e-5."""
    from ninja.cs231n.cases import numeric
    from ninja.cs231n.judge import NUMERIC_ENTRIES, rel_error

    failures, seen = [], set()
    for unit, case, t, dout, w, grad in each_gradient(exercise):
        if grad.numel() > NUMERIC_ENTRIES or (unit.forward, w) in seen:
            continue
        error = rel_error(numeric(unit, t, None, w, dout), grad)
        if error is None or error > 1e-6:
            seen.add((unit.forward, w))
            layer = unit.forward.removesuffix("_forward")
            fix = (
                f"fix {layer}_backward (or give a torch reference {layer}(...))"
                if layer in exercise.numpy_reference
                else f"make {layer}(...) differentiable at the cases' inputs (no max or abs at a tie, no rounding)"
            )
            failures.append(
                f"{layer}: d{w} on {case.label}: the {reference_kind(exercise, unit)} reference and central "
                f"differences differ (rel_error {error if error is not None else float('nan'):.1e}): {fix}"
            )
    return failures


def reachable(exercise: FileExercise) -> list[str]:
    nonzero: dict[tuple[str, str], bool] = {}
    for unit, _, _, _, w, grad in each_gradient(exercise):
        nonzero[(unit.forward, w)] = nonzero.get((unit.forward, w), False) or bool(torch.any(grad != 0))
    return [
        f"{forward.removesuffix('_forward')}_backward's d{w} is all zero on every case: {w} does not reach out, or "
        f"the cases make its gradient vanish; take it out of LAYERS or change the cases"
        for (forward, w), some in nonzero.items()
        if not some
    ]


def named_mistakes_compute(exercise: FileExercise) -> list[str]:
    """Each MISTAKES function on every case: it runs, and gives arrays in the right shapes."""
    from ninja.cs231n.cases import dout_for, frozen

    failures = []
    for unit in exercise.units:
        layer = unit.forward.removesuffix("_forward")
        for mistake in (m for m in unit.mistakes if m.produces is not None):
            for case in unit.cases(0, None):
                found = wrong_mistake(unit, mistake, case, dout_for, frozen)
                if found:
                    failures.append(
                        f"{exercise.source_file}: MISTAKES[{layer!r}][{mistake.message!r}] on {case.label}: {found}"
                    )
                    break
    return failures


def wrong_mistake(unit: Unit, mistake: Mistake, case: Case, dout_for, frozen) -> str | None:
    from ninja.cs231n.cases import tensors

    produces = mistake.produces
    assert produces is not None  # named_mistakes_compute: the file's own
    with torch.no_grad():
        shape = tuple(unit.trusted(tensors(frozen(case.inputs), ()), None).shape)
    shapes = {f"d{w}": tuple(np.shape(case.inputs[w])) for w in unit.wrt} | {"out": shape}
    try:
        made = {**produces(frozen(case.inputs), None), **produces(frozen(case.inputs), dout_for(case, shape))}
    except Exception as e:  # noqa: BLE001 (an instructor's function)
        return f"{type(e).__name__}: {e}"
    for key, value in made.items():
        if key not in shapes:
            return f"it gives {key!r}; it can give {', '.join(shapes)}"
        if tuple(np.shape(value)) != shapes[key]:
            return f"its {key} is {tuple(np.shape(value))}, {key} is {shapes[key]}"
    return None


NEGATED = """

_right_{name} = {name}


def {name}(dout, cache):  # ninja dev check: this backward's gradients negated
    got = _right_{name}(dout, cache)
    return tuple(-g for g in got) if isinstance(got, tuple) else -got
"""


def negated(exercise: FileExercise, solution: Path) -> list[str]:
    """The solution with one backward's gradients negated at a time: that backward's results fail,
    named (the sign flipped), and every other result passes or inherits from it (CALLS)."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="ninja-devcheck-") as folder:
        for unit in exercise.units:
            back = unit.backward[0]
            broken = Path(folder) / solution.name
            broken.write_text(solution.read_text(encoding="utf-8") + NEGATED.format(name=back), encoding="utf-8")
            report = exercise.check(broken, Settings())
            wrong = [v for v in report.variables if v.status != PASS]
            unnamed = [v.name for v in wrong if v.name.startswith(f"{back}.") and v.diagnosis_kind != "factor"]
            strays = [v.name for v in wrong if not v.name.startswith(f"{back}.") and v.inherited_from != back]
            if not wrong or unnamed or strays:
                said = (
                    "passes"
                    if not wrong
                    else f"{', '.join(unnamed)} fail unnamed"
                    if unnamed
                    else f"{', '.join(strays)} fail too"
                )
                failures.append(
                    f"the solution with {back}'s gradients negated: {said}: check that {back} returns its "
                    f"gradients in LAYERS' order, and that the cases reach every branch"
                )
    return failures
