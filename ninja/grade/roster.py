"""`--roster roster.csv`: who is in the class, and which submission is whose.

A roster is a CSV with a header row naming at least `id`, `email` and `name` (any case; more
columns are kept, e.g. `canvas_id`, `sis_login_id`, `section`, `github`). A submission belongs
to the roster row one of whose values equals one of the submission's names: its folder's name
(`alice-smith`, a GitHub Classroom clone's `assignment-alice`), Canvas's `smithalice_12345` (the
squeezed name or the Canvas user id), a zip's name without `.zip`. Compared with case, spaces,
dots, dashes and underscores left out. A roster student with no submission gets 0 and
"not submitted" for every exercise; a submission on no row is kept, with a note.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ninja.grade.batch import GradeError
from ninja.grade.formats import Student

REQUIRED = ("id", "email", "name")
MAX_ROSTER_BYTES = 8 * 2**20


@dataclass
class Entry:
    id: str
    email: str
    name: str
    extra: dict[str, str] = field(default_factory=dict)

    def keys(self) -> set[str]:
        """Every value a submission's name may equal: the id, the email and its local part, the
        name first-last and last-first, and each other column's value."""
        words = self.name.replace(",", " ").split()
        values = [self.id, self.email, self.email.split("@")[0], self.name, "".join(reversed(words)),
                  *self.extra.values()]  # fmt: skip
        return {squeeze(v) for v in values if squeeze(v)}


def squeeze(text: str) -> str:
    return re.sub(r"[\s._\-]+", "", text.lower())


def read(path: Path) -> list[Entry]:
    """The roster's rows; GradeError naming the file and what is wrong."""
    try:
        text = path.read_bytes()[:MAX_ROSTER_BYTES].decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise GradeError(f"cannot read the roster {path}: {e}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise GradeError(f"the roster {path} is empty: it needs a header row with {', '.join(REQUIRED)}")
    header = [h.strip().lower() for h in rows[0]]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise GradeError(f"the roster {path} has no column {', '.join(missing)} (its header: {', '.join(rows[0])})")
    entries, seen = [], set()
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (cell.strip() for cell in row)))
        entry = Entry(cells.get("id", ""), cells.get("email", ""), cells.get("name", ""),
                      {k: v for k, v in cells.items() if k not in REQUIRED and v})  # fmt: skip
        if not entry.id and not entry.email:
            raise GradeError(f"{path}, line {number}: a student needs an id or an email")
        if (entry.id, entry.email) in seen:
            raise GradeError(f"{path}, line {number}: {entry.id or entry.email} is on the roster twice")
        seen.add((entry.id, entry.email))
        entries.append(entry)
    return entries


def submission_names(submission: str) -> set[str]:
    """The names a submission goes by: its folder's (or file's) name, less `.zip`; Canvas's name
    and user id; a Classroom clone's name after the assignment prefix (`hw1-alice` -> `alice`)."""
    name = Path(submission).name
    name = name[: -len(".zip")] if name.lower().endswith(".zip") else name
    names = {name, *name.split("_"), *name.split("-")[1:]}
    return {squeeze(n) for n in names if squeeze(n)}


def assign(
    students: list[Student], roster: list[Entry], exercises: list[str], missing
) -> tuple[list[Student], list[str]]:
    """The class in roster order, each row with its submissions' results and a "not submitted"
    one (`missing(name, exercise)`) for each of `exercises` it has none of, then the submissions
    on no row; and a note per submission that matched no row or several."""
    by_key: dict[str, list[int]] = {}
    for k, entry in enumerate(roster):
        for key in entry.keys():
            by_key.setdefault(key, []).append(k)
    owned: dict[int, list[Student]] = {}
    strays, notes = [], []
    for student in students:
        rows = sorted({k for name in submission_names(student.results[0].submission) for k in by_key.get(name, [])})
        if len(rows) == 1:
            owned.setdefault(rows[0], []).append(student)
            continue
        strays.append(student)
        names = ", ".join(roster[k].name for k in rows)
        where = f"on {len(rows)} roster rows ({names})" if rows else "on no roster row"
        notes.append(f"{student.name}: {where}; kept apart")
    classed = []
    for k, entry in enumerate(roster):
        results = [r for s in owned.get(k, []) for r in s.results]
        have = {r.exercise for r in results}
        results += [missing(entry.name or entry.id, e) for e in exercises if e not in have]
        classed.append(Student(entry.name or entry.email or entry.id, results, entry.id, entry.email, entry.extra))
    return classed + strays, notes
