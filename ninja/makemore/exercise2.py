"""Exercise 2: backprop through cross_entropy in one go."""

from ninja.makemore.exercise import Exercise
from ninja.makemore.exercise1 import FORWARD

EXERCISE = Exercise(
    name="exercise2",
    title="Cross-entropy in one go: dlogits",
    checked=("logits",),
    hints={
        "logits": (
            "logits is (n, 27); dlogits too. Used in: loss = F.cross_entropy(logits, Yb), the mean over the n "
            "rows of -log softmax(logits[i])[Yb[i]]",
            "For one row, the derivative of -log softmax at the right class is the softmax itself, minus 1 at "
            "the right class. The loss is a mean over n rows, so divide by n.",
            "For row i with p = softmax(logits[i]): ∂(−log p_y)/∂logits[i, j] = p_j − [j = y], y = Yb[i]; the "
            "mean over n rows scales every row by 1/n. Build it for all rows at once.",
        )
    },
    forward_names=FORWARD[: FORWARD.index("logits") + 1] + ("loss",),
)
