"""GPT 2: backprop through layernorm in one go.

The final layernorm of the GPT, lnf = (residual3 − mean) · rstd · lnfw + lnfb over the C channels of
each position, with the biased variance (divided by C) and rstd = (var + 1e-5) ** -0.5 as llm.c's
doc/layernorm writes it. dlnf is given: write dresidual3 as one formula of it (and dlnfw, dlnfb),
as llm.c's layernorm_backward does; lnf_norm and lnf_rstd from the forward make it short.
"""

import sys

import torch  # noqa: F401 (the forward reads it: the template imports it)

from ninja.gpt import hints
from ninja.gpt import mistakes as m
from ninja.gpt.model import forward, inputs, parameters
from ninja.tapped.files import from_module

__all__ = ["EXERCISE", "parameters", "inputs", "forward", "CHECKED", "GIVEN", "HINTS", "MISTAKES"]

GIVEN = ("lnf",)
CHECKED = ("lnfw", "lnfb", "residual3")

HINTS = {
    "lnfw": hints.layernorm("lnf", "residual3")["lnfw"],
    "lnfb": hints.layernorm("lnf", "residual3")["lnfb"],
    "residual3": hints.layernorm_input("residual3", "lnf", "lnfw"),
}

MISTAKES = {"residual3": m.layernorm("lnf", "residual3", "lnfw")}

EXERCISE = from_module(sys.modules[__name__], "gpt2")
