"""The mistakes real learners make in a transformer's backward, as formulas: each computes, from
the trusted forward's values `v` and the reference gradients `g` (the upstream ones the learner
should have used), what the mistaken code computes. An exercise file lists those of its lines in
MISTAKES = {name: {words: lambda v, g: tensor}}; the engine names the first one that matches a
failing root cause.

The formulas are written the way llm.c's train_gpt2.c writes the right ones, with one thing
changed; tests/test_gpt_mistakes.py runs the mistaken code itself against each.
"""

from __future__ import annotations

import math

import torch

N_HEAD = 2  # the model's heads (model.py's nh)
GELU_SCALE = math.sqrt(2 / math.pi)


# ---- layernorm: dinp from dout (llm.c's layernorm_backward), with one of its parts changed


def layernorm_input(dout, x, w, mean_term=1.0, variance_term=1.0, divisor=None, weight=True):
    """d layernorm(x) / dx · dout over the last dim: rstd · (dnorm - mean(dnorm) - norm · Σ(dnorm · norm) / C)."""
    C = x.shape[-1]
    mean = x.mean(-1, keepdim=True)
    rstd = ((x - mean) ** 2).mean(-1, keepdim=True).add(1e-5) ** -0.5
    norm = (x - mean) * rstd
    dnorm = dout * w if weight else dout
    variance = norm * (dnorm * norm).sum(-1, keepdim=True) / (divisor or C)
    return rstd * (dnorm - mean_term * dnorm.mean(-1, keepdim=True) - variance_term * variance)


def layernorm(out: str, x: str, w: str) -> dict:
    """The named mistakes of d`x` where layernorm(`x`, `w`) = `out` is x's only consumer."""
    return {
        "the mean term is missing: the mean over the C channels depends on every input, so subtract the mean "
        "of dnorm": lambda v, g: layernorm_input(g[out], v[x], v[w], mean_term=0.0),
        "the variance term is missing: rstd depends on every input too, so subtract norm times the mean of "
        "dnorm · norm": lambda v, g: layernorm_input(g[out], v[x], v[w], variance_term=0.0),
        "the variance term divides by C-1: layernorm's variance is biased (llm.c divides by C), so is its "
        "derivative": lambda v, g: layernorm_input(g[out], v[x], v[w], divisor=v[x].shape[-1] - 1),
        f"the weight is missing: what reaches the normalised input is d{out} times the weight {w}":
        lambda v, g: layernorm_input(g[out], v[x], v[w], weight=False),
    }  # fmt: skip


# ---- attention: dqkv from the gradient of the heads side by side (llm.c's attention_backward)


def heads(t: torch.Tensor, nh: int, transpose: bool = True) -> torch.Tensor:
    """(B, T, C) -> (B, nh, T, hs); without the transpose, the wrong reading (B, nh, T, hs) of it."""
    B, T, C = t.shape
    return t.view(B, T, nh, C // nh).transpose(1, 2) if transpose else t.reshape(B, nh, T, C // nh)


def side_by_side(t: torch.Tensor, transpose: bool = True) -> torch.Tensor:
    """(B, nh, T, hs) -> (B, T, C); without the transpose, the heads' numbers in the wrong places."""
    B, nh, T, hs = t.shape
    return (t.transpose(1, 2) if transpose else t).reshape(B, T, nh * hs)


def split(qkv: torch.Tensor, nh: int = N_HEAD):
    C = qkv.shape[-1] // 3
    return (heads(qkv[..., i * C : (i + 1) * C], nh) for i in range(3))


def softmax_backward(att, datt, jacobian: bool = True):
    """d softmax · datt per row: att ⊙ (datt - Σ att ⊙ datt); elementwise: att ⊙ (1 - att) ⊙ datt."""
    return att * (datt - (att * datt).sum(-1, keepdim=True)) if jacobian else att * (1 - att) * datt


def attention_qkv(datty, qkv, nh=N_HEAD, jacobian=True, masked=True, scaled=True, split_heads=True, merge_heads=True):
    """dqkv (B, T, 3C) from datty (B, T, C), recomputing the forward from qkv."""
    q, k, v = split(qkv, nh)
    T, hs = q.shape[-2], q.shape[-1]
    preatt = q @ k.transpose(-2, -1) * hs**-0.5
    causal = torch.ones(T, T, dtype=torch.bool, device=qkv.device).tril()
    att = torch.softmax(preatt.masked_fill(~causal, float("-inf")) if masked else preatt, dim=-1)
    dy = heads(datty, nh, split_heads)
    datt, dv = dy @ v.transpose(-2, -1), att.transpose(-2, -1) @ dy
    dpreatt = softmax_backward(att, datt, jacobian) * (hs**-0.5 if scaled else 1.0)
    dq, dk = dpreatt @ k, dpreatt.transpose(-2, -1) @ q
    return torch.cat([side_by_side(d, merge_heads) for d in (dq, dk, dv)], dim=-1)


SCALE_MISSING = (
    "the 1/sqrt(head size) scale is missing in the backward: the scores were multiplied by it, so are dq and dk"
)


def unscaled(preatt: str, other: str, keys: bool = False) -> dict:
    """dq (dk where `keys`) of `preatt` = q @ kᵀ * hs**-0.5, with the scale left out of the backward:
    dpreatt @ k (dpreattᵀ @ q), sqrt(hs) times the right value."""
    return {SCALE_MISSING: lambda v, g: (g[preatt].transpose(-2, -1) if keys else g[preatt]) @ v[other]}


def attention(qkv: str, atty: str) -> dict:
    """The named mistakes of d`qkv` written in one go from d`atty`."""
    return {
        "the softmax Jacobian is treated as elementwise: att * (1 - att) * datt is only its diagonal; every "
        "score of a row moves every weight of it, so subtract the row's Σ att · datt":
        lambda v, g: attention_qkv(g[atty], v[qkv], jacobian=False),
        "gradient flows into the masked positions: the weights of the future positions are 0 in the forward, "
        "so the backward's softmax must be the masked one":
        lambda v, g: attention_qkv(g[atty], v[qkv], masked=False),
        SCALE_MISSING: lambda v, g: attention_qkv(g[atty], v[qkv], scaled=False),
        "the heads are merged back with the wrong transpose: dq, dk, dv are (B, nh, T, hs); transpose(1, 2) "
        "before reshaping to (B, T, C)": lambda v, g: attention_qkv(g[atty], v[qkv], merge_heads=False),
        f"the heads are split with the wrong transpose: view d{atty} as (B, T, nh, hs), then transpose(1, 2)":
        lambda v, g: attention_qkv(g[atty], v[qkv], split_heads=False),
    }  # fmt: skip


# ---- GELU, GPT-2's tanh form: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x³)


def gelu_local(x, form: str = "tanh"):
    """GELU's derivative: "tanh" (the forward's), "erf" (the exact GELU's), "no inner" (tanh's inner
    derivative du/dx left out)."""
    if form == "erf":
        return 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    u = GELU_SCALE * (x + 0.044715 * x**3)
    inner = GELU_SCALE * (1 + 3 * 0.044715 * x**2) if form == "tanh" else 1.0
    return 0.5 * (1 + torch.tanh(u)) + 0.5 * x * (1 - torch.tanh(u) ** 2) * inner


def gelu(x: str, out: str) -> dict:
    return {
        "GELU's derivative is the exact (erf) form's: the forward uses GPT-2's tanh approximation, so its "
        "derivative is that of 0.5 x (1 + tanh(u))": lambda v, g: gelu_local(v[x], "erf") * g[out],
        "tanh's inner derivative is missing: u = sqrt(2/pi) (x + 0.044715 x³), so the sech² term is "
        "multiplied by du/dx = sqrt(2/pi) (1 + 3 · 0.044715 x²)": lambda v, g: gelu_local(v[x], "no inner") * g[out],
    }  # fmt: skip


# ---- the residual stream, the position embedding


def residual(name: str, kept: str, only) -> dict:
    """d`name` where it feeds several lines but keeps only `kept`'s part: an `=` where a `+=` belongs
    (with one part missing of several, a generic diagnosis names the branch)."""
    return {
        f"the residual gradient is overwritten instead of added: d{name} keeps only {kept}; every line that "
        f"reads {name} adds its gradient": only
    }


def position_embedding(dencoded: str) -> dict:
    """dwpe (T, C) from d`dencoded` (B, T, C): a sum over the batch (an averaged one is a generic
    factor of n)."""
    return {
        "the position embedding's gradient is not summed over the batch: every sequence of the batch added "
        f"wpe, so sum d{dencoded} over dim 0 (this is the first sequence's only)": lambda v, g: g[dencoded][0],
    }
