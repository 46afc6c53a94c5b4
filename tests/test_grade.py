"""`ninja grade`: an adversarial class graded in one batch, and every output format."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ninja.grade import batch as grading
from ninja.grade import formats
from ninja.grade.sandbox import Limits
from ninja.registry import find

SOLUTION = find("exercise1").solution.read_text()
TEMPLATE = find("exercise1").template.read_text()
BACKWARD = "# backward pass, as in the notebook's answer\n"
HEAD, TAIL = SOLUTION.split(BACKWARD)
assert "dlogprobs[range(n), Yb] = -1.0 / n" in TAIL

# submission folder name -> exercise1.py; each attack next to a correct submission
CLASS = {
    "correct": SOLUTION,
    "hang": "while True:\n    pass\n",
    "abort": "import os\nos.abort()\n",
    "segfault": "import ctypes\nctypes.string_at(0)\n",
    "sys_exit": "import sys\nsys.exit(0)\n" + SOLUTION,
    "os_exit": SOLUTION + "\nimport os\nos._exit(0)\n",
    "flood": "import os\nfor _ in range(20000):\n    print('x' * 1000)\n    os.write(1, b'y' * 1000)\n" + SOLUTION,
    "memory": "import torch\nhog = torch.ones(2**31)\n" + SOLUTION,
    "writes_files": TEMPLATE.replace("dlogprobs = None  # TODO", "open('results.json', 'w').write('{\"score\": 26}')"),
    "monkeypatch": "import torch\nimport ninja.engine\ntorch.allclose = lambda *a, **k: True\n"
    "torch.equal = lambda *a, **k: True\nninja.engine.compare = None\n" + TEMPLATE,
    "fake_print": "print('26/26 correct: exercise1 passes.')\nprint('{\"score\": 26, \"max_score\": 26}')\n" + TEMPLATE,
    "backward": HEAD + "loss.backward()\n" + BACKWARD + TAIL,
    "reads_grad": HEAD + "W2.requires_grad = True\ndW2 = W2.grad\n",
    "hard_coded_n": HEAD
    + BACKWARD
    + TAIL.replace("dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0 / 32"),
    "syntax_error": SOLUTION.replace("dh = dlogits @ W2.T", "dh = dlogits @@ W2.T"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    for name, text in CLASS.items():
        (root / name).mkdir()
        (root / name / "exercise1.py").write_text(text)
    (root / "empty").mkdir()
    work = grading.find_work([root / name for name in [*CLASS, "empty"]], None)
    # audit warn: these attacks must fail at run time too, not only in the audit
    plan = grading.Plan(1234, (32, 45), Limits(timeout=3, cpu_seconds=4, memory_mb=512), audit="warn")
    seen = []
    results = grading.grade(work, plan, jobs=2, on_result=seen.append)
    assert len(seen) == len(results) == len(CLASS) + 1  # nothing lost
    return {Path(r.submission).name: r for r in results}, root


def test_correct_submission_gets_full_marks(graded):
    r = graded[0]["correct"]
    assert (r.status, r.score, r.max_score) == ("graded", 26, 26)
    assert all(t.passed for t in r.tests)


@pytest.mark.parametrize(
    "name, status, says",
    [
        ("hang", "timeout", "timed out after 3 s"),
        ("abort", "error", "crashed the Python process"),  # as its PID namespace's init: SIGSEGV
        ("segfault", "error", "SIGSEGV"),
        ("sys_exit", "error", "sys.exit(0)"),
        ("os_exit", "error", "ended its own process (exit code 0)"),
        ("memory", "error", "over the 512 MB memory limit"),
        ("syntax_error", "error", "SyntaxError"),
    ],
)
def test_broken_submissions_score_zero_with_a_clear_message(graded, name, status, says):
    r = graded[0][name]
    assert (r.status, r.score, r.max_score) == (status, 0, 26)
    assert says in r.message


def test_an_output_flood_is_capped_and_the_submission_still_graded(graded):
    r = graded[0]["flood"]
    assert (r.status, r.score) == ("graded", 26)
    assert 0 < len(r.output) <= 20_000


@pytest.mark.parametrize("name", ["writes_files", "monkeypatch", "fake_print"])
def test_cheats_inside_the_child_do_not_change_the_score(graded, name):
    r = graded[0][name]
    assert r.score == 0 and not any(t.passed for t in r.tests)


def test_files_written_by_a_child_are_ignored(graded):
    results, root = graded
    assert results["writes_files"].score == 0


@pytest.mark.parametrize("name", ["backward", "reads_grad"])
def test_autograd_is_unavailable_and_the_feedback_says_so(graded, name):
    r = graded[0][name]
    assert r.score == 0
    assert grading.AUTOGRAD_MESSAGE in r.message


def test_a_hard_coded_batch_size_fails_at_the_second_batch_size(graded):
    r = graded[0]["hard_coded_n"]
    assert r.status == "graded" and r.score < 26
    first = r.tests[0]
    assert first.name == "dlogprobs" and not first.passed and "batch size 45" in first.output
    assert "hard-coded" in r.message


def test_a_folder_without_exercise_files_is_an_error_not_a_crash(graded):
    r = graded[0]["empty"]
    assert r.status == "error" and "no exercise file" in r.message


def test_junit_has_one_testcase_per_variable(graded):
    results = list(graded[0].values())
    tree = ET.fromstring(formats.junit(results))
    suites = tree.findall("testsuite")
    assert len(suites) == len(results)
    correct = next(s for s in suites if s.get("name").endswith("correct exercise1"))
    assert len(correct.findall("testcase")) == 26 and correct.get("failures") == "0"
    assert all(c.find("failure") is None and c.find("error") is None for c in correct.findall("testcase"))
    hang = next(s for s in suites if "hang" in s.get("name"))
    assert hang.get("errors") == "26" and hang.findall("testcase")[0].find("error") is not None


def test_gradescope_results_follow_the_spec(graded):
    r = graded[0]["hard_coded_n"]
    document = json.loads(formats.gradescope([r], 1.5))
    assert document["score"] == r.score and document["execution_time"] == 1.5
    assert len(document["tests"]) == 26
    for test in document["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
    assert sum(t["score"] for t in document["tests"]) == document["score"]


def test_json_is_a_list_with_the_fields_tools_read(graded):
    document = json.loads(formats.as_json(list(graded[0].values())))
    assert isinstance(document, list) and len(document) == len(CLASS) + 1
    for entry in document:
        assert set(entry) >= {"submission", "exercise", "score", "max_score", "status", "message", "tests"}
        assert entry["status"] in ("graded", "error", "timeout")


def test_csv_has_one_row_per_submission(graded):
    rows = list(csv.DictReader(io.StringIO(formats.as_csv(list(graded[0].values())))))
    assert len(rows) == len(CLASS) + 1
    assert {row["status"] for row in rows} == {"graded", "error", "timeout"}
    assert next(row for row in rows if row["submission"].endswith("correct"))["score"] == "26"


def test_points_come_from_the_toml_config(tmp_path):
    config = tmp_path / "points.toml"
    config.write_text("[exercise1.points]\ndC = 3\nlogprobs = 0.5\n")
    assert grading.read_points(config) == {"exercise1": {"C": 3.0, "logprobs": 0.5}}
    config.write_text("[exercise1.points]\ndnothing = 1\n")
    with pytest.raises(grading.GradeError, match="no checked variable"):
        grading.read_points(config)


def run_ninja(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ninja", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_gradescope_mode_end_to_end_overwrites_a_faked_results_file(tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    # the child sees neither the environment nor the results folder: its write fails, the rest is graded
    # (--audit warn: the audit would flag the import; this is about what the child can do)
    (tmp_path / "results").mkdir()
    fake = f"import pathlib\ntry:\n    pathlib.Path({str(tmp_path)!r}, 'results', 'results.json').write_text('1000')\n"
    fake += "except OSError:\n    pass\n"
    (submission / "exercise1.py").write_text(fake + SOLUTION.replace("db2 = dlogits.sum(0)", "db2 = 0"))
    env = os.environ | {"NINJA_GRADESCOPE_ROOT": str(tmp_path)}
    done = run_ninja("grade", "--gradescope", "--jobs", "1", "--fail-under", "100", "--audit", "warn", env=env)
    assert done.returncode == 1, done.stderr  # 25 of 26 is under 100%
    document = json.loads((tmp_path / "results" / "results.json").read_text())
    assert document["score"] == 25 and len(document["tests"]) == 26
    failed = [t for t in document["tests"] if t["status"] == "failed"]
    assert [t["name"] for t in failed] == ["db2"]


def test_usage_errors_exit_2_without_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from ninja.cli import app

    stray = tmp_path / "notes.py"
    stray.write_text("x = 1\n")
    for args in (
        ["grade"],
        ["grade", str(tmp_path / "nowhere")],
        ["grade", str(stray)],
        ["grade", str(stray), "-e", "exercise9"],
        ["grade", str(tmp_path), "--batch-sizes", "32"],
    ):
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 2, (args, done.output)
        assert "Traceback" not in done.output, args


# ---- every exercise kind in one batch --------------------------------------------------------

MIXED = {  # folder -> (exercise, file text, checked names a wrong line costs)
    "ex1_right": ("exercise1", SOLUTION, []),
    "ex1_db2_doubled": ("exercise1", SOLUTION.replace("db2 = dlogits.sum(0)", "db2 = 2 * dlogits.sum(0)"), ["b2"]),
    "ex2_right": ("exercise2", find("exercise2").solution.read_text(), []),
    "ex3_right": ("exercise3", find("exercise3").solution.read_text(), []),
    "ex4_right": ("exercise4", find("exercise4").solution.read_text(), []),
    "ex4_db2_halved": (
        "exercise4",
        find("exercise4").solution.read_text().replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(0) / 2"),
        ["b2"],
    ),
    "layers_right": ("layers", find("layers").solution.read_text(), []),
    "layers_relu_identity": (
        "layers",
        find("layers").solution.read_text().replace("dx = dout * (x > 0)", "dx = dout"),
        ["relu_backward.dx"],
    ),
    "classifiers_right": ("classifiers", find("classifiers").solution.read_text(), []),
    # a loop in the vectorized function, hidden from a collector that reads the source in the child
    "classifiers_hides_loops": (
        "classifiers",
        find("classifiers").solution.read_text()
        + "\n\ndef svm_loss_vectorized(W, X, y, reg):\n    return svm_loss_naive(W, X, y, reg)\n\n\n"
        "import ninja.cs231n.learner as _f\n_init = _f.LearnerFile.__init__\n"
        "_f.LearnerFile.__init__ = lambda self, run, source, *a: _init(self, run, '', *a)\n",
        ["svm_loss_vectorized.loss", "svm_loss_vectorized.dW"],
    ),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    for folder, (exercise, text, _) in MIXED.items():
        (root / folder).mkdir()
        (root / folder / f"{exercise}.py").write_text(text)
    work = grading.find_work([root / folder for folder in MIXED], None)
    # audit warn: classifiers_hides_loops patches ninja from inside; the judge must still see the loop
    plan = grading.Plan(99, (32, 21), Limits(timeout=60, cpu_seconds=60, memory_mb=1024), audit="warn")
    return {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=2)}


@pytest.mark.parametrize("folder", list(MIXED))
def test_every_exercise_kind_is_graded_and_loses_exactly_the_wrong_points(mixed, folder):
    exercise, _, wrong = MIXED[folder]
    r = mixed[folder]
    names = [f"d{n}" if find(exercise).track == "makemore" else n for n in find(exercise).checked]
    assert r.exercise == exercise and r.status == "graded", r.message
    assert r.max_score == len(names) and r.score == len(names) - len(wrong), r.message
    failing = [t.name for t in r.tests if not t.passed]
    assert failing == [f"d{n}" if find(exercise).track == "makemore" else n for n in wrong]


def test_grading_feedback_carries_local_blame(mixed):
    (test,) = [t for t in mixed["ex1_db2_doubled"].tests if not t.passed]
    line = SOLUTION.splitlines().index("db2 = dlogits.sum(0)") + 1
    assert f"root cause at line {line}: " in test.output and "2 times" in test.output
    assert f"first wrong line: db2 (line {line})" in mixed["ex1_db2_doubled"].message


def test_the_wire_format_round_trips_plain_data_and_refuses_garbage():
    import numpy as np

    from ninja import collected
    from ninja.engine import UNREACHED

    data = [{"a": np.arange(6.0).reshape(2, 3), "b": UNREACHED, "c": collected.Opaque("str"), "d": [1, "x", None]}]
    back = collected.decode(collected.encode(data))
    assert np.array_equal(back[0]["a"], data[0]["a"]) and back[0]["b"] is UNREACHED
    assert back[0]["c"] == collected.Opaque("str") and back[0]["d"] == [1, "x", None]
    for garbage in (
        b"",
        b"\x05\x00\x00\x00\x00\x00\x00\x00nope!",
        collected.encode({"$": "array", "dtype": "float64", "shape": [99], "offset": 0}),
    ):
        with pytest.raises(collected.BadData):
            collected.decode(garbage)
    forged = [collected.encode(data) + b"forged", (64 * 2**20).to_bytes(8, "little") + b"[]" * 10]
    for garbage in forged:  # bytes after the arrays; a 64 MB header: refused, the header never parsed
        with pytest.raises(collected.BadData):
            collected.decode(garbage)


def test_a_reply_written_array_by_array_is_the_encoded_bytes(tmp_path):
    """collected.write (what a grading child sends: each array from its own memory, by writev) puts
    exactly encode's bytes in the file, whatever the dtypes, strides and sizes, across many writes."""
    import numpy as np

    from ninja import collected

    rng = np.random.default_rng(0)
    arrays = {
        "f64": rng.standard_normal((32, 27)), "f32": rng.standard_normal(64).astype(np.float32),
        "f16": rng.standard_normal(5).astype(np.float16), "bool": rng.random((3, 4)) < 0.5,
        "int": np.arange(10), "strided": rng.standard_normal((8, 8))[:, ::2], "transposed": np.ones((3, 5)).T,
        "empty": np.zeros((0, 4)), "scalar": np.array(2.5), "c64": (1 + 2j) * np.ones(3, dtype=np.complex64),
    }  # fmt: skip
    many = {f"x{i}": np.full(i + 1, float(i)) for i in range(1500)}  # more buffers than one writev takes
    for data in ([arrays, {"note": "x", "n": None}], many):
        path = tmp_path / "reply"
        with open(path, "wb") as f:
            collected.write(f.fileno(), data)
        assert path.read_bytes() == collected.encode(data)
        back = collected.decode(path.read_bytes())
        first = back[0] if isinstance(back, list) else back
        for name, array in (arrays if isinstance(data, list) else many).items():
            assert np.array_equal(first[name], array) and first[name].dtype == array.dtype, name


# ---- notebooks, and a zip of a folder ---------------------------------------------------------


def test_notebooks_and_nested_folders_are_graded(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    import karpathy_notebook as kn

    wrong = kn.EXERCISE1.replace("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)")
    raising = kn.EXERCISE1.replace("dW2 = h.T @ dlogits", "dW2 = h @ dlogits")
    kn.write(tmp_path / "wrong.ipynb", kn.notebook(wrong))
    kn.write(tmp_path / "raising.ipynb", kn.notebook(raising))
    no_cells = kn.notebook("print('nothing yet')")
    no_cells.cells = [c for c in no_cells.cells if "dlogits" not in c.source and "dhprebn" not in c.source]
    kn.write(tmp_path / "no_cells.ipynb", no_cells)
    zipped = tmp_path / "zipped"
    for folder, text in (("sub", SOLUTION), ("__MACOSX/sub", "junk"), (".hidden", "junk")):
        (zipped / folder).mkdir(parents=True)
        (zipped / folder / "exercise1.py").write_text(text)
    twice = tmp_path / "twice"
    for folder in ("a", "b"):
        (twice / folder).mkdir(parents=True)
        (twice / folder / "exercise1.py").write_text(SOLUTION)
    names = ["wrong.ipynb", "raising.ipynb", "no_cells.ipynb", "zipped", "twice"]
    work = grading.find_work([tmp_path / name for name in names], find("exercise1"))
    plan = grading.Plan(7, (32, 45), Limits(timeout=30, cpu_seconds=30, memory_mb=1024))
    r = {Path(result.submission).name: result for result in grading.grade(work, plan, jobs=2)}

    assert (r["wrong.ipynb"].status, r["wrong.ipynb"].score) == ("graded", 19), r["wrong.ipynb"].message
    line = next(i for i, text in enumerate(wrong.splitlines(), 1) if text.startswith("dbndiff2 ="))
    dbndiff2 = next(t for t in r["wrong.ipynb"].tests if t.name == "dbndiff2")
    assert f"root cause at line {line}: it is (n-1)/n times" in dbndiff2.output
    assert r["raising.ipynb"].status == "error" and r["raising.ipynb"].score == 9
    line = raising.splitlines().index("dW2 = h @ dlogits") + 1
    assert f'raising.ipynb, code cell 7 ("# Exercise 1: ..."), line {line}: RuntimeError' in r["raising.ipynb"].message
    assert r["no_cells.ipynb"].message.startswith("no cell of ")
    assert (r["zipped"].status, r["zipped"].score) == ("graded", 26), r["zipped"].message
    assert r["twice"].status == "error"
    assert "2 files named exercise1.py in the submission (a/exercise1.py, b/exercise1.py)" in r["twice"].message


# ---- fail loudly: the grader's own environment (issue 22, item 1) ---------------------------------

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the slots' own uids exist only when the grader is root")


def private_library(tmp_path: Path, mode: int) -> Path:
    """A folder of the import path inside a private (0700) folder, as pyenv's Python under a 0700
    home is; `mode` is the library folder's own."""
    home = tmp_path / "home"
    library = home / "lib"
    library.mkdir(parents=True)
    (library / "helper_mod.py").write_text("def scale(t):\n    return t * 1.0\n")
    home.chmod(0o700)
    library.chmod(mode)
    return library


@as_root
def test_a_private_tmpdir_a_private_library_a_bom_and_lazy_imports_grade_as_root(tmp_path):
    library = private_library(tmp_path, 0o755)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir(mode=0o700)
    lazy = "def later(t):\n    import helper_mod, colorsys\n    return helper_mod.scale(t)\n"
    folders = {"bom": b"\xef\xbb\xbf" + SOLUTION.encode(), "lazy": (lazy + SOLUTION + "dC = later(dC)\n").encode()}
    for name, data in folders.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "exercise1.py").write_bytes(data)
    env = os.environ | {"TMPDIR": str(private_tmp), "PYTHONPATH": str(library)}
    # --audit warn: the allowlist flags those imports; this is about what a child can import
    done = run_ninja("grade", "--format", "json", "--audit", "warn", *(str(tmp_path / n) for n in folders), env=env)
    assert done.returncode == 0, done.stderr
    scores = {Path(r["submission"]).name: r["score"] for r in json.loads(done.stdout)}
    assert scores == {name: 26 for name in folders}, done.stdout
    assert list(private_tmp.iterdir()) == []  # the job folders went elsewhere, and nothing was left


@as_root
def test_no_child_that_can_start_means_exit_2_with_the_cause_and_its_fix(tmp_path):
    library = private_library(tmp_path, 0o700)  # the library folder itself: no way round it
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "exercise1.py").write_text(SOLUTION)
    done = run_ninja("grade", str(tmp_path / "alice"), env=os.environ | {"PYTHONPATH": str(library)})
    assert done.returncode == 2, done.stdout + done.stderr
    said = "".join(done.stderr.split())  # a long path may wrap anywhere, even at 200 columns
    assert f"library{library}isnotreadablebyitsuid" in said and "chmodo+rx" in said, done.stderr
    assert "Traceback" not in done.stderr and "alice" not in done.stdout  # no one was graded
