"""CS231n classifiers (assignment 1): linear SVM and softmax, naive and vectorized, with the
2023/24 skeleton's `loss + reg * sum(W**2)`; TwoLayerNet's loss with `0.5 * reg * sum(W**2)`;
k-nearest-neighbour distances (two loops, one loop, none) and predict_labels."""

from __future__ import annotations

import inspect
import re
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from ninja.cs231n.cases import Case, Convention, Unit, rng_for, tensors
from ninja.cs231n.conventions import prose
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.layers import MISSING_N_MISTAKE, OVERFLOW, callees, multiclass_svm
from ninja.cs231n.mistakes import Mistake

# ---------------------------------------------------------------- linear classifiers


def cifar_rows(r, n, cifar):
    """(n, 3072) images: CIFAR-10's own when --data gives them, else pixel-like noise; centred."""
    if cifar is not None and len(cifar.X_train) >= n:
        X = cifar.X_train[:n].reshape(n, -1).copy()
        y = cifar.y_train[:n].copy()
    else:
        X, y = r.uniform(0, 255, (n, 3072)), r.integers(0, 10, n)
    return X - X.mean(axis=0), y


def linear_cases(seed, cifar=None, large=False):
    r = rng_for(seed, "linear")
    W = r.standard_normal((5, 3)) * 0.5
    small = {"W": W, "X": r.standard_normal((4, 5)), "y": r.integers(0, 3, 4), "reg": 0.3}
    cases = [Case(f"W {W.shape}, X (4, 5), reg 0.3", small)]
    X, y = cifar_rows(r, 200, cifar)
    X = np.hstack([X, np.ones((len(X), 1))])  # the bias trick: (N, 3073)
    W = r.standard_normal((3073, 10)) * 1e-3
    cifar_shaped = {"W": W, "X": X, "y": y, "reg": 0.5}
    cases.append(Case(f"W {W.shape}, X {X.shape}, reg 0.5", cifar_shaped, timed=True))
    if large:  # every score near 1000, their differences small: exp overflows unless the max is subtracted
        W, X = r.standard_normal((20, 4)), r.standard_normal((6, 20))
        W[-1], X[:, -1] = 1.0, 1000.0
        label = f"W {W.shape}, X {X.shape}, large scores (~1e3)"
        cases.append(Case(label, {"W": W, "X": X, "y": r.integers(0, 4, 6), "reg": 0.1}))
    return cases


def linear_svm(t, out, reg_factor=1.0, mean=True):
    W = t["W"]
    return multiclass_svm(t["X"] @ W, t["y"], mean) + reg_factor * t["reg"] * (W * W).sum()


def linear_softmax(t, out, reg_factor=1.0, mean=True):
    W = t["W"]
    data = F.cross_entropy(t["X"] @ W, t["y"], reduction="mean" if mean else "sum")
    return data + reg_factor * t["reg"] * (W * W).sum()


def skeleton_reg(source: str) -> str | None:
    """The regularization line the learner's linear_svm.py or softmax.py carries, as CS231n's
    skeleton gives it: `loss += reg * np.sum(W * W)`, or the 2016 one's `0.5 * reg * ...`."""
    found = set(re.findall(r"loss \+= (0\.5 \* )?reg \* np\.sum\(W \* W\)", source))
    return ("0.5" if found.pop() else "1") if len(found) == 1 else None


def reg_convention(name: str, default: str, read, one: str, half: str) -> Convention:
    """The regularization factor: reg * sum(W**2) ("1") or 0.5 * reg * sum(W**2) ("0.5"), as the
    trusted forward's reg_factor; either is accepted where the file does not say."""
    values = {"1": ({"reg_factor": 1.0}, one), "0.5": ({"reg_factor": 0.5}, half)}
    return Convention(name, values, default=default, read=read, either=True)


LINEAR_REG = reg_convention(
    "reg",
    "1",
    skeleton_reg,
    "reg * np.sum(W * W) (dW gets 2 * reg * W)",
    "0.5 * reg * np.sum(W * W) (dW gets reg * W), as CS231n's 2016 skeleton",
)
MISSING_REG = Mistake(
    "missing_reg",
    "no regularization: the loss adds reg * np.sum(W * W) and its gradient 2 * reg * W",
    {"reg_factor": 0.0},
)


def reg_gradient_in_loop(trusted):
    """The naive loop adding dW += 2 * reg * W once per example: N times the regularization's gradient."""

    def produces(inputs, dout):
        t = tensors(inputs, ("W",))
        (right,) = torch.autograd.grad(trusted(t, None), [t["W"]])
        return {"dW": right.numpy() + (len(inputs["X"]) - 1) * 2 * inputs["reg"] * inputs["W"]}

    return produces


REG_IN_LOOP = "the regularization's gradient is added inside the loop over examples, N times: add it once"
LINEAR_MISTAKES = (MISSING_N_MISTAKE, MISSING_REG)


def linear_units():
    units = []
    for family, trusted, large in (("svm", linear_svm, False), ("softmax", linear_softmax, True)):
        cases = partial(linear_cases, large=large)
        overflow = OVERFLOW if family == "softmax" else None
        naive = f"{family}_loss_naive"
        in_loop = Mistake("reg_in_loop", REG_IN_LOOP, produces=reg_gradient_in_loop(trusted))
        units.append(Unit(
            naive, "loss", ("W",), cases, trusted, mistakes=(*LINEAR_MISTAKES, in_loop), overflow=overflow,
            conventions=(LINEAR_REG,),
        ))  # fmt: skip
        units.append(Unit(
            f"{family}_loss_vectorized", "loss", ("W",), cases, trusted, mistakes=LINEAR_MISTAKES, overflow=overflow,
            naive=naive, conventions=(LINEAR_REG,),
        ))  # fmt: skip
    return tuple(units)


# ---------------------------------------------------------------- TwoLayerNet


def two_layer_cases(seed, cifar=None):
    r = rng_for(seed, "two_layer")
    cases = []
    for n, x_shape, hidden, classes, reg in (
        (3, (5,), 4, 3, 0.7),
        (8, (3, 32, 32), 20, 10, 0.1),  # CIFAR's images, flattened by the first affine layer
    ):
        d = int(np.prod(x_shape))
        X = cifar_rows(r, n, cifar)[0].reshape(n, *x_shape) if x_shape == (3, 32, 32) else r.standard_normal((n, d))
        params = {
            "W1": r.standard_normal((d, hidden)) * (1e-3 if d > 100 else 0.5),  # 1e-3: CS231n's weight_scale
            "b1": r.standard_normal(hidden) * 0.1,
            "W2": r.standard_normal((hidden, classes)) * 0.5,
            "b2": r.standard_normal(classes) * 0.1,
        }
        inputs = {"X": X, "y": r.integers(0, classes, n), "reg": reg, **params}
        cases.append(Case(f"X {X.shape}, hidden {hidden}, reg {reg}", inputs))
    return cases


def call_two_layer_net(cls, name, inputs):
    """Build the learner's net at the case's sizes, put the case's parameters in, ask its loss:
    fc_net.py's TwoLayerNet(input_dim, hidden_dim, num_classes, weight_scale, reg) with loss(X, y),
    or the 2016-2020 neural_net.py's TwoLayerNet(input_size, hidden_size, output_size, std) with
    loss(X, y, reg) on rows (N, D)."""
    (d, hidden), classes = inputs["W1"].shape, inputs["W2"].shape[1]
    if "input_size" in inspect.signature(cls).parameters:
        net = cls(d, hidden, classes, std=1e-4)
        give = lambda: net.loss(inputs["X"].reshape(len(inputs["X"]), -1), inputs["y"], reg=inputs["reg"])  # noqa: E731
    else:
        net = cls(input_dim=d, hidden_dim=hidden, num_classes=classes, weight_scale=1e-3, reg=inputs["reg"])
        give = lambda: net.loss(inputs["X"], inputs["y"])  # noqa: E731
    for k in ("W1", "b1", "W2", "b2"):
        net.params[k] = inputs[k].copy()
    return give()


def two_layer_net(t, out, reg_factor=0.5, mean=True, reg_biases=False):
    X = t["X"].reshape(t["X"].shape[0], -1)
    scores = (X @ t["W1"] + t["b1"]).clamp(min=0) @ t["W2"] + t["b2"]
    data = F.cross_entropy(scores, t["y"], reduction="mean" if mean else "sum")
    biases = ("b1", "b2") if reg_biases else ()
    return data + reg_factor * t["reg"] * sum((t[k] ** 2).sum() for k in ("W1", "W2", *biases))


def net_reg(source: str) -> str | None:
    """fc_net.py's and cnn.py's notes ask for "a factor of 0.5" (wrapped over two comment lines in
    every year's skeleton: "includes a factor #\n # of 0.5"), as 2016's neural_net.py did ("multiply
    the regularization loss by 0.5"); 2017-2020's neural_net.py says nothing (its notebook's numbers
    use reg * sum(W**2))."""
    text = prose(source)
    return "0.5" if re.search(r"factor of 0\.5|regularization loss by 0\.5", text) else None


NET_REG = reg_convention(  # its own name: fc_net's 0.5 sits beside the linear classifiers' 1 since 2017
    "net_reg",
    "0.5",
    net_reg,
    "reg * (sum(W1**2) + sum(W2**2)) (dW gets 2 * reg * W)",
    "0.5 * reg * (sum(W1**2) + sum(W2**2)) (dW gets reg * W)",
)

NET_MISTAKES = (
    MISSING_N_MISTAKE,
    Mistake(
        "missing_reg", "no regularization: add it to the loss, and its gradient to dW1 and dW2", {"reg_factor": 0.0}
    ),
    Mistake(
        "reg_biases", "the biases are regularized too: L2 regularization is on W1 and W2 only", {"reg_biases": True}
    ),
)

# ---------------------------------------------------------------- k-nearest neighbours


def knn_cases(seed, cifar=None):
    r = rng_for(seed, "knn")
    cases = []
    for n_train, n_test, d in ((7, 5, 4), (200, 50, 3072)):
        if cifar is not None and d == 3072:
            X_train = cifar.X_train[:n_train].reshape(n_train, -1)
            y_train, X = cifar.y_train[:n_train], cifar.X_test[:n_test].reshape(n_test, -1)
        else:
            X_train, y_train = r.uniform(0, 255, (n_train, d)), r.integers(0, 10, n_train)
            X = r.uniform(0, 255, (n_test, d))
        inputs = {"X_train": X_train, "y_train": y_train, "X": X}
        cases.append(Case(f"X_train {X_train.shape}, X {X.shape}", inputs, timed=d == 3072))
    return cases


def call_distances(cls, name, inputs):
    knn = cls()
    knn.train(inputs["X_train"], inputs["y_train"])
    return getattr(knn, name)(inputs["X"])


def distances(t, out, squared=False):
    difference = t["X"][:, None, :] - t["X_train"][None, :, :]
    return (difference**2).sum(-1) if squared else (difference**2).sum(-1).sqrt()


SQUARED = Mistake(
    "squared",
    "squared distances: dists holds the L2 distance, the square root of the sum of squares",
    {"squared": True},
)


def vote_cases(seed, cifar=None):
    r = rng_for(seed, "vote")
    cases = []
    for n_train, n_test, k, classes in ((12, 30, 1, 4), (12, 40, 2, 3), (20, 40, 5, 3)):
        # k = 2 with 3 classes makes many ties: CS231n breaks them towards the smaller label
        inputs = {"X_train": np.zeros((n_train, 1)), "y_train": r.integers(0, classes, n_train)}
        inputs |= {"dists": r.uniform(0, 10, (n_test, n_train)), "k": k}
        cases.append(Case(f"dists ({n_test}, {n_train}), k {k}", inputs))
    return cases


def call_predict(cls, name, inputs):
    knn = cls()
    knn.train(inputs["X_train"], inputs["y_train"])
    return knn.predict_labels(inputs["dists"], k=inputs["k"])


def predicted_labels(t, out):
    nearest = torch.argsort(t["dists"], dim=1, stable=True)[:, : t["k"]]
    votes = F.one_hot(t["y_train"][nearest], int(t["y_train"].max()) + 1).sum(1)
    return votes.argmax(1).double()  # argmax takes the first, i.e. the smaller label, on a tie


def tie_to_nearest(first_to_reach: bool):
    """k-NN votes with ties broken by the neighbours' order (collections.Counter.most_common, or a
    running count that keeps the first label to reach the top) instead of towards the smaller label."""

    def produces(inputs, dout):
        predictions = []
        for row in inputs["dists"]:
            labels = inputs["y_train"][np.argsort(row, kind="stable")[: inputs["k"]]]
            counts: dict[int, int] = {}
            best, top = labels[0], 0
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
                if counts[label] > top:
                    best, top = label, counts[label]
            if not first_to_reach:
                best = next(label for label in counts if counts[label] == top)  # first seen among the tied
            predictions.append(best)
        return {"y_pred": np.array(predictions, dtype=np.float64)}

    return produces


TIES = "a tie between labels goes to the nearer neighbour's; CS231n breaks it towards the smaller label"


def knn_units():
    units = []
    allowed = {"compute_distances_two_loops": None, "compute_distances_one_loop": 1, "compute_distances_no_loops": 0}
    for name, loops in allowed.items():
        vectorized = {"naive": "compute_distances_two_loops", "max_loops": loops} if loops is not None else {}
        units.append(Unit(
            name, "value", (), knn_cases, distances, owner="KNearestNeighbor", call=call_distances, output="dists",
            mistakes=(SQUARED,), **vectorized,
        ))  # fmt: skip
    units.append(Unit(
        "predict_labels", "value", (), vote_cases, predicted_labels, owner="KNearestNeighbor", call=call_predict,
        output="y_pred", mistakes=(
            Mistake("ties", TIES + " (the first seen)", produces=tie_to_nearest(False)),
            Mistake("ties", TIES + " (the first to reach the most votes)", produces=tie_to_nearest(True)),
        ),
    ))  # fmt: skip
    return tuple(units)


UNITS = (
    *linear_units(),
    Unit(
        "TwoLayerNet", "loss", ("W1", "b1", "W2", "b2"), two_layer_cases, two_layer_net, owner="TwoLayerNet",
        call=call_two_layer_net, mistakes=NET_MISTAKES, conventions=(NET_REG,),
        calls=callees("affine_forward", "relu_forward", "softmax_loss"),
    ),
    *knn_units(),
)  # fmt: skip

LINEAR_HINTS = {
    "svm": (
        "W (D, C), X (N, D), y (N,), reg a float; loss is a float, dW has W's shape.",
        "scores = X W; each wrong class j with margin s_j - s_y + 1 > 0 adds the margin, pushing column j of dW "
        "by +x_i and column y_i by -x_i. Average over N, then add the regularization.",
    ),
    "softmax": (
        "W (D, C), X (N, D), y (N,), reg a float; loss is a float, dW has W's shape.",
        "loss_i = -log softmax(scores_i)[y_i]; d loss_i / d scores_i = probabilities minus one-hot(y_i), and "
        "dW collects x_i times that. Average over N, then add the regularization.",
    ),
}


def linear_hints(family: str, vectorized: bool) -> tuple[str, str, str]:
    shapes, words = LINEAR_HINTS[family]
    if vectorized:
        rule = (
            "No Python loop: compute all scores with one matrix product, build the (N, C) matrix of "
            "d loss / d scores with boolean masks and fancy indexing (rows np.arange(N), columns y), "
            "then dW = X.T times it; add 2 * reg * W for reg * np.sum(W * W)."
        )
    else:
        rule = (
            "Loop over examples i (and classes j): accumulate the loss and the columns of dW; divide both by N "
            "after the loop; then loss += reg * np.sum(W * W) and dW += 2 * reg * W."
        )
    if family == "softmax":
        rule += " Subtract each row's max from the scores before np.exp."
    return shapes, words, rule


HINTS = {
    f"{family}_loss_{style}": linear_hints(family, style == "vectorized")
    for family in ("svm", "softmax")
    for style in ("naive", "vectorized")
} | {
    "TwoLayerNet": (
        "params W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); loss(X, y) returns (loss, grads) with grads[k] shaped like "
        "params[k]; X may be (N, 3, 32, 32).",
        "affine - relu - affine - softmax: backpropagate through each layer in reverse, reusing the caches; "
        "regularization adds to the W gradients only.",
        "scores from affine_relu_forward then affine_forward; loss, dscores from softmax_loss; go back through "
        "affine_backward and affine_relu_backward; add 0.5 * reg * (sum W1**2 + sum W2**2) to the loss and "
        "reg * W to each dW.",
    ),
    "compute_distances_two_loops": (
        "self.X_train (num_train, D), X (num_test, D); dists (num_test, num_train).",
        "dists[i, j] is the Euclidean (L2) distance between test i and training j.",
        "For each i and j: the square root of the sum of squared differences of the two rows.",
    ),
    "compute_distances_one_loop": (
        "Same output; one loop, over the test examples.",
        "Broadcasting subtracts one test row from every training row at once.",
        "dists[i, :] = square root of the row sums of (self.X_train - X[i]) squared.",
    ),
    "compute_distances_no_loops": (
        "Same output; no Python loop at all (no for, while or comprehension).",
        "Expand ||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y: two vectors of squared norms and one matrix product.",
        "Squared norms of X as a column, of X_train as a row, minus 2 X self.X_train.T; the square root of that "
        "(broadcasting builds the matrix).",
    ),
    "predict_labels": (
        "dists (num_test, num_train), k an int; y_pred (num_test,).",
        "For each test example take the labels of its k nearest training examples and vote.",
        "np.argsort each row, take the first k, label them with self.y_train; np.bincount then np.argmax (argmax "
        "returns the first maximum, so ties go to the smaller label).",
    ),
}

EXERCISE = FunctionsExercise(
    name="classifiers",
    title="CS231n classifiers: SVM and softmax (naive, vectorized), TwoLayerNet, k-NN",
    units=UNITS,
    hints=HINTS,
    takes_data=True,
)
