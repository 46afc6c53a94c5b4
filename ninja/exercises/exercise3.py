"""Exercise 3: backprop through batchnorm in one go."""

from ninja.exercise import Exercise
from ninja.exercises.exercise1 import FORWARD

EXERCISE = Exercise(
    name="exercise3",
    title="Batchnorm in one go: dhprebn from dhpreact",
    checked=("hprebn",),
    forward_names=FORWARD[: FORWARD.index("logits") + 1] + ("loss",),
)
