"""Exercises 1-3 end to end in-process: solutions pass, templates are all missing, and realistic
mistakes fail at the variable where they are made."""

import pytest
from conftest import ROOT

from ninja.registry import EXERCISES, UnknownExercise, find
from ninja.settings import Settings

MAKEMORE = ["exercise1", "exercise2", "exercise3"]


def statuses(report):
    return {v.name: v.status for v in report.variables}


def failing(report):
    return [v.name for v in report.variables if v.status != "pass"]


@pytest.mark.parametrize("name", MAKEMORE)
@pytest.mark.parametrize("settings", [Settings(), Settings(seed=1, batch_size=7), Settings(seed=99, batch_size=64)])
def test_solutions_pass_every_variable(name, settings):
    ex = find(name)
    report = ex.check(ex.solution, settings)
    assert report.passed, failing(report)
    assert report.correct == len(ex.checked) and report.error is None and report.notes == []


@pytest.mark.parametrize("name", MAKEMORE)
def test_templates_report_every_variable_missing(name):
    ex = find(name)
    report = ex.check(ex.template)
    assert set(statuses(report).values()) == {"missing"} and not report.passed
    assert report.error is None and report.notes == []


def test_exercise1_checks_the_notebooks_26_variables_in_backward_order():
    ex = find("exercise1")
    assert len(ex.checked) == 26 and ex.checked[0] == "logprobs" and ex.checked[-1] == "C"


def test_unknown_exercise_suggests_the_closest():
    with pytest.raises(UnknownExercise, match="Did you mean exercise1"):
        find("excercise1")
    assert "exercise1" in EXERCISES


# (exercise, the solution's line, the learner's line, variables that must fail, the first of them)
MISTAKES = {
    "sign flip": ("exercise1", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = 1.0 / n", "logprobs"),
    "missing branch": ("exercise1", "dcounts += torch.ones_like(counts) * dcounts_sum\n", "\n", "counts"),
    "missing sum": (
        "exercise1",
        "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)",
        "dcounts_sum_inv = counts * dprobs",
        "counts_sum_inv",
    ),
    "transposed dW2": ("exercise1", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "W2"),
    "tanh derivative": ("exercise1", "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh", "hpreact"),
    "missing 1/(n-1)": (
        "exercise1",
        "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbndiff2 = torch.ones_like(bndiff2) * dbnvar",
        "bndiff2",
    ),
    "1/n instead of 1/(n-1)": (
        "exercise1",
        "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar",
        "bndiff2",
    ),
    "mean branch without 1/n": (
        "exercise1",
        "dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)",
        "dhprebn += torch.ones_like(hprebn) * dbnmeani",
        "hprebn",
    ),
    "dW1 not transposed": ("exercise1", "dembcat = dhprebn @ W1.T", "dembcat = dhprebn @ W1.T * 2", "embcat"),
    "cross-entropy without /n": ("exercise2", "dlogits /= n\n", "\n", "logits"),
    "batchnorm without Bessel": ("exercise3", "n / (n - 1) * bnraw", "bnraw", "hprebn"),
}


@pytest.mark.parametrize("kind", MISTAKES)
def test_mistakes_fail_first_at_the_line_that_is_wrong(kind, mistake):
    exercise, old, new, first = MISTAKES[kind]
    report = find(exercise).check(mistake(exercise, old, new))
    assert not report.passed
    assert failing(report)[0] == first
    assert statuses(report)[first] == "fail"


def test_aliasing_without_clone_corrupts_the_aliased_gradient(mistake):
    """`dhprebn = dbndiff` then `dhprebn += ...` changes dbndiff behind the learner's back."""
    report = find("exercise1").check(mistake("exercise1", "dhprebn = dbndiff.clone()", "dhprebn = dbndiff"))
    assert failing(report) == ["bndiff"]


def test_fancy_index_accumulation_loses_repeated_rows(mistake):
    source = (ROOT / "solutions" / "exercise1.py").read_text()
    loop = source[source.index("for k in range(Xb.shape[0]):") : source.index("\nif __name__") + 1]
    report = find("exercise1").check(mistake("exercise1", loop, "dC[Xb] += demb\n"))
    assert failing(report) == ["C"]


def test_wrong_shape_that_broadcasts_is_a_shape_error(mistake):
    report = find("exercise1").check(
        mistake("exercise1", "dbnmeani = (-dbndiff).sum(0)", "dbnmeani = (-dbndiff).sum(0).expand(n, -1)")
    )
    (v,) = [v for v in report.variables if v.name == "bnmeani"]
    assert v.status == "fail" and v.shape == (32, 64) and "wrong shape" in v.note


def test_missing_keepdim_passes_with_a_shape_note(mistake):
    report = find("exercise1").check(
        mistake("exercise1", "dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact.sum(0)")
    )
    (v,) = [v for v in report.variables if v.name == "bnbias"]
    assert report.passed and v.shape == (64,) and "size-1" in v.note


def test_exception_half_way_keeps_what_was_reached(mistake):
    path = mistake("exercise1", "dh = dlogits @ W2.T", "dh = dlogits @ W2")
    report = find("exercise1").check(path)
    s = statuses(report)
    assert s["logits"] == "pass" and s["h"] == "error" and s["C"] == "error"
    assert report.error.kind == "RuntimeError" and report.error.source == "dh = dlogits @ W2"
    assert path.read_text().splitlines()[report.error.line - 1] == "dh = dlogits @ W2"


def test_a_todo_before_the_crash_is_missing_not_error(mistake):
    path = mistake(
        "exercise1",
        "dlogprobs = torch.zeros_like(logprobs)\ndlogprobs[range(n), Yb] = -1.0 / n\n",
        "dlogprobs = None\n",
    )
    report = find("exercise1").check(path)
    s = statuses(report)
    assert s["logprobs"] == "missing" and s["probs"] == "error" and report.error.kind == "TypeError"


def test_syntax_error_is_a_result_with_its_line(mistake):
    report = find("exercise1").check(mistake("exercise1", "dh = dlogits @ W2.T", "dh = dlogits @@ W2.T"))
    assert report.error.kind == "SyntaxError" and report.error.line is not None
    assert set(statuses(report).values()) == {"error"}


def test_edited_forward_is_reported_and_never_passes(mistake):
    path = mistake(
        "exercise1",
        "bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)",
        "bnvar = 1 / n * (bndiff2).sum(0, keepdim=True)",
    )
    report = find("exercise1").check(path)
    assert not report.passed
    assert report.notes == [n for n in report.notes if "bnvar differs" in n] and report.notes


def test_sys_exit_in_the_learner_file_is_an_error_not_an_exit(mistake):
    report = find("exercise2").check(mistake("exercise2", "dlogits /= n\n", "dlogits /= n\nimport sys\nsys.exit(3)\n"))
    assert report.error.kind == "SystemExit" and "sys.exit(3)" in report.error.message
    assert statuses(report)["logits"] == "pass" and not report.passed


def test_what_the_file_prints_is_kept_not_shown_mid_table(mistake, capsys):
    report = find("exercise2").check(
        mistake("exercise2", "dlogits /= n\n", "dlogits /= n\nprint('loss is', loss.item())\n")
    )
    assert "loss is" in report.output and "loss is" not in capsys.readouterr().out
