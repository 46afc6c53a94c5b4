"""`ninja` as a user types it: a real subprocess, exit codes, table and JSON output."""

import json

from conftest import ROOT, run_ninja, solution_with


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
