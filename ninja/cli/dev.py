"""`ninja dev ...`: commands for whoever writes exercises.

A command here is `@dev.command()`; the group joins `ninja` once it has one (ninja/cli/__init__.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ninja.cli.base import console, fail_usage

dev = typer.Typer(name="dev", help="For exercise authors: check an exercise file.", no_args_is_help=True)


@dev.command("check")
def check_exercise_file(
    file: Path = typer.Argument(..., help="An exercise file: forward(tap, ...), or LAYERS of CS231n-style pairs"),
    solution: Optional[Path] = typer.Option(None, "--solution", "-s", help="A solution to check against it"),
    name: Optional[str] = typer.Option(None, "--name", help="The exercise's name \\[default: FILE's stem]"),
):
    """Whether an exercise file is a sound exercise (docs/writing-exercises.md).

    The reference against central differences, every checked gradient reachable and not all zero,
    the generated template all missing and clean under grading's audit, the solution passing, and
    blame naming a mistake injected at each checked line (a CS231n-style file: each backward made
    wrong failing at that function). Exit 0 sound, 1 not, 2 usage.

    Example: [bold]ninja dev check attention.py --solution attention_solution.py[/]
    """
    from ninja.devcheck import DevCheckUsage
    from ninja.registry import dev_check
    from ninja.watchdog import one_thread

    try:
        with one_thread():  # as every check: small tensors (bench/check_threads.py; 17.7 s against 7.1 s on gpt3)
            outcome = dev_check(file, solution, name)
    except DevCheckUsage as e:
        raise fail_usage(str(e)) from None
    for line in outcome.passed:
        console.print(f"[green]ok[/]    {escape(line)}", highlight=False, soft_wrap=True)
    for line in outcome.failures:
        console.print(f"[bold red]fix[/]   {escape(line)}", highlight=False, soft_wrap=True)
    verdict = "a sound exercise" if outcome.ok else f"{len(outcome.failures)} thing(s) to fix"
    console.print(f"{escape(str(file))}: {verdict}", highlight=False, soft_wrap=True)
    if not outcome.ok:
        raise typer.Exit(1)
