"""`ninja hint`: progressive hints, for a named variable or for the first line of the learner's file
that is wrong. Hints come from each exercise module; they never print the solution's code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ninja import course_rules
from ninja.results import PASS, Report, at

if TYPE_CHECKING:
    from ninja.registry import Exercise

LEVELS = {1: "the shapes, and the line that uses it", 2: "the local derivative", 3: "the rule"}


class UnknownVariable(LookupError):
    def __init__(self, exercise: Exercise, name: str):
        known = ", ".join(exercise.labels.shown(checked) for checked in exercise.checked)  # dprobs, as written
        super().__init__(f"{exercise.name} checks no variable named {name!r}. Known: {known}.")


def variable_named(exercise: Exercise, name: str) -> str:
    """`probs` or `dprobs`, as the learner thinks of it; in CS231n a result or a function name."""
    for candidate in (name, name.removeprefix("d")):
        if candidate in exercise.checked or candidate in exercise.hints:
            return candidate
    raise UnknownVariable(exercise, name)


def hints_for(exercise: Exercise, name: str) -> tuple[str, ...]:
    """The hints for a checked name, level 1 first; none when none is written. CS231n hints are per
    function: affine_backward.dx reads affine_backward's."""
    return tuple(exercise.hints.get(name) or exercise.hints.get(name.split(".")[0]) or ())


def hint_text(exercise: Exercise, name: str, level: int, cap: int | None = None) -> str:
    """The hint at `level` (past the last one: the last), what `ninja hint` and watch's h key print.
    `cap`: the highest level the course allows (a course's student install carries no text above
    it: ninja/course_rules.py); a level it left blank falls back to the one below."""
    cap = course_rules.hint_cap() if cap is None else cap
    if cap == 0:
        return "hints are off in this course"
    words, shown = hints_for(exercise, name), exercise.labels.shown(name)
    if not words:
        return f"no hint written for {shown} yet"
    wanted = min(level, len(words))
    given = max((k for k in range(1, min(wanted, cap) + 1) if words[k - 1]), default=0)
    if given == 0:
        return f"no hint for {shown} in this course"
    capped = f" (this course's hints stop at level {cap})" if given < wanted else ""
    return f"hint {given}/{len(words)} for {shown} ({LEVELS[given]}){capped}:\n  {words[given - 1]}"


def next_to_fix(report: Report) -> tuple[str | None, str]:
    """The variable a learner should look at now, and why: the first root cause, else the first
    gradient that is not right yet (in backward order). None when everything passes."""
    for v in report.variables:
        if v.root_cause:
            wrong = f"{at(report.path, v.cell, v.line)}: {report.labels.shown(v.name)} is wrong: {v.diagnosis}"
            return v.name, wrong if v.line else v.diagnosis or ""
    if report.error:
        e = report.error
        return None, f"{e.where}: {e.kind}: {e.message}: your file does not run to the end; fix that first"
    if not report.forward_ok:
        return None, " ".join(report.notes)
    for v in report.variables:
        if v.status != PASS:
            where = f"{at(v.path or report.path, v.cell, v.line)}: " if v.line else ""
            return v.name, f"{where}next: {report.labels.shown(v.name)} ({v.status})"
    return None, f"everything passes: {report.exercise} is done"
