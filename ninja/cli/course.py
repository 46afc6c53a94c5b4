"""`ninja course init DIR`: a course, its student repository and its Gradescope autograder, from one ninja.toml."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ninja.cli.base import console, fail_usage


class CourseAction(str, Enum):
    init = "init"
    deadline = "deadline"


def course(
    action: CourseAction = typer.Argument(
        ...,
        help="init: write the course from DIR/ninja.toml; deadline: the commands that grade every "
        "student repository from your side",
    ),
    folder: Path = typer.Argument(..., help="The course's folder: its ninja.toml, student/, autograder/"),
    exercises: Optional[str] = typer.Option(
        None, "--exercises", help="For a new ninja.toml: e.g. exercise1,exercise2 \\[default: exercise1-3]"
    ),
    clones: str = typer.Option(
        "student-repos", "--clones", help="deadline: the folder `gh classroom clone` fills, one repository each"
    ),
):
    """Set a course up in one command, from one ninja.toml (written first when there is none).

    Writes DIR/student/ (templates, a README, a GitHub Actions workflow that grades on push, a
    backprop-ninja to install that has no solutions), DIR/release/ (that backprop-ninja as a wheel,
    for the course's release) and DIR/autograder/ for Gradescope (setup.sh, run_autograder, the
    config), zipped as DIR/autograder.zip. Run it again after editing ninja.toml.
    `ninja course deadline DIR` prints the commands that grade every student's repository from
    your side at the deadline (a student can edit any workflow in their own repository).

    Example: [bold]ninja course init backprop-course --exercises exercise1,exercise2[/]
    """
    from ninja.grade import course as courses
    from ninja.grade.batch import GradeError

    if action == CourseAction.deadline:
        if not (folder / courses.CONFIG).is_file():
            raise fail_usage(f"no {folder / courses.CONFIG}: run ninja course init {folder} first")
        print("\n".join(courses.deadline_commands(folder, clones)))
        return
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
        f"\nNext: edit {config} (points, limits, release) and run this again; upload {folder / 'release'}'s "
        f"wheel to the release ninja.toml names; give students {folder / 'student'} (a GitHub Classroom "
        f"template repository), upload {folder / 'autograder.zip'} to Gradescope. At the deadline: "
        f"ninja course deadline {folder}",
        highlight=False,
        soft_wrap=True,
    )
