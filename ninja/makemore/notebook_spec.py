"""What a makemore notebook's backward cells find in scope, and the exercises that share one
notebook: makemore's side of ninja/notebook.py (the core's notebook runner knows no track)."""

from ninja.tapped.exercise import NotebookSpec

# after the template's forward: the notebook's cmp silenced, and the notebook's size names
PRELUDE = """def cmp(*args, **kwargs):  # the notebook's cmp: the report below says it all
    pass
vocab_size, block_size, n_embd, n_hidden, batch_size = C.shape[0], Xb.shape[1], C.shape[1], W1.shape[1], n
"""
PROVIDED = ("torch, F, n, Xb, Yb, C, W1, b1, W2, b2, bngain, bnbias, every intermediate of the forward, "
            "vocab_size, block_size, n_embd, n_hidden, batch_size")  # fmt: skip
LEARNER_MODULE = "ninja.makemore"  # templates import parameters() and batch() from here


def family() -> tuple:
    """Exercises 1-4: one notebook holds the cells of all four."""
    from ninja.makemore import exercise1, exercise2, exercise3, exercise4

    return exercise1.EXERCISE, exercise2.EXERCISE, exercise3.EXERCISE, exercise4.EXERCISE


NOTEBOOK = NotebookSpec(PRELUDE, PROVIDED, family)
