"""The classic mistakes of exercises 2 and 3, named: each is the wrong formula computed on the
trusted forward, so a learner's dlogits or dhprebn that equals one of them gets its name
("the labels' -1 is missing") instead of "this line's local rule is wrong".

Exercise 1 has the same two gradients (a learner may write them in one go there too), so its
blame uses these as well. Pure: the trusted values and gradients in, tensors out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Mistake = tuple[str, str, torch.Tensor]  # (kind, words, what the mistake computes)


def cross_entropy(logits: torch.Tensor, Yb: torch.Tensor) -> list[Mistake]:
    """dlogits: softmax minus the labels' one-hot, over n."""
    n = logits.shape[0]
    p, y = F.softmax(logits, 1), F.one_hot(Yb, logits.shape[1]).to(logits.dtype)
    return [
        ("labels", "the labels' -1 is missing: dlogits is softmax/n here; subtract 1 at each row's label "
         "(dlogits[range(n), Yb] -= 1) before dividing by n", p / n),
        ("softmax_dim", "softmax over the wrong dim: dim 0 runs over the batch, the loss's softmax is over "
         "the classes, dim 1", (F.softmax(logits, 0) - y) / n),
        ("factor", f"the 1/n is missing: the loss is the mean over the n = {n} rows, so divide by n", p - y),
        ("factor", "the 1/n is there twice: the mean over the rows divides by n once", (p - y) / n**2),
        ("factor", "the sign is flipped: it is softmax minus the labels' one-hot, not the labels minus "
         "softmax", (y - p) / n),
    ]  # fmt: skip


def batchnorm(dhpreact, bngain, bnraw, bnvar_inv) -> list[Mistake]:
    """dhprebn from dhpreact: the direct, mean and variance terms, the last with Bessel's n/(n-1)."""
    n = dhpreact.shape[0]

    def formula(g=bngain * dhpreact, dim=0, bessel=n / (n - 1), direct=1.0, mean=1.0, variance=1.0, dim2=None):
        s1, s2 = g.sum(dim, keepdim=True), (g * bnraw).sum(dim if dim2 is None else dim2, keepdim=True)
        return bnvar_inv / n * (direct * n * g - mean * s1 - variance * bessel * bnraw * s2)

    # over the wrong dim: both sums, or one of them; bngain inside, or factored out in front as the
    # notebook writes it
    dims = [(1, 1), (1, 0), (0, 1)]
    wrong_dims = [formula(dim=a, dim2=b) for a, b in dims] + [
        bngain * formula(g=dhpreact, dim=a, dim2=b) for a, b in dims
    ]
    three = "of the formula's three terms (direct, mean, variance),"
    return [
        ("bessel", "Bessel's n/(n-1) is missing from the variance term: the forward divides the variance by "
         "n-1, so that term carries n/(n-1)", formula(bessel=1.0)),
        ("bessel", "Bessel's factor is inverted: the variance term needs n/(n-1), not (n-1)/n",
         formula(bessel=(n - 1) / n)),
        *[("wrong_dim", "summed over the wrong dim: batchnorm's mean and variance run over the batch, so "
           "sum over dim 0 (keepdim=True), not dim 1", wrong) for wrong in wrong_dims],
        ("missing_term", f"{three} the direct one is missing: n * bngain * dhpreact", formula(direct=0.0)),
        ("missing_term", f"{three} the mean one is missing: minus the batch sum of bngain * dhpreact",
         formula(mean=0.0)),
        ("missing_term", f"{three} the variance one is missing: minus n/(n-1) * bnraw * the batch sum of "
         "bngain * dhpreact * bnraw", formula(variance=0.0)),
        ("missing_term", "bngain is missing: what reaches bnraw is bngain * dhpreact", formula(g=dhpreact)),
    ]  # fmt: skip


def tanh(dh, h, hpreact) -> list[Mistake]:
    """dhpreact from dh: tanh's derivative is 1 - h**2, h being tanh(hpreact)."""
    words = "the derivative of tanh is 1 - h**2 (h = tanh(hpreact))"
    return [
        ("tanh", f"{words}, not 1 - h", (1 - h) * dh),
        ("tanh", f"{words}: square h, not hpreact", (1 - hpreact**2) * dh),
        ("tanh", f"{words}, not h * (1 - h), which is the sigmoid's", h * (1 - h) * dh),
        ("tanh", f"{words}, not 1 + h**2", (1 + h**2) * dh),
        ("tanh", f"{words}, not h**2 - 1: the sign is flipped", (h**2 - 1) * dh),
    ]


def named_mistakes(v: dict, g: dict) -> dict[str, list[Mistake]]:
    """The named mistakes for the checked names that have some (logits, hpreact, hprebn). `v`: the
    trusted forward's values (parameters and inputs too), `g`: the reference gradients (checked and
    given)."""
    found = {}
    if "logits" in g:
        found["logits"] = cross_entropy(v["logits"], v["Yb"])
    if "hpreact" in g and "h" in g:
        found["hpreact"] = tanh(g["h"], v["h"], v["hpreact"])
    if "hprebn" in g and "hpreact" in g:
        found["hprebn"] = batchnorm(g["hpreact"], v["bngain"], v["bnraw"], v["bnvar_inv"])
    return found
