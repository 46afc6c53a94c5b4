"""CS231n update rules (optim.py): each takes (w, dw, config) and returns (next_w, config).

Paste your own optim.py over this file (or point at it with --file), or fill in the TODOs.
Each rule is called several steps in a row, as the Solver calls it: every step gets the w and the
config the previous step returned, so whatever the rule keeps between steps must be in config.

    ninja check optim                     # every rule
    ninja check optim --only adam
    ninja hint optim adam
"""

import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent. config: learning_rate (1e-2)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    next_w = None  # TODO
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum. config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    next_w = None  # TODO: update v and take the step
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp. config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    next_w = None  # TODO: update config["cache"] and take the step
    return next_w, config


def adam(w, dw, config=None):
    """Adam. config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros
    like w), t (0). Increment t before using it in the bias correction."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    next_w = None  # TODO: update m, v and t in config and take the step
    return next_w, config
