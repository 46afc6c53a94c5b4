"""The `ninja` command (also installed as `backprop-ninja`). Thin: find the files, call the
exercise's check, render. Exit codes: 0 all pass, 1 something fails or the file does not run,
2 usage or environment errors."""

from __future__ import annotations

import json
from dataclasses import replace
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
    data: Optional[Path] = typer.Option(None, help="Names file, one per line [default: the packaged corpus]; for classifiers a local CIFAR-10 python batch folder (pickles: only one you downloaded yourself)"),
    format: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
    only: Optional[str] = typer.Option(None, "--only", help="CS231n: check only the functions whose name contains this (e.g. batchnorm)"),
    numeric: bool = typer.Option(False, "--numeric", help="CS231n: central differences (h=1e-5) beside autograd"),
):
    """Check your gradients against PyTorch autograd.

    Example: [bold]ninja check exercise1[/] (or with [bold]--file my_backprop.py[/])
    """
    ex = exercise_named(exercise)
    path = learner_file(ex, file)
    if getattr(ex, "track", None) == "cs231n":  # there --data is a CIFAR-10 folder
        ex = cs231n_options(ex, only, numeric, data)
        settings = replace(settings_from(seed, batch_size, None), data=data)
    elif only is not None or numeric:
        raise fail_usage("--only and --numeric are for the CS231n exercises (layers, classifiers)")
    else:
        settings = settings_from(seed, batch_size, data)
    try:
        report = ex.check(path, settings)
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


def cs231n_options(ex, only: Optional[str], numeric: bool, data: Optional[Path]):
    """The exercise narrowed by --only and switched by --numeric; --data checked as a folder."""
    from ninja.functions import UnknownFunction

    if data is not None and not ex.takes_data:
        raise fail_usage(f"{ex.name} takes no --data (it is a CIFAR-10 folder for classifiers)")
    if data is not None and not data.is_dir():
        raise fail_usage(f"--data {data}: for {ex.name} give the CIFAR-10 python batch folder (cifar-10-batches-py)")
    try:
        ex = ex.only(only) if only is not None else ex
    except UnknownFunction as e:
        raise fail_usage(str(e)) from None
    return ex.numeric() if numeric else ex
