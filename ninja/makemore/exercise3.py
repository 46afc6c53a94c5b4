"""Batchnorm in one go: dhprebn from dhpreact

Exercise 3 of makemore part 4 (backprop through batchnorm in one go), as an exercise file on the MLP
model (ninja/makemore/mlp.py); template and solution are hand-written.
"""

import sys

from ninja.makemore.exercise1 import (  # noqa: F401 (the exercise file's hooks)
    FORWARD,
    LEARNER_MODULE,
    NOTEBOOK,
    describe,
    find_roles,
    forward,
    inputs,
    mistakes,
    parameters,
)
from ninja.tapped.files import from_module

CHECKED = ("hprebn",)
GIVEN = ("hpreact",)
HINTS = {
    "hprebn": (
        "hprebn is (n, 64), dhpreact (given) is (n, 64), bngain and bnvar_inv are (1, 64). In one formula: "
        "hpreact = bngain * (hprebn - mean) / sqrt(var + 1e-5) + bnbias, mean and var over the batch, var "
        "divided by n-1 (Bessel)",
        "Each hprebn[i, k] reaches every hpreact[:, k] of its column three ways: directly, through the mean "
        "and through the variance. Write the three and add them, per column; bnraw and bnvar_inv from the "
        "forward make it short.",
        "Per column, with g = bngain·dL/dhpreact (the gradient reaching bnraw): dL/dhprebn = bnvar_inv · "
        "(g − mean over the batch of g − bnraw · Σ_i(g ⊙ bnraw) / (n−1)). The three terms are the direct, "
        "mean and variance paths; factor out what they share to write it as one line.",
    )
}
FORWARD = FORWARD[: FORWARD.index("logits") + 1] + ("loss",)

EXERCISE = from_module(sys.modules[__name__], "exercise3")
