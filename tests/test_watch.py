"""`ninja watch` in a real pseudo-terminal: edit the file, see the new result, ask for a hint,
go on to the next exercise, quit."""

import queue
import shutil
import sys
import threading
import time
from pathlib import Path

import pexpect
import pytest

from ninja.watch import is_python_file, poll_saves, polling_reason, watch_saves

ROOT = Path(__file__).resolve().parent.parent


SPAWNED: list = []  # every watch a test starts, closed after it whatever the test did


@pytest.fixture(autouse=True)
def no_watch_outlives_its_test():
    yield
    while SPAWNED:
        SPAWNED.pop().close(force=True)


def start_watch(workspace: Path, *args):
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ninja", "watch", *args],
        cwd=str(workspace),
        encoding="utf-8",
        timeout=60,
        dimensions=(60, 200),
        env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "PYTHONPATH": str(ROOT)},
    )
    SPAWNED.append(child)
    return child


def save(path: Path, text: str):
    """Save the way editors do: write a new file, then rename it over the old one."""
    fresh = path.with_name(path.name + ".tmp~")
    fresh.write_text(text)
    fresh.replace(path)


def test_watch_rechecks_on_save_hints_offers_the_next_exercise_and_quits(tmp_path):
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    template = (ROOT / "exercises" / "exercise2.py").read_text()
    (exercises / "exercise2.py").write_text(template)
    child = start_watch(tmp_path, "exercise2")
    child.expect_exact("check #1")
    child.expect_exact("h hint · q quit")

    child.send("h")
    child.expect_exact("hint 1/3 for dlogits")

    solution = (ROOT / "solutions" / "exercise2.py").read_text()
    save(exercises / "exercise2.py", solution.replace("dlogits /= n", "dlogits /= 2 * n"))
    child.expect_exact("0/1 correct")
    child.expect_exact("check #2")

    save(exercises / "exercise2.py", solution)
    child.expect_exact("exercise2 passes")
    child.expect_exact("Press n to go on to exercise3")
    child.expect_exact("check #3")
    assert not (exercises / "exercise3.py").exists()  # offered, never started by itself

    child.send("n")
    child.expect_exact("check #4")
    child.expect_exact("exercise3")
    assert (exercises / "exercise3.py").read_text() == (ROOT / "exercises" / "exercise3.py").read_text()

    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_watch_polls_with_poll(tmp_path):
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    shutil.copy(ROOT / "exercises" / "exercise2.py", exercises)
    child = start_watch(tmp_path, "exercise2", "--poll")
    child.expect_exact("check #1")
    child.expect_exact("polling: asked for with --poll")
    time.sleep(0.5)  # a person does not save within a poll interval of starting
    (exercises / "exercise2.py").write_text((ROOT / "solutions" / "exercise2.py").read_text())
    child.expect_exact("exercise2 passes")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")


def test_network_file_systems_are_polled(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nC:\\134 /mnt/c 9p rw 0 0\nserver:/home /net/home nfs4 rw 0 0\n")
    assert polling_reason(Path("/mnt/c/Users/me/exercises"), str(mounts)).endswith(
        "on a 9p file system, which sends no file events"
    )
    assert "nfs4" in polling_reason(Path("/net/home/me"), str(mounts))
    assert polling_reason(Path("/home/me/exercises"), str(mounts)) is None


def test_saving_a_helper_beside_the_exercise_rechecks_it(tmp_path):
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    solution = (ROOT / "solutions" / "exercise2.py").read_text()
    assert "dlogits /= n\n" in solution
    (exercises / "exercise2.py").write_text(
        solution.replace("dlogits /= n\n", "from bnhelp import batch_size\ndlogits /= batch_size(n)\n")
    )
    (exercises / "bnhelp.py").write_text("def batch_size(n):\n    return 2 * n\n")
    child = start_watch(tmp_path, "exercise2")
    child.expect_exact("0/1 correct")
    child.expect_exact("check #1")
    save(exercises / "bnhelp.py", "def batch_size(n):\n    return n\n")
    child.expect_exact("exercise2 passes")  # the recheck imported the helper afresh
    child.expect_exact("check #2")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def wait_for_saves(watcher, tmp_path: Path, *args) -> list:
    """Start a watcher on tmp_path, then write a note, an editor's temporary copy and a helper module:
    the saves it reports."""
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watcher, args=(tmp_path, *args, events, stop), daemon=True)
    thread.start()
    time.sleep(0.5)  # ready
    (tmp_path / "notes.txt").write_text("not code")
    (tmp_path / "exercise1.py.tmp~").write_text("half saved")
    (tmp_path / ".#exercise1.py").write_text("emacs lock")
    (tmp_path / "bnhelp.py").write_text("x = 1\n")
    try:
        kind, paths = events.get(timeout=10)
    finally:
        stop.set()
        thread.join(5)
    assert kind == "saved"
    return paths


@pytest.mark.parametrize("watcher, args", [(poll_saves, ()), (watch_saves, (is_python_file,))])
def test_any_python_file_in_the_folder_is_a_save_and_nothing_else_is(tmp_path, watcher, args):
    assert set(wait_for_saves(watcher, tmp_path, *args)) == {str(tmp_path / "bnhelp.py")}


def test_watch_a_notebook_with_file_and_go_on_within_it(tmp_path):
    """--file my.ipynb: a save of the notebook rechecks; n goes on to exercise2 in the same notebook."""
    sys.path.insert(0, str(Path(__file__).parent))
    import karpathy_notebook as kn

    wrong = kn.backward_lines().replace("dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh")
    path = kn.write(tmp_path / "backprop.ipynb", kn.notebook(wrong))
    child = start_watch(tmp_path, "exercise1", "--file", str(path))
    child.expect_exact("dhpreact is wrong")
    child.expect_exact("check #1")
    kn.write(tmp_path / "saved.ipynb")
    (tmp_path / "saved.ipynb").replace(path)  # saved as editors do
    child.expect_exact("exercise1 passes")
    child.expect_exact("check #2")
    child.send("n")
    child.expect_exact("exercise2 passes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop.ipynb"]  # no exercise2.py made
    child.send("q")
    child.expect(pexpect.EOF)


def test_watch_file_needs_the_exercise_named(tmp_path):
    child = start_watch(tmp_path, "--file", "x.ipynb")
    child.expect_exact("name the exercise too")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


# ---- never dies, never freezes (issue 15) ----------------------------------------------------

ENDLESS = "import os\nopen('started', 'w').write(str(os.getpid()))\nwhile True:\n    pass\n"


def workspace_with(tmp_path: Path, text: str) -> Path:
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    path = exercises / "exercise2.py"
    path.write_text(text)
    return path


def gone(pid: int) -> bool:
    """The process is no more (or a zombie waiting for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def test_a_file_that_vanishes_is_waited_for_and_checked_when_it_is_back(tmp_path):
    path = workspace_with(tmp_path, (ROOT / "solutions" / "exercise2.py").read_text())
    child = start_watch(tmp_path, "exercise2")
    child.expect_exact("exercise2 passes")
    child.expect_exact("check #1")
    path.rename(tmp_path / "stashed.py")  # git stash, a checkout
    child.expect_exact("is not there")
    child.expect_exact("waiting for it to come back")
    (tmp_path / "stashed.py").rename(path)
    child.expect_exact("exercise2 passes")
    child.expect_exact("check #2")
    shutil.rmtree(path.parent)  # the whole folder goes (a checkout of a branch without it) and comes back
    child.expect_exact("waiting for it to come back")
    path.parent.mkdir()
    path.write_text((ROOT / "solutions" / "exercise2.py").read_text())
    child.expect_exact("check #3")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Traceback" not in child.before


def test_an_endless_file_says_it_runs_and_a_saved_fix_restarts_the_check(tmp_path):
    path = workspace_with(tmp_path, ENDLESS)
    child = start_watch(tmp_path, "exercise2")
    child.expect_exact("running your file exercises/exercise2.py")
    child.expect_exact("(q to stop; a save restarts the check)")
    first = int((tmp_path / "started").read_text())
    child.send("n")  # not before it passes: it says why
    child.expect_exact("n goes on to exercise3 once exercise2 passes")
    save(path, (ROOT / "solutions" / "exercise2.py").read_text())
    child.expect_exact("exercise2 passes")
    child.expect_exact("check #1")
    deadline = time.time() + 10
    while not gone(first) and time.time() < deadline:
        time.sleep(0.05)
    assert gone(first)  # the endless check was stopped, not left spinning
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_q_during_a_run_quits_at_once_and_stops_it(tmp_path):
    workspace_with(tmp_path, ENDLESS)
    child = start_watch(tmp_path, "exercise2")
    child.expect_exact("running your file")
    pid = int((tmp_path / "started").read_text())
    started = time.monotonic()
    child.send("q")
    child.expect(pexpect.EOF)
    assert time.monotonic() - started < 2
    child.close()
    assert child.exitstatus == 0
    deadline = time.time() + 10
    while not gone(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert gone(pid)


def test_ctrl_c_quits_watch_with_130(tmp_path):
    workspace_with(tmp_path, ENDLESS)
    child = start_watch(tmp_path, "exercise2")
    child.expect_exact("running your file")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and "Traceback" not in child.before


def test_at_80_columns_watch_lays_out_like_check(tmp_path):
    solution = (ROOT / "solutions" / "exercise1.py").read_text()
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    wrong = solution.replace("dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh")
    (exercises / "exercise1.py").write_text(wrong)
    child = pexpect.spawn(
        sys.executable, ["-m", "ninja", "watch", "exercise1"], cwd=str(tmp_path), encoding="utf-8", timeout=60,
        dimensions=(200, 80), env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    SPAWNED.append(child)
    child.expect_exact("check #1")
    screen = child.before
    child.expect_exact("quit")
    child.send("q")
    child.expect(pexpect.EOF)
    header = next(line for line in screen.splitlines() if "variable" in line)
    assert "exact" not in header and "note" not in header  # as check at 80 columns
    assert "dhpreact is wrong" in screen
    table_rows = [line for line in screen.splitlines() if line.startswith("│")]
    assert len(table_rows) == 26  # one row each: no note wrapped in a narrow column


def test_a_check_that_kills_its_own_process_is_a_result(tmp_path):
    """forked: a child that ends without a result (os._exit, a signal) is a report that says so."""
    from ninja import forked
    from ninja.registry import find
    from ninja.settings import Settings

    exercise = find("exercise2")
    for text, words in (
        ("import os\nos._exit(0)\n", "ended the check's process"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "killed by SIGSEGV"),
    ):
        path = tmp_path / "exercise2.py"
        path.write_text(text)
        plan = forked.plan(exercise, path)
        child = forked.start(exercise, plan, Settings())
        report = forked.report_of(exercise, plan, Settings(), *forked.wait(child))
        assert not report.passed and words in report.error.message


def test_the_h_key_shows_the_hint_ninja_hint_prints_for_a_cs231n_function(tmp_path):
    """watch's hint is hint's: CS231n hints are per function, and `h` on affine_backward.dx shows
    affine_backward's (it once said "no hint written yet")."""
    from rich.console import Console

    from ninja.hint import hint_text
    from ninja.registry import EXERCISES, find
    from ninja.results import FUNCTIONS, Report, VarResult
    from ninja.settings import Settings
    from ninja.watch import Session

    layers = find("layers")
    wrong = VarResult("affine_backward.dx", "fail", (2, 3), (2, 3), False, False, 1.0, 1.0, root_cause=True)
    session = Session(list(EXERCISES.values()), layers, tmp_path / "layers.py", Settings())
    session.report = Report("layers", [wrong], path="layers.py", track="cs231n", labels=FUNCTIONS)
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    for level in (1, 2, 3, 4):
        session.hint_level = level
        console.print(session.screen())
        shown = console.export_text()
        assert hint_text(layers, "affine_backward.dx", level) in shown and "no hint" not in shown
        assert ("h again for more" in shown) == (level < 3)
    assert hint_text(layers, "affine_backward.dx", 1).startswith("hint 1/3 for affine_backward.dx")
