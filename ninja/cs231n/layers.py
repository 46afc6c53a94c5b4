"""CS231n layers (assignment 2's layers.py): forward/backward pairs with CS231n's signatures and
caches, each backward checked against autograd on a trusted float64 torch forward."""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from ninja.cs231n import spatial
from ninja.cs231n.cases import Case, Convention, Unit, rng_for
from ninja.cs231n.conventions import function_text, prose, read_first
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.inherit import Callee
from ninja.cs231n.mistakes import Diagnosis, Mistake
from ninja.cs231n.spatial import held, norm_terms

# ---------------------------------------------------------------- affine, relu


def affine_cases(seed, cifar=None):
    r = rng_for(seed, "affine")
    shapes = [((10, 2, 3), 5), ((4, 3, 4, 5), 7), ((1, 6), 3)]  # the notebook's, images, a batch of one
    cases = []
    for x_shape, m in shapes:
        d = int(np.prod(x_shape[1:]))
        x, w, b = r.standard_normal(x_shape), r.standard_normal((d, m)), r.standard_normal(m)
        cases.append(Case(f"x {x_shape}, w {w.shape}", {"x": x, "w": w, "b": b}))
    return cases


def affine(t, out):
    x = t["x"]
    return x.reshape(x.shape[0], -1) @ t["w"] + t["b"]


AFFINE_RESHAPE = (
    "x.T.dot(dout) with x still (N, d_1, ..., d_k): reshape x to (N, D) first, x.reshape(x.shape[0], -1).T.dot(dout)"
)


def affine_unreshaped(inputs, dout):
    """dw as x.T.dot(dout) on x as it came: right for a 2-d x, a (d_k, ..., d_1, M) array otherwise."""
    if dout is None or np.ndim(inputs["x"]) == 2:
        return {}
    return {"dw": np.asarray(inputs["x"]).T.dot(np.asarray(dout))}


def relu_cases(seed, cifar=None):
    r = rng_for(seed, "relu")
    return [Case(f"x {s}", {"x": r.standard_normal(s)}) for s in [(10, 10), (2, 3, 4, 5), (1, 7)]]


def relu(t, out):
    return t["x"].clamp(min=0)


# ---------------------------------------------------------------- losses


def loss_cases(seed, cifar=None, large=True):
    r = rng_for(seed, "loss")
    cases = []
    for n, c, offset in [(5, 4, 0.0), (50, 10, 0.0)] + ([(6, 5, 1000.0)] if large else []):
        x = r.standard_normal((n, c)) + offset  # near 1000: exp overflows unless the max is subtracted
        label = f"x {x.shape}" + (", large scores (~1e3)" if offset else "")
        cases.append(Case(label, {"x": x, "y": r.integers(0, c, n)}))
    return cases


def softmax_loss(t, out, mean=True):
    return F.cross_entropy(t["x"], t["y"], reduction="mean" if mean else "sum")


def multiclass_svm(scores: torch.Tensor, y: torch.Tensor, mean=True) -> torch.Tensor:
    """Sum over wrong classes of max(0, s_j - s_y + 1), as CS231n writes it."""
    margins = (scores - scores.gather(1, y[:, None]) + 1.0).clamp(min=0)
    margins = margins * (1 - F.one_hot(y, scores.shape[1]).to(scores.dtype))
    return margins.sum() / (scores.shape[0] if mean else 1)


def svm_loss(t, out, mean=True):
    return multiclass_svm(t["x"], t["y"], mean)


MISSING_N = "missing division by N: the loss is a mean over the batch; divide the loss and its gradient by N"
MISSING_N_MISTAKE = Mistake("missing_n", MISSING_N, {"mean": False})
OVERFLOW = (
    "softmax overflows on large scores: np.exp(1e3) is inf, inf/inf is NaN; subtract each row's max from the "
    "scores before np.exp (the probabilities stay the same)"
)

# ---------------------------------------------------------------- batchnorm, layernorm


def batchnorm_cases(seed, cifar=None):
    r = rng_for(seed, "batchnorm")
    cases = []
    for n, d, mode in [(4, 5, "train"), (10, 3, "train"), (6, 4, "test")]:
        x = 3 * r.standard_normal((n, d)) + 2
        bn_param = {"mode": mode, "eps": 1e-5, "momentum": 0.9, "running_mean": r.standard_normal(d)}
        # small running variances so that eps inside or outside the square root tells apart
        bn_param["running_var"] = r.uniform(1e-4, 1e-3, d) if mode == "test" else r.uniform(0.5, 2, d)
        inputs = {"x": x, "gamma": r.standard_normal(d), "beta": r.standard_normal(d), "bn_param": bn_param}
        cases.append(Case(f"x {x.shape}, mode {mode}", inputs, backward=mode == "train"))
    return cases


def batchnorm(t, out, eps_outside=False, test_affine=True, no_eps=False, constant=""):
    """constant: "mean" or "var" held constant in the backward (a term of dx left out)."""
    x, p = t["x"], t["bn_param"]
    eps = 0.0 if no_eps else p.get("eps", 1e-5)
    if p["mode"] == "train":
        mean, var = x.mean(0), x.var(0, unbiased=False)
        mean, var = held(mean, "mean" in constant), held(var, "var" in constant)
    else:
        mean, var = torch.as_tensor(p["running_mean"]), torch.as_tensor(p["running_var"])
    std = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    if p["mode"] == "test" and not test_affine:
        return (x - mean) / std
    return t["gamma"] * (x - mean) / std + t["beta"]


NO_EPS = "no eps: divide by np.sqrt(var + eps), in train mode and with running_var in test mode"


def batchnorm_state(inputs):
    """running_mean and running_var after the call: momentum-averaged in train mode (biased
    variance, as np.var), unchanged in test mode."""
    x, p = inputs["x"], inputs["bn_param"]
    m = p.get("momentum", 0.9)
    zeros = np.zeros(x.shape[1])  # a net's bn_param starts with the mode alone, as CS231n's forward reads it
    mean, var = p.get("running_mean", zeros), p.get("running_var", zeros)
    if p["mode"] == "train":
        mean, var = m * mean + (1 - m) * x.mean(0), m * var + (1 - m) * x.var(0)
    return {"running_mean": torch.tensor(mean), "running_var": torch.tensor(var)}


def layernorm_cases(seed, cifar=None):
    r = rng_for(seed, "layernorm")
    cases = []
    for n, d in [(4, 5), (3, 8), (1, 6)]:
        x = 3 * r.standard_normal((n, d)) + 2
        inputs = {"x": x, "gamma": r.standard_normal(d), "beta": r.standard_normal(d), "ln_param": {"eps": 1e-5}}
        cases.append(Case(f"x {x.shape}", inputs))
    return cases


def layernorm(t, out, constant=""):
    x = t["x"]
    eps = t["ln_param"].get("eps", 1e-5)
    mean = held(x.mean(1, keepdim=True), "mean" in constant)
    var = held(x.var(1, unbiased=False, keepdim=True), "var" in constant)
    return t["gamma"] * (x - mean) / (var + eps).sqrt() + t["beta"]


def layernorm_parts(inputs, dout):
    """x, x - mean, the standard deviation and dxhat = dout * gamma, per row, for the mistakes below."""
    x = inputs["x"]
    centred = x - x.mean(1, keepdims=True)
    std = np.sqrt(x.var(1, keepdims=True) + inputs["ln_param"].get("eps", 1e-5))
    return x, centred, std, dout * inputs["gamma"]


def layernorm_gamma_outside(inputs, dout):
    """Batchnorm's one-line dx with gamma taken out of the sums: right for batchnorm (sums over the
    batch, gamma constant there), wrong for layernorm (sums over the features, where gamma varies)."""
    if dout is None:
        return {}
    x, centred, std, _ = layernorm_parts(inputs, dout)
    d, xhat = x.shape[1], centred / std
    inner = d * dout - dout.sum(1, keepdims=True) - xhat * (dout * xhat).sum(1, keepdims=True)
    return {"dx": inputs["gamma"] / (d * std) * inner}


def layernorm_x_for_centred(terms: tuple[str, ...]):
    """The staged backward with x where x - mean belongs, in the `terms` named (dvar, dmean, dx)."""

    def produces(inputs, dout):
        if dout is None:
            return {}
        x, centred, std, dxhat = layernorm_parts(inputs, dout)
        d = x.shape[1]
        at = {term: x if term in terms else centred for term in ("dvar", "dmean", "dx")}
        dvar = (dxhat * at["dvar"] * -0.5 * std**-3).sum(1, keepdims=True)
        dmean = (-dxhat / std).sum(1, keepdims=True) + dvar * (-2 * at["dmean"]).mean(1, keepdims=True)
        return {"dx": dxhat / std + dvar * 2 * at["dx"] / d + dmean / d}

    return produces


X_TERMS = [c for k in (1, 2, 3) for c in itertools.combinations(("dvar", "dmean", "dx"), k)]


LAYERNORM_GAMMA = (
    "gamma taken out of the sums: layernorm's sums run over the features, where gamma varies; "
    "sum dxhat = dout * gamma instead (batchnorm could take it out: its sums run over the batch)"
)
LAYERNORM_X = "x where x - mean belongs, in {}: the variance's gradient and what follows use x - mean, not x"


# ---------------------------------------------------------------- dropout


def dropout_cases(seed, cifar=None):
    r = rng_for(seed, "dropout")
    shapes = [((4, 5), 0.6, "train"), ((200, 100), 0.3, "train"), ((5, 5), 0.3, "test")]
    cases = []
    for shape, p, mode in shapes:
        inputs = {"x": r.standard_normal(shape) + 10, "dropout_param": {"mode": mode, "p": p, "seed": 123}}
        cases.append(Case(f"x {shape}, p {p}, mode {mode}", inputs))
    return cases


def kept_mask(x: torch.Tensor, out) -> torch.Tensor:
    """Where the learner's forward kept a unit (its out is nonzero; x is never 0 here)."""
    out = np.asarray(out) if out is not None else None
    if out is None or out.shape != tuple(x.shape):
        return torch.ones_like(x)
    return torch.as_tensor(out != 0, dtype=x.dtype)


def dropout(t, out, keep=True):
    x, p = t["x"], t["dropout_param"]
    if p["mode"] == "test":
        return x * 1.0
    kept = p["p"] if keep else 1 - p["p"]
    return x * kept_mask(x, out) / kept  # inverted dropout with the learner's own random mask


def dropout_property(inputs, out, keep=True) -> Diagnosis | None:
    """The mask is random, so the forward is judged by what it keeps and how it scales. `keep`:
    p is the probability of keeping a unit (2018 on), else of dropping one (2016-2017)."""
    x, param = inputs["x"], inputs["dropout_param"]
    p = param["p"]
    rate = p if keep else 1 - p  # the fraction to keep
    out = np.asarray(out)
    if param["mode"] != "train" or x.size < 5000 or out.shape != x.shape:
        return None
    kept = out != 0
    fraction = kept.mean()
    scale = float(np.median(out[kept] / x[kept])) if kept.any() else 0.0
    meaning = "keeping" if keep else "dropping"
    shared = mask_shared(kept)
    if shared:
        return "mask_shape", (
            f"one mask for every {shared[0]}: your mask keeps or drops whole {shared[1]}; draw one value per unit, "
            "mask = np.random.rand(*x.shape) < p (x's own shape)"
        )
    if abs(fraction - (1 - rate)) < 0.03 or np.isclose(scale, 1 / (1 - rate)):
        return "keep_drop", (
            f"keep and drop swapped: p = {p} is the probability of {meaning} a unit; yours kept {fraction:.0%}, "
            f"scaled by {scale:.3g} (expected {rate:.0%}, scaled by 1/{rate:.3g} = {1 / rate:.3g})"
        )
    if abs(fraction - rate) > 0.03:
        mask = "< p" if keep else ">= p"
        return (
            "dropout_rate",
            f"kept {fraction:.0%} of units with p = {p} ({meaning}): mask = (np.random.rand(*x.shape) {mask}) "
            f"keeps a fraction {rate:.3g}",
        )
    if np.isclose(scale, 1.0):
        return (
            "not_inverted",
            "not inverted dropout: divide the kept units by the keep probability at train time, so test time is "
            "the identity",
        )
    return None


def mask_shared(kept: np.ndarray) -> tuple[str, str] | None:
    """A mask drawn for one row and broadcast over the batch (np.random.rand(D)), or for one column
    (np.random.rand(N, 1)): every row, or every column, the same."""
    if kept.ndim != 2 or kept.all() or not kept.any():
        return None
    if len(kept) > 1 and (kept == kept[0]).all():
        return "example", "columns (units of every example alike)"
    if kept.shape[1] > 1 and (kept == kept[:, :1]).all():
        return "unit", "rows (whole examples)"
    return None


# what dropout docstrings say p is, in every year's words (read as prose: wraps and emphasis gone)
UNIT = r"(?:each |every |a |the )?(?:neuron|unit|activation|node)s?(?: output)?"
DROPOUT_WORDS = (
    ("drop", rf"\bdrop(?:s|ped|ping)? {UNIT} ?with probability p\b"),
    ("drop", r"\b(?:is|are) dropped (?:out )?with probability p\b"),
    ("drop", r"\bp,? (?:is )?the (?:probability|chance) of drop"),
    ("drop", r"\bp: (?:the )?(?:drop|dropout) (?:probability|rate)"),
    ("keep", rf"\bkeep(?:s|ing)? {UNIT} ?with probability p\b"),
    ("keep", r"\b(?:is|are) (?:kept|retained) with probability p\b"),
    ("keep", r"\bp,? (?:is )?the (?:probability|chance) of (?:keep|retain)"),
    ("keep", r"\bp: (?:the )?(?:keep|retain) (?:probability|rate)"),
)


def dropout_docstring(source: str) -> str | None:
    """What the learner's dropout_forward says p is: CS231n's 2016-2017 skeleton says "We drop
    each neuron output with probability p", later ones "We keep ...", others "is dropped with
    probability p" or "p, the probability of keeping"."""
    return read_first(prose(function_text(source, "dropout_forward")), DROPOUT_WORDS)


DROPOUT_P = Convention(
    "dropout",
    {
        "keep": ({"keep": True}, "p as the probability of keeping a unit"),
        "drop": ({"keep": False}, "p as the probability of dropping a unit (CS231n's 2016-2017 docstring)"),
    },
    default="keep",
    read=dropout_docstring,
)


TEST_TIMES_P = "test mode multiplies by p: with inverted dropout, test mode returns x unchanged"


def dropout_test_times_p(inputs, dout):
    param = inputs["dropout_param"]
    return {"out": inputs["x"] * param["p"]} if param["mode"] == "test" else {}


# ---------------------------------------------------------------- conv, max pool


def conv_cases(seed, cifar=None):
    r = rng_for(seed, "conv")
    shapes = [
        ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
        ((1, 2, 7, 5), (3, 2, 3, 3), 2, 1),  # (H + 2 pad - HH) % stride == 0, as CS231n's assert wants
        ((2, 1, 4, 4), (2, 1, 2, 2), 2, 0),
    ]
    cases = []
    for x_shape, w_shape, stride, pad in shapes:
        inputs = {
            "x": r.standard_normal(x_shape),
            "w": r.standard_normal(w_shape),
            "b": r.standard_normal(w_shape[0]),
            "conv_param": {"stride": stride, "pad": pad},
        }
        cases.append(Case(f"x {x_shape}, w {w_shape}, stride {stride}, pad {pad}", inputs))
    return cases


def conv(t, out):
    p = t["conv_param"]
    return F.conv2d(t["x"], t["w"], t["b"], stride=p["stride"], padding=p["pad"])


def conv_stride_ignored(inputs, dout):
    """conv backward whose windows move by one, not by the stride: dx and dw gathered at
    x_pad[:, :, i:i + HH, j:j + WW] for output (i, j) instead of at i * stride."""
    if dout is None:
        return {}
    x, w, p = inputs["x"], inputs["w"], inputs["conv_param"]
    pad = p["pad"]
    hh, ww = w.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(padded), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = padded[:, :, i : i + hh, j : j + ww]
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], window)
            dx_pad[:, :, i : i + hh, j : j + ww] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
    return {"dw": dw, "dx": dx_pad[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]}


CONV_STRIDE = (
    "the windows ignore the stride: output (i, j) reads x_pad[:, :, i * stride : i * stride + HH, "
    "j * stride : j * stride + WW]; the backward must gather (and add into) the same windows"
)


def pool_cases(seed, cifar=None):
    r = rng_for(seed, "pool")
    # the notebook's windows never overlap; 3x3 stride 2 and 2x2 stride 1 do
    shapes = [((2, 3, 4, 4), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 2, 1)]
    cases = []
    for x_shape, size, stride in shapes:
        param = {"pool_height": size, "pool_width": size, "stride": stride}
        overlap = " (overlap)" if stride < size else ""
        cases.append(
            Case(
                f"x {x_shape}, {size}x{size} pool, stride {stride}{overlap}",
                {"x": r.standard_normal(x_shape), "pool_param": param},
            )
        )
    return cases


def max_pool(t, out):
    p = t["pool_param"]
    return F.max_pool2d(t["x"], (p["pool_height"], p["pool_width"]), p["stride"])


def pool_with_assignment(inputs, dout):
    """max-pool backward written with `dx[...] = ` instead of `+=`: a value that is the max of two
    overlapping windows keeps only the last window's gradient."""
    if dout is None:
        return {}
    x, p = inputs["x"], inputs["pool_param"]
    ph, pw, s = p["pool_height"], p["pool_width"], p["stride"]
    dx = np.zeros_like(x)
    n, c, oh, ow = dout.shape
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * s : i * s + ph, j * s : j * s + pw].reshape(n, c, -1)
            a, b = np.unravel_index(window.argmax(-1), (ph, pw))
            for k in range(n):
                for m in range(c):
                    dx[k, m, i * s + a[k, m], j * s + b[k, m]] = dout[k, m, i, j]
    return {"dx": dx}


def pool_window_assigned(inputs, dout):
    """max-pool backward writing a whole window, `dx[:, :, window] = dout * mask`: where windows
    overlap, the later window overwrites the earlier one's gradient with its zeros."""
    if dout is None:
        return {}
    x, p = inputs["x"], inputs["pool_param"]
    ph, pw, s = p["pool_height"], p["pool_width"], p["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * s : i * s + ph, j * s : j * s + pw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * s : i * s + ph, j * s : j * s + pw] = dout[:, :, i, j][:, :, None, None] * mask
    return {"dx": dx}


POOL_ASSIGNED = (
    "dx[...] = instead of +=: where windows overlap, an input that is the max of several collects each window's "
    "gradient"
)

# ---------------------------------------------------------------- the exercise

ASSIGNMENT_1 = ("affine_forward", "relu_forward", "softmax_loss", "svm_loss")

AFFINE = Unit(
    "affine_forward",
    "layer",
    ("x", "w", "b"),
    affine_cases,
    affine,
    backward=("affine_backward",),
    mistakes=(Mistake("reshape", AFFINE_RESHAPE, produces=affine_unreshaped),),
)
RELU = Unit("relu_forward", "layer", ("x",), relu_cases, relu, backward=("relu_backward",))
SOFTMAX = Unit(
    "softmax_loss",
    "loss",
    ("x",),
    loss_cases,
    softmax_loss,
    mistakes=(MISSING_N_MISTAKE,),
    overflow=OVERFLOW,
)
UNITS = (
    AFFINE,
    RELU,
    SOFTMAX,
    Unit(
        "svm_loss", "loss", ("x",), lambda seed, cifar=None: loss_cases(seed, cifar, large=False), svm_loss,
        mistakes=(MISSING_N_MISTAKE,),
    ),
    Unit(
        "batchnorm_forward", "layer", ("x", "gamma", "beta"), batchnorm_cases, batchnorm,
        backward=("batchnorm_backward", "batchnorm_backward_alt"),
        mistakes=(Mistake(
            "eps",
            "eps outside the square root: divide by np.sqrt(var + eps), with running_var in test mode too",
            {"eps_outside": True},
        ), Mistake("eps", NO_EPS, {"no_eps": True}), *norm_terms(), Mistake(
            "test_affine", "test mode without gamma and beta: scale and shift as in train mode, gamma * xhat + beta",
            {"test_affine": False},
        )),
        state=batchnorm_state, paired={"batchnorm_backward_alt": "batchnorm_forward_alt"},
    ),
    Unit(
        "layernorm_forward", "layer", ("x", "gamma", "beta"), layernorm_cases, layernorm,
        backward=("layernorm_backward",),
        mistakes=(
            Mistake("layernorm_gamma", LAYERNORM_GAMMA, produces=layernorm_gamma_outside),
            *(Mistake("layernorm_x", LAYERNORM_X.format(", ".join(t)), produces=layernorm_x_for_centred(t))
              for t in X_TERMS),
            *norm_terms(),
        ),
    ),
    Unit(
        "dropout_forward", "layer", ("x",), dropout_cases, dropout, backward=("dropout_backward",),
        property_check=dropout_property, reads_out=True, conventions=(DROPOUT_P,),
        mistakes=(Mistake("test_mode", TEST_TIMES_P, produces=dropout_test_times_p),),
    ),
    Unit(
        "conv_forward_naive", "layer", ("x", "w", "b"), conv_cases, conv, backward=("conv_backward_naive",),
        mistakes=(Mistake("stride", CONV_STRIDE, produces=conv_stride_ignored),),
    ),
    Unit(
        "max_pool_forward_naive", "layer", ("x",), pool_cases, max_pool, backward=("max_pool_backward_naive",),
        mistakes=(
            Mistake("accumulation", POOL_ASSIGNED + " (at each max)", produces=pool_with_assignment),
            Mistake("accumulation", POOL_ASSIGNED + " (a whole window at a time)", produces=pool_window_assigned),
        ),
    ),
)  # fmt: skip

UNIT_NAMED = {u.forward: u for u in UNITS + spatial.UNITS}
FAST = {"conv_forward_fast": "conv_forward_naive", "conv_backward_fast": "conv_backward_naive"}
POOL_FAST = {"max_pool_forward_fast": "max_pool_forward_naive", "max_pool_backward_fast": "max_pool_backward_naive"}


def callees(*names: str) -> tuple[Callee, ...]:
    """The layers a network's loss calls, as inheritance replaces them (the staff's fast layers as
    their naive counterparts)."""
    aliases = {"conv_forward_naive": FAST, "max_pool_forward_naive": POOL_FAST}
    return tuple(Callee("layers", UNIT_NAMED[n], aliases.get(n)) for n in names)


HINTS = {
    "affine_forward": (
        "x is (N, d_1, ..., d_k), w is (D, M) with D = d_1*...*d_k, b is (M,); out is (N, M).",
        "Flatten each example into a row of length D, then it is one matrix product plus a bias.",
        "Reshape x to (N, D) (keep N, let NumPy work out D), multiply by w, add b; cache (x, w, b).",
    ),
    "affine_backward": (
        "dout is (N, M); dx must have x's original shape, dw is (D, M), db is (M,).",
        "out = x2 @ w + b with x2 the (N, D) view: each gradient is a matrix product with dout or a sum over N.",
        "dx = dout times w transposed, reshaped back to x.shape; dw = x2 transposed times dout; "
        "db sums dout over axis 0.",
    ),
    "relu_forward": (
        "out has x's shape.",
        "Negative entries become 0, the rest pass unchanged.",
        "Use an elementwise maximum with 0 that returns a new array (never assign into x).",
    ),
    "relu_backward": (
        "dx has dout's shape; the cache holds x.",
        "The gradient passes where x > 0 and is 0 elsewhere.",
        "Multiply dout by the boolean mask x > 0 (a new array: do not write into dout).",
    ),
    "softmax_loss": (
        "x is (N, C) scores, y (N,) labels; return the mean loss and dx (N, C).",
        "Loss per row: -log of the softmax probability of the right class; dx is probs minus the one-hot of y.",
        "Shift each row by its max, exponentiate, normalise; loss averages -log probs[range(N), y]; "
        "dx = probs with 1 subtracted at the right class, all divided by N.",
    ),
    "svm_loss": (
        "x is (N, C), y (N,); return the mean hinge loss and dx (N, C).",
        "Each wrong class j with s_j - s_y + 1 > 0 adds that margin; it pushes s_j up and s_y down.",
        "margins = max(0, x - x[range(N), y][:, None] + 1) with the right class zeroed; dx is 1 where margins > 0, "
        "minus the count of positive margins at the right class, divided by N.",
    ),
    "batchnorm_forward": (
        "x (N, D), gamma and beta (D,); bn_param holds mode, eps, momentum, running_mean, running_var.",
        "Train: normalize with the batch mean and (biased) variance, update the running averages with momentum. "
        "Test: normalize with the running ones.",
        "xhat = (x - mean) / np.sqrt(var + eps); out = gamma * xhat + beta; "
        "running = momentum * running + (1 - momentum) * batch statistic; store them back in bn_param.",
    ),
    "batchnorm_backward": (
        "dx (N, D), dgamma and dbeta (D,); your cache decides what you can reuse.",
        "Walk the computational graph backwards: beta and gamma first, then xhat, then var and mean, which both "
        "depend on every x.",
        "dbeta = sum dout, dgamma = sum dout * xhat; dxhat = dout * gamma, then through 1/sqrt(var + eps), the "
        "variance (2 (x - mean) / N) and the mean (1 / N).",
    ),
    "batchnorm_backward_alt": (
        "Same outputs as batchnorm_backward, in one expression for dx.",
        "Simplify the graph on paper: every term has the factor gamma / sqrt(var + eps) / N.",
        "dx = gamma / (N std) * (N dout - sum(dout) - xhat * sum(dout * xhat)), sums over the batch axis.",
    ),
    "layernorm_forward": (
        "x (N, D), gamma and beta (D,); ln_param holds eps. No running averages, no mode.",
        "Batchnorm over the features of each example instead of over the batch.",
        "Mean and biased variance along axis 1 with keepdims; xhat, then gamma * xhat + beta.",
    ),
    "layernorm_backward": (
        "dx (N, D), dgamma and dbeta (D,).",
        "Batchnorm's backward with the axes swapped: the normalization statistics are per row.",
        "dgamma, dbeta sum over axis 0; dx uses the batchnorm formula with sums along axis 1 and D in place of N.",
    ),
    "dropout_forward": (
        "p is the probability of KEEPING a unit; out has x's shape; cache the mask.",
        "Inverted dropout: at train time drop units at random and scale the survivors, so test time is the identity.",
        "mask = (np.random.rand(*x.shape) < p) / p; out = x * mask; test mode: out = x.",
    ),
    "dropout_backward": (
        "dx has dout's shape; the mask is in your cache.",
        "out is x times a constant mask, so the gradient is dout times the same mask.",
        "Train: dx = dout * mask. Test: dx = dout.",
    ),
    "conv_forward_naive": (
        "x (N, C, H, W), w (F, C, HH, WW), b (F,); out (N, F, H', W') with H' = 1 + (H + 2 pad - HH) / stride.",
        "Pad x with zeros, then each output is the dot product of one filter with one window, plus its bias.",
        "np.pad only the two spatial axes; loop over n, f and the output positions; window = "
        "x_pad[n, :, i*stride : i*stride+HH, j*stride : j*stride+WW].",
    ),
    "conv_backward_naive": (
        "dx like x, dw like w, db (F,).",
        "Each output used one window and one filter: it sends dout times the filter to the window, and dout "
        "times the window to the filter.",
        "db sums dout over n, i, j; accumulate (+=) into a padded dx and into dw in the same loops; "
        "crop the padding off dx.",
    ),
    "max_pool_forward_naive": (
        "x (N, C, H, W); pool_param has pool_height, pool_width, stride; out (N, C, H', W').",
        "Each output is the max of one window, per example and channel.",
        "Loop over output positions; out[:, :, i, j] = window max over the last two axes.",
    ),
    "max_pool_backward_naive": (
        "dx has x's shape.",
        "Only the max of each window gets that window's gradient; when windows overlap, one input can be the max "
        "of several.",
        "For each window, find where its max is and ADD (+=) dout there.",
    ),
}

EXERCISE = FunctionsExercise(
    name="layers",
    title="CS231n layers: affine, relu, losses, batchnorm, layernorm, dropout, conv, max-pool",
    units=UNITS + spatial.UNITS,  # spatial batchnorm and groupnorm: ninja/cs231n/spatial.py
    hints=HINTS | spatial.HINTS,
    # assignment 1's layers.py (2022-2025) is affine, relu and the losses; the rest are assignment 2's stubs
    other_assignments={
        1: tuple(u.forward for u in UNITS + spatial.UNITS if u.forward not in ASSIGNMENT_1),
    },
)
