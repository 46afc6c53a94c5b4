"""The class view: what a class got wrong, from a batch's results, as plain numbers and as one
self-contained HTML page (Jinja2 template, inline SVG charts, no script, nothing fetched).

class_view() is the numbers; page() renders them; top_mistakes() is the terminal's short version.
The numbers are counted from the same SubmissionResult list that `--format json` writes, so the
page and the JSON always agree.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from jinja2 import Environment, PackageLoader, select_autoescape

from ninja.grade.batch import ERROR, GRADED, NOT_SUBMITTED, TIMEOUT, SubmissionResult
from ninja.grade.formats import Student, maxima, percent, points
from ninja.grade.formats import students as grouped_students

FLAGGED = "flagged"
BINS = 10  # the score histogram: tenths of the maximum, the full score its own bar
CHART_W, CHART_H = 440, 160
HELP_BELOW, HELP_ROOTS, HELP_MOST = 60, 3, 20  # "needs help": under 60% or 3+ wrong lines; 20 at most


@dataclass
class Mistake:
    """A root cause seen across the class: the variable, the kind, how many submissions, an example."""

    exercise: str
    variable: str
    kind: str
    count: int
    example: str  # the line as one student wrote it (no name, comment stripped)
    wording: str  # the feedback as they read it


@dataclass
class VariableRate:
    name: str
    passed: int
    total: int
    statuses: dict[str, int] = field(default_factory=dict)  # fail, missing, error counts

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


AUDIT = "audit: "  # how the audit's verdict starts a message line (batch.audit_message)


def flagged(r: SubmissionResult) -> bool:
    """Flagged by the source audit (ninja/grade/audit.py): scored 0, or kept for review with --audit warn."""
    return any(line.startswith(AUDIT) for line in r.message.splitlines())


STATUSES = (GRADED, ERROR, TIMEOUT, NOT_SUBMITTED)


def status_counts(students: list[Student], order: list[str]) -> dict[str, dict[str, int]]:
    """Per status, per exercise: how many students (each student once per exercise, so every
    column adds up to the class); "flagged" counts the students the audit flagged there."""
    counts = {status: dict.fromkeys(order, 0) for status in (*STATUSES, FLAGGED)}
    for student in students:
        mine = student.by_exercise()
        for exercise in order:
            r = mine.get(exercise)
            status = r.status if r is not None else NOT_SUBMITTED
            counts.setdefault(status, dict.fromkeys(order, 0))[exercise] += 1
            counts[FLAGGED][exercise] += r is not None and flagged(r)
    return counts


def submitted(results: list[SubmissionResult]) -> list[SubmissionResult]:
    """What the difficulty statistics count: every result but the exercises not handed in."""
    return [r for r in results if r.status != NOT_SUBMITTED]


def histogram(scores: list[float], top: float) -> list[dict]:
    """Counts in tenths of the maximum (0-10%, ..., 90-100% less full marks) and full marks."""
    counts = [0] * (BINS + 1)
    for score in scores:
        share = score / top if top else 0.0
        counts[BINS if share >= 1 else min(BINS - 1, int(share * BINS))] += 1
    labels = [f"{10 * k}-{10 * (k + 1)}%" for k in range(BINS)] + ["100%"]
    tallest = max(counts) or 1
    width = CHART_W / len(counts)
    bars = []
    for k, (label, count) in enumerate(zip(labels, counts)):
        height = (CHART_H - 40) * count / tallest
        bars.append(
            {"label": label, "count": count, "x": round(k * width + 2, 1), "width": round(width - 4, 1),
             "y": round(CHART_H - 20 - height, 1), "height": round(height, 1)}
        )  # fmt: skip
    return bars


def variable_rates(results: list[SubmissionResult]) -> list[VariableRate]:
    """Each checked variable's pass rate over the submissions of one exercise, worst first."""
    rates: dict[str, VariableRate] = {}
    for r in results:
        for t in r.tests:
            rate = rates.setdefault(t.name, VariableRate(t.name, 0, 0))
            rate.total += 1
            rate.passed += t.passed
            if not t.passed:
                rate.statuses[t.status or "fail"] = rate.statuses.get(t.status or "fail", 0) + 1
    order = list(rates)
    return sorted(rates.values(), key=lambda v: (v.rate, order.index(v.name)))


def mistakes(results: list[SubmissionResult]) -> list[Mistake]:
    """Root causes by (exercise, variable, kind), most common first; each counted once a submission."""
    counts: Counter = Counter()
    example: dict[tuple, tuple[str, str]] = {}
    for r in results:
        for t in r.tests:
            if t.root_cause and not t.passed:
                key = (r.exercise, t.name, t.kind or "local_rule")
                counts[key] += 1
                if key not in example or (not example[key][0] and t.code):
                    example[key] = (t.code or "", t.output)
    return [Mistake(*key, n, *example[key]) for key, n in counts.most_common()]


def kinds(found: list[Mistake]) -> list[tuple[str, int, str]]:
    """(kind, root causes of that kind, an example line: the most common mistake's) most common first."""
    total: Counter = Counter()
    example: dict[str, str] = {}
    for m in found:  # most common first, so the first example of a kind is its most common mistake's
        total[m.kind] += m.count
        if m.example and m.kind not in example:
            example[m.kind] = m.example
    return [(kind, count, example.get(kind, "")) for kind, count in total.most_common()]


def exercise_view(name: str, results: list[SubmissionResult], missing: int) -> dict:
    """One exercise's statistics over the submissions handed in; `missing`: students without one."""
    top = max(r.max_score for r in results)
    scores = [r.score for r in results]
    return {
        "name": name,
        "max_score": points(top),
        "count": len(results),
        "not_submitted": missing,
        "mean": points(statistics.fmean(scores)),
        "median": points(statistics.median(scores)),
        "full_marks": sum(s >= top for s in scores),
        "histogram": histogram(scores, top),
        "variables": variable_rates(results),
    }


def root_causes(student: Student) -> list[dict]:
    """The student's wrong lines: exercise, variable, kind, line and its text."""
    return [
        {"exercise": r.exercise, "variable": t.name, "kind": t.kind or "local_rule", "line": t.line, "code": t.code}
        for r in student.results for t in r.tests if t.root_cause and not t.passed
    ]  # fmt: skip


def student_rows(students: list[Student], tops: dict[str, float]) -> list[dict]:
    """One row per student: each exercise's score (None: not submitted), total, percent, root causes."""
    top = sum(tops.values())
    rows = []
    for k, student in enumerate(students):
        mine = student.by_exercise()
        scores = {e: points(mine[e].score) if e in mine and mine[e].status != NOT_SUBMITTED else None for e in tops}
        rows.append(
            {"key": f"p{k + 1}", "name": student.name, "id": student.id, "scores": scores,
             "total": points(student.score), "max": points(top), "percent": percent(student.score, top),
             "roots": root_causes(student), "missing": [e for e, v in scores.items() if v is None],
             "flagged": [r.exercise for r in student.results if flagged(r)],
             "problems": [problem for r in student.results if (problem := problem_of(r))]}
        )  # fmt: skip
    return rows


def problem_of(result: SubmissionResult) -> str | None:
    """What kept a submission from its points other than wrong lines: it did not grade, or it left
    gradients unwritten (the untouched template reads 0/26 with no wrong line to show)."""
    if result.status == NOT_SUBMITTED:
        return None
    if result.status != GRADED:
        return f"{result.exercise}: {result.message.splitlines()[0]}"
    unwritten = sum(t.status == "missing" for t in result.tests)
    return f"{result.exercise}: {unwritten} of {len(result.tests)} not written yet" if unwritten else None


ORDERS = {  # the student table's orders (links in its header; CSS :target shows one, no script)
    "by-name": ("name", lambda row: row["name"].lower()),
    "by-total": ("lowest total first", lambda row: (row["percent"], row["name"].lower())),
    "by-roots": ("most root causes first", lambda row: (-len(row["roots"]), row["percent"], row["name"].lower())),
}


def needs_help(rows: list[dict]) -> list[dict]:
    """Students under HELP_BELOW percent, or with HELP_ROOTS wrong lines or more, lowest first."""
    chosen = [row for row in rows if row["percent"] < HELP_BELOW or len(row["roots"]) >= HELP_ROOTS]
    return sorted(chosen, key=ORDERS["by-total"][1])[:HELP_MOST]


def class_view(
    results: list[SubmissionResult], run: dict | None = None, students: list[Student] | None = None,
    similar: list | None = None,
) -> dict:  # fmt: skip
    """Everything the page shows, as numbers: statuses by student, per exercise the score
    distribution and each variable's pass rate over what was handed in, the most common root
    causes and kinds, each student's total, who needs help, every submission's score.
    `students`: the class by student (a roster's); default: by submission folder."""
    students = students if students is not None else grouped_students(results)
    tops = maxima(results)
    handed = submitted(results)
    by_exercise: dict[str, list[SubmissionResult]] = {}
    for r in handed:
        if r.tests:
            by_exercise.setdefault(r.exercise, []).append(r)
    found = mistakes(handed)
    rows = [
        {"id": f"s{k + 1}", "submission": r.submission, "exercise": r.exercise, "score": points(r.score),
         "max_score": points(r.max_score), "status": r.status, "flagged": flagged(r),
         "headline": r.message.splitlines()[0] if r.message else r.status, "message": r.message, "tests": r.tests}
        for k, r in enumerate(results)
    ]  # fmt: skip
    people = student_rows(students, tops)
    missing = {e: sum(e in row["missing"] for row in people) for e in tops}
    return {
        "run": run or {},
        "submissions": len(results),
        "students": len(students),
        "order": list(tops),
        "statuses": status_counts(students, list(tops)),
        "exercises": [exercise_view(name, rs, missing[name]) for name, rs in by_exercise.items()],
        "mistakes": found,
        "kinds": kinds(found),
        "people": people,
        "orders": {key: (words, sorted(people, key=how)) for key, (words, how) in ORDERS.items()},
        "needs_help": needs_help(people),
        "help_rule": f"under {HELP_BELOW}% of the points, or {HELP_ROOTS} wrong lines or more",
        "rows": rows,
        "similar": similar,  # None: --similarity was not asked for
        "chart": {"width": CHART_W, "height": CHART_H},
    }


def page(
    results: list[SubmissionResult], run: dict | None = None, students: list[Student] | None = None,
    similar: list | None = None,
) -> str:  # fmt: skip
    """The class report: one HTML page that opens anywhere, offline."""
    environment = Environment(
        loader=PackageLoader("ninja.grade", "templates"), autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    return environment.get_template("report.html.j2").render(view=class_view(results, run, students, similar))


def top_mistakes(results: list[SubmissionResult], count: int = 3) -> list[str]:
    """The class's most common mistakes, one line each, for the terminal after a batch."""
    lines = []
    for m in mistakes(submitted(results))[:count]:
        example = f": {m.example}" if m.example else ""
        plural = "s" if m.count > 1 else ""
        lines.append(f"{m.exercise} {m.variable} ({m.kind}), {m.count} submission{plural}{example}")
    return lines
