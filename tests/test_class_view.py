"""The class report's numbers from results made by hand: "not submitted" counted per student and
left out of the statistics, totals per student, who needs help and why, the student orders."""

from __future__ import annotations

from ninja.grade import batch
from ninja.grade.batch import GRADED, NOT_SUBMITTED, SubmissionResult
from ninja.grade.report import class_view


def result(student: str, exercise: str, passed: list[bool], status: str = GRADED, roots=()) -> SubmissionResult:
    tests = [
        batch.TestResult(f"d{k}", float(ok), 1.0, ok, "", "pass" if ok else "fail", f"d{k}" in roots,
                   "factor" if f"d{k}" in roots else None, 10 + k, f"d{k} = 2 * x" if f"d{k}" in roots else None)
        for k, ok in enumerate(passed)
    ]  # fmt: skip
    return SubmissionResult(f"class/{student}", exercise, sum(passed), len(passed), status, "m", tests)


CLASS = [
    result("ann", "exercise1", [True] * 4),
    result("ann", "exercise2", [True]),
    result("ben", "exercise1", [True, False, False, False], roots=("d1", "d2", "d3")),
    result("ben", "exercise2", [True]),
    result("cat", "exercise1", [False] * 4, NOT_SUBMITTED),
    result("cat", "exercise2", [True]),
    result("dan", "exercise1", [True, True, True, False], roots=("d3",)),
]


def test_not_submitted_is_counted_per_student_and_left_out_of_the_statistics():
    view = class_view(CLASS)
    assert view["students"] == 4
    statuses = view["statuses"]
    assert statuses[GRADED] == {"exercise1": 3, "exercise2": 3}
    assert statuses[NOT_SUBMITTED] == {"exercise1": 1, "exercise2": 1}  # cat's file missing; dan has no result
    first = view["exercises"][0]
    assert (first["name"], first["count"], first["not_submitted"]) == ("exercise1", 3, 1)
    assert {v.name: (v.passed, v.total) for v in first["variables"]}["d0"] == (3, 3)  # cat's 0 is not a fail
    assert [m.count for m in view["mistakes"] if m.variable == "d3"] == [2]


def test_each_student_has_a_total_and_the_orders_sort_them():
    view = class_view(CLASS)
    rows = {row["name"]: row for row in view["people"]}
    assert (rows["ben"]["total"], rows["ben"]["max"], rows["ben"]["percent"]) == (2, 5, 40.0)
    assert rows["cat"]["scores"] == {"exercise1": None, "exercise2": 1} and rows["cat"]["missing"] == ["exercise1"]
    assert [r["name"] for r in view["orders"]["by-name"][1]] == ["ann", "ben", "cat", "dan"]
    assert [r["name"] for r in view["orders"]["by-total"][1]] == ["cat", "ben", "dan", "ann"]
    assert [r["name"] for r in view["orders"]["by-roots"][1]][:2] == ["ben", "dan"]


def test_needs_help_names_the_lowest_and_the_most_wrong_lines_with_their_mistakes():
    view = class_view(CLASS)
    helped = {row["name"]: row for row in view["needs_help"]}
    assert list(helped) == ["cat", "ben"]  # 20% (exercise1 not submitted), then 40% with 3 wrong lines
    assert [(m["variable"], m["kind"], m["code"]) for m in helped["ben"]["roots"]][0] == ("d1", "factor", "d1 = 2 * x")
    assert helped["cat"]["missing"] == ["exercise1"]


def test_needs_help_says_why_a_student_without_a_wrong_line_has_no_points():
    """The untouched template reads 0 with no root cause; a crash did not grade: each says why."""
    template = result("eve", "exercise1", [False] * 4)
    for t in template.tests:
        t.status = "missing"
    crashed = result("fay", "exercise1", [False] * 4, status="error")
    crashed.message = "syntax error at line 58: unmatched ')'\nmore"
    helped = {row["name"]: row for row in class_view([*CLASS, template, crashed])["needs_help"]}
    assert helped["eve"]["problems"] == ["exercise1: 4 of 4 not written yet"] and not helped["eve"]["roots"]
    assert helped["fay"]["problems"] == ["exercise1: syntax error at line 58: unmatched ')'"]
    assert helped["ben"]["problems"] == []  # wrong lines are roots, not problems
