"""The `ninja` command (also installed as `backprop-ninja`). Thin: find the files, call the
exercise's check, render. Exit codes: 0 all pass, 1 something fails or the file does not run,
2 usage or environment errors."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ninja import __version__

app = typer.Typer(
    name="ninja",
    help="Check hand-written backprop against PyTorch autograd, line by line.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
errors = Console(stderr=True)


class Format(str, Enum):
    table = "table"
    json = "json"


def fail_usage(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def exercise_named(name: str):
    from ninja.exercises import UnknownExercise, find

    try:
        return find(name)
    except UnknownExercise as e:
        raise fail_usage(str(e)) from None


def complete_exercise(incomplete: str) -> list[str]:
    from ninja.exercises import EXERCISES

    return [name for name in EXERCISES if name.startswith(incomplete)]


def learner_file(exercise, file: Optional[Path], workspace: Optional[Path] = None) -> Path:
    from ninja.workspace import WorkspaceError, exercise_file

    try:
        path = file if file is not None else exercise_file(exercise.name, workspace)
    except WorkspaceError as e:
        raise fail_usage(str(e)) from None
    if not path.is_file():
        hint = "" if file is not None else " (pass --file PATH or --workspace DIR, or create it with `ninja init`)"
        raise fail_usage(f"cannot read {path}{hint}")
    return path


def settings_from(seed: Optional[int], batch_size: int, data: Optional[Path]):
    from ninja.makemore import Settings

    if batch_size < 2:
        raise fail_usage("--batch-size must be at least 2 (batchnorm's variance divides by n-1)")
    if data is not None and not data.is_file():
        raise fail_usage(f"cannot read names file {data}")
    return Settings(batch_size=batch_size, data=data) if seed is None else Settings(seed, batch_size, data)


@app.command()
def check(
    exercise: str = typer.Argument(
        ..., help="exercise1, exercise2, ... (see `ninja list`)", autocompletion=complete_exercise
    ),
    file: Optional[Path] = typer.Option(
        None, "--file", "-f", help="The learner's file (.py or .ipynb) \\[default: exercises/EXERCISE.py]"
    ),
    seed: Optional[int] = typer.Option(None, help="Seed for the parameters and the batch \\[default: the notebook's]"),
    batch_size: int = typer.Option(32, "--batch-size", "-n", help="Batch size n"),
    data: Optional[Path] = typer.Option(None, help="Names file, one per line \\[default: the packaged corpus]"),
    format: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help="Folder with your exercises/ \\[default: .]"
    ),
):
    """Check your gradients against PyTorch autograd.

    Example: [bold]ninja check exercise1[/] (or [bold]--file my_backprop.py[/], or a notebook: [bold]--file my.ipynb[/])
    """
    from ninja.data import DataError  # here: --help and completion need no torch

    ex = exercise_named(exercise)
    path = learner_file(ex, file, workspace)
    settings = settings_from(seed, batch_size, data)
    try:
        report = check_notebook(ex, path, settings) if path.suffix == ".ipynb" else ex.check(path, settings)
    except DataError as e:
        raise fail_usage(str(e)) from None
    if format is Format.json:
        from ninja.render import to_dict

        print(json.dumps(to_dict(report), indent=2))
    else:
        from ninja.render import table

        console.print(table(report))
    raise typer.Exit(0 if report.passed else 1)


@app.command("list")
def list_exercises(
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", envvar="NINJA_WORKSPACE", help="Folder with your exercises/ \\[default: .]"
    ),
):
    """Every exercise with your progress in ./exercises/ (or under --workspace).

    Example: [bold]ninja list[/]
    """
    from rich.table import Table

    from ninja.exercises import EXERCISES
    from ninja.results import MISSING, PASS

    grid = Table("exercise", "title", "your progress")
    passed = 0
    for ex in EXERCISES.values():
        path = learner_path(ex, workspace)
        if not path.is_file():
            state = "[dim]no file[/]"
        else:
            report = ex.check(path)
            passed += report.passed
            if report.passed:
                state = "[green]passed[/]"
            elif all(v.status == MISSING for v in report.variables):
                state = "not started"
            else:
                state = f"{sum(v.status == PASS for v in report.variables)} of {len(report.variables)}"
        grid.add_row(ex.name, ex.title, state)
    console.print(grid)
    console.print(progress_line(workspace, passed, len(EXERCISES)), soft_wrap=True)


def show_version(value: bool):
    if value:
        print(f"backprop-ninja {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Show the version"),
):
    """Check hand-written backprop against PyTorch autograd, line by line."""


def main(argv: Optional[list[str]] = None) -> None:
    import sys

    from ninja.buildninja import hand_over

    hand_over(sys.argv[1:] if argv is None else argv, command_names)
    app(args=argv, prog_name="ninja")


# ---- the learner's day: workspace, watch, notebooks (issue 7) ----

WORKSPACE_HELP = "Folder with your exercises/ \\[default: .]"
app.info.epilog = (
    "Example: [bold]ninja init backprop[/], then [bold]cd backprop && ninja watch exercise1[/]. "
    "Also installed as [bold]backprop-ninja[/], for machines where the ninja build system owns the name `ninja`."
)


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
        return f"No {folder}/ here: [bold]ninja init[/] creates it with every exercise (or pass --workspace DIR)."
    return f"{passed} of {total} exercises pass. Your files: {folder}/. [bold]ninja watch[/] picks up where you are."


def check_notebook(exercise, path: Path, settings):
    from ninja import notebook
    from ninja.exercises import EXERCISES

    every_gradient = {name for ex in EXERCISES.values() for name in ex.checked}
    try:
        return notebook.check(exercise, path, settings, every_gradient)
    except notebook.NotebookError as e:
        raise fail_usage(str(e)) from None


@app.command()
def init(
    folder: Path = typer.Argument(Path("."), help="Where to create the workspace"),
):
    """Create a workspace: every exercise's template in DIR/exercises/, and a short README.

    Files already there are kept, never overwritten.

    Example: [bold]ninja init backprop[/], then [bold]cd backprop && ninja check exercise1[/]
    """
    from ninja import workspace
    from ninja.exercises import EXERCISES

    try:
        result = workspace.init(folder, EXERCISES.values())
    except workspace.WorkspaceError as e:
        raise fail_usage(str(e)) from None
    for path in result.created:
        console.print(f"created {path}", highlight=False, soft_wrap=True)
    for path in result.kept:
        console.print(f"kept    {path} (already there)", highlight=False, soft_wrap=True)
    first = next(iter(EXERCISES))
    cd = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder} && "
    console.print(
        f"\nNext: [bold]{cd}ninja check {first}[/] to see where you stand, "
        f"or [bold]{cd}ninja watch {first}[/] to recheck on every save.",
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
        backup = reset_exercise(ex, workspace)
    except WorkspaceError as e:
        raise fail_usage(str(e)) from None
    target = learner_path(ex, workspace)
    kept = f"; your file is now {backup}" if backup else ""
    console.print(f"restored {target} from the template{kept}", highlight=False, soft_wrap=True)


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

    ex = exercise_named(exercise)
    if not force:
        report = ex.check(learner_file(ex, None, workspace))
        if not report.passed:
            errors.print(
                f"{ex.name} does not pass yet ({report.correct}/{len(report.variables)} correct): "
                f"its solution is shown once it does. [bold]ninja check {ex.name}[/] shows what is left; "
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
):
    """Recheck your file every time you save it. Keys: h hint, n next exercise (once it passes), q quit.

    Example: [bold]ninja watch exercise1[/] (add [bold]--poll[/] on WSL's /mnt/c or a network drive if saves go unseen)
    """
    from ninja import watch as watching
    from ninja.exercises import EXERCISES
    from ninja.makemore import Settings

    ex = exercise_named(exercise) if exercise else first_unfinished(EXERCISES.values(), workspace)
    path = learner_file(ex, None, workspace)
    session = watching.Session(list(EXERCISES.values()), ex, path, Settings())
    watching.run(session, console, poll=poll)


def first_unfinished(exercises, workspace: Optional[Path]):
    """The first exercise whose file is there and does not pass yet (else the first one)."""
    exercises = list(exercises)
    for ex in exercises:
        path = learner_path(ex, workspace)
        if path.is_file() and not ex.check(path).passed:
            return ex
    return exercises[0]
