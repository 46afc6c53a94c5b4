"""Verdicts you can stake a grade on (issue 20): shapes by broadcasting's own rule, blame by
statement, scripts judged like notebooks, the learner's own names, a forward check as strict as the
gradient check. Each pattern is a fixture of our own; the truth is autograd's, computed here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ninja.engine import compare, shape_mistake
from ninja.registry import find
from conftest import run_ninja, solution_with

ROOT = Path(__file__).resolve().parent.parent
TRANSPOSED_GAIN = ("dbngain = (bnraw * dhpreact).sum(0, keepdim=True)", "dbngain = (bnraw * dhpreact).sum(0)[:, None]")


def checked(path: Path, exercise: str = "exercise1", *more: str) -> tuple[int, dict]:
    """`ninja check --format json`: the exit code and the one JSON object it prints."""
    done = run_ninja("check", exercise, "--file", str(path), "--format", "json", *more, cwd=path.parent)
    return done.returncode, json.loads(done.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {v["name"]: v for v in report["variables"]}


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
    assert variables["b2"]["status"] == "fail" and variables["b2"]["line"] == source.splitlines().index(
        "db2 = dlogits.sum(0)[:, None]") + 1
    assert sum(v["status"] == "pass" for v in report["variables"]) == 24


def test_the_notebook_drop_in_cmp_fails_a_transposed_gain(tmp_path):
    script = (
        "import torch\nfrom ninja import cmp\n"
        "g = torch.randn(1, 64, requires_grad=True)\nw = torch.randn(1, 64)\n(g * w).sum().backward()\n"
        "cmp('bngain', w.T.clone(), g)\ncmp('bngain', w.view(64), g)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
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
