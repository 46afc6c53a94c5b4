"""`ninja dev ...`: commands for whoever writes exercises (`ninja dev check FILE` goes here).

A command here is `@dev.command()`; the group joins `ninja` once it has one (ninja/cli/__init__.py)."""

from __future__ import annotations

import typer

dev = typer.Typer(name="dev", help="For exercise authors: check an exercise file.", no_args_is_help=True)
