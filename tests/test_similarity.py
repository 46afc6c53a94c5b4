"""--similarity: pairs whose backward is the same up to names, comments, whitespace and line order,
on a class of honest exercise 1 solutions in varied styles (tests/honest_class.py) and copies."""

from __future__ import annotations

import csv
import itertools
import os
import subprocess
import sys
from pathlib import Path

from conftest import NINJA

sys.path.insert(0, str(Path(__file__).parent))
import honest_class as hc  # noqa: E402

from ninja.grade import similarity  # noqa: E402

HONEST = 12
COPIED = {0: "ann", 5: "bo", 9: "cy"}  # student k's file, copied by a classmate who hid it


def the_class() -> dict[str, str]:
    sources = {f"h{k:02d}": hc.honest(k) for k in range(HONEST)}
    sources.update({f"copy-of-{k}": hc.copy_of(k, tag) for k, tag in COPIED.items()})
    return sources


def test_no_honest_pair_is_flagged_and_every_copy_is():
    pairs = similarity.similar_pairs("exercise1", the_class(), hc.TEMPLATE)
    flagged = {frozenset((p.a, p.b)) for p in pairs}
    copies = {frozenset((f"h{k:02d}", f"copy-of-{k}")) for k in COPIED}
    assert flagged == copies
    honest_pairs = len(list(itertools.combinations(range(HONEST), 2)))
    assert honest_pairs == 66  # the figure in docs/instructor.md: 0 of 66 honest pairs flagged


def test_a_copy_is_the_same_up_to_names_comments_and_order_but_not_the_same_text():
    original, copy = hc.honest(5), hc.copy_of(5, "bo")
    assert original != copy and "_bo" in copy and "# bo" in copy
    keep = similarity.template_names(hc.TEMPLATE)
    a = similarity.program("a", original, hc.TEMPLATE, keep)
    b = similarity.program("b", copy, hc.TEMPLATE, keep)
    assert sorted(s.tokens for s in a.statements) == sorted(s.tokens for s in b.statements)
    assert [s.tokens for s in a.statements] != [s.tokens for s in b.statements]  # lines reordered


def test_the_templates_own_lines_are_left_out():
    keep = similarity.template_names(hc.TEMPLATE)
    assert similarity.program("t", hc.TEMPLATE, hc.TEMPLATE, keep).statements == []
    own = similarity.program("h", hc.honest(1), hc.TEMPLATE, keep).statements
    assert own and all(s.line > hc.HEADER.count("\n") for s in own)  # only the backward, below the forward
    names = {tok for s in own for tok in s.tokens}
    assert {"dprobs", "torch", "sum"} <= names  # the notebook's names, torch's, attributes stay


def test_ninja_grade_similarity_writes_the_pairs_side_by_side_and_the_report_lists_them(tmp_path):
    for name, text in list(the_class().items())[:5] + [("copy-of-0", hc.copy_of(0, "ann"))]:
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "exercise1.py").write_text(text)
    env = os.environ | {"NO_COLOR": "1"}
    done = subprocess.run([str(NINJA), "grade", *sorted(str(p) for p in (tmp_path / "class").iterdir()),
                           "--similarity", "pairs.csv", "--out", "report.html", "--jobs", "2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "similarity: 1 pairs flagged" in done.stderr
    rows = list(csv.DictReader((tmp_path / "pairs.csv").open()))
    assert {(r["student_a"], r["student_b"]) for r in rows} == {("copy-of-0", "h00")}
    assert len(rows) >= 20 and all(float(r["score"]) >= similarity.SCORE for r in rows)
    renamed = [r for r in rows if "_ann" in r["code_a"]]  # the copier's names beside the original's
    assert renamed and all(r["code_a"].replace("_ann", "") == r["code_b"] for r in renamed)
    html = (tmp_path / "report.html").read_text()
    assert 'data-pair="copy-of-0|h00"' in html and 'id="similar-pairs"' in html


def test_every_file_of_the_class_is_a_right_answer(tmp_path):
    for name, text in the_class().items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "exercise1.py").write_text(text)
    done = subprocess.run([str(NINJA), "grade", *sorted(str(p) for p in tmp_path.iterdir()), "--format", "csv",
                           "--jobs", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    scores = [row["score"] for row in csv.DictReader(done.stdout.splitlines())]
    assert scores == ["26"] * (HONEST + len(COPIED))
