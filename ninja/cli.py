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


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


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
    format: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
    steps: Optional[str] = typer.Option(
        None, help="exercise4: training steps, N or 'full' (200,000); 20,000 when not given"
    ),
    device: Optional[Device] = typer.Option(None, "--device", help="exercise4: train on cpu (the default) or cuda"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="exercise4: write the training curve to this .png file"),
):
    """Check your gradients against PyTorch autograd.

    Example: [bold]ninja check exercise1[/] (or with [bold]--file my_backprop.py[/])
    """
    ex = exercise_named(exercise)
    path = learner_file(ex, file)
    settings = settings_from(seed, batch_size, data)
    wanted = training_request(ex, steps, device, plot)
    try:
        report = ex.check(path, settings)
    except DataError as e:
        raise fail_usage(str(e)) from None
    if format is Format.json:
        from ninja.render import to_dict

        result, code = to_dict(report), 0 if report.passed else 1
        if wanted and report.passed:
            from ninja import train_view

            result["training"], code = train_view.run(ex, path, settings, wanted, None, errors)
        print(json.dumps(result, indent=2))
        raise typer.Exit(code)
    else:
        from ninja.render import table

        console.print(table(report))
        if wanted:
            raise typer.Exit(train_after(ex, path, settings, wanted, report.passed))
    raise typer.Exit(0 if report.passed else 1)


def training_request(exercise, steps: Optional[str], device: Optional[Device], plot: Optional[Path]):
    """--steps, --device and --plot for an exercise that trains (exercise4); None for the others."""
    from ninja.exercises.exercise4 import TrainingExercise
    from ninja.train_view import OptionError, request

    if not isinstance(exercise, TrainingExercise):
        given = [name for name, value in (("--steps", steps), ("--device", device), ("--plot", plot)) if value]
        if given:
            raise fail_usage(f"{', '.join(given)}: only exercise4 trains a model; {exercise.name} checks gradients")
        return None
    try:
        return request(steps, device.value if device else None, plot)
    except OptionError as e:
        raise fail_usage(str(e)) from None


def train_after(exercise, path: Path, settings, wanted, passed: bool) -> int:
    """Exercise 4's training run, once every gradient passes: its exit code."""
    if not passed:
        console.print("[dim]training starts once every gradient passes.[/]")
        return 1
    from ninja import train_view

    return train_view.run(exercise, path, settings, wanted, console, errors)[1]


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
