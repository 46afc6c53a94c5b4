"""What a check finds: plain data, made by the engine and read by render."""

from __future__ import annotations

from dataclasses import dataclass, field

PASS, FAIL, MISSING, ERROR = "pass", "fail", "missing", "error"


@dataclass
class LearnerError:
    """The learner's file did not run to the end: where and why."""

    kind: str  # the exception's type, e.g. "SyntaxError", "RuntimeError"
    message: str
    path: str
    line: int | None  # in the learner's file
    source: str | None = None  # the text of that line
    cell: str | None = None  # in a notebook: 'code cell 7 ("# Exercise 1: ...")', the line counted in it

    @property
    def where(self) -> str:
        return at(self.path, self.cell, self.line)


def at(path: str | None, cell: str | None, line: int | None) -> str:
    """path:line, which editors open at the line; in a notebook `my.ipynb, code cell 7 ("..."), line 12`."""
    where = path or "your file"
    if cell:
        return f"{where}, {cell}, line {line}" if line else f"{where}, {cell}"
    return f"{where}:{line}" if line else where


@dataclass
class VarResult:
    """One checked variable: the learner's d<name> against autograd's d loss / d <name>."""

    name: str
    status: str  # pass, fail, missing, error
    expected_shape: tuple[int, ...]
    shape: tuple[int, ...] | None = None  # None when there is no tensor to compare
    exact: bool | None = None
    approx: bool | None = None
    maxdiff: float | None = None
    relerr: float | None = None
    note: str | None = None  # a shape, dtype or type remark worth reading even on a pass
    # local blame (ninja/blame.py): is this line itself wrong, or did a wrong gradient reach it?
    root_cause: bool = False
    inherited_from: str | None = None  # the root cause a failure comes from
    diagnosis: str | None = None  # what kind of mistake it looks like, in words
    diagnosis_kind: str | None = None  # the same as one word: factor, shape, missing_branch, ...
    line: int | None = None  # the learner's line that last assigned d<name>
    cell: str | None = None  # in a notebook, the code cell that line is in (`line` counts in it)
    numeric_relerr: float | None = None  # CS231n rel_error against central differences (--numeric)
    path: str | None = None  # the file `line` is in, when a check read several (else Report.path)


@dataclass
class Report:
    exercise: str
    variables: list[VarResult]
    notes: list[str] = field(default_factory=list)  # about the whole file: a changed forward, ...
    error: LearnerError | None = None
    forward_ok: bool = True
    output: str = ""  # what the learner's file printed
    path: str | None = None  # the learner's file, for path:line pointers
    track: str = "makemore"  # "cs231n": names are function.output, relerr shown
    scope: str | None = None  # what part of the exercise was checked, when not all of it (--only svm)

    @property
    def passed(self) -> bool:
        return self.forward_ok and self.error is None and all(v.status == PASS for v in self.variables)

    @property
    def correct(self) -> int:
        return sum(v.status == PASS for v in self.variables)


def shown_name(track: str, name: str) -> str:
    """What the learner calls a checked result: dprobs in makemore, affine_backward.dx in CS231n."""
    return name if track == "cs231n" else f"d{name}"
