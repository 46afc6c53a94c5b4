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
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ninja import collected, makemore, notebook, runner
from ninja.grade import discover
from ninja.grade.discover import GradeError  # noqa: F401 (the grading input error, raised here too)
from ninja.grade.sandbox import ForkServer, Limits, Outcome, network_isolation, send_all
from ninja.notebook import NotebookError
from ninja.registry import Exercise
from ninja.results import ERROR as ERROR_STATUS
from ninja.results import FAIL, PASS, LearnerError, Report, VarResult
from ninja.settings import Settings

GRADED, ERROR, TIMEOUT = "graded", "error", "timeout"
AUTOGRAD_MESSAGE = "autograd is not available while grading: write the gradient by hand"
DTYPES = {
    name: np.dtype(name)
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64")
}


@dataclass
class TestResult:
    """One checked variable of one submission, as a grader shows it."""

    name: str  # d<variable>
    score: float
    max_score: float
    passed: bool
    output: str
    # for the class report: where it first went wrong, and how (at the worst grading setting)
    status: str = ""  # pass, fail, missing, error
    root_cause: bool = False
    kind: str | None = None  # the diagnosis in one word: factor, missing_sum, ...
    line: int | None = None
    code: str | None = None  # the text of that line, comment stripped (an example, without a name)


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
    file: str = ""  # the file graded (set by discovery), for annotations at the student's lines
    line: int | None = None  # where the file raised, if it did


@dataclass(frozen=True)
class Plan:
    """Everything a grading run decides once: the secret seed, the batch sizes, the limits."""

    seed: int
    batch_sizes: tuple[int, ...]
    limits: Limits
    points: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # exercise -> variable -> points
    credit: str = "value"  # or "local": a line right given the student's upstream gradients earns its points


def secret_seed() -> int:
    return secrets.randbelow(2**31 - 2)


def batch_sizes_for(seed: int) -> tuple[int, int]:
    """32 (the notebook's) and a second size, from the seed, so a hard-coded n fails somewhere."""
    return 32, 17 + seed % 40 + (seed % 40 >= 15)  # 17..57, never 32


# ---- what to grade -------------------------------------------------------------------------


def find_work(paths: Iterable[Path], exercise: Exercise | None) -> list[tuple[str, Exercise | None, Path | None]]:
    """(submission as given, exercise, file or None when missing) for every SUB (ninja/grade/discover.py)."""
    return [found.as_work() for found in discover.discover(paths, exercise)]


def why_missing(submission: str, exercise: Exercise) -> str:
    if not Path(submission).is_dir():
        return f"no {exercise.name}.py in the submission"
    return next(f.problem for f in discover.in_folder(Path(submission), exercise) if f.exercise is exercise)


def toml_table(config: Path) -> dict:
    """A TOML file's tables; GradeError naming the file when it cannot be read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        return tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise GradeError(f"cannot read config {config}: {e}") from None


def read_points(config: Path | None) -> dict[str, dict[str, float]]:
    """Points per variable from a TOML file: [exercise1.points] dlogprobs = 2 (default 1 each)."""
    if config is None:
        return {}
    from ninja.registry import EXERCISES

    table = toml_table(config)
    points: dict[str, dict[str, float]] = {}
    for name, section in table.items():
        if name == "course":  # ninja.toml's choices (ninja/grade/course.py)
            continue
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


# ---- in the child --------------------------------------------------------------------------


class AutogradUnavailable(RuntimeError):
    pass


def refuse(*args, **kwargs):
    raise AutogradUnavailable(AUTOGRAD_MESSAGE)


class _NoEngine:
    def __getattr__(self, name):
        return refuse


def disable_autograd() -> None:
    """Close every way the learner's backward could ask autograd for the answer."""
    torch.autograd.Variable._execution_engine = _NoEngine()  # what backward() and autograd.grad end in
    torch.Tensor.backward = refuse
    torch.Tensor.grad = property(refuse, refuse)
    torch.Tensor.requires_grad_ = refuse
    torch.autograd.backward = torch.autograd.grad = refuse
    for module, names in (
        (torch.func, ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize")),
        (torch.autograd.functional, ("vjp", "jvp", "jacobian", "hessian", "vhp", "hvp")),
    ):
        for name in names:
            setattr(module, name, refuse)


def given_names(exercise: Exercise) -> list[str]:
    """What the exercise's template asks for with given("name") (exercise 3's dhpreact)."""
    tree = ast.parse(exercise.template.read_text(encoding="utf-8"))
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "given" and node.args
        and isinstance(node.args[0], ast.Constant)
    ]  # fmt: skip


def givens(names: list[str], settings: Settings) -> dict[str, torch.Tensor]:
    """Those gradients, computed in the child before autograd is disabled; nothing else of the
    reference enters the child."""
    return makemore.reference_gradients(settings, names)[1] if names else {}


def given_from(table: dict[str, torch.Tensor]) -> Callable[[str], torch.Tensor]:
    def given(name: str) -> torch.Tensor:
        if name not in table:
            raise KeyError(f"given({name!r}): this exercise gives only {', '.join(table) or 'nothing'}")
        return table[name].clone()

    return given


def grade_in_child(job: dict, fd: int) -> None:
    """Runs in the forked child, confined: collect at every grading setting, then send plain data."""
    from ninja.registry import find

    exercise = find(job["exercise"]).for_grading()
    path = Path(job["path"])
    os.chdir(path.parent)  # files it writes land beside it, not where the grader runs
    network_isolation()  # where the OS refuses, probe_network() has told the instructor already
    settings = [Settings(seed, n) for seed, n in job["settings"]]
    tables = [givens(job["given"], s) for s in settings]
    disable_autograd()
    runs = []
    for s, table in zip(settings, tables, strict=True):
        makemore.given = given_from(table)
        runs.append(exercise.collect(path, s))
    send_all(fd, collected.encode(runs))


# ---- in the parent -------------------------------------------------------------------------


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


MEMORY_SIGNS = ("DefaultCPUAllocator", "can't allocate memory", "CUDA out of memory", "Cannot allocate memory")


def out_of_memory(error: LearnerError) -> bool:
    return error.kind == "MemoryError" or any(sign in error.message for sign in MEMORY_SIGNS)


def what_happened(error: LearnerError, limits: Limits) -> str:
    """One line that says what went wrong, for every format's first line: a syntax error at line N,
    the memory limit, autograd refused, or the exception and its line."""
    at = f" at line {error.line}" if error.line else ""
    if error.kind in ("SyntaxError", "IndentationError", "TabError"):
        return f"syntax error{at}: {error.message}"
    if out_of_memory(error):
        return f"over the {limits.memory_mb} MB memory limit{at}"
    if error.kind == AutogradUnavailable.__name__ or AUTOGRAD_MESSAGE in error.message:
        return f"autograd refused{at}: {AUTOGRAD_MESSAGE}"
    if error.kind == "KeyboardInterrupt":
        return f"stopped{at} (KeyboardInterrupt)"
    return f"{error.kind}{at}: {error.message}"


def error_line(error: LearnerError, limits: Limits) -> str:
    """path:line and what happened there, without torch's raw allocator text."""
    if out_of_memory(error):
        return f"{error.where}: {error.kind}: over the {limits.memory_mb} MB memory limit"
    return f"{error.where}: {error.kind}: {error.message}"


def quote_lines(report: Report, source: str, into: dict[str, str]) -> Report:
    """Keep the text of each root cause's line (before the lines are put in notebook terms)."""
    lines = source.splitlines()
    for v in report.variables:
        if v.root_cause and v.line and 0 < v.line <= len(lines):
            into.setdefault(v.name, lines[v.line - 1].split("#")[0].strip())
    return report


VALUE, LOCAL = "value", "local"
CREDIT_NOTE = {
    VALUE: "credit by value: a gradient earns its points when it equals autograd's",
    LOCAL: "credit by line (--credit local): a gradient earns its points when its own line is right "
    "given your upstream gradients, so one early slip costs one line",
}


def earns(v: VarResult, credit: str) -> bool:
    """By value: it passes. By line: it passes, or local blame says it only inherits a wrong upstream."""
    inherits = v.status == FAIL and not v.root_cause and v.inherited_from is not None
    return v.status == PASS or (credit == LOCAL and inherits)


def score_reports(
    exercise: Exercise, reports: list[Report], labels: list[str], plan: Plan, submission: str, seconds: float,
    code: Mapping[str, str] | None = None,
) -> SubmissionResult:  # fmt: skip
    """A variable earns its points only if it passes at every setting with the forward intact;
    `code`: the text of root causes' lines, by variable."""
    tests = []
    hard_coded = []
    what, guess = ("batch size", "n or a value") if exercise.track == "makemore" else ("input set", "a value")
    for i, name in enumerate(exercise.checked):
        results = [r.variables[i] for r in reports]
        passing = [earns(v, plan.credit) for v in results]
        passed = all(passing) and all(r.forward_ok for r in reports)
        worst = next((k for k, v in enumerate(results) if v.status != PASS), 0)
        at = f" at {labels[worst]}" if not passed and len(reports) > 1 else ""
        text = feedback(results[worst], test_name(exercise, name), at)
        if any(passing) and not all(passing):
            hard_coded.append(test_name(exercise, name))
            text += f"; right at one {what} but not another: is {guess} hard-coded?"
        if all(passing) and not passed:
            text += "; not counted: the forward pass was changed"
        elif passed and results[worst].status != PASS:
            text += "; earns its points by line: right given your own upstream gradients (--credit local)"
        points = points_of(plan, exercise, name)
        v = results[worst]
        kind = (v.diagnosis_kind or "local_rule") if v.root_cause else None
        tests.append(
            TestResult(test_name(exercise, name), points if passed else 0.0, points, passed, text,
                       v.status, v.root_cause, kind, v.line, (code or {}).get(name) if v.root_cause else None)
        )  # fmt: skip
    score = sum(t.score for t in tests)
    first = reports[0]
    correct = f"{sum(t.passed for t in tests)}/{len(tests)} gradients correct"
    if plan.credit == LOCAL:
        right = sum(t.status == PASS for t in tests)
        correct = f"{sum(t.passed for t in tests)}/{len(tests)} gradients earn their points ({right} right by value)"
    error = next((r.error for r in reports if r.error), None)
    lines = [correct]
    if error:
        happened = what_happened(error, plan.limits)
        lines = [f"{happened} ({correct})", error_line(error, plan.limits)]
        for i, t in enumerate(tests):
            if any(r.variables[i].status == ERROR_STATUS for r in reports):
                t.output += f"; {happened}"
    lines += sorted({note for r in reports for note in r.notes})
    roots = {test_name(exercise, v.name): v for r in reports for v in r.variables if v.root_cause}
    lines += [f"first wrong line: {name}" + (f" (line {v.line})" if v.line else "") for name, v in roots.items()][:3]
    if hard_coded:
        more = f" and {len(hard_coded) - 3} more" if len(hard_coded) > 3 else ""
        lines.append(f"{', '.join(hard_coded[:3])}{more}: right at one {what} only: is {guess} hard-coded?")
    lines.append(CREDIT_NOTE[plan.credit])
    return SubmissionResult(
        submission, exercise.name, score, sum(t.max_score for t in tests), ERROR if error else GRADED,
        "\n".join(lines), tests, seconds, first.output[: runner.MAX_OUTPUT], line=error.line if error else None,
    )  # fmt: skip


def failed(
    exercise: Exercise, plan: Plan, submission: str, status: str, message: str, seconds: float
) -> SubmissionResult:
    """Nothing to grade: every variable gets 0 with the reason."""
    tests = [
        TestResult(test_name(exercise, name), 0.0, points_of(plan, exercise, name), False, message, ERROR_STATUS)
        for name in exercise.checked
    ]
    return SubmissionResult(
        submission, exercise.name, 0.0, sum(t.max_score for t in tests), status, message, tests, seconds
    )


def why_no_result(outcome: Outcome, limits: Limits) -> tuple[str, str]:
    if outcome.timed_out:
        return TIMEOUT, f"timed out after {limits.timeout:g} s (an endless loop, or far too slow)"
    if outcome.truncated:
        return ERROR, "the submission sent back far too much data and was stopped"
    if outcome.signal == signal.SIGXCPU:
        return TIMEOUT, f"timed out after {limits.cpu_seconds} s of CPU time (an endless loop, or far too slow)"
    if outcome.signal == signal.SIGKILL:
        return (
            ERROR,
            f"killed (SIGKILL): most likely over the {limits.memory_mb} MB memory limit",
        )
    if outcome.signal is not None:
        name = (
            signal.Signals(outcome.signal).name
            if outcome.signal in signal.Signals._value2member_map_
            else outcome.signal
        )
        return ERROR, f"crashed the Python process ({name}) before it could be graded"
    return ERROR, f"ended its own process (exit code {outcome.exit_code}) before it could be graded"


def result_of(
    outcome: Outcome, exercise: Exercise, plan: Plan, cache: dict, source: str,
    point_back: Callable[[Report], Report] = lambda report: report,
) -> SubmissionResult:  # fmt: skip
    """The child's plain data judged here, in the parent, against references kept in `cache`;
    `source` is the submission's file as the parent read it before the child ran; `point_back`
    puts a report's lines in the terms of what the student handed in (a notebook's cells)."""
    submission = outcome.job["submission"]
    if not outcome.timed_out and not outcome.truncated and outcome.exit_code == 0 and outcome.data:
        settings = grading_settings(exercise, plan)
        try:
            runs = collected.decode(outcome.data)
            if not isinstance(runs, list) or len(runs) != len(settings):
                raise collected.BadData("not one result per grading setting")
            for run in runs:  # what the judge reads from the source, it reads from the parent's copy
                if "source" in run:
                    run["source"] = source
            code: dict[str, str] = {}
            reports = [
                point_back(quote_lines(exercise.judge(run, s, cache), source, code))
                for run, (_, s) in zip(runs, settings, strict=True)
            ]
        except Exception as e:  # noqa: BLE001 (whatever a child sent, the batch goes on)
            message = f"malformed result from the submission's process ({type(e).__name__}: {e})"[:500]
            return failed(exercise, plan, submission, ERROR, message, outcome.wall)
        labels = [label for label, _ in settings]
        return score_reports(exercise, reports, labels, plan, submission, outcome.wall, code)
    status, message = why_no_result(outcome, plan.limits)
    return failed(exercise, plan, submission, status, message, outcome.wall)


def probe_network() -> str | None:
    """Whether children can be cut off the network here: None if yes, else why not (forked probe)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.write(write_end, (network_isolation() or "").encode()[:500])
        os._exit(0)
    os.close(write_end)
    why = os.read(read_end, 1000).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    return why or None


def warm_up(exercises: Iterable[Exercise]) -> None:
    """Collect each bundled solution once at the notebook's seed (nothing secret), so the children,
    forked afterwards, find torch's kernels and caches warm instead of each paying to warm them."""
    for exercise in exercises:  # an install built for students has no solutions: the template warms as well
        warm = exercise.solution if exercise.solution.is_file() else exercise.template
        exercise.for_grading().collect(warm, Settings())


def grade(
    work: list[tuple[str, Exercise, Path | None]],
    plan: Plan,
    jobs: int,
    on_result: Callable[[SubmissionResult], None] = lambda r: None,
) -> list[SubmissionResult]:
    """Grade every (submission, exercise, file) and return the results in the order given."""
    from ninja.makemore import data

    torch.set_num_threads(1)  # parallel over processes, not threads; and forking a thread pool is unsafe
    data.splits(None)  # warm: every child inherits the dataset
    warm_up({exercise.name: exercise for _, exercise, _ in work if exercise is not None}.values())
    given = {exercise.name: given_names(exercise) for _, exercise, _ in work if exercise is not None}
    results: dict[int, SubmissionResult] = {}
    sources: dict[int, str] = {}  # never sent to a child
    point_back: dict[int, Callable[[Report], Report]] = {}
    scratch = tempfile.TemporaryDirectory(prefix="ninja-grade-")  # notebooks' cells as files, for the children
    jobs_to_run = []
    for i, (submission, exercise, path) in enumerate(work):
        if exercise is None:
            from ninja.registry import EXERCISES

            names = ", ".join(f"{name}.py" for name in EXERCISES)
            message = f"no exercise file in {submission} (looked for {names})"
            results[i] = SubmissionResult(submission, "-", 0.0, 0.0, ERROR, message)
            on_result(results[i])
        elif path is None:
            results[i] = failed(exercise, plan, submission, ERROR, why_missing(submission, exercise), 0.0)
            on_result(results[i])
        else:
            try:
                path, point_back[i] = runnable(exercise, path, Path(scratch.name) / str(i))
            except NotebookError as e:
                results[i] = failed(exercise, plan, submission, ERROR, str(e), 0.0)
                on_result(results[i])
                continue
            sources[i] = path.read_text(encoding="utf-8", errors="replace")
            jobs_to_run.append(
                {"id": i, "submission": submission, "exercise": exercise.name, "path": str(path.resolve()),
                 "settings": [[s.seed, s.batch_size] for _, s in grading_settings(exercise, plan)],
                 "given": given[exercise.name]}
            )  # fmt: skip
    with scratch, ForkServer(grade_in_child, plan.limits) as server:
        cache: dict = {}  # references, filled after the fork server exists, so no child inherits them
        for outcome in server.run(jobs_to_run, max(1, jobs)):
            i = outcome.job["id"]
            results[i] = result_of(outcome, work[i][1], plan, cache, sources[i], point_back[i])
            on_result(results[i])
    return [results[i] for i in range(len(work))]


def runnable(exercise: Exercise, path: Path, folder: Path) -> tuple[Path, Callable[[Report], Report]]:
    """The file a child collects from, and how to point its reports back at what the student
    handed in: for a notebook, its backward cells after the template's forward, written in
    `folder`, as `ninja check --file x.ipynb` runs them. NotebookError when it has none."""
    if path.suffix != ".ipynb":
        return path, lambda report: report
    generated = notebook.generate(exercise, path)
    folder.mkdir(parents=True)
    return generated.write(folder, exercise.name), generated.point
