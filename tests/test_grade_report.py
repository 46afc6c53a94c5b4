"""The instructor's side of `ninja grade`, through the CLI: a class folder as students hand it in
(right, wrong, broken, a notebook, near names, a duplicate), graded into every format; the class
report opened in a real headless Chromium; --credit local; GitHub Actions feedback."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import NINJA, ROOT, needed

sys.path.insert(0, str(Path(__file__).parent))
import karpathy_notebook as kn  # noqa: E402

SOLUTION = (ROOT / "solutions" / "exercise1.py").read_text()
SLIP = ("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)")  # Bessel's n-1 dropped: one line wrong
WRONG = SOLUTION.replace(*SLIP)
SLIP_LINE = next(i for i, line in enumerate(WRONG.splitlines(), 1) if line.startswith("dbndiff2 = (1.0 / n)"))
BROKEN = SOLUTION.replace("dh = dlogits @ W2.T", "dh = dlogits @@ W2.T")
BROKEN_LINE = next(i for i, line in enumerate(BROKEN.splitlines(), 1) if "@@" in line)
SEED = "11"

# student folder -> {file name: text}; None: Karpathy's notebook, answered right
CLASS = {
    "ada": {"exercise1.py": SOLUTION},
    "bob": {"exercise1.py": WRONG},
    "cy": {"exercise1.py": WRONG},
    "dee": {"exercise1.py": BROKEN},
    "eve": {"makemore_part4_backprop.ipynb": None},
    "fay": {"Exercise1.py": SOLUTION},
    "gus": {"hw/exercise1 (1).py": SOLUTION},
    "hal": {"exercise_1.py": SOLUTION},
    "ivy": {"Exercise1.py": SOLUTION, "exercise_1.py": WRONG},
    "jo": {"exercise1.py": SOLUTION + "\nimport gc\ngc.collect()\n"},  # flagged by the audit
}


def ninja(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = os.environ | {"NO_COLOR": "1", "COLUMNS": "200"} | (env or {})
    return subprocess.run([str(NINJA), *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("klass")
    for student, files in CLASS.items():
        for name, text in files.items():
            path = root / "submissions" / student / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if text is None:
                kn.write(path, kn.notebook())
            else:
                path.write_text(text)
    return root


def grade(klass: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    folders = [f"submissions/{student}" for student in CLASS]
    done = ninja("grade", *folders, "--seed", SEED, "--jobs", "2", *args, cwd=klass, env=env)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def graded(klass):
    """Every output from one run (the JSON, the report, CSV, JUnit, gradebook), and the terminal's summary."""
    outs = ("json:results.json", "report.html", "results.csv", "junit.xml", "gradebook:gradebook.csv", "summary.md",
            "gradescope:scope")  # fmt: skip
    done = grade(klass, *[arg for out in outs for arg in ("--out", out)])
    results = json.loads((klass / "results.json").read_text())
    return {(Path(r["submission"]).name, r["exercise"]): r for r in results}, results, done.stdout


# ---- 1. submissions as students hand them in --------------------------------------------------------


def test_a_notebook_is_graded_for_every_exercise_whose_cells_it_holds(graded):
    by, _, _ = graded
    assert (by["eve", "exercise1"]["score"], by["eve", "exercise1"]["max_score"]) == (26, 26)
    assert by["eve", "exercise2"]["score"] == 1 and by["eve", "exercise3"]["score"] == 1
    assert "note: graded the notebook makemore_part4_backprop.ipynb" in by["eve", "exercise1"]["message"]
    assert ("eve", "exercise4") not in by  # Karpathy's training loop is not exercise 4's file


@pytest.mark.parametrize(
    "student, name", [("fay", "Exercise1.py"), ("gus", "hw/exercise1 (1).py"), ("hal", "exercise_1.py")]
)
def test_near_names_are_taken_with_a_note_naming_the_file(graded, student, name):
    r = graded[0][student, "exercise1"]
    assert (r["status"], r["score"]) == ("graded", 26), r["message"]
    assert f"note: graded {name} as exercise1.py" in r["message"]


def test_two_candidates_for_one_exercise_is_an_error_naming_both(graded):
    r = graded[0]["ivy", "exercise1"]
    assert (r["status"], r["score"]) == ("error", 0)
    assert r["message"].startswith("2 candidates for exercise1 in the submission (Exercise1.py, exercise_1.py)")


# ---- 3. the gradebook, and messages that say what happened ------------------------------------------


def test_every_format_says_what_happened_on_its_first_line(klass, graded):
    says = f"syntax error at line {BROKEN_LINE}: invalid syntax"
    assert graded[0]["dee", "exercise1"]["message"].startswith(says)
    assert all(says in t["output"] for t in graded[0]["dee", "exercise1"]["tests"] if not t["passed"])
    flag = "audit: scored 0: the source does what a hand-written backward never needs"
    assert graded[0]["jo", "exercise1"]["message"].startswith(flag)
    rows = {Path(r["submission"]).name: r for r in csv.DictReader(io.StringIO((klass / "results.csv").read_text()))}
    assert rows["dee"]["message"].startswith(says) and rows["jo"]["message"].startswith(flag)
    suites = ET.fromstring((klass / "junit.xml").read_text().split("\n", 1)[-1])
    for student, first in (("dee", says), ("jo", flag)):
        suite = next(s for s in suites if s.get("name").endswith(f"{student} exercise1"))
        assert {e.get("message")[: len(first)] for e in suite.iter("error")} == {first}
    for student, first in (("dee", says), ("jo", flag)):  # one results.json per submission
        scope = json.loads((klass / "scope" / student / "results.json").read_text())
        assert f"exercise1: {first}" in scope["output"]
    assert sorted(p.parent.name for p in (klass / "scope").glob("*/results.json")) == sorted(CLASS)


def test_the_gradebook_has_one_row_per_student_a_column_per_exercise_and_a_total(klass, graded):
    rows = list(csv.DictReader(io.StringIO((klass / "gradebook.csv").read_text())))
    assert [r["student"] for r in rows] == list(CLASS)
    assert list(rows[0]) == ["student", "exercise1", "exercise2", "exercise3", "total", "max_total", "percent", "notes"]
    by = {r["student"]: r for r in rows}
    assert (by["eve"]["exercise1"], by["eve"]["exercise2"], by["eve"]["total"], by["eve"]["max_total"]) == (
        "26",
        "1",
        "28",
        "28",
    )
    assert (by["ada"]["total"], by["ada"]["notes"]) == ("26", "exercise2: not submitted; exercise3: not submitted")
    wrong = graded[0]["bob", "exercise1"]["score"]
    assert by["bob"]["exercise1"] == by["bob"]["total"] == str(wrong) and 0 < wrong < 26
    assert by["dee"]["notes"].startswith(f"exercise1: syntax error at line {BROKEN_LINE}")


# ---- 2. the class view ---------------------------------------------------------------------------


def test_the_terminal_summary_names_the_most_common_mistakes(graded):
    mistakes = [line for line in graded[2].splitlines() if line.startswith("most common:")]
    line = WRONG.splitlines()[SLIP_LINE - 1].split("#")[0].strip()
    assert mistakes[0] == f"most common: exercise1 dbndiff2 (factor), 2 submissions: {line}"
    assert len(mistakes) <= 3


class Attributes(HTMLParser):
    """Every element's tag and attributes, as the browser's DOM holds them."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def having(self, key: str) -> list[dict]:
        return [attrs for _, attrs in self.elements if key in attrs]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    needed("Chromium", bool(found), "apt-get install -y chromium (.ci/run installs it) to run this test")
    return found


def browse(page: Path, *how: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="ninja-chromium-")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"]  # fmt: skip
    try:
        return subprocess.run([chromium(), *flags, *how, page.as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def statuses(dom: str) -> dict[str, dict[str, int]]:
    """The status table: status -> exercise -> students."""
    table = dom[dom.index('id="statuses"') : dom.index("</table>", dom.index('id="statuses"'))]
    counts: dict[str, dict[str, int]] = {}
    for row in re.findall(r'<tr data-status="([^"]+)">(.*?)</tr>', table, re.S):
        cells = re.findall(r'data-exercise="(\w+)" data-count="(\d+)"', row[1])
        counts[row[0]] = {e: int(n) for e, n in cells}
    return counts


def test_the_report_renders_in_chromium_and_its_numbers_equal_the_json(klass, graded):
    _, results, _ = graded
    page = klass / "report.html"
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must need no network"
    dom = browse(page, "--dump-dom")
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    seen = Attributes()
    seen.feed(dom.stdout)

    assert [a["data-status"] for a in seen.having("data-status")] == [
        "graded", "error", "timeout", "not submitted", "flagged"]  # fmt: skip
    flagged = sum(any(line.startswith("audit: ") for line in r["message"].splitlines()) for r in results)
    assert flagged == 1 and graded[0]["jo", "exercise1"]["message"].startswith("audit: scored 0")
    counts = statuses(dom.stdout)  # students, not results: each column adds up to the class
    for exercise in ("exercise1", "exercise2", "exercise3"):
        handed = {Path(r["submission"]).name: r["status"] for r in results if r["exercise"] == exercise}
        expected = {s: sum(v == s for v in handed.values()) for s in ("graded", "error", "timeout")}
        expected["not submitted"] = len(CLASS) - len(handed)
        assert {s: counts[s][exercise] for s in expected} == expected, exercise
        assert sum(counts[s][exercise] for s in expected) == len(CLASS)
    assert counts["flagged"]["exercise1"] == 1 and counts["not submitted"]["exercise2"] == len(CLASS) - 1
    assert seen.having("data-students")[0]["data-students"] == str(len(CLASS))
    assert "isolation" in html

    rows = seen.having("data-row")
    assert [(Path(a["data-submission"]).name, a["data-exercise"], float(a["data-score"])) for a in rows] == [
        (Path(r["submission"]).name, r["exercise"], float(r["score"])) for r in results
    ]
    ids = {a["id"] for _, a in seen.elements if "id" in a}
    assert all(f"s{k}" in ids for k in range(1, len(results) + 1))  # every score links to its feedback

    for table in seen.having("data-variable"):
        name = table["data-variable"]
        tests = [t for r in results if r["exercise"] == "exercise1" for t in r["tests"] if t["name"] == name]
        if tests and int(table["data-total"]) == len(tests):
            assert int(table["data-passed"]) == sum(t["passed"] for t in tests), name
    rates = [a for a in seen.having("data-variable")][:26]
    assert rates[0]["data-variable"] in ("dbndiff2", "dbndiff", "dbnvar")  # worst first: the slip and below
    assert [int(a["data-passed"]) for a in rates] == sorted(int(a["data-passed"]) for a in rates)

    roots = {}
    for r in results:
        for t in r["tests"]:
            if t["root_cause"] and not t["passed"]:
                key = f"{r['exercise']}/{t['name']}/{t['kind']}"
                roots[key] = roots.get(key, 0) + 1
    assert {a["data-mistake"]: int(a["data-count"]) for a in seen.having("data-mistake")} == roots
    assert roots["exercise1/dbndiff2/factor"] == 2
    kinds = {}
    for key, count in roots.items():
        kinds[key.rsplit("/", 1)[1]] = kinds.get(key.rsplit("/", 1)[1], 0) + count
    assert {a["data-kind"]: int(a["data-count"]) for a in seen.having("data-kind")} == kinds

    rates2 = [a for a in seen.having("data-variable") if a["data-variable"] == "dlogits"]
    assert [a["data-total"] for a in rates2] == ["10", "1"]  # exercise2: only eve's; the rest are left out

    orders = {a["data-order"]: a for a in seen.having("data-order")}
    assert list(orders) == ["by-roots", "by-total", "by-name"]  # by name last: shown unless another is chosen
    rows = seen.having("data-student")
    assert len(rows) == 3 * len(CLASS)
    by_roots, by_total, by_name = rows[: len(CLASS)], rows[len(CLASS) : 2 * len(CLASS)], rows[2 * len(CLASS) :]
    assert [a["data-student"] for a in by_name] == sorted(CLASS)
    totals = {a["data-student"]: float(a["data-total"]) for a in by_name}
    assert totals == {student: sum(r["score"] for r in results if Path(r["submission"]).name == student)
                      for student in CLASS}  # fmt: skip
    assert [float(a["data-percent"]) for a in by_total] == sorted(float(a["data-percent"]) for a in by_total)
    assert [int(a["data-roots"]) for a in by_roots] == sorted((int(a["data-roots"]) for a in by_roots), reverse=True)
    helped = [a["data-help"] for a in seen.having("data-help")]
    assert set(helped) == {"dee", "ivy", "jo"}  # the 0s; bob's and cy's one slip leaves them above 60%
    assert float(seen.having("data-help")[0]["data-percent"]) == min(float(a["data-percent"]) for a in by_name)

    bars = [a for a in seen.having("data-bin")]
    assert sum(int(a["data-count"]) for a in bars[:11]) == sum(r["exercise"] == "exercise1" for r in results)

    shot = klass / "report.png"
    done = browse(page, f"--screenshot={shot}", "--window-size=1200,2000")
    assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]


# ---- 5. credit by line ---------------------------------------------------------------------------


def test_credit_local_costs_one_line_for_one_slip_and_says_so(klass, graded):
    by_value = graded[0]["bob", "exercise1"]
    assert by_value["score"] < 25 and "credit by value" in by_value["message"]
    local = ninja("grade", "submissions/bob", "--seed", SEED, "--credit", "local", "--format", "json", cwd=klass)
    (r,) = json.loads(local.stdout)
    assert r["score"] == 25 and r["message"].startswith(f"25/26 gradients earn their points ({by_value['score']} right")
    assert "credit by line (--credit local)" in r["message"]
    dbndiff = next(t for t in r["tests"] if t["name"] == "dbndiff")
    assert dbndiff["passed"] and dbndiff["status"] == "fail" and "earns its points by line" in dbndiff["output"]
    assert not next(t for t in r["tests"] if t["name"] == "dbndiff2")["passed"]


# ---- 6. feedback where the student looks ------------------------------------------------------------


def test_github_format_annotates_the_lines_writes_the_job_summary_and_classroom_score(klass, graded):
    summary, outputs = klass / "summary.md", klass / "outputs.txt"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    done = ninja(
        "grade", "submissions/bob", "submissions/dee", "--seed", SEED, "--format", "github", cwd=klass, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"::error file=submissions/bob/exercise1.py,line={SLIP_LINE},title=dbndiff2 is wrong::" in "\n".join(lines)
    assert any(line.startswith(f"::error file=submissions/dee/exercise1.py,line={BROKEN_LINE},") for line in lines)
    score = graded[0]["bob", "exercise1"]["score"]
    assert lines[-1] == f"::notice title=Autograding complete::Points {score}/52"
    table = summary.read_text()
    assert (
        "| `dbndiff2` | 0/1 | root cause | dbndiff2: fail" in table and "### submissions/dee exercise1: 0/26" in table
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    result = json.loads(base64.b64decode(values["result"]))
    assert result["max_score"] == 52 and sum(t["score"] for t in result["tests"]) == score == int(values["score"])
    assert result["status"] == "error" and {t["status"] for t in result["tests"]} == {"pass", "fail", "error"}


def test_gradescope_mode_grades_a_notebook_submission(tmp_path):
    (tmp_path / "submission").mkdir()
    kn.write(tmp_path / "submission" / "makemore_part4_backprop.ipynb", kn.notebook())
    (tmp_path / "results").mkdir()
    done = ninja("grade", "--gradescope", "--seed", SEED, cwd=tmp_path, env={"NINJA_GRADESCOPE_ROOT": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 28 and len(results["tests"]) == 28  # exercises 1, 2 and 3 from one notebook
    assert "exercise1: 26/26 gradients correct" in results["output"]


def test_one_run_writes_every_output_and_they_agree(klass, graded):
    by, results, _ = graded
    total = sum(r["score"] for r in results)
    rows = list(csv.DictReader(io.StringIO((klass / "gradebook.csv").read_text())))
    assert sum(float(r["total"]) for r in rows) == total
    assert sum(float(r["score"]) for r in csv.DictReader(io.StringIO((klass / "results.csv").read_text()))) == total
    suites = ET.fromstring((klass / "junit.xml").read_text().split("\n", 1)[-1])
    assert len(suites) == len(results)
    assert f"### submissions/bob exercise1: {by['bob', 'exercise1']['score']}/26" in (klass / "summary.md").read_text()


@pytest.mark.parametrize(
    "out, says",
    [("grades.txt", "cannot tell the format of --out grades.txt"), ("nope:grades.csv", "no format named 'nope'")],
)
def test_an_out_of_no_known_format_is_refused_before_anyone_is_graded(klass, out, says):
    done = ninja("grade", "submissions/ada", "--out", out, cwd=klass)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "gradebook" in done.stderr and not (klass / "grades.txt").exists()


def test_gradescope_over_several_submissions_is_one_results_json_each_and_never_one_sum(klass, graded):
    by, _, _ = graded
    eve = json.loads((klass / "scope" / "eve" / "results.json").read_text())
    assert eve["score"] == 28 == sum(by["eve", e]["score"] for e in ("exercise1", "exercise2", "exercise3"))
    assert {t["visibility"] for t in eve["tests"]} == {"visible"} and eve["visibility"] == "visible"
    done = ninja("grade", "submissions/ada", "submissions/bob", "--format", "gradescope", cwd=klass)
    assert done.returncode == 2 and "one results.json per submission" in done.stderr, done.stderr
    done = ninja("grade", "--gradescope", "submissions/ada", "submissions/bob", cwd=klass)
    assert done.returncode == 2 and "--gradescope grades $NINJA_GRADESCOPE_ROOT/submission" in done.stderr
