"""CS231n classifiers (assignment 1), with the 2023/24 skeleton's signatures.

Paste your own code here (or point at your files with --file and pick with --only), or fill in
the TODOs:
- linear_svm.py and softmax.py: (W, X, y, reg) -> (loss, dW), regularization reg * np.sum(W * W);
- fc_net.py's TwoLayerNet: loss(X, y) -> (loss, grads), regularization 0.5 * reg * sum(W**2);
- k_nearest_neighbor.py's KNearestNeighbor: distances with two, one and no loops, predict_labels.

    ninja check classifiers
    ninja check classifiers --file cs231n/classifiers/linear_svm.py --only svm
    ninja check classifiers --data ~/datasets/cifar-10-batches-py   # your own CIFAR-10 copy
    ninja hint classifiers svm_loss_vectorized

The vectorized functions may not loop in Python; the check measures their speed-up.
"""

import numpy as np


def svm_loss_naive(W, X, y, reg):
    """W (D, C), X (N, D), y (N,), reg float -> (loss, dW). Loops over the examples."""
    dW = np.zeros(W.shape)
    loss = 0.0
    # TODO
    return None, None


def svm_loss_vectorized(W, X, y, reg):
    """The same without Python loops."""
    # TODO
    return None, None


def softmax_loss_naive(W, X, y, reg):
    """W (D, C), X (N, D), y (N,), reg float -> (loss, dW). Loops over the examples."""
    # TODO
    return None, None


def softmax_loss_vectorized(W, X, y, reg):
    """The same without Python loops."""
    # TODO
    return None, None


class TwoLayerNet(object):
    """affine - relu - affine - softmax. You may import your layers here: the folder of this file
    is importable (from layers import affine_forward, ...)."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }
        self.reg = reg

    def loss(self, X, y=None):
        """X (N, d_1, ..., d_k), y (N,) -> (loss, grads) with grads[k] shaped like params[k]."""
        loss, grads = None, {}
        # TODO
        return loss, grads


class KNearestNeighbor(object):
    """a kNN classifier with L2 distance"""

    def __init__(self):
        pass

    def train(self, X, y):
        self.X_train = X
        self.y_train = y

    def compute_distances_two_loops(self, X):
        """X (num_test, D) -> dists (num_test, num_train)."""
        dists = None  # TODO
        return dists

    def compute_distances_one_loop(self, X):
        dists = None  # TODO: one loop, over the test examples
        return dists

    def compute_distances_no_loops(self, X):
        dists = None  # TODO: no loops at all
        return dists

    def predict_labels(self, dists, k=1):
        """dists (num_test, num_train) -> y_pred (num_test,); ties go to the smaller label."""
        y_pred = None  # TODO
        return y_pred
