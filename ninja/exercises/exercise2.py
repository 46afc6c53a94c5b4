"""Exercise 2: backprop through cross_entropy in one go."""

from ninja.exercise import Exercise
from ninja.exercises.exercise1 import FORWARD

EXERCISE = Exercise(
    name="exercise2",
    title="Cross-entropy in one go: dlogits",
    checked=("logits",),
    forward_names=FORWARD[: FORWARD.index("logits") + 1] + ("loss",),
)
