"""Checked on the learner's own tensors (issue 11): a script or notebook with its own parameters and
batch (own sizes, seed, batch size, float32, own names) is judged against autograd on the trusted
forward applied to *those* tensors. The truth for every variable is computed here, by running the
learner's code with autograd on."""

import shutil

import karpathy_notebook as kn
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from ninja.makemore import data
from ninja.registry import check_file, find
from ninja.settings import Settings

CHECKED = find("exercise1").checked

# a learner's own set-up: their seed, sizes, batch of 50, float32, their names for the batch and
# some parameters; the data is random contexts (no names.txt needed)
SETUP = """import torch
import torch.nn.functional as F
g = torch.Generator().manual_seed(1234)
X_all = torch.randint(0, 27, (500, 3), generator=g)
y_all = torch.randint(0, 27, (500,), generator=g)
n_embd, n_hidden, vocab_size, block_size = 8, 200, 27, 3
C = torch.randn((vocab_size, n_embd), generator=g)
w1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3) / (n_embd * block_size) ** 0.5
b1 = torch.randn(n_hidden, generator=g) * 0.1
w2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
b2 = torch.randn(vocab_size, generator=g) * 0.1
bn_gain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
bn_bias = torch.randn((1, n_hidden), generator=g) * 0.1
bnmean_running = torch.zeros((1, n_hidden))
batch_size = 50
n = batch_size
ix = torch.randint(0, X_all.shape[0], (batch_size,), generator=g)
X_batch, y_batch = X_all[ix], y_all[ix]
for p in [C, w1, b1, w2, b2, bn_gain, bn_bias]:
    p.requires_grad = True
"""

RENAMES = (
    ("Xb", "X_batch"),
    ("Yb", "y_batch"),
    ("W1", "w1"),
    ("W2", "w2"),
    ("bngain", "bn_gain"),
    ("bnbias", "bn_bias"),
)


def theirs(text: str) -> str:
    """The template's lines in the learner's names (their gradients keep the notebook's: dW1)."""
    for ours, mine in RENAMES:
        text = __import__("re").sub(rf"(?<![\w.]){ours}\b", mine, text)
    return text


FORWARD = theirs(kn.forward_lines())
BACKWARD = theirs(kn.backward_lines())
AUTOGRAD = """for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits, h,
          hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani, embcat, emb]:
    t.retain_grad()
loss.backward()
"""


CAST = """for name in ["C", "w1", "b1", "w2", "b2", "bn_gain", "bn_bias"]:
    globals()[name] = globals()[name].detach().double().requires_grad_()
"""


def judged(mine: torch.Tensor, grad: torch.Tensor, largest: float) -> str:
    """A float32 answer against float64 autograd: within 1e-3 of the gradient's own scale; a
    gradient that is 0 in exact arithmetic (dlogit_maxes, db1) passes when it is 0 to 1e-6 of the
    largest gradient."""
    mine, scale = mine.double().reshape(grad.shape), grad.abs().max().item()
    if scale < 1e-10 * largest:
        return "pass" if mine.abs().max().item() < 1e-6 * largest else "fail"
    return "pass" if (mine - grad).abs().max().item() <= 1e-3 * scale else "fail"


def truth(backward: str) -> dict[str, str]:
    """Each gradient of the learner's code (run as they wrote it, float32) against autograd in
    float64 on the same tensors."""
    learner, exact = {}, {}
    exec(SETUP + FORWARD + "\n" + backward, learner)
    exec(SETUP + CAST + FORWARD + "\n" + AUTOGRAD, exact)
    grads = {name: exact[dict(RENAMES).get(name, name)].grad for name in CHECKED}
    largest = max(g.abs().max().item() for g in grads.values())
    return {name: judged(learner[f"d{name}"], grads[name], largest) for name in CHECKED}


def statuses(path) -> dict[str, str]:
    report = check_file(find("exercise1"), path, Settings())
    return {v.name: v.status for v in report.variables}, report


WRONG = BACKWARD.replace("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)")


@pytest.mark.parametrize("backward", [BACKWARD, WRONG], ids=["right", "bessel"])
def test_a_learners_own_float32_script_gets_a_real_verdict(tmp_path, backward):
    assert backward.count("bn_gain") and "X_batch" in backward
    path = tmp_path / "my_backprop.py"
    path.write_text(SETUP + FORWARD + "\n" + backward)
    got, report = statuses(path)
    assert got == truth(backward)
    assert report.forward_ok and report.notes[0].startswith(
        "checked on your own parameters and batch (batch 50, n_embd 8, n_hidden 200, float32)"
    )
    assert "w1 for W1" in report.notes[0] and "X_batch for Xb" in report.notes[0]
    if backward is WRONG:
        bndiff2 = next(v for v in report.variables if v.name == "bndiff2")
        assert bndiff2.root_cause and bndiff2.diagnosis_kind == "factor"


def test_a_script_under_a_main_guard(tmp_path):
    body = SETUP + FORWARD + "\n" + WRONG
    script = (
        "def main():\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
        + '\nif __name__ == "__main__":\n    main()\n'
    )
    path = tmp_path / "guarded.py"
    path.write_text(script)
    got, report = statuses(path)
    assert got == truth(WRONG) and not report.passed
    bndiff2 = next(v for v in report.variables if v.name == "bndiff2")
    assert bndiff2.root_cause and bndiff2.line == script.splitlines().index("    " + next(
        line for line in WRONG.splitlines() if line.startswith("dbndiff2 ="))) + 1  # fmt: skip


def test_a_changed_forward_on_own_tensors_is_said(tmp_path):
    changed = FORWARD.replace("bnvar_inv = (bnvar + 1e-5) ** -0.5", "bnvar_inv = (bnvar + 1e-5) ** 0.5")
    assert changed != FORWARD
    path = tmp_path / "changed.py"
    path.write_text(SETUP + changed + "\n" + BACKWARD)
    report = check_file(find("exercise1"), path, Settings())
    assert not report.forward_ok and not report.passed
    assert any("bnvar_inv differs from the reference" in note for note in report.notes)


NOTEBOOK_SETUP = """words = open('names.txt', 'r').read().splitlines()
from ninja.makemore.data import build_dataset  # the notebook's own, as makemore builds it
vocab_size = 27
block_size = 3
import random
random.seed(42)
random.shuffle(words)
Xtr, Ytr = build_dataset(words[:int(0.8*len(words))])"""

NOTEBOOK_PARAMETERS = """n_embd = 10
n_hidden = 200
g = torch.Generator().manual_seed(2147483647)
C  = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3)/((n_embd * block_size)**0.5)
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
b2 = torch.randn(vocab_size, generator=g) * 0.1
bngain = torch.randn((1, n_hidden))*0.1 + 1.0
bnbias = torch.randn((1, n_hidden))*0.1
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
for p in parameters:
  p.requires_grad = True
batch_size = 32
n = batch_size
ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
Xb, Yb = Xtr[ix], Ytr[ix]"""


def own_notebook(tmp_path, backward: str):
    cells = [kn.IMPORTS, NOTEBOOK_SETUP, kn.CMP, NOTEBOOK_PARAMETERS, kn.FORWARD, backward]
    return kn.write(tmp_path / "mine.ipynb", new_notebook(cells=[new_code_cell(c) for c in cells]))


@pytest.mark.parametrize("names_file", [True, False], ids=["with-names.txt", "without"])
def test_a_notebooks_own_setup_is_the_reference_where_it_runs(tmp_path, monkeypatch, names_file):
    monkeypatch.chdir(tmp_path)  # a notebook reads names.txt from where it runs
    if names_file:
        shutil.copy(data.PACKAGED_NAMES, tmp_path / "names.txt")
    wrong = kn.EXERCISE1.replace("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)")
    report = check_file(find("exercise1"), own_notebook(tmp_path, wrong), Settings())
    got = {v.name: v.status for v in report.variables}
    assert [name for name, status in got.items() if status != "pass"][:1] == ["bndiff2"]
    if names_file:
        assert report.notes[0].startswith("checked on your own parameters and batch (batch 32, n_embd 10, n_hidden 200")
        # the truth: the notebook's own cells (bngain unseeded, as in Karpathy's: one draw for both
        # runs), float32 as written, and autograd in float64 on the same tensors
        base = {}
        exec("\n".join([kn.IMPORTS.replace("%matplotlib inline", ""), NOTEBOOK_SETUP, NOTEBOOK_PARAMETERS]), base)
        learner, exact = dict(base), dict(base)
        exec(kn.forward_lines() + "\n" + wrong.split("\ncmp(")[0], learner)
        cast = "\n".join(
            f"{p} = {p}.detach().double().requires_grad_()" for p in ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
        )
        exec(cast + "\n" + kn.FORWARD.replace("for p in parameters:\n  p.grad = None\n", ""), exact)
        largest = max(exact[name].grad.abs().max().item() for name in CHECKED)
        for name in CHECKED:
            assert got[name] == judged(learner[f"d{name}"], exact[name].grad, largest), name
    else:  # its batch cell needs names.txt: its own parameters, ninja's batch, and why
        assert report.notes[0].startswith("your notebook's set-up did not all run here (")
        assert "FileNotFoundError" in report.notes[0] and "names.txt" in report.notes[0]
        assert report.notes[1].startswith(
            "checked on your own parameters and ninja's batch (batch 32, n_embd 10, n_hidden 200"
        )


def test_a_template_file_keeps_the_packages_tensors(tmp_path):
    # a learner who scales W1 in ninja's template has changed the forward, not brought their own tensors
    solution = (kn.ROOT / "solutions" / "exercise1.py").read_text()
    edited = solution.replace("n = Xb.shape[0]", "n = Xb.shape[0]\nW1 = W1 * 2", 1)
    assert edited != solution
    path = tmp_path / "exercise1.py"
    path.write_text(edited)
    report = check_file(find("exercise1"), path, Settings())
    assert not report.forward_ok and not any(note.startswith("checked on your own") for note in report.notes)


def test_exercise3_gives_dhpreact_on_the_learners_own_tensors(tmp_path):
    """`from ninja.makemore import given` in a script with its own MLP (n_hidden 200, batch 50,
    float32): dhpreact is theirs, so a right line passes and a wrong one is named at its line."""
    answer = (
        "dhprebn = bn_gain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
        "(dhpreact * bnraw).sum(0))\n"
    )
    source = "from ninja.makemore import given\n" + SETUP + FORWARD + '\ndhpreact = given("hpreact")\n' + answer
    path = tmp_path / "mine.py"
    path.write_text(source)
    report = check_file(find("exercise3"), path, Settings())
    assert report.passed and report.notes[0].startswith("checked on your own parameters and batch (batch 50")
    path.write_text(source.replace("n / (n - 1) * bnraw", "bnraw"))
    report = check_file(find("exercise3"), path, Settings())
    (hprebn,) = report.variables
    assert hprebn.root_cause and "Bessel" in hprebn.diagnosis and hprebn.line == len(source.splitlines())
