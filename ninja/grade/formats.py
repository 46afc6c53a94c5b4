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
from dataclasses import asdict

from rich.table import Table
from rich.text import Text

from ninja.grade.batch import GRADED, TIMEOUT, SubmissionResult

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


def gradescope(results: list[SubmissionResult], execution_time: float) -> str:
    """Gradescope's results.json: top-level score and execution_time, one test per variable."""
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
                    "visibility": "visible",
                }
            )
    document = {
        "score": points(sum(r.score for r in results)),
        "execution_time": round(execution_time, 3),
        "output": "\n\n".join(f"{r.exercise}: {r.message}" for r in results),
        "visibility": "visible",
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
                ET.SubElement(case, kind, message=output.splitlines()[0] if output else r.status).text = output
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
        first = r.message.splitlines()[0] if r.message else ""
        writer.writerow([cell(v) for v in (r.submission, r.exercise, points(r.score), points(r.max_score), r.status,
                                           first)])  # fmt: skip
    return out.getvalue()


def summary(results: list[SubmissionResult]) -> Table:
    grid = Table("submission", "exercise", "score", "status", "message", title="ninja grade", title_justify="left")
    for r in results:
        style = STATUS_STYLE.get(r.status, "magenta")
        if r.status == GRADED and r.score < r.max_score:
            style = "red"
        grid.add_row(  # Text, never markup: a folder named [red]... or an escape code shows as itself
            Text(clean(r.submission)), Text(clean(r.exercise)), f"{points(r.score)}/{points(r.max_score)}",
            Text(r.status, style=style), Text(clean(" · ".join(r.message.splitlines()[:2]))),
        )  # fmt: skip
    return grid
