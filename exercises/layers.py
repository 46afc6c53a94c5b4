"""CS231n layers: the forward and backward passes, with CS231n's signatures and caches.

Paste your own layers.py over this file (or point at it with --file), or fill in the TODOs.
Each backward receives the cache its own forward returned, so keep what you need in it.

    ninja check layers                      # every function
    ninja check layers --only batchnorm     # the functions whose name contains "batchnorm"
    ninja check layers --numeric            # also the notebook's numerical gradients
    ninja hint layers affine_backward

Arrays are float64 NumPy arrays. Never write into an argument (x, dout, ...): build new arrays.
"""

import numpy as np


def affine_forward(x, w, b):
    """x (N, d_1, ..., d_k), w (D, M), b (M,) -> out (N, M), cache."""
    out = None  # TODO
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """dout (N, M) -> dx (N, d_1, ..., d_k), dw (D, M), db (M,)."""
    x, w, b = cache
    dx, dw, db = None, None, None  # TODO
    return dx, dw, db


def relu_forward(x):
    """out = max(0, x), same shape as x."""
    out = None  # TODO
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = None  # TODO
    return dx


def softmax_loss(x, y):
    """x (N, C) scores, y (N,) labels in 0..C-1 -> (mean cross-entropy loss, dx (N, C))."""
    loss, dx = None, None  # TODO
    return loss, dx


def svm_loss(x, y):
    """x (N, C) scores, y (N,) labels -> (mean multiclass hinge loss with margin 1, dx (N, C))."""
    loss, dx = None, None  # TODO
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """x (N, D), gamma and beta (D,); bn_param: mode ('train' or 'test'), eps, momentum,
    running_mean and running_var (D,). Train: batch statistics (biased variance), update the
    running averages; test: the running averages."""
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    out, cache = None, None
    if mode == "train":
        pass  # TODO
    elif mode == "test":
        pass  # TODO
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Through the computational graph, step by step -> dx (N, D), dgamma (D,), dbeta (D,)."""
    dx, dgamma, dbeta = None, None, None  # TODO
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """The same gradients, dx simplified on paper into one expression."""
    dx, dgamma, dbeta = None, None, None  # TODO
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """x (N, D): normalize each example over its D features; ln_param holds eps."""
    eps = ln_param.get("eps", 1e-5)
    out, cache = None, None  # TODO
    return out, cache


def layernorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None  # TODO
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """Inverted dropout. dropout_param: p, the probability of KEEPING each unit; mode; seed."""
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask, out = None, None
    if mode == "train":
        pass  # TODO
    elif mode == "test":
        pass  # TODO
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    dx = None  # TODO
    return dx


def conv_forward_naive(x, w, b, conv_param):
    """x (N, C, H, W), w (F, C, HH, WW), b (F,); conv_param: stride, pad (zeros, both sides)
    -> out (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride."""
    out = None  # TODO
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    dx, dw, db = None, None, None  # TODO
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """x (N, C, H, W); pool_param: pool_height, pool_width, stride. No padding."""
    out = None  # TODO
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    dx = None  # TODO
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """x (N, C, H, W), gamma and beta (C,), bn_param as for batchnorm_forward: one mean and
    variance per channel, over N, H and W. Your batchnorm_forward can do the work."""
    out, cache = None, None  # TODO
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """dout (N, C, H, W) -> dx (N, C, H, W), dgamma (C,), dbeta (C,)."""
    dx, dgamma, dbeta = None, None, None  # TODO
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """x (N, C, H, W), gamma and beta (1, C, 1, 1); each image's channels split into G contiguous
    groups, each normalized on its own; gn_param: eps."""
    out, cache = None, None  # TODO
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    """dout (N, C, H, W) -> dx (N, C, H, W), dgamma (1, C, 1, 1), dbeta (1, C, 1, 1)."""
    dx, dgamma, dbeta = None, None, None  # TODO
    return dx, dgamma, dbeta
