"""What an exercise is: its files, its checked variables, and how a learner's file is checked.

Each exercise module in ninja/exercises/ builds one `Exercise`; the learner's template lives in
exercises/<name>.py and the reference solution in solutions/<name>.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ninja import blame, engine, makemore, runner
from ninja.makemore import Settings
from ninja.results import Report

PACKAGE = Path(__file__).resolve().parent


def bundled(folder: str) -> Path:
    """exercises/ or solutions/: inside the installed package (the wheel carries them under
    ninja/_bundled/), or at the top of a source checkout."""
    inside = PACKAGE / "_bundled" / folder
    return inside if inside.is_dir() else PACKAGE.parent / folder


@dataclass(frozen=True)
class Exercise:
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

    @property
    def template(self) -> Path:
        return bundled("exercises") / f"{self.name}.py"

    @property
    def solution(self) -> Path:
        return bundled("solutions") / f"{self.name}.py"

    def check(self, path: Path, settings: Settings = Settings()) -> Report:
        with makemore.use(settings):
            run = runner.run_file(path)
        trusted, grads = self.reference(settings, self.checked)
        answers = {name: run.value(f"d{name}") for name in self.checked}
        learner_forward = {name: run.namespace.get(name) for name in self.forward_names}
        report = engine.check(
            self.name,
            answers,
            grads,
            learner_forward=learner_forward,
            trusted_forward=trusted,
            forward_names=self.forward_names,
            error=run.error,
            rtol=self.rtol,
            atol=self.atol,
        )
        report.output = run.output
        report.path = str(path)
        self.blame(report, run, answers, grads, settings)
        return report

    def blame(self, report: Report, run: runner.LearnerRun, answers: dict, grads: dict, settings: Settings) -> None:
        outputs, leaves = self.pieces(settings, self.checked)
        error_line = run.error.line if run.error else None
        blame.blame(
            report.variables,
            answers,
            grads,
            outputs,
            leaves,
            n=settings.batch_size,
            changes=blame.change_lines(run.changed_at, self.checked),
            error=run.error,
            raised=blame.raised_in(run.changed_at, self.checked, error_line),
            namespace=run.namespace,
            forward_ok=report.forward_ok,
        )
