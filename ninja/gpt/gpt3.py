"""GPT 3: backprop through causal self-attention in one go.

q, k and v are the three thirds of one projection qkv (B, T, 3C), split into two heads; each head's
scores q · kᵀ are scaled by 1/sqrt(head size), masked so that no position looks ahead, and
softmaxed into att; the heads' att · v are put side by side into atty (B, T, C). datty is given:
write dqkv as one piece of code through the weighted values, the softmax's Jacobian, the mask and
the scale, as llm.c's attention_backward does.
"""

import sys

import torch  # noqa: F401 (the forward reads it: the template imports it)

from ninja.gpt import hints
from ninja.gpt import mistakes as m
from ninja.gpt.model import forward, inputs, parameters
from ninja.tapped.files import from_module

__all__ = ["EXERCISE", "parameters", "inputs", "forward", "CHECKED", "GIVEN", "HINTS", "MISTAKES"]

GIVEN = ("atty",)
CHECKED = ("qkv",)
HINTS = {"qkv": hints.attention_in_one_go("qkv", "atty")}
MISTAKES = {"qkv": m.attention("qkv", "atty")}

EXERCISE = from_module(sys.modules[__name__], "gpt3")
