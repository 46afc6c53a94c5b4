"""`ninja grade`: grade a class's submissions, each in its own sandboxed process.

Flow: find (submission, exercise) pairs -> start the fork server (torch already imported, nothing
secret computed yet) -> each child runs `exercise.collect` at every grading setting with autograd
disabled and sends back plain data (ninja/collected.py: a JSON header and raw bytes) -> the parent
runs `exercise.judge` (the same code as `ninja check`: references, engine, blame) and scores. A
variable earns its points only if it passes at every setting, with the trusted forward intact.
"""

from __future__ import annotations

import ast
import os
import secrets
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ninja import collected, makemore, runner
from ninja.grade import audit
from ninja.grade import jobs as prep
from ninja.grade.child import AUTOGRAD_MESSAGE  # noqa: F401 (feedback names it)
from ninja.grade.sandbox import ForkServer, Limits, Outcome, worker_path
from ninja.registry import Exercise
from ninja.results import PASS, Report, VarResult
from ninja.settings import Settings

GRADED, ERROR, TIMEOUT = "graded", "error", "timeout"
DTYPES = {
    name: np.dtype(name)
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64")
}


class GradeError(ValueError):
    """Bad grading input (paths, config): the message says what to fix."""


@dataclass
class TestResult:
    """One checked variable of one submission, as a grader shows it."""

    name: str  # d<variable>
    score: float
    max_score: float
    passed: bool
    output: str


@dataclass
class SubmissionResult:
    submission: str  # the path given
    exercise: str
    score: float
    max_score: float
    status: str  # graded, error, timeout
    message: str
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    output: str = ""  # what the learner's file printed (capped)


@dataclass(frozen=True)
class Plan:
    """Everything a grading run decides once: the secret seed, the batch sizes, the limits."""

    seed: int
    batch_sizes: tuple[int, ...]
    limits: Limits
    points: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # exercise -> variable -> points
    audit: str = "enforce"  # enforce: a flagged exercise scores 0 with the reason; warn: reported only


def secret_seed() -> int:
    return secrets.randbelow(2**31 - 2)


def batch_sizes_for(seed: int) -> tuple[int, int]:
    """32 (the notebook's) and a second size, from the seed, so a hard-coded n fails somewhere."""
    return 32, 17 + seed % 40 + (seed % 40 >= 15)  # 17..57, never 32


# ---- what to grade -------------------------------------------------------------------------


def find_work(paths: Iterable[Path], exercise: Exercise | None) -> list[tuple[str, Exercise | None, Path | None]]:
    """(submission as given, exercise, file or None when missing) for every SUB: a folder holding
    exercise files under their template names (at its top, or in a folder inside it: a zip of a
    folder), or one file named after its exercise (.py, or a notebook .ipynb)."""
    from ninja.registry import EXERCISES

    work = []
    for path in paths:
        if path.is_dir():
            wanted = [exercise] if exercise else list(EXERCISES.values())
            found = []
            for ex in wanted:
                files = exercise_files(path, f"{ex.name}.py")
                if files:  # two or more: graded as an error, which says so (why_missing)
                    found.append((str(path), ex, files[0] if len(files) == 1 else None))
            if not found and exercise:
                found = [(str(path), exercise, None)]
            if not found:
                found = [(str(path), None, None)]  # graded as an error: the batch goes on
            work += found
        elif path.is_file():
            ex = exercise or EXERCISES.get(path.stem)
            if ex is None:
                raise GradeError(
                    f"cannot tell which exercise {path} is: name it exercise1.py, ... or pass --exercise EX"
                )
            work.append((str(path), ex, path))
        else:
            raise GradeError(f"cannot read {path}")
    return work


def exercise_files(folder: Path, filename: str) -> list[Path]:
    """`filename` at the top of a submission folder; else every one in the folders under it, less
    those in hidden folders and in __MACOSX (the Finder's copies in a zip made on a Mac)."""
    if (folder / filename).is_file():
        return [folder / filename]
    found = []
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "__MACOSX")
        if filename in files:
            found.append(Path(parent) / filename)
    return found


def why_missing(submission: str, exercise: Exercise) -> str:
    filename = f"{exercise.name}.py"
    files = exercise_files(Path(submission), filename) if Path(submission).is_dir() else []
    if len(files) > 1:
        names = ", ".join(str(f.relative_to(submission)) for f in files)
        return f"{len(files)} files named {filename} in the submission ({names}): which one to grade? Keep only one"
    return f"no {filename} in the submission"


def read_points(config: Path | None) -> dict[str, dict[str, float]]:
    """Points per variable from a TOML file: [exercise1.points] dlogprobs = 2 (default 1 each)."""
    if config is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    from ninja.registry import EXERCISES

    try:
        table = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise GradeError(f"cannot read config {config}: {e}") from None
    points: dict[str, dict[str, float]] = {}
    for name, section in table.items():
        if name not in EXERCISES or not isinstance(section, dict) or set(section) - {"points"}:
            raise GradeError(f"{config}: [{name}] is not an exercise with a points table (e.g. [exercise1.points])")
        for variable, value in section.get("points", {}).items():
            bare = variable.removeprefix("d") if variable not in EXERCISES[name].checked else variable
            if bare not in EXERCISES[name].checked:
                raise GradeError(f"{config}: {name} has no checked variable {variable!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise GradeError(f"{config}: points for {name}.{variable} must be a number >= 0, not {value!r}")
            points.setdefault(name, {})[bare] = float(value)
    return points


def points_of(plan: Plan, exercise: Exercise, name: str) -> float:
    return plan.points.get(exercise.name, {}).get(name, 1.0)


# ---- in the parent -------------------------------------------------------------------------


def given_names(exercise: Exercise) -> list[str]:
    """What the exercise's template asks for with given("name") (exercise 3's dhpreact)."""
    tree = ast.parse(exercise.template.read_text(encoding="utf-8"))
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "given" and node.args
        and isinstance(node.args[0], ast.Constant)
    ]  # fmt: skip


def grading_settings(exercise: Exercise, plan: Plan) -> list[tuple[str, Settings]]:
    """(label, settings) to grade at. makemore: the secret seed at every batch size. CS231n, where
    shapes come with the cases and batch size means nothing: as many input sets, seeds seed, seed+1, ..."""
    if exercise.track == "makemore":
        return [(f"batch size {n}", Settings(plan.seed, n)) for n in plan.batch_sizes]
    return [(f"input set {k + 1}", Settings(plan.seed + k)) for k in range(len(plan.batch_sizes))]


def test_name(exercise: Exercise, name: str) -> str:
    """What graders call a checked name: d<variable> (makemore), function.output (CS231n)."""
    return f"d{name}" if exercise.track == "makemore" else name


def feedback(v: VarResult, name: str, at: str) -> str:
    """What a student reads about one variable: status, the engine's note, blame and diagnosis."""
    parts = [f"{name}: {v.status}{at}"]
    if v.maxdiff is not None and v.status != PASS:
        parts.append(f"maxdiff {v.maxdiff:.2e}")
    if v.note:
        parts.append(v.note)
    if v.root_cause:
        parts.append(f"root cause{f' at line {v.line}' if v.line else ''}: {v.diagnosis}")
    elif v.diagnosis:
        parts.append(v.diagnosis)
    if v.inherited_from:
        parts.append(f"inherits from d{v.inherited_from}, which is wrong: fix that first (this line may be right)")
    return "; ".join(parts)


def score_reports(
    exercise: Exercise, reports: list[Report], labels: list[str], plan: Plan, submission: str, seconds: float
) -> SubmissionResult:
    """A variable earns its points only if it passes at every setting with the forward intact."""
    tests = []
    hard_coded = []
    what, guess = ("batch size", "n or a value") if exercise.track == "makemore" else ("input set", "a value")
    for i, name in enumerate(exercise.checked):
        results = [r.variables[i] for r in reports]
        passing = [v.status == PASS for v in results]
        passed = all(passing) and all(r.forward_ok for r in reports)
        worst = next((k for k, ok in enumerate(passing) if not ok), 0)
        at = f" at {labels[worst]}" if not passed and len(reports) > 1 else ""
        text = feedback(results[worst], test_name(exercise, name), at)
        if any(passing) and not all(passing):
            hard_coded.append(test_name(exercise, name))
            text += f"; right at one {what} but not another: is {guess} hard-coded?"
        if all(passing) and not passed:
            text += "; not counted: the forward pass was changed"
        points = points_of(plan, exercise, name)
        tests.append(TestResult(test_name(exercise, name), points if passed else 0.0, points, passed, text))
    score = sum(t.score for t in tests)
    first = reports[0]
    lines = [f"{sum(t.passed for t in tests)}/{len(tests)} gradients correct"]
    error = next((r.error for r in reports if r.error), None)
    if error:
        lines.append(f"{error.where}: {error.kind}: {error.message}")
    lines += sorted({note for r in reports for note in r.notes})
    roots = {test_name(exercise, v.name): v for r in reports for v in r.variables if v.root_cause}
    lines += [f"first wrong line: {name}" + (f" (line {v.line})" if v.line else "") for name, v in roots.items()][:3]
    if hard_coded:
        more = f" and {len(hard_coded) - 3} more" if len(hard_coded) > 3 else ""
        lines.append(f"{', '.join(hard_coded[:3])}{more}: right at one {what} only: is {guess} hard-coded?")
    return SubmissionResult(
        submission, exercise.name, score, sum(t.max_score for t in tests), ERROR if error else GRADED,
        "\n".join(lines), tests, seconds, first.output[: runner.MAX_OUTPUT],
    )  # fmt: skip


def failed(
    exercise: Exercise, plan: Plan, submission: str, status: str, message: str, seconds: float
) -> SubmissionResult:
    """Nothing to grade: every variable gets 0 with the reason."""
    tests = [
        TestResult(test_name(exercise, name), 0.0, points_of(plan, exercise, name), False, message)
        for name in exercise.checked
    ]
    return SubmissionResult(
        submission, exercise.name, 0.0, sum(t.max_score for t in tests), status, message, tests, seconds
    )


def why_no_result(outcome: Outcome, limits: Limits) -> tuple[str, str]:
    if outcome.lost:
        return ERROR, f"not graded: {outcome.lost} while this submission ran (it was restarted for the others)"
    if outcome.timed_out:
        return TIMEOUT, f"timed out after {limits.timeout:g} s (an endless loop, or far too slow)"
    if outcome.truncated:
        return ERROR, "the submission sent back far too much data and was stopped"
    if outcome.signal in (signal.SIGXCPU, signal.SIGKILL) and outcome.cpu >= limits.cpu_seconds - 0.05:
        return TIMEOUT, f"used more than {limits.cpu_seconds} s of CPU time"
    if outcome.signal == signal.SIGKILL:
        return (
            ERROR,
            f"the submission was killed (SIGKILL), most likely for going over the {limits.memory_mb} MB memory limit",
        )
    if outcome.signal is not None:
        name = (
            signal.Signals(outcome.signal).name
            if outcome.signal in signal.Signals._value2member_map_
            else outcome.signal
        )
        return ERROR, f"the submission crashed the Python process ({name}) before it could be graded"
    if outcome.exit_code == 70 and not outcome.data:
        return ERROR, "the submission's process could not be confined or failed before it could be graded"
    return ERROR, f"the submission ended its own process (exit code {outcome.exit_code}) before it could be graded"


def result_of(
    outcome: Outcome, exercise: Exercise, plan: Plan, cache: dict, prepared: prep.Prepared
) -> SubmissionResult:
    """The child's plain data judged here, in the parent, against references kept in `cache`;
    `prepared.source` is the submission's file as the parent read it before the child ran;
    `point_back` puts a report's lines in the terms of what the student handed in (a notebook's
    cells). Whatever the child sent, a failure stays this submission's (RecursionError too)."""
    submission = outcome.job["submission"]
    if not outcome.timed_out and not outcome.truncated and outcome.exit_code == 0 and outcome.data:
        settings = grading_settings(exercise, plan)
        try:
            runs = collected.decode(outcome.data)
            if not isinstance(runs, list) or len(runs) != len(settings) or not all(isinstance(r, dict) for r in runs):
                raise collected.BadData("not one result per grading setting")
            for run in runs:  # what the judge reads from the source, it reads from the parent's copy
                if "source" in run:
                    run["source"] = prepared.source
                prep.map_back(run, outcome.job["dir"], prepared.original)
            reports = [
                prepared.point_back(exercise.judge(run, s, cache)) for run, (_, s) in zip(runs, settings, strict=True)
            ]
            labels = [label for label, _ in settings]
            result = score_reports(exercise, reports, labels, plan, submission, outcome.wall)
        except Exception as e:  # noqa: BLE001 (whatever a child sent, the batch goes on)
            message = f"malformed result from the submission's process ({type(e).__name__}: {str(e)[:300]})"
            return failed(exercise, plan, submission, ERROR, message, outcome.wall)
        if result.status == ERROR and any(
            r.error and ("allocate" in r.error.message or r.error.kind == "MemoryError") for r in reports
        ):
            result.message += f"\n(the memory limit is {plan.limits.memory_mb} MB)"
        return result
    status, message = why_no_result(outcome, plan.limits)
    return failed(exercise, plan, submission, status, message, outcome.wall)


def given_tables(exercises: Iterable[Exercise], plan: Plan) -> dict[str, list[dict[str, np.ndarray]]]:
    """The gradients an exercise gives (exercise 3's dhpreact) at each grading setting, computed
    here: a child gets them as arrays in its folder and never runs the reference itself."""
    tables = {}
    for exercise in exercises:
        names = given_names(exercise)
        tables[exercise.name] = [
            {k: v.detach().numpy() for k, v in makemore.reference_gradients(s, names)[1].items()} if names else {}
            for _, s in grading_settings(exercise, plan)
        ]
    return tables


def warm_up(exercises: Iterable[Exercise]) -> None:
    """Check each bundled solution once at the notebook's seed (nothing secret) in the parent, so
    everything judging imports is imported before the first child runs (a child cannot plant a
    module that the parent would import later), and torch's kernels are warm."""
    for exercise in exercises:
        graded = exercise.for_grading()
        graded.judge(graded.collect(exercise.solution, Settings()), Settings())


def hidden_folders(work: list[tuple[str, Exercise | None, Path | None]]) -> list[str]:
    """What no child may read: the bundled solutions and templates, wherever they are, and every
    submission (a child gets a copy of its own)."""
    from ninja.exercise import bundled

    submissions = {str(Path(s) if Path(s).is_dir() else Path(s).parent) for s, _, _ in work}
    return [str(bundled("solutions")), str(bundled("exercises")), *sorted(submissions)]


def grade(
    work: list[tuple[str, Exercise, Path | None]],
    plan: Plan,
    jobs: int,
    on_result: Callable[[SubmissionResult], None] = lambda r: None,
    on_isolation: Callable[[list[str], dict[str, str]], None] = lambda layers, missing: None,
    server: ForkServer | None = None,
) -> list[SubmissionResult]:
    """Grade every (submission, exercise, file) and return the results in the order given.
    `on_isolation(layers, missing)` hears what confines the children here, before the first runs;
    `server`: a ForkServer started earlier (its worker imports torch while the caller starts up)."""
    exercises = {exercise.name: exercise for _, exercise, _ in work if exercise is not None}
    # `python -m ninja` put the working folder first on the path: it may be a submission, whose
    # planted gmpy2.py the judge's imports would find; what ninja imports lives elsewhere
    sys.path[:] = worker_path()
    results: dict[int, SubmissionResult] = {}
    prepared: dict[int, prep.Prepared] = {}
    settings_of = {
        name: [[s.seed, s.batch_size] for _, s in grading_settings(ex, plan)] for name, ex in exercises.items()
    }
    if not any(path for _, _, path in work) and server is not None:
        server.close()
        server = None
    elif any(path for _, _, path in work):
        server = server or ForkServer()  # configured once the submissions are read
    scratch = prep.Scratch()
    try:
        torch.set_num_threads(1)
        warm_up(exercises.values())  # while the fresh worker imports torch
        given = given_tables(exercises.values(), plan)
        for i, (submission, exercise, path) in enumerate(work):
            early = early_result(i, submission, exercise, path, plan, scratch, given, prepared)
            if early is not None:
                results[i] = early
                on_result(early)
        if server is not None:
            modules = sorted({m for p in prepared.values() for m in audit.imported_modules(p.source)})
            server.configure("ninja.grade.child:grade_in_child", plan.limits, "ninja.grade.child:prepare",
                             {"exercises": list(exercises), "modules": modules}, hidden_folders(work))  # fmt: skip
            server.wait_ready()
            on_isolation(server.layers, server.missing)
            to_run = [dict(p.job, settings=settings_of[p.job["exercise"]], given=list(given[p.job["exercise"]][0]))
                      for i, p in prepared.items() if i not in results]  # fmt: skip
            cache: dict = {}  # references stay in the parent; no child ever inherits them
            for outcome in server.run(to_run, max(1, jobs)):
                i = outcome.job["id"]
                scratch.remove(i)
                results[i] = with_findings(result_of(outcome, work[i][1], plan, cache, prepared[i]), prepared[i], plan)
                on_result(results[i])
    finally:
        if server is not None:
            server.close()  # waits for the fork server, which waits for every child
        scratch.close()
    return [results[i] for i in range(len(work))]


def early_result(i, submission, exercise, path, plan, scratch, given, prepared) -> SubmissionResult | None:
    """The result of a submission settled without a child (nothing to grade, unreadable, or
    flagged by the audit), or None once it is prepared to run."""
    if exercise is None:
        from ninja.registry import EXERCISES

        names = ", ".join(f"{name}.py" for name in EXERCISES)
        message = f"no exercise file in {submission} (looked for {names})"
        return SubmissionResult(submission, "-", 0.0, 0.0, ERROR, message)
    if path is None:
        return failed(exercise, plan, submission, ERROR, why_missing(submission, exercise), 0.0)
    try:
        prepared[i] = prep.prepare(i, exercise, path, submission, scratch, given[exercise.name])
    except prep.NotGradable as e:
        return failed(exercise, plan, submission, ERROR, str(e), 0.0)
    if prepared[i].findings and plan.audit == "enforce":
        scratch.remove(i)
        return failed(exercise, plan, submission, ERROR, audit_message(prepared[i].findings, "scored 0"), 0.0)
    return None


def audit_message(findings, verdict: str) -> str:
    shown = "; ".join(map(str, findings[:5])) + (f"; and {len(findings) - 5} more" if len(findings) > 5 else "")
    return f"audit: {verdict}: the source does what a hand-written backward never needs: {shown}"


def with_findings(result: SubmissionResult, prepared: prep.Prepared, plan: Plan) -> SubmissionResult:
    """--audit warn: the score stands, the findings are reported for review."""
    if prepared.findings and plan.audit == "warn":
        result.message += "\n" + audit_message(prepared.findings, "for review")
    return result
