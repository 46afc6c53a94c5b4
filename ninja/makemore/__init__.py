"""The MLP of makemore part 4 ("Becoming a backprop ninja"): seeded parameters, a batch, and the
trusted forward pass, chunked into the notebook's small steps.

Learner files call `parameters()` and `batch()`; the checker decides the seed, the batch size and
the names file through `use(settings)`, so every run of a file is reproducible and the checker's
reference sees exactly the same numbers.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import torch

from ninja.makemore import data
from ninja.settings import Settings

N_EMBD = 10  # the dimensionality of the character embedding vectors
N_HIDDEN = 64  # the number of neurons in the hidden layer of the MLP
PARAMETER_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")


_settings = Settings()


@contextmanager
def use(settings: Settings):
    """Make parameters() and batch() follow `settings` inside the block."""
    global _settings
    previous, _settings = _settings, settings
    try:
        yield
    finally:
        _settings = previous


def current_settings() -> Settings:
    return _settings


def parameters(n_hidden: int = N_HIDDEN) -> tuple[torch.Tensor, ...]:
    """C, W1, b1, W2, b2, bngain, bnbias, initialised as in the notebook (bngain and bnbias seeded too)."""
    g = torch.Generator().manual_seed(_settings.seed)
    n_in = N_EMBD * data.BLOCK_SIZE
    C = torch.randn((data.VOCAB_SIZE, N_EMBD), generator=g)
    # Layer 1
    W1 = torch.randn((n_in, n_hidden), generator=g) * (5 / 3) / (n_in**0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1  # using b1 just for fun, it's useless because of BN
    # Layer 2
    W2 = torch.randn((n_hidden, data.VOCAB_SIZE), generator=g) * 0.1
    b2 = torch.randn(data.VOCAB_SIZE, generator=g) * 0.1
    # BatchNorm parameters
    bngain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden), generator=g) * 0.1
    # Note: non-standard initializations, so that a wrong gradient can't hide behind zeros
    return tuple(p.to(_settings.dtype) for p in (C, W1, b1, W2, b2, bngain, bnbias))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Xb (batch_size, 3) contexts and Yb (batch_size,) targets, sampled from the training split."""
    Xtr, Ytr = data.splits(_settings.data)["train"]
    g = torch.Generator().manual_seed(_settings.seed + 1)
    ix = torch.randint(0, Xtr.shape[0], (_settings.batch_size,), generator=g)
    return Xtr[ix], Ytr[ix]


Tap = Callable[[str, torch.Tensor], torch.Tensor]


def forward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb, tap: Tap = lambda name, t: t):
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


def tensors_of(settings: Settings, tensors: dict | None = None) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """(parameters by name, Xb, Yb): the package's at `settings`, or the learner's own (`tensors`:
    the parameters, Xb and Yb their file defines, see ninja.makemore.roles), in float64."""
    if tensors is not None:  # "dtype": at the learner's own precision instead (to measure its rounding)
        dtype = tensors.get("dtype", torch.float64)
        params = {k: tensors[k].detach().to(dtype).clone() for k in PARAMETER_NAMES}
        return params, tensors["Xb"], tensors["Yb"]
    with use(settings):
        params = dict(zip(PARAMETER_NAMES, parameters()))
        Xb, Yb = batch()
    return params, Xb, Yb


def run_forward(settings: Settings, tensors: dict | None = None):
    """The trusted forward at `settings` (or on the learner's own `tensors`) with autograd on:
    (values by name, the parameter leaves). Every intermediate keeps its .grad after
    values["loss"].backward()."""
    params, Xb, Yb = tensors_of(settings, tensors)
    leaves = {k: p.requires_grad_() for k, p in params.items()}
    values: dict[str, torch.Tensor] = {}

    def keep(name, t):
        t.retain_grad()
        values[name] = t
        return t

    forward(**leaves, Xb=Xb, Yb=Yb, tap=keep)
    return values, leaves


def reference_gradients(settings: Settings, names, tensors: dict | None = None) -> tuple[dict, dict]:
    """(forward values, d loss / d name) for every name, from autograd on the trusted forward."""
    with torch.enable_grad():  # even when called from code that runs under no_grad
        values, leaves = run_forward(settings, tensors)
        values["loss"].backward()
    everything = values | leaves
    grads = {name: everything[name].grad.detach().clone() for name in names}
    return {k: v.detach() for k, v in values.items()}, grads


def given(name: str) -> torch.Tensor:
    """The reference gradient of `name` at the current settings: what an exercise hands you for
    free (exercise 3 gives dhpreact)."""
    return reference_gradients(_settings, [name])[1][name]



def cut_forward(settings: Settings, cut, tensors: dict | None = None) -> tuple[dict, dict]:
    """The trusted forward with every name in `cut` made a leaf of its own, for local blame.
    Returns (outputs, leaves): outputs[name] is what the forward computed for a cut intermediate
    from the leaves before it (and outputs["loss"] the root); leaves[name] is the leaf that the
    lines after it read. Parameters in `cut` are leaves; the rest of the forward stays uncut, so
    the steps between two cut names count as one line."""
    params, Xb, Yb = tensors_of(settings, tensors)
    leaves = {k: p.requires_grad_() for k, p in params.items() if k in cut}
    outputs: dict[str, torch.Tensor] = {}

    def cut_here(name, t):
        if name not in cut:
            return t
        outputs[name] = t
        leaves[name] = t.detach().requires_grad_()
        return leaves[name]

    with torch.enable_grad():
        outputs["loss"] = forward(**params, Xb=Xb, Yb=Yb, tap=cut_here)
    return outputs, leaves


def dataset(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The whole train, val or test split (X, Y) of the current settings' names file: what the
    notebook calls Xtr, Ytr (exercise 4 trains on it)."""
    return data.splits(_settings.data)[split]
