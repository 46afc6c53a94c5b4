"""The MLP of makemore part 4 ("Becoming a backprop ninja") as a tapped model: seeded parameters,
a batch, and the trusted forward pass, chunked into the notebook's small steps.

A model file like any other (see docs/writing-exercises.md): exercises 1-3 are written on it.
"""

from __future__ import annotations

import torch

from ninja.makemore import data as corpus

N_EMBD = 10  # the dimensionality of the character embedding vectors
N_HIDDEN = 64  # the number of neurons in the hidden layer of the MLP
PARAMETER_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")


def parameters(g: torch.Generator, n_hidden: int = N_HIDDEN) -> dict[str, torch.Tensor]:
    """C, W1, b1, W2, b2, bngain, bnbias, initialised as in the notebook (bngain and bnbias seeded too)."""
    n_in = N_EMBD * corpus.BLOCK_SIZE
    C = torch.randn((corpus.VOCAB_SIZE, N_EMBD), generator=g)
    # Layer 1
    W1 = torch.randn((n_in, n_hidden), generator=g) * (5 / 3) / (n_in**0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1  # using b1 just for fun, it's useless because of BN
    # Layer 2
    W2 = torch.randn((n_hidden, corpus.VOCAB_SIZE), generator=g) * 0.1
    b2 = torch.randn(corpus.VOCAB_SIZE, generator=g) * 0.1
    # BatchNorm parameters
    bngain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden), generator=g) * 0.1
    # Note: non-standard initializations, so that a wrong gradient can't hide behind zeros
    return dict(zip(PARAMETER_NAMES, (C, W1, b1, W2, b2, bngain, bnbias), strict=True))


def inputs(g: torch.Generator, batch_size: int, data=None) -> dict[str, torch.Tensor]:
    """Xb (batch_size, 3) contexts and Yb (batch_size,) targets, sampled from the training split
    of the names file (`data`: None for the packaged corpus)."""
    Xtr, Ytr = corpus.splits(data)["train"]
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    return {"Xb": Xtr[ix], "Yb": Ytr[ix]}


def forward(tap, C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb):
    """The notebook's forward pass, one small step a line. `tap(name, t)` sees every intermediate
    and returns the tensor to go on with: that is how the checker retains gradients, or cuts the
    graph into one piece per line."""
    n = Xb.shape[0]
    emb = tap("emb", C[Xb])  # embed the characters into vectors
    embcat = tap("embcat", emb.view(emb.shape[0], -1))  # concatenate the vectors
    # Linear layer 1
    hprebn = tap("hprebn", embcat @ W1 + b1)  # hidden layer pre-activation
    # BatchNorm layer
    bnmeani = tap("bnmeani", 1 / n * hprebn.sum(0, keepdim=True))
    bndiff = tap("bndiff", hprebn - bnmeani)
    bndiff2 = tap("bndiff2", bndiff**2)
    bnvar = tap("bnvar", 1 / (n - 1) * (bndiff2).sum(0, keepdim=True))  # Bessel's correction
    bnvar_inv = tap("bnvar_inv", (bnvar + 1e-5) ** -0.5)
    bnraw = tap("bnraw", bndiff * bnvar_inv)
    hpreact = tap("hpreact", bngain * bnraw + bnbias)
    # Non-linearity
    h = tap("h", torch.tanh(hpreact))  # hidden layer
    # Linear layer 2
    logits = tap("logits", h @ W2 + b2)  # output layer
    # cross entropy loss (same as F.cross_entropy(logits, Yb))
    logit_maxes = tap("logit_maxes", logits.max(1, keepdim=True).values)
    norm_logits = tap("norm_logits", logits - logit_maxes)  # subtract max for numerical stability
    counts = tap("counts", norm_logits.exp())
    counts_sum = tap("counts_sum", counts.sum(1, keepdims=True))
    counts_sum_inv = tap("counts_sum_inv", counts_sum**-1)
    probs = tap("probs", counts * counts_sum_inv)
    logprobs = tap("logprobs", probs.log())
    return tap("loss", -logprobs[range(n), Yb].mean())


def describe(own: dict) -> str:
    """The sizes of a learner's own tensors, for the note that says the check ran on them."""
    return f"batch {own['Xb'].shape[0]}, n_embd {own['C'].shape[1]}, n_hidden {own['W1'].shape[1]}"
