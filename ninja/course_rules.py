"""The rules a course's student install carries (`ninja course init` bundles the course's
ninja.toml as ninja/_bundled/course.toml): the highest hint level a student sees and the course's
exercises. An ordinary install has no such file and no such rules.

Small and free of torch: `ninja hint` and `ninja list` read it on every run."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (pyproject: requires-python >= 3.10, with tomli)
    import tomli as tomllib

COURSE_FILE = Path(__file__).resolve().parent / "_bundled" / "course.toml"
ALL_HINTS = 3


def course_table(path: Path = COURSE_FILE) -> dict:
    """The [course] table of the bundled ninja.toml; {} where there is none (or it does not read)."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("course", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return table if isinstance(table, dict) else {}


def hint_cap(path: Path = COURSE_FILE) -> int:
    """The highest hint level shown: the course's `hints` (0 turns hints off), else all three."""
    value = course_table(path).get("hints", ALL_HINTS)
    return value if isinstance(value, int) and 0 <= value <= ALL_HINTS else ALL_HINTS


def course_exercises(path: Path = COURSE_FILE) -> tuple[str, ...]:
    """The course's exercises, in its order; () outside a course's install."""
    names = course_table(path).get("exercises", [])
    return tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else ()
