"""A makemore exercise: module-level forward pass in the learner's file, then one `d<name> = ...`
per checked variable, compared with autograd on the trusted forward at the same settings.

Each exercise module here (exercise1-4) builds one `Exercise`; the learner's template lives in
exercises/<name>.py and the reference solution in solutions/<name>.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch

from ninja import collected, engine, makemore, runner
from ninja.exercise import BundledFiles, cached
from ninja.makemore import blame
from ninja.results import Report
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
        changes = blame.change_lines(run.changed_at, self.checked)
        error_line = run.error.line if run.error else None
        return {
            "path": str(path),
            "error": collected.error_data(run.error),
            "output": run.output,
            "answers": {name: collected.plain(value) for name, value in answers.items()},
            "forward": {name: collected.plain(run.namespace.get(name)) for name in self.forward_names},
            "changes": changes,
            "raised": blame.raised_in(run.changed_at, self.checked, error_line),
            "shared": blame.shared_storage(answers, changes),  # storage is only visible here
            # shapes for "this line raised ...; shapes: ...", only when a line raised
            "shapes": {k: list(v.shape) for k, v in run.namespace.items() if run.error and torch.is_tensor(v)},
        }

    def judge(self, data: dict, settings: Settings = Settings(), cache: dict | None = None) -> Report:
        """Pure: the collected data against the trusted references (kept in `cache` when given)."""
        key = (self.name, settings)
        trusted, grads = cached(cache, ("reference", *key), lambda: self.reference(settings, self.checked))
        answers = {name: collected.value_of(data["answers"][name]) for name in self.checked}
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
        outputs, leaves = cached(cache, ("pieces", *key), lambda: self.pieces(settings, self.checked))
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
        )
        return report
