"""The learner's day besides `check`: list, hint, watch, init, reset, solution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ninja.cli.base import (
    complete_exercise,
    console,
    errors,
    every_exercise,
    exercise_named,
    fail_usage,
    interrupted,
    learner_file,
    learner_path,
    prog,
    quoted,
    settings_from,
    watched_check,
)
from ninja.cli.options import ExerciseName, Timeout, Workspace, file_option


def list_exercises(workspace: Workspace = None):
    """Every exercise with your progress in ./exercises/ (or under --workspace).

    Example: [bold]ninja list[/]
    """
    from rich.table import Table

    from ninja.course_rules import course_exercises
    from ninja.settings import Settings

    grid = Table("exercise", "title", "your progress")
    passed = 0
    known = every_exercise(workspace)
    ours = {name: known[name] for name in course_exercises() if name in known}
    known = ours or known  # a course's student install lists the course's exercises
    for ex in known.values():
        path = learner_path(ex, workspace)
        if not path.is_file():
            state = "[dim]no file[/]"
        else:
            report = watched_check(ex, path, Settings())
            passed += report.passed
            state = progress_of(report)
        grid.add_row(ex.name, ex.title, state)
    console.print(grid)
    console.print(progress_line(workspace, passed, len(known)), soft_wrap=True)


def progress_of(report) -> str:
    """One exercise's cell in `ninja list`: passed, not started, or how many of how many."""
    from ninja.results import MISSING, PASS

    if report.passed:
        return "[green]passed[/]"
    if all(v.status == MISSING for v in report.variables):
        return "not started"
    return f"{sum(v.status == PASS for v in report.variables)} of {len(report.variables)}"


def progress_line(workspace: Optional[Path], passed: int, total: int) -> str:
    from ninja.workspace import exercises_folder

    folder = exercises_folder(workspace)
    if not folder.is_dir():
        here = f"No {escape(str(folder))}/ here"
        return f"{here}: [bold]{prog()} init[/] creates it with every exercise (or pass --workspace DIR)."
    where = f"{passed} of {total} exercises pass. Your files: {escape(str(folder))}/."
    if passed == total:
        done = "[bold green]Every exercise passes: well done.[/]"
        return f"{where} {done} [bold]{prog()} solution EXERCISE[/] shows ours."
    return f"{where} [bold]{prog()} watch[/] picks up where you are."


def hint(
    exercise: ExerciseName,
    var: Optional[str] = typer.Argument(None, help="e.g. probs or dprobs \\[default: your first mistake]"),
    level: int = typer.Option(1, "--level", "-l", min=1, max=3, help="1 shapes, 2 the derivative in words, 3 the rule"),
    file: Annotated[Optional[Path], file_option("Your file, when no VAR \\[default: exercises/EXERCISE.py]")] = None,
    workspace: Workspace = None,
    timeout: Timeout = None,
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
    wrong, why = next_to_fix(report)
    print(why)
    if wrong is not None:
        print(hint_text(ex, wrong, level))
    if interrupted(report):
        raise typer.Exit(130)


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

    if folder is None:  # inside a workspace (in its exercises/, say): that one, never a nested one
        found = workspace.find_root()
        folder = workspace.shown(found) if found is not None else Path(".")
    known = every_exercise(folder if (folder / "ninja.toml").is_file() else None)
    try:
        result = workspace.init(folder, known.values())
    except workspace.WorkspaceError as e:
        raise fail_usage(str(e)) from None
    for path in result.created:
        console.print(f"created {path}", highlight=False, soft_wrap=True, markup=False)
    for path in result.kept:
        console.print(f"kept    {path} (already there)", highlight=False, soft_wrap=True, markup=False)
    first = next(iter(known))
    cd = "" if folder.resolve() == Path.cwd().resolve() else f"cd {escape(quoted(folder))} && "
    console.print(
        f"\nNext: [bold]{cd}{prog()} check {first}[/] to see where you stand, "
        f"or [bold]{cd}{prog()} watch {first}[/] to recheck on every save.",
        highlight=False,
        soft_wrap=True,
    )


def reset(exercise: ExerciseName, workspace: Workspace = None):
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


def solution(
    exercise: ExerciseName,
    force: bool = typer.Option(False, "--force", help="Show it even though your exercise does not pass yet"),
    workspace: Workspace = None,
):
    """The reference solution, once your exercise passes (--force shows it anyway).

    Example: [bold]ninja solution exercise1[/]
    """
    from rich.syntax import Syntax

    from ninja.settings import Settings

    ex = exercise_named(exercise)
    if getattr(ex, "source_file", None) is not None and not ex.solution.is_file():  # a course's own exercise
        raise fail_usage(
            f"{ex.name} is an exercise file ({ex.source_file}) with no solution: its ninja.toml can name one "
            f'([exercises.{ex.name}] solution = "path.py"), or your instructor has it'
        )
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
                f"its solution is shown once it does. [bold]{prog()} check {ex.name}[/] shows what is left; "
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


def watch(
    exercise: Optional[str] = typer.Argument(
        None, help="exercise1, ... \\[default: the first one that does not pass]", autocompletion=complete_exercise
    ),
    poll: bool = typer.Option(False, "--poll", help="Poll for changes: for folders whose file events never arrive"),
    workspace: Workspace = None,
    file: Annotated[
        Optional[Path], file_option("Watch this file (.py or .ipynb) \\[default: exercises/EXERCISE.py]")
    ] = None,
):
    """Recheck your file every time you save it. Keys: h hint, n next exercise (once it passes), q quit.

    Example: [bold]ninja watch exercise1[/] (add [bold]--poll[/] on WSL's /mnt/c or a network drive if saves go unseen)
    """
    from ninja import forked, notebook
    from ninja import watch as watching
    from ninja.settings import Settings

    if file is not None and exercise is None:
        raise fail_usage(f"with --file, name the exercise too: {prog()} watch exercise1 --file my.ipynb")
    known = every_exercise(workspace)
    ex = exercise_named(exercise) if exercise else first_unfinished(known.values(), workspace)
    path = learner_file(ex, file, workspace)
    try:  # a notebook that cannot be read is a usage error, before the screen clears
        forked.plan(ex, path)
    except notebook.NotebookError as e:
        raise fail_usage(str(e)) from None
    session = watching.Session(list(known.values()), ex, path, Settings())
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
