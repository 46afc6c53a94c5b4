"""A CS231n-style exercise written only as a file (tests/fixtures/exercises/leaky_norm.py: a leaky
ReLU with a NumPy reference and a given forward, a layernorm with a torch reference and a named
mistake), taken through dev check, list, init, check, hint, grade and course init; and files that
are wrong, each told in one line."""

import json
from pathlib import Path

import pytest
from conftest import ROOT, run_ninja, watch_until_it_passes

from ninja import registry
from ninja.cs231n import files as pairs
from ninja.results import MISSING, PASS
from ninja.settings import Settings

FIXTURES = ROOT / "tests" / "fixtures" / "exercises"
SOURCE = (FIXTURES / "leaky_norm.py").read_text()
SOLUTION = (FIXTURES / "leaky_norm_solution.py").read_text()
TOML = '[exercises.leaky_norm]\nfile = "leaky_norm.py"\nsolution = "leaky_norm_solution.py"\n'


pytestmark = pytest.mark.usefixtures("bundled_exercises_only")


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "leaky_norm.py").write_text(SOURCE)
    (tmp_path / "leaky_norm_solution.py").write_text(SOLUTION)
    (tmp_path / "ninja.toml").write_text(TOML)
    return tmp_path


def exercise():
    return registry.load_file(FIXTURES / "leaky_norm.py", "leaky_norm")


def results(report) -> dict:
    return {v.name: v for v in report.variables}


def test_the_kind_is_told_by_what_the_file_defines():
    ex = exercise()
    assert isinstance(ex, pairs.FileExercise) and ex.numpy_reference == ("leaky_relu",)
    assert ex.functions[:4] == ("leaky_relu_forward", "leaky_relu_backward", "layernorm_forward", "layernorm_backward")
    assert "leaky_relu_forward.out" not in ex.checked  # GIVEN: handed over, not the learner's to answer
    assert registry.load_file(FIXTURES / "attention.py", "attention").model is not None  # a tapped forward


def test_dev_check_passes_a_sound_file_and_its_solution():
    outcome = registry.dev_check(FIXTURES / "leaky_norm.py", FIXTURES / "leaky_norm_solution.py")
    assert outcome.ok, outcome.failures
    assert "each reference's gradients agree with central differences" in outcome.passed
    assert "in the solution, each backward made wrong fails at that function, named" in outcome.passed


def test_a_numpy_reference_that_disagrees_with_central_differences_is_told(tmp_path):
    path = tmp_path / "leaky_norm.py"
    path.write_text(SOURCE.replace("dx = np.where(x > 0, dout, alpha * dout)", "dx = np.where(x > 0, dout, 0 * dout)"))
    outcome = registry.dev_check(path)
    said = [f for f in outcome.failures if "central differences" in f]
    assert len(said) == 1 and said[0].startswith("leaky_relu: dx on case 1: x (4, 5), alpha 0.1: the NumPy pair")
    assert said[0].endswith("fix leaky_relu_backward (or give a torch reference leaky_relu(...))")


def test_the_template_is_all_missing_and_the_solution_passes():
    ex = exercise()
    template = ex.template.read_text()
    assert "out = np.where(x > 0, x, alpha * x)" in template  # the given forward, as the file writes it
    assert "dx = None  # TODO" in template and "dx, dgamma, dbeta = None, None, None  # TODO" in template
    assert "torch" not in template and "def layernorm(" not in template and "LAYERS" not in template
    blank = ex.check(ex.template, Settings())
    assert blank.error is None and {v.status for v in blank.variables} == {MISSING} and len(blank.variables) == 9
    assert ex.check(FIXTURES / "leaky_norm_solution.py", Settings(seed=5)).passed


def test_a_given_forward_takes_the_helpers_it_reads_into_the_template(tmp_path):
    path = tmp_path / "helper.py"
    path.write_text(
        '"""Leaky, with a helper."""\nimport numpy as np\nimport torch\nLAYERS = {"leaky": ("x",)}\n'
        'GIVEN = ("leaky_forward",)\nSLOPE = 0.1\ndef slope_of(x):\n    return np.where(x > 0, 1.0, SLOPE)\n'
        "def leaky(x):\n    return torch.where(x > 0, x, SLOPE * x)\ndef leaky_forward(x):\n"
        "    return x * slope_of(x), x\ndef leaky_cases(rng):\n    return [{'x': rng.standard_normal((3, 4))}]\n"
    )
    ex = registry.load_file(path, "helper")
    template = ex.template.read_text()
    assert "SLOPE = 0.1" in template and "def slope_of(x):" in template
    assert "torch" not in template and "def leaky(" not in template and "leaky_cases" not in template
    assert [v.status for v in ex.check(ex.template, Settings()).variables] == [MISSING]


@pytest.mark.parametrize(
    "old, new, failing, kind, words",
    [
        ("dgamma = (dout * xhat).sum(0)", "dgamma = dout.sum(0)", "layernorm_backward.dgamma", "named", "without xhat"),
        ("dx = np.where(x > 0, dout, alpha * dout)", "dx = -np.where(x > 0, dout, alpha * dout)",
         "leaky_relu_backward.dx", "factor", "the sign is flipped"),
        ("dbeta = dout.sum(0)", "dbeta = dout.mean(0)", "layernorm_backward.dbeta", "factor", "N times too small"),
    ],
)  # fmt: skip
def test_a_wrong_backward_fails_at_that_function_named(tmp_path, old, new, failing, kind, words):
    """...and norm_leaky, which calls it (CALLS), fails only through it: it inherits."""
    path = tmp_path / "mine.py"
    path.write_text(SOLUTION.replace(old, new))
    report = exercise().check(path, Settings())
    wrong = {v.name: v for v in report.variables if v.status != PASS}
    cause = wrong.pop(failing)
    assert cause.root_cause and cause.diagnosis_kind == kind and words in cause.diagnosis
    assert cause.line == SOLUTION.replace(old, new).splitlines().index(f"    {new}") + 1
    assert wrong and {v.inherited_from for v in wrong.values()} == {failing.partition(".")[0]}
    assert {n.partition(".")[0] for n in wrong} == {"norm_leaky_backward"}
    assert f"root cause: your {failing.partition('.')[0]}; norm_leaky_backward" in " ".join(report.notes)


def test_a_changed_given_forward_is_shown():
    ex = exercise()
    path = ex.template.parent / "changed.py"
    path.write_text(SOLUTION.replace("alpha * x)", "0 * x)"))
    try:
        forward = results(ex.check(path, Settings()))["leaky_relu_forward.out"]
    finally:
        path.unlink()
    assert forward.status != PASS and "leaky_relu_forward is given: keep it as the template has it" in forward.note


def test_hints_written_and_derived():
    hints = exercise().hints
    assert hints["layernorm_backward"][0] == "dout is (N, D); dx is (N, D), dgamma and dbeta (D,)."
    assert hints["leaky_relu_backward"][0] == (
        "On case 1: x (4, 5), alpha 0.1: dout is (4, 5), out's shape; return dx (4, 5), in this order."
    )
    assert len(hints["layernorm_forward"]) == 3


def ninja(*args: str):
    """The command in this process (a process of its own costs seconds): its exit code and output."""
    from typer.testing import CliRunner

    from ninja.cli import app

    done = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception  # never a traceback
    return done.exit_code, done.output


def test_list_init_check_hint_reset_solution_in_a_workspace(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    code, listed = ninja("list")
    assert code == 0 and "leaky_norm" in listed and "Leaky ReLU and layernorm" in listed
    assert ninja("init", ".")[0] == 0
    mine = workspace / "exercises" / "leaky_norm.py"
    assert mine.read_text() == exercise().template.read_text()
    code, blank = ninja("check", "leaky_norm")
    assert code == 1 and "0/9 correct (9 missing)" in blank
    code, solved = ninja("check", "leaky_norm", "--file", "leaky_norm_solution.py", "--format", "json")
    assert code == 0 and json.loads(solved)["passed"] is True
    code, part = ninja("check", "leaky_norm", "--file", "leaky_norm_solution.py", "--only", "relu")
    assert (
        code == 0 and "1/1 correct: leaky_norm passes (--only relu: 1 of 9 results)" in part
    )  # the given forward not counted
    code, hint = ninja("hint", "leaky_norm", "layernorm_backward", "--level", "3")
    assert code == 0 and "dxhat = dout * gamma" in hint
    code, first = ninja("hint", "leaky_norm")  # the first result not right yet, level 1 derived
    assert "hint 1/3 for leaky_relu_backward.dx" in first and "return dx (4, 5)" in first
    mine.write_text("# mine\n")
    assert ninja("reset", "leaky_norm")[0] == 0
    assert mine.read_text() == exercise().template.read_text()
    code, shown = ninja("solution", "leaky_norm", "--force")
    assert code == 0 and "dgamma = (dout * xhat).sum(0)" in shown


@pytest.mark.slow  # a process of its own, a class graded, a wheel built: seconds
def test_watch_checks_it_and_hints(workspace):
    hint = ("hint 1/3 for leaky_relu_backward.dx",)  # `ninja hint leaky_norm`'s words
    watch_until_it_passes(workspace, "leaky_norm", exercise().template.read_text(), SOLUTION, hint)


@pytest.mark.slow  # a process of its own, a class graded, a wheel built: seconds
def test_grade_a_class_on_it(workspace):
    subs = workspace / "subs"
    for who, text in {"good": SOLUTION, "bad": SOLUTION.replace("dbeta = dout.sum(0)", "dbeta = -dout.sum(0)")}.items():
        (subs / who).mkdir(parents=True)
        (subs / who / "leaky_norm.py").write_text(text)
    (workspace / "ninja.toml").write_text('[course]\nexercises = ["leaky_norm"]\n\n' + TOML)
    out = workspace / "grades.json"
    done = run_ninja(
        "grade", "--seed", "7", "--jobs", "1", "--format", "json", "--out", str(out), str(subs / "good"),
        str(subs / "bad"), cwd=workspace,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    graded = {Path(r["submission"]).name: r for r in json.loads(out.read_text())}
    assert graded["good"]["score"] == graded["good"]["max_score"] == 9
    assert graded["bad"]["score"] == 7  # layernorm_backward.dbeta, and norm_leaky_backward.dbeta through it


@pytest.mark.slow  # a process of its own, a class graded, a wheel built: seconds
def test_course_init_carries_the_file_and_its_template(tmp_path):
    """The docs' example (a torch reference, the forward given) goes to students; the fixture,
    whose file defines its backwards (a NumPy reference is its answer), never does."""
    from ninja.grade import course
    from ninja.grade.batch import GradeError

    example = ROOT / "docs" / "examples" / "leaky_relu"
    for name in ("leaky_relu.py", "leaky_relu_solution.py"):
        (tmp_path / name).write_text((example / name).read_text())
    (tmp_path / "ninja.toml").write_text(
        '[course]\nexercises = ["leaky_relu"]\n\n[exercises.leaky_relu]\nfile = "leaky_relu.py"\n'
    )
    course.init(tmp_path)
    student = tmp_path / "student"
    template = registry.load_file(example / "leaky_relu.py", "leaky_relu").template.read_text()
    assert (student / "exercises" / "leaky_relu.py").read_text() == template
    assert (student / "leaky_relu.py").is_file() and (tmp_path / "autograder" / "leaky_relu.py").is_file()
    assert not (student / "leaky_relu_solution.py").exists()
    assert "leaky_relu" in registry.exercises(student)
    (tmp_path / "leaky_norm.py").write_text(SOURCE)
    (tmp_path / "ninja.toml").write_text('[course]\nexercises = ["leaky_norm"]\n\n' + TOML)
    with pytest.raises(GradeError, match="defines leaky_relu_backward, which students would get with the file"):
        course.init(tmp_path)


CASES = 'def relu_cases(rng):\n    return [{"x": rng.standard_normal((3, 4))}]\n'
REFERENCE = "def relu(x):\n    return x.clamp(min=0)\n"


@pytest.mark.parametrize(
    "text, says",
    [
        ('LAYERS = {"relu": ("x",)}\n' + REFERENCE + CASES, "start the file with a docstring"),
        ('"""R."""\nLAYERS = ["relu"]\n', "LAYERS must be a dict: layer name -> its inputs"),
        ('"""R."""\nLAYERS = {"relu": 5}\n', "LAYERS['relu'] must be a tuple of the inputs its backward returns"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\n' + REFERENCE, "define relu_cases(rng), the cases relu is checked on"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\n' + CASES,
         "relu: define a torch reference relu(...) -> out, or the NumPy pair relu_forward(...) -> (out, cache)"),
        ('"""R."""\nLAYERS = {"relu": ("x", "w")}\n' + REFERENCE + CASES,
         "LAYERS['relu'] names w, which relu_forward does not take (x)"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\n' + REFERENCE + CASES.replace('"x"', '"y"'),
         "relu_cases(rng)'s case 1 has y; give exactly the forward's arguments: x"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\n' + REFERENCE.replace("x.clamp", "x.nope") + CASES,
         "relu's reference raised AttributeError on case 1: x (3, 4)"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\n' + REFERENCE + CASES + "def forward(tap, x):\n    return x\n",
         "defines both LAYERS (CS231n-style pairs) and forward (a tapped forward)"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\nGIVEN = ("relu_forward",)\n' + REFERENCE + CASES,
         "GIVEN names relu_forward, which is no forward this file defines (a given one is handed to the learner as written here); known: none"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\nHINTS = {"relu_back": "h"}\n' + REFERENCE + CASES,
         "HINTS has relu_back; functions: relu_forward, relu_backward"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\nMISTAKES = {"tanh": {}}\n' + REFERENCE + CASES,
         "MISTAKES has 'tanh', which LAYERS does not"),
        ('"""R."""\nimport numpy as np\nLAYERS = {"relu": ("x",)}\n' + CASES
         + "def relu_forward(x):\n    return np.maximum(x, 0), x\ndef relu_backward(dout, cache):\n    return dout.sum(0)\n",
         "relu_backward gives (4,) for dx (3, 4): return one gradient per LAYERS entry, in order"),
        ('"""R."""\nLAYERS = {"relu": ("x", "w")}\n' + REFERENCE.replace("(x)", "(x, w)") + CASES.replace(
            '}]', ', "w": rng.standard_normal(3)}]'), "relu's reference does not use one of x, w on case 1"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\nCALLS = {"relu": ("affine",)}\n' + REFERENCE + CASES,
         "CALLS['relu'] must name layers of LAYERS other than itself, in a tuple: not 'affine'; layers: relu"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\nCALLS = {"relu": 3}\n' + REFERENCE + CASES,
         "CALLS['relu'] must name layers of LAYERS other than itself, in a tuple; layers: relu"),
        ('"""R."""\nLAYERS = {"relu": ("x",)}\nHINTS = {"relu_forward": 3}\n' + REFERENCE + CASES,
         "HINTS['relu_forward'] must be one to three strings (levels 1-3)"),
        ('"""R."""\ndef parameters(g): ...\n', "define inputs(...), forward(...)"),
        ('"""R."""\n', "define parameters(...), inputs(...), forward(...) (or LAYERS, for CS231n-style"),
    ],
)  # fmt: skip
def test_a_wrong_file_gets_one_line_saying_what_to_change(tmp_path, text, says):
    path = tmp_path / "relu.py"
    path.write_text(text)
    outcome = registry.dev_check(path)
    assert not outcome.ok and len(outcome.failures) == 1
    assert says in outcome.failures[0] and "\n" not in outcome.failures[0], outcome.failures[0]


def test_a_wrong_file_in_a_workspace_is_a_usage_error_without_a_traceback(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    (workspace / "leaky_norm.py").write_text(SOURCE.replace("def layernorm_cases(rng):", "def layernorm_cazes(rng):"))
    code, said = ninja("check", "leaky_norm")
    assert code == 2 and "define layernorm_cases(rng)" in said
    code, said = ninja("dev", "check", "leaky_norm.py")
    assert code == 1 and "fix   " in said and "define layernorm_cases(rng)" in said
    assert ninja("dev", "check", "nothere.py")[0] == 2
