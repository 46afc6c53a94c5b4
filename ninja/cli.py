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
from ninja.data import DataError

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
    github = "github"


def fail_usage(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(2)


def exercise_named(name: str):
    from ninja.exercises import UnknownExercise, find

    try:
        return find(name)
    except UnknownExercise as e:
        raise fail_usage(str(e)) from None


def learner_file(exercise, file: Optional[Path]) -> Path:
    path = file if file is not None else Path("exercises") / f"{exercise.name}.py"
    if not path.is_file():
        hint = "" if file is not None else f" (looked for exercises/{exercise.name}.py here; pass --file PATH)"
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
    exercise: str = typer.Argument(..., help="exercise1, exercise2, ... (see `ninja list`)"),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="The learner's file [default: exercises/EXERCISE.py]"),
    seed: Optional[int] = typer.Option(None, help="Seed for the parameters and the batch [default: the notebook's]"),
    batch_size: int = typer.Option(32, "--batch-size", "-n", help="Batch size n"),
    data: Optional[Path] = typer.Option(None, help="Names file, one per line [default: the packaged corpus]"),
    format: Format = typer.Option(Format.table, "--format", help="table, json, or github (Actions annotations)"),
):
    """Check your gradients against PyTorch autograd.

    Example: [bold]ninja check exercise1[/] (or with [bold]--file my_backprop.py[/])
    """
    ex = exercise_named(exercise)
    path = learner_file(ex, file)
    settings = settings_from(seed, batch_size, data)
    try:
        report = ex.check(path, settings)
    except DataError as e:
        raise fail_usage(str(e)) from None
    if format is Format.json:
        from ninja.render import to_dict

        print(json.dumps(to_dict(report), indent=2))
    elif format is Format.github:
        from ninja.render import github

        print(github(report))
    else:
        from ninja.render import table

        console.print(table(report))
    raise typer.Exit(0 if report.passed else 1)


@app.command("list")
def list_exercises():
    """Every exercise with your progress in ./exercises/.

    Example: [bold]ninja list[/]
    """
    from rich.table import Table

    from ninja.exercises import EXERCISES
    from ninja.results import MISSING, PASS

    grid = Table("exercise", "title", "your progress")
    for ex in EXERCISES.values():
        path = Path("exercises") / f"{ex.name}.py"
        if not path.is_file():
            state = "[dim]no file[/]"
        else:
            report = ex.check(path)
            if report.passed:
                state = "[green]passed[/]"
            elif all(v.status == MISSING for v in report.variables):
                state = "not started"
            else:
                state = f"{sum(v.status == PASS for v in report.variables)} of {len(report.variables)}"
        grid.add_row(ex.name, ex.title, state)
    console.print(grid)


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
    app(args=argv, prog_name="ninja")


@app.command()
def hint(
    exercise: str = typer.Argument(..., help="exercise1, exercise2, ... (see `ninja list`)"),
    var: Optional[str] = typer.Argument(None, help="The variable, e.g. probs or dprobs [default: your first mistake]"),
    level: int = typer.Option(1, "--level", "-l", min=1, max=3, help="1 shapes, 2 the derivative in words, 3 the rule"),
    file: Optional[Path] = typer.Option(  # noqa: B008 (typer's way)
        None, "--file", "-f", help="Your file, when no VAR [default: exercises/EXERCISE.py]"
    ),
):
    """A hint for one gradient, or for the first line of your file that is wrong.

    Example: [bold]ninja hint exercise1[/], [bold]ninja hint exercise1 dprobs --level 2[/]
    """
    from ninja.hint import UnknownVariable, hint_text, next_to_fix, variable_named

    ex = exercise_named(exercise)
    if var is not None:
        try:
            name = variable_named(ex, var)
        except UnknownVariable as e:
            raise fail_usage(str(e)) from None
        print(hint_text(ex, name, level))
        return
    try:
        report = ex.check(learner_file(ex, file))
    except DataError as e:
        raise fail_usage(str(e)) from None
    name, why = next_to_fix(report)
    print(why)
    if name is not None:
        print(hint_text(ex, name, level))
