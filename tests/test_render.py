"""What people and tools read: the table at 80 columns (a pipe), verdict lines, annotations."""

import json

from rich.console import Console

from ninja.render import github, table
from ninja.results import FUNCTIONS, Report, VarResult


def rendered(report: Report, width: int) -> str:
    console = Console(width=width, no_color=True, record=True, file=open("/dev/null", "w"))
    console.print(table(report, width))
    return console.export_text()


def report(track: str = "makemore") -> Report:
    wrong = VarResult("bndiff2", "fail", (32, 64), (32, 64), False, False, 6.8e-06, 0.5)
    wrong.root_cause, wrong.diagnosis, wrong.diagnosis_kind, wrong.line = (
        True,
        "it is 2 times the right value",
        "factor",
        68,
    )
    later = VarResult("bndiff", "fail", (32, 64), (32, 64), False, False, 3e-05, 0.5)
    later.inherited_from = "bndiff2"
    fine = VarResult("bnmeani", "pass", (1, 64), (64,), False, True, 1e-18, 1e-16, note="only size-1 dims differ, fine")
    return Report("exercise1", [fine, later, wrong], path="ex.py", track=track)


def test_narrow_tables_fit_80_columns_with_notes_underneath():
    text = rendered(report(), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "dbndiff: inherits from dbndiff2" in text and "dbnmeani: only size-1 dims differ, fine" in text
    assert "ex.py:68: dbndiff2 is wrong: it is 2 times the right value" in text
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert rows[0].split()[1] == "dbndiff2"  # the root cause leads


def test_wide_tables_keep_exact_and_notes_in_columns():
    text = rendered(report(), 160)
    assert "exact" in text and "inherits from dbndiff2" in text.split("└")[0]


def test_a_failing_diagnosed_result_is_an_error_never_a_pass():
    """A CS231n named mistake (max-pool `=` for `+=`) fails with a diagnosis."""
    v = VarResult("max_pool_backward_naive.dx", "fail", (2, 3, 4, 4), (2, 3, 4, 4), False, False, 1.0, 1.0)
    v.diagnosis, v.line = "dx[...] = instead of +=", 40
    r = Report("layers", [v], path="layers.py", track="cs231n", labels=FUNCTIONS)
    assert "layers.py:40: max_pool_backward_naive.dx is wrong: dx[...] = instead of +=" in rendered(r, 160)
    notes = github(r)
    assert "::error file=layers.py,line=40,title=max_pool_backward_naive.dx is wrong::" in notes
    assert "passes, but" not in notes and "dmax_pool" not in notes


def test_summary_says_why_a_file_that_stopped_fails():
    from ninja.results import LearnerError

    r = report()
    for v in r.variables:
        v.status, v.root_cause, v.inherited_from = "pass", False, None
    r.error = LearnerError("NameError", "name 'cmp' is not defined", "ex.py", 90)
    assert "3/3 correct: your file stopped at ex.py:90 (NameError)" in rendered(r, 120)


def test_notes_go_under_a_table_that_leaves_them_no_room_and_headers_are_never_cut():
    """CS231n's long names leave a note 8 columns at 100 wide: it goes under the table instead."""
    v = VarResult("spatial_batchnorm_backward.dgamma", "pass", (3,), (1, 3, 1, 1), True, True, 0.0, 0.0)
    v.note = "spatial_batchnorm_backward.dgamma is (3,): only size-1 dims differ, fine"
    r = Report("layers", [v], path="layers.py", track="cs231n", labels=FUNCTIONS)
    at_100 = rendered(r, 100)
    assert "note" not in at_100.split("└")[0] and "dgamma: spatial_batchnorm_backward.dgamma is (3,)" in at_100
    assert "note" in rendered(r, 160).split("└")[0]
    for width in (60, 80):
        text = rendered(report(), width)
        assert "status" in text and max(len(line) for line in text.splitlines()) <= width


def test_a_report_survives_to_dict_and_back_with_its_labels_note_kinds_and_nan():
    """One serialiser: `ninja check --format json` and what watch's child sends are the same data."""
    from ninja.results import FORWARD_CHANGED, LearnerError, Note, from_dict, kind_of, to_dict

    v = VarResult("affine_backward.dx", "fail", (2, 3), (2, 3), False, False, float("nan"), float("inf"))
    v.path, v.line, v.root_cause = "other.py", 12, True
    r = Report("layers", [v], path="layers.py", track="cs231n", labels=FUNCTIONS, scope="affine")
    r.notes = [Note("forward pass changed: x differs", FORWARD_CHANGED), "a plain remark"]
    r.error = LearnerError("NameError", "name 'q' is not defined", "layers.py", 3, "q + 1", None)
    data = to_dict(r)
    assert data["variables"][0]["maxdiff"] == "nan" and data["notes"][1] == "a plain remark"
    back = from_dict(json.loads(json.dumps(data)))
    assert back.labels == FUNCTIONS and back.error == r.error and back.scope == "affine"
    assert [kind_of(n) for n in back.notes] == [FORWARD_CHANGED, "remark"] and back.notes == r.notes
    assert back.variables[0].path == "other.py" and back.variables[0].line == 12
    assert str(back.variables[0].maxdiff) == "nan" and back.variables[0].relerr == float("inf")


def test_github_asks_a_note_its_kind_never_its_words():
    from ninja.results import FORWARD_CHANGED, Note

    r = report()
    r.notes = [Note("bnvar differs from the reference", FORWARD_CHANGED), "forward pass changed: only words"]
    lines = github(r).splitlines()
    assert lines[0].startswith("::error file=ex.py,title=forward pass changed::bnvar differs")
    assert lines[1] == "::notice file=ex.py,title=note::forward pass changed: only words"


def test_the_labels_name_the_results_not_the_track():
    """A report says how its results read; its track is a word for JSON, never asked."""
    v = VarResult("affine_backward.dx", "fail", (2, 3), (2, 3), False, False, 1.0, 1.0)
    v.inherited_from = "affine_forward.out"
    functions = rendered(Report("layers", [v], path="layers.py", track="makemore", labels=FUNCTIONS), 160)
    assert "rel_error" in functions and "exact" not in functions and "daffine" not in functions
    assert "inherits from affine_forward.out" in functions
    gradients = rendered(Report("exercise1", report().variables, track="cs231n"), 160)
    assert "exact" in gradients and "rel_error" not in gradients and "dbndiff2" in gradients
