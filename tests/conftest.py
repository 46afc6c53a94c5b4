import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# pytest-xdist's workers set COLUMNS=80, and rich fixes a Console's width when it is made (ninja's are
# made when ninja.cli is imported): without this, the tests' own COLUMNS would count only when run alone
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)
# and they ignore SIGINT, which the commands they start would inherit: the Ctrl-C tests need it as a terminal gives it
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
NINJA = Path(sys.executable).parent / "ninja"  # the console script, as a user types it


REQUIRE_ALL = "NINJA_CI"  # .ci/run sets it: there a test never skips for want of something outside the repository


def needed(what: str, present: bool, advice: str) -> None:
    """Skip a test that needs something outside the repository (a browser, makemore's own names file)
    where it is not there, so a fresh clone passes; fail instead where NINJA_CI=1, so CI cannot skip
    into green."""
    if present:
        return
    message = f"{what} is not here: {advice}"
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{message} ({REQUIRE_ALL}=1: CI runs every test)")
    pytest.skip(message)


def solution_with(tmp_path: Path, exercise: str, old: str, new: str) -> Path:
    """A copy of solutions/<exercise>.py with one edit: how a learner's mistake looks."""
    source = (ROOT / "solutions" / f"{exercise}.py").read_text()
    assert source.count(old) == 1, f"{old!r} must appear exactly once in the solution"
    path = tmp_path / f"{exercise}.py"
    path.write_text(source.replace(old, new))
    return path


def run_ninja(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = os.environ | {"NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([str(NINJA), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def watch_until_it_passes(workspace: Path, name: str, template: str, solution: str, hint: tuple[str, ...]) -> None:
    """`ninja watch NAME` in a workspace on its template: the h key shows `hint` (lines expected in
    order); saving `solution` over the file (atomically, as editors do) makes it say NAME passes."""
    import pexpect

    (workspace / "exercises").mkdir(exist_ok=True)
    (workspace / "exercises" / f"{name}.py").write_text(template)
    child = pexpect.spawn(
        sys.executable, ["-m", "ninja", "watch", name], cwd=str(workspace), encoding="utf-8", timeout=90,
        dimensions=(60, 200), env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    child.expect_exact("check #1")
    child.expect_exact("h hint · q quit")
    child.send("h")
    for line in hint:
        child.expect_exact(line)
    fresh = workspace / "exercises" / f"{name}.py.tmp~"
    fresh.write_text(solution)
    fresh.replace(workspace / "exercises" / f"{name}.py")
    child.expect_exact(f"{name} passes")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.fixture
def bundled_exercises_only():
    """Loading a course's ninja.toml (course.load) adds its exercises to the registry of this
    process: take them out after each test, so later tests count only the bundled ones."""
    from ninja import registry

    before = dict(registry.EXERCISES)
    yield
    registry.EXERCISES.clear()
    registry.EXERCISES.update(before)


@pytest.fixture
def mistake(tmp_path):
    return lambda exercise, old, new: solution_with(tmp_path, exercise, old, new)


# every test in these runs ninja as a process, grades a class, trains or builds a package: seconds each.
# `pytest -m "not slow"` leaves them out for a quick run; CI (.ci/run) runs everything.
SLOW_MODULES = {
    "test_cli.py",
    "test_course.py",
    "test_exercise4.py",
    "test_grade.py",
    "test_grade_attacks.py",
    "test_grade_report.py",
    "test_learner_notebooks.py",
    "test_learners_day.py",
    "test_cs231n_trees.py",
    "test_watch.py",
    "test_wheel.py",
    "test_clash.py",
    "test_exercise_files.py",
    "test_gpt_engine.py",
    "test_rosters.py",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
