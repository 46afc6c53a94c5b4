"""`ninja grade`: grade a class's submissions, each in its own sandboxed process.

Flow: find (submission, exercise) pairs -> start the fork server (torch already imported, nothing
secret computed yet) -> each child runs `exercise.collect` at every grading setting with autograd
disabled and sends back plain data (ninja/collected.py: a JSON header and raw bytes) -> the parent
runs `exercise.judge` (the same code as `ninja check`: references, engine, blame) and scores. A
variable earns its points only if it passes at every setting, with the trusted forward intact.
"""

from __future__ import annotations

import ast
import itertools
import secrets
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ninja import collected, runner
from ninja.grade import discover
from ninja.grade import jobs as prep
from ninja.grade.child import AUTOGRAD_MESSAGE, preloadable
from ninja.grade.discover import GradeError  # noqa: F401 (the grading input error, raised here too)
from ninja.grade.judging import Judging
from ninja.grade.sandbox import ForkServer, Limits, Outcome, worker_path
from ninja.registry import Exercise
from ninja.results import ERROR as ERROR_STATUS
from ninja.results import FAIL, PASS, LearnerError, Report, VarResult
from ninja.settings import Settings

GRADED, ERROR, TIMEOUT = "graded", "error", "timeout"
NOT_SUBMITTED = "not submitted"  # no file for the exercise: 0 points, left out of the class's statistics
JUDGE_MEMORY_MB = 2048  # what judging one reply may take on top of the references (an honest one takes ~50)
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
    audit: str = "enforce"  # enforce: a flagged exercise scores 0 with the reason; warn: reported only


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
        if name in ("course", "exercises"):  # ninja.toml's choices and exercise files (ninja/registry.py)
            continue
        if name not in EXERCISES or not isinstance(section, dict) or set(section) - {"points", "visibility"}:
            raise GradeError(f"{config}: [{name}] is not an exercise with a points table (e.g. [exercise1.points]) "
                             "and a visibility")  # fmt: skip
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
    """(label, settings) to grade at: the secret seed at every batch size; or, for an exercise whose
    shapes come with its cases (CS231n) and batch size means nothing, as many input sets, seeds seed,
    seed+1, ..."""
    setting = exercise.labels.setting
    if exercise.labels.by_seed:
        return [(f"{setting} {k + 1}", Settings(plan.seed + k)) for k in range(len(plan.batch_sizes))]
    return [(f"{setting} {n}", Settings(plan.seed, n)) for n in plan.batch_sizes]


def test_name(exercise: Exercise, name: str) -> str:
    """What graders call a checked name: d<variable> (makemore), function.output (CS231n)."""
    return exercise.labels.shown(name)


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
    if error.kind == "AutogradUnavailable" or AUTOGRAD_MESSAGE in error.message:
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
    what, guess = exercise.labels.setting, exercise.labels.hard_coded
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
    if outcome.lost:
        return ERROR, f"not graded: {outcome.lost} while this submission ran (it was restarted for the others)"
    if outcome.timed_out:
        return TIMEOUT, f"timed out after {limits.timeout:g} s (an endless loop, or far too slow)"
    if outcome.truncated:
        return ERROR, "the submission sent back far too much data and was stopped"
    if outcome.signal in (signal.SIGXCPU, signal.SIGKILL) and outcome.cpu >= limits.cpu_seconds - 0.05:
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
    if outcome.exit_code == 70 and not outcome.data:
        return ERROR, "its process could not be confined, or failed before it could be graded"
    return ERROR, f"ended its own process (exit code {outcome.exit_code}) before it could be graded"


def result_of(
    outcome: Outcome, exercise: Exercise, plan: Plan, cache: dict, prepared: prep.Prepared, bound: int
) -> SubmissionResult:
    """The child's plain data judged (in a judge of the judging process), against references kept in `cache`;
    `prepared.source` is the submission's file as the parent read it before the child ran;
    `point_back` puts a report's lines in the terms of what the student handed in (a notebook's
    cells); `bound`: the most elements an array of the reply may have. Whatever the child sent, a
    failure stays this submission's (RecursionError too)."""
    submission = outcome.job["submission"]
    if not outcome.timed_out and not outcome.truncated and outcome.exit_code == 0 and outcome.data:
        settings = grading_settings(exercise, plan)
        try:
            runs = collected.decode(outcome.data)
            if not isinstance(runs, list) or len(runs) != len(settings) or not all(isinstance(r, dict) for r in runs):
                raise collected.BadData("not one result per grading setting")
            runs = fit_to_judge(runs, bound)
            for run in runs:  # what the judge reads from the source, it reads from the parent's copy
                if "source" in run:
                    run["source"] = prepared.source
                prep.map_back(run, outcome.job["dir"], prepared.original)
            code: dict[str, str] = {}
            reports = [
                prepared.point_back(quote_lines(exercise.judge(run, s, cache), prepared.source, code))
                for run, (_, s) in zip(runs, settings, strict=True)
            ]
            labels = [label for label, _ in settings]
            result = score_reports(exercise, reports, labels, plan, submission, outcome.wall, code)
        except Exception as e:  # noqa: BLE001 (whatever a child sent, the batch goes on)
            message = f"malformed result from the submission's process ({type(e).__name__}: {str(e)[:300]})"
            return failed(exercise, plan, submission, ERROR, message, outcome.wall)
        return result
    status, message = why_no_result(outcome, plan.limits)
    return failed(exercise, plan, submission, status, message, outcome.wall)


REPLY_DTYPES = {"float32", "float64", "int64", "int32", "uint8", "bool"}  # what judging reads; float16 as float32


def fit_to_judge(runs: list, bound: int) -> list:
    """A reply, fit to judge: nothing in it chooses the reference (a makemore file's "own"
    parameters and batch are the grader's secret ones when grading), arrays of the usual dtypes
    (a float16 array is judged as float32; any other dtype is no gradient), and none with more
    than `bound` elements (the exercise's largest, with room for a wrong shape): a forged reply
    costs the judge what an honest one does."""

    def fit(value):
        if isinstance(value, dict):
            return {k: fit(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fit(v) for v in value]
        if isinstance(value, np.ndarray):
            if value.size > bound:
                return collected.Opaque("oversized_array")
            if value.dtype == np.float16:
                return value.astype(np.float32)
            return value if value.dtype.name in REPLY_DTYPES else collected.Opaque(f"{value.dtype.name}_array")
        return value

    for run in runs:
        if run.get("own") is not None:
            run["own"] = None
    return fit(runs)


def array_bound(data) -> int:
    """The most elements a reply's array may have: 16 times the largest array an honest run sends
    (a wrong shape such as (n, n) for (n,) fits; a 1 MB forged array does not)."""
    sizes = [0]

    def walk(value):
        if isinstance(value, dict):
            [walk(v) for v in value.values()]
        elif isinstance(value, (list, tuple)):
            [walk(v) for v in value]
        elif isinstance(value, np.ndarray):
            sizes.append(value.size)

    walk(data)
    return 16 * max(max(sizes), 4096)


def given_tables(exercises: Iterable[Exercise], plan: Plan) -> dict[str, list[dict[str, np.ndarray]]]:
    """The gradients an exercise gives (exercise 3's dhpreact) at each grading setting, computed
    here: a child gets them as arrays in its folder and never runs the reference itself."""
    tables = {}
    for exercise in exercises:
        names = given_names(exercise)
        tables[exercise.name] = [
            {k: v.detach().numpy() for k, v in exercise.reference(s, names)[1].items()} if names else {}
            for _, s in grading_settings(exercise, plan)
        ]
    return tables


def warm_up(exercises: Iterable[Exercise]) -> dict[str, int]:
    """Check each bundled solution once at the notebook's seed (nothing secret) in the parent, so
    everything judging imports is imported before the first child runs (a child cannot plant a
    module that the parent would import later), and torch's kernels are warm (the template, in an
    install built for students). Returns each exercise's array bound (see array_bound)."""
    bounds = {}
    for exercise in exercises:
        graded = exercise.for_grading()
        data = graded.collect(exercise.warm_up_file, Settings())
        graded.judge(data, Settings())
        bounds[exercise.name] = array_bound(data)
    return bounds


def warm_references(exercises: Iterable[Exercise], plan: Plan, cache: dict) -> None:
    """In the judging process, before it serves: each exercise judged once at every grading setting
    (its bundled file, nothing a child sent), so every judge it forks inherits the references."""
    for exercise in exercises:
        graded = exercise.for_grading()
        for _, settings in grading_settings(exercise, plan):
            graded.judge(graded.collect(exercise.warm_up_file, settings), settings, cache)


def exercise_files(exercises: Iterable[Exercise]) -> dict[str, str]:
    """name -> the exercise file a course's own exercise was loaded from: the warm worker loads it too."""
    return {e.name: str(e.source_file) for e in exercises if getattr(e, "source_file", None) is not None}


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
        server = server or ForkServer()
    scratch = prep.Scratch()
    judging: Judging | None = None
    try:
        if server is not None:  # it warms up while the submissions are read here
            server.configure("ninja.grade.child:grade_in_child", plan.limits, "ninja.grade.child:prepare",
                             {"exercises": list(exercises), "files": exercise_files(exercises.values())},
                             "ninja.grade.child:preload", hidden_folders(work))  # fmt: skip
        torch.set_num_threads(1)
        bounds = warm_up(exercises.values())
        given = given_tables(exercises.values(), plan)
        for i, (submission, exercise, path) in enumerate(work):
            early = early_result(i, submission, exercise, path, plan, scratch, given, prepared)
            if early is not None:
                results[i] = early
                on_result(early)
        if server is not None:
            judging = judging_process(work, plan, prepared, bounds)  # it warms up while the worker does
            server.preload(preloaded(prepared, results))
            server.wait_ready()
            on_isolation(server.layers, server.missing)
            server.prove(str(scratch.folder(-1)))  # one child starts and reports, or no one is graded
            scratch.remove(-1)
            to_run = [dict(p.job, settings=settings_of[p.job["exercise"]], given=list(given[p.job["exercise"]][0]))
                      for i, p in prepared.items() if i not in results]  # fmt: skip
            for i, result in judged(server.run(to_run, max(1, jobs)), judging, scratch):
                results[i] = with_findings(result, prepared[i], plan)
                on_result(results[i])
    finally:
        if judging is not None:
            judging.close()
        if server is not None:
            server.close()  # waits for the fork server, which waits for every child
        scratch.close()
    return [results[i] for i in range(len(work))]


MAX_PRELOAD = 1000  # modules (a class imports a few dozen): what one message to the warm worker holds


def preloaded(prepared: dict, results: dict) -> list[str]:
    """What the warm worker imports before it forks: the modules the submissions that run import
    (not one the audit refused), those it may, taken a module from each submission in turn, in one
    message: a submission naming thousands crowds out no classmate's."""
    lists = [sorted(m for m in p.imports if len(m) <= 100 and preloadable(m)) for i, p in prepared.items()
             if i not in results]  # fmt: skip
    chosen: set[str] = set()
    for module in itertools.chain.from_iterable(itertools.zip_longest(*lists)):
        if len(chosen) == MAX_PRELOAD:
            break
        if module is not None:
            chosen.add(module)
    return sorted(chosen)


def judging_process(work, plan: Plan, prepared: dict, bounds: dict) -> Judging:
    """The judging process (ninja/grade/judging.py), forked once every submission is read and
    prepared; it computes the references while the warm worker warms up."""
    cache: dict = {}  # references stay on the grader's side; no child ever inherits them

    def judge(outcome: Outcome) -> dict:
        i = outcome.job["id"]
        return asdict(result_of(outcome, work[i][1], plan, cache, prepared[i], bounds[work[i][1].name]))

    def not_judged(outcome: Outcome, why: str) -> dict:
        return asdict(failed(work[outcome.job["id"]][1], plan, outcome.job["submission"], ERROR, why, outcome.wall))

    exercises = {exercise.name: exercise for _, exercise, _ in work if exercise is not None}
    return Judging(judge, not_judged, max(plan.limits.timeout, 10.0), JUDGE_MEMORY_MB,
                   lambda: warm_references(exercises.values(), plan, cache))  # fmt: skip


def judged(
    outcomes: Iterable[Outcome], judging: Judging, scratch: prep.Scratch
) -> Iterable[tuple[int, SubmissionResult]]:
    """(job id, result) for every outcome, judged in the judging process: the loop that keeps the
    children's deadlines hands each reply over and never waits on a judge."""
    for outcome in outcomes:
        scratch.remove(outcome.job["id"])
        judging.submit(outcome)
        yield from ((i, as_result(v)) for i, v in judging.answers())
    yield from ((i, as_result(v)) for i, v in judging.answers(block=True))


def as_result(verdict: dict) -> SubmissionResult:
    return SubmissionResult(**verdict | {"tests": [TestResult(**t) for t in verdict["tests"]]})


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
    syntax = next((f for f in prepared[i].findings if f.syntax), None)
    if syntax is not None:  # whatever the audit mode: it would not compile in the child either
        scratch.remove(i)
        message = f"syntax error at line {syntax.line}: {syntax.what.removeprefix('SyntaxError: ')}"
        result = failed(exercise, plan, submission, ERROR, f"{message}\n{path}:{syntax.line}: {syntax.what}", 0.0)
        result.line = syntax.line
        return result
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
