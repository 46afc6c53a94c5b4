"""Grading results -> what graders read: Gradescope results.json, JUnit XML, JSON, CSV, and a
summary table for the terminal."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict

from rich.table import Table
from rich.text import Text

from ninja.grade.batch import GRADED, TIMEOUT, SubmissionResult

STATUS_STYLE = {GRADED: "green", TIMEOUT: "yellow"}


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
    return json.dumps(document, indent=2)


def junit(results: list[SubmissionResult]) -> str:
    """One testsuite per (submission, exercise), one testcase per variable."""
    suites = ET.Element("testsuites", name="ninja grade")
    for r in results:
        wrong = sum(not t.passed for t in r.tests)
        failures, errors = (wrong, 0) if r.status == GRADED else (0, wrong)
        suite = ET.SubElement(
            suites, "testsuite", name=f"{r.submission} {r.exercise}", tests=str(len(r.tests)),
            failures=str(failures), errors=str(errors), time=f"{r.seconds:.3f}",
        )  # fmt: skip
        for t in r.tests:
            case = ET.SubElement(suite, "testcase", classname=f"{r.submission}.{r.exercise}", name=t.name)
            if not t.passed:
                kind = "failure" if r.status == GRADED else "error"
                ET.SubElement(case, kind, message=t.output.splitlines()[0] if t.output else r.status).text = t.output
        if r.status != GRADED:
            ET.SubElement(suite, "system-out").text = r.message
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
    return json.dumps(document, indent=2)


def as_csv(results: list[SubmissionResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "exercise", "score", "max_score", "status", "message"])
    for r in results:
        writer.writerow(
            [r.submission, r.exercise, points(r.score), points(r.max_score), r.status, r.message.splitlines()[0]]
        )
    return out.getvalue()


def summary(results: list[SubmissionResult]) -> Table:
    grid = Table("submission", "exercise", "score", "status", "message", title="ninja grade", title_justify="left")
    for r in results:
        style = STATUS_STYLE.get(r.status, "magenta")
        if r.status == GRADED and r.score < r.max_score:
            style = "red"
        grid.add_row(
            r.submission, r.exercise, f"{points(r.score)}/{points(r.max_score)}", Text(r.status, style=style),
            " · ".join(r.message.splitlines()[:2]),
        )  # fmt: skip
    return grid
