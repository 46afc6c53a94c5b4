"""The runner reads and runs learners' files the way Python would, and a file that cannot run is
a result with its line, never a crash of ninja."""

import os
import time

from conftest import run_ninja, solution_with

from ninja.registry import find
from ninja.runner import run_file


def test_not_utf8_is_a_syntax_error_result(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b'x = "\xe9"\n')
    run = run_file(path)
    assert run.error.kind == "SyntaxError" and "UTF-8" in run.error.message
    r = run_ninja("check", "exercise2", "--file", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr and "SyntaxError" in r.stdout


def test_a_coding_line_is_honoured_and_null_bytes_are_a_result(tmp_path):
    latin = tmp_path / "latin.py"
    latin.write_bytes(b'# -*- coding: latin-1 -*-\nx = "\xe9"\n')
    run = run_file(latin)
    assert run.error is None and run.namespace["x"] == "é"
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"x = 1\n\x00\x01\x02")
    assert run_file(binary).error.kind == "SyntaxError"


def test_package_relative_imports_work_like_cs231n(tmp_path):
    """cs231n/classifiers/fc_net.py starts with `from ..layers import *`."""
    package = tmp_path / "cs231n"
    (package / "classifiers").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "classifiers" / "__init__.py").write_text("")
    (package / "layers.py").write_text("def affine_forward(x, w, b):\n    return x @ w + b, (x, w, b)\n")
    (package / "classifiers" / "fc_net.py").write_text("from ..layers import *\nuses = affine_forward\n")
    run = run_file(package / "classifiers" / "fc_net.py")
    assert run.error is None and callable(run.namespace["uses"])


def test_sibling_modules_are_read_afresh_on_every_run(tmp_path):
    """ninja watch reruns in one process: a fixed helper module must be seen."""
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    main = tmp_path / "main.py"
    main.write_text("from helper import VALUE\n")
    assert run_file(main).namespace["VALUE"] == 1
    (tmp_path / "helper.py").write_text("VALUE = 2\n")
    later = time.time() + 5  # a new mtime even on coarse file systems, so no stale bytecode is used
    os.utime(tmp_path / "helper.py", (later, later))
    assert run_file(main).namespace["VALUE"] == 2


def test_the_notebooks_cmp_lines_can_be_pasted_with_the_answers(tmp_path):
    path = solution_with(tmp_path, "exercise2", "dlogits /= n\n", "dlogits /= n\ncmp('logits', dlogits, logits)\n")
    report = find("exercise2").check(path)
    assert report.passed and report.error is None


def test_ctrl_c_in_an_endless_loop_shows_where_it_was(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "exercise2.py"
    started = tmp_path / "started"
    path.write_text(f"import time\nopen({str(started)!r}, 'w').close()\nwhile True:\n    time.sleep(0.01)\n")
    ninja = subprocess.Popen(
        [sys.executable, "-m", "ninja", "check", "exercise2", "--file", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"COLUMNS": "200", "NO_COLOR": "1"},
    )
    deadline = time.time() + 60
    while not started.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # in the loop
    ninja.send_signal(signal.SIGINT)
    try:
        out, err = ninja.communicate(timeout=60)
    finally:
        ninja.kill()  # never left running, whatever happened (no-op once it has exited)
    assert ninja.returncode == 130 and "Traceback" not in out + err  # as shells count Ctrl-C
    assert f"{path}:4: KeyboardInterrupt: stopped with Ctrl-C" in out or f"{path}:3: KeyboardInterrupt" in out
