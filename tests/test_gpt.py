"""The GPT track without the engine: every reference agrees with central differences, the
solutions give autograd's gradients, and each named mistake differs from the right gradient and is
what the mistaken code computes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from ninja.gpt import gpt1, gpt2, gpt3, gpt4, gpt5, model, model2

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = {"gpt1": gpt1, "gpt2": gpt2, "gpt3": gpt3, "gpt4": gpt4, "gpt5": gpt5}
SEED = 2147483647


def tensors(module, batch_size=32, seed=SEED) -> dict[str, torch.Tensor]:
    """The parameters (seed) and inputs (seed + 1), floating ones in float64."""
    params = module.parameters(torch.Generator().manual_seed(seed))
    found = params | module.inputs(torch.Generator().manual_seed(seed + 1), batch_size)
    return {k: t.double() if t.is_floating_point() else t for k, t in found.items()}


def autograd(module, batch_size=32, seed=SEED) -> tuple[dict, dict]:
    """(values, gradients): every tapped value and tensor, and d loss / d every tap and parameter."""
    found = tensors(module, batch_size, seed)
    params = set(module.parameters(torch.Generator().manual_seed(0)))
    for k in params:
        found[k].requires_grad_()
    values = {}

    def keep(name, t):
        t.retain_grad()
        values[name] = t
        return t

    module.forward(keep, **found).backward()
    every = found | values
    grads = {k: every[k].grad.detach().clone() for k in (*params, *values) if k != "loss"}
    return {k: t.detach() for k, t in every.items()}, grads


def loss_with(module, found, name, index, delta) -> float:
    """The loss with `delta` added to one element of a parameter or tapped intermediate."""

    def tap(n, t):
        if n == name:
            t = t.clone()
            t[index] += delta
        return t

    with torch.no_grad():
        if name in found:
            found = dict(found)
            found[name] = found[name].clone()
            found[name][index] += delta
        return module.forward(tap, **found).item()


@pytest.mark.parametrize("module", [model, model2], ids=["one block", "two blocks"])
def test_reference_agrees_with_central_differences(module):
    """For every tapped name and parameter: autograd's gradient at the largest element and at two
    random ones is the loss's central difference there."""
    found = tensors(module, batch_size=4)
    _, grads = autograd(module, batch_size=4)
    g = torch.Generator().manual_seed(0)
    h = 1e-6
    for name, grad in grads.items():
        picks = [grad.abs().flatten().argmax().item()] + torch.randint(0, grad.numel(), (2,), generator=g).tolist()
        for flat in picks:
            index = tuple(torch.unravel_index(torch.tensor(flat), grad.shape))
            numeric = (loss_with(module, found, name, index, h) - loss_with(module, found, name, index, -h)) / (2 * h)
            assert abs(numeric - grad[index].item()) < 1e-6 + 1e-5 * abs(numeric), (name, index, numeric, grad[index])
        assert grad.abs().max() > 0, f"d{name} is all zero: the check could not tell a wrong gradient from it"


def test_two_blocks_compute_what_the_one_block_lines_do():
    """model2's one-layer lines (F.layer_norm, scaled_dot_product_attention, F.gelu) are model's
    small steps: block 0 of model2 with its parameters, through model's lines, gives the same."""
    found = tensors(model2)
    one = {k.removesuffix("_0"): t for k, t in found.items() if not k.endswith("_1")}
    one["mask"] = torch.ones(model.BLOCK_SIZE, model.BLOCK_SIZE, dtype=torch.bool).tril()
    values2, values1 = {}, {}
    model2.forward(lambda n, t: values2.setdefault(n, t), **found)
    model.forward(lambda n, t: values1.setdefault(n, t), **one)
    for fine, coarse in {"ln1": "ln1_0", "qkv": "qkv_0", "atty": "atty_0", "residual2": "residual2_0",
                         "fch_gelu": "fch_gelu_0", "residual3": "residual3_0"}.items():  # fmt: skip
        torch.testing.assert_close(values1[fine], values2[coarse], rtol=1e-12, atol=1e-12)


def solution_namespace(name: str, source: str, batch_size=32, seed=SEED) -> dict:
    """Run a solution file (or a variant of its source) on the package's tensors, with the given
    gradients from autograd, as a check runs it: its namespace."""
    module = EXERCISES[name]
    found = tensors(module, batch_size, seed)
    _, grads = autograd(module, batch_size, seed)
    order = (*module.parameters(torch.Generator().manual_seed(0)), *module.inputs(torch.Generator(), 2))
    namespace = {"tensors": lambda _: tuple(found[k] for k in order), "given": lambda g, _: grads[g].clone(),
                 "__name__": "solution"}  # fmt: skip
    source = re.sub(r"^from ninja\.tapped\.learner import .*$", "", source, flags=re.M)
    exec(compile(source, f"solutions/{name}.py", "exec"), namespace)  # noqa: S102 (our own solution)
    return namespace


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("batch_size", [32, 5])
def test_solution_gives_autograds_gradients(name, batch_size):
    module = EXERCISES[name]
    source = (ROOT / "solutions" / f"{name}.py").read_text(encoding="utf-8")
    namespace = solution_namespace(name, source, batch_size, seed=batch_size)
    _, grads = autograd(module, batch_size, seed=batch_size)
    assert set(module.CHECKED) <= set(grads)
    for checked in module.CHECKED:
        torch.testing.assert_close(namespace[f"d{checked}"], grads[checked], rtol=1e-10, atol=1e-12, msg=checked)


@pytest.mark.parametrize("name", EXERCISES)
def test_template_leaves_every_checked_gradient_to_write(name):
    text = (ROOT / "exercises" / f"{name}.py").read_text(encoding="utf-8")
    todo = re.findall(r"^\s*d(\w+) = None  # TODO$", text, flags=re.M)
    assert tuple(todo) == EXERCISES[name].CHECKED
    for given in getattr(EXERCISES[name], "GIVEN", ()):
        assert re.search(rf"^d{given} = given\(.{given}., .{name}.\)$", text, flags=re.M), given


@pytest.mark.parametrize("name", EXERCISES)
def test_every_checked_name_has_three_hints_that_never_print_the_answer(name):
    module = EXERCISES[name]
    solution = (ROOT / "solutions" / f"{name}.py").read_text(encoding="utf-8")
    answers = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s*(d\w+) = (.+)$", solution, flags=re.M)}
    for checked in module.CHECKED:
        levels = module.HINTS[checked]
        assert len(levels) == 3 and all(level.strip() for level in levels), checked
        answer = answers.get(f"d{checked}")
        if answer and len(answer) > 12:  # `dfcproj = dresidual3` is the rule itself, said in words too
            assert not any(answer.split("  #")[0] in level for level in levels), (checked, answer)


# (words the mistake's name contains, a line of the solution, the mistaken line): the same in every
# attention written in one go; the mask is dropped where the solution recomputes att
ATTENTION = [
    ("elementwise", "att * (datt - (att * datt).sum(-1, keepdim=True))", "att * (1 - att) * datt"),
    ("scale", ("@ k * hs**-0.5", "@ q * hs**-0.5"), ("@ k", "@ q")),
    ("merged back", "d.transpose(1, 2).reshape(B, T, C)", "d.reshape(B, T, C)"),
    ("split", "dy = datty.view(B, T, nh, hs).transpose(1, 2)", "dy = datty.view(B, nh, T, hs)"),
]
GELU_ERF = "(0.5 * (1 + torch.erf(X / 2**0.5)) + X * torch.exp(-(X**2) / 2) / (2 * torch.pi) ** 0.5)"
LAYERNORM = [
    ("mean term", " - dnorm.mean(-1, keepdim=True)", ""),
    ("variance term is missing", " - NORM * (dnorm * NORM).mean(-1, keepdim=True)", ""),
    ("C-1", "(dnorm * NORM).mean(-1, keepdim=True)", "(dnorm * NORM).sum(-1, keepdim=True) / (C - 1)"),
]


# (exercise, checked name, words the mistake's name contains, a line of the solution, the mistaken line)
MUTATIONS = [
    *[("gpt1", "preatt", *m) for m in ATTENTION[:1]],
    ("gpt1", "preatt", "masked", "dpreatt = att * (datt - (att * datt).sum(-1, keepdim=True))",
     "dpreatt = preatt.softmax(-1) * (datt - (preatt.softmax(-1) * datt).sum(-1, keepdim=True))"),
    ("gpt1", "q", "scale", "dq = dpreatt @ k * hs**-0.5", "dq = dpreatt @ k"),
    ("gpt1", "k", "scale", "@ q * hs**-0.5", "@ q"),
    ("gpt1", "qkv", *ATTENTION[2]),
    ("gpt1", "y", *ATTENTION[3]),
    ("gpt1", "fch", "erf", "dfch = (", f"dfch = {GELU_ERF.replace('X', 'fch')} * dfch_gelu\n_ = ("),
    ("gpt1", "fch", "inner", "* dtanh_arg) * dfch_gelu", ") * dfch_gelu"),
    ("gpt1", "residual2", "keeps only residual3", "dresidual2 = dresidual3 + dln2_xshift + dln2_mean / C",
     "dresidual2 = dresidual3"),
    ("gpt1", "encoded", "keeps only residual2", "dencoded = dresidual2 + dln1_xshift + dln1_mean / C",
     "dencoded = dresidual2"),
    ("gpt1", "pos_emb", "not summed", "dpos_emb = dencoded.sum(0)", "dpos_emb = dencoded[0]"),
    *[("gpt2", "residual3", w, r.replace("NORM", "lnf_norm"), x.replace("NORM", "lnf_norm")) for w, r, x in LAYERNORM],
    ("gpt2", "residual3", "weight is missing", "dnorm = dlnf * lnfw", "dnorm = dlnf"),
    *[("gpt3", "qkv", *m) for m in ATTENTION],
    ("gpt3", "qkv", "masked", ("dy = datty", "dv = att.", "dpreatt = att * (datt - (att * datt)"),
     ("unmasked = (q @ k.transpose(-2, -1) * hs**-0.5).softmax(-1)\ndy = datty", "dv = unmasked.",
      "dpreatt = unmasked * (datt - (unmasked * datt)")),
    *[("gpt4", "residual3_1", w, r.replace("NORM", "norm"), x.replace("NORM", "norm")) for w, r, x in LAYERNORM],
    ("gpt4", "residual3_1", "weight is missing", "dnorm = dout * w", "dnorm = dout"),
    *[("gpt4", f"fch_{layer}", "erf", "return (0.5 * (1 + tanh_out)",
       f"return {GELU_ERF.replace('X', 'inp')} * dout\n    _ = (0.5 * (1 + tanh_out)") for layer in "01"],
    *[("gpt4", f"fch_{layer}", "inner", "* dtanh_arg) * dout", ") * dout") for layer in "01"],
    *[("gpt4", f"qkv_{layer}", *m) for m in ATTENTION for layer in "01"],
    *[("gpt4", f"qkv_{layer}", "masked", '.masked_fill(~causal, float("-inf"))', "")
      for layer in "01"],
    ("gpt4", "wpe", "not summed", "dwpe[:T] = dencoded.sum(0)", "dwpe[:T] = dencoded[0]"),
]  # fmt: skip


# mistakes the engine's generic diagnoses name: (exercise, checked name, the diagnosis's kind, words
# it contains, a line of the solution, the mistaken line); tests/test_gpt_engine.py runs them
GENERIC = [
    ("gpt1", "residual2", "missing_branch", "residual3", "dresidual2 = dresidual3 + ", "dresidual2 = "),
    ("gpt1", "encoded", "missing_branch", "residual2", "dencoded = dresidual2 + ", "dencoded = "),
    ("gpt1", "pos_emb", "factor", "too small", "dpos_emb = dencoded.sum(0)", "dpos_emb = dencoded.mean(0)"),
    ("gpt1", "wte", "missing_branch", "tok_emb", "dwte.index_add_(", "print("),
    ("gpt1", "wte", "missing_branch", "logits", "dwte = dlogits.view(B * T, -1).T @ lnf.view(B * T, -1)",
     "dwte = torch.zeros_like(wte)"),
    ("gpt4", "residual2_1", "missing_branch", "residual3_1", "dresidual2_1 += dresidual3_1", ""),
    ("gpt4", "residual2_1", "missing_branch", "ln2_1", "\ndresidual2_1 += dresidual3_1",
     "\ndresidual2_1 = dresidual3_1.clone()"),
    ("gpt4", "encoded", "missing_branch", "residual2_0", "dencoded += dresidual2_0", ""),
    ("gpt4", "wpe", "factor", "too small", "dwpe[:T] = dencoded.sum(0)", "dwpe[:T] = dencoded.mean(0)"),
    ("gpt4", "wte", "missing_branch", "encoded", "dwte.index_add_(", "print("),
]  # fmt: skip


def mutated(source: str, checked: str, right, wrong) -> str:
    """The solution with `right` made `wrong` everywhere (a string each, or tuples of them), or,
    where `right` is inside a helper function of the solution and `checked` is one layer's (`_0`,
    `_1`), in a copy of the helper that only that layer's line calls: the other layer stays right
    (so the upstream gradients of the lower one are)."""
    pairs = list(zip(right, wrong, strict=True)) if isinstance(right, tuple) else [(right, wrong)]

    def replaced(text: str) -> str:
        for one, other in pairs:
            text = text.replace(one, other)
        return text

    helpers = {m.group(1): m.group(0) for m in re.finditer(r"^def (\w+)\(.*?(?=^\S)", source, flags=re.M | re.S)}
    inside = [name for name, body in helpers.items() if pairs[0][0] in body]
    if not (inside and re.search(r"_[01]$", checked)):
        return replaced(source)
    helper = inside[0]
    copy = replaced(helpers[helper].replace(f"def {helper}(", f"def {helper}_wrong("))
    call = next(line for line in source.splitlines() if re.match(rf"d{checked}\b", line) and f"{helper}(" in line)
    wrong_call = call.replace(f"{helper}(", f"{helper}_wrong(")
    return source.replace(helpers[helper], helpers[helper] + "\n" + copy).replace(call, wrong_call)


def mistake_named(name: str, checked: str, words: str):
    found = [make for text, make in EXERCISES[name].MISTAKES[checked].items() if words in text]
    assert len(found) == 1, f"{name} {checked}: {len(found)} mistakes say {words!r}"
    return found[0]


@pytest.mark.parametrize("name, checked, words, right, wrong", MUTATIONS, ids=lambda x: x if len(x) < 20 else "")
def test_named_mistake_is_what_the_mistaken_code_computes(name, checked, words, right, wrong):
    """The solution with one line made wrong: at that line, the learner's gradient is the named
    mistake's formula (computed from the trusted values and the right upstream gradients), and it
    is not the right gradient."""
    source = (ROOT / "solutions" / f"{name}.py").read_text(encoding="utf-8")
    assert all(one in source for one in (right if isinstance(right, tuple) else [right])), right
    namespace = solution_namespace(name, mutated(source, checked, right, wrong))
    values, grads = autograd(EXERCISES[name])
    formula = mistake_named(name, checked, words)(values, grads)
    torch.testing.assert_close(namespace[f"d{checked}"], formula, rtol=1e-9, atol=1e-12)
    assert not torch.allclose(formula, grads[checked]), f"{words}: the mistake gives the right d{checked}"


def test_every_named_mistake_has_its_mistaken_code():
    tested = {(name, checked, text) for name, checked, words, _, _ in MUTATIONS
              for text in EXERCISES[name].MISTAKES[checked] if words in text}  # fmt: skip
    every = {(name, checked, text) for name, module in EXERCISES.items()
             for checked, mistakes in getattr(module, "MISTAKES", {}).items() for text in mistakes}  # fmt: skip
    assert every - tested == set()
