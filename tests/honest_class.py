"""A class of honest exercise 1 solutions in varied styles, and copies of some with the names
changed, lines reordered and comments rewritten: the corpus --similarity is measured on.

Each step of the backward has several right ways to write it, written here by hand the way
learners write them (the notebook's, a one-liner, torch.sum(..., dim=...), a helper mask, index_add_,
one_hot matmuls, loops...). A student is a persona: one way per step (their own choice, drawn
from their seed), their own name for helpers, their own comment habit, blank lines or none. Every
student's file passes `ninja check` (the test grades them all), so they are honest right answers
that share only the formulas.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = (ROOT / "exercises" / "exercise1.py").read_text()
HEADER = TEMPLATE[: TEMPLATE.index("dlogprobs = None  # TODO")]

# one list per step, in backward order; {m} is the student's helper name, {i} {j} their loop names
STEPS = [
    [
        "dlogprobs = torch.zeros_like(logprobs)\ndlogprobs[range(n), Yb] = -1.0 / n",
        "dlogprobs = torch.zeros_like(logprobs)\ndlogprobs[torch.arange(n), Yb] = -1 / n",
        "dlogprobs = -F.one_hot(Yb, num_classes=logprobs.shape[1]).to(logprobs.dtype) / n",
        "{m} = torch.zeros(logprobs.shape, dtype=logprobs.dtype)\n{m}[range(n), Yb] = -1.0\ndlogprobs = {m} / n",
    ],
    [
        "dprobs = (1.0 / probs) * dlogprobs",
        "dprobs = dlogprobs / probs",
        "dprobs = probs**-1 * dlogprobs",
        "dprobs = dlogprobs * probs.reciprocal()",
    ],
    [
        "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)",
        "dcounts_sum_inv = (dprobs * counts).sum(dim=1, keepdim=True)",
        "dcounts_sum_inv = torch.sum(counts * dprobs, 1, keepdim=True)",
        "dcounts_sum_inv = (counts * dprobs).sum(-1, keepdims=True)",
    ],
    [
        "dcounts_sum = (-(counts_sum**-2)) * dcounts_sum_inv\ndcounts = counts_sum_inv * dprobs\n"
        "dcounts += torch.ones_like(counts) * dcounts_sum",
        "dcounts_sum = -dcounts_sum_inv / counts_sum**2\ndcounts = dprobs * counts_sum_inv + dcounts_sum",
        "dcounts_sum = -(counts_sum ** -2) * dcounts_sum_inv\ndcounts = counts_sum_inv * dprobs\n"
        "dcounts = dcounts + dcounts_sum.expand_as(counts)",
        "dcounts_sum = dcounts_sum_inv * (-1.0 / counts_sum**2)\ndcounts = dprobs * counts_sum_inv\n"
        "dcounts += dcounts_sum",
    ],
    [
        "dnorm_logits = counts * dcounts",
        "dnorm_logits = norm_logits.exp() * dcounts",
        "dnorm_logits = dcounts * counts",
    ],
    [
        "dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)\ndlogits = dnorm_logits.clone()\n"
        "dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes",
        "dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)\n{m} = (logits == logit_maxes).to(logits.dtype)\n"
        "dlogits = dnorm_logits + {m} * dlogit_maxes",
        "dlogit_maxes = -dnorm_logits.sum(dim=1, keepdim=True)\ndlogits = dnorm_logits.clone()\n"
        "dlogits[range(n), logits.argmax(1)] += dlogit_maxes.view(-1)",
        "dlogit_maxes = (-1.0 * dnorm_logits).sum(1, keepdims=True)\n{m} = torch.zeros_like(logits)\n"
        "{m}[torch.arange(n), logits.argmax(dim=1)] = 1.0\ndlogits = dnorm_logits + dlogit_maxes * {m}",
    ],
    [
        "dh = dlogits @ W2.T\ndW2 = h.T @ dlogits\ndb2 = dlogits.sum(0)",
        "dh = torch.matmul(dlogits, W2.t())\ndW2 = torch.matmul(h.t(), dlogits)\ndb2 = dlogits.sum(dim=0)",
        "dh = dlogits @ W2.transpose(0, 1)\ndW2 = h.transpose(0, 1) @ dlogits\ndb2 = torch.sum(dlogits, 0)",
        "db2 = dlogits.sum(0, keepdim=False)\ndW2 = h.T.mm(dlogits)\ndh = dlogits.mm(W2.T)",
    ],
    [
        "dhpreact = (1.0 - h**2) * dh",
        "dhpreact = dh * (1 - h * h)",
        "dhpreact = (1 - h.pow(2)) * dh",
        "dhpreact = dh * (1 - torch.tanh(hpreact) ** 2)",
    ],
    [
        "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)\ndbnraw = bngain * dhpreact\n"
        "dbnbias = dhpreact.sum(0, keepdim=True)",
        "dbngain = torch.sum(bnraw * dhpreact, dim=0, keepdim=True)\n"
        "dbnbias = torch.sum(dhpreact, dim=0, keepdim=True)\ndbnraw = dhpreact * bngain",
        "dbnbias = dhpreact.sum(0, keepdims=True)\ndbngain = (dhpreact * bnraw).sum(0, keepdims=True)\n"
        "dbnraw = bngain * dhpreact",
    ],
    [
        "dbndiff = bnvar_inv * dbnraw\ndbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)",
        "dbnvar_inv = torch.sum(dbnraw * bndiff, dim=0, keepdim=True)\ndbndiff = dbnraw * bnvar_inv",
    ],
    [
        "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv",
        "dbnvar = -0.5 * (bnvar + 1e-5)**(-1.5) * dbnvar_inv",
        "dbnvar = dbnvar_inv * (-0.5) * bnvar_inv**3",
        "dbnvar = -0.5 * bnvar_inv / (bnvar + 1e-5) * dbnvar_inv",
    ],
    [
        "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbndiff2 = dbnvar.expand_as(bndiff2) / (n - 1)",
        "dbndiff2 = torch.ones_like(bndiff2) * dbnvar / (n - 1.0)",
    ],
    [
        "dbndiff += (2 * bndiff) * dbndiff2",
        "dbndiff = dbndiff + 2.0 * bndiff * dbndiff2",
        "dbndiff += 2 * bndiff * dbndiff2",
    ],
    [
        "dhprebn = dbndiff.clone()\ndbnmeani = (-dbndiff).sum(0)\n"
        "dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)",
        "dbnmeani = -dbndiff.sum(0, keepdim=True)\ndhprebn = dbndiff + dbnmeani / n",
        "dbnmeani = -torch.sum(dbndiff, dim=0, keepdim=True)\ndhprebn = dbndiff.clone()\n"
        "dhprebn += dbnmeani.expand_as(hprebn) / n",
    ],
    [
        "dembcat = dhprebn @ W1.T\ndW1 = embcat.T @ dhprebn\ndb1 = dhprebn.sum(0)",
        "dembcat = torch.matmul(dhprebn, W1.t())\ndW1 = torch.matmul(embcat.t(), dhprebn)\ndb1 = dhprebn.sum(dim=0)",
        "db1 = torch.sum(dhprebn, 0)\ndW1 = embcat.transpose(0, 1) @ dhprebn\ndembcat = dhprebn @ W1.transpose(0, 1)",
    ],
    [
        "demb = dembcat.view(emb.shape)",
        "demb = dembcat.reshape(n, 3, -1)",
        "demb = dembcat.view(-1, 3, 10)",
        "demb = dembcat.view(emb.shape[0], emb.shape[1], emb.shape[2])",
    ],
    [
        "dC = torch.zeros_like(C)\nfor {i} in range(Xb.shape[0]):\n    for {j} in range(Xb.shape[1]):\n"
        "        {m} = Xb[{i}, {j}]\n        dC[{m}] += demb[{i}, {j}]",
        "dC = torch.zeros_like(C)\ndC.index_add_(0, Xb.view(-1), demb.view(-1, demb.shape[2]))",
        "dC = F.one_hot(Xb.view(-1), num_classes=C.shape[0]).to(C.dtype).T @ demb.view(-1, C.shape[1])",
        "dC = torch.zeros_like(C)\nfor {i} in range(n):\n    for {j} in range(3):\n"
        "        dC[Xb[{i}, {j}]] += demb[{i}, {j}]",
        "dC = torch.zeros_like(C)\ndC.index_put_((Xb,), demb, accumulate=True)",
    ],
]
HELPERS = ["mask", "onehot", "tmp", "sel", "hot", "ind", "m", "picked", "ix", "z", "idx", "buf"]
LOOPS = [("k", "j"), ("i", "j"), ("row", "col"), ("b", "t"), ("i", "k"), ("ex", "pos")]
COMMENTS = ["", "# {what}", "# grad of {what}", "# backprop through {what}"]


def honest(k: int) -> str:
    """Student k's file: the template's forward, then their own backward."""
    rng = random.Random(1000 + k)
    helper, (i, j), comment = HELPERS[k % len(HELPERS)], LOOPS[k % len(LOOPS)], COMMENTS[k % len(COMMENTS)]
    blank = "\n" if k % 3 == 0 else ""
    parts = []
    for step in STEPS:
        body = rng.choice(step).format(m=helper, i=i, j=j)
        what = re.match(r"(\w+)", body).group(1)
        parts.append((comment.format(what=what) + "\n" if comment else "") + body + "\n" + blank)
    return HEADER + "".join(parts)


def renamed(source: str, names: dict[str, str]) -> str:
    """Each name replaced where it is a name of its own (never an attribute such as `.t()`)."""
    for old, new in names.items():
        source = re.sub(rf"(?<!\.)\b{old}\b", new, source)
    return source


def copy_of(k: int, tag: str) -> str:
    """A copy of student k's file as a copier hides one: their own helper and loop names, comments
    gone or rewritten, blank lines gone, and independent lines swapped (dh and db2, dbngain and
    dbnbias, dembcat and db1)."""
    helper, loops = HELPERS[k % len(HELPERS)], LOOPS[k % len(LOOPS)]
    names = {old: f"{old}_{tag}" for old in (helper, *loops)}
    backward = renamed(honest(k)[len(HEADER) :], names)
    lines = [line for line in backward.splitlines() if line.strip() and not line.startswith("#")]
    for a, b in [("dh = ", "db2 = "), ("dbngain = ", "dbnbias = "), ("dembcat = ", "db1 = ")]:
        ia = next((n for n, line in enumerate(lines) if line.startswith(a)), None)
        ib = next((n for n, line in enumerate(lines) if line.startswith(b)), None)
        if ia is not None and ib is not None:
            lines[ia], lines[ib] = lines[ib], lines[ia]
    body = "\n".join(f"{line}  # {tag}" if not line.startswith(" ") else line for line in lines)
    return HEADER + "# my backward pass\n" + body + "\n"
