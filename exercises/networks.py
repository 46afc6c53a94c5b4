"""CS231n networks: fc_net.py's FullyConnectedNet and cnn.py's ThreeLayerConvNet.

Point at your own files (ninja check networks --file cs231n/classifiers/fc_net.py): their
`from ..layers import *` finds your layers.py, layer_utils.py and fast_layers.py where you have them.
This template uses the layers.py next to it instead (ninja init puts both in your workspace).
loss(X, y) must return (loss, grads), with 0.5 * reg * sum(W**2) for every weight matrix.

    ninja check networks
    ninja check networks --only FullyConnectedNet
    ninja hint networks FullyConnectedNet
"""

import numpy as np

from layers import *  # noqa: F403


class FullyConnectedNet:
    """{affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):  # fmt: skip
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        # TODO: W1..WL, b1..bL (and gamma1, beta1, ... for the hidden layers when normalized)
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {} for _ in range(self.num_layers - 1)]

    def loss(self, X, y=None):
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        scores = None  # TODO: the forward pass
        if y is None:
            return scores
        loss, grads = None, {}  # TODO: the loss and the backward pass
        return loss, grads


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32):  # fmt: skip
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        # TODO: W1 (F, C, HH, WW), b1, W2, b2, W3, b3

    def loss(self, X, y=None):
        conv_param = {"stride": 1, "pad": (self.params["W1"].shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        scores = None  # TODO
        if y is None:
            return scores
        loss, grads = None, {}  # TODO
        return loss, grads
