"""The CS231n layers exercise: the reference passes, the template is missing, and each named
mistake is caught and named."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ninja.cs231n.exercise import UnknownFunction
from ninja.registry import find
from ninja.render import summary, table
from ninja.results import FAIL, MISSING, PASS
from ninja.settings import Settings

LAYERS = find("layers")
SOLUTION = LAYERS.solution.read_text()


def check(tmp_path, source, only=None, numeric=False, defined_only=False):
    path = tmp_path / "layers.py"
    path.write_text(source)
    ex = LAYERS.only(only) if only else LAYERS
    ex = ex.what_is_there() if defined_only else ex
    return ex.numeric().check(path, Settings()) if numeric else ex.check(path, Settings())


def mutated(old, new):
    assert SOLUTION.count(old) == 1, old
    return SOLUTION.replace(old, new)


def table_text(report):
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table(report, width=200))
    return console.export_text()


def by_name(report):
    return {v.name: v for v in report.variables}


def points_at(report, v, kind, text):
    """A named mistake is a root cause of its kind, at the line of the learner's file holding `text`."""
    assert v.status == FAIL and v.root_cause and v.diagnosis_kind == kind, (v.status, v.root_cause, v.diagnosis_kind)
    line = Path(report.path).read_text().splitlines()[v.line - 1]
    assert text in line, (v.line, line)


def test_every_reference_function_passes():
    report = LAYERS.check(LAYERS.solution, Settings())
    assert [v.name for v in report.variables if v.status != PASS] == []
    assert set(by_name(report)) == set(LAYERS.checked)
    assert all(v.relerr is not None and v.relerr < 1e-9 for v in report.variables)
    assert report.passed and report.track == "cs231n"


def test_numeric_gradients_confirm_every_reference_backward():
    report = LAYERS.numeric().check(LAYERS.solution, Settings(seed=3))
    gradients = [v for v in report.variables if ".d" in v.name]
    assert gradients and all(v.status == PASS for v in gradients)
    assert all(v.numeric_relerr is not None and v.numeric_relerr < 1e-6 for v in gradients), [
        (v.name, v.numeric_relerr) for v in gradients
    ]


def test_the_template_reports_every_result_missing():
    report = LAYERS.check(LAYERS.template, Settings())
    assert {v.status for v in report.variables} == {MISSING}
    assert not report.passed


def test_only_picks_functions_by_substring_and_rejects_unknown_names():
    assert set(LAYERS.only("batchnorm").functions) == {
        "batchnorm_forward",
        "batchnorm_backward",
        "batchnorm_backward_alt",
        "spatial_batchnorm_forward",
        "spatial_batchnorm_backward",
    }
    with pytest.raises(UnknownFunction, match="affine_forward"):
        LAYERS.only("attention")


def test_a_file_with_some_functions_is_judged_on_those_and_names_the_rest(tmp_path):
    relu_only = (
        "import numpy as np\n" + SOLUTION[SOLUTION.index("def relu_forward") : SOLUTION.index("def softmax_loss")]
    )
    report = check(tmp_path, relu_only, defined_only=True)
    assert [v.name for v in report.variables] == ["relu_forward.out", "relu_backward.dx"]
    assert report.passed  # the verdict is about what the file has
    assert any(n.startswith("not in this file: affine_forward, affine_backward, softmax_loss") for n in report.notes)
    total = len(LAYERS.checked)
    assert report.scope == f"what this file defines: 2 of {total} results"
    assert f"2/2 correct: layers passes (what this file defines: 2 of {total} results)." in summary(report).plain


def test_grading_judges_every_result_in_order_and_what_is_not_there_is_missing(tmp_path):
    relu_only = (
        "import numpy as np\n" + SOLUTION[SOLUTION.index("def relu_forward") : SOLUTION.index("def softmax_loss")]
    )
    report = check(tmp_path, relu_only)  # as ninja grade judges: its scores count every result, in order
    assert [v.name for v in report.variables] == list(LAYERS.checked)
    results = by_name(report)
    assert results["relu_backward.dx"].status == PASS and results["affine_backward.dx"].status == MISSING
    assert not report.passed and report.scope is None
    assert any("does not define affine_forward" in n for n in report.notes)


def test_a_file_with_none_of_the_functions_is_all_missing(tmp_path):
    report = check(tmp_path, "import numpy as np\n\ndef helper():\n    return 1\n", defined_only=True)
    assert {v.status for v in report.variables} == {MISSING} and len(report.variables) == len(LAYERS.checked)
    assert any("defines none of the layers functions" in n for n in report.notes)


def test_a_backward_that_writes_into_dout_passes_with_a_note_at_its_line(tmp_path):
    report = check(tmp_path, mutated("    dx = dout * (x > 0)\n", "    dx = dout\n    dx[x <= 0] = 0\n"), only="relu")
    dx = by_name(report)["relu_backward.dx"]
    assert dx.status == PASS and "in place" in dx.diagnosis and "dout" in dx.diagnosis
    line = Path(report.path).read_text().splitlines()[dx.line - 1]
    assert "dx[x <= 0] = 0" in line  # dx is dout under another name
    assert f"{report.path}:{dx.line}: relu_backward.dx passes, but relu_backward modifies" in table_text(report)


def test_a_forward_that_writes_into_x_passes_with_a_note_when_its_values_are_right(tmp_path):
    report = check(
        tmp_path, mutated("    out = np.maximum(0, x)\n", "    x[x < 0] = 0\n    out = x.copy()\n"), only="relu"
    )
    out = by_name(report)["relu_forward.out"]
    assert out.status == PASS and "relu_forward modifies its argument x in place" in out.diagnosis
    assert "x[x < 0] = 0" in Path(report.path).read_text().splitlines()[out.line - 1]


def test_max_pool_backward_with_assignment_is_caught_by_overlapping_windows(tmp_path):
    report = check(tmp_path, mutated("] += dout[n, c, i, j]", "] = dout[n, c, i, j]"), only="max_pool")
    dx = by_name(report)["max_pool_backward_naive.dx"]
    assert dx.status == FAIL and "+=" in dx.diagnosis and "overlap" in dx.note
    points_at(report, dx, "accumulation", "] = dout[n, c, i, j]")


def test_batchnorm_test_mode_with_eps_outside_the_square_root(tmp_path):
    source = mutated("np.sqrt(running_var + eps)", "(np.sqrt(running_var) + eps)")
    report = check(tmp_path, source, only="batchnorm")
    out = by_name(report)["batchnorm_forward.out"]
    assert out.status == FAIL and "eps outside the square root" in out.diagnosis and "mode test" in out.note
    points_at(report, out, "eps", "(np.sqrt(running_var) + eps)")


def test_dropout_with_keep_and_drop_swapped(tmp_path):
    source = mutated("(np.random.rand(*x.shape) < p) / p", "(np.random.rand(*x.shape) < 1 - p) / (1 - p)")
    report = check(tmp_path, source, only="dropout")
    out = by_name(report)["dropout_forward.out"]
    assert out.status == FAIL and "keep and drop swapped" in out.diagnosis
    points_at(report, out, "keep_drop", "np.random.rand(*x.shape) < 1 - p")
    # its backward, fed that forward's mask, fails with it: it points at the forward
    dx = by_name(report)["dropout_backward.dx"]
    assert dx.status == FAIL and not dx.root_cause and dx.inherited_from == "dropout_forward.out"


@pytest.mark.parametrize("function", ["softmax_loss", "svm_loss"])
def test_a_loss_without_division_by_n(tmp_path, function):
    body = SOLUTION[SOLUTION.index(f"def {function}") :]
    body = body[: body.index("\n\n\n")]
    sums = body.replace(".mean()", ".sum()").replace("margins.sum() / N", "margins.sum()").replace("    dx /= N\n", "")
    report = check(tmp_path, SOLUTION.replace(body, sums), only=function)
    for name in (f"{function}.loss", f"{function}.dx"):
        assert by_name(report)[name].status == FAIL
        assert "missing division by N" in by_name(report)[name].diagnosis
        points_at(report, by_name(report)[name], "missing_n", f"def {function}(")  # nothing to point at but the def


def test_softmax_without_max_subtraction_overflows_on_large_scores(tmp_path):
    report = check(tmp_path, mutated("shifted = x - x.max(axis=1, keepdims=True)", "shifted = x"), only="softmax")
    loss = by_name(report)["softmax_loss.loss"]
    assert loss.status == FAIL and "overflows" in loss.diagnosis and "large scores" in loss.note
    points_at(report, loss, "overflow", "np.exp(")


def test_a_backward_that_raises_is_an_error_with_file_and_line(tmp_path):
    report = check(
        tmp_path, mutated("    db = dout.sum(axis=0)\n    return dx, dw, db", "    return dx, dw, db.T"), only="affine"
    )
    db = by_name(report)["affine_backward.db"]
    assert db.status == "error" and "layers.py:" in db.note and "NameError" in db.note


def test_a_named_mistake_is_an_error_at_its_line_in_github_annotations(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(mutated("] += dout[n, c, i, j]", "] = dout[n, c, i, j]"))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "] = dout[n, c, i, j]" in text)
    run = [sys.executable, "-m", "ninja", "check", "layers", "--file", str(path), "--only", "max_pool"]
    done = subprocess.run([*run, "--format", "github"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and f"::error file={path},line={line}," in done.stdout, done.stdout
    done = subprocess.run([*run, "--format", "json"], capture_output=True, text=True, cwd=tmp_path)
    dx = next(v for v in json.loads(done.stdout)["variables"] if v["name"] == "max_pool_backward_naive.dx")
    assert (dx["root_cause"], dx["diagnosis_kind"], dx["line"]) == (True, "accumulation", line)
    hint = [sys.executable, "-m", "ninja", "hint", "layers", "--file", str(path)]
    done = subprocess.run(hint, capture_output=True, text=True, cwd=tmp_path)
    assert f"{path}:{line}: max_pool_backward_naive.dx is wrong: dx[...] = instead of +=" in done.stdout, done.stdout
