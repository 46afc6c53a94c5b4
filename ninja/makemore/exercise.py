"""A makemore exercise: module-level forward pass in the learner's file, then one `d<name> = ...`
per checked variable, compared with autograd on the trusted forward at the same settings.

Each exercise module here (exercise1-4) builds one `Exercise`; the learner's template lives in
exercises/<name>.py and the reference solution in solutions/<name>.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch

from ninja import collected, engine, makemore, runner
from ninja.exercise import BundledFiles, cached
from ninja.makemore import blame, mistakes
from ninja.engine import UNREACHED
from ninja.results import LearnerError, Report
from ninja.settings import Settings


@dataclass(frozen=True)
class Exercise(BundledFiles):
    """A makemore exercise: module-level forward pass in the learner's file, then one `d<name> = ...`
    per checked variable, compared with autograd on the trusted forward at the same settings."""

    name: str
    title: str
    checked: tuple[str, ...]  # in backward order; d<name> holds d loss / d <name>
    forward_names: tuple[str, ...]  # intermediates the learner's file computes, in forward order
    rtol: float = 1e-5
    atol: float = 1e-8
    # per checked variable: (1 shapes and the consuming line, 2 the local derivative in words, 3 the rule)
    hints: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    reference: Callable[[Settings, tuple[str, ...]], tuple[dict, dict]] = makemore.reference_gradients
    track = "makemore"  # checked names are variables, shown as d<name>; not a field
    # the trusted forward cut into a leaf at every checked name: (outputs, leaves), for local blame
    pieces: Callable[[Settings, tuple[str, ...]], tuple[dict, dict]] = makemore.cut_forward
    # named wrong formulas per checked name (exercises 2 and 3's classics), see makemore/mistakes.py
    mistakes: Callable[[Settings, tuple[str, ...]], dict] = mistakes.named_mistakes

    def check(self, path: Path, settings: Settings = Settings()) -> Report:
        return self.judge(self.collect(path, settings), settings)

    def for_grading(self) -> Exercise:
        return self

    def collect(self, path: Path, settings: Settings = Settings()) -> dict:
        """Run the learner's file (in this process; `ninja grade` runs this in a sandboxed child) and
        keep, as plain data, what judge and blame need from it."""
        with makemore.use(settings):
            run = runner.run_file(path)
        answers = {name: run.value(f"d{name}") for name in self.checked}
        error = blocking_error(run, self.checked, answers)
        changes = blame.change_lines(lines_that_ran(run), self.checked)
        error_line = error.line if error else None
        return {
            "path": str(path),
            "error": collected.error_data(error),
            "other_errors": [collected.error_data(e) for e in run.errors if e is not error],
            "output": run.output,
            "answers": {name: collected.plain(value) for name, value in answers.items()},
            "near": near_names(run.namespace, self.checked, answers),
            "autograd_line": autograd_line(path),
            "forward": {name: collected.plain(run.namespace.get(name)) for name in self.forward_names},
            "changes": changes,
            "raised": blame.raised_in(run.changed_at, self.checked, error_line),
            "shared": blame.shared_storage(answers, changes),  # storage is only visible here
            # shapes for "this line raised ...; shapes: ...", only when a line raised
            "shapes": {k: list(v.shape) for k, v in run.namespace.items() if error and torch.is_tensor(v)},
        }

    def judge(self, data: dict, settings: Settings = Settings(), cache: dict | None = None) -> Report:
        """Pure: the collected data against the trusted references (kept in `cache` when given)."""
        key = (self.name, settings)
        trusted, grads = cached(cache, ("reference", *key), lambda: self.reference(settings, self.checked))
        answers = {name: collected.value_of(data["answers"][name]) for name in self.checked}
        taken = take_near_names(answers, data.get("near") or {}, grads)
        error = collected.error_of(data["error"])
        report = engine.check(
            self.name,
            answers,
            grads,
            learner_forward={name: collected.value_of(data["forward"][name]) for name in self.forward_names},
            trusted_forward=trusted,
            forward_names=self.forward_names,
            error=error,
            rtol=self.rtol,
            atol=self.atol,
        )
        report.output = data["output"]
        report.path = data["path"]
        report.notes += [f"d{name}: taken from {other}, a near name (rename it d{name})" for name, other in taken.items()]
        report.notes += [ran_on(collected.error_of(e)) for e in data.get("other_errors") or ()]
        if data.get("autograd_line"):
            report.notes.append(
                f"{data['path']}:{data['autograd_line']}: .grad and .backward() give nothing here: ninja checks your "
                "formulas, and autograd on the trusted forward is the reference"
            )
        outputs, leaves = cached(cache, ("pieces", *key), lambda: self.pieces(settings, self.checked))
        named = cached(cache, ("mistakes", *key), lambda: self.mistakes(settings, self.checked))
        blame.blame(
            report.variables,
            answers,
            grads,
            outputs,
            leaves,
            n=settings.batch_size,
            changes=data["changes"],
            error=error,
            raised=data["raised"],
            namespace={k: torch.empty(shape, device="meta") for k, shape in data["shapes"].items()},
            forward_ok=report.forward_ok,
            alias=data["shared"],
            mistakes=named,
        )
        return report


def blocking_error(run: runner.LearnerRun, checked, answers) -> LearnerError | None:
    """The error a report stands on: a plain file's, or (a notebook's cells, which run on after one
    raises) the first that left a gradient unwritten; the others are notes."""
    if len(run.segments) <= 1 or not run.compiled or run.stopped is not None:
        return run.error
    unreached = [name for name in checked if answers[name] is UNREACHED]
    for e in run.errors:
        if e.line is None:
            return e
        _, last = run.segment_of(e.line)
        lines = (first for name in unreached for first, _ in run.changed_at.get(f"d{name}", ()))
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


def near_names(namespace, checked, answers) -> dict[str, list]:
    """For a gradient that is missing, tensors under a near name (dlogits_maxes for
    dlogit_maxes: at most 2 edits), as plain data; judge keeps the first of the right shape."""
    ours = {f"d{name}" for name in checked}
    near = {}
    for name in checked:
        if answers[name] is None:
            found = [(k, collected.plain(v)) for k, v in namespace.items()
                     if k.startswith("d") and k not in ours and torch.is_tensor(v) and distance(k, f"d{name}") <= 2]  # fmt: skip
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
            if answers.get(name) is None and torch.is_tensor(value) and tuple(value.shape) == tuple(grads[name].shape):
                answers[name], taken[name] = value, other
    return taken


AUTOGRAD = re.compile(r"\.grad\b(?!_)|\.backward\(")


def autograd_line(path: Path) -> int | None:
    """The first line that reads .grad or calls .backward(): autograd is not on in ninja's forward."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((i for i, text in enumerate(lines, 1) if AUTOGRAD.search(text.split("#")[0])), None)
