"""Backprop through the whole thing, one line at a time

Exercise 1 of makemore part 4, as an exercise file (docs/writing-exercises.md): the MLP's model
(ninja/makemore/mlp.py), the 26 checked names in backward order, and their hints. Its template
and solution are hand-written (exercises/exercise1.py, solutions/exercise1.py): the notebook's.
"""

import sys

from ninja.makemore.mistakes import named_mistakes as mistakes  # noqa: F401 (the exercise file's hooks)
from ninja.makemore.mlp import describe, forward, inputs, parameters  # noqa: F401
from ninja.makemore.notebook_spec import LEARNER_MODULE, NOTEBOOK  # noqa: F401
from ninja.makemore.roles import find_roles  # noqa: F401
from ninja.tapped.files import from_module

FORWARD: tuple[str, ...] = (
    "emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw", "hpreact",
    "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum", "counts_sum_inv", "probs",
    "logprobs", "loss",
)  # fmt: skip

# per checked variable: 1 the shapes and the forward line that consumes it, 2 the local derivative in
# words, 3 the rule in math. Never the solution's code: `ninja solution` shows that, once it passes.
HINTS = {
    "logprobs": (
        "logprobs is (n, 27), so dlogprobs is (n, 27). Used in: loss = -logprobs[range(n), Yb].mean()",
        "The loss picks one entry per row, logprobs[i, Yb[i]], and averages those n entries with a minus "
        "sign. Every other entry does not touch the loss.",
        "dloss/dlogprobs[i, j] = -1/n where j == Yb[i], and 0 everywhere else.",
    ),
    "probs": (
        "probs is (n, 27); dprobs too. Used in: logprobs = probs.log()",
        "The derivative of log(x) is 1/x, elementwise; chain it with dlogprobs.",
        "dL/dprobs = dL/dlogprobs ⊙ 1/probs (elementwise).",
    ),
    "counts_sum_inv": (
        "counts_sum_inv is (n, 1); dcounts_sum_inv too. Used in: probs = counts * counts_sum_inv, "
        "broadcast across the 27 columns",
        "The local derivative of counts * counts_sum_inv with respect to counts_sum_inv is counts. It was "
        "broadcast over the columns in the forward, so its gradient adds up over them, kept as a column.",
        "dL/dcounts_sum_inv[i] = Σ_j counts[i, j] · dL/dprobs[i, j], shape (n, 1).",
    ),
    "counts_sum": (
        "counts_sum is (n, 1); dcounts_sum too. Used in: counts_sum_inv = counts_sum**-1",
        "Power rule: the derivative of x**-1 is -x**-2.",
        "dL/dcounts_sum = -counts_sum^(-2) ⊙ dL/dcounts_sum_inv.",
    ),
    "counts": (
        "counts is (n, 27); dcounts too. Used in two lines: counts_sum = counts.sum(1, keepdims=True) "
        "and probs = counts * counts_sum_inv",
        "Two lines use counts, so two gradients add up. Through probs the local derivative is "
        "counts_sum_inv (one per row); through the row sum every element gets its row's dcounts_sum.",
        "dL/dcounts[i, j] = counts_sum_inv[i] · dL/dprobs[i, j] + dL/dcounts_sum[i].",
    ),
    "norm_logits": (
        "norm_logits is (n, 27); dnorm_logits too. Used in: counts = norm_logits.exp()",
        "The derivative of exp(x) is exp(x) itself, which the forward already computed: counts.",
        "dL/dnorm_logits = counts ⊙ dL/dcounts.",
    ),
    "logit_maxes": (
        "logit_maxes is (n, 1); dlogit_maxes too. Used in: norm_logits = logits - logit_maxes, broadcast "
        "across the columns",
        "It is subtracted, so the local derivative is -1; it was broadcast over the 27 columns, so sum over "
        "them. (The result is nearly zero: shifting the logits does not change the loss.)",
        "dL/dlogit_maxes[i] = -Σ_j dL/dnorm_logits[i, j], shape (n, 1).",
    ),
    "logits": (
        "logits is (n, 27); dlogits too. Used in two lines: norm_logits = logits - logit_maxes and "
        "logit_maxes = logits.max(1, keepdim=True).values",
        "Through norm_logits the local derivative is 1. Through the max, only the position of each row's "
        "maximum gets that row's dlogit_maxes. Add both, and copy with .clone() before adding in place.",
        "dL/dlogits = dL/dnorm_logits + onehot(argmax_j logits[i, j]) ⊙ dL/dlogit_maxes.",
    ),
    "h": (
        "h is (n, 64), W2 is (64, 27), dlogits is (n, 27); dh is (n, 64). Used in: logits = h @ W2 + b2",
        "For a matrix product, the gradient of one factor is the upstream gradient and the other factor, "
        "transposed, multiplied in the order that makes the shapes fit.",
        "dL/dh = dL/dlogits · W2ᵀ: (n, 27) · (27, 64) = (n, 64).",
    ),
    "W2": (
        "W2 is (64, 27); dW2 too. Used in: logits = h @ W2 + b2",
        "The matrix-product rule again: the other factor h, transposed, and the upstream gradient. The sum "
        "over the batch happens inside the product.",
        "dL/dW2 = hᵀ · dL/dlogits: (64, n) · (n, 27) = (64, 27).",
    ),
    "b2": (
        "b2 is (27,); db2 too. Used in: logits = h @ W2 + b2, broadcast over the n rows",
        "Adding a bias has local derivative 1, and b2 was broadcast over the batch, so its gradient sums "
        "over the batch.",
        "dL/db2[j] = Σ_i dL/dlogits[i, j].",
    ),
    "hpreact": (
        "hpreact is (n, 64); dhpreact too. Used in: h = torch.tanh(hpreact)",
        "d/dx tanh(x) = 1 - tanh(x)², and tanh(hpreact) is h, already computed.",
        "dL/dhpreact = (1 - h²) ⊙ dL/dh.",
    ),
    "bngain": (
        "bngain is (1, 64); dbngain too. Used in: hpreact = bngain * bnraw + bnbias, broadcast over the rows",
        "The local derivative of bngain * bnraw with respect to bngain is bnraw. bngain was broadcast over "
        "the batch, so sum over it and keep the (1, 64) shape.",
        "dL/dbngain[0, k] = Σ_i bnraw[i, k] · dL/dhpreact[i, k].",
    ),
    "bnbias": (
        "bnbias is (1, 64); dbnbias too. Used in: hpreact = bngain * bnraw + bnbias, broadcast over the rows",
        "A bias: local derivative 1, broadcast over the batch, so sum over the batch, keeping (1, 64).",
        "dL/dbnbias[0, k] = Σ_i dL/dhpreact[i, k].",
    ),
    "bnraw": (
        "bnraw is (n, 64); dbnraw too. Used in: hpreact = bngain * bnraw + bnbias",
        "bnraw is multiplied by bngain, so the local derivative is bngain (the same for every row).",
        "dL/dbnraw = bngain ⊙ dL/dhpreact, bngain broadcast over the rows.",
    ),
    "bnvar_inv": (
        "bnvar_inv is (1, 64); dbnvar_inv too. Used in: bnraw = bndiff * bnvar_inv, broadcast over the rows",
        "The local derivative is bndiff; bnvar_inv was broadcast over the batch, so sum over it, keeping (1, 64).",
        "dL/dbnvar_inv[0, k] = Σ_i bndiff[i, k] · dL/dbnraw[i, k].",
    ),
    "bnvar": (
        "bnvar is (1, 64); dbnvar too. Used in: bnvar_inv = (bnvar + 1e-5) ** -0.5",
        "Power rule: d/dx (x + ε)^(-1/2) = -1/2 · (x + ε)^(-3/2).",
        "dL/dbnvar = -1/2 · (bnvar + 1e-5)^(-3/2) ⊙ dL/dbnvar_inv.",
    ),
    "bndiff2": (
        "bndiff2 is (n, 64); dbndiff2 too. Used in: bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)",
        "A sum over the batch scaled by 1/(n-1) (Bessel's correction): every row gets the same gradient, "
        "its column's dbnvar divided by n-1, broadcast back to (n, 64).",
        "dL/dbndiff2[i, k] = dL/dbnvar[0, k] / (n - 1).",
    ),
    "bndiff": (
        "bndiff is (n, 64); dbndiff too. Used in two lines: bndiff2 = bndiff**2 and bnraw = bndiff * bnvar_inv",
        "Two uses, two gradients to add: through bnraw the local derivative is bnvar_inv; through the "
        "square it is 2·bndiff.",
        "dL/dbndiff = bnvar_inv ⊙ dL/dbnraw + 2·bndiff ⊙ dL/dbndiff2.",
    ),
    "bnmeani": (
        "bnmeani is (1, 64); dbnmeani too. Used in: bndiff = hprebn - bnmeani, broadcast over the rows",
        "It is subtracted, so the local derivative is -1; it was broadcast over the batch, so sum over it.",
        "dL/dbnmeani[k] = -Σ_i dL/dbndiff[i, k].",
    ),
    "hprebn": (
        "hprebn is (n, 64); dhprebn too. Used in two lines: bnmeani = 1 / n * hprebn.sum(0, keepdim=True) "
        "and bndiff = hprebn - bnmeani",
        "Through bndiff the local derivative is 1; through the mean every row gets dbnmeani / n. Add both "
        "(and copy with .clone() before adding in place).",
        "dL/dhprebn[i, k] = dL/dbndiff[i, k] + dL/dbnmeani[k] / n.",
    ),
    "embcat": (
        "embcat is (n, 30), W1 is (30, 64), dhprebn is (n, 64); dembcat is (n, 30). Used in: hprebn = embcat @ W1 + b1",
        "The matrix-product rule: the upstream gradient and the other factor, transposed, in the order that "
        "makes the shapes fit.",
        "dL/dembcat = dL/dhprebn · W1ᵀ: (n, 64) · (64, 30) = (n, 30).",
    ),
    "W1": (
        "W1 is (30, 64); dW1 too. Used in: hprebn = embcat @ W1 + b1",
        "The matrix-product rule: the other factor embcat, transposed, and the upstream gradient.",
        "dL/dW1 = embcatᵀ · dL/dhprebn: (30, n) · (n, 64) = (30, 64).",
    ),
    "b1": (
        "b1 is (64,); db1 too. Used in: hprebn = embcat @ W1 + b1, broadcast over the rows",
        "A bias: local derivative 1, broadcast over the batch, so sum over it.",
        "dL/db1[k] = Σ_i dL/dhprebn[i, k].",
    ),
    "emb": (
        "emb is (n, 3, 10), embcat is (n, 30); demb is (n, 3, 10). Used in: embcat = emb.view(emb.shape[0], -1)",
        "A view only rearranges the numbers; the gradient is dembcat, rearranged back into emb's shape.",
        "dL/demb = dL/dembcat, viewed as (n, 3, 10).",
    ),
    "C": (
        "C is (27, 10), demb is (n, 3, 10), Xb is (n, 3); dC is (27, 10). Used in: emb = C[Xb]",
        "Row Xb[i, j] of C was copied into emb[i, j], so demb[i, j] flows back into that row. A character "
        "that appears several times in Xb adds up all of its gradients.",
        "dL/dC[c] = Σ over every (i, j) with Xb[i, j] == c of dL/demb[i, j]. Careful: indexing with a "
        "tensor and += adds once per distinct index; use index_add_ or a loop.",
    ),
}

CHECKED = (
    "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes",
    "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar",
    "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C",
)  # fmt: skip

EXERCISE = from_module(sys.modules[__name__], "exercise1")
