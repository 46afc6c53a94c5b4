"""What a check finds: plain data, made by the engine and read by render."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

PASS, FAIL, MISSING, ERROR = "pass", "fail", "missing", "error"

# what a note about the whole file is: code asks its kind, never its words
REMARK = "remark"  # how the file was read (its own tensors, a near name, ...): worth reading, no verdict
FORWARD_CHANGED = "forward_changed"  # the learner's forward differs from the trusted one: the check fails


class Note(str):
    """A note about the whole file: the words a person reads, and its `kind` for code (REMARK,
    FORWARD_CHANGED). A str, so that it reads, joins and prints as one; a plain str is a REMARK."""

    kind: str

    def __new__(cls, text: str, kind: str = REMARK) -> Note:
        note = super().__new__(cls, text)
        note.kind = kind
        return note

    def __reduce__(self):  # copies and pickles keep the kind
        return Note, (str(self), self.kind)


def kind_of(note: str) -> str:
    return getattr(note, "kind", REMARK)


@dataclass(frozen=True)
class Labels:
    """How an exercise's results read and show, said by the exercise: the core never asks which
    track it holds. GRADIENTS: makemore's d<variable>; FUNCTIONS: CS231n's function.output."""

    prefix: str = "d"  # a checked name as the learner writes its result: dprobs (CS231n: affine_backward.dx)
    column: str = "variable"  # the table's first column
    exact: bool = True  # the table shows exact (bit-for-bit equal)
    relerr: bool = False  # the table shows rel_error, as CS231n's notebooks print it
    diagnosis_in_row: bool = False  # a diagnosis shows in its row's note too, not only under the table
    setting: str = "batch size"  # what grading varies from one run to the next
    by_seed: bool = False  # grading's runs differ by seed, not batch size (CS231n: shapes come with the cases)
    hard_coded: str = "n or a value"  # what a result right at one setting only has hard-coded

    def shown(self, name: str) -> str:
        """What the learner calls a checked result: dprobs in makemore, affine_backward.dx in CS231n."""
        return f"{self.prefix}{name}"


GRADIENTS = Labels()
FUNCTIONS = Labels(
    prefix="",
    column="result",
    exact=False,
    relerr=True,
    diagnosis_in_row=True,
    setting="input set",
    by_seed=True,
    hard_coded="a value",
)


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
    notes: list[str] = field(default_factory=list)  # about the whole file: Notes (a changed forward, ...)
    error: LearnerError | None = None
    forward_ok: bool = True
    output: str = ""  # what the learner's file printed
    path: str | None = None  # the learner's file, for path:line pointers
    track: str = "makemore"  # the exercise's track, for the JSON output; code reads `labels`
    scope: str | None = None  # what part of the exercise was checked, when not all of it (--only svm)
    labels: Labels = GRADIENTS  # how its results read (the exercise's)

    @property
    def passed(self) -> bool:
        return self.forward_ok and self.error is None and all(v.status == PASS for v in self.variables)

    @property
    def correct(self) -> int:
        return sum(v.status == PASS for v in self.variables)


# ---- a report as plain data: `ninja check --format json`, and what `ninja watch`'s child sends ----


def to_dict(report: Report) -> dict:
    """The report as JSON-ready data (no NaN or inf: those become strings); from_dict reads it back."""
    return {
        "exercise": report.exercise,
        "track": report.track,
        "passed": report.passed,
        "correct": report.correct,
        "total": len(report.variables),
        "forward_ok": report.forward_ok,
        "variables": [variable_dict(v, report) for v in report.variables],
        "notes": [str(note) for note in report.notes],
        "note_kinds": [kind_of(note) for note in report.notes],
        "error": None
        if report.error is None
        else {
            "kind": report.error.kind,
            "message": report.error.message,
            "file": report.error.path,
            "line": report.error.line,
            "cell": report.error.cell,
            "source": report.error.source,
        },
        "output": report.output,
        "file": report.path,
        "scope": report.scope,
        "labels": asdict(report.labels),
    }


def variable_dict(v: VarResult, report: Report) -> dict:
    return {
        "name": v.name,
        "status": v.status,
        "exact": v.exact,
        "approx": v.approx,
        "maxdiff": finite(v.maxdiff),
        "relerr": finite(v.relerr),
        "shape": list(v.shape) if v.shape is not None else None,
        "expected_shape": list(v.expected_shape),
        "note": v.note,
        "root_cause": v.root_cause,
        "inherited_from": v.inherited_from,
        "diagnosis": v.diagnosis,
        "diagnosis_kind": v.diagnosis_kind,
        "line": v.line,
        "cell": v.cell,
        "numeric_relerr": finite(v.numeric_relerr),
        "file": v.path or report.path,
    }


def finite(x: float | None) -> float | str | None:
    """JSON has no NaN or inf: those as the strings 'nan', 'inf', '-inf'."""
    return x if x is None or math.isfinite(x) else str(x)


def number(x: float | str | None) -> float | None:
    return float(x) if isinstance(x, str) else x


def from_dict(data: dict) -> Report:
    """A report from to_dict's data, as it was."""
    path = data["file"]
    error = data["error"] and LearnerError(
        data["error"]["kind"], data["error"]["message"], data["error"]["file"], data["error"]["line"],
        data["error"]["source"], data["error"]["cell"],
    )  # fmt: skip
    notes = data["notes"]
    kinds = data.get("note_kinds") or [REMARK] * len(notes)
    return Report(
        exercise=data["exercise"],
        variables=[variable_from(v, path) for v in data["variables"]],
        notes=[Note(text, kind) for text, kind in zip(notes, kinds)],
        error=error,
        forward_ok=data["forward_ok"],
        output=data["output"],
        path=path,
        track=data["track"],
        scope=data["scope"],
        labels=Labels(**data["labels"]),
    )


def variable_from(v: dict, path: str | None) -> VarResult:
    return VarResult(
        name=v["name"],
        status=v["status"],
        expected_shape=tuple(v["expected_shape"]),
        shape=None if v["shape"] is None else tuple(v["shape"]),
        exact=v["exact"],
        approx=v["approx"],
        maxdiff=number(v["maxdiff"]),
        relerr=number(v["relerr"]),
        note=v["note"],
        root_cause=v["root_cause"],
        inherited_from=v["inherited_from"],
        diagnosis=v["diagnosis"],
        diagnosis_kind=v["diagnosis_kind"],
        line=v["line"],
        cell=v["cell"],
        numeric_relerr=number(v["numeric_relerr"]),
        path=v["file"] if v["file"] != path else None,
    )
