"""GPT 1: backprop through a transformer block, one line of the forward pass at a time.

A tiny character-level GPT on the names (one block: layernorm, causal self-attention with two
heads, a residual add, layernorm, an MLP with GELU, a residual add; then the final layernorm and
the language-model head tied to the token embedding), chunked into small steps as llm.c's
train_gpt2.c names them. For every intermediate and parameter X, write dX: the gradient of the loss
with respect to X, same shape as X, from the forward values and the gradients you already have.
"""

import sys

import torch  # the forward reads it: the template imports it

from ninja.gpt import hints
from ninja.gpt import mistakes as m
from ninja.gpt.model import BACKWARD, forward, inputs, parameters
from ninja.tapped.files import from_module

__all__ = ["EXERCISE", "parameters", "inputs", "forward", "CHECKED", "HINTS", "MISTAKES"]

CHECKED = BACKWARD

BTC, HEADS, SCORES = "(B, T, C)", "(B, nh, T, hs)", "(B, nh, T, T)"

HINTS = {
    "logits": hints.cross_entropy(),
    "lnf": hints.head(),
    **hints.layernorm("lnf", "residual3"),
    "residual3": hints.residual_add(
        "residual3",
        "lnf_mean = residual3.sum(-1, keepdim=True) / C and lnf_xshift = residual3 - lnf_mean",
        "dL/dresidual3[b, t, c] = dL/dlnf_xshift[b, t, c] + dL/dlnf_mean[b, t] / C.",
    ),
    "fcproj": (
        f"fcproj is {BTC}; dfcproj too. Used in: residual3 = residual2 + fcproj",
        "An add: the local derivative is 1, so the gradient passes through unchanged.",
        "dfcproj = dresidual3.",
    ),
    **hints.linear("fcproj", "fch_gelu", "fcprojw", "fcprojb", "(B, T, 4C)", "(C, 4C)", BTC),
    "fch": hints.gelu("fch", "fch_gelu"),
    **hints.linear("fch", "ln2", "fcw", "fcb", BTC, "(4C, C)", "(B, T, 4C)"),
    **hints.layernorm("ln2", "residual2"),
    "residual2": hints.residual_add(
        "residual2",
        "three lines: ln2_mean and ln2_xshift (layernorm 2) and residual3 = residual2 + fcproj",
        "dL/dresidual2[b, t, c] = dL/dresidual3[b, t, c] + dL/dln2_xshift[b, t, c] + dL/dln2_mean[b, t] / C.",
    ),
    "attproj": (
        f"attproj is {BTC}; dattproj too. Used in: residual2 = encoded + attproj",
        "An add: the gradient passes through unchanged.",
        "dattproj = dresidual2.",
    ),
    **hints.linear("attproj", "atty", "attprojw", "attprojb", BTC, "(C, C)", BTC),
    "y": (
        f"y is {HEADS}, datty is {BTC}; dy is {HEADS}. Used in: atty = y.transpose(1, 2).reshape(B, T, C)",
        "Moving numbers around has no derivative to take: undo the moves in reverse order, a view as "
        "(B, T, nh, hs), then the same transpose.",
        "dy = datty viewed as (B, T, nh, hs), transposed (1, 2): dy[b, h, t, i] = datty[b, t, h·hs + i].",
    ),
    "att": (
        f"att is {SCORES}, v is {HEADS}; datt is {SCORES}. Used in: y = att @ v",
        "The matrix-product rule per head: the upstream gradient times the other factor, transposed.",
        "datt = dy · vᵀ: (T, hs) · (hs, T) per batch and head.",
    ),
    "v": (
        f"v is {HEADS}; dv too. Used in: y = att @ v",
        "The matrix-product rule per head: the other factor att, transposed, times the upstream gradient.",
        "dv = attᵀ · dy: (T, T) · (T, hs) per batch and head.",
    ),
    "preatt": (
        f"preatt is {SCORES}; dpreatt too. Used in: att = softmax(preatt.masked_fill(~mask, -inf), dim=-1)",
        "The softmax of a row depends on every score of the row: its Jacobian is diag(att) − att attᵀ, not "
        "a diagonal. Masked positions have att = 0 and get no gradient.",
        "dpreatt[.., t, j] = att[.., t, j] · (datt[.., t, j] − Σ_j' att[.., t, j'] · datt[.., t, j']).",
    ),
    "q": (
        f"q is {HEADS}; dq too. Used in: preatt = q @ k.transpose(-2, -1) * hs**-0.5",
        "The matrix-product rule per head, and the scale: the scores were multiplied by 1/sqrt(hs), so is "
        "every gradient through them.",
        "dq = dpreatt · k / sqrt(hs): (T, T) · (T, hs) per batch and head.",
    ),
    "k": (
        f"k is {HEADS}; dk too. Used in: preatt = q @ k.transpose(-2, -1) * hs**-0.5",
        "The matrix-product rule with kᵀ in the forward: dk comes out transposed; and the 1/sqrt(hs) scale.",
        "dk = dpreattᵀ · q / sqrt(hs): (T, T) · (T, hs) per batch and head.",
    ),
    "qkv": (
        "qkv is (B, T, 3C); dqkv too. Used in three lines: q, k and v are its thirds [:C], [C:2C], [2C:], "
        "each viewed as (B, T, nh, hs) and transposed (1, 2)",
        "Undo each third's moves (transpose back, reshape to (B, T, C)) and put the three back where they came "
        "from, side by side along the last dim.",
        "dqkv = [dq, dk, dv], each transposed (1, 2) and reshaped to (B, T, C), concatenated along dim -1.",
    ),
    **hints.linear("qkv", "ln1", "qkvw", "qkvb", BTC, "(3C, C)", "(B, T, 3C)"),
    **hints.layernorm("ln1", "encoded"),
    "encoded": hints.residual_add(
        "encoded",
        "three lines: ln1_mean and ln1_xshift (layernorm 1) and residual2 = encoded + attproj",
        "dL/dencoded[b, t, c] = dL/dresidual2[b, t, c] + dL/dln1_xshift[b, t, c] + dL/dln1_mean[b, t] / C.",
    ),
    "tok_emb": (
        f"tok_emb is {BTC}; dtok_emb too. Used in: encoded = tok_emb + pos_emb",
        "An add: the gradient passes through unchanged.",
        "dtok_emb = dencoded.",
    ),
    "pos_emb": (
        "pos_emb is (T, C); dpos_emb too. Used in: encoded = tok_emb + pos_emb, broadcast over the B sequences",
        "The same position vectors were added to every sequence: the gradient sums over the batch.",
        "dpos_emb[t] = Σ_b dencoded[b, t], shape (T, C).",
    ),
    "wpe": hints.wpe("pos_emb", "pos_emb = wpe[:T]"),
    "wte": hints.tied_wte("tok_emb"),
}


# a named mistake that reproduces the learner's gradient is named before a generic diagnosis (a
# dropped 1/sqrt(hs) in dq is the scale, not "2.828 times the right value"); one that a generic
# diagnosis names well is left to it: a residual that keeps only its layernorm's part or a tied
# embedding with one part is "the branch through ... is missing"
MISTAKES = {
    "preatt": {
        "the softmax Jacobian is treated as elementwise: att * (1 - att) * datt is only its diagonal; every score "
        "of a row moves every weight of it, so subtract the row's Σ att · datt":
        lambda v, g: m.softmax_backward(v["att"], g["att"], jacobian=False),
        "gradient flows into the masked positions: the softmax of the backward must be the masked one (att), "
        "whose future weights are 0": lambda v, g: m.softmax_backward(v["preatt"].softmax(-1), g["att"]),
    },
    "q": m.unscaled("preatt", "k"),
    "k": m.unscaled("preatt", "q", keys=True),
    "qkv": {"the heads are merged back with the wrong transpose: dq, dk, dv are (B, nh, T, hs); transpose(1, 2) "
            "before reshaping to (B, T, C)":
            lambda v, g: torch.cat([m.side_by_side(g[x], transpose=False) for x in "qkv"], dim=-1)},
    "y": {"the heads are split with the wrong transpose: view datty as (B, T, nh, hs), then transpose(1, 2)":
          lambda v, g: m.heads(g["atty"], v["y"].shape[1], transpose=False)},
    "fch": m.gelu("fch", "fch_gelu"),
    "residual2": m.residual("residual2", "residual3's part", lambda v, g: g["residual3"]),
    "encoded": m.residual("encoded", "residual2's part", lambda v, g: g["residual2"]),
    "pos_emb": m.position_embedding("encoded"),
}  # fmt: skip

EXERCISE = from_module(sys.modules[__name__], "gpt1")
