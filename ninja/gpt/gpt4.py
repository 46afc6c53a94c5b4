"""GPT 4: backprop through the whole GPT, one layer in one go at a time.

The GPT with two blocks, written one layer a line as llm.c's gpt2_forward is (F.layer_norm,
attention, F.gelu with GPT-2's tanh form): write each layer's backward in one go, as llm.c's
gpt2_backward does, from the cross-entropy at the top down the residual stream to the tied token
embedding. Every layer output and every parameter is checked, so a wrong layer is found even where
the residual stream carries its error down into the blocks below.
"""

import sys

import torch  # noqa: F401 (the forward reads it: the template imports it)

from ninja.gpt import hints
from ninja.gpt import mistakes as m
from ninja.gpt.model2 import BACKWARD, forward, inputs, parameters
from ninja.tapped.files import from_module

__all__ = ["EXERCISE", "parameters", "inputs", "forward", "CHECKED", "HINTS", "MISTAKES"]

CHECKED = BACKWARD
BTC = "(B, T, C)"


def block_hints(layer: int, below: str) -> dict:
    """The hints of block `layer`, whose input is `below` (its output's hint is the next layernorm's)."""

    def n(name: str) -> str:
        return f"{name}_{layer}"

    return {
        n("fcproj"): hints.add_through(n("fcproj"), f"{n('residual3')} = {n('residual2')} + {n('fcproj')}",
                                       n("residual3")),
        **hints.linear(n("fcproj"), n("fch_gelu"), n("fcprojw"), n("fcprojb"), "(B, T, 4C)", "(C, 4C)", BTC),
        n("fch"): hints.gelu(n("fch"), n("fch_gelu")),
        **hints.linear(n("fch"), n("ln2"), n("fcw"), n("fcb"), BTC, "(4C, C)", "(B, T, 4C)"),
        **hints.layernorm_weights(n("ln2"), n("residual2"), n("ln2w"), n("ln2b")),
        n("residual2"): hints.layernorm_input(n("residual2"), n("ln2"), n("ln2w"), n("residual3")),
        n("attproj"): hints.add_through(n("attproj"), f"{n('residual2')} = {below} + {n('attproj')}",
                                        n("residual2")),
        **hints.linear(n("attproj"), n("atty"), n("attprojw"), n("attprojb"), BTC, "(C, C)", BTC),
        n("qkv"): hints.attention_in_one_go(n("qkv"), n("atty")),
        **hints.linear(n("qkv"), n("ln1"), n("qkvw"), n("qkvb"), BTC, "(3C, C)", "(B, T, 3C)"),
        **hints.layernorm_weights(n("ln1"), below, n("ln1w"), n("ln1b")),
    }  # fmt: skip


HINTS = {
    "logits": hints.cross_entropy(),
    "lnf": hints.head(),
    **hints.layernorm_weights("lnf", "residual3_1", "lnfw", "lnfb"),
    **block_hints(1, "residual3_0"),
    **block_hints(0, "encoded"),
    "residual3_1": hints.layernorm_input("residual3_1", "lnf", "lnfw"),
    "residual3_0": hints.layernorm_input("residual3_0", "ln1_1", "ln1w_1", "residual2_1"),
    "encoded": hints.layernorm_input("encoded", "ln1_0", "ln1w_0", "residual2_0"),
    "wpe": hints.wpe("encoded", "encoded = wte[idx] + wpe[:T]"),
    "wte": hints.tied_wte("encoded"),
}


# a residual add or the tied embedding with a part missing is "the branch through ... is missing",
# an averaged dwpe "n times too small": generic diagnoses say those well
MISTAKES = {
    "residual3_1": m.layernorm("lnf", "residual3_1", "lnfw"),
    "fch_1": m.gelu("fch_1", "fch_gelu_1"),
    "qkv_1": m.attention("qkv_1", "atty_1"),
    "fch_0": m.gelu("fch_0", "fch_gelu_0"),
    "qkv_0": m.attention("qkv_0", "atty_0"),
    "wpe": m.position_embedding("encoded"),
}

EXERCISE = from_module(sys.modules[__name__], "gpt4")
