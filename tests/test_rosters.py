"""Rosters and gradebooks, through the CLI: Canvas's flat "Download Submissions" folder and one zip
per student graded as submissions; a roster's students with nothing handed in scored 0, not
submitted; the Canvas, Gradescope and Moodle gradebooks as those platforms import them."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import NINJA, ROOT

from ninja.grade import layouts

SOLUTION = (ROOT / "solutions" / "exercise1.py").read_text()
WRONG = SOLUTION.replace("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)")
ROSTER = """id,email,name,canvas_id,section
S001,alice@uni.edu,Alice Smith,12345,A
S002,bob@uni.edu,Bob Jones,23456,A
S003,cy@uni.edu,Cy Lee,34567,B
S004,dan@uni.edu,Dan Wu,45678,B
"""


def ninja(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([str(NINJA), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


@pytest.fixture(scope="module")
def canvas_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("canvas")
    flat = root / "submissions"
    flat.mkdir()
    (flat / "smithalice_12345_5678_exercise1.py").write_text(SOLUTION)
    (flat / "jonesbob_LATE_23456_6789_exercise1.py").write_text(WRONG)
    (flat / "leecy_34567_7890_exercise1-1.py").write_text(SOLUTION)  # Canvas's name for a resubmission
    (root / "roster.csv").write_text(ROSTER)
    outs = ["canvas:canvas.csv", "gradescope-scores:scores.csv", "moodle:moodle.csv", "gradebook:book.csv",
            "all.json", "report.html"]  # fmt: skip
    done = ninja("grade", flat, "-e", "exercise1", "--roster", "roster.csv", "--seed", "3", "--jobs", "2",
                 *[a for out in outs for a in ("--out", out)], cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


def test_canvas_flat_download_is_one_submission_per_student(canvas_class):
    results = json.loads((canvas_class / "all.json").read_text())
    by = {Path(r["submission"]).name: (r["score"], r["status"]) for r in results}
    wrong = by["jonesbob_23456"][0]
    assert by == {"smithalice_12345": (26, "graded"), "jonesbob_23456": (wrong, "graded"),
                  "leecy_34567": (26, "graded"), "Dan Wu": (0, "not submitted")}  # fmt: skip
    assert 0 < wrong < 26


def test_the_canvas_gradebook_has_its_id_columns_and_points_possible(canvas_class):
    table = rows(canvas_class / "canvas.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "backprop"]
    assert table[1] == ["Points Possible", "", "", "", "", "26"]
    students = {row[0]: row for row in table[2:]}
    assert students["Alice Smith"] == ["Alice Smith", "12345", "S001", "", "A", "26"]
    assert students["Dan Wu"] == ["Dan Wu", "45678", "S004", "", "B", "0"]  # on the roster, nothing handed in
    assert len(students) == 4


def test_gradescope_and_moodle_gradebooks_match_by_email(canvas_class):
    scores = rows(canvas_class / "scores.csv")
    assert scores[0] == ["Name", "SID", "Email", "Total Score"]
    assert ["Dan Wu", "S004", "dan@uni.edu", "0"] in scores and ["Cy Lee", "S003", "cy@uni.edu", "26"] in scores
    moodle = rows(canvas_class / "moodle.csv")
    assert moodle[0] == ["ID number", "Email address", "Full name", "backprop", "Feedback"]
    dan = next(row for row in moodle if row[0] == "S004")
    assert dan[1:4] == ["dan@uni.edu", "Dan Wu", "0"] and "not submitted" in dan[4]
    book = rows(canvas_class / "book.csv")
    assert book[0][:3] == ["student", "id", "email"] and [r[0] for r in book[1:]] == [
        "Alice Smith", "Bob Jones", "Cy Lee", "Dan Wu"]  # fmt: skip


def test_the_report_counts_the_roster_student_who_handed_nothing_in(canvas_class):
    html = (canvas_class / "report.html").read_text()
    assert 'data-students="4"' in html
    row = html[html.index('<tr data-status="not submitted">') :].split("</tr>")[0]
    assert 'data-exercise="exercise1" data-count="1"' in row


def test_a_roster_without_its_columns_is_a_usage_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "exercise1.py").write_text(SOLUTION)
    (tmp_path / "roster.csv").write_text("student,mail\nalice,a@b\n")
    done = ninja("grade", "sub", "--roster", "roster.csv", cwd=tmp_path)
    assert done.returncode == 2 and "has no column id, email, name" in done.stderr and "Traceback" not in done.stderr


# ---- one zip per student ---------------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return path


def test_one_zip_per_student_is_read_safely(tmp_path):
    zips = tmp_path / "zips"
    zips.mkdir()
    make_zip(zips / "alice.zip", {"exercise1.py": SOLUTION.encode()})
    make_zip(zips / "bob.zip", {"hw4/exercise1.py": WRONG.encode(), "__MACOSX/hw4/._exercise1.py": b"\0"})
    make_zip(zips / "climber.zip", {"../../escaped.py": b"print('out')", "exercise1.py": SOLUTION.encode()})
    make_zip(zips / "linker.zip", {"exercise1.py": SOLUTION.encode()}, links=("notes.py",))
    make_zip(zips / "bomb.zip", {"exercise1.py": b"#" * (3 * 2**20)})
    done = ninja("grade", "zips", "-e", "exercise1", "--format", "json", "--seed", "3", "--jobs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    by = {Path(r["submission"]).name: r for r in json.loads(done.stdout)}
    assert list(by) == ["alice.zip", "bob.zip", "bomb.zip", "climber.zip", "linker.zip"]
    assert by["alice.zip"]["score"] == 26 and 0 < by["bob.zip"]["score"] < 26
    for name, says in (("climber.zip", "points outside the archive"), ("linker.zip", "is a link or a device"),
                       ("bomb.zip", "compressed 200x or more")):  # fmt: skip
        assert by[name]["score"] == 0 and says in by[name]["message"], by[name]["message"]
    assert not list(tmp_path.rglob("escaped.py")) and not (tmp_path.parent / "escaped.py").exists()


def test_a_zip_past_the_caps_or_not_a_zip_is_refused(tmp_path):
    many = make_zip(tmp_path / "many.zip", {f"f{k}.py": b"x = 1\n" for k in range(layouts.MAX_MEMBERS + 1)})
    with pytest.raises(layouts.LayoutError, match="files, over the"):
        layouts.stage_zip(many)
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(layouts.LayoutError, match="is not a zip"):
        layouts.stage_zip(tmp_path / "fake.zip")
    os.symlink(many, tmp_path / "link.zip")
    with pytest.raises(layouts.LayoutError, match="symbolic link"):
        layouts.stage_zip(tmp_path / "link.zip")
