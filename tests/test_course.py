"""`ninja course init DIR` through the CLI, and the course it writes run end to end: the student
starter's workflow command in the starter, the autograder's run_autograder on a fake /autograder
tree, both with the solution-free copy of backprop-ninja the course ships."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import NINJA, ROOT

SOLUTIONS = {p.name: p.read_text() for p in (ROOT / "solutions").glob("*.py")}
# a line only the solutions hold (the templates have `dlogprobs = None  # TODO`)
SOLUTION_LINE = "dlogprobs[range(n), Yb] = -1.0 / n"


def run(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = os.environ | {"NO_COLOR": "1", "COLUMNS": "200"} | (env or {})
    return subprocess.run([str(a) for a in args], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


def with_package(copy: Path) -> dict:
    """Run `ninja` from the course's own copy of backprop-ninja (what its pip install puts first)."""
    return {"PYTHONPATH": str(copy)}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course") / "backprop-course"
    done = run(NINJA, "course", "init", root, "--exercises", "exercise1,exercise2", cwd=root.parent)
    assert done.returncode == 0, done.stderr
    toml = root / "ninja.toml"
    text = toml.read_text().replace('"dC" = 1', '"dC" = 3').replace("timeout = 60", "timeout = 5")
    toml.write_text(text)
    again = run(NINJA, "course", "init", root, cwd=root.parent)  # rebuilt from the edited ninja.toml
    assert again.returncode == 0 and f"read  {toml}" in again.stdout, again.stderr
    return root


def test_course_init_writes_the_starter_and_the_autograder(course):
    student, autograder = course / "student", course / "autograder"
    assert sorted(p.name for p in (student / "exercises").iterdir()) == ["exercise1.py", "exercise2.py"]
    for path in ("README.md", "ninja.toml", ".github/workflows/grade.yml", ".backprop-ninja/pyproject.toml"):
        assert (student / path).is_file(), path
    assert '"dC" = 3' in (student / "ninja.toml").read_text()
    for path in ("setup.sh", "run_autograder", "ninja.toml"):
        assert (autograder / path).is_file() and os.access(autograder / path, os.R_OK)
    assert os.access(autograder / "run_autograder", os.X_OK) and os.access(autograder / "setup.sh", os.X_OK)
    with zipfile.ZipFile(course / "autograder.zip") as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder", "ninja.toml"} <= set(names)
        assert (z.getinfo("run_autograder").external_attr >> 16) & 0o111  # still executable once unzipped
        wheel = next(n for n in names if n.startswith("backprop_ninja-") and n.endswith(".whl"))
        assert f"/autograder/source/{wheel}" in z.read("setup.sh").decode()


def test_no_solution_anywhere_in_what_students_or_the_autograder_get(course):
    files = [p for p in course.rglob("*") if p.is_file() and p.suffix != ".zip"]
    assert len(files) > 50
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert SOLUTION_LINE not in text, path
        assert not any(text == solution for solution in SOLUTIONS.values()), path
    with zipfile.ZipFile(course / "autograder.zip") as z:
        assert all(SOLUTION_LINE.encode() not in z.read(name) for name in z.namelist())
        assert not [n for n in z.namelist() if "solutions" in n]


def test_ninja_solution_in_the_students_copy_says_where_solutions_come_from(course):
    student = course / "student"
    done = run(NINJA, "solution", "exercise1", "--force", cwd=student, env=with_package(student / ".backprop-ninja"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "carries no solutions" in done.stderr and "from your instructor" in done.stderr


def workflow_command(workflow: Path) -> str:
    """The run: line of the workflow's grading step, as GitHub Actions would run it."""
    text = workflow.read_text()
    step = text[text.index("- name: Grade") :]
    return re.search(r"run: (.+)", step).group(1)


def test_the_starters_workflow_command_grades_on_push(course, tmp_path):
    student = course / "student"
    command = workflow_command(student / ".github" / "workflows" / "grade.yml")
    assert command == "backprop-ninja grade exercises --course --format github"
    (student / "exercises" / "exercise1.py").write_text(SOLUTIONS["exercise1.py"])  # the student's work
    env = with_package(student / ".backprop-ninja") | {"GITHUB_OUTPUT": str(tmp_path / "out"),
                                                      "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}  # fmt: skip
    word, *args = command.split()
    done = run(NINJA.parent / word, *args, cwd=student, env=env)  # the console script pip puts on PATH
    assert done.returncode == 0, done.stderr
    # exercise1 right (28 with dC at 3 points), exercise2 still the template
    assert done.stdout.splitlines()[-1] == "::notice title=Autograding complete::Points 28/29"
    assert "score=28\nmax-score=29" in (tmp_path / "out").read_text()
    assert "### exercise2: 0/1" in (tmp_path / "summary.md").read_text()


def fake_autograder(course: Path, root: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(course / "autograder.zip") as z:
        z.extractall(root / "source")
    for path in root.joinpath("source").rglob("*"):  # zipfile drops the modes: as Gradescope's unzip keeps them
        if path.name in ("run_autograder", "setup.sh"):
            path.chmod(0o755)
    (root / "results").mkdir()
    for name, text in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    return root


def test_run_autograder_grades_a_submission_on_a_fake_autograder_tree(course, tmp_path):
    root = fake_autograder(course, tmp_path / "autograder", {"Exercise1.py": SOLUTIONS["exercise1.py"],
                                                              "exercise2.py": "while True:\n    pass\n"})  # fmt: skip
    env = with_package(root / "source" / ".backprop-ninja") | {"NINJA_GRADESCOPE_ROOT": str(root), "NINJA": str(NINJA)}
    done = run(root / "source" / "run_autograder", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 28 and sum(t["max_score"] for t in results["tests"]) == 29
    assert "note: graded Exercise1.py as exercise1.py" in results["output"]
    assert "exercise2: timed out after 5 s" in results["output"]  # ninja.toml's timeout


def test_grade_reads_ninja_toml_and_a_wrong_one_is_a_usage_error(course, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "exercise1.py").write_text(SOLUTIONS["exercise1.py"])
    (tmp_path / "ninja.toml").write_text((course / "ninja.toml").read_text())
    done = run(NINJA, "grade", "sub", "--format", "gradebook", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header == "student,exercise1,exercise2,total,max_total,percent,notes"
    assert row == "sub,28,0,28,29,96.6,exercise2: no exercise2.py in the submission (it holds exercise1.py)"
    for bad, says in (('[course]\nexercises = ["exercise9"]\n', "names 'exercise9'"),
                      ("[course]\ntimeout = -1\n", "course.timeout must be above 0"),
                      ('[course]\ncredit = "lines"\n', 'course.credit is "value" or "local"'),
                      ("[course]\nbogus = 1\n", "[course] has no setting bogus")):  # fmt: skip
        (tmp_path / "ninja.toml").write_text(bad)
        done = run(NINJA, "grade", "sub", cwd=tmp_path)
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert run(NINJA, "course", "init", tmp_path / "sub" / "exercise1.py", cwd=tmp_path).returncode == 2
    done = run(NINJA, "course", "init", course, "--exercises", "exercise3", cwd=tmp_path)
    assert done.returncode == 2 and "already chooses the exercises" in done.stderr


def wheel_files(source: Path, into: Path, flag: str = "") -> list[str]:
    """Build a wheel of `source` as pip does, and list what it holds."""
    done = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", into, source,
               cwd=into.parent, env={"NINJA_WITHOUT_SOLUTIONS": flag})  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = into.glob("backprop_ninja-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_a_wheel_for_students_leaves_the_solutions_out(course, tmp_path):
    built = {
        "with": wheel_files(ROOT, tmp_path / "with"),
        "without": wheel_files(ROOT, tmp_path / "without", "1"),
        "course copy": wheel_files(course / "student" / ".backprop-ninja", tmp_path / "copy"),
    }
    every = len(list((ROOT / "solutions").glob("*.py")))  # one template and one solution per exercise
    assert every == len(list((ROOT / "exercises").glob("*.py"))) >= 6
    for name, solutions in (("with", every), ("without", 0), ("course copy", 0)):
        assert sum("ninja/_bundled/solutions/" in n for n in built[name]) == solutions, name
        assert sum("ninja/_bundled/exercises/" in n for n in built[name]) == every, name
    assert all("ninja/grade/templates/report.html.j2" in files for files in built.values())  # the report ships


def test_a_students_repository_cloned_from_the_starter_is_graded_from_its_root(course, tmp_path):
    repo = tmp_path / "alice-backprop"
    shutil.copytree(course / "student", repo)
    (repo / "exercises" / "exercise1.py").write_text(SOLUTIONS["exercise1.py"])
    done = run(NINJA, "grade", repo, "--config", repo / "ninja.toml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scores = {r["exercise"]: (r["score"], r["message"].splitlines()[0]) for r in json.loads(done.stdout)}
    assert scores == {"exercise1": (28, "26/26 gradients correct"), "exercise2": (0, "0/1 gradients correct")}


# ---- hints by the course's rule ------------------------------------------------------------------

BESSEL_DROPPED = SOLUTIONS["exercise3.py"].replace("n / (n - 1) * bnraw", "bnraw")
BATCHNORM_FORMULA = "bnvar_inv / n * (direct * n * g"  # mistakes.py's right formula, with knobs


def level_three_openings() -> list[str]:
    """The first words of every level-3 hint (the rule): no file a student gets may hold them."""
    from ninja.registry import EXERCISES

    return [words[2][:40] for ex in EXERCISES.values() for words in ex.hints.values() if len(words[2]) >= 40]


def test_the_students_install_stops_at_the_courses_hint_level(course, tmp_path):
    student = course / "student"
    env = with_package(student / ".backprop-ninja")
    done = run(NINJA, "hint", "exercise3", "hprebn", "--level", "3", cwd=student, env=env)
    assert done.returncode == 0 and "hint 2/3 for dhprebn" in done.stdout, done.stderr
    assert "stop at level 2" in done.stdout and "Σ" not in done.stdout
    full = run(NINJA, "hint", "exercise3", "hprebn", "--level", "3", cwd=tmp_path)  # an ordinary install
    assert "hint 3/3 for dhprebn" in full.stdout and "Σ_i(g ⊙ bnraw)" in full.stdout
    openings = level_three_openings()
    assert len(openings) > 40
    for path in [p for p in course.rglob("*.py") if ".backprop-ninja" in p.parts]:
        text = path.read_text(encoding="utf-8")
        assert not [o for o in openings if o in text], path
        assert BATCHNORM_FORMULA not in text, path
    assert BATCHNORM_FORMULA in (ROOT / "ninja" / "makemore" / "mistakes.py").read_text()  # the guard still bites


def test_below_level_three_the_named_mistakes_are_left_out_and_checking_still_works(course, tmp_path):
    student = course / "student"
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "exercise3.py").write_text(BESSEL_DROPPED)
    full = run(NINJA, "check", "exercise3", cwd=tmp_path)
    assert full.returncode == 1 and "Bessel" in full.stdout, full.stdout
    copy = run(NINJA, "check", "exercise3", cwd=tmp_path, env=with_package(student / ".backprop-ninja"))
    assert copy.returncode == 1 and "Traceback" not in copy.stderr, copy.stderr
    assert "dhprebn" in copy.stdout and "Bessel" not in copy.stdout


def test_hints_zero_turns_them_off_and_a_wrong_level_is_refused(tmp_path):
    root = tmp_path / "quiet"
    root.mkdir()
    (root / "ninja.toml").write_text('[course]\nexercises = ["exercise2"]\nhints = 0\n')
    assert run(NINJA, "course", "init", root, cwd=tmp_path).returncode == 0
    student = root / "student"
    done = run(NINJA, "hint", "exercise2", "logits", cwd=student, env=with_package(student / ".backprop-ninja"))
    assert done.returncode == 0 and done.stdout.strip() == "hints are off in this course", done.stdout
    for bad in ("4", "-1", "true", '"2"'):
        (root / "ninja.toml").write_text(f'[course]\nexercises = ["exercise2"]\nhints = {bad}\n')
        done = run(NINJA, "course", "init", root, cwd=tmp_path)
        assert done.returncode == 2 and "course.hints is a level from 0" in done.stderr, done.stderr


# ---- Gradescope visibility ----------------------------------------------------------------------


def test_visibility_per_course_and_per_exercise_goes_into_results_json(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "exercise1.py").write_text(SOLUTIONS["exercise1.py"])
    (tmp_path / "ninja.toml").write_text(
        '[course]\nexercises = ["exercise1", "exercise2"]\nvisibility = "after_published"\n'
        '[exercise2]\nvisibility = "after_due_date"\n[exercise2.points]\ndlogits = 4\n'
    )
    done = run(NINJA, "grade", "sub", "--out", "gradescope:results.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["visibility"] == "after_published"
    seen = {t["name"].split(":")[0]: t["visibility"] for t in results["tests"]}
    assert seen == {"exercise1": "after_published", "exercise2": "after_due_date"}
    assert [t["max_score"] for t in results["tests"] if t["name"].startswith("exercise2")] == [4]
    for bad in ('[course]\nvisibility = "secret"\n', '[exercise1]\nvisibility = "later"\n'):
        (tmp_path / "ninja.toml").write_text(bad)
        done = run(NINJA, "grade", "sub", cwd=tmp_path)
        assert done.returncode == 2 and "visible, hidden, after_due_date, after_published" in done.stderr


# ---- GitHub Classroom: the workflow trusts nothing in the student's repository ---------------------------


def install_step(workflow: str) -> str:
    return workflow[workflow.index("- name: Install") : workflow.index("- name: Grade")]


def test_the_workflow_installs_a_pinned_release_and_never_from_the_students_repository(course, tmp_path):
    text = (course / "student" / ".github" / "workflows" / "grade.yml").read_text()
    assert "the course has no release URL yet" in install_step(text) and "exit 1" in install_step(text)
    toml = course / "ninja.toml"
    saved = toml.read_text()
    try:
        toml.write_text(
            saved.replace("[course]", '[course]\nrelease = "https://github.com/prof/course/releases/download/v1"')
        )
        assert run(NINJA, "course", "init", course, cwd=course.parent).returncode == 0
        text = (course / "student" / ".github" / "workflows" / "grade.yml").read_text()
        (wheel,) = (course / "release").glob("backprop_ninja-*.whl")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        step = install_step(text)
        assert (
            f"backprop-ninja @ https://github.com/prof/course/releases/download/v1/{wheel.name}#sha256={digest}" in step
        )
        assert "./" not in step and ".backprop-ninja" not in step and "--no-deps" in step
        assert re.search(r"torch==\d", step) and re.search(r"numpy==\d", step)
        setup = (course / "autograder" / "setup.sh").read_text()
        pins = [w for line in setup.splitlines() if "pip install" in line for w in shlex.split(line)[4:]]
        allowed = ("--", "https://", "/autograder/source/")
        assert pins and all("==" in w or w.startswith(allowed) or "python_version" in w for w in pins), pins
        assert (course / "autograder" / wheel.name).read_bytes() == wheel.read_bytes()
    finally:
        toml.write_text(saved)
        run(NINJA, "course", "init", course, cwd=course.parent)


def test_the_student_wheel_installs_with_its_hash_and_carries_the_course(course, tmp_path):
    (wheel,) = (course / "release").glob("backprop_ninja-*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target"]
    wrong = run(*pip, tmp_path / "bad", f"backprop-ninja @ {wheel.as_uri()}#sha256={'0' * 64}", cwd=tmp_path)
    assert wrong.returncode != 0 and "sha256" in (wrong.stderr + wrong.stdout).lower()
    done = run(*pip, tmp_path / "site", f"backprop-ninja @ {wheel.as_uri()}#sha256={digest}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    assert (site / "ninja" / "_bundled" / "course.toml").read_text() == (course / "ninja.toml").read_text()
    assert not list(site.rglob("solutions"))
    listed = run(sys.executable, "-m", "ninja", "list", cwd=course / "student", env={"PYTHONPATH": str(site)})
    assert listed.returncode == 0, listed.stderr
    names = re.findall(r"^[│|] (exercise\w+)", listed.stdout, re.M)
    assert names == ["exercise1", "exercise2"], listed.stdout  # the course's, not every bundled exercise


def test_editing_the_students_ninja_toml_changes_no_score(course, tmp_path):
    repo = tmp_path / "mallory"
    shutil.copytree(course / "student", repo)
    (repo / "exercises" / "exercise1.py").write_text(SOLUTIONS["exercise1.py"])
    (repo / "ninja.toml").write_text('[course]\nexercises = ["exercise1"]\n[exercise1.points]\ndC = 100\n')
    env = with_package(repo / ".backprop-ninja")
    done = run(NINJA, "grade", "exercises", "--course", "--format", "github", cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "::notice title=Autograding complete::Points 28/29"
    alone = run(NINJA, "grade", "exercises", "--course", cwd=repo)  # an install that carries no course
    assert alone.returncode == 2 and "this install carries none" in alone.stderr


def test_the_student_readme_sets_up_a_virtual_environment(course):
    readme = (course / "student" / "README.md").read_text()
    steps = ("python3 -m venv .venv", ". .venv/bin/activate", "pip install --index-url")
    assert [readme.index(step) for step in steps] == sorted(readme.index(step) for step in steps)


def test_the_deadline_command_grades_every_clone_by_the_instructors_course(course, tmp_path):
    done = run(NINJA, "course", "deadline", course, "--clones", tmp_path / "repos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "a student can edit any workflow in their own repository" in done.stdout
    command = next(line for line in done.stdout.splitlines() if line.startswith("ninja grade "))
    clones = tmp_path / "repos" / "hw4-submissions"
    for student, text in (("hw4-alice", SOLUTIONS["exercise1.py"]), ("hw4-mallory", "dC = None\n")):
        shutil.copytree(course / "student", clones / student)
        (clones / student / "exercises" / "exercise1.py").write_text(text)
    mallory = clones / "hw4-mallory"
    (mallory / "ninja.toml").write_text('[course]\nexercises = ["exercise2"]\n[exercise2.points]\ndlogits = 0\n')
    (mallory / ".github" / "workflows" / "grade.yml").write_text("run: echo Points 69/69\n")
    graded = subprocess.run(command.replace("ninja grade", f"{NINJA} grade", 1), shell=True, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert graded.returncode == 0, graded.stderr
    book = {row["student"]: row for row in csv.DictReader((tmp_path / "grades.csv").open())}
    assert (book["hw4-alice"]["total"], book["hw4-alice"]["max_total"]) == ("28", "29")
    assert (book["hw4-mallory"]["total"], book["hw4-mallory"]["max_total"]) == ("0", "29")
    assert (course / "results" / "hw4-alice" / "results.json").is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace and a chroot need root")
def test_gradescope_in_a_chroot_at_autograder():
    done = run(sys.executable, ROOT / "bench" / "gradescope_chroot.py", cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("\nok   ") + done.stdout.startswith("ok   ") == 5 and "FAIL" not in done.stdout


def test_the_student_wheel_is_byte_for_byte_the_same_each_build(course, tmp_path):
    from ninja.grade import release

    copy = course / "student" / ".backprop-ninja"
    first = release.build_wheel(copy, tmp_path / "a", ["numpy==2.0.0"]).read_bytes()
    assert release.build_wheel(copy, tmp_path / "b", ["numpy==2.0.0"]).read_bytes() == first
    (wheel,) = (course / "release").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        record = z.read(next(n for n in z.namelist() if n.endswith("RECORD"))).decode()
        assert all(name in record for name in z.namelist())  # every file hashed in RECORD, as pip checks


def test_a_courses_own_exercise_file_is_handed_out_without_hints_above_the_level(tmp_path):
    root = tmp_path / "own"
    root.mkdir()
    rule = "THE RULE OF RSTD: drstd = (diff * dxhat).sum(1, keepdim=True) in full."
    words = "features, so sum over them and keep the column."
    text = (ROOT / "tests" / "fixtures" / "exercises" / "ln_gelu.py").read_text()
    (root / "ln_gelu.py").write_text(text.replace(f'"{words}",\n', f'"{words}",\n        "{rule}",\n'))
    (root / "ninja.toml").write_text(
        '[course]\nexercises = ["ln_gelu"]\nhints = 1\n\n[exercises.ln_gelu]\nfile = "ln_gelu.py"\n'
    )
    assert run(NINJA, "course", "init", root, cwd=tmp_path).returncode == 0
    handed = [p for p in root.rglob("ln_gelu.py") if p.parent != root]
    assert len(handed) >= 3  # the student's, the autograder's, the installs', the templates
    assert all(rule not in p.read_text() and words not in p.read_text() for p in handed)
    student = root / "student"
    done = run(
        NINJA, "hint", "ln_gelu", "rstd", "--level", "3", cwd=student, env=with_package(student / ".backprop-ninja")
    )
    assert "hint 1/3 for drstd" in done.stdout and "stop at level 1" in done.stdout, done.stdout + done.stderr
