"""A CS231n exercise: the units of one assignment file, checked in two steps: collect (load the
learner's file and call its functions; `ninja grade` runs this in a sandboxed child) and judge
(pure: the collected data against the trusted torch forward)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ninja import collected, runner
from ninja.cs231n.cases import Unit
from ninja.cs231n.cifar import load_cifar
from ninja.cs231n.judge import judge_unit
from ninja.cs231n.learner import Learner, collect_unit
from ninja.exercise import BundledFiles, cached
from ninja.results import Report
from ninja.settings import Settings


class UnknownFunction(LookupError):
    """--only matched none of the exercise's functions."""


@dataclass(frozen=True)
class FunctionsExercise(BundledFiles):
    """A CS231n exercise: functions in the learner's file, checked one unit at a time.
    Same surface as makemore's Exercise (.name .title .checked .template .solution .hints .check)."""

    name: str
    title: str
    units: tuple[Unit, ...]
    hints: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)  # per function name
    numeric_check: bool = False  # --numeric: central differences beside autograd
    takes_data: bool = False  # --data DIR: a CIFAR-10 folder
    rtol: float = 1e-5
    atol: float = 1e-8
    measure_speed: bool = True  # time a vectorized function against the naive one
    track = "cs231n"

    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(c for u in self.units for c in u.checked)

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(n for u in self.units for n in u.names)

    def only(self, pattern: str) -> FunctionsExercise:
        """The units with a function whose name starts with or contains `pattern`."""
        units = tuple(u for u in self.units if any(pattern in n for n in u.names))
        if not units:
            raise UnknownFunction(
                f"--only {pattern!r} matches none of {self.name}'s functions: {', '.join(self.functions)}"
            )
        return replace(self, units=units)

    def numeric(self) -> FunctionsExercise:
        return replace(self, numeric_check=True)

    def for_grading(self) -> FunctionsExercise:
        """No speed-up timing when grading: it costs, and a busy grader makes it noise."""
        return replace(self, measure_speed=False)

    def check(self, path: Path, settings: Settings | None = None) -> Report:
        return self.judge(self.collect(path, settings), settings)

    def collect(self, path: Path, settings: Settings | None = None) -> dict:
        """Load the learner's file and call its functions on every case (in this process; `ninja
        grade` runs this in a sandboxed child): what they returned, as plain data."""
        settings = settings or Settings()
        learner = Learner.load(path)
        cifar = self.cifar(settings)
        units = {
            unit.forward: collect_unit(unit, learner, settings.seed, cifar, self.measure_speed) for unit in self.units
        }
        return {
            "path": str(path),
            "error": collected.error_data(learner.run.error),
            "output": (learner.run.output + learner.output.getvalue())[: runner.MAX_OUTPUT],
            "units": units,
            "source": learner.source,  # for loops_in; grading puts its own copy here
        }

    def cifar(self, settings: Settings):
        return load_cifar(settings.data) if self.takes_data and settings.data is not None else None

    def judge(self, data: dict, settings: Settings | None = None, cache: dict | None = None) -> Report:
        """Pure: what the learner's functions returned against the trusted torch forward."""
        settings = settings or Settings()
        cifar = cached(cache, ("cifar", settings.data), lambda: self.cifar(settings))
        error = collected.error_of(data["error"])
        variables, notes = [], []
        for unit in self.units:
            got = data["units"][unit.forward]
            variables += judge_unit(self, unit, got, settings, cifar, error, data["source"], cache)
        absent = [u.names[0] for u in self.units if not data["units"][u.forward]["present"]]
        if error is None and absent and len(absent) < len(self.units):
            notes.append(f"your file does not define {', '.join(absent)}: check what it has with --only NAME")
        if cifar is not None:
            notes.append(f"the CIFAR-shaped cases use images from {settings.data}")
        report = Report(self.name, variables, notes=notes, error=error, track=self.track)
        report.output = data["output"]
        report.path = data["path"]
        return report
