"""The mistake zoo: realistic one-line mistakes in the reference solutions, each blamed on exactly
the right variable with the right kind of diagnosis, every other failure inherited from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ninja.registry import find
from ninja.results import ERROR, FAIL, PASS

# (exercise, the solution's text, what the learner wrote instead, root cause, diagnosis kind)
ZOO = [
    ("exercise1", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = 1.0 / n", "logprobs", "factor"),
    ("exercise1", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0", "logprobs", "factor"),
    ("exercise1", "dprobs = (1.0 / probs) * dlogprobs", "dprobs = probs * dlogprobs", "probs", "local_rule"),
    ("exercise1", "dprobs = (1.0 / probs) * dlogprobs", "dprobs = (1.0 / dlogprobs) * dlogprobs", "probs", "nonfinite"),
    (
        "exercise1",
        "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)",
        "dcounts_sum_inv = (counts * dprobs).sum(1)",
        "counts_sum_inv",
        "keepdim",
    ),
    (
        "exercise1",
        "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)",
        "dcounts_sum_inv = (counts * dprobs).sum(0, keepdim=True)",
        "counts_sum_inv",
        "wrong_dim",
    ),
    (
        "exercise1",
        "dcounts_sum = (-(counts_sum**-2)) * dcounts_sum_inv",
        "dcounts_sum = (-(counts_sum**-1)) * dcounts_sum_inv",
        "counts_sum",
        "local_rule",
    ),
    ("exercise1", "dcounts += torch.ones_like(counts) * dcounts_sum", "", "counts", "missing_branch"),
    (
        "exercise1",
        "dnorm_logits = counts * dcounts",
        "dnorm_logits = norm_logits * dcounts",
        "norm_logits",
        "local_rule",
    ),
    ("exercise1", "dh = dlogits @ W2.T", "dh = dlogits @ W2", "h", "exception"),
    ("exercise1", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "W2", "transposed"),
    ("exercise1", "db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)", "b2", "shape"),
    ("exercise1", "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - hpreact**2) * dh", "hpreact", "tanh"),
    ("exercise1", "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh", "hpreact", "tanh"),
    (
        "exercise1",
        "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
        "dbngain = bnraw * dhpreact",
        "bngain",
        "missing_sum",
    ),
    (
        "exercise1",
        "dbnbias = dhpreact.sum(0, keepdim=True)",
        "dbnbias = dhpreact.sum(1, keepdim=True)",
        "bnbias",
        "wrong_dim",
    ),
    ("exercise1", "dbnraw = bngain * dhpreact", "dbnraw = dhpreact", "bnraw", "local_rule"),
    (
        "exercise1",
        "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv",
        "dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv",
        "bnvar",
        "factor",
    ),
    (
        "exercise1",
        "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar",
        "bndiff2",
        "factor",
    ),
    ("exercise1", "dbndiff += (2 * bndiff) * dbndiff2", "", "bndiff", "missing_branch"),
    ("exercise1", "dhprebn = dbndiff.clone()", "dhprebn = dbndiff", "bndiff", "aliasing"),
    ("exercise1", "dbnmeani = (-dbndiff).sum(0)", "dbnmeani = dbndiff.sum(0)", "bnmeani", "factor"),
    ("exercise1", "dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)", "", "hprebn", "missing_branch"),
    ("exercise1", "dembcat = dhprebn @ W1.T", "dembcat = dhprebn @ W1", "embcat", "exception"),
    ("exercise1", "dW1 = embcat.T @ dhprebn", "dW1 = dhprebn.T @ embcat", "W1", "transposed"),
    ("exercise1", "db1 = dhprebn.sum(0)", "db1 = dhprebn", "b1", "missing_sum"),
    ("exercise1", "demb = dembcat.view(emb.shape)", "demb = dembcat.view(emb.shape[0], 10, 3)", "emb", "view"),
    (
        "exercise1",
        "for k in range(Xb.shape[0]):\n    for j in range(Xb.shape[1]):\n        ix = Xb[k, j]\n"
        "        dC[ix] += demb[k, j]",
        "dC[Xb] += demb",
        "C",
        "accumulation",
    ),
    ("exercise2", "dlogits /= n", "", "logits", "factor"),
    ("exercise2", "dlogits = F.softmax(logits, 1)", "dlogits = F.softmax(logits, 0)", "logits", "softmax_dim"),
    ("exercise2", "dlogits[range(n), Yb] -= 1", "", "logits", "labels"),
    ("exercise2", "dlogits /= n", "dlogits /= n * n", "logits", "factor"),
    ("exercise2", "dlogits /= n", "dlogits /= -n", "logits", "factor"),
    ("exercise2", "dlogits[range(n), Yb] -= 1", "dlogits[range(n), Yb] -= 1 / n", "logits", "local_rule"),
    ("exercise3", "dhprebn = bngain * bnvar_inv / n * (", "dhprebn = bngain * bnvar_inv * (", "hprebn", "factor"),
    ("exercise3", "n * dhpreact - dhpreact.sum(0) -", "n * dhpreact - dhpreact.sum(1) -", "hprebn", "exception"),
    ("exercise3", "- n / (n - 1) * bnraw *", "- bnraw *", "hprebn", "bessel"),
    ("exercise3", "- n / (n - 1) * bnraw *", "- (n - 1) / n * bnraw *", "hprebn", "bessel"),
    ("exercise3", "n * dhpreact - dhpreact.sum(0) -", "n * dhpreact -", "hprebn", "missing_term"),
    ("exercise3", "- n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0)", "", "hprebn", "missing_term"),
    (
        "exercise3",
        "dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0)",
        "dhpreact.sum(1, keepdim=True) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(1, keepdim=True)",
        "hprebn",
        "wrong_dim",
    ),
    (
        "exercise3",
        "n * dhpreact - dhpreact.sum(0) -",
        "n * dhpreact - dhpreact.sum(1, keepdim=True) -",
        "hprebn",
        "wrong_dim",
    ),
    ("exercise3", "(dhpreact * bnraw).sum(0))", "(dhpreact * bnraw).sum(1, keepdim=True))", "hprebn", "wrong_dim"),
    (
        "exercise3",
        "(n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))",
        "(dhpreact.sum(0) - n * dhpreact + n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))",
        "hprebn",
        "factor",
    ),
]


def mistake_file(tmp_path: Path, exercise: str, right: str, wrong: str) -> Path:
    source = find(exercise).solution.read_text()
    assert source.count(right) == 1, f"{right!r} is not one place in the solution"
    path = tmp_path / f"{exercise}.py"
    path.write_text(source.replace(right, wrong))
    return path


@pytest.mark.parametrize("exercise, right, wrong, root, kind", ZOO, ids=[f"{z[0]}-{z[3]}-{z[4]}" for z in ZOO])
def test_mistake_is_blamed_on_its_own_line(tmp_path, exercise, right, wrong, root, kind):
    report = find(exercise).check(mistake_file(tmp_path, exercise, right, wrong))
    results = {v.name: v for v in report.variables}
    blamed = [v.name for v in report.variables if v.root_cause]
    assert blamed == [root], [(v.name, v.status, v.diagnosis) for v in report.variables if v.root_cause]
    assert results[root].status in (FAIL, ERROR)
    assert results[root].diagnosis_kind == kind, results[root].diagnosis
    for v in report.variables:
        if v.name != root and v.status in (FAIL, ERROR):
            assert v.inherited_from == root, (v.name, v.status, v.inherited_from, v.diagnosis)


def test_aliasing_is_reported_even_where_the_values_still_pass(tmp_path):
    # the += on dlogits adds the logit_maxes branch, which is ~1e-9: dnorm_logits still passes
    path = mistake_file(tmp_path, "exercise1", "dlogits = dnorm_logits.clone()", "dlogits = dnorm_logits")
    report = find("exercise1").check(path)
    results = {v.name: v for v in report.variables}
    assert not any(v.root_cause for v in report.variables)
    for name in ("norm_logits", "logits"):
        assert results[name].status == PASS
        assert results[name].diagnosis_kind == "aliasing"
        assert ".clone()" in results[name].diagnosis


def test_a_missing_upstream_gradient_is_assumed_right(tmp_path):
    source = find("exercise1").solution.read_text()
    source = source.replace("dcounts_sum = (-(counts_sum**-2)) * dcounts_sum_inv", "dcounts_sum = None")
    source = source.replace("dcounts += torch.ones_like(counts) * dcounts_sum", "")
    path = tmp_path / "exercise1.py"
    path.write_text(source)
    counts = {v.name: v for v in find("exercise1").check(path).variables}["counts"]
    assert counts.root_cause and counts.diagnosis_kind == "missing_branch"
    assert "through counts_sum" in counts.diagnosis and "assuming dcounts_sum" in counts.diagnosis


def test_a_passing_file_has_no_blame_and_points_at_each_line():
    report = find("exercise1").check(find("exercise1").solution)
    assert report.passed
    assert not any(v.root_cause or v.inherited_from or v.diagnosis for v in report.variables)
    lines = find("exercise1").solution.read_text().splitlines()
    for v in report.variables:  # the last line that assigns or changes d<name>
        assert lines[v.line - 1].lstrip().startswith((f"d{v.name} ", f"d{v.name}[", "for k in"))
    line = {v.name: v.line for v in report.variables}
    assert lines[line["counts"] - 1].startswith("dcounts +=")  # the +=, after dcounts_sum's line
    assert line["counts"] > line["counts_sum"]


def test_consumers_come_from_the_forward_itself():
    from ninja import makemore
    from ninja.tapped import blame

    ex1 = find("exercise1")
    outputs, leaves = makemore.cut_forward(makemore.Settings(), ex1.checked)
    used_by = blame.consumers(outputs, leaves)
    assert used_by["counts"] == ["counts_sum", "probs"]
    assert used_by["hprebn"] == ["bnmeani", "bndiff"]
    assert used_by["logprobs"] == ["loss"] and used_by["W2"] == ["logits"] and used_by["C"] == ["emb"]
    outputs, leaves = makemore.cut_forward(makemore.Settings(), find("exercise2").checked)
    assert blame.consumers(outputs, leaves) == {"logits": ["loss"]}


def ninja(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250"}  # a wide terminal: table cells and pointers unwrapped
    return subprocess.run([sys.executable, "-m", "ninja", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_cli_json_github_and_table_name_the_root_cause(tmp_path):
    path = mistake_file(tmp_path, "exercise1", "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv",
                        "dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv")  # fmt: skip
    line = path.read_text().splitlines().index("dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv") + 1

    done = ninja("check", "exercise1", "--file", str(path), "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    variables = {v["name"]: v for v in json.loads(done.stdout)["variables"]}
    assert variables["bnvar"]["root_cause"] is True and variables["bnvar"]["line"] == line
    assert variables["bnvar"]["diagnosis_kind"] == "factor" and "sign" in variables["bnvar"]["diagnosis"]
    assert variables["bndiff"]["inherited_from"] == "bnvar" and variables["bndiff"]["root_cause"] is False
    assert variables["probs"]["inherited_from"] is None and variables["probs"]["diagnosis"] is None

    done = ninja("check", "exercise1", "--file", str(path), "--format", "github", cwd=tmp_path)
    assert done.returncode == 1
    errors = [x for x in done.stdout.splitlines() if x.startswith("::error ")]
    assert errors == [f"::error file={path},line={line},title=dbnvar is wrong::" + variables["bnvar"]["diagnosis"]]

    done = ninja("check", "exercise1", "--file", str(path), cwd=tmp_path)
    assert done.returncode == 1
    rows = [x for x in done.stdout.splitlines() if x.startswith("│ d")]
    assert rows[0].startswith("│ dbnvar ")  # the table leads with the root cause
    assert "inherits from dbnvar" in done.stdout  # the name the learner wrote, as grade says it
    assert f"{path}:{line}: dbnvar is wrong: the sign is flipped" in done.stdout


def test_a_gradient_that_is_not_a_tensor_is_the_root_cause_not_the_line_that_trips_on_it(tmp_path):
    path = mistake_file(tmp_path, "exercise1", "dprobs = (1.0 / probs) * dlogprobs", 'dprobs = "todo"')
    report = find("exercise1").check(path)
    assert [v.name for v in report.variables if v.root_cause] == ["probs"]
    assert {v.name: v for v in report.variables}["probs"].diagnosis_kind == "type"
    assert report.error is not None  # the next line raised on it, and inherits
    assert all(v.inherited_from == "probs" for v in report.variables if v.status in (FAIL, ERROR) and v.name != "probs")


def test_a_changed_forward_blames_nothing(tmp_path):
    path = mistake_file(tmp_path, "exercise1", "bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)",
                        "bnvar = bndiff2.mean(0, keepdim=True)")  # fmt: skip
    report = find("exercise1").check(path)
    assert not report.forward_ok and not report.passed
    assert not any(v.root_cause or v.inherited_from for v in report.variables)


def test_nan_and_inf_are_counted_apart(tmp_path):
    """1/dlogprobs is inf where dlogprobs is 0, and inf * 0 is NaN: 832 NaN, and no inf to count."""
    source = find("exercise1").solution.read_text()
    path = tmp_path / "exercise1.py"
    path.write_text(source.replace("dprobs = (1.0 / probs) * dlogprobs", "dprobs = (1.0 / dlogprobs) * dlogprobs"))
    (probs,) = [v for v in find("exercise1").check(path).variables if v.name == "probs"]
    assert probs.diagnosis_kind == "nonfinite" and f"{32 * 26} NaN of" in probs.diagnosis
