"""A CS231n exercise: the units of one assignment file, checked in two steps: collect (load the
learner's file and call its functions; `ninja grade` runs this in a sandboxed child) and judge
(pure: the collected data against the trusted torch forward)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ninja import collected, runner
from ninja.cs231n import conventions, loading, standins
from ninja.cs231n.cases import Convention, Unit
from ninja.cs231n.cifar import load_cifar
from ninja.cs231n.judge import judge_unit
from ninja.cs231n.learner import Learner, collect_unit, defines_any, files_for
from ninja.exercise import BundledFiles, OptionError, cached
from ninja.results import FUNCTIONS, MISSING, Report
from ninja.settings import Settings


def roots_of_inherited(variables: list) -> list[str]:
    """The report leads with the functions other results inherit from, one line each."""
    roots: dict[str, list[str]] = {}
    for v in variables:
        if v.inherited_from and "." not in v.inherited_from:  # a function, not another result of the unit
            roots.setdefault(v.inherited_from, []).append(v.name)
    return [
        f"root cause: your {root}; {', '.join(names[:4])}{' ...' if len(names) > 4 else ''} fail only through it"
        for root, names in roots.items()
    ]


class UnknownFunction(OptionError, LookupError):
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
    selected: str | None = None  # --only: the pattern that chose `units`
    all_results: int | None = None  # --only: how many results the whole exercise checks
    conventions: Mapping[str, str] = field(default_factory=dict)  # --convention: name -> value
    # `ninja check`: judge what the learner's files define, and name the rest; otherwise (grading,
    # whose scores count every result in order) a function not there is missing
    defined_only: bool = False
    # assignment N -> the functions here that another assignment asks for: assignment 1's layers.py
    # and optim.py (2022-2025) carry assignment 2's stubs, which an assignment-1 tree is not judged on
    other_assignments: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    track = "cs231n"
    labels = FUNCTIONS  # how its results read: function.output, rel_error shown, graded at several seeds
    notebook_cells = False  # checked as functions in files, never as notebook cells

    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(c for u in self.units for c in u.checked)

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(n for u in self.units for n in u.names)

    def only(self, pattern: str) -> FunctionsExercise:
        """The units with a function whose name contains `pattern`, in any case (--only SVM)."""
        units = tuple(u for u in self.units if any(pattern.lower() in n.lower() for n in u.names))
        if not units:
            raise UnknownFunction(
                f"--only {pattern!r} matches none of {self.name}'s functions: {', '.join(self.functions)}"
            )
        return replace(self, units=units, selected=pattern, all_results=len(self.checked))

    def known_conventions(self) -> list[Convention]:
        return [c for u in self.units for c in u.conventions]

    def with_conventions(self, given: list[str] | None) -> FunctionsExercise:
        """--convention reg=0.5 (raises conventions.UnknownConvention for one the exercise lacks)."""
        return replace(self, conventions=conventions.parse(given, self.known_conventions()))

    def numeric(self) -> FunctionsExercise:
        return replace(self, numeric_check=True)

    def files(self, given: Sequence[Path]) -> list[Path]:
        """The files to check together for each --file (a folder: those that define one of its
        functions); raises OSError naming what cannot be read."""
        return files_for(self, given)

    def what_is_there(self) -> FunctionsExercise:
        """Judged on the functions the learner's files define; the verdict is about those."""
        return replace(self, defined_only=True)

    def warm_up(self, settings: Settings) -> None:
        """Nothing to warm before `ninja watch` forks: a case's arrays are made in the child."""

    def for_grading(self) -> FunctionsExercise:
        """No speed-up timing when grading: it costs, and a busy grader makes it noise."""
        return replace(self, measure_speed=False)

    def check(self, path: Path | Sequence[Path], settings: Settings | None = None) -> Report:
        return self.judge(self.collect(path, settings), settings)

    def collect(self, path: Path | Sequence[Path], settings: Settings | None = None) -> dict:
        """Load the learner's file, or files (every file of cs231n/classifiers/ at once), and call
        their functions on every case (in this process; `ninja grade` runs this in a sandboxed
        child): what they returned, as plain data."""
        settings = settings or Settings()
        cifar = self.cifar(settings)
        with standins.environment() as environment:  # what a student's setup lacks, stood in and named
            learner = Learner.load(path)
            seed, timed, given = settings.seed, self.measure_speed, self.conventions
            units = {u.forward: collect_unit(u.collecting(given), learner, seed, cifar, timed) for u in self.units}
        errors, aside = self.file_errors(learner)
        sources = {str(f.run.path): f.source for f in learner.files}
        return {
            "path": str(learner.files[0].run.path),
            "error": collected.error_data(errors[0] if errors else None),
            "output": ("".join(f.run.output for f in learner.files) + learner.output.getvalue())[: runner.MAX_OUTPUT],
            "units": units,
            # for loops_in: one file's text, or {path: text} for several; grading puts its own copy here
            "source": next(iter(sources.values())) if len(sources) == 1 else sources,
            "twice": self.defined_twice(learner),
            "assignment": loading.assignment_of(learner.files[0].run.path),
            "environment": environment.notes(),
            "aside": aside,
        }

    def file_errors(self, learner: Learner) -> tuple[list, list[str]]:
        """The files that do not run: errors of the result (a file some checked function would come
        from), and notes for a file whose functions all come from another one (a backup copy)."""
        wanted = set(self.functions) | {u.owner for u in self.units if u.owner}
        errors, aside = [], []
        for f in learner.files:
            if f.run.error is None:
                continue
            provides = [n for n in wanted if defines_any(f.source, {n})]
            if len(learner.files) == 1 or any(learner.file_of(n) in (None, f) for n in provides):
                errors.append(f.run.error)
            else:
                e = f.run.error
                where = f"{Path(e.path).name} does not run ({e.kind} at line {e.line})"
                aside.append(f"{where}; what it defines is checked from another file")
        return errors, aside

    def defined_twice(self, learner: Learner) -> dict[str, list[str]]:
        """The exercise's functions that more than one of the learner's files defines (the first is checked)."""
        names = dict.fromkeys(n for u in self.units for n in (u.owner or u.forward, *u.backward))
        found = {n: [Path(f.run.path).name for f in learner.files if n in f.defines] for n in names}
        return {n: files for n, files in found.items() if len(files) > 1}

    def cifar(self, settings: Settings):
        return load_cifar(settings.data) if self.takes_data and settings.data is not None else None

    def judge(self, data: dict, settings: Settings | None = None, cache: dict | None = None) -> Report:
        """Pure: what the learner's functions returned against the trusted torch forward. Only
        what the learner's files define is judged: a file with four of the functions is judged on
        those four, and the others are named as not in it."""
        settings = settings or Settings()
        cifar = cached(cache, ("cifar", settings.data), lambda: self.cifar(settings))
        error = collected.error_of(data["error"])
        several = isinstance(data["source"], dict)
        defined = [u for u in self.units if data["units"][u.forward].get("file") or data["units"][u.forward]["present"]]
        judged = defined if self.defined_only and defined else self.units  # none there: every result missing
        variables, notes = [], []
        for unit in judged:
            got = data["units"][unit.forward]
            source = data["source"].get(got.get("file"), "") if several else data["source"]
            results = judge_unit(self, unit, got, settings, cifar, error, source, cache)
            for r in results:
                r.path = got.get("file") if several else None
            variables += results
        notes += roots_of_inherited(variables)
        variables, apart = self.other_assignments_stubs(variables, data.get("assignment"))
        if apart:
            stubs = ", ".join(u.forward for u in apart)
            notes.append(f"not judged in an assignment-{data['assignment']} tree: another assignment's stubs ({stubs})")
        checked = {v.name for v in variables}
        elsewhere = [
            n for u in self.units for n in u.names if u not in apart and not any(c.startswith(f"{n}.") for c in checked)
        ]
        absent = [u.names[0] for u in self.units if u not in defined]
        if defined and elsewhere and self.defined_only:
            notes.append(f"not in {'these files' if several else 'this file'}: {', '.join(elsewhere)}")
        elif defined and absent and error is None:
            notes.append(f"your file does not define {', '.join(absent)}: check what it has with --only NAME")
        elif not defined and error is None:
            notes.append(f"your file defines none of the {self.name} functions ({', '.join(self.functions[:4])}, ...)")
        notes += data.get("aside", []) + data.get("environment", [])
        for name, files in data.get("twice", {}).items():
            notes.append(f"{name} is in {' and '.join(files)}: the one in {files[0]} is checked")
        if cifar is not None:
            notes.append(f"the CIFAR-shaped cases use images from {settings.data}")
        report = Report(self.name, variables, notes=notes, error=error, track=self.track, labels=self.labels)
        report.output = data["output"]
        report.path = data["path"]
        report.scope = self.scope(len(variables), bool(defined and elsewhere and self.defined_only), several)
        if apart:
            total = len(self.checked)
            report.scope = f"assignment {data['assignment']}'s functions: {len(variables)} of {total} results"
        return report

    def other_assignments_stubs(self, variables: list, assignment: int | None) -> tuple[list, list[Unit]]:
        """For a tree of `assignment`, the units another assignment asks for whose results are all
        still stubs (missing), set apart: (what is judged, the units set apart)."""
        foreign = set(self.other_assignments.get(assignment, ())) if assignment is not None else set()
        apart = []
        for unit in (u for u in self.units if u.forward in foreign):
            results = [v for v in variables if v.name.partition(".")[0] in unit.names]
            if results and all(v.status == MISSING for v in results):
                apart.append(unit)
        names = {n for u in apart for n in u.names}
        return [v for v in variables if v.name.partition(".")[0] not in names], apart

    def scope(self, judged: int, partial: bool, several: bool) -> str | None:
        """What part of the exercise a report covers, when not all of it (the summary says so)."""
        total = self.all_results or len(self.checked)
        if self.selected is None and not partial:
            return None
        what = (
            f"--only {self.selected}"
            if self.selected
            else "what your files define"
            if several
            else "what this file defines"
        )
        return f"{what}: {judged} of {total} results"
