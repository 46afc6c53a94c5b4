"""`ninja course init DIR`: a course, its student repository and its Gradescope autograder, from one ninja.toml."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ninja.cli.base import console, fail_usage


class CourseAction(str, Enum):
    init = "init"


def course(
    action: CourseAction = typer.Argument(..., help="init: write the course from DIR/ninja.toml"),
    folder: Path = typer.Argument(..., help="The course's folder: its ninja.toml, student/, autograder/"),
    exercises: Optional[str] = typer.Option(
        None, "--exercises", help="For a new ninja.toml: e.g. exercise1,exercise2 \\[default: exercise1-3]"
    ),
):
    """Set a course up in one command, from one ninja.toml (written first when there is none).

    Writes DIR/student/ (templates, a README, a GitHub Actions workflow that grades on push, a
    backprop-ninja to install that has no solutions) and DIR/autograder/ for Gradescope (setup.sh,
    run_autograder, the config), zipped as DIR/autograder.zip. Run it again after editing ninja.toml.

    Example: [bold]ninja course init backprop-course --exercises exercise1,exercise2[/]
    """
    from ninja.grade import course as courses
    from ninja.grade.batch import GradeError

    chosen = [e.strip() for e in exercises.split(",") if e.strip()] if exercises else None
    try:
        created, new = courses.init(folder, chosen)
    except GradeError as e:
        raise fail_usage(str(e)) from None
    config = folder / courses.CONFIG
    console.print(f"{'wrote' if new else 'read '} {config}", highlight=False, soft_wrap=True)
    for path in created[1 if new else 0 :]:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    console.print(
        f"\nNext: edit {config} (points, limits) and run this again; give students {folder / 'student'} "
        f"(a GitHub Classroom template repository), upload {folder / 'autograder.zip'} to Gradescope.",
        highlight=False,
        soft_wrap=True,
    )
