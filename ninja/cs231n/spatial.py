"""CS231n's spatial normalization layers (assignment 2's layers.py, the ConvNets notebook):
spatial_batchnorm and spatial_groupnorm, forward and backward, on (N, C, H, W) images. Part of
the `layers` exercise; the trusted forwards are torch's own F.batch_norm and F.group_norm."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ninja.cs231n.cases import Case, Unit, rng_for
from ninja.cs231n.mistakes import Mistake

# ---------------------------------------------------------------- a term of a normalization's dx left out


def held(value: torch.Tensor, constant: bool) -> torch.Tensor:
    """`value` as the backward sees it: a constant when a learner's dx leaves out its term."""
    return value.detach() if constant else value


NORM_TERMS = {
    "var": "dx leaves out the variance's term: the variance depends on x too; add the path through var "
    "(in one expression: - xhat * sum(dxhat * xhat))",
    "mean": "dx leaves out the mean's term: the mean depends on x too; add the path through mean "
    "(in one expression: - sum(dxhat))",
}


def norm_terms(extra: dict | None = None) -> tuple[Mistake, ...]:
    """A normalization's dx with the mean's or the variance's term left out (held constant)."""
    return tuple(Mistake("norm_term", words, {"constant": term, **(extra or {})}) for term, words in NORM_TERMS.items())


# ---------------------------------------------------------------- spatial batchnorm


def spatial_batchnorm_cases(seed, cifar=None):
    r = rng_for(seed, "spatial_batchnorm")
    cases = []
    for shape, mode in [((2, 3, 4, 5), "train"), ((3, 4, 2, 3), "train"), ((2, 3, 3, 4), "test")]:
        c = shape[1]
        x = 4 * r.standard_normal(shape) + 10
        bn_param = {"mode": mode, "eps": 1e-5, "momentum": 0.9}
        if cases:  # the first as the notebook's, with no running averages yet; then given ones
            bn_param["running_mean"] = r.standard_normal(c)
            bn_param["running_var"] = r.uniform(1e-4, 1e-3, c) if mode == "test" else r.uniform(0.5, 2, c)
        inputs = {"x": x, "gamma": r.standard_normal(c), "beta": r.standard_normal(c), "bn_param": bn_param}
        given = "" if cases else ", no running averages yet"
        cases.append(Case(f"x {shape}, mode {mode}{given}", inputs, backward=mode == "train"))
    return cases


def normalized_columns(rows, gamma, beta, p, eps_outside=False):
    """Vanilla batchnorm of (M, C) rows over axis 0, as CS231n's batchnorm_forward."""
    eps = p.get("eps", 1e-5)
    if p["mode"] == "train":
        mean, var = rows.mean(0), rows.var(0, unbiased=False)
    else:
        mean, var = torch.as_tensor(p["running_mean"]), torch.as_tensor(p["running_var"])
    std = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    return gamma * (rows - mean) / std + beta


def spatial_batchnorm(t, out, reshape=None, eps_outside=False):
    """reshape=None: torch's F.batch_norm. "in": x.reshape(-1, C) with no transpose first;
    "back": the right (N*H*W, C) rows, but reshaped back to (N, C, H, W) with no transpose;
    "per_position": batchnorm over N alone at every (c, h, w) (a loop over channels of (N, H*W))."""
    x, p, gamma, beta = t["x"], t["bn_param"], t["gamma"], t["beta"]
    n, c, h, w = x.shape
    if reshape is None and not eps_outside:
        training = p["mode"] == "train"
        mean, var = (
            (None, None) if training else (torch.as_tensor(p["running_mean"]), torch.as_tensor(p["running_var"]))
        )
        return F.batch_norm(x, mean, var, gamma, beta, training=training, eps=p.get("eps", 1e-5))
    if reshape == "per_position":  # statistics over N alone, at every (c, h, w)
        mean, var = x.mean(0), x.var(0, unbiased=False)
        std = var.sqrt() + p.get("eps", 1e-5) if eps_outside else (var + p.get("eps", 1e-5)).sqrt()
        return gamma[:, None, None] * (x - mean) / std + beta[:, None, None]
    rows = x.reshape(-1, c) if reshape == "in" else x.permute(0, 2, 3, 1).reshape(-1, c)
    y = normalized_columns(rows, gamma, beta, p, eps_outside)
    if reshape in ("in", "back"):
        return y.reshape(n, c, h, w)
    return y.reshape(n, h, w, c).permute(0, 3, 1, 2)


def spatial_batchnorm_state(inputs):
    """Running averages per channel, over N, H and W (biased variance, as np.var)."""
    x, p = inputs["x"], inputs["bn_param"]
    m, c = p.get("momentum", 0.9), x.shape[1]
    mean = torch.tensor(p.get("running_mean", np.zeros(c)))
    var = torch.tensor(p.get("running_var", np.zeros(c)))
    if p["mode"] == "train":
        xt = torch.tensor(x)
        mean = m * mean + (1 - m) * xt.mean((0, 2, 3))
        var = m * var + (1 - m) * xt.var((0, 2, 3), unbiased=False)
    return {"running_mean": mean, "running_var": var}


RESHAPE_IN = (
    "reshape in the wrong order: x.reshape(-1, C) mixes channels with positions; move C last first "
    "(x.transpose(0, 2, 3, 1).reshape(-1, C)), then batchnorm over the N*H*W rows"
)
RESHAPE_BACK = (
    "reshaped back in the wrong order: the (N*H*W, C) rows are (N, H, W, C) once reshaped; transpose them "
    "back to (N, C, H, W) (.transpose(0, 3, 1, 2)) instead of reshaping straight to x.shape"
)
PER_POSITION = (
    "statistics per position: each (c, h, w) normalized over N alone; spatial batchnorm's mean and variance are "
    "per channel, over N, H and W together (N*H*W rows of C columns)"
)
EPS = "eps outside the square root: divide by np.sqrt(var + eps)"

# ---------------------------------------------------------------- spatial groupnorm


def groupnorm_cases(seed, cifar=None):
    r = rng_for(seed, "spatial_groupnorm")
    cases = []
    for shape, groups in [((2, 6, 4, 5), 3), ((3, 4, 3, 3), 2), ((1, 8, 2, 3), 4)]:
        c = shape[1]
        x = 3 * r.standard_normal(shape) + 2
        gamma, beta = r.standard_normal((1, c, 1, 1)), r.standard_normal((1, c, 1, 1))
        inputs = {"x": x, "gamma": gamma, "beta": beta, "G": groups, "gn_param": {"eps": 1e-5}}
        cases.append(Case(f"x {shape}, G {groups}", inputs))
    return cases


def spatial_groupnorm(t, out, strided=False, eps_outside=False, constant=""):
    """torch's F.group_norm; strided: channel c in group c % G (x.reshape(N, C // G, G, H, W));
    constant: "mean" or "var" held constant in the backward (a term of dx left out)."""
    x, g = t["x"], t["G"]
    n, c, h, w = x.shape
    eps = t["gn_param"].get("eps", 1e-5)
    if not strided and not eps_outside and not constant:
        return F.group_norm(x, g, t["gamma"].reshape(-1), t["beta"].reshape(-1), eps)
    groups = x.reshape(n, c // g, g, h, w).transpose(1, 2) if strided else x.reshape(n, g, c // g, h, w)
    mean = held(groups.mean((2, 3, 4), keepdim=True), "mean" in constant)
    var = held(groups.var((2, 3, 4), unbiased=False, keepdim=True), "var" in constant)
    std = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    xhat = (groups - mean) / std
    xhat = xhat.transpose(1, 2).reshape(n, c, h, w) if strided else xhat.reshape(n, c, h, w)
    return t["gamma"] * xhat + t["beta"]


STRIDED = (
    "groups split over the wrong axis: group g is the G-th part of the channels, contiguous "
    "(x.reshape(N, G, C // G, H, W)), not every G-th channel (x.reshape(N, C // G, G, H, W))"
)

# ---------------------------------------------------------------- the units, appended to layers'

UNITS = (
    Unit(
        "spatial_batchnorm_forward", "layer", ("x", "gamma", "beta"), spatial_batchnorm_cases, spatial_batchnorm,
        backward=("spatial_batchnorm_backward",), state=spatial_batchnorm_state,
        mistakes=(
            Mistake("reshape", RESHAPE_IN, {"reshape": "in"}),
            Mistake("reshape", RESHAPE_BACK, {"reshape": "back"}),
            Mistake("reshape", PER_POSITION, {"reshape": "per_position"}),
            Mistake("eps", EPS + ", with running_var in test mode too", {"eps_outside": True}),
        ),
    ),
    Unit(
        "spatial_groupnorm_forward", "layer", ("x", "gamma", "beta"), groupnorm_cases, spatial_groupnorm,
        backward=("spatial_groupnorm_backward",),
        mistakes=(
            Mistake("groups", STRIDED, {"strided": True}), Mistake("eps", EPS, {"eps_outside": True}), *norm_terms(),
        ),
    ),
)  # fmt: skip

HINTS = {
    "spatial_batchnorm_forward": (
        "x (N, C, H, W), gamma and beta (C,), bn_param as for batchnorm_forward; out (N, C, H, W); "
        "running_mean and running_var are (C,).",
        "One mean and variance per channel, over N, H and W: every position of every image is one more sample "
        "of that channel.",
        "Transpose x to (N, H, W, C), reshape to (N*H*W, C), call your batchnorm_forward, reshape the result to "
        "(N, H, W, C) and transpose it back to (N, C, H, W).",
    ),
    "spatial_batchnorm_backward": (
        "dout (N, C, H, W); dx like x, dgamma and dbeta (C,).",
        "The same reshapes as the forward, around the vanilla batchnorm backward.",
        "Transpose dout to (N, H, W, C), reshape to (N*H*W, C), call your batchnorm_backward (or _alt) with the "
        "cache, and bring dx back to (N, C, H, W) with the inverse transpose.",
    ),
    "spatial_groupnorm_forward": (
        "x (N, C, H, W), gamma and beta (1, C, 1, 1), G divides C; gn_param holds eps; out (N, C, H, W).",
        "Layer normalization within each group of C // G contiguous channels of each image; then the per-channel "
        "scale and shift.",
        "Reshape x to (N, G, C // G, H, W); mean and biased variance over the last three axes (keepdims); "
        "normalize with the root of var + eps, reshape back to x's shape, then scale by gamma and shift by beta.",
    ),
    "spatial_groupnorm_backward": (
        "dout (N, C, H, W); dx like x, dgamma and dbeta (1, C, 1, 1).",
        "dgamma and dbeta sum over N, H and W (keepdims); dx is layernorm's backward inside each group.",
        "dxhat = dout * gamma, reshaped into groups; with M = C // G * H * W elements per group: "
        "dx = (M dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (M std), sums over the group's axes.",
    ),
}
