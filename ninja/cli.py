"""The `ninja` command (also installed as `backprop-ninja`). Thin: find the files, call the
exercise's check, render. Exit codes: 0 all pass, 1 something fails or the file does not run,
2 usage or environment errors."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="ninja",
    help="Check hand-written backprop against PyTorch autograd, line by line.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(emoji=False)  # no :smile: codes in messages (and no emoji table to import)
errors = Console(stderr=True, emoji=False)


WORKSPACE_HELP = "Folder with your exercises/ \\[default: .]"


class Format(str, Enum):
    table = "table"
    json = "json"
    github = "github"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


PROG = "ninja"  # the name this program was called by (main sets it): backprop-ninja where ninja is the build system


def program_name(argv0: str) -> str:
    """`ninja`, `backprop-ninja`, or `python -m ninja`: what the learner typed, for usage lines and hints."""
    name = Path(argv0).name
    if name in ("__main__.py", "__main__"):
        return "python -m ninja"
    return name.removesuffix(".exe") if name.removesuffix(".exe") in ("ninja", "backprop-ninja") else "ninja"


def fail_usage(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def exercise_named(name: str):
    from ninja.registry import EXERCISES, UnknownExercise, find

    try:
        return find(name)
    except UnknownExercise as e:
        stem = Path(name.replace("\\", "/")).name.removesuffix(".py").removesuffix(".ipynb")
        if stem != name and stem in EXERCISES:  # a path where an exercise name goes
            raise fail_usage(f"no exercise named {name!r}. {file_advice(stem, Path(name))}") from None
        raise fail_usage(str(e)) from None


def file_advice(exercise: str, path: Path) -> str:
    """What to type for a file given where the exercise's name goes: only what would work."""
    if path.is_file():
        return f"To check a file, name its exercise: {PROG} check {exercise} --file {quoted(path)}"
    if learner_path(exercise_named(exercise), None).is_file():
        return f"Your {exercise} file is found without naming it: {PROG} check {exercise}"
    return f"There is no file {path}; the exercise's name is {exercise}: {PROG} check {exercise} --file PATH"


def quoted(path) -> str:
    import shlex

    return shlex.quote(str(path))


def complete_exercise(incomplete: str) -> list[str]:
    from ninja.registry import EXERCISES

    return [name for name in EXERCISES if name.startswith(incomplete)]


def learner_file(exercise, file: Optional[Path], workspace: Optional[Path] = None) -> Path:
    """--file, else the exercise's file in the workspace; it must be there, and be readable."""
    path = file if file is not None else learner_path(exercise, workspace)
    if path.is_dir():
        raise fail_usage(f"{path} is a folder: give a file, like {path / (exercise.name + '.py')}")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        advice = "" if file else missing_advice(exercise, path)
        raise fail_usage(f"cannot read {path}: {e.strerror or e}{advice}") from None
    return path


def missing_advice(exercise, path: Path) -> str:
    """After 'cannot read exercises/exercise1.py': how to get it, never a nested exercises/exercises/."""
    from ninja.workspace import find_root

    if find_root() is not None:  # a workspace without this file: put its template back there
        return f" (put its template there with `{PROG} reset {exercise.name}`, or pass --file PATH)"
    return f" (create a workspace here with `{PROG} init`, or pass --file PATH or --workspace DIR)"


def settings_from(seed: Optional[int], batch_size: int, data: Optional[Path]):
    from ninja.settings import Settings

    if batch_size < 2:
        raise fail_usage("--batch-size must be at least 2 (batchnorm's variance divides by n-1)")
    if seed is not None and not 0 <= seed < 2**62:
        raise fail_usage("--seed must be a whole number from 0 to 2**62")
    if data is not None and not data.is_file():
        raise fail_usage(f"cannot read names file {data}")
    return Settings(batch_size=batch_size, data=data) if seed is None else Settings(seed, batch_size, data)


@app.command()
def check(
    exercise: str = typer.Argument(
        ..., help="exercise1, exercise2, ... (see `ninja list`)", autocompletion=complete_exercise
    ),
    file: Optional[list[Path]] = typer.Option(
        None,
        "--file",
        "-f",
        help="The learner's file (.py or .ipynb) \\[default: exercises/EXERCISE.py]; CS231n: repeat it, or give a "
        "folder (cs231n/classifiers/)",
    ),
    seed: Optional[int] = typer.Option(None, help="Seed for the parameters and the batch \\[default: the notebook's]"),
    batch_size: int = typer.Option(32, "--batch-size", "-n", help="Batch size n"),
    data: Optional[Path] = typer.Option(
        None, help="Names file, one per line \\[default: the packaged corpus]; classifiers: a CIFAR-10 batch folder"
    ),
    format: Format = typer.Option(Format.table, "--format", help="table, json, or github (Actions annotations)"),
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP
    ),
    steps: Optional[str] = typer.Option(
        None, help="exercise4: training steps, N or 'full' (200,000); 20,000 when not given"
    ),
    device: Optional[Device] = typer.Option(None, "--device", help="exercise4: train on cpu (the default) or cuda"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="exercise4: write the loss curve to a .png, .svg or .pdf"),
    only: Optional[str] = typer.Option(None, "--only", help="CS231n: only the functions whose name contains this"),
    numeric: bool = typer.Option(False, "--numeric", help="CS231n: central differences (h=1e-5) beside autograd"),
    convention: Optional[list[str]] = typer.Option(
        None, "--convention", help="CS231n: reg=1|0.5, net_reg=0.5|1, dropout=keep|drop \\[default: your file's]"
    ),
    timeout: Optional[float] = typer.Option(
        None, "--timeout", metavar="SECONDS", help="Stop your file if it runs longer, and say at which line"
    ),
):
    """Check your gradients against PyTorch autograd.

    Example: [bold]ninja check exercise1[/] (or [bold]--file my_backprop.py[/], or a notebook: [bold]--file my.ipynb[/])
    """
    from ninja.settings import DataError  # here: --help and completion need no torch

    ex = exercise_named(exercise)
    if getattr(ex, "track", None) == "cs231n":  # there --data is a CIFAR-10 folder
        path = cs231n_files(ex, file or [], workspace)
        ex = cs231n_options(ex, only, numeric, data, convention)
        settings = replace(settings_from(seed, batch_size, None), data=data)
    elif only is not None or numeric or convention or len(file or []) > 1:
        raise fail_usage("--only, --numeric, --convention and several --file are for the CS231n exercises")
    else:
        path = learner_file(ex, file[0] if file else None, workspace)
        settings = settings_from(seed, batch_size, data)
    wanted = training_request(ex, steps, device, plot)
    try:
        report = watched_check(ex, path, settings, timeout)
    except DataError as e:
        raise fail_usage(str(e)) from None
    if format is Format.json:
        from ninja.render import to_dict

        result, code = to_dict(report), exit_code(report)
        if wanted and report.passed:
            result["training"], code = ex.train(path, settings, wanted, None, errors)
        print(json.dumps(result, indent=2))
        raise typer.Exit(code)
    elif format is Format.github:
        from ninja.render import github

        print(github(report))
    else:
        from ninja.render import table

        console.print(table(report, console.width))
        if wanted and not interrupted(report):
            raise typer.Exit(train_after(ex, path, settings, wanted, report.passed))
    raise typer.Exit(exit_code(report))


def exit_code(report) -> int:
    """0 all pass, 1 something does not, 130 (as shells count Ctrl-C) when the learner stopped it."""
    return 130 if interrupted(report) else 0 if report.passed else 1


def interrupted(report) -> bool:
    return report.error is not None and report.error.kind == "KeyboardInterrupt"


def watched_check(exercise, path: Path, settings, timeout: Optional[float] = None):
    """check_file, saying on stderr that it runs when it takes a while, and stopped after `timeout`
    seconds. A file stopped where its run is no result (inside a CS231n function) exits 1 here."""
    from ninja.runner import TimedOut, error_from_exception
    from ninja.watchdog import Watchdog, one_thread

    if timeout is not None and timeout <= 0:
        raise fail_usage("--timeout takes a number of seconds above 0")
    try:
        # one thread: a check's tensors are small, and torch's thread pool costs tens of ms to start at
        # its first matmul, max and tanh; grading runs on one thread too, so the last bits of a sum agree
        with Watchdog(path, timeout), one_thread():
            return check_file(exercise, path, settings)
    except TimedOut as e:
        where = stopped_in(e, path if isinstance(path, list) else [path])
        error = error_from_exception(e, where, where.read_text(encoding="utf-8", errors="replace"))
        errors.print(f"{error.where}: {error.message}", style="bold magenta", highlight=False, markup=False)
        if error.source:
            errors.print(f"    {error.source}", style="magenta", highlight=False, markup=False)
        raise typer.Exit(1) from None


def stopped_in(exc: BaseException, paths: list[Path]) -> Path:
    """Of the learner's files, the one the interrupted code was in (the deepest frame in one)."""
    import traceback

    files = {str(p): p for p in paths}
    frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(exc.__traceback__)]
    found = [files[name] for name in frames if name in files]
    return found[-1] if found else paths[0]


def training_request(exercise, steps: Optional[str], device: Optional[Device], plot: Optional[Path]):
    """--steps, --device and --plot for an exercise that trains (exercise4); None for the others."""
    from ninja.exercise import OptionError

    if not exercise.trains:
        given = [name for name, value in (("--steps", steps), ("--device", device), ("--plot", plot)) if value]
        if given:
            raise fail_usage(f"{', '.join(given)}: only exercise4 trains a model; {exercise.name} checks gradients")
        return None
    try:
        return exercise.training_request(steps, device.value if device else None, plot)
    except OptionError as e:
        raise fail_usage(str(e)) from None


def train_after(exercise, path: Path, settings, wanted, passed: bool) -> int:
    """Exercise 4's training run, once every gradient passes: its exit code."""
    if not passed:
        console.print("[dim]training starts once every gradient passes.[/]")
        return 1
    return exercise.train(path, settings, wanted, console, errors)[1]


@app.command("list")
def list_exercises(
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP
    ),
):
    """Every exercise with your progress in ./exercises/ (or under --workspace).

    Example: [bold]ninja list[/]
    """
    from rich.table import Table

    from ninja.course_rules import course_exercises
    from ninja.registry import EXERCISES
    from ninja.results import MISSING, PASS
    from ninja.settings import Settings

    grid = Table("exercise", "title", "your progress")
    passed = 0
    listed = [EXERCISES[name] for name in course_exercises() if name in EXERCISES] or list(EXERCISES.values())
    for ex in listed:  # a course's student install lists the course's exercises
        path = learner_path(ex, workspace)
        if not path.is_file():
            state = "[dim]no file[/]"
        else:
            report = watched_check(ex, path, Settings())
            passed += report.passed
            if report.passed:
                state = "[green]passed[/]"
            elif all(v.status == MISSING for v in report.variables):
                state = "not started"
            else:
                state = f"{sum(v.status == PASS for v in report.variables)} of {len(report.variables)}"
        grid.add_row(ex.name, ex.title, state)
    console.print(grid)
    console.print(progress_line(workspace, passed, len(listed)), soft_wrap=True)


def show_version(value: bool):
    if value:
        from ninja.clash import version

        print(f"backprop-ninja {version()}")
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Show the version"),
):
    """Check hand-written backprop against PyTorch autograd, line by line."""


def main(argv: Optional[list[str]] = None) -> None:
    import sys

    from ninja.buildninja import hand_over

    global PROG
    hand_over(sys.argv[1:] if argv is None else argv, command_names)
    PROG = program_name(sys.argv[0] if sys.argv else "ninja")
    app.info.epilog = epilog()
    if PROG != "ninja":
        examples_named(PROG)
    app(args=argv, prog_name=PROG)


def examples_named(prog: str) -> None:
    """Each command's help and examples as `prog ...` (`backprop-ninja check exercise1`)."""
    import inspect
    import re

    ours = re.compile(rf"\bninja (?=(?:{'|'.join(command_names())})\b)")
    for command in app.registered_commands:
        command.help = ours.sub(f"{prog} ", command.help or inspect.getdoc(command.callback) or "")


class GradeFormat(str, Enum):
    table = "table"
    gradescope = "gradescope"
    junit = "junit"
    json = "json"
    csv = "csv"
    gradebook = "gradebook"
    github = "github"


CONFIG_FILE = "ninja.toml"


class Credit(str, Enum):
    value = "value"
    local = "local"


class IsolationMode(str, Enum):
    best = "best"
    strict = "strict"


class AuditMode(str, Enum):
    enforce = "enforce"
    warn = "warn"


def batch_sizes_from(text: Optional[str], seed: int) -> tuple[int, ...]:
    from ninja.grade.batch import batch_sizes_for

    if text is None:
        return batch_sizes_for(seed)
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise fail_usage(f"--batch-sizes takes numbers separated by commas, like 32,45 (not {text!r})") from None
    if len(set(sizes)) < 2 or min(sizes) < 2:
        raise fail_usage("--batch-sizes needs at least two different sizes, each at least 2 (hard-coded n must show)")
    return sizes


def in_actions(formats, results) -> None:
    """In GitHub Actions: the per-variable table into the job summary, the score into the step's outputs."""
    for variable, text in (
        ("GITHUB_STEP_SUMMARY", lambda: formats.step_summary(results)),
        ("GITHUB_OUTPUT", lambda: formats.github_outputs(results)),
    ):
        path = os.environ.get(variable)
        if path:
            try:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(text())
            except OSError as e:
                errors.print(f"[yellow]note:[/] cannot write ${variable} ({path}): {e}", highlight=False)


@app.command()
def grade(
    submissions: Optional[list[Path]] = typer.Argument(None, help="Folders holding exercise files, or single files"),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Grade this exercise only"),
    gradescope: bool = typer.Option(
        False, help="Read $NINJA_GRADESCOPE_ROOT/submission, write $NINJA_GRADESCOPE_ROOT/results/results.json "
        "(the root is /autograder unless that variable says otherwise)"
    ),
    format: Optional[GradeFormat] = typer.Option(None, "--format", help="\\[default: table, or gradescope]"),
    out: Optional[list[str]] = typer.Option(
        None, "--out", "-o", help="Write the results here; repeat it for more: the format from the extension "
        "(results.json is Gradescope's, .json .xml .csv .html .md) or a prefix, e.g. gradebook:grades.csv "
        "\\[default: standard output]",
    ),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Submissions graded at once \\[default: cores]"),
    timeout: Optional[float] = typer.Option(None, help="Wall-clock seconds per submission \\[default: 30]"),
    memory: Optional[int] = typer.Option(None, help="Memory limit per submission, in MB \\[default: 1024]"),
    seed: Optional[int] = typer.Option(None, help="Grading seed, to reproduce a run \\[default: a secret random one]"),
    batch_sizes: Optional[str] = typer.Option(None, "--batch-sizes", help="e.g. 32,45 \\[default: 32 and one by seed]"),
    config: Optional[Path] = typer.Option(
        None, help="ninja.toml: the course's exercises, points, limits \\[default: ./ninja.toml if there is one]"
    ),
    installed_course: bool = typer.Option(
        False, "--course", help="Grade by the course this install carries (a course's student wheel): its "
        "exercises and points, never a ninja.toml in the folder graded",
    ),
    fail_under: Optional[float] = typer.Option(
        None, "--fail-under", min=0, max=100, help="Exit 1 if a submission scores under this percentage"
    ),
    credit: Optional[Credit] = typer.Option(
        None, "--credit", help="value: a gradient earns its points when right; local: when its own line is "
        "right given the student's upstream gradients (one early slip costs one line)",
    ),
    report: Optional[Path] = typer.Option(
        None, "--report", help="Also write the class report here: one HTML page, e.g. report.html"
    ),
    similarity: Optional[Path] = typer.Option(
        None, "--similarity", help="Find pairs whose backward code is the same up to names, comments and line "
        "order: a CSV of their matching lines side by side here, and the pairs in the report"
    ),
    roster: Optional[Path] = typer.Option(
        None, "--roster", help="A CSV of the class (id, email, name): the gradebooks list every student on it, "
        "a student with no submission scored 0, not submitted"
    ),
    isolation: IsolationMode = typer.Option(
        IsolationMode.best, "--isolation", help="strict: refuse to grade unless every sandbox layer is there"
    ),
    audit: AuditMode = typer.Option(
        AuditMode.enforce, "--audit", help="enforce: an exercise whose source uses autograd or tricks scores 0; "
        "warn: only reported, for review"
    ),
):
    """Grade a class's submissions, each in its own sandboxed process.

    Examples: [bold]ninja grade submissions/*/ --format gradebook --out grades.csv --report report.html[/],
    [bold]ninja grade --gradescope[/]
    """
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ninja.grade.sandbox import ForkServer, Limits, ServerFailed

    # the warm worker starts first: it imports torch on the other core while this process does
    server = ForkServer() if submissions or gradescope else None
    from ninja.grade import batch as grading
    from ninja.grade import course, discover, formats
    from ninja.grade import report as class_report
    from ninja.grade import roster as rosters
    from ninja.registry import EXERCISES

    root = Path(os.environ.get("NINJA_GRADESCOPE_ROOT", "/autograder"))
    out = list(out or [])
    if gradescope and submissions:
        raise fail_usage("--gradescope grades $NINJA_GRADESCOPE_ROOT/submission, one submission: to grade "
                         "folders, name them without --gradescope (--out gradescope:FOLDER writes one "
                         "results.json per submission)")  # fmt: skip
    if gradescope:
        submissions = [root / "submission"]
        out = [f"gradescope:{root / 'results' / 'results.json'}", *out]
    if not submissions:
        raise fail_usage("name the submissions to grade (folders or files), or pass --gradescope")
    try:  # every output is known before anyone is graded
        default = format.value if format and len(out) == 1 and format != GradeFormat.table else None
        outputs = [formats.output_spec(spec, default) for spec in out]
    except formats.OutputError as e:
        raise fail_usage(str(e)) from None
    outputs += [("report", report)] if report is not None else []
    outputs += [("similarity", similarity)] if similarity is not None else []
    format = format or (GradeFormat.gradescope if gradescope else GradeFormat.table)
    if installed_course:
        from ninja.course_rules import COURSE_FILE

        if config is not None or not COURSE_FILE.is_file():
            raise fail_usage("--course grades by the course an install carries (ninja course init builds one), "
                             + ("not with --config too" if config else "and this install carries none"))
        config = COURSE_FILE
    config = config or (Path(CONFIG_FILE) if Path(CONFIG_FILE).is_file() else None)
    try:
        chosen = course.load(config) if config else course.Course()
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None
    jobs = jobs or chosen.jobs or os.cpu_count() or 1
    timeout = timeout if timeout is not None else chosen.timeout or 30.0
    memory = memory if memory is not None else chosen.memory or 1024
    if jobs < 1 or timeout <= 0 or memory < 64:
        raise fail_usage("--jobs must be at least 1, --timeout above 0, --memory at least 64 (MB)")
    ex = exercise_named(exercise) if exercise else None
    try:
        entries = rosters.read(roster) if roster is not None else None
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None
    seed = grading.secret_seed() if seed is None else seed
    if batch_sizes is None and chosen.batch_sizes:
        batch_sizes = ",".join(map(str, chosen.batch_sizes))
    try:
        found = discover.discover(submissions, ex, [exercise_named(e) for e in chosen.exercises])
        work = [each.as_work() for each in found]
        if not outputs and format == GradeFormat.gradescope and len({f.submission for f in found}) > 1:
            raise grading.GradeError("Gradescope reads one results.json per submission: write them with "
                                     "--out gradescope:FOLDER (FOLDER/<student>/results.json)")  # fmt: skip
        limits = Limits(timeout, int(timeout) + 1, memory)
        credit_by = credit.value if credit else chosen.credit or "value"
        plan = grading.Plan(
            seed, batch_sizes_from(batch_sizes, seed), limits, grading.read_points(config),
            credit=credit_by, audit=audit.value,
        )  # fmt: skip
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None
    started = time.monotonic()
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())

    protection: list[str] = []  # the isolation line, for the class report too

    def say_isolation(layers: list[str], missing: dict[str, str]) -> None:
        protection.append(", ".join(layers) + "".join(f"; no {layer}" for layer in missing))
        errors.print(f"isolation: {', '.join(layers)}", highlight=False, markup=False, soft_wrap=True)
        for layer, why in missing.items():
            errors.print(f"isolation: no {layer}: {why}", highlight=False, markup=False, soft_wrap=True)
        if missing and isolation == IsolationMode.strict:
            raise grading.GradeError(f"--isolation strict: missing {', '.join(missing)}; not grading")

    try:
        with Progress(*columns, console=errors, transient=True, auto_refresh=False) as progress:  # no thread: we fork
            task = progress.add_task("grading", total=len(work))
            update = lambda r: progress.update(task, advance=1, refresh=True)  # noqa: E731
            results = grading.grade(work, plan, jobs, update, say_isolation, server)
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None
    except ServerFailed as e:
        errors.print(f"[red]error:[/] the grading worker could not start: {e}", highlight=False)
        raise typer.Exit(2) from None
    discover.add_notes(results, found)
    elapsed = time.monotonic() - started
    run = {"seed": seed, "batch sizes": ", ".join(map(str, plan.batch_sizes)), "seconds": round(elapsed, 1),
           "credit": plan.credit, "audit": plan.audit, "isolation": "; ".join(protection) or "no child ran"}
    class_list = None
    if entries is not None:
        wanted = [ex.name] if ex else list(chosen.exercises) or list(dict.fromkeys(r.exercise for r in results))
        missing = lambda name, e: grading.failed(  # noqa: E731
            EXERCISES[e], plan, name, grading.NOT_SUBMITTED, "not submitted: nothing from this student", 0.0)
        class_list, notes = rosters.assign(formats.students(results), entries, wanted, missing)
        results = [r for student in class_list for r in student.results]
        for note in notes:
            errors.print(f"roster: {note}", highlight=False, markup=False, soft_wrap=True)
    graded = formats.Grading(results, elapsed, run, class_list, chosen.name, chosen.visibility,
                             chosen.exercise_visibility)  # fmt: skip
    if any(name == "similarity" for name, _ in outputs):
        from ninja.grade.similarity import class_pairs

        templates = {r.exercise: EXERCISES[r.exercise].template.read_text() for r in results if r.exercise in EXERCISES}
        graded.similar = class_pairs(results, lambda r: formats.short_name(r.submission), templates)
        errors.print(f"similarity: {len(graded.similar)} pairs flagged", highlight=False)
    try:
        formats.write_outputs(outputs, graded)  # every child is gone by now: nothing rewrites them after
    except OSError as e:
        raise fail_usage(str(e)) from None
    text = None
    if not outputs and format != GradeFormat.table:
        text = formats.WRITERS[format.value](graded)
        print(text)
    if format == GradeFormat.github:
        in_actions(formats, results)
    terminal = console if text is None else errors
    terminal.print(formats.summary(results))
    for line in class_report.top_mistakes(results):
        terminal.print(f"most common: {line}", highlight=False, markup=False, soft_wrap=True)
    sizes = ", ".join(map(str, plan.batch_sizes))
    if any(getattr(EXERCISES.get(r.exercise), "track", None) == "cs231n" for r in results):
        sizes += f" (CS231n: input sets at seeds {seed}..{seed + len(plan.batch_sizes) - 1})"
    terminal.print(f"{len(results)} graded in {elapsed:.1f} s, seed {seed}, batch sizes {sizes}", highlight=False)
    if fail_under is not None and any(r.score < fail_under / 100 * r.max_score for r in results):
        terminal.print(f"[bold red]a submission scores under {fail_under:g}%[/]")
        raise typer.Exit(1)


class CourseAction(str, Enum):
    init = "init"
    deadline = "deadline"


@app.command()
def course(
    action: CourseAction = typer.Argument(
        ..., help="init: write the course from DIR/ninja.toml; deadline: the commands that grade every "
        "student repository from your side"
    ),
    folder: Path = typer.Argument(..., help="The course's folder: its ninja.toml, student/, autograder/"),
    exercises: Optional[str] = typer.Option(
        None, "--exercises", help="For a new ninja.toml: e.g. exercise1,exercise2 \\[default: exercise1-3]"
    ),
    clones: str = typer.Option(
        "student-repos", "--clones", help="deadline: the folder `gh classroom clone` fills, one repository each"
    ),
):
    """Set a course up in one command, from one ninja.toml (written first when there is none).

    Writes DIR/student/ (templates, a README, a GitHub Actions workflow that grades on push, a
    backprop-ninja to install that has no solutions) and DIR/autograder/ for Gradescope (setup.sh,
    run_autograder, the config), zipped as DIR/autograder.zip. Run it again after editing ninja.toml.
    `ninja course deadline DIR` prints the commands that grade every student's repository from
    your side at the deadline (a student can edit any workflow in their own repository).

    Example: [bold]ninja course init backprop-course --exercises exercise1,exercise2[/]
    """
    from ninja.grade import course as courses
    from ninja.grade.batch import GradeError

    if action == CourseAction.deadline:
        if not (folder / courses.CONFIG).is_file():
            raise fail_usage(f"no {folder / courses.CONFIG}: run ninja course init {folder} first")
        print("\n".join(courses.deadline_commands(folder, clones)))
        return
    chosen = [e.strip() for e in exercises.split(",") if e.strip()] if exercises else None
    try:
        created, new = courses.init(folder, chosen)
    except GradeError as e:
        raise fail_usage(str(e)) from None
    config = folder / courses.CONFIG
    console.print(f"{'wrote' if new else 'read '} {config}", highlight=False, soft_wrap=True)
    for path in created[1 if new else 0 :]:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    console.print(
        f"\nNext: edit {config} (points, limits, release) and run this again; upload {folder / 'release'}'s "
        f"wheel to the release ninja.toml names; give students {folder / 'student'} (a GitHub Classroom "
        f"template repository), upload {folder / 'autograder.zip'} to Gradescope. At the deadline: "
        f"ninja course deadline {folder}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def hint(
    exercise: str = typer.Argument(
        ..., help="exercise1, exercise2, ... (see `ninja list`)", autocompletion=complete_exercise
    ),
    var: Optional[str] = typer.Argument(None, help="e.g. probs or dprobs \\[default: your first mistake]"),
    level: int = typer.Option(1, "--level", "-l", min=1, max=3, help="1 shapes, 2 the derivative in words, 3 the rule"),
    file: Optional[Path] = typer.Option(
        None, "--file", "-f", help="Your file, when no VAR \\[default: exercises/EXERCISE.py]"
    ),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP),
    timeout: Optional[float] = typer.Option(
        None, "--timeout", metavar="SECONDS", help="Stop your file if it runs longer, and say at which line"
    ),
):
    """A hint for one gradient, or for the first line of your file that is wrong.

    Example: [bold]ninja hint exercise1[/], [bold]ninja hint exercise1 dprobs --level 2[/]
    """
    from ninja.hint import UnknownVariable, hint_text, next_to_fix, variable_named
    from ninja.settings import DataError

    ex = exercise_named(exercise)
    if var is not None:
        try:
            name = variable_named(ex, var)
        except UnknownVariable as e:
            raise fail_usage(str(e)) from None
        print(hint_text(ex, name, level))
        return
    try:
        path = learner_file(ex, file, workspace)
        report = watched_check(ex, path, settings_from(None, 32, None), timeout)
    except DataError as e:
        raise fail_usage(str(e)) from None
    name, why = next_to_fix(report)
    print(why)
    if name is not None:
        print(hint_text(ex, name, level))
    if interrupted(report):
        raise typer.Exit(130)


def cs231n_options(ex, only: Optional[str], numeric: bool, data: Optional[Path], convention=None):
    """The exercise narrowed by --only, switched by --numeric and --convention; --data checked as a folder."""
    from ninja.exercise import OptionError

    if data is not None and not ex.takes_data:
        raise fail_usage(f"{ex.name} takes no --data (it is a CIFAR-10 folder for classifiers)")
    if data is not None and not data.is_dir():
        raise fail_usage(f"--data {data}: for {ex.name} give the CIFAR-10 python batch folder (cifar-10-batches-py)")
    try:
        ex = ex.with_conventions(convention)
        ex = ex.only(only) if only is not None else ex
    except OptionError as e:
        raise fail_usage(str(e)) from None
    ex = ex.what_is_there()  # a file is judged on the functions it defines
    return ex.numeric() if numeric else ex


def cs231n_files(ex, given: list[Path], workspace: Optional[Path]):
    """The learner's files for a CS231n exercise: each --file, a folder's files that define one of
    its functions; one path, or a list of several (checked together)."""
    if not given:
        return learner_file(ex, None, workspace)
    try:
        paths = ex.files(given)
    except OSError as e:
        raise fail_usage(str(e)) from None
    return paths[0] if len(paths) == 1 else paths


# ---- the learner's day: workspace, watch, notebooks (issue 7) ----


def epilog() -> str:
    return (
        f"Example: [bold]{PROG} init backprop[/], then [bold]cd backprop && {PROG} watch exercise1[/]. "
        "Installed as [bold]ninja[/] and as [bold]backprop-ninja[/], for machines where the ninja build system "
        "owns the name `ninja`."
    )


app.info.epilog = epilog()


def command_names() -> set[str]:
    return {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}


def learner_path(exercise, workspace: Optional[Path]) -> Path:
    from ninja.workspace import WorkspaceError, exercise_file

    try:
        return exercise_file(exercise.name, workspace)
    except WorkspaceError as e:
        raise fail_usage(str(e)) from None


def progress_line(workspace: Optional[Path], passed: int, total: int) -> str:
    from ninja.workspace import exercises_folder

    folder = exercises_folder(workspace)
    if not folder.is_dir():
        here = f"No {escape(str(folder))}/ here"
        return f"{here}: [bold]{PROG} init[/] creates it with every exercise (or pass --workspace DIR)."
    where = f"{passed} of {total} exercises pass. Your files: {escape(str(folder))}/."
    if passed == total:
        return f"{where} [bold green]Every exercise passes: well done.[/] [bold]{PROG} solution EXERCISE[/] shows ours."
    return f"{where} [bold]{PROG} watch[/] picks up where you are."


def check_file(exercise, path: Path, settings):
    """ninja.registry.check_file, with an unreadable notebook as a usage error."""
    from ninja.registry import check_file

    if isinstance(path, list):  # CS231n: several files, checked together
        return exercise.check(path, settings)
    if path.suffix != ".ipynb":  # nbformat is slow to import: only for notebooks
        return check_file(exercise, path, settings)
    from ninja import notebook

    try:
        return check_file(exercise, path, settings)
    except notebook.NotebookError as e:
        raise fail_usage(str(e)) from None


@app.command()
def init(
    folder: Optional[Path] = typer.Argument(
        None, help="Where to create the workspace \\[default: the workspace you are in, else .]"
    ),
):
    """Create a workspace: every exercise's template in DIR/exercises/, and a short README.

    Files already there are kept, never overwritten.

    Example: [bold]ninja init backprop[/], then [bold]cd backprop && ninja check exercise1[/]
    """
    from ninja import workspace
    from ninja.registry import EXERCISES

    if folder is None:  # inside a workspace (in its exercises/, say): that one, never a nested one
        found = workspace.find_root()
        folder = workspace.shown(found) if found is not None else Path(".")
    try:
        result = workspace.init(folder, EXERCISES.values())
    except workspace.WorkspaceError as e:
        raise fail_usage(str(e)) from None
    for path in result.created:
        console.print(f"created {path}", highlight=False, soft_wrap=True, markup=False)
    for path in result.kept:
        console.print(f"kept    {path} (already there)", highlight=False, soft_wrap=True, markup=False)
    first = next(iter(EXERCISES))
    cd = "" if folder.resolve() == Path.cwd().resolve() else f"cd {escape(quoted(folder))} && "
    console.print(
        f"\nNext: [bold]{cd}{PROG} check {first}[/] to see where you stand, "
        f"or [bold]{cd}{PROG} watch {first}[/] to recheck on every save.",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def reset(
    exercise: str = typer.Argument(
        ..., help="exercise1, exercise2, ... (see `ninja list`)", autocompletion=complete_exercise
    ),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP),
):
    """Start an exercise over from its template. Your file is kept as a backup (.bak).

    Example: [bold]ninja reset exercise1[/]
    """
    from ninja.workspace import WorkspaceError
    from ninja.workspace import reset as reset_exercise

    ex = exercise_named(exercise)
    try:
        done = reset_exercise(ex, workspace)
    except WorkspaceError as e:
        raise fail_usage(str(e)) from None
    console.print(done.message, highlight=False, soft_wrap=True, markup=False)


@app.command()
def solution(
    exercise: str = typer.Argument(
        ..., help="exercise1, exercise2, ... (see `ninja list`)", autocompletion=complete_exercise
    ),
    force: bool = typer.Option(False, "--force", help="Show it even though your exercise does not pass yet"),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP),
):
    """The reference solution, once your exercise passes (--force shows it anyway).

    Example: [bold]ninja solution exercise1[/]
    """
    from rich.syntax import Syntax

    from ninja.settings import Settings

    ex = exercise_named(exercise)
    if not ex.solution.is_file():  # an install built for students (ninja course init) leaves them out
        raise fail_usage(
            f"this install of backprop-ninja carries no solutions (a copy built for students): {ex.name}'s "
            "reference solution comes from your instructor, or from solutions/ in backprop-ninja's source"
        )
    if not force:
        report = watched_check(ex, learner_file(ex, None, workspace), Settings())
        if not report.passed:
            errors.print(
                f"{ex.name} does not pass yet ({report.correct}/{len(report.variables)} correct): "
                f"its solution is shown once it does. [bold]{PROG} check {ex.name}[/] shows what is left; "
                "--force shows it anyway.",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1)
    source = ex.solution.read_text(encoding="utf-8")
    if console.is_terminal:
        console.print(Syntax(source, "python", theme="ansi_dark"))
    else:
        print(source, end="")


@app.command()
def watch(
    exercise: Optional[str] = typer.Argument(
        None, help="exercise1, ... \\[default: the first one that does not pass]", autocompletion=complete_exercise
    ),
    poll: bool = typer.Option(False, "--poll", help="Poll for changes: for folders whose file events never arrive"),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP),
    file: Optional[Path] = typer.Option(
        None, "--file", "-f", help="Watch this file (.py or .ipynb) \\[default: exercises/EXERCISE.py]"
    ),
):
    """Recheck your file every time you save it. Keys: h hint, n next exercise (once it passes), q quit.

    Example: [bold]ninja watch exercise1[/] (add [bold]--poll[/] on WSL's /mnt/c or a network drive if saves go unseen)
    """
    from ninja import forked, notebook
    from ninja import watch as watching
    from ninja.registry import EXERCISES
    from ninja.settings import Settings

    if file is not None and exercise is None:
        raise fail_usage(f"with --file, name the exercise too: {PROG} watch exercise1 --file my.ipynb")
    ex = exercise_named(exercise) if exercise else first_unfinished(EXERCISES.values(), workspace)
    path = learner_file(ex, file, workspace)
    try:  # a notebook that cannot be read is a usage error, before the screen clears
        forked.plan(ex, path)
    except notebook.NotebookError as e:
        raise fail_usage(str(e)) from None
    session = watching.Session(list(EXERCISES.values()), ex, path, Settings())
    watching.run(session, console, poll=poll)


def first_unfinished(exercises, workspace: Optional[Path]):
    """The first exercise whose file is there and does not pass yet (else the first one)."""
    from ninja.settings import Settings

    exercises = list(exercises)
    for ex in exercises:
        path = learner_path(ex, workspace)
        if path.is_file() and not watched_check(ex, path, Settings()).passed:
            return ex
    return exercises[0]
