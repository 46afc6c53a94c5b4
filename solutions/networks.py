"""CS231n networks (fc_net.py's FullyConnectedNet, cnn.py's ThreeLayerConvNet): a reference
solution (ninja's own), built on the layers.py next to it."""

import numpy as np

from layers import *  # noqa: F403 (the layers of layers.py in this folder, as fc_net.py's `from ..layers import *`)


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
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} if normalization == "batchnorm" else {} for _ in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        p, caches = self.params, []
        out = X
        for i in range(1, self.num_layers):
            out, affine = affine_forward(out, p[f"W{i}"], p[f"b{i}"])
            norm = None
            if self.normalization == "batchnorm":
                out, norm = batchnorm_forward(out, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                out, norm = layernorm_forward(out, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
            out, relu = relu_forward(out)
            drop = None
            if self.use_dropout:
                out, drop = dropout_forward(out, self.dropout_param)
            caches.append((affine, norm, relu, drop))
        L = self.num_layers
        scores, last = affine_forward(out, p[f"W{L}"], p[f"b{L}"])
        if y is None:
            return scores
        loss, dout = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last)
        for i in reversed(range(1, L)):
            affine, norm, relu, drop = caches[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, drop)
            dout = relu_backward(dout, relu)
            if self.normalization == "batchnorm":
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, norm)
            elif self.normalization == "layernorm":
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, norm)
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, affine)
        for i in range(1, L + 1):
            W = p[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] += self.reg * W
        return loss, grads


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32):  # fmt: skip
        self.reg, self.dtype = reg, dtype
        C, H, W = input_dim
        flat = num_filters * (H // 2) * (W // 2)
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(flat, hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        p = self.params
        conv_param = {"stride": 1, "pad": (p["W1"].shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        out, conv = conv_forward_naive(X, p["W1"], p["b1"], conv_param)
        out, relu1 = relu_forward(out)
        out, pool = max_pool_forward_naive(out, pool_param)
        out, hidden = affine_forward(out, p["W2"], p["b2"])
        out, relu2 = relu_forward(out)
        scores, last = affine_forward(out, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dout = softmax_loss(scores, y)
        grads = {}
        dout, grads["W3"], grads["b3"] = affine_backward(dout, last)
        dout, grads["W2"], grads["b2"] = affine_backward(relu_backward(dout, relu2), hidden)
        dout = relu_backward(max_pool_backward_naive(dout, pool), relu1)
        _, grads["W1"], grads["b1"] = conv_backward_naive(dout, conv)
        for k in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(p[k] ** 2)
            grads[k] += self.reg * p[k]
        return loss, grads
