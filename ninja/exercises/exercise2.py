"""Exercise 2: backprop through cross_entropy in one go."""

from ninja.exercise import Exercise
from ninja.exercises.exercise1 import FORWARD

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
            "dL/dlogits[i, j] = (softmax(logits[i])_j - [j == Yb[i]]) / n.",
        )
    },
    forward_names=FORWARD[: FORWARD.index("logits") + 1] + ("loss",),
)
