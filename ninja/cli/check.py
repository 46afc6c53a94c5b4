"""`ninja check`: the learner's file against autograd, as a table, JSON or GitHub annotations; for
exercise 4, the training run once every gradient passes; for CS231n, its own options."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ninja.cli.base import (
    console,
    errors,
    exercise_named,
    exit_code,
    fail_usage,
    interrupted,
    learner_file,
    settings_from,
    watched_check,
)
from ninja.cli.options import ExerciseName, Timeout, Workspace, file_option


class Format(str, Enum):
    table = "table"
    json = "json"
    github = "github"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


Files = Annotated[
    Optional[list[Path]],
    file_option(
        "The learner's file (.py or .ipynb) \\[default: exercises/EXERCISE.py]; CS231n: repeat it, or give a "
        "folder (cs231n/classifiers/)"
    ),
]


def check(
    exercise: ExerciseName,
    file: Files = None,
    seed: Optional[int] = typer.Option(None, help="Seed for the parameters and the batch \\[default: the notebook's]"),
    batch_size: int = typer.Option(32, "--batch-size", "-n", help="Batch size n"),
    data: Optional[Path] = typer.Option(
        None, help="Names file, one per line \\[default: the packaged corpus]; classifiers: a CIFAR-10 batch folder"
    ),
    format: Format = typer.Option(Format.table, "--format", help="table, json, or github (Actions annotations)"),
    workspace: Workspace = None,
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
    timeout: Timeout = None,
):
    """Check your gradients against PyTorch autograd.

    Example: [bold]ninja check exercise1[/] (or [bold]--file my_backprop.py[/], or a notebook: [bold]--file my.ipynb[/])
    """
    from ninja.settings import DataError  # here: --help and completion need no torch

    with one_json_object(format, exercise):
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
        raise typer.Exit(show(report, format, ex, path, settings, wanted))


@contextmanager
def one_json_object(format: Format, exercise: str):
    """--format json prints one JSON object whatever the exit, a usage error's (exit 2) too."""
    try:
        yield
    except typer.Exit as stop:
        message = getattr(stop, "usage_error", None)  # fail_usage's: nothing printed on stdout yet
        if format is Format.json and stop.exit_code == 2 and message is not None:
            error = {"kind": "UsageError", "message": message, "file": None, "line": None, "cell": None}
            result = {"exercise": exercise, "passed": False, "exit_code": 2, "variables": [], "notes": [],
                      "error": error}  # fmt: skip
            print(json.dumps(result, indent=2))
        raise


def show(report, format: Format, exercise, path, settings, wanted) -> int:
    """Print the report as asked (and train, where asked and due): the exit code."""
    if format is Format.json:
        from ninja.results import to_dict

        result, code = to_dict(report), exit_code(report)
        if wanted and report.passed:
            result["training"], code = exercise.train(path, settings, wanted, None, errors)
        print(json.dumps(result, indent=2))
        return code
    if format is Format.github:
        from ninja.render import github

        print(github(report))
        return exit_code(report)
    from ninja.render import table

    console.print(table(report, console.width))
    if wanted and not interrupted(report):
        return train_after(exercise, path, settings, wanted, report.passed)
    return exit_code(report)


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
