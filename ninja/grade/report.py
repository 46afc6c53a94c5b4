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

from ninja.grade.batch import ERROR, GRADED, TIMEOUT, SubmissionResult
from ninja.grade.formats import points

FLAGGED = "flagged"
BINS = 10  # the score histogram: tenths of the maximum, the full score its own bar
CHART_W, CHART_H = 440, 160


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


def status_counts(results: list[SubmissionResult]) -> dict[str, int]:
    counts = {GRADED: 0, ERROR: 0, TIMEOUT: 0, FLAGGED: 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        counts[FLAGGED] += flagged(r)
    return counts


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


def exercise_view(name: str, results: list[SubmissionResult]) -> dict:
    top = max(r.max_score for r in results)
    scores = [r.score for r in results]
    return {
        "name": name,
        "max_score": points(top),
        "count": len(results),
        "mean": points(statistics.fmean(scores)),
        "median": points(statistics.median(scores)),
        "full_marks": sum(s >= top for s in scores),
        "histogram": histogram(scores, top),
        "variables": variable_rates(results),
    }


def class_view(results: list[SubmissionResult], run: dict | None = None) -> dict:
    """Everything the page shows, as numbers: statuses, per exercise the score distribution and
    each variable's pass rate, the most common root causes and kinds, every submission's score."""
    by_exercise: dict[str, list[SubmissionResult]] = {}
    for r in results:
        if r.tests:
            by_exercise.setdefault(r.exercise, []).append(r)
    found = mistakes(results)
    rows = [
        {"id": f"s{k + 1}", "submission": r.submission, "exercise": r.exercise, "score": points(r.score),
         "max_score": points(r.max_score), "status": r.status, "flagged": flagged(r),
         "headline": r.message.splitlines()[0] if r.message else r.status, "message": r.message, "tests": r.tests}
        for k, r in enumerate(results)
    ]  # fmt: skip
    return {
        "run": run or {},
        "submissions": len(results),
        "statuses": status_counts(results),
        "exercises": [exercise_view(name, rs) for name, rs in by_exercise.items()],
        "mistakes": found,
        "kinds": kinds(found),
        "rows": rows,
        "chart": {"width": CHART_W, "height": CHART_H},
    }


def page(results: list[SubmissionResult], run: dict | None = None) -> str:
    """The class report: one HTML page that opens anywhere, offline."""
    environment = Environment(
        loader=PackageLoader("ninja.grade", "templates"), autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    return environment.get_template("report.html.j2").render(view=class_view(results, run))


def top_mistakes(results: list[SubmissionResult], count: int = 3) -> list[str]:
    """The class's most common mistakes, one line each, for the terminal after a batch."""
    lines = []
    for m in mistakes(results)[:count]:
        example = f": {m.example}" if m.example else ""
        plural = "s" if m.count > 1 else ""
        lines.append(f"{m.exercise} {m.variable} ({m.kind}), {m.count} submission{plural}{example}")
    return lines
