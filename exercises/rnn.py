"""CS231n rnn_layers.py (assignment 3): fill in the TODOs, or paste your own rnn_layers.py over this
file (or point at it with --file). Each backward receives the cache its own forward returned.

    ninja check rnn                  # every function
    ninja check rnn --only lstm
    ninja hint rnn rnn_backward

Arrays are float64 NumPy arrays. LSTM gates are sliced in the order i, f, o, g.
"""

import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,); next_h (N, H)."""
    next_h, cache = None, None  # TODO
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """dnext_h (N, H) -> dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,)."""
    dx, dprev_h, dWx, dWh, db = None, None, None, None, None  # TODO
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H); h (N, T, H): the hidden state after every step."""
    h, cache = None, None  # TODO
    return h, cache


def rnn_backward(dh, cache):
    """dh (N, T, H): the upstream gradient of every hidden state, not what flows between steps;
    dx (N, T, D), dh0 (N, H), dWx, dWh, db."""
    dx, dh0, dWx, dWh, db = None, None, None, None, None  # TODO
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    """x (N, T) integers below V, W (V, D); out (N, T, D)."""
    out, cache = None, None  # TODO
    return out, cache


def word_embedding_backward(dout, cache):
    """dout (N, T, D) -> dW (V, D) only (x is integers: no gradient)."""
    dW = None  # TODO
    return dW


def sigmoid(x):
    """A numerically stable logistic sigmoid."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """x (N, D), prev_h and prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,); next_h, next_c (N,
    H), cache."""
    next_h, next_c, cache = None, None, None  # TODO
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """dnext_h, dnext_c (N, H) -> dx, dprev_h, dprev_c, dWx, dWh, db."""
    dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None  # TODO
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,); h (N, T, H). The cell starts at
    zero and is not returned."""
    h, cache = None, None  # TODO
    return h, cache


def lstm_backward(dh, cache):
    """dh (N, T, H) -> dx (N, T, D), dh0 (N, H), dWx, dWh, db."""
    dx, dh0, dWx, dWh, db = None, None, None, None, None  # TODO
    return dx, dh0, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """x (N, T, D), w (D, M), b (M,); out (N, T, M)."""
    out, cache = None, None  # TODO
    return out, cache


def temporal_affine_backward(dout, cache):
    """dout (N, T, M) -> dx (N, T, D), dw (D, M), db (M,)."""
    dx, dw, db = None, None, None  # TODO
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """x (N, T, V) scores, y (N, T) labels, mask (N, T) booleans; loss a float, dx (N, T, V)."""
    loss, dx = None, None  # TODO
    return loss, dx
