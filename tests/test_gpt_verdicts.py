"""Verdicts on the GPT track that were wrong once: what a template's given(...) hands a learner's
own GPT, named mistakes against generic ones, tied gradients, gpt5's lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from test_gpt_engine import OWN_GPT, gradient_lines, notebook, solution

from ninja.registry import check_file, find
from ninja.settings import Settings

FORWARD_MARK = "# forward pass, one small step a line\n"


def own_script(name: str) -> str:
    """The solution's forward and backward on a learner's own GPT (batch 4, n_embd 32, their seed),
    with given(...) imported as the template does, and no tensors(...)."""
    body = solution(name).split(FORWARD_MARK)[1].split('if __name__ == "__main__"')[0]
    return "from ninja.tapped.learner import given\n" + OWN_GPT + body


def checked(name: str, path: Path):
    return check_file(find(name), path, Settings())


def first_root_cause(report):
    return next(v for v in report.variables if v.root_cause)


GIVEN_MISTAKES = [  # (exercise, a line of the solution, the mistaken line, checked name, words of the mistake)
    ("gpt2", " - dnorm.mean(-1, keepdim=True)", "", "residual3", "the mean term is missing"),
    ("gpt3", "att * (datt - (att * datt).sum(-1, keepdim=True))", "att * (1 - att) * datt", "qkv", "elementwise"),
]


@pytest.mark.parametrize("name, right, wrong, name_checked, words", GIVEN_MISTAKES)
def test_given_is_computed_on_a_learners_own_gpt(tmp_path, name, right, wrong, name_checked, words):
    """gpt2's dlnf and gpt3's datty on the learner's own sizes: right lines pass, a wrong one is
    named at its line (the package's given gradient, batch 32 and n_embd 16, raised a shape error)."""
    source = own_script(name)
    path = tmp_path / "mine.py"
    path.write_text(source)
    report = checked(name, path)
    assert report.passed, [(v.name, v.status, v.diagnosis) for v in report.variables]
    assert report.notes[0].startswith("checked on your own parameters and batch (batch 4")
    path.write_text(source.replace(right, wrong))
    report = checked(name, path)
    first = first_root_cause(report)
    assert first.name == name_checked and first.diagnosis_kind == "named" and words in first.diagnosis
    assert first.line in gradient_lines(source.replace(right, wrong), name_checked)


def test_given_in_a_notebooks_own_cell(tmp_path):
    """The notebook's backward cell asks for datty itself, after its own set-up cell."""
    forward, backward = solution("gpt3").split(FORWARD_MARK)[1].split("# backward pass: these gradients are given\n")
    cells = ["from ninja.tapped.learner import given\n" + OWN_GPT, forward, backward.split("if __name__")[0]]
    path = tmp_path / "mine.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    report = checked("gpt3", path)
    assert report.passed and report.notes[0].startswith("checked on your own parameters and batch (batch 4")


# ---- two gradients that are one tensor


def test_a_gradient_bound_to_another_and_never_changed_in_place_is_no_aliasing(tmp_path):
    """The template's `dX = None  # TODO` lines kept above the answers: `dfcproj = dresidual3` binds
    dfcproj a second time, which changes nothing in place; it passes without a word about aliasing."""
    template = (ROOT / "exercises" / "gpt1.py").read_text()
    answers = solution("gpt1").split("# backward pass\n")[1].split('if __name__ == "__main__"')[0]
    head, tail = template.split('if __name__ == "__main__"')
    path = tmp_path / "gpt1.py"
    path.write_text(head + answers + 'if __name__ == "__main__"' + tail)
    report = checked("gpt1", path)
    assert report.passed and not [v.name for v in report.variables if v.diagnosis_kind == "aliasing"]


def test_aliasing_says_which_statements_tied_and_changed_the_tensor(tmp_path):
    right = "dresidual2 = dresidual3 + dln2_xshift + dln2_mean / C"
    wrong = "dresidual2 = dresidual3\ndresidual2 += dln2_xshift + dln2_mean / C"
    source = solution("gpt1").replace(right, wrong)
    path = tmp_path / "gpt1.py"
    path.write_text(source)
    results = {v.name: v for v in checked("gpt1", path).variables}
    tie = source.splitlines().index("dresidual2 = dresidual3") + 1
    residual3, residual2 = results["residual3"], results["residual2"]
    assert residual3.root_cause and residual2.status == "pass"  # the += made dresidual2 right, dresidual3 wrong
    for v in (residual3, residual2):
        assert v.diagnosis_kind == "aliasing" and v.line == tie, v
        assert "`dresidual2 = dresidual3` made them one tensor" in v.diagnosis
        assert "`dresidual2 += dln2_xshift + dln2_mean / C` then changed it in place" in v.diagnosis
    assert results["fcproj"].inherited_from == "residual3"  # dfcproj = dresidual3: the right rule


def test_cmp_claims_no_in_place_change_where_there_was_none(tmp_path):
    """The notebook's cmp: a wrong dz that dzz is bound to, both used, nothing changed in place:
    the diagnosis is dz's own (a factor of 2), not aliasing."""
    script = """
import torch
from ninja import cmp
x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
z = (3 * x).exp()
z.retain_grad()
z.sum().backward()
dz = 2 * torch.ones_like(z)
dzz = dz
cmp("z", dzz, z)
dzz += 0
cmp("z", dz, z)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("\nz ")
    assert "it is 2 times the right value" in first and "same tensor" not in first
    assert "wrong: dz and dzz are the same tensor" in second and "changed in place" in second


# ---- gpt5: the gradients forward_backward returns


GPT5_EDITS = [  # (the template's line, the learner's), and the line a wrong gradient is shown at
    ("    dwte = None  # TODO", "    dwte = torch.ones_like(wte)", "dwte = torch.ones_like(wte)"),
    ('        "lnfb": dlnfb,', '        "lnfb": torch.zeros_like(lnfb),', '"lnfb": torch.zeros_like(lnfb),'),
    ("    dqkvw_1 = None  # TODO", '    grads = {}\n    grads["qkvw"] = torch.ones_like(qkvw_1)',
     'grads["qkvw"] = torch.ones_like(qkvw_1)'),
    ('        "qkvw_1": dqkvw_1,', '        "qkvw_1": grads["qkvw"],', None),
]  # fmt: skip


def test_gpt5_points_at_the_line_of_forward_backward_that_computed_a_gradient(tmp_path):
    """Not at the template's line that unpacks the returned dict: at the statement inside the
    function that last wrote what it returns, the dict's entry where that is no plain name, or the
    statement that stored the key (`grads["qkvw"] = ...`, as a helper shared by both blocks does)."""
    source = (ROOT / "exercises" / "gpt5.py").read_text()
    for template_line, theirs, _ in GPT5_EDITS:
        assert source.count(template_line + "\n") == 1, template_line
        source = source.replace(template_line + "\n", theirs + "\n")
    path = tmp_path / "gpt5.py"
    path.write_text(source)
    report = checked("gpt5", path)
    lines = source.splitlines()
    wrong = {v.name: lines[v.line - 1].strip() for v in report.variables if v.status == "fail"}
    assert wrong == dict(zip(("wte", "lnfb", "qkvw_1"), (shown for *_, shown in GPT5_EDITS[:3])))
    wte = next(v for v in report.variables if v.name == "wte")  # no common slip: the line and what it is made of
    assert wte.diagnosis.startswith("dwte is not autograd's") and "local rule" not in wte.diagnosis


# ---- a learner's own GPT in nanoGPT's names

NANOGPT = """import torch
from ninja.tapped.learner import given
torch.manual_seed(1337)
batch_size, block_size, n_embd, n_head, vocab_size = 4, 8, 32, 2, 27
def w(*shape):
    return torch.randn(*shape, dtype=torch.float64) / shape[-1] ** 0.5
wte = 0.3 * w(vocab_size, n_embd) * n_embd**0.5
wpe = 0.3 * w(block_size, n_embd) * n_embd**0.5
ln_f_weight, ln_f_bias = 1 + 0.1 * w(n_embd), 0.1 * w(n_embd)
c_attn_weight = w(3 * n_embd, n_embd)
attn_c_proj_weight = w(n_embd, n_embd)
c_fc_weight = w(4 * n_embd, n_embd)
mlp_c_proj_weight = w(n_embd, 4 * n_embd)
ln_1_weight, ln_2_weight = 1 + 0.1 * w(n_embd), 1 + 0.1 * w(n_embd)
ln_1_bias, ln_2_bias = 0.1 * w(n_embd), 0.1 * w(n_embd)
c_attn_bias, attn_c_proj_bias = 0.1 * w(3 * n_embd), 0.1 * w(n_embd)
c_fc_bias, mlp_c_proj_bias = 0.1 * w(4 * n_embd), 0.1 * w(n_embd)
data = torch.randint(0, vocab_size, (1000,))
ix = torch.randint(len(data) - block_size, (batch_size,))
xb = torch.stack([data[i : i + block_size] for i in ix])
yb = torch.stack([data[i + 1 : i + block_size + 1] for i in ix])
mask = torch.tril(torch.ones(block_size, block_size, dtype=torch.bool))
"""
NANOGPT_NAMES = {"qkvw": "c_attn_weight", "qkvb": "c_attn_bias", "attprojw": "attn_c_proj_weight",
                 "attprojb": "attn_c_proj_bias", "fcw": "c_fc_weight", "fcb": "c_fc_bias",
                 "fcprojw": "mlp_c_proj_weight", "fcprojb": "mlp_c_proj_bias", "ln1w": "ln_1_weight",
                 "ln1b": "ln_1_bias", "ln2w": "ln_2_weight", "ln2b": "ln_2_bias", "lnfw": "ln_f_weight",
                 "lnfb": "ln_f_bias", "idx": "xb", "targets": "yb"}  # fmt: skip


def test_a_learners_own_gpt_in_nanogpts_names_and_sizes(tmp_path):
    """Their names (nanoGPT's), their n_embd 32 and batch 4, their parameters defined in an order of
    their own: found by role, the given datty computed on them, a wrong line named at its line."""
    body = solution("gpt3").split(FORWARD_MARK)[1].split('if __name__ == "__main__"')[0]
    for ours, theirs in NANOGPT_NAMES.items():
        body = re.sub(rf"(?<![\w.]){ours}\b", theirs, body)
    path = tmp_path / "mine.py"
    path.write_text(NANOGPT + body)
    report = checked("gpt3", path)
    assert report.passed, [(v.name, v.status, v.diagnosis) for v in report.variables]
    assert "batch 4" in report.notes[0] and "c_attn_weight for qkvw" in report.notes[0], report.notes
    right, wrong = GIVEN_MISTAKES[1][1:3]
    path.write_text(NANOGPT + body.replace(right, wrong))
    first = first_root_cause(checked("gpt3", path))
    assert first.name == "qkv" and "elementwise" in first.diagnosis


def test_a_learners_own_gpt_in_float32(tmp_path):
    """nanoGPT's default dtype: the bool mask among the forward's values is no float to measure
    float32's rounding on (that raised a traceback)."""
    source = own_script("gpt3").replace(", dtype=torch.float64", "")
    path = tmp_path / "mine.py"
    path.write_text(source)
    report = checked("gpt3", path)
    assert report.passed and "float32" in report.notes[0], [(v.name, v.status) for v in report.variables]
    right, wrong = GIVEN_MISTAKES[1][1:3]
    path.write_text(source.replace(right, wrong))
    first = first_root_cause(checked("gpt3", path))
    assert first.name == "qkv" and "elementwise" in first.diagnosis
