"""Cross-entropy in one go: dlogits

Exercise 2 of makemore part 4 (backprop through cross_entropy in one go), as an exercise file on the MLP
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

CHECKED = ("logits",)
HINTS = {
    "logits": (
        "logits is (n, 27); dlogits too. Used in: loss = F.cross_entropy(logits, Yb), the mean over the n "
        "rows of -log softmax(logits[i])[Yb[i]]",
        "For one row, the derivative of -log softmax at the right class is the softmax itself, minus 1 at "
        "the right class. The loss is a mean over n rows, so divide by n.",
        "For row i with p = softmax(logits[i]): ∂(−log p_y)/∂logits[i, j] = p_j − [j = y], y = Yb[i]; the "
        "mean over n rows scales every row by 1/n. Build it for all rows at once.",
    )
}
FORWARD = FORWARD[: FORWARD.index("logits") + 1] + ("loss",)

EXERCISE = from_module(sys.modules[__name__], "exercise2")
