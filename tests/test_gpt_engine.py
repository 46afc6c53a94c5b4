"""The GPT track through the engine and the commands: the solutions pass, the templates report
everything missing, each named mistake is found at its line, blame follows the residual stream, and
list, check, hint, init, watch, notebooks, cmp, grade and course init work on the exercises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import NINJA, ROOT, run_ninja
from test_gpt import EXERCISES as FILES
from test_gpt import GENERIC, MUTATIONS, mutated

from ninja.grade import batch as grading
from ninja.grade.sandbox import Limits
from ninja.registry import EXERCISES
from ninja.results import MISSING, PASS
from ninja.settings import Settings

NAMES = ("gpt1", "gpt2", "gpt3", "gpt4")
CACHE: dict = {}  # the references, once per exercise


def check(name: str, path: Path):
    exercise = EXERCISES[name]
    return exercise.judge(exercise.collect(Path(path)), Settings(), CACHE)


def solution(name: str) -> str:
    return (ROOT / "solutions" / f"{name}.py").read_text(encoding="utf-8")


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path


def gradient_lines(source: str, checked: str) -> set[int]:
    """The lines that assign or change d<checked>."""
    pattern = re.compile(rf"^d{checked}\b(\s*[-+*/]?=|,|\[|\.)")
    return {i for i, line in enumerate(source.splitlines(), start=1) if pattern.match(line)}


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes_and_the_template_reports_all_missing(name):
    report = check(name, ROOT / "solutions" / f"{name}.py")
    assert [v.name for v in report.variables] == list(EXERCISES[name].checked)
    assert all(v.status == PASS for v in report.variables), [(v.name, v.status) for v in report.variables]
    template = check(name, ROOT / "exercises" / f"{name}.py")
    assert all(v.status == MISSING for v in template.variables)


def root_causes(report):
    return [v for v in report.variables if v.root_cause]


@pytest.mark.parametrize("name, checked, words, right, wrong", MUTATIONS, ids=lambda x: x if len(x) < 20 else "")
def test_each_named_mistake_is_found_at_its_line(tmp_path, name, checked, words, right, wrong):
    source = mutated(solution(name), checked, right, wrong)
    report = check(name, written(tmp_path, name, source))
    first = root_causes(report)[0]
    assert (first.name, first.diagnosis_kind) == (checked, "named"), (first.name, first.diagnosis)
    assert first.diagnosis == the_name(name, checked, words)
    assert first.line in gradient_lines(source, checked)


def the_name(name: str, checked: str, words: str) -> str:
    """The whole name of the mistake of d<checked> that says `words`, as the exercise file has it."""
    (text,) = (text for text in FILES[name].MISTAKES[checked] if words in text)
    return text


@pytest.mark.parametrize("name, checked, kind, words, right, wrong", GENERIC, ids=lambda x: x if len(x) < 20 else "")
def test_the_mistakes_generic_diagnoses_name_are_found_at_their_line(
    tmp_path, name, checked, kind, words, right, wrong
):
    source = mutated(solution(name), checked, right, wrong)
    report = check(name, written(tmp_path, name, source))
    first = root_causes(report)[0]
    assert (first.name, first.diagnosis_kind) == (checked, kind), (first.name, first.diagnosis)
    assert words in first.diagnosis
    assert first.line in gradient_lines(source, checked)


def test_blame_follows_the_residual_stream_past_a_wrong_attention(tmp_path):
    """A wrong line inside block 1's attention is the one root cause; block 0's MLP, which the
    residual stream hands the error to, inherits it."""
    source = mutated(solution("gpt4"), "qkv_1", ATTENTION_SCALE[0], ATTENTION_SCALE[1])
    report = check("gpt4", written(tmp_path, "gpt4", source))
    results = {v.name: v for v in report.variables}
    assert [v.name for v in root_causes(report)] == ["qkv_1"]
    assert "1/sqrt(head size)" in results["qkv_1"].diagnosis
    for name in ("ln1_1", "residual3_0", "fcproj_0", "fch_gelu_0", "fch_0", "fcw_0", "ln2_0", "qkv_0", "wte"):
        assert results[name].status != PASS and results[name].inherited_from and not results[name].root_cause, name
    assert all(
        results[name].status == PASS for name in EXERCISES["gpt4"].checked[: EXERCISES["gpt4"].checked.index("qkv_1")]
    )


ATTENTION_SCALE = (("@ k * hs**-0.5", "@ q * hs**-0.5"), ("@ k", "@ q"))


def test_blame_inside_one_block_names_the_softmax_line(tmp_path):
    source = solution("gpt1").replace("att * (datt - (att * datt).sum(-1, keepdim=True))", "att * (1 - att) * datt")
    report = check("gpt1", written(tmp_path, "gpt1", source))
    assert [v.name for v in root_causes(report)] == ["preatt"]
    results = {v.name: v for v in report.variables}
    assert all(results[n].inherited_from for n in ("q", "k", "qkv", "ln1", "encoded", "wte"))


# ---- the commands


def test_list_check_and_hint_from_the_command_line(tmp_path):
    listed = run_ninja("list", cwd=tmp_path)
    assert all(re.search(rf"│ {name}\s+│ GPT", listed.stdout) for name in NAMES), listed.stdout

    done = run_ninja("check", "gpt3", "--file", str(ROOT / "solutions" / "gpt3.py"))
    assert done.returncode == 0 and "1/1 correct: gpt3 passes" in done.stdout, done.stdout + done.stderr
    wrong = written(tmp_path, "gpt3", solution("gpt3").replace(" * hs**-0.5\n", "\n"))
    done = run_ninja("check", "gpt3", "--file", str(wrong))
    line = min(gradient_lines(wrong.read_text(), "qkv"))
    assert done.returncode == 1 and f"{wrong}:{line}: dqkv is wrong: the 1/sqrt(head size)" in done.stdout

    hint = run_ninja("hint", "gpt1", "dpreatt", "--level", "3")
    assert hint.returncode == 0 and EXERCISES["gpt1"].hints["preatt"][2][:60] in hint.stdout.replace("\n", " ")
    hint = run_ninja("hint", "gpt3", "--file", str(wrong), "--level", "2")
    assert hint.returncode == 0 and "dqkv" in hint.stdout

    template = subprocess.run([sys.executable, str(ROOT / "exercises" / "gpt2.py")], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)  # fmt: skip
    assert template.returncode == 1 and "0/3 correct (3 missing)" in template.stdout


def test_init_writes_the_gpt_templates_and_watch_checks_them(tmp_path):
    done = run_ninja("init", str(tmp_path / "ws"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    exercises = tmp_path / "ws" / "exercises"
    for name in NAMES:
        assert (exercises / f"{name}.py").read_text() == (ROOT / "exercises" / f"{name}.py").read_text()
    child = pexpect.spawn(sys.executable, ["-m", "ninja", "watch", "gpt3"], cwd=str(tmp_path / "ws"), encoding="utf-8",
                          timeout=90, dimensions=(60, 200),
                          env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "PYTHONPATH": str(ROOT)})  # fmt: skip
    child.expect_exact("check #1")
    child.expect_exact("h hint")
    child.send("h")
    child.expect_exact("hint 1/3 for dqkv")
    fresh = exercises / "gpt3.py.tmp~"
    fresh.write_text(solution("gpt3"))
    fresh.replace(exercises / "gpt3.py")
    child.expect_exact("gpt3 passes")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def notebook(cells: list[str]) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                      for c in cells],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip


def test_a_notebook_is_checked_cell_by_cell(tmp_path):
    source = solution("gpt2")
    forward, backward = source.split("# backward pass\n")
    setup = forward.split("# forward pass, one small step a line\n")
    cells = [setup[0].split('"""', 2)[2], setup[1], backward.split('if __name__ == "__main__"')[0]]
    path = tmp_path / "mine.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    done = run_ninja("check", "gpt2", "--file", str(path))
    assert done.returncode == 0 and "3/3 correct: gpt2 passes" in done.stdout, done.stdout + done.stderr
    cells[2] = cells[2].replace(" - dnorm.mean(-1, keepdim=True)", "")
    path.write_text(json.dumps(notebook(cells)))
    done = run_ninja("check", "gpt2", "--file", str(path))
    assert done.returncode == 1 and "dresidual3 is wrong: the mean term is missing" in done.stdout.replace("\n", " ")


def test_cmp_drop_in_on_a_learners_own_gpt(tmp_path):
    """A learner's own GPT in nanoGPT's names, their own sizes, autograd's .grad as the notebook's
    cmp reads it: the drop-in says which gradient is wrong and how."""
    script = """
import torch
from ninja import cmp
torch.manual_seed(0)
B, T, C, nh = 3, 5, 12, 3
x = torch.randn(B, T, C, dtype=torch.float64, requires_grad=True)
c_attn = torch.randn(3 * C, C, dtype=torch.float64, requires_grad=True)
qkv = x @ c_attn.T
q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in qkv.split(C, dim=2))
att = (q @ k.transpose(-2, -1) * (C // nh) ** -0.5).masked_fill(torch.ones(T, T).tril() == 0, float("-inf")).softmax(-1)
y = (att @ v).transpose(1, 2).reshape(B, T, C)
for t in (qkv, att): t.retain_grad()
dy = torch.randn(B, T, C, dtype=torch.float64)
(y * dy).sum().backward()
dyh = dy.view(B, T, nh, C // nh).transpose(1, 2)
datt = dyh @ v.transpose(-2, -1)
cmp("att", datt, att)
dqkv = 2 * qkv.grad
cmp("qkv", dqkv, qkv)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^att\s+\| exact: \w+\s*\| approximate: True", done.stdout, flags=re.M), done.stdout
    assert "wrong: dqkv: it is 2 times the right value" in done.stdout


def test_grade_scores_gpt_submissions(tmp_path):
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.mkdir()
    wrong.mkdir()
    (right / "gpt3.py").write_text(solution("gpt3"))
    (wrong / "gpt3.py").write_text(solution("gpt3").replace("att * (datt - (att * datt).sum(-1, keepdim=True))",
                                                           "att * (1 - att) * datt"))  # fmt: skip
    work = grading.find_work([right, wrong], EXERCISES["gpt3"])
    plan = grading.Plan(1234, (32, 45), Limits(timeout=60, cpu_seconds=60, memory_mb=2048))
    results = {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=1)}
    assert results["right"].score == results["right"].max_score > 0, results["right"]
    assert results["wrong"].score == 0, results["wrong"]


def test_course_init_hands_out_gpt_exercises_without_their_solutions(tmp_path):
    root = tmp_path / "course"
    done = subprocess.run([str(NINJA), "course", "init", str(root), "--exercises", "gpt1,gpt3"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    student = root / "student"
    assert sorted(p.name for p in (student / "exercises").iterdir()) == ["gpt1.py", "gpt3.py"]
    assert (student / "exercises" / "gpt3.py").read_text() == (ROOT / "exercises" / "gpt3.py").read_text()
    shipped = "\n".join(p.read_text(errors="replace") for p in root.rglob("*.py"))
    assert "dpreatt = att * (datt - (att * datt).sum(-1, keepdim=True))" not in shipped


OWN_GPT = """\
import torch
B, C, V, T = 4, 32, 27, 8  # their own sizes: batch 4, n_embd 32
g = torch.Generator().manual_seed(1337)
def w(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64) / shape[-1] ** 0.5
wte, wpe = 0.3 * w(V, C) * C**0.5, 0.3 * w(T, C) * C**0.5
ln1w, ln1b, ln2w, ln2b, lnfw, lnfb = (1 + 0.1 * w(C), 0.1 * w(C), 1 + 0.1 * w(C), 0.1 * w(C), 1 + 0.1 * w(C), 0.1 * w(C))
qkvw, qkvb, attprojw, attprojb = w(3 * C, C), 0.1 * w(3 * C), w(C, C), 0.1 * w(C)
fcw, fcb, fcprojw, fcprojb = w(4 * C, C), 0.1 * w(4 * C), w(C, 4 * C), 0.1 * w(C)
idx, targets = torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)
mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
"""


def test_a_learners_own_gpt_in_a_notebook_is_checked_on_its_own_tensors(tmp_path):
    """Their own sizes, seed and batch in the set-up cell: the reference runs on their tensors."""
    source = solution("gpt1")
    forward, backward = source.split("# forward pass, one small step a line\n")[1].split("# backward pass\n")
    cells = [OWN_GPT, forward, backward.split('if __name__ == "__main__"')[0]]
    path = tmp_path / "mine.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    done = run_ninja("check", "gpt1", "--file", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked on your own parameters and batch (batch 4" in done.stdout and "52/52 correct" in done.stdout
    cells[2] = cells[2].replace("att * (datt - (att * datt).sum(-1, keepdim=True))", "att * (1 - att) * datt")
    path.write_text(json.dumps(notebook(cells)))
    done = run_ninja("check", "gpt1", "--file", str(path))
    assert done.returncode == 1 and "dpreatt is wrong: the softmax Jacobian is treated as elementwise" in " ".join(
        done.stdout.split()
    )
