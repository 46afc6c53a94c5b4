"""`ninja grade`: a class's submissions, each in its own sandboxed process, into the format asked
for, with a class report and a summary. The command reads its options; each step is a function."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ninja.cli.base import errors, exercise_named, fail_usage

CONFIG_FILE = "ninja.toml"


class GradeFormat(str, Enum):
    table = "table"
    gradescope = "gradescope"
    junit = "junit"
    json = "json"
    csv = "csv"
    gradebook = "gradebook"
    github = "github"


class Credit(str, Enum):
    value = "value"
    local = "local"


class IsolationMode(str, Enum):
    best = "best"
    strict = "strict"


class AuditMode(str, Enum):
    enforce = "enforce"
    warn = "warn"


def grade(
    submissions: Optional[list[Path]] = typer.Argument(None, help="Folders holding exercise files, or single files"),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Grade this exercise only"),
    gradescope: bool = typer.Option(
        False,
        help="Read $NINJA_GRADESCOPE_ROOT/submission, write $NINJA_GRADESCOPE_ROOT/results/results.json "
        "(the root is /autograder unless that variable says otherwise)",
    ),
    format: Optional[GradeFormat] = typer.Option(None, "--format", help="\\[default: table, or gradescope]"),
    out: Optional[list[str]] = typer.Option(
        None,
        "--out",
        "-o",
        help="Write the results here; repeat it for more: the format from the extension "
        "(results.json is Gradescope's, .json .xml .csv .html .md) or a prefix, e.g. gradebook:grades.csv, "
        "canvas:, moodle:, gradescope-scores:, gradescope:FOLDER \\[default: standard output]",
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
        False,
        "--course",
        help="Grade by the course this install carries (a course's student wheel): its "
        "exercises and points, never a ninja.toml in the folder graded",
    ),
    roster: Optional[Path] = typer.Option(
        None,
        "--roster",
        help="A CSV of the class (id, email, name): the gradebooks list every student on it, "
        "a student with no submission scored 0, not submitted",
    ),
    similarity: Optional[Path] = typer.Option(
        None,
        "--similarity",
        help="Find pairs whose backward code is the same up to names, comments and line "
        "order: a CSV of their matching lines side by side here, and the pairs in the report",
    ),
    fail_under: Optional[float] = typer.Option(
        None, "--fail-under", min=0, max=100, help="Exit 1 if a submission scores under this percentage"
    ),
    credit: Optional[Credit] = typer.Option(
        None,
        "--credit",
        help="value: a gradient earns its points when right; local: when its own line is "
        "right given the student's upstream gradients (one early slip costs one line)",
    ),
    report: Optional[Path] = typer.Option(
        None, "--report", help="Also write the class report here: one HTML page, e.g. report.html"
    ),
    isolation: IsolationMode = typer.Option(
        IsolationMode.best, "--isolation", help="strict: refuse to grade unless every sandbox layer is there"
    ),
    audit: AuditMode = typer.Option(
        AuditMode.enforce,
        "--audit",
        help="enforce: an exercise whose source uses autograd or tricks scores 0; warn: only reported, for review",
    ),
):
    """Grade a class's submissions, each in its own sandboxed process.

    Examples: [bold]ninja grade submissions/*/ --out gradebook:grades.csv --out report.html --out junit.xml[/],
    [bold]ninja grade canvas-download/ --roster roster.csv --out canvas:canvas.csv --similarity pairs.csv[/],
    [bold]ninja grade --gradescope[/]
    """
    import time

    from ninja.grade.sandbox import ForkServer

    # the warm worker starts first: it imports torch on the other core while this process does
    server = ForkServer() if submissions or gradescope else None
    if gradescope and submissions:
        raise fail_usage("--gradescope grades $NINJA_GRADESCOPE_ROOT/submission, one submission: to grade "
                         "folders, name them without --gradescope (--out gradescope:FOLDER writes one "
                         "results.json per submission)")  # fmt: skip
    if gradescope:
        submissions, out = gradescope_paths(out)
        format = format or GradeFormat.gradescope
    if not submissions:
        raise fail_usage("name the submissions to grade (folders or files), or pass --gradescope")
    outputs = outputs_of(out, format, report, similarity)
    format = format or GradeFormat.table
    config = installed_config(config) if installed_course else config
    config = config or (Path(CONFIG_FILE) if Path(CONFIG_FILE).is_file() else None)
    chosen = course_of(config)
    entries = roster_of(roster)
    found, plan, at_once = plan_of(
        submissions, exercise, chosen, config, jobs, timeout, memory, seed, batch_sizes, credit, audit
    )
    if not outputs and format == GradeFormat.gradescope and len({f.submission for f in found}) > 1:
        raise fail_usage("Gradescope reads one results.json per submission: write them with --out gradescope:FOLDER "
                         "(FOLDER/<student>/results.json)")  # fmt: skip
    started = time.monotonic()
    results, protection = run(found, plan, at_once, isolation, server)
    elapsed = time.monotonic() - started
    graded = grading_of(results, plan, elapsed, protection, chosen, entries, exercise)
    text = write_results(format, outputs, graded)
    summarise(console_for(text), graded.results, plan, elapsed)
    if fail_under is not None and any(r.score < fail_under / 100 * r.max_score for r in graded.results):
        console_for(text).print(f"[bold red]a submission scores under {fail_under:g}%[/]")
        raise typer.Exit(1)


def outputs_of(out: Optional[list[str]], format: Optional[GradeFormat], report, similarity) -> list[tuple[str, Path]]:
    """(format, file) of every --out, --report and --similarity, known before anyone is graded."""
    from ninja.grade import formats

    out = list(out or [])
    default = format.value if format and len(out) == 1 and format != GradeFormat.table else None
    try:
        outputs = [formats.output_spec(spec, default) for spec in out]
    except formats.OutputError as e:
        raise fail_usage(str(e)) from None
    return outputs + [(name, path) for name, path in (("report", report), ("similarity", similarity)) if path]


def installed_config(config: Optional[Path]) -> Path:
    """--course: the ninja.toml a course's student install carries, never one the student can edit."""
    from ninja.course_rules import COURSE_FILE

    if config is not None or not COURSE_FILE.is_file():
        raise fail_usage("--course grades by the course an install carries (ninja course init builds one), "
                         + ("not with --config too" if config else "and this install carries none"))  # fmt: skip
    return COURSE_FILE


def roster_of(roster: Optional[Path]):
    from ninja.grade import batch as grading
    from ninja.grade import roster as rosters

    try:
        return rosters.read(roster) if roster is not None else None
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None


def grading_of(results, plan, elapsed: float, protection: list[str], chosen, entries, exercise: Optional[str]):
    """The one grading every output is written from: the results (a roster's students with nothing
    handed in added), the class by student, the run's settings, the similar pairs when asked for."""
    from ninja.grade import batch as grading
    from ninja.grade import formats
    from ninja.grade import roster as rosters
    from ninja.registry import EXERCISES

    class_list = None
    if entries is not None:
        wanted = [exercise] if exercise else list(chosen.exercises) or list(dict.fromkeys(r.exercise for r in results))
        missing = lambda name, e: grading.failed(  # noqa: E731
            EXERCISES[e], plan, name, grading.NOT_SUBMITTED, "not submitted: nothing from this student", 0.0
        )
        class_list, notes = rosters.assign(formats.students(results), entries, wanted, missing)
        results = [r for student in class_list for r in student.results]
        for note in notes:
            errors.print(f"roster: {note}", highlight=False, markup=False, soft_wrap=True)
    sizes = ", ".join(map(str, plan.batch_sizes))
    run = {"seed": plan.seed, "batch sizes": sizes, "seconds": round(elapsed, 1), "credit": plan.credit,
           "audit": plan.audit, "isolation": "; ".join(protection) or "no child ran"}  # fmt: skip
    return formats.Grading(results, elapsed, run, class_list, chosen.name, chosen.visibility,
                           chosen.exercise_visibility)  # fmt: skip


def gradescope_paths(out: Optional[list[str]]):
    """--gradescope: the submission, and the results file where Gradescope puts and reads them."""
    root = Path(os.environ.get("NINJA_GRADESCOPE_ROOT", "/autograder"))
    return [root / "submission"], [f"gradescope:{root / 'results' / 'results.json'}", *(out or [])]


def course_of(config: Optional[Path]):
    """ninja.toml's [course] table, or the defaults where there is no ninja.toml."""
    from ninja.grade import batch as grading
    from ninja.grade import course

    try:
        return course.load(config) if config else course.Course()
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None


def plan_of(submissions, exercise, chosen, config, jobs, timeout, memory, seed, batch_sizes, credit, audit):
    """What to grade and how: (the submissions found, the plan, how many at once). The command line
    wins over ninja.toml, which wins over the defaults; anything unusable is a usage error."""
    from ninja.grade import batch as grading
    from ninja.grade import discover
    from ninja.grade.confine import UID_BLOCK
    from ninja.grade.sandbox import Limits

    jobs = jobs if jobs is not None else chosen.jobs or os.cpu_count() or 1  # --jobs 0 is no default
    timeout = timeout if timeout is not None else chosen.timeout or 30.0
    memory = memory if memory is not None else chosen.memory or 1024
    if not 1 <= jobs <= UID_BLOCK or timeout <= 0 or memory < 64:
        raise fail_usage(f"--jobs must be 1 to {UID_BLOCK}, --timeout above 0, --memory at least 64 (MB)")
    ex = exercise_named(exercise) if exercise else None
    seed = grading.secret_seed() if seed is None else seed
    if batch_sizes is None and chosen.batch_sizes:
        batch_sizes = ",".join(map(str, chosen.batch_sizes))
    try:
        found = discover.discover(submissions, ex, [exercise_named(e) for e in chosen.exercises])
        limits = Limits(timeout, int(timeout) + 1, memory)
        credit_by = credit.value if credit else chosen.credit or "value"
        plan = grading.Plan(
            seed, batch_sizes_from(batch_sizes, seed), limits, grading.read_points(config),
            credit=credit_by, audit=audit.value,
        )  # fmt: skip
    except grading.GradeError as e:
        raise fail_usage(str(e)) from None
    return found, plan, jobs


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


def run(found, plan, jobs: int, isolation: IsolationMode, server):
    """Grade every submission found, with a progress bar on stderr: (the results, the isolation line)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ninja.grade import batch as grading
    from ninja.grade import discover
    from ninja.grade.confine import strict_refuses
    from ninja.grade.sandbox import ServerFailed

    work = [each.as_work() for each in found]
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    protection: list[str] = []  # the isolation line, for the class report too

    def say_isolation(layers: list[str], missing: dict[str, str]) -> None:
        protection.append(", ".join(layers) + "".join(f"; no {layer}" for layer in missing))
        errors.print(f"isolation: {', '.join(layers)}", highlight=False, markup=False, soft_wrap=True)
        for layer, why in missing.items():
            errors.print(f"isolation: no {layer}: {why}", highlight=False, markup=False, soft_wrap=True)
        refused = strict_refuses(missing)
        if refused and isolation == IsolationMode.strict:
            raise grading.GradeError(f"--isolation strict: missing {', '.join(refused)}; not grading")

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
    return results, protection


def write_results(format: GradeFormat, outputs: list[tuple[str, Path]], graded) -> Optional[str]:
    """Every output from the one grading (each file written atomically once no child is left), or
    the format asked for on standard output: the text printed there (None for the table)."""
    from ninja.grade import formats

    if any(name == "similarity" for name, _ in outputs):
        from ninja.grade.similarity import class_pairs
        from ninja.registry import EXERCISES

        templates = {r.exercise: EXERCISES[r.exercise].template.read_text() for r in graded.results
                     if r.exercise in EXERCISES}  # fmt: skip
        graded.similar = class_pairs(graded.results, lambda r: formats.short_name(r.submission), templates)
        errors.print(f"similarity: {len(graded.similar)} pairs flagged", highlight=False)
    try:
        formats.write_outputs(outputs, graded)
    except OSError as e:
        raise fail_usage(str(e)) from None
    text = None
    if not outputs and format != GradeFormat.table:
        text = formats.WRITERS[format.value](graded)
        print(text)
    if format == GradeFormat.github:
        in_actions(formats, graded.results)
    return text


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


def console_for(text: Optional[str]):
    """Where the summary goes: stdout, unless the results themselves went there."""
    from ninja.cli.base import console

    return console if text is None else errors


def summarise(terminal, results, plan, elapsed: float) -> None:
    """The class's summary, its most common mistakes, and what the run used (to reproduce it)."""
    from ninja.grade import formats
    from ninja.grade import report as class_report
    from ninja.registry import EXERCISES

    terminal.print(formats.summary(results))
    for line in class_report.top_mistakes(results):
        terminal.print(f"most common: {line}", highlight=False, markup=False, soft_wrap=True)
    seed = plan.seed
    sizes = ", ".join(map(str, plan.batch_sizes))
    exercises = [EXERCISES[r.exercise] for r in results if r.exercise in EXERCISES]
    by_seed = sorted({ex.labels.setting for ex in exercises if ex.labels.by_seed})
    if by_seed:  # CS231n's: input sets
        sizes += f" ({', '.join(by_seed)}s at seeds {seed}..{seed + len(plan.batch_sizes) - 1})"
    terminal.print(f"{len(results)} graded in {elapsed:.1f} s, seed {seed}, batch sizes {sizes}", highlight=False)
