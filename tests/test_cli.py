"""`ninja` as a user types it: a real subprocess, exit codes, table and JSON output."""

import json
import os
import shutil
import subprocess
import sys

from conftest import NINJA, ROOT, run_ninja, solution_with


def test_check_a_solution_passes_with_exit_0():
    r = run_ninja("check", "exercise1", "--file", "solutions/exercise1.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "26/26 correct" in r.stdout and "dlogprobs" in r.stdout


def test_check_finds_exercises_folder_and_template_is_all_missing():
    r = run_ninja("check", "exercise1")
    assert r.returncode == 1
    assert "0/26 correct (26 missing)" in r.stdout


def test_json_output(tmp_path):
    path = solution_with(tmp_path, "exercise1", "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh")
    r = run_ninja("check", "exercise1", "--file", str(path), "--format", "json", "--seed", "5", "--batch-size", "20")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["exercise"] == "exercise1" and out["passed"] is False and out["notes"] == []
    by_name = {v["name"]: v for v in out["variables"]}
    assert list(by_name)[0] == "logprobs" and len(by_name) == 26
    assert by_name["h"]["status"] == "pass" and by_name["hpreact"]["status"] == "fail"
    assert by_name["hpreact"]["shape"] == by_name["hpreact"]["expected_shape"] == [20, 64]
    assert by_name["hpreact"]["maxdiff"] > 0 and by_name["hpreact"]["approx"] is False


def test_a_crashing_file_is_a_result_with_file_and_line(tmp_path):
    path = solution_with(tmp_path, "exercise1", "dh = dlogits @ W2.T", "dh = dlogits @ W2")
    r = run_ninja("check", "exercise1", "--file", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    line = path.read_text().splitlines().index("dh = dlogits @ W2") + 1
    assert f"{path}:{line}: RuntimeError" in r.stdout
    assert "8/26 correct" in r.stdout


def test_syntax_error_is_a_result(tmp_path):
    path = solution_with(tmp_path, "exercise2", "dlogits /= n", "dlogits /= n)")
    r = run_ninja("check", "exercise2", "--file", str(path))
    assert r.returncode == 1 and "SyntaxError" in r.stdout and "Traceback" not in r.stderr


def test_usage_errors_exit_2_without_traceback(tmp_path):
    unknown = run_ninja("check", "exercise9")
    assert unknown.returncode == 2 and "Did you mean" in unknown.stderr and "exercise1" in unknown.stderr
    missing = run_ninja("check", "exercise1", "--file", str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    (tmp_path / "bad.txt").write_text("zoë\n" * 20, encoding="utf-8")
    bad_data = run_ninja("check", "exercise1", "--data", str(tmp_path / "bad.txt"))
    assert bad_data.returncode == 2 and "outside a-z" in bad_data.stderr
    for r in (unknown, missing, bad_data):
        assert "Traceback" not in r.stdout + r.stderr


def test_list_shows_progress_of_each_exercise(tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "exercise1.py").write_text((ROOT / "exercises" / "exercise1.py").read_text())
    (tmp_path / "exercises" / "exercise2.py").write_text((ROOT / "solutions" / "exercise2.py").read_text())
    r = run_ninja("list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[1]: line for line in r.stdout.splitlines() if "exercise" in line and "│" in line}
    assert "not started" in rows["exercise1"] and "passed" in rows["exercise2"] and "no file" in rows["exercise3"]


def test_the_file_runs_on_its_own_and_checks_itself():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "solutions/exercise3.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0 and "1/1 correct" in r.stdout


def test_both_console_scripts_and_version():
    """`ninja --version` asked by a program is the build system's when one is on PATH (see
    test_buildninja.py); with none, and from `backprop-ninja` always, it is ours."""
    import os
    import subprocess

    from conftest import NINJA

    alone = os.environ | {"PATH": str(NINJA.parent)}
    for script in (NINJA, NINJA.parent / "backprop-ninja"):
        r = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, env=alone)
        assert r.returncode == 0 and r.stdout.startswith("backprop-ninja "), script


def test_more_usage_errors_say_what_to_do():
    as_path = run_ninja("check", "exercises/exercise1.py")
    assert as_path.returncode == 2 and "exercise1 --file exercises/exercise1.py" in as_path.stderr
    huge_seed = run_ninja("check", "exercise1", "--seed", "99999999999999999999")
    assert huge_seed.returncode == 2 and "--seed must be" in huge_seed.stderr
    over = run_ninja("grade", "somewhere", "--fail-under", "150")
    assert over.returncode == 2 and "--fail-under" in over.stderr
    for r in (as_path, huge_seed, over):
        assert "Traceback" not in r.stdout + r.stderr


# ---- the learner's day, hardened (issue 15) ---------------------------------------------------


def test_timeout_stops_an_endless_file_at_its_line(tmp_path):
    path = tmp_path / "exercise2.py"
    source = (ROOT / "solutions" / "exercise2.py").read_text()
    path.write_text(source.replace("dlogits /= n\n", "import time\nwhile True:\n    time.sleep(0.01)\ndlogits /= n\n"))
    line = path.read_text().splitlines().index("    time.sleep(0.01)") + 1
    r = run_ninja("check", "exercise2", "--file", str(path), "--timeout", "1")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert f"{path}:{line}: TimedOut: still running after --timeout 1 s: stopped here" in r.stdout
    assert "0/1 correct (1 error)" in r.stdout  # stopped before `dlogits /= n`: no answer, so no false diagnosis
    assert "times too big" not in r.stdout
    hinted = run_ninja("hint", "exercise2", "--file", str(path), "--timeout", "1")
    assert hinted.returncode == 0 and "TimedOut" in hinted.stdout and "fix that first" in hinted.stdout
    assert run_ninja("check", "exercise2", "--file", str(path), "--timeout", "0").returncode == 2


def test_a_slow_file_shows_it_runs_on_stderr_in_a_terminal_only(tmp_path):
    import os
    import sys

    import pexpect

    path = tmp_path / "exercise2.py"
    source = (ROOT / "solutions" / "exercise2.py").read_text()
    path.write_text(source.replace("dlogits /= n\n", "import time\ntime.sleep(2.5)\ndlogits /= n\n"))
    child = pexpect.spawn(
        sys.executable, ["-m", "ninja", "check", "exercise2", "--file", str(path)], cwd=str(ROOT),
        env=os.environ | {"NO_COLOR": "1"}, encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect_exact(f"running {path} at line")
    child.expect_exact("(Ctrl-C stops it)")
    child.expect_exact("1/1 correct")
    child.expect(pexpect.EOF)
    piped = run_ninja("check", "exercise2", "--file", str(path))
    assert piped.returncode == 0 and "running" not in piped.stdout + piped.stderr


def test_from_inside_the_workspace_its_files_are_found(tmp_path):
    assert run_ninja("init", "ws", cwd=tmp_path).returncode == 0
    deeper = tmp_path / "ws" / "exercises"
    r = run_ninja("check", "exercise2", cwd=deeper)
    assert r.returncode == 1 and "0/1 correct (1 missing)" in r.stdout
    (tmp_path / "ws" / "notes").mkdir()
    assert "0/1 correct" in run_ninja("check", "exercise2", cwd=tmp_path / "ws" / "notes").stdout
    (deeper / "exercise2.py").unlink()
    missing = run_ninja("check", "exercise2", cwd=deeper)
    assert missing.returncode == 2 and "cannot read exercise2.py: No such file or directory" in missing.stderr
    assert "ninja reset exercise2" in missing.stderr and "ninja init" not in missing.stderr
    assert run_ninja("reset", "exercise2", cwd=deeper).returncode == 0
    (deeper / "exercise3.py").unlink()
    assert run_ninja("init", cwd=deeper).returncode == 0  # fills the workspace it is in
    assert (deeper / "exercise2.py").is_file() and (deeper / "exercise3.py").is_file()
    assert not (deeper / "exercises").exists()  # nothing nested
    nowhere = run_ninja("check", "exercise2", cwd=tmp_path)
    assert nowhere.returncode == 2 and "create a workspace here with `ninja init`" in nowhere.stderr


def test_messages_keep_their_brackets_and_say_why(tmp_path):
    odd = tmp_path / "my[1].py"
    r = run_ninja("check", "exercise1", "--file", str(odd))
    assert r.returncode == 2 and f"cannot read {odd}: No such file or directory" in r.stderr
    folder = run_ninja("check", "exercise1", "--file", str(tmp_path))
    assert folder.returncode == 2 and f"{tmp_path} is a folder: give a file" in folder.stderr
    points = tmp_path / "bad2.toml"
    points.write_text("[foo]\nx = 1\n")
    graded = run_ninja("grade", str(tmp_path), "--config", str(points))
    assert graded.returncode == 2
    assert "[foo] is not an exercise with a points table (e.g. [exercise1.points])" in graded.stderr
    assert "[default: the workspace you are in, else .]" in run_ninja("init", "--help").stdout


def test_a_file_where_the_exercise_goes_gets_advice_that_works(tmp_path):
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    r = run_ninja("check", "exercise1.py", cwd=tmp_path)
    assert r.returncode == 2 and "found without naming it: ninja check exercise1" in r.stderr
    (tmp_path / "mine.py").write_text("")
    r = run_ninja("check", "exercises/exercise1.py", cwd=tmp_path)
    assert "name its exercise: ninja check exercise1 --file exercises/exercise1.py" in r.stderr


def test_the_program_says_the_name_it_was_called_by(tmp_path):
    alias = str(NINJA.parent / "backprop-ninja")
    env = os.environ | {"NO_COLOR": "1"}
    usage = subprocess.run([alias, "check"], capture_output=True, text=True, env=env, timeout=120)
    assert usage.returncode == 2 and "backprop-ninja check" in usage.stderr and "'ninja " not in usage.stderr
    helped = subprocess.run([alias, "check", "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert "Example: backprop-ninja check exercise1" in helped.stdout
    grouped = subprocess.run([alias, "dev", "check", "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert "Example: backprop-ninja dev check attention.py" in grouped.stdout  # a group's commands too
    # the completion script (what --install-completion writes; asked for directly, as --show-completion
    # detects the shell from the process tree, which a test run may not have)
    asked = env | {"_BACKPROP_NINJA_COMPLETE": "source_bash"}
    script = subprocess.run([alias], capture_output=True, text=True, env=asked, timeout=120, stdin=subprocess.DEVNULL)
    assert "_BACKPROP_NINJA_COMPLETE=complete_bash" in script.stdout
    assert "complete -o default -F _backprop_ninja_completion backprop-ninja" in script.stdout
    made = subprocess.run([alias, "init", "with space"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert "cd 'with space' && backprop-ninja check exercise1" in made.stdout


def test_a_syntax_error_is_one_message_with_its_line(tmp_path):
    path = solution_with(tmp_path, "exercise1", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = (")
    r = run_ninja("check", "exercise1", "--file", str(path))
    assert r.returncode == 1 and "SyntaxError: '(' was never closed" in r.stdout
    assert "│" not in r.stdout and len(r.stdout.splitlines()) <= 4  # no table of 26 `error` rows


def test_every_exercise_passed_says_so_in_list(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "exercises")
    r = run_ninja("list", cwd=tmp_path)
    assert "Every exercise passes" in r.stdout and "picks up where you are" not in r.stdout


def test_a_malformed_notebook_says_it_is_no_notebook(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text('{"cells": 5, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    r = run_ninja("check", "exercise1", "--file", str(path))
    assert r.returncode == 2 and "not laid out as a Jupyter notebook" in r.stderr


def test_the_exercise4_template_run_alone_says_what_is_missing(tmp_path):
    r = subprocess.run(
        [sys.executable, "exercises/exercise4.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert r.returncode == 1 and "forward_backward returns None for dC, dW1" in r.stderr
    assert "Traceback" not in r.stderr
