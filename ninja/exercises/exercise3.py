"""Exercise 3: backprop through batchnorm in one go."""

from ninja.exercise import Exercise
from ninja.exercises.exercise1 import FORWARD

EXERCISE = Exercise(
    name="exercise3",
    title="Batchnorm in one go: dhprebn from dhpreact",
    checked=("hprebn",),
    hints={
        "hprebn": (
            "hprebn is (n, 64), dhpreact (given) is (n, 64), bngain and bnvar_inv are (1, 64). In one formula: "
            "hpreact = bngain * (hprebn - mean) / sqrt(var + 1e-5) + bnbias, mean and var over the batch, var "
            "divided by n-1 (Bessel)",
            "Each hprebn[i, k] reaches every hpreact[:, k] of its column three ways: directly, through the mean "
            "and through the variance. Write the three and add them, per column; bnraw and bnvar_inv from the "
            "forward make it short.",
            "dL/dhprebn = bngain·bnvar_inv/n · (n·dL/dhpreact - Σ_i dL/dhpreact - n/(n-1) · bnraw · "
            "Σ_i (dL/dhpreact ⊙ bnraw)), the sums over the batch (dim 0).",
        )
    },
    forward_names=FORWARD[: FORWARD.index("logits") + 1] + ("loss",),
)
