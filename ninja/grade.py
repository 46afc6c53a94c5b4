"""`ninja grade`: grade a class's submissions, each in its own sandboxed process.

Flow: find (submission, exercise) pairs -> start the fork server (torch already imported, nothing
secret computed yet) -> each child runs the learner's file at every grading batch size with
autograd disabled and sends back its gradients as plain arrays (a JSON header and raw bytes) ->
the parent computes the references itself, calls engine.check, and scores. A variable earns its
points only if it passes at every batch size, with the trusted forward intact.
"""

from __future__ import annotations

import ast
import json
import math
import os
import secrets
import signal
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ninja import engine, makemore, runner
from ninja.exercise import Exercise
from ninja.makemore import Settings
from ninja.results import PASS, LearnerError, Report, VarResult
from ninja.sandbox import ForkServer, Limits, Outcome, network_isolation, send_all

GRADED, ERROR, TIMEOUT = "graded", "error", "timeout"
AUTOGRAD_MESSAGE = "autograd is not available while grading: write the gradient by hand"
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


def secret_seed() -> int:
    return secrets.randbelow(2**31 - 2)


def batch_sizes_for(seed: int) -> tuple[int, int]:
    """32 (the notebook's) and a second size, from the seed, so a hard-coded n fails somewhere."""
    return 32, 17 + seed % 40 + (seed % 40 >= 15)  # 17..57, never 32


# ---- what to grade -------------------------------------------------------------------------


def find_work(paths: Iterable[Path], exercise: Exercise | None) -> list[tuple[str, Exercise | None, Path | None]]:
    """(submission as given, exercise, file or None when missing) for every SUB: a folder holding
    exercise files under their template names, or one file named after its exercise."""
    from ninja.exercises import EXERCISES

    work = []
    for path in paths:
        if path.is_dir():
            wanted = [exercise] if exercise else list(EXERCISES.values())
            found = [(str(path), ex, path / f"{ex.name}.py") for ex in wanted if (path / f"{ex.name}.py").is_file()]
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


def read_points(config: Path | None) -> dict[str, dict[str, float]]:
    """Points per variable from a TOML file: [exercise1.points] dlogprobs = 2 (default 1 each)."""
    if config is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    from ninja.exercises import EXERCISES

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


def encode_value(value: Any, blobs: list[bytes], offset: list[int]) -> dict:
    if value is engine.UNREACHED:
        return {"kind": "unreached"}
    if value is None:
        return {"kind": "none"}
    try:
        array = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
    except Exception:  # noqa: BLE001 (whatever the learner assigned)
        array = None
    if array is None or array.dtype.name not in DTYPES:
        return {"kind": "other", "type": type(value).__name__[:60]}
    data = np.ascontiguousarray(array).tobytes()
    spec = {"kind": "array", "dtype": array.dtype.name, "shape": list(array.shape), "offset": offset[0]}
    blobs.append(data)
    offset[0] += len(data)
    return spec


def encode_runs(exercise: Exercise, runs: list[tuple[int, runner.LearnerRun]]) -> bytes:
    """A JSON header (length-prefixed) and the raw bytes of every array: plain data, no pickle."""
    blobs: list[bytes] = []
    offset = [0]
    header = []
    for batch_size, run in runs:
        error = run.error
        header.append(
            {
                "batch_size": batch_size,
                "error": None if error is None else [error.kind, error.message, error.path, error.line, error.source],
                "output": run.output[: runner.MAX_OUTPUT],
                "answers": {name: encode_value(run.value(f"d{name}"), blobs, offset) for name in exercise.checked},
                "forward": {
                    name: encode_value(run.namespace.get(name), blobs, offset) for name in exercise.forward_names
                },
            }
        )
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def grade_in_child(job: dict, fd: int) -> None:
    """Runs in the forked child, confined: the learner's file at every batch size, then send."""
    from ninja.exercises import find

    exercise = find(job["exercise"])
    os.chdir(Path(job["path"]).parent)  # files it writes land beside it, not where the grader runs
    network_isolation()  # where the OS refuses, probe_network() has told the instructor already
    settings = [Settings(job["seed"], n) for n in job["batch_sizes"]]
    tables = [givens(job["given"], s) for s in settings]
    disable_autograd()
    runs = []
    for s, table in zip(settings, tables, strict=True):
        makemore.given = given_from(table)
        with makemore.use(s):
            runs.append((s.batch_size, runner.run_file(Path(job["path"]))))
    send_all(fd, encode_runs(exercise, runs))


# ---- in the parent -------------------------------------------------------------------------


class BadResult(ValueError):
    """What the child sent is not what grade_in_child writes."""


class Other:
    """Stands for a non-array value the learner assigned; the engine reports its type name."""


def decode_value(spec: Any, blob: bytes) -> Any:
    if not isinstance(spec, dict):
        raise BadResult("value spec")
    kind = spec.get("kind")
    if kind == "none":
        return None
    if kind == "unreached":
        return engine.UNREACHED
    if kind == "other":
        name = str(spec.get("type", "object"))
        return type(name if name.isidentifier() else "object", (Other,), {})()
    if kind != "array" or spec.get("dtype") not in DTYPES:
        raise BadResult("value kind")
    shape, offset = spec.get("shape"), spec.get("offset")
    if (
        not isinstance(shape, list)
        or not all(isinstance(d, int) and d >= 0 for d in shape)
        or not isinstance(offset, int)
    ):
        raise BadResult("value shape")
    dtype = DTYPES[spec["dtype"]]
    count = math.prod(shape)
    if offset < 0 or offset + count * dtype.itemsize > len(blob):
        raise BadResult("value size")
    array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
    return torch.from_numpy(array.copy())


def decode(data: bytes, exercise: Exercise) -> list[dict]:
    """The child's runs as plain Python: batch_size, error, output, answers, forward."""
    if len(data) < 8:
        raise BadResult("no header")
    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + length])
    except (ValueError, UnicodeDecodeError):
        raise BadResult("header is not JSON") from None
    blob = data[8 + length :]
    if not isinstance(header, list):
        raise BadResult("header")
    runs = []
    for run in header:
        try:
            error = run["error"]
            if error is not None:
                kind, message, path, line, source = error
                error = LearnerError(
                    str(kind)[:100],
                    str(message)[:2000],
                    str(path),
                    line if isinstance(line, int) else None,
                    None if source is None else str(source)[:500],
                )
            runs.append(
                {
                    "batch_size": int(run["batch_size"]),
                    "error": error,
                    "output": str(run["output"])[: runner.MAX_OUTPUT],
                    "answers": {name: decode_value(run["answers"][name], blob) for name in exercise.checked},
                    "forward": {name: decode_value(run["forward"][name], blob) for name in exercise.forward_names},
                }
            )
        except (KeyError, TypeError, ValueError) as e:
            raise BadResult(str(e)) from None
    return runs


class References:
    """The trusted forward and autograd's gradients, once per (exercise, seed, batch size)."""

    def __init__(self):
        self.cache: dict[tuple[str, Settings], tuple[dict, dict]] = {}

    def get(self, exercise: Exercise, settings: Settings) -> tuple[dict, dict]:
        key = (exercise.name, settings)
        if key not in self.cache:
            self.cache[key] = exercise.reference(settings, exercise.checked)
        return self.cache[key]


def check_run(exercise: Exercise, run: dict, plan: Plan, references: References) -> Report:
    trusted, grads = references.get(exercise, Settings(plan.seed, run["batch_size"]))
    report = engine.check(
        exercise.name,
        run["answers"],
        grads,
        learner_forward=run["forward"],
        trusted_forward=trusted,
        forward_names=exercise.forward_names,
        error=run["error"],
        rtol=exercise.rtol,
        atol=exercise.atol,
    )
    report.output = run["output"]
    return report


def feedback(v: VarResult, at: str) -> str:
    """What a student reads about one variable: status, the engine's note, blame and diagnosis."""
    parts = [f"d{v.name}: {v.status}{at}"]
    if v.maxdiff is not None and v.status != PASS:
        parts.append(f"maxdiff {v.maxdiff:.2e}")
    for extra in (v.note, getattr(v, "diagnosis", None)):
        if extra:
            parts.append(str(extra))
    inherited = getattr(v, "inherited_from", None)
    if inherited:
        parts.append(f"wrong because d{inherited} is wrong (this line may be right)")
    return "; ".join(parts)


def score_reports(
    exercise: Exercise, reports: list[Report], batch_sizes: list[int], plan: Plan, submission: str, seconds: float
) -> SubmissionResult:
    """A variable earns its points only if it passes at every batch size with the forward intact."""
    tests = []
    hard_coded = []
    for i, name in enumerate(exercise.checked):
        results = [r.variables[i] for r in reports]
        passing = [v.status == PASS for v in results]
        passed = all(passing) and all(r.forward_ok for r in reports)
        worst = next((k for k, ok in enumerate(passing) if not ok), 0)
        at = f" at batch size {batch_sizes[worst]}" if not passed and len(reports) > 1 else ""
        text = feedback(results[worst], at)
        if any(passing) and not all(passing):
            hard_coded.append(f"d{name}")
            text += "; right at one batch size but not another: is n or a value hard-coded?"
        if all(passing) and not passed:
            text += "; not counted: the forward pass was changed"
        points = points_of(plan, exercise, name)
        tests.append(TestResult(f"d{name}", points if passed else 0.0, points, passed, text))
    score = sum(t.score for t in tests)
    first = reports[0]
    lines = [f"{sum(t.passed for t in tests)}/{len(tests)} gradients correct"]
    error = next((r.error for r in reports if r.error), None)
    if error:
        lines.append(f"{error.where}: {error.kind}: {error.message}")
    lines += sorted({note for r in reports for note in r.notes})
    if hard_coded:
        more = f" and {len(hard_coded) - 3} more" if len(hard_coded) > 3 else ""
        lines.append(f"{', '.join(hard_coded[:3])}{more}: right at one batch size only: is n or a value hard-coded?")
    return SubmissionResult(
        submission, exercise.name, score, sum(t.max_score for t in tests), ERROR if error else GRADED,
        "\n".join(lines), tests, seconds, first.output,
    )  # fmt: skip


def failed(
    exercise: Exercise, plan: Plan, submission: str, status: str, message: str, seconds: float
) -> SubmissionResult:
    """Nothing to grade: every variable gets 0 with the reason."""
    tests = [TestResult(f"d{name}", 0.0, points_of(plan, exercise, name), False, message) for name in exercise.checked]
    return SubmissionResult(
        submission, exercise.name, 0.0, sum(t.max_score for t in tests), status, message, tests, seconds
    )


def why_no_result(outcome: Outcome, limits: Limits) -> tuple[str, str]:
    if outcome.timed_out:
        return TIMEOUT, f"timed out after {limits.timeout:g} s (an endless loop, or far too slow)"
    if outcome.truncated:
        return ERROR, "the submission sent back far too much data and was stopped"
    if outcome.signal == signal.SIGXCPU:
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
    return ERROR, f"the submission ended its own process (exit code {outcome.exit_code}) before it could be graded"


def result_of(outcome: Outcome, exercise: Exercise, plan: Plan, references: References) -> SubmissionResult:
    submission = outcome.job["submission"]
    if not outcome.timed_out and not outcome.truncated and outcome.exit_code == 0 and outcome.data:
        try:
            runs = decode(outcome.data, exercise)
        except BadResult as e:
            return failed(
                exercise, plan, submission, ERROR, f"malformed result from the submission's process ({e})", outcome.wall
            )
        batch_sizes = [run["batch_size"] for run in runs]
        if batch_sizes == list(plan.batch_sizes):
            reports = [check_run(exercise, run, plan, references) for run in runs]
            result = score_reports(exercise, reports, batch_sizes, plan, submission, outcome.wall)
            if result.status == ERROR and any(
                r.error and ("allocate" in r.error.message or r.error.kind == "MemoryError") for r in reports
            ):
                result.message += f"\n(the memory limit is {plan.limits.memory_mb} MB)"
            return result
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
    """Run each bundled solution once at the notebook's seed (nothing secret), so the children,
    forked afterwards, find torch's kernels and caches warm instead of each paying to warm them."""
    for exercise in exercises:
        runner.run_file(exercise.solution)


def grade(
    work: list[tuple[str, Exercise, Path | None]],
    plan: Plan,
    jobs: int,
    on_result: Callable[[SubmissionResult], None] = lambda r: None,
) -> list[SubmissionResult]:
    """Grade every (submission, exercise, file) and return the results in the order given."""
    from ninja import data

    torch.set_num_threads(1)  # parallel over processes, not threads; and forking a thread pool is unsafe
    data.splits(None)  # warm: every child inherits the dataset
    warm_up({exercise.name: exercise for _, exercise, _ in work if exercise is not None}.values())
    given = {exercise.name: given_names(exercise) for _, exercise, _ in work if exercise is not None}
    results: dict[int, SubmissionResult] = {}
    jobs_to_run = []
    for i, (submission, exercise, path) in enumerate(work):
        if exercise is None:
            from ninja.exercises import EXERCISES

            names = ", ".join(f"{name}.py" for name in EXERCISES)
            message = f"no exercise file in {submission} (looked for {names})"
            results[i] = SubmissionResult(submission, "-", 0.0, 0.0, ERROR, message)
            on_result(results[i])
        elif path is None:
            results[i] = failed(exercise, plan, submission, ERROR, f"no {exercise.name}.py in the submission", 0.0)
            on_result(results[i])
        else:
            jobs_to_run.append(
                {"id": i, "submission": submission, "exercise": exercise.name, "path": str(path.resolve()),
                 "seed": plan.seed, "batch_sizes": list(plan.batch_sizes), "given": given[exercise.name]}
            )  # fmt: skip
    with ForkServer(grade_in_child, plan.limits) as server:
        references = References()  # computed after the fork server exists, so no child inherits them
        for outcome in server.run(jobs_to_run, max(1, jobs)):
            i = outcome.job["id"]
            results[i] = result_of(outcome, work[i][1], plan, references)
            on_result(results[i])
    return [results[i] for i in range(len(work))]
