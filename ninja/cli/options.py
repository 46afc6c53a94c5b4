"""The options several commands take, declared once: `workspace: Workspace = None` in a command's
signature is the whole of `--workspace/-w`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ninja.cli.base import complete_exercise

WORKSPACE_HELP = "Folder with your exercises/ \\[default: .]"

ExerciseName = Annotated[
    str,
    typer.Argument(help="exercise1, exercise2, ... (see `ninja list`)", autocompletion=complete_exercise),
]
Workspace = Annotated[Optional[Path], typer.Option("--workspace", "-w", envvar="NINJA_WORKSPACE", help=WORKSPACE_HELP)]
Timeout = Annotated[
    Optional[float],
    typer.Option("--timeout", metavar="SECONDS", help="Stop your file if it runs longer, and say at which line"),
]


def file_option(help: str):
    """--file/-f, with what it means for this command."""
    return typer.Option("--file", "-f", help=help)
