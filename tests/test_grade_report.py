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
    """The JSON and the report from one run, and the terminal's summary."""
    done = grade(klass, "--format", "json", "--out", "results.json", "--report", "report.html")
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
    rows = {Path(r["submission"]).name: r for r in csv.DictReader(io.StringIO(grade(klass, "--format", "csv").stdout))}
    assert rows["dee"]["message"].startswith(says) and rows["jo"]["message"].startswith(flag)
    suites = ET.fromstring(grade(klass, "--format", "junit").stdout.split("\n", 1)[-1])
    for student, first in (("dee", says), ("jo", flag)):
        suite = next(s for s in suites if s.get("name").endswith(f"{student} exercise1"))
        assert {e.get("message")[: len(first)] for e in suite.iter("error")} == {first}
    scope = json.loads(grade(klass, "--format", "gradescope").stdout)
    assert f"exercise1: {says}" in scope["output"] and f"exercise1: {flag}" in scope["output"]


def test_the_gradebook_has_one_row_per_student_a_column_per_exercise_and_a_total(klass, graded):
    rows = list(csv.DictReader(io.StringIO(grade(klass, "--format", "gradebook").stdout)))
    assert [r["student"] for r in rows] == list(CLASS)
    assert list(rows[0]) == ["student", "exercise1", "exercise2", "exercise3", "total", "max_total", "percent", "notes"]
    by = {r["student"]: r for r in rows}
    assert (by["eve"]["exercise1"], by["eve"]["exercise2"], by["eve"]["total"], by["eve"]["max_total"]) == (
        "26",
        "1",
        "28",
        "28",
    )
    assert (by["ada"]["total"], by["ada"]["notes"]) == ("26", "exercise2: not handed in; exercise3: not handed in")
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


def test_the_report_renders_in_chromium_and_its_numbers_equal_the_json(klass, graded):
    _, results, _ = graded
    page = klass / "report.html"
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must need no network"
    dom = browse(page, "--dump-dom")
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    seen = Attributes()
    seen.feed(dom.stdout)

    text = dict(re.findall(r'data-status="(\w+)">(\d+)<', dom.stdout))
    assert {a["data-status"] for a in seen.having("data-status")} == {"graded", "error", "timeout", "flagged"}
    flagged = sum(any(line.startswith("audit: ") for line in r["message"].splitlines()) for r in results)
    assert flagged == 1 and graded[0]["jo", "exercise1"]["message"].startswith("audit: scored 0")
    assert {k: int(v) for k, v in text.items()} == {
        s: sum(r["status"] == s for r in results) for s in ("graded", "error", "timeout")
    } | {"flagged": flagged}
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
