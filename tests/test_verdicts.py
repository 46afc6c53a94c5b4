"""Verdicts you can stake a grade on (issue 20): shapes by broadcasting's own rule, blame by
statement, scripts judged like notebooks, the learner's own names, a forward check as strict as the
gradient check. Each pattern is a fixture of our own; the truth is autograd's, computed here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import run_ninja, solution_with

from ninja.engine import compare, shape_mistake
from ninja.registry import find

ROOT = Path(__file__).resolve().parent.parent
TRANSPOSED_GAIN = ("dbngain = (bnraw * dhpreact).sum(0, keepdim=True)", "dbngain = (bnraw * dhpreact).sum(0)[:, None]")


def checked(path: Path, exercise: str = "exercise1", *more: str) -> tuple[int, dict]:
    """`ninja check --format json`: the exit code and the one JSON object it prints."""
    done = run_ninja("check", exercise, "--file", str(path), "--format", "json", *more, cwd=path.parent)
    return done.returncode, json.loads(done.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {v["name"]: v for v in report["variables"]}


def python(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """A notebook's cells as one script, run as Python runs it (`from ninja import cmp` in it)."""
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120)


# ---- 1. shapes by broadcasting's own rule ----


@pytest.mark.parametrize(
    "got, expected, words",
    [
        ((64, 1), (1, 64), "transposed: (64, 1) for (1, 64)"),
        ((27, 1), (27,), "(27, 1) for (27,) broadcasts to (27, 27)"),
        ((32, 64), (1, 64), "(32, 64) for (1, 64): a missing sum"),
        ((32, 64), (64,), "(32, 64) for (64,): a missing sum"),
        ((32,), (32, 1), "(32,) for (32, 1) broadcasts to (32, 32)"),
        ((3, 4), (4, 5), "(3, 4) for (4, 5)"),
    ],
)
def test_a_shape_that_updates_its_variable_differently_fails_by_name(got, expected, words):
    r = compare("x", torch.randn(got, dtype=torch.float64), torch.randn(expected, dtype=torch.float64))
    assert r.status == "fail" and r.note == f"wrong shape: {words}"
    assert shape_mistake(got, expected) == words


@pytest.mark.parametrize("got, expected", [((64,), (1, 64)), ((1, 64), (64,)), ((1, 1, 27), (27,)), ((27,), (27,))])
def test_leading_size_one_dims_update_alike_and_pass(got, expected):
    truth = torch.randn(expected, dtype=torch.float64)
    r = compare("x", truth.reshape(got), truth)
    assert r.status == "pass" and shape_mistake(got, expected) is None
    updated = torch.zeros(expected, dtype=torch.float64) - 0.1 * truth.reshape(got)  # p - lr * g
    assert updated.numel() == truth.numel() and torch.equal(updated.reshape(expected), -0.1 * truth)


def test_check_fails_a_transposed_gain_and_a_column_bias(tmp_path):
    path = solution_with(tmp_path, "exercise1", *TRANSPOSED_GAIN)
    source = path.read_text().replace("db2 = dlogits.sum(0)\n", "db2 = dlogits.sum(0)[:, None]\n")
    path.write_text(source)
    code, report = checked(path)
    variables = by_name(report)
    assert code == 1 and report["passed"] is False
    assert variables["bngain"]["status"] == "fail" and "transposed: (64, 1) for (1, 64)" in variables["bngain"]["note"]
    assert variables["bngain"]["root_cause"] and variables["bngain"]["diagnosis_kind"] == "transposed"
    assert "(27, 1) for (27,) broadcasts to (27, 27)" in variables["b2"]["note"]
    assert (
        variables["b2"]["status"] == "fail"
        and variables["b2"]["line"] == source.splitlines().index("db2 = dlogits.sum(0)[:, None]") + 1
    )
    assert sum(v["status"] == "pass" for v in report["variables"]) == 24


def test_the_notebook_drop_in_cmp_fails_a_transposed_gain(tmp_path):
    script = (
        "import torch\nfrom ninja import cmp\n"
        "g = torch.randn(1, 64, requires_grad=True)\nw = torch.randn(1, 64)\n(g * w).sum().backward()\n"
        "cmp('bngain', w.T.clone(), g)\ncmp('bngain', w.view(64), g)\n"
    )
    done = python(script, tmp_path)
    first, second = [line for line in done.stdout.splitlines() if line.startswith("bngain")]
    assert "approximate: False" in first and "approximate: True" in second
    assert "dbngain: wrong shape: transposed: (64, 1) for (1, 64)" in done.stdout


def test_exercise4_refuses_to_train_on_a_transposed_gain(tmp_path):
    path = solution_with(tmp_path, "exercise4", *TRANSPOSED_GAIN)
    done = run_ninja("check", "exercise4", "--file", str(path), "--steps", "5", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "transposed: (64, 1) for (1, 200)" not in done.stdout  # exercise 4's network is (1, 200)
    assert "transposed: (200, 1) for (1, 200)" in done.stdout
    assert "steps on" not in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_grading_fails_a_transposed_gain(tmp_path):
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    (tmp_path / "learner").mkdir()
    solution_with(tmp_path / "learner", "exercise1", *TRANSPOSED_GAIN)
    work = grading.find_work([tmp_path / "learner"], None)
    plan = grading.Plan(1234, (32, 45), Limits(timeout=20, cpu_seconds=20, memory_mb=2048), audit="warn")
    (result,) = grading.grade(work, plan, jobs=1)
    gain = next(t for t in result.tests if t.name == "dbngain")
    assert result.score < result.max_score and not gain.passed and gain.status == "fail"
    assert "transposed: (64, 1) for (1, 64)" in gain.output and gain.root_cause and gain.kind == "transposed"


# ---- the truth, by autograd, independent of ninja's engine ----


def autograd_truth(path: Path) -> dict[str, bool]:
    """Run the learner's file as Python runs it and say, for each of its gradients, whether it
    equals autograd's on its own tensors (leading size-1 dims aside)."""
    import runpy

    from ninja.makemore import forward
    from ninja.makemore.mlp import PARAMETER_NAMES

    space = runpy.run_path(str(path), run_name="__truth__")
    params = {k: space[k].detach().clone().requires_grad_() for k in PARAMETER_NAMES}
    kept = {}

    def tap(name, t):
        if name != "loss":
            t.retain_grad()
            kept[name] = t
        return t

    forward(**params, Xb=space["Xb"], Yb=space["Yb"], tap=tap).backward()
    truth = {name: t.grad for name, t in kept.items()} | {name: p.grad for name, p in params.items()}
    right = {}
    for name, grad in truth.items():
        mine = space.get(f"d{name}")
        right[name] = torch.is_tensor(mine) and mine.numel() == grad.numel() and shape_mistake(
            mine.shape, grad.shape) is None and torch.allclose(mine.reshape(grad.shape), grad)  # fmt: skip
    return right


# ---- 2. blame by statement ----

# (the solution's statement, the learner's, the variable): a mistake in the first of two statements
FIRST_OF_TWO = [
    ("dcounts = counts_sum_inv * dprobs", "dcounts = -counts_sum_inv * dprobs", "counts", "factor"),
    ("dbndiff = bnvar_inv * dbnraw", "dbndiff = bnvar_inv * dbnraw * 2", "bndiff", "factor"),
    ("dlogits = dnorm_logits.clone()", "dlogits = dnorm_logits.clone() * 2", "logits", "factor"),
    ("dhprebn = dbndiff.clone()", "dhprebn = dbndiff.clone() / n", "hprebn", "factor"),
    ("dC = torch.zeros_like(C)", "dC = torch.ones_like(C)", "C", "local_rule"),
]


@pytest.mark.parametrize("right, wrong, name, kind", FIRST_OF_TWO, ids=[f[2] for f in FIRST_OF_TWO])
def test_the_first_wrong_statement_is_the_root_cause(tmp_path, right, wrong, name, kind):
    path = solution_with(tmp_path, "exercise1", right, wrong)
    truth = autograd_truth(path)
    assert not truth[name]
    report = find("exercise1").check(path)
    results = {v.name: v for v in report.variables}
    assert [v.name for v in report.variables if v.root_cause] == [name]
    assert path.read_text().splitlines()[results[name].line - 1] == wrong
    assert results[name].diagnosis_kind == kind, results[name].diagnosis
    for other, v in results.items():  # every verdict is autograd's
        assert (v.status == "pass") == truth[other], other


def test_a_mistake_in_the_second_statement_stays_on_the_second(tmp_path):
    wrong = "dcounts += torch.ones_like(counts) * dcounts_sum * 2"
    path = solution_with(tmp_path, "exercise1", "dcounts += torch.ones_like(counts) * dcounts_sum", wrong)
    counts = {v.name: v for v in find("exercise1").check(path).variables}["counts"]
    assert counts.root_cause and path.read_text().splitlines()[counts.line - 1] == wrong


def test_aliasing_is_blamed_at_the_line_that_aliases(tmp_path):
    path = solution_with(tmp_path, "exercise1", "dhprebn = dbndiff.clone()", "dhprebn = dbndiff")
    report = find("exercise1").check(path)
    (blamed,) = [v for v in report.variables if v.root_cause]
    assert blamed.diagnosis_kind == "aliasing"
    assert path.read_text().splitlines()[blamed.line - 1] == "dhprebn = dbndiff"


def test_hint_github_and_grading_point_at_the_first_wrong_statement(tmp_path):
    right, wrong = "dbndiff = bnvar_inv * dbnraw", "dbndiff = bnvar_inv * dbnraw * 2"
    path = solution_with(tmp_path, "exercise1", right, wrong)
    line = path.read_text().splitlines().index(wrong) + 1
    done = run_ninja("check", "exercise1", "--file", str(path), "--format", "github", cwd=tmp_path)
    assert f"::error file={path},line={line},title=dbndiff is wrong::" in done.stdout
    done = run_ninja("hint", "exercise1", "--file", str(path), cwd=tmp_path)
    assert done.stdout.startswith(f"{path}:{line}: dbndiff is wrong"), done.stdout

    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    work = grading.find_work([tmp_path], None)
    plan = grading.Plan(1234, (32, 45), Limits(timeout=20, cpu_seconds=20, memory_mb=2048), audit="warn")
    (result,) = grading.grade(work, plan, jobs=1)
    (blamed,) = [t for t in result.tests if t.root_cause]
    assert blamed.name == "dbndiff" and blamed.line == line and blamed.code == wrong


# ---- 3. scripts as notebooks ----

SOLUTION = (ROOT / "solutions" / "exercise1.py").read_text()
FORWARD_AND_BACKWARD = "# forward pass" + SOLUTION.split("# forward pass", 1)[1].split('if __name__ == "__main__"')[0]
OWN_SETUP = """import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(42)
C = torch.randn((27, 10), generator=g, dtype=torch.float64)
W1 = torch.randn((30, 64), generator=g, dtype=torch.float64) * 0.2
b1 = torch.randn(64, generator=g, dtype=torch.float64) * 0.1
W2 = torch.randn((64, 27), generator=g, dtype=torch.float64) * 0.1
b2 = torch.randn(27, generator=g, dtype=torch.float64) * 0.1
bngain = torch.randn((1, 64), generator=g, dtype=torch.float64) * 0.1 + 1.0
bnbias = torch.randn((1, 64), generator=g, dtype=torch.float64) * 0.1
Xb = torch.randint(0, 27, (32, 3), generator=g)
Yb = torch.randint(0, 27, (32,), generator=g)
n = 32

"""
DOUBLED_VAR_INV = (
    "dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)",
    "dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True) * 2",
)
TRAINING = """
for step in range(2):  # exercise 4's loop: new batch, new parameters, new gradients
    Xb = torch.randint(0, 27, (16, 3))
    C = torch.randn(27, 10)
    emb = C[Xb]
    dC = torch.zeros_like(C)
    for p in [C]:
        p.data += -0.1 * dC
"""


def test_a_script_whose_setup_fails_falls_back_to_the_template_forward(tmp_path):
    setup = (
        "import torch\nimport torch.nn.functional as F\ntry:\n    from .MLP import MLP\nexcept ImportError:\n"
        "    from MLP import MLP\n\nwords = open('data.txt').read().splitlines()\n"
        "X = torch.tensor([[ord(c) % 27 for c in w[:3]] for w in words])\n"
        "Y = torch.tensor([ord(w[3]) % 27 for w in words])\nix = torch.randint(0, X.shape[0], (32,))\n"
        "Xb, Yb = X[ix], Y[ix]\nn = 32\n\n"
    )
    path = tmp_path / "my_backprop.py"
    path.write_text(setup + FORWARD_AND_BACKWARD.replace(*DOUBLED_VAR_INV))
    code, report = checked(path)
    assert code == 1
    notes = " ".join(report["notes"])
    assert "your script's set-up does not run here" in notes and "No module named 'MLP'" in notes
    assert "relative import" not in notes
    variables = by_name(report)
    assert [v["name"] for v in report["variables"] if v["root_cause"]] == ["bnvar_inv"]
    line = path.read_text().splitlines().index("dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True) * 2") + 1
    assert variables["bnvar_inv"]["line"] == line and variables["bnvar_inv"]["cell"] is None
    # the same lines after the template's forward: autograd's truth
    (tmp_path / "truth").mkdir()
    truth = autograd_truth(solution_with(tmp_path / "truth", "exercise1", *DOUBLED_VAR_INV))
    assert {name: v["status"] == "pass" for name, v in variables.items()} == truth


def test_grading_judges_a_scripts_backward_after_the_template_forward_as_check_does(tmp_path):
    """A script with its own set-up passes `ninja check` (on its own tensors, or on the template's
    forward where its set-up cannot run); grading, which judges on ninja's tensors alone, must not
    give it 0 for a changed forward or for the open() of its set-up."""
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    reads_names = "import torch\nimport torch.nn.functional as F\nwords = open('names.txt').read().splitlines()\n\n"
    scripts = {
        "runs": OWN_SETUP + FORWARD_AND_BACKWARD,
        "reads_a_file": reads_names + FORWARD_AND_BACKWARD,
        "wrong": OWN_SETUP + FORWARD_AND_BACKWARD.replace(*DOUBLED_VAR_INV),
    }
    for name, text in scripts.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "exercise1.py").write_text(text)
    (tmp_path / "reads_a_file" / "names.txt").write_text("emma\nolivia\n")
    work = grading.find_work([tmp_path / name for name in scripts], find("exercise1"))
    plan = grading.Plan(1234, (32, 45), Limits(timeout=20, cpu_seconds=20, memory_mb=2048), audit="enforce")
    results = {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=1)}
    assert results["runs"].score == results["runs"].max_score == 26, results["runs"].message
    assert results["reads_a_file"].score == 26, results["reads_a_file"].message
    wrong = results["wrong"]
    assert wrong.score < 26 and [t.name for t in wrong.tests if t.root_cause] == ["dbnvar_inv"]
    line = scripts["wrong"].splitlines().index(DOUBLED_VAR_INV[1]) + 1
    assert next(t for t in wrong.tests if t.root_cause).line == line  # the script's own line


@pytest.mark.parametrize("guarded", [False, True], ids=["module", "main-block"])
def test_the_state_checked_is_the_one_the_backward_left_not_after_training(tmp_path, guarded):
    body = OWN_SETUP + FORWARD_AND_BACKWARD + TRAINING
    if guarded:
        body = "import torch\nimport torch.nn.functional as F\n\nif __name__ == '__main__':\n" + "\n".join(
            f"    {line}" if line.strip() else "" for line in body.splitlines())  # fmt: skip
    path = tmp_path / "my_backprop.py"
    path.write_text(body)
    code, report = checked(path)
    assert code == 0, report
    assert report["passed"] and not any("forward pass changed" in note for note in report["notes"])
    assert any("your own parameters and batch (batch 32" in note for note in report["notes"])


def test_a_notebooks_own_folder_is_importable(tmp_path):
    from nbformat import write
    from nbformat.v4 import new_code_cell, new_notebook

    (tmp_path / "mymodel.py").write_text(OWN_SETUP)
    cells = ["from mymodel import *", FORWARD_AND_BACKWARD.split("# backward pass")[0],
             "# backward pass" + FORWARD_AND_BACKWARD.split("# backward pass")[1]]  # fmt: skip
    path = tmp_path / "backprop.ipynb"
    write(new_notebook(cells=[new_code_cell(c) for c in cells]), str(path))
    code, report = checked(path)
    assert code == 0, report
    assert any("your own parameters and batch (batch 32" in note for note in report["notes"]), report["notes"]


# ---- 4. roles and names ----


def own_script(tmp_path: Path, *, names=()) -> Path:
    """A learner's script with tensors of its own, and an int column of the batch defined before its
    labels (a decoy of the labels' shape and range); `names` renames (old, new) in its code."""
    setup = OWN_SETUP.replace("Yb = torch", "first = Xb[:, 0].clone()\nYb = torch")
    source = setup + FORWARD_AND_BACKWARD
    for old, new in names:
        source = re.sub(rf"\b{old}\b", new, source)
    path = tmp_path / "own.py"
    path.write_text(source)
    return path


def test_labels_are_found_by_role_whatever_their_name(tmp_path):
    path = own_script(tmp_path, names=[("Yb", "yb"), ("Xb", "xb")])
    code, report = checked(path)
    assert code == 0, [n for n in report["notes"]]
    assert any("xb for Xb, yb for Yb" in note for note in report["notes"])


def test_a_near_name_that_differs_by_a_leading_size_one_dim_is_taken(tmp_path):
    path = solution_with(tmp_path, "exercise1", "dbnmeani = (-dbndiff).sum(0)", "dbnmean1 = (-dbndiff).sum(0)")
    source = path.read_text().replace("torch.ones_like(hprebn) * dbnmeani", "torch.ones_like(hprebn) * dbnmean1")
    path.write_text(source)
    code, report = checked(path)
    assert code == 0 and "dbnmeani: taken from dbnmean1, a near name (rename it dbnmeani)" in report["notes"]
    assert by_name(report)["bnmeani"]["shape"] == [64] and by_name(report)["bnmeani"]["expected_shape"] == [1, 64]


def test_a_cell_that_raised_is_named_as_raising_not_as_a_wrong_rule(tmp_path):
    from nbformat import write
    from nbformat.v4 import new_code_cell, new_notebook

    backward = FORWARD_AND_BACKWARD.split("# backward pass")[1]
    first, rest = backward.split("dprobs = ", 1)
    first = "# backward pass" + first.replace("Yb", "yb")
    cells = ["import torch\nwords = open('names.txt').read().splitlines()", first, "dprobs = " + rest]
    path = tmp_path / "backprop.ipynb"
    write(new_notebook(cells=[new_code_cell(c) for c in cells]), str(path))
    code, report = checked(path)
    logprobs = by_name(report)["logprobs"]
    assert code == 1 and logprobs["root_cause"] and logprobs["diagnosis_kind"] == "exception"
    assert "NameError: name 'yb' is not defined" in logprobs["diagnosis"]
    assert logprobs["cell"].startswith("code cell 2") and logprobs["line"] == first.splitlines().index(
        "dlogprobs[range(n), yb] = -1.0 / n") + 1  # fmt: skip


# ---- 5. the forward check as strict as the gradient check can see ----

EDITED_EPS = ("bnvar_inv = (bnvar + 1e-5) ** -0.5", "bnvar_inv = (bnvar - 1e-5) ** -0.5")
FLOAT32_REWRITES = [  # the same forward, rounded another way: no change
    ("bnmeani = 1 / n * hprebn.sum(0, keepdim=True)", "bnmeani = hprebn.mean(0, keepdim=True)"),
    ("bnvar_inv = (bnvar + 1e-5) ** -0.5", "bnvar_inv = torch.rsqrt(bnvar + 1e-5)"),
    ("counts_sum_inv = counts_sum**-1", "counts_sum_inv = 1.0 / counts_sum"),
    ("bndiff2 = bndiff**2", "bndiff2 = bndiff * bndiff"),
]


def float32_script(tmp_path: Path, *edits: tuple[str, str], seed: int = 42) -> Path:
    source = OWN_SETUP.replace(", dtype=torch.float64", "").replace("manual_seed(42)", f"manual_seed({seed})")
    source += FORWARD_AND_BACKWARD
    for old, new in edits:
        assert old in source
        source = source.replace(old, new)
    path = tmp_path / f"float32_{seed}.py"
    path.write_text(source)
    return path


def test_an_edit_under_the_old_forward_tolerance_is_named_at_its_line(tmp_path):
    path = float32_script(tmp_path, EDITED_EPS)
    code, report = checked(path)
    line = path.read_text().splitlines().index(EDITED_EPS[1]) + 1
    assert code == 1 and not report["passed"]
    changed = [note for note in report["notes"] if note.startswith("forward pass changed")]
    assert changed and f"bnvar_inv differs from the reference at {path}:{line}: `{EDITED_EPS[1]}`" in changed[0]
    assert not any(v["root_cause"] for v in report["variables"])  # no dW2 blamed, no float16 suggested
    # the truth: every gradient is right for the learner's own forward, none for the trusted one
    assert not all(autograd_truth(path).values())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_float32_forward_rounded_another_way_is_no_change(tmp_path, seed):
    code, report = checked(float32_script(tmp_path, *FLOAT32_REWRITES, seed=seed))
    assert code == 0 and report["passed"], report["notes"]


def test_a_float64_template_with_the_edit_is_named_too(tmp_path):
    path = solution_with(tmp_path, "exercise1", *EDITED_EPS)
    code, report = checked(path)
    assert code == 1 and any("bnvar_inv differs from the reference at" in note for note in report["notes"])


# ---- 6. messages ----


def notebook(tmp_path: Path, *cells: str, name: str = "backprop.ipynb") -> Path:
    from nbformat import write
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / name
    write(new_notebook(cells=[new_code_cell(c) for c in cells]), str(path))
    return path


@pytest.mark.parametrize("args", [("exercise3",), ("exercise9",)], ids=["no-cell", "unknown-exercise"])
def test_json_prints_one_object_on_a_usage_error_too(tmp_path, args):
    path = notebook(tmp_path, "import torch\nx = 1")
    done = run_ninja("check", *args, "--file", str(path), "--format", "json", cwd=tmp_path)
    assert done.returncode == 2
    report = json.loads(done.stdout)  # one object, nothing else
    assert report["passed"] is False and report["exit_code"] == 2 and report["error"]["kind"] == "UsageError"
    assert report["error"]["message"] in done.stderr


SYNTAX_ERROR_EX3 = "dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)"


def test_a_syntax_error_in_an_exercise3_cell_is_the_answer(tmp_path):
    path = notebook(tmp_path, "import torch", SYNTAX_ERROR_EX3)
    code, report = checked(path, "exercise3")
    assert code == 1 and report["error"]["kind"] == "SyntaxError" and report["error"]["cell"].startswith("code cell 2")
    done = run_ninja("check", "exercise3", "--file", str(path), "--format", "github", cwd=tmp_path)
    (error,) = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    assert "line=" not in error.split("::")[1] and "code cell 2" in error  # no line of the raw .ipynb JSON


def test_grading_a_notebook_names_its_cells_not_the_job_folder(tmp_path):
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    backward = FORWARD_AND_BACKWARD.split("# backward pass")[1]
    first, rest = backward.split("dprobs = ", 1)
    (tmp_path / "alice").mkdir()
    notebook(tmp_path / "alice", "x = 1", "# backward" + first.replace("Yb", "yb"), "dprobs = " + rest)
    work = grading.find_work([tmp_path / "alice"], find("exercise1"))
    plan = grading.Plan(1234, (32, 45), Limits(timeout=20, cpu_seconds=20, memory_mb=2048), audit="warn")
    (result,) = grading.grade(work, plan, jobs=1)
    assert "NameError" in result.message and "code cell 2" in result.message
    assert "ninja-grade" not in result.message and "job-" not in result.message


def test_autograd_after_the_backward_is_the_scripts_business(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(OWN_SETUP.replace("torch.float64)", "torch.float64, requires_grad=True)") + FORWARD_AND_BACKWARD
                    + "\nloss.backward()\nprint((dC - C.grad).abs().max())\n")  # fmt: skip
    code, report = checked(path)
    assert code == 0 and not any(".backward()" in note for note in report["notes"]), report["notes"]
    path.write_text(path.read_text().replace("dW2 = h.T @ dlogits", "dW2 = W2.grad"))
    code, report = checked(path)
    assert any(f"{path}:" in note and ".grad or .backward() in your backward" in note for note in report["notes"])


def test_a_plain_shape_error_is_not_called_a_wrong_rule(tmp_path):
    code, report = checked(solution_with(tmp_path, "exercise1", "db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)"))
    b2 = by_name(report)["b2"]
    assert b2["root_cause"] and b2["diagnosis"] == "db2: wrong shape, (32,) for (27,)"


def test_cmp_says_a_failure_may_be_inherited_after_an_earlier_one(tmp_path):
    script = (
        "import torch\nfrom ninja import cmp\n"
        "x = torch.randn(4, 5, requires_grad=True)\nh = torch.tanh(x)\nh.retain_grad()\n(h * 3).sum().backward()\n"
        "dh = torch.full_like(h, 6.0)\ncmp('h', dh, h)\ndx = (1 - h**2) * dh\ncmp('x', dx, x)\n"
    )
    done = python(script, tmp_path)
    assert "wrong: dh: it is 2 times the right value" in done.stdout
    assert "but dh failed above: this may be inherited from it" in done.stdout


EX3_UNDER_THEIR_NAMES = (
    "dh_pre_batch_norm = bngain * bnvar_inv / n * (n * dh_pre_act - dh_pre_act.sum(0) - n / (n - 1)"
    " * bnraw * (dh_pre_act * bnraw).sum(0))"
)


@pytest.mark.parametrize("factor, passes", [("", True), (" * 2", False)], ids=["right", "doubled"])
def test_exercise3_is_found_under_the_names_exercise1_matched(tmp_path, factor, passes):
    forward, backward = FORWARD_AND_BACKWARD.split("# backward pass")

    def theirs(text: str) -> str:
        for role, name in (("hprebn", "h_pre_batch_norm"), ("hpreact", "h_pre_act")):
            text = re.sub(rf"\b(d?){role}\b", rf"\g<1>{name}", text)
        return text

    path = notebook(tmp_path, OWN_SETUP, theirs(forward), theirs("# backward pass" + backward),
                    EX3_UNDER_THEIR_NAMES + factor)  # fmt: skip
    code, report = checked(path, "exercise3")
    assert (code, report["passed"]) == ((0, True) if passes else (1, False)), report["notes"]
    assert any("dh_pre_batch_norm for dhprebn" in note for note in report["notes"])
    assert by_name(report)["hprebn"]["cell"].startswith("code cell 4")
