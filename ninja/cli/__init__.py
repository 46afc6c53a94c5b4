"""The `ninja` command (also installed as `backprop-ninja`). Thin: find the files, call the
exercise's check, render. Exit codes: 0 all pass, 1 something fails or the file does not run,
2 usage or environment errors.

A module per command group: check.py (`ninja check`), learner.py (list, hint, init, reset,
solution, watch), grading.py (`ninja grade`), course.py (`ninja course init`), dev.py (`ninja dev`);
base.py holds what they share, options.py the options several take. Commands are registered here,
in the order `ninja --help` lists them."""

from __future__ import annotations

from typing import Optional

import typer

from ninja.cli import base
from ninja.cli.base import epilog, program_name
from ninja.cli.check import check
from ninja.cli.course import course
from ninja.cli.dev import dev
from ninja.cli.grading import grade
from ninja.cli.learner import hint, init, list_exercises, reset, solution, watch

app = typer.Typer(
    name="ninja",
    help="Check hand-written backprop against PyTorch autograd, line by line.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(check)
app.command("list")(list_exercises)
app.command()(grade)
app.command()(course)
app.command()(hint)
app.command()(init)
app.command()(reset)
app.command()(solution)
app.command()(watch)
if dev.registered_commands:  # `ninja dev` appears once it has a command
    app.add_typer(dev)
app.info.epilog = epilog()


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

    hand_over(sys.argv[1:] if argv is None else argv, command_names)
    base.set_prog(program_name(sys.argv[0] if sys.argv else "ninja"))
    app.info.epilog = epilog()
    if base.prog() != "ninja":
        examples_named(base.prog())
    app(args=argv, prog_name=base.prog())


def command_names() -> set[str]:
    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback}
    groups = {group.typer_instance.info.name for group in app.registered_groups if group.typer_instance}
    return commands | {name for name in groups if isinstance(name, str)}


def examples_named(prog: str) -> None:
    """Each command's help and examples as `prog ...` (`backprop-ninja check exercise1`)."""
    import inspect
    import re

    ours = re.compile(rf"\bninja (?=(?:{'|'.join(command_names())})\b)")
    groups = [group.typer_instance for group in app.registered_groups if group.typer_instance]
    for command in [*app.registered_commands, *(c for group in groups for c in group.registered_commands)]:
        command.help = ours.sub(f"{prog} ", command.help or inspect.getdoc(command.callback) or "")
