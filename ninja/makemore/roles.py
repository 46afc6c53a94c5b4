"""The learner's own tensors, found by the role they play in the forward pass.

A learner's own script or notebook has its own parameters and batch (their sizes, seed, batch size,
dtype) under the notebook's names or their own (X_batch, bnorm_gain, w1). We find them by what they
do: C is the table whose rows, indexed by the batch's contexts, are the learner's emb; W1 and b1
turn embcat into their hprebn; and so on down to the loss. Then the learner's intermediates are
matched by value to the trusted forward on those tensors, which names their gradients (dhpreact_bn
for a learner's hpreact_bn). Runs where the learner's file ran (a grading child too): tensors in,
plain names out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ninja.makemore.mlp import PARAMETER_NAMES
from ninja.tapped.roles import Roles, match, name_intermediates

INTS = (torch.int64, torch.int32, torch.int16, torch.uint8)


def find_lookup(floats, ints):
    """(C, Xb, emb): a table, and contexts into it, whose lookup the learner's file holds."""
    for c_name in sorted(floats, key=lambda k: k != "C"):
        table = floats[c_name]
        if table.dim() != 2:
            continue
        for x_name in sorted(ints, key=lambda k: k != "Xb"):
            X = ints[x_name]
            if X.dim() == 2 and X.numel() and 0 <= X.min() and X.max() < table.shape[0] and X.shape[0] <= 4096:
                emb = match(table[X.long()], floats, "emb")
                if emb:
                    return c_name, x_name, emb
    return None


def find_linear(x: torch.Tensor, floats, prefer: tuple[str, str, str]):
    """(W, b, out): a weight and a bias with x @ W + b among the learner's tensors; b may be absent."""
    for w_name in sorted(floats, key=lambda k: k != prefer[0]):
        W = floats[w_name]
        if W.dim() != 2 or W.shape[0] != x.shape[1]:
            continue
        product = x @ W.double()
        for b_name in sorted(floats, key=lambda k: k != prefer[1]):
            b = floats[b_name]
            if b.dim() == 1 and b.shape[0] == W.shape[1]:
                out = match(product + b.double(), floats, prefer[2])
                if out:
                    return w_name, b_name, out
        out = match(product, floats, prefer[2])
        if out:
            return w_name, None, out
    return None


def find_batchnorm(hprebn: torch.Tensor, floats, besides=()):
    """(bngain, bnbias) whose batchnorm of hprebn the learner's file holds, else by name."""
    n = hprebn.shape[0]
    raw = (hprebn - hprebn.mean(0, keepdim=True)) * (hprebn.var(0, keepdim=True, unbiased=n > 1) + 1e-5) ** -0.5
    rows = [k for k, t in floats.items() if t.numel() == hprebn.shape[1] and t.dim() <= 2 and t.shape[-1] == t.numel()]
    for g in sorted(rows, key=lambda k: k != "bngain"):
        for b in sorted(rows, key=lambda k: k != "bnbias"):
            if g != b and match(floats[g].double() * raw + floats[b].double(), floats, "hpreact", besides):
                return g, b
    # the learner's batchnorm differs from ours: their forward check will say so; name them by name
    gain = [k for k in rows if "gain" in k.lower() or "gamma" in k.lower()]
    bias = [k for k in rows if "bias" in k.lower() or "beta" in k.lower()]
    return (gain[0], bias[0]) if len(gain) == 1 and len(bias) == 1 else None


def find_hidden(hprebn: torch.Tensor, floats, gain: str, bias: str) -> str | None:
    """The learner's h: tanh of the batchnorm with their gain and bias, else the tensor named h."""
    n = hprebn.shape[0]
    raw = (hprebn - hprebn.mean(0, keepdim=True)) * (hprebn.var(0, keepdim=True, unbiased=n > 1) + 1e-5) ** -0.5
    h = torch.tanh(floats[gain].double() * raw + floats[bias].double())
    found = match(h, floats, "h")
    return found or ("h" if "h" in floats and floats["h"].shape == hprebn.shape else None)


def find_labels(logits: torch.Tensor, ints, floats, *, batch: int) -> str | None:
    """The batch's labels: an integer tensor of one label per example, below the vocabulary size,
    whatever its name (Yb, yb, Y_batch). Where several fit (a column of the contexts, `ix` on a
    small set), the one whose cross-entropy with the learner's logits is their loss."""
    fits = [k for k in sorted(ints, key=lambda k: k != "Yb")
            if ints[k].dim() == 1 and ints[k].shape[0] == batch and ints[k].numel()
            and 0 <= ints[k].min() and ints[k].max() < logits.shape[1]]  # fmt: skip
    losses = [t.double().item() for t in floats.values() if t.dim() == 0]
    for k in fits:
        loss = F.cross_entropy(logits.double(), ints[k].long()).item()
        if any(abs(loss - mine) <= 1e-4 * max(1.0, abs(loss)) for mine in losses):
            return k
    return fits[0] if fits else None


def find_roles(namespace: Mapping[str, Any], model, forward_names) -> Roles | None:
    """The learner's parameters and batch by role, and their names for the forward's
    intermediates; None when the file holds no complete set (then the template's are used)."""
    tensors = {k: v.detach() for k, v in namespace.items() if torch.is_tensor(v) and not k.startswith("_")}
    floats = {k: v for k, v in tensors.items() if v.is_floating_point() and v.numel() < 10_000_000}
    ints = {k: v for k, v in tensors.items() if v.dtype in INTS}
    lookup = find_lookup(floats, ints)
    if lookup is None:
        return None
    c, xb, emb = lookup
    embcat = tensors[emb].double().reshape(tensors[emb].shape[0], -1)
    first = find_linear(embcat, floats, ("W1", "b1", "hprebn"))
    if first is None:
        return None
    w1, b1, hprebn = first
    norm = find_batchnorm(tensors[hprebn].double(), floats, besides={hprebn, emb})
    if norm is None:
        return None
    hidden = find_hidden(tensors[hprebn].double(), floats, *norm)
    if hidden is None:
        return None
    second = find_linear(floats[hidden].double(), floats, ("W2", "b2", "logits"))
    if second is None or second[1] is None:
        return None
    w2, b2, logits = second
    yb = find_labels(floats[logits], ints, floats, batch=tensors[xb].shape[0])
    if yb is None:
        return None
    names = dict(zip(PARAMETER_NAMES, (c, w1, b1, w2, b2, *norm), strict=True)) | {"Xb": xb, "Yb": yb}
    own = {role: tensors[name] for role, name in names.items() if name is not None}
    if b1 is None:  # no b1 in the learner's model: a zero bias changes nothing
        own["b1"] = torch.zeros(floats[w1].shape[1], dtype=floats[w1].dtype)
        names.pop("b1")
    roles = Roles({k: v for k, v in names.items() if v is not None}, own)
    name_intermediates(roles, floats, forward_names, model)
    return roles
