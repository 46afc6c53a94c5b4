"""Exercise 1: backprop through the whole thing manually, one line of the forward pass at a time."""

from ninja.exercise import Exercise

FORWARD = (
    "emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw", "hpreact",
    "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum", "counts_sum_inv", "probs",
    "logprobs", "loss",
)  # fmt: skip

EXERCISE = Exercise(
    name="exercise1",
    title="Backprop through the whole thing, one line at a time",
    checked=(
        "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes",
        "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar",
        "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C",
    ),  # fmt: skip
    forward_names=FORWARD,
)
