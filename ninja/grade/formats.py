"""Grading results -> what graders read: Gradescope results.json, JUnit XML, JSON, CSV, and a
summary table for the terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.table import Table
from rich.text import Text

from ninja.grade.batch import CREDIT_NOTE, GRADED, NOT_SUBMITTED, TIMEOUT, SubmissionResult
from ninja.registry import EXERCISES

STATUS_STYLE = {GRADED: "green", TIMEOUT: "yellow"}
# C0 and C1 controls but newline and tab (escape codes, bells, \x01), lone surrogates, XML's non-characters
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


def clean(text: str) -> str:
    """Student text (messages, printed output, file and folder names) with every control
    character, lone surrogate and XML non-character shown as a visible escape instead."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else "\ufffd", str(text))


def cell(value):
    """A CSV cell no spreadsheet runs: text that would start a formula gets a leading quote."""
    if isinstance(value, str):
        value = clean(value)
        return "'" + value if value.startswith(FORMULA) else value
    return value


def cleaned(value):
    """Every string in a JSON-able document cleaned: the file is valid UTF-8 and shows no codes."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k): cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    return value


def write_atomically(path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a reader sees the old file or the
    whole new one, and nothing that ran before can hold the new one open."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".ninja-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def points(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 4)


def gradescope(results: list[SubmissionResult], execution_time: float, visibility: str = "visible",
               exercise_visibility: dict[str, str] | None = None) -> str:  # fmt: skip
    """Gradescope's results.json for one submission: top-level score, execution_time and the
    course's visibility; one test per variable, with its exercise's visibility (ninja.toml)."""
    tests = []
    for r in results:
        prefix = f"{r.exercise}: " if len(results) > 1 else ""
        for t in r.tests:
            tests.append(
                {
                    "name": f"{prefix}{t.name}",
                    "score": points(t.score),
                    "max_score": points(t.max_score),
                    "status": "passed" if t.passed else "failed",
                    "output": t.output,
                    "visibility": (exercise_visibility or {}).get(r.exercise, visibility),
                }
            )
    document = {
        "score": points(sum(r.score for r in results)),
        "execution_time": round(execution_time, 3),
        "output": "\n\n".join(f"{r.exercise}: {r.message}" for r in results),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(cleaned(document), indent=2)


def junit(results: list[SubmissionResult]) -> str:
    """One testsuite per (submission, exercise), one testcase per variable."""
    suites = ET.Element("testsuites", name="ninja grade")
    for r in results:
        wrong = sum(not t.passed for t in r.tests)
        failures, errors = (wrong, 0) if r.status == GRADED else (0, wrong)
        suite = ET.SubElement(
            suites, "testsuite", name=clean(f"{r.submission} {r.exercise}"), tests=str(len(r.tests)),
            failures=str(failures), errors=str(errors), time=f"{r.seconds:.3f}",
        )  # fmt: skip
        for t in r.tests:
            case = ET.SubElement(suite, "testcase", classname=clean(f"{r.submission}.{r.exercise}"), name=clean(t.name))
            if not t.passed:
                kind = "failure" if r.status == GRADED else "error"
                output = clean(t.output)
                message = (output.splitlines()[0] if output else r.status) if r.status == GRADED else headline(r)
                ET.SubElement(case, kind, message=message).text = output
        if r.status != GRADED:
            ET.SubElement(suite, "system-out").text = clean(r.message)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def as_json(results: list[SubmissionResult]) -> str:
    document = [
        {
            "submission": r.submission,
            "exercise": r.exercise,
            "score": points(r.score),
            "max_score": points(r.max_score),
            "status": r.status,
            "message": r.message,
            "seconds": round(r.seconds, 3),
            "tests": [asdict(t) for t in r.tests],
            "output": r.output,
        }
        for r in results
    ]
    return json.dumps(cleaned(document), indent=2)


def as_csv(results: list[SubmissionResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "exercise", "score", "max_score", "status", "message"])
    for r in results:
        row = (r.submission, r.exercise, points(r.score), points(r.max_score), r.status, headline(r))
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def headline(r: SubmissionResult) -> str:
    """The first line of a result's message: what happened (syntax error at line N, timed out after
    N s, over the memory limit, autograd refused, k/n gradients correct), control characters out."""
    return clean(r.message.splitlines()[0]) if r.message else r.status


@dataclass
class Student:
    """One student's results: a submission folder's (or file's) name, or the roster's name and ids."""

    name: str
    results: list[SubmissionResult] = field(default_factory=list)
    id: str = ""  # the roster's (Canvas's SIS or user id, a student number)
    email: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # the roster's other columns, by header

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    def by_exercise(self) -> dict[str, SubmissionResult]:
        return {r.exercise: r for r in self.results}


def short_name(submission: str) -> str:
    """A submission's folder or file name (a zip's without .zip)."""
    name = Path(submission).name or submission
    return name[:-4] if name.lower().endswith(".zip") else name


def students(results: list[SubmissionResult]) -> list[Student]:
    """Results by student: a submission folder's (or file's) name, its path where two share a name."""
    names = {short_name(r.submission) for r in results}
    short = len(names) == len({r.submission for r in results})
    grouped: dict[str, Student] = {}
    for r in results:
        name = short_name(r.submission) if short else r.submission
        grouped.setdefault(name, Student(name)).results.append(r)
    return list(grouped.values())


def maxima(results: list[SubmissionResult]) -> dict[str, float]:
    """Each exercise's maximum, in the order the exercises are registered."""
    present = {r.exercise for r in results}
    return {e: max(r.max_score for r in results if r.exercise == e) for e in EXERCISES if e in present}


def percent(score: float, top: float) -> float:
    return round(100 * score / top, 1) if top else 0.0


def student_notes(student: Student, order) -> str:
    """What did not grade cleanly, by exercise; an exercise with no result at all is not submitted."""
    mine = student.by_exercise()
    notes = [f"{r.exercise}: {headline(r)}" for r in student.results if r.status != GRADED]
    return "; ".join(notes + [f"{e}: {NOT_SUBMITTED}" for e in order if e not in mine])


def gradebook(results: list[SubmissionResult], class_list: list[Student] | None = None) -> str:
    """One row per student: a column per exercise, the total, the maximum, and what happened where
    something did not grade cleanly. An exercise a student did not hand in scores 0 out of its
    maximum. With a roster, the student's id and email follow the name."""
    tops = maxima(results)
    class_list = class_list if class_list is not None else students(results)
    ids = any(s.id or s.email for s in class_list)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", *(["id", "email"] if ids else []), *tops, "total", "max_total", "percent", "notes"])
    for student in class_list:
        mine = student.by_exercise()
        top = sum(tops.values())
        cells = [points(mine[e].score) if e in mine else 0 for e in tops]
        row = (student.name, *([student.id, student.email] if ids else []), *cells, points(student.score),
               points(top), percent(student.score, top), student_notes(student, tops))  # fmt: skip
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


# ---- gradebooks a learning platform imports as they are -------------------------------------------

CANVAS_LABEL = re.compile(r"^(?P<name>.+)_(?P<user>\d+)$")  # a Canvas download's student: smithalice_12345


def canvas_user(student: Student) -> str:
    """The Canvas user id: the roster's canvas_id, or the one in a Canvas download's file names."""
    if student.extra.get("canvas_id"):
        return student.extra["canvas_id"]
    match = CANVAS_LABEL.match(Path(student.results[0].submission).name) if student.results else None
    return match["user"] if match else ""


def lms_rows(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def canvas(grading: Grading) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the
    assignment's column, and a "Points Possible" row under the header. A student with neither a
    Canvas id nor an SIS id cannot be matched: left out (the terminal says who)."""
    top = sum(maxima(grading.results).values())
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", grading.assignment]
    rows: list[list] = [["Points Possible", "", "", "", "", points(top)]]
    for student in grading.class_list():
        ids = (canvas_user(student), student.id)
        if any(ids):
            rows.append([student.name, *ids, student.extra.get("sis_login_id", ""), student.extra.get("section", ""),
                         points(student.score)])  # fmt: skip
    return lms_rows(header, rows)


def gradescope_scores(grading: Grading) -> str:
    """Gradescope's score import (matched by email): Name, SID, Email, Total Score."""
    rows = [[s.name, s.id, s.email, points(s.score)] for s in grading.class_list() if s.email]
    return lms_rows(["Name", "SID", "Email", "Total Score"], rows)


def moodle(grading: Grading) -> str:
    """Moodle's CSV grade import (Grades > Import > CSV file): identify users by "Email address"
    or "ID number", map the assignment's column to the grade item, and its feedback column."""
    rows = [[s.id, s.email, s.name, points(s.score), student_notes(s, maxima(grading.results))]
            for s in grading.class_list() if s.email or s.id]  # fmt: skip
    return lms_rows(["ID number", "Email address", "Full name", grading.assignment, "Feedback"], rows)


def telling(message: str) -> list[str]:
    """A message's lines less the credit note, which is the same for every submission of a run."""
    return [line for line in message.splitlines() if line not in CREDIT_NOTE.values()]


def summary(results: list[SubmissionResult]) -> Table:
    grid = Table("submission", "exercise", "score", "status", "message", title="ninja grade", title_justify="left")
    for r in results:
        style = STATUS_STYLE.get(r.status, "magenta")
        if r.status == GRADED and r.score < r.max_score:
            style = "red"
        grid.add_row(  # Text, never markup: a folder named [red]... or an escape code shows as itself
            Text(clean(r.submission)), Text(clean(r.exercise)), f"{points(r.score)}/{points(r.max_score)}",
            Text(r.status, style=style), Text(clean(" · ".join(telling(r.message)[:2]))),
        )  # fmt: skip
    return grid


# ---- GitHub Actions and GitHub Classroom ----------------------------------------------------------


def relative(path: str) -> str:
    """A path as GitHub annotates it: relative to the workspace (the current folder) where it can be."""
    if not path:
        return ""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def github(results: list[SubmissionResult]) -> str:
    """Annotations at the student's own lines: an error at each root cause and where the file
    raised; a line per exercise; and GitHub Classroom's `Points X/Y` as a notice."""
    from ninja.render import annotation

    lines = []
    for r in results:
        file = relative(r.file)
        if r.status != GRADED:
            lines.append(annotation("error", r.message, file or None, r.line, f"{r.exercise}: {headline(r)}"[:200]))
        for t in r.tests:
            if t.root_cause and not t.passed and r.status == GRADED:
                lines.append(annotation("error", t.output, file or None, t.line, f"{t.name} is wrong"))
        lines.append(f"{r.submission} {r.exercise}: {points(r.score)}/{points(r.max_score)}: {headline(r)}")
    total, top = sum(r.score for r in results), sum(r.max_score for r in results)
    lines.append(annotation("notice", f"Points {points(total)}/{points(top)}", title="Autograding complete"))
    return "\n".join(lines)


def md_cell(text: str) -> str:
    """Text for one cell of a Markdown table (control characters stripped)."""
    return clean(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def step_summary(results: list[SubmissionResult]) -> str:
    """The job summary ($GITHUB_STEP_SUMMARY): per exercise its score, what happened, and the
    per-variable table with root causes first."""
    total, top = sum(r.score for r in results), sum(r.max_score for r in results)
    parts = [f"## ninja grade: {points(total)}/{points(top)} points\n"]
    several = len({r.submission for r in results}) > 1
    for r in results:
        who = f"{md_cell(r.submission)} " if several else ""
        parts.append(f"### {who}{md_cell(r.exercise)}: {points(r.score)}/{points(r.max_score)}\n")
        parts.append("\n".join(f"- {md_cell(line)}" for line in r.message.splitlines()) + "\n")
        if r.tests:
            rows = ["| variable | points | status | feedback |", "| --- | --- | --- | --- |"]
            order = sorted(r.tests, key=lambda t: (t.passed, not t.root_cause))
            for t in order:
                mark = "pass" if t.passed else ("root cause" if t.root_cause else t.status or "fail")
                rows.append(
                    f"| `{md_cell(t.name)}` | {points(t.score)}/{points(t.max_score)} | {mark} | {md_cell(t.output)} |"
                )
            parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


def classroom_test(r: SubmissionResult, t) -> dict:
    status = "pass" if t.passed else ("error" if r.status != GRADED else "fail")
    return {
        "name": f"{r.exercise} {t.name}",
        "status": status,
        "score": points(t.score),
        "max_score": points(t.max_score),
        "message": t.output,
        "line_no": t.line,
        "test_code": f"ninja grade {r.exercise}",
    }


def classroom(results: list[SubmissionResult]) -> dict:
    """The result GitHub Classroom's autograding reporter reads (a runner's `result` output, as
    classroom-resources/autograding-grading-reporter decodes it): status, max_score, and each test's
    status and score; the reporter adds the scores up into the `Points X/Y` that Classroom records."""
    tests = [classroom_test(r, t) for r in results for t in r.tests]
    if any(r.status != GRADED for r in results):
        status = "error"
    else:
        status = "pass" if all(r.score >= r.max_score for r in results) else "fail"
    return {"version": 1, "status": status, "max_score": points(sum(r.max_score for r in results)), "tests": tests}


def github_outputs(results: list[SubmissionResult]) -> str:
    """Lines for $GITHUB_OUTPUT: the Classroom result (base64 JSON, as the reporter expects), score, max-score."""
    import base64

    encoded = base64.b64encode(json.dumps(classroom(results)).encode()).decode()
    total, top = sum(r.score for r in results), sum(r.max_score for r in results)
    return f"result={encoded}\nscore={points(total)}\nmax-score={points(top)}\n"


# ---- one grading, every output --------------------------------------------------------------------


@dataclass
class Grading:
    """One run's results and what every output says about the run (the report's header)."""

    results: list[SubmissionResult]
    seconds: float = 0.0
    run: dict = field(default_factory=dict)
    students: list[Student] | None = None  # a roster's class; default: by submission folder
    assignment: str = "backprop"  # the gradebooks' column: the course's name
    visibility: str = "visible"  # Gradescope's, for the whole result and each exercise (ninja.toml)
    exercise_visibility: dict[str, str] = field(default_factory=dict)
    similar: list | None = None  # --similarity: flagged pairs (ninja/grade/similarity.py)

    def class_list(self) -> list[Student]:
        return self.students if self.students is not None else students(self.results)


def class_page(grading: Grading) -> str:
    from ninja.grade.report import page

    return page(grading.results, grading.run, grading.class_list(), grading.similar)


def similarity_csv(pairs: list) -> str:
    """One row per matching line of each flagged pair, the two students' lines side by side."""
    rows = [[p.exercise, p.a, p.b, p.score, p.shared, line_a, code_a, line_b, code_b]
            for p in pairs for line_a, code_a, line_b, code_b in p.lines]  # fmt: skip
    header = ["exercise", "student_a", "student_b", "score", "shared_fingerprints", "line_a", "code_a", "line_b",
              "code_b"]  # fmt: skip
    return lms_rows(header, rows)


WRITERS: dict[str, Callable[[Grading], str]] = {
    "gradescope": lambda g: gradescope(g.results, g.seconds, g.visibility, g.exercise_visibility),
    "junit": lambda g: junit(g.results),
    "json": lambda g: as_json(g.results),
    "csv": lambda g: as_csv(g.results),
    "gradebook": lambda g: gradebook(g.results, g.class_list()),
    "canvas": canvas,
    "gradescope-scores": gradescope_scores,
    "moodle": moodle,
    "github": lambda g: github(g.results),
    "summary": lambda g: step_summary(g.results),
    "report": class_page,
    "similarity": lambda g: similarity_csv(g.similar or []),
}
EXTENSIONS = {".xml": "junit", ".json": "json", ".csv": "csv", ".html": "report", ".htm": "report", ".md": "summary"}
GRADESCOPE_NAME = "results.json"  # what Gradescope reads: that name is its format


class OutputError(ValueError):
    """An --out whose format cannot be told: the message says how to name it."""


def output_spec(spec: str, default: str | None = None) -> tuple[str, Path]:
    """(format, path) of one --out: `FORMAT:path`, else `default` (--format), else the extension
    (results.json is Gradescope's; .json .xml .csv .html .md)."""
    prefix, colon, rest = spec.partition(":")
    if colon and prefix in WRITERS and rest:
        return prefix, Path(rest)
    if colon and re.fullmatch(r"[a-z][a-z0-9-]+", prefix):
        raise OutputError(f"--out {spec}: no format named {prefix!r}; formats: {', '.join(WRITERS)}")
    path = Path(spec)
    if default is not None:
        return default, path
    if path.name == GRADESCOPE_NAME:
        return "gradescope", path
    if path.suffix.lower() in EXTENSIONS:
        return EXTENSIONS[path.suffix.lower()], path
    known = ", ".join(f"*{e}" for e in EXTENSIONS)
    raise OutputError(
        f"cannot tell the format of --out {spec}: name it {known} (results.json is Gradescope's), "
        f"or put the format first, like gradebook:{spec} (formats: {', '.join(WRITERS)})"
    )


def per_submission(grading: Grading, folder: Path) -> list[tuple[Path, str]]:
    """Gradescope reads one results.json per submission: FOLDER/<student>/results.json each."""
    files = []
    for student in students(grading.results):
        one = Grading(student.results, sum(r.seconds for r in student.results), grading.run,
                      visibility=grading.visibility, exercise_visibility=grading.exercise_visibility)  # fmt: skip
        files.append((folder / safe_folder(student.name) / GRADESCOPE_NAME, WRITERS["gradescope"](one)))
    return files


def safe_folder(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name).strip(".") or "submission"


def several(results: list[SubmissionResult]) -> bool:
    return len({r.submission for r in results}) > 1


def write_outputs(outputs: list[tuple[str, Path]], grading: Grading) -> None:
    """Every output of the run from the one grading, each written atomically; OSError names the
    file. Gradescope's format over several submissions is a folder of one results.json each."""
    for name, path in outputs:
        if name == "gradescope" and several(grading.results):
            files = per_submission(grading, path.parent if path.name == GRADESCOPE_NAME else path)
        else:
            files = [(path, WRITERS[name](grading))]
        for where, text in files:
            try:
                where.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(where, text)
            except OSError as e:
                raise OSError(f"cannot write {where}: {e}") from None
