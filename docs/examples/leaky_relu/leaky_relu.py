"""Leaky ReLU: a CS231n-style forward and backward pass, in NumPy."""

import numpy as np
import torch

LAYERS = {"leaky_relu": ("x",)}  # each layer, and the inputs its backward returns gradients for
GIVEN = ("leaky_relu_forward",)  # handed to the learner as written here; leaky_relu_backward is theirs


def leaky_relu(x, alpha):  # the torch reference: autograd on it is the truth
    return torch.where(x > 0, x, alpha * x)


def leaky_relu_forward(x, alpha):
    """x (any shape), alpha the slope below 0 -> out (x's shape), cache."""
    out = np.where(x > 0, x, alpha * x)
    cache = (x, alpha)
    return out, cache


def leaky_relu_cases(rng):  # np.random.Generator, seeded by ninja (grading's secret seed too)
    return [{"x": rng.standard_normal((4, 5)), "alpha": 0.1}, {"x": rng.standard_normal((2, 3, 4)), "alpha": 0.01}]


def relu_slope(inputs, dout):  # what a plain ReLU's backward gives: a named mistake (dout None: the forward's)
    return {"dx": np.where(inputs["x"] > 0, dout, 0)} if dout is not None else {}


MISTAKES = {"leaky_relu": {"the slope below 0 is dropped, as ReLU's: dx is alpha * dout where x <= 0": relu_slope}}
HINTS = {"leaky_relu_backward": ("dx has x's shape.", "The slope is 1 where x > 0 and alpha elsewhere.")}
