"""CS231n as students have it: a tree of our own for each year's layout (2016, 2017, 2019, 2021,
2023, 2024/25), written from the reference solutions in the shapes those years' skeletons have
(Python 2, past.builtins, missing __init__.py, relative imports, the old neural_net.py API, the
2016 conventions), checked through the API and the CLI as a student would."""

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ninja.cs231n.loading import explain
from ninja.registry import find
from ninja.render import summary
from ninja.results import ERROR, FAIL, MISSING, PASS, LearnerError
from ninja.settings import Settings

# as `ninja check` judges: on what the files define
CLASSIFIERS, LAYERS = find("classifiers").what_is_there(), find("layers").what_is_there()
SOLUTION_C, SOLUTION_L = CLASSIFIERS.solution.read_text(), LAYERS.solution.read_text()


def piece(source: str, *names: str) -> str:
    """The top-level functions and classes `names` of `source`, as written there."""
    tree = ast.parse(source)
    found = {n.name: ast.get_source_segment(source, n) for n in tree.body if hasattr(n, "name")}
    return "\n\n\n".join(found[n] for n in names) + "\n"


SVM = piece(SOLUTION_C, "svm_loss_naive", "svm_loss_vectorized")
SOFTMAX = piece(SOLUTION_C, "softmax_loss_naive", "softmax_loss_vectorized")
KNN = piece(SOLUTION_C, "KNearestNeighbor")
FC_NET = piece(SOLUTION_C, "TwoLayerNet")
PAST = "from builtins import range\nfrom past.builtins import xrange\n\nimport numpy as np\n\n\n"

OLD_NET = '''
class TwoLayerNet(object):
    """neural_net.py as 2017-2020 hand it out: sizes by position, std, and reg given to loss."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {}
        self.params["W1"] = std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N, D = X.shape
        h = np.matmul(X, W1) + b1
        h[h < 0] = 0
        scores = np.matmul(h, W2) + b2
        if y is None:
            return scores
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W2": h.T.dot(dscores) + 2 * reg * W2, "b2": dscores.sum(axis=0)}
        dh = dscores.dot(W2.T) * (h > 0)
        grads["W1"] = X.T.dot(dh) + 2 * reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads
'''

DROP_DOCSTRING = (
    piece(SOLUTION_L, "dropout_forward")
    .replace("(np.random.rand(*x.shape) < p) / p", "(np.random.rand(*x.shape) >= p) / (1 - p)")
    .replace(
        "dropout_param):\n",
        'dropout_param):\n    """- p: Dropout parameter. We drop each neuron output with probability p."""\n',
        1,
    )
)
assert "We drop each neuron" in DROP_DOCSTRING and ">= p) / (1 - p)" in DROP_DOCSTRING


LAYER_UTILS = """from .layers import *


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def by_name(report):
    return {v.name: v for v in report.variables}


def ninja(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ninja", "check", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


# ---------------------------------------------------------------- 2016: Python 2, 0.5 * reg, p drops


def tree_2016(root: Path) -> Path:
    half = SVM.replace("reg * np.sum(W * W)", "0.5 * reg * np.sum(W * W)").replace("2 * reg * W", "reg * W")
    python2_softmax = re.sub(r"\brange\(", "xrange(", SOFTMAX)
    python2_net = OLD_NET.replace("reg * (np.sum(W1", "0.5 * reg * (np.sum(W1").replace("2 * reg *", "reg *")
    python2_net += "\n    def train(self, X, y):\n        print 'training'\n"
    layers = SOLUTION_L.replace(piece(SOLUTION_L, "dropout_forward"), DROP_DOCSTRING)
    return write(
        root,
        {
            "assignment1/cs231n/__init__.py": "",
            "assignment1/cs231n/classifiers/__init__.py": "",
            "assignment1/cs231n/classifiers/linear_svm.py": "import numpy as np\n\n\n" + half,
            "assignment1/cs231n/classifiers/softmax.py": "import numpy as np\n\n\n" + python2_softmax,
            "assignment1/cs231n/classifiers/neural_net.py": "import numpy as np\n\n" + python2_net,
            "assignment2/cs231n/layers.py": layers,
        },
    )


def test_2016_python2_files_are_named_with_their_line_and_its_conventions_hold(tmp_path):
    root = tree_2016(tmp_path)
    classifiers = root / "assignment1/cs231n/classifiers"
    svm = by_name(CLASSIFIERS.check(classifiers / "linear_svm.py", Settings()))
    assert {v.status for v in svm.values()} == {PASS}  # 0.5 * reg, read from its own skeleton line
    assert "reg: 0.5 * reg * np.sum(W * W)" in svm["svm_loss_naive.loss"].note
    softmax = by_name(CLASSIFIERS.check(classifiers / "softmax.py", Settings()))
    note = softmax["softmax_loss_naive.loss"].note
    assert softmax["softmax_loss_naive.loss"].status == ERROR and "xrange is Python 2 (line" in note
    net = CLASSIFIERS.check(classifiers / "neural_net.py", Settings())
    assert net.error.kind == "SyntaxError" and "this is Python 2 code (line" in net.error.message
    assert net.error.source == "print 'training'"
    layers = by_name(LAYERS.check(root / "assignment2/cs231n/layers.py", Settings()))
    dropout = layers["dropout_forward.out"]  # p drops a unit, as the 2016 docstring says
    assert dropout.status == PASS and "read from your file" in dropout.note
    assert layers["dropout_backward.dx"].status == PASS


def test_2016_dropout_read_against_the_docstring_or_forced(tmp_path):
    root = tree_2016(tmp_path)
    layers = root / "assignment2/cs231n/layers.py"
    keep = LAYERS.only("dropout").with_conventions(["dropout=keep"])
    out = by_name(keep.check(layers, Settings()))["dropout_forward.out"]
    assert out.status == FAIL and "keep and drop swapped" in out.diagnosis
    assert "it would pass with --convention dropout=drop" in out.diagnosis


def test_python2_integer_division_and_a_stray_pyc_are_named(tmp_path):
    conv = piece(SOLUTION_L, "conv_forward_naive").replace("//", "/")
    root = write(tmp_path, {"assignment2/cs231n/layers.py": "import numpy as np\n\n\n" + conv})
    out = by_name(LAYERS.check(root / "assignment2/cs231n/layers.py", Settings()))["conv_forward_naive.out"]
    assert out.status == ERROR and "in Python 2 `/` of two ints floored" in out.note and "use `//`" in out.note
    bad = explain(LearnerError("ImportError", "bad magic number in 'cs231n': b'\\x03\\xf3\\r\\n'", "f.py", 2))
    assert "delete the .pyc files" in bad.message


# ---------------------------------------------------------------- 2017: past.builtins, no __init__.py


def tree_2017(root: Path) -> Path:
    fc_net = "import numpy as np\n\nfrom cs231n.layers import *\nfrom cs231n.layer_utils import *\n\n\n" + FC_NET
    return write(
        root,
        {
            "assignment1/cs231n/classifiers/linear_svm.py": PAST + re.sub(r"\brange\(", "xrange(", SVM),
            "assignment1/cs231n/classifiers/softmax.py": PAST + SOFTMAX,
            "assignment1/cs231n/classifiers/k_nearest_neighbor.py": PAST + KNN,
            "assignment1/cs231n/classifiers/neural_net.py": "import numpy as np\n" + OLD_NET,
            "assignment2/cs231n/layers.py": SOLUTION_L,
            "assignment2/cs231n/layer_utils.py": LAYER_UTILS.replace("from .layers", "from cs231n.layers"),
            "assignment2/cs231n/classifiers/fc_net.py": fc_net,
        },
    )


def test_2017_folder_with_past_builtins_and_the_old_two_layer_net_passes(tmp_path):
    root = tree_2017(tmp_path)
    result = ninja("classifiers", "--file", str(root / "assignment1/cs231n/classifiers"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "17/17 correct: classifiers passes." in result.stdout
    assert "net_reg: reg * (sum(W1**2) + sum(W2**2))" in result.stdout  # the old net's factor, seen and named
    assert "past" not in sys.modules


def test_2017_fc_net_imports_cs231n_without_any_init_file(tmp_path):
    root = tree_2017(tmp_path)
    assert not list(root.rglob("__init__.py"))
    report = CLASSIFIERS.check(root / "assignment2/cs231n/classifiers/fc_net.py", Settings())
    assert report.error is None and report.passed
    assert [v.name.split(".")[0] for v in report.variables] == ["TwoLayerNet"] * 5
    assert any(n.startswith("not in this file: svm_loss_naive") for n in report.notes)


# ---------------------------------------------------------------- 2019: __init__.py everywhere, NumPy 2


def tree_2019(root: Path) -> Path:
    numpy1_pool = piece(SOLUTION_L, "max_pool_backward_naive")
    layers = SOLUTION_L.replace(numpy1_pool, NUMPY1_POOL)
    alt = piece(SOLUTION_L, "batchnorm_backward_alt")
    layers = layers.replace(alt, OWN_ALT)
    return write(
        root,
        {
            "assignment1/cs231n/__init__.py": "",
            "assignment1/cs231n/classifiers/__init__.py": (
                "from cs231n.classifiers.k_nearest_neighbor import *\nfrom cs231n.classifiers.linear_svm import *\n"
            ),
            "assignment1/cs231n/classifiers/k_nearest_neighbor.py": PAST + KNN,
            "assignment1/cs231n/classifiers/linear_svm.py": PAST + SVM,
            "assignment2/cs231n/__init__.py": "",
            "assignment2/cs231n/layers.py": "from builtins import range\n" + layers,
        },
    )


NUMPY1_POOL = """def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    N, C, HO, WO = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(HO):
                for j in range(WO):
                    window = x[n, c, i * s : i * s + ph, j * s : j * s + pw]
                    row, col = np.where(window == np.max(window))
                    dx[n, c, i * s + int(row), j * s + int(col)] += dout[n, c, i, j]
    return dx
"""

OWN_ALT = """def batchnorm_forward_alt(x, gamma, beta, bn_param):
    out, (xhat, gamma, std) = batchnorm_forward(x, gamma, beta, bn_param)
    return out, {"xhat": xhat, "gamma": gamma, "std": std}


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = gamma / (N * std) * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta
"""


def test_2019_numpy2_refusal_is_named_and_backward_alt_gets_its_own_forwards_cache(tmp_path):
    root = tree_2019(tmp_path)
    report = LAYERS.check(root / "assignment2/cs231n/layers.py", Settings())
    results = by_name(report)
    pool = results["max_pool_backward_naive.dx"]
    if int(np.__version__.split(".")[0]) >= 2:  # what code written on NumPy 1.26 meets here
        assert pool.status == ERROR and "NumPy 1.25 deprecated it" in pool.note and "a.item()" in pool.note
    else:
        assert pool.status == PASS
    assert all(results[f"batchnorm_backward_alt.d{w}"].status == PASS for w in ("x", "gamma", "beta"))
    folder = by_name(CLASSIFIERS.check([root / "assignment1/cs231n/classifiers/linear_svm.py"], Settings()))
    assert {v.status for v in folder.values()} == {PASS}


# ---------------------------------------------------------------- 2021 and 2023: relative imports


def tree_2021(root: Path, init_files: bool) -> Path:
    fc_net = "import numpy as np\n\nfrom ..layers import *\nfrom ..layer_utils import *\n\n\n" + FC_NET
    files = {
        "assignment1/cs231n/layers.py": piece(
            SOLUTION_L, "affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss", "svm_loss"
        ).join(["import numpy as np\n\n\n", ""]),
        "assignment1/cs231n/layer_utils.py": LAYER_UTILS,
        "assignment1/cs231n/classifiers/fc_net.py": fc_net,
        "assignment1/cs231n/classifiers/softmax.py": PAST + SOFTMAX,
        "assignment2/cs231n/layers.py": SOLUTION_L,
        "assignment2/cs231n/layer_utils.py": LAYER_UTILS,
        "assignment2/cs231n/classifiers/fc_net.py": fc_net,
    }
    if init_files:  # 2021 hands out cs231n/__init__.py; assignment2's classifiers/ has none in either year
        files |= {"assignment1/cs231n/__init__.py": "", "assignment1/cs231n/classifiers/__init__.py": ""}
        files |= {"assignment2/cs231n/__init__.py": ""}
    return write(root, files)


@pytest.mark.parametrize("init_files", [True, False], ids=["2021", "2023-no-init"])
def test_relative_imports_resolve_with_or_without_init_files(tmp_path, init_files):
    root = tree_2021(tmp_path, init_files)
    for assignment in ("assignment1", "assignment2"):
        report = CLASSIFIERS.check(root / assignment / "cs231n/classifiers/fc_net.py", Settings())
        assert report.error is None, report.error
        assert report.passed and len(report.variables) == 5
    layers = LAYERS.check(root / "assignment1/cs231n/layers.py", Settings())
    assert layers.passed and len(layers.variables) == 10  # assignment 1's layers.py: affine, relu, the losses
    assert layers.scope == f"what this file defines: 10 of {len(LAYERS.checked)} results"


def test_two_files_of_one_tree_are_checked_together_and_their_lines_point_to_their_own_file(tmp_path):
    root = tree_2021(tmp_path, init_files=True)
    folder = root / "assignment1/cs231n/classifiers"
    broken = (folder / "softmax.py").read_text().replace("probs[rows, y]).mean()", "probs[rows, y]).sum()")
    (folder / "softmax.py").write_text(broken)
    result = ninja("classifiers", "--file", str(folder / "fc_net.py"), "--file", str(folder / "softmax.py"))
    assert result.returncode == 1
    assert f"{folder / 'softmax.py'}:" in result.stdout.replace("\n", "")  # the root cause, in softmax.py
    report = CLASSIFIERS.check([folder / "fc_net.py", folder / "softmax.py"], Settings())
    loss = by_name(report)["softmax_loss_vectorized.loss"]
    assert loss.status == FAIL and loss.path == str(folder / "softmax.py")
    assert by_name(report)["TwoLayerNet.loss"].status == PASS
    assert "not in these files: svm_loss_naive" in " ".join(report.notes)


# ---------------------------------------------------------------- 2024/25: assignments/assignment1/


def tree_2025(root: Path) -> Path:
    base = "assignments/assignment1/cs231n"
    return write(
        root,
        {
            f"{base}/__init__.py": "",
            f"{base}/classifiers/__init__.py": "from .k_nearest_neighbor import *\nfrom .softmax import *\n",
            f"{base}/classifiers/k_nearest_neighbor.py": PAST + KNN,
            f"{base}/classifiers/softmax.py": PAST + SOFTMAX,
            f"{base}/classifiers/fc_net.py": "import numpy as np\n\nfrom ..layers import *\n\n\n" + FC_NET,
            f"{base}/classifiers/linear_classifier.py": "from .softmax import *\n\nW = None\n",
            f"{base}/layers.py": SOLUTION_L,
            f"{base}/solver.py": "raise SystemExit('a file ninja must not run')\n",
        },
    )


def test_2025_folder_without_svm_passes_on_what_it_has_and_says_so(tmp_path):
    root = tree_2025(tmp_path)
    folder = root / "assignments/assignment1/cs231n/classifiers"
    result = ninja("classifiers", "--file", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not in these files: svm_loss_naive, svm_loss_vectorized" in result.stdout.replace("\n", " ")
    assert "13/13 correct: classifiers passes (what your files define: 13 of 17 results)." in result.stdout
    only = ninja("classifiers", "--file", str(folder), "--only", "SOFTMAX")
    assert only.returncode == 0 and "(--only SOFTMAX: 4 of 17 results)" in only.stdout
    layers = ninja("layers", "--file", str(root / "assignments/assignment1/cs231n"))  # solver.py is not run
    assert layers.returncode == 0 and f"{len(LAYERS.checked)}/{len(LAYERS.checked)} correct" in layers.stdout


def test_bad_file_arguments_are_usage_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.py").write_text("x = 1\n")
    result = ninja("classifiers", "--file", str(empty))
    assert result.returncode == 2 and "no .py file there defines any of the classifiers functions" in result.stderr
    result = ninja("layers", "--file", str(tmp_path / "nowhere.py"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    result = ninja("exercise1", "--file", "a.py", "--file", "b.py")
    assert result.returncode == 2 and "several --file" in result.stderr
    result = ninja("layers", "--convention", "dropout=sometimes")
    assert result.returncode == 2 and "dropout=drop|keep" in result.stderr


# ---------------------------------------------------------------- the patterns, one by one


def layers_with(tmp_path, old, new, name="layers.py"):
    assert SOLUTION_L.count(old) == 1, old
    path = tmp_path / name
    path.write_text(SOLUTION_L.replace(old, new))
    return path


def test_skeleton_stubs_are_missing_not_errors(tmp_path):
    stub = textwrap.dedent("""
        def dropout_forward(x, dropout_param):
            p, mode = dropout_param["p"], dropout_param["mode"]
            mask = None
            out = None
            if mode == "train":
                pass
            elif mode == "test":
                pass
            cache = (dropout_param, mask)
            out = out.astype(x.dtype, copy=False)
            return out, cache


        def conv_backward_naive(dout, cache):
            dx, dw, db = None, None, None
            x, w, b, conv_param = cache
            dx, dw = np.zeros_like(x), np.zeros_like(w)
            return dx, dw, db
        """)
    source = SOLUTION_L.replace(piece(SOLUTION_L, "dropout_forward"), "")
    source = source.replace(piece(SOLUTION_L, "conv_backward_naive"), "") + stub
    path = tmp_path / "layers.py"
    path.write_text(source)
    results = by_name(LAYERS.check(path, Settings()))
    assert (
        results["dropout_forward.out"].status == MISSING and "still the skeleton" in results["dropout_forward.out"].note
    )
    assert results["dropout_backward.dx"].status == MISSING
    assert results["conv_backward_naive.dx"].status == MISSING  # np.zeros_like, never written
    assert "dx keeps its initial value" in results["conv_backward_naive.dx"].note
    assert results["conv_forward_naive.out"].status == PASS


def test_one_case_that_raises_hides_nothing_and_a_pad0_bug_is_named_with_its_case(tmp_path):
    crop = "dx = dx_pad[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]"
    assert crop in SOLUTION_L
    raises = "dx = dx_pad[:, :, pad:-pad, pad:-pad]\n    assert x.shape[0] != 1, 'a batch of one'"
    path = layers_with(tmp_path, crop, raises)
    results = by_name(LAYERS.only("conv").check(path, Settings()))
    dx, dw = results["conv_backward_naive.dx"], results["conv_backward_naive.dw"]
    assert dx.status == FAIL and dx.diagnosis_kind == "empty" and "pad 0" in dx.note  # not hidden by the error
    assert "when pad is 0" in dx.diagnosis and "pad:-pad" in path.read_text().splitlines()[dx.line - 1]
    assert "wrong shape: yours is (2, 1, 0, 0), conv_backward_naive.dx is (2, 1, 4, 4)" in dx.note
    assert dw.status == ERROR and "AssertionError" in dw.note  # raised on another case, shown as such


def test_numeric_is_taken_at_the_failing_case(tmp_path):
    path = layers_with(tmp_path, "dx = dout * (x > 0)", "dx = dout * (x > 0) * (1 if x.shape[0] != 1 else 2)")
    report = LAYERS.only("relu").numeric().check(path, Settings())
    dx = by_name(report)["relu_backward.dx"]
    assert dx.status == FAIL and "x (1, 7)" in dx.note  # the batch of one
    assert dx.numeric_relerr == pytest.approx(1 / 3, rel=1e-3)  # |2g - g| / (|2g| + |g|), at that case


NAMED = {
    "test mode without gamma and beta": (
        "layers",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = (x - running_mean) / np.sqrt(running_var + eps)",
        "batchnorm_forward.out",
        "test_affine",
    ),
    "gamma taken out of the sums": (
        "layers",
        "dx = (D * dxhat - dxhat.sum(axis=1, keepdims=True) - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) "
        "/ (D * std)",
        "dx = gamma / (D * std) * (D * dout - dout.sum(axis=1, keepdims=True) "
        "- xhat * (dout * xhat).sum(axis=1, keepdims=True))",
        "layernorm_backward.dx",
        "layernorm_gamma",
    ),
    "squared distances": (
        "classifiers",
        "dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))",
        "dists[i, j] = np.sum((X[i] - self.X_train[j]) ** 2)",
        "compute_distances_two_loops.dists",
        "squared",
    ),
    "added inside the loop over examples": (
        "classifiers",
        "    dW += 2 * reg * W\n    return loss, dW",
        "    for i in range(num_train):\n        dW += 2 * reg * W\n    return loss, dW",
        "svm_loss_naive.dW",
        "reg_in_loop",
    ),
    "a tie between labels goes to the nearer neighbour's": (
        "classifiers",
        "y_pred[i] = np.argmax(np.bincount(closest_y))",
        "y_pred[i] = collections.Counter(closest_y.tolist()).most_common(1)[0][0]",
        "predict_labels.y_pred",
        "ties",
    ),
    "no regularization": (
        "classifiers",
        "loss = margins.sum() / num_train + reg * np.sum(W * W)",
        "loss = margins.sum() / num_train",
        "svm_loss_vectorized.loss",
        "missing_reg",
    ),
}


@pytest.mark.parametrize("words", list(NAMED))
def test_real_mistakes_get_their_named_cause(tmp_path, words):
    exercise, old, new, name, kind = NAMED[words]
    solution = SOLUTION_L if exercise == "layers" else SOLUTION_C
    assert solution.count(old) == 1, old
    path = tmp_path / f"{exercise}.py"
    path.write_text("import collections\n" + solution.replace(old, new))
    ex = find(exercise).only(name.split(".")[0])
    result = by_name(ex.check(path, Settings()))[name]
    assert result.status == FAIL and result.diagnosis_kind == kind and words in result.diagnosis, result
    line = path.read_text().splitlines()[result.line - 1]  # the function's def when no statement is singled out
    assert line.strip() in new or line.lstrip().startswith(f"def {name.split('.')[0]}("), line


def test_comprehensions_that_only_build_indices_are_not_loops(tmp_path):
    old = "loss = margins.sum() / num_train + reg * np.sum(W * W)"
    new = "rows = np.array([i for i in range(num_train)])\n    pairs = [(i, y[i]) for i in rows]\n    " + old
    assert SOLUTION_C.count(old) == 1
    path = tmp_path / "classifiers.py"
    path.write_text(SOLUTION_C.replace(old, new))
    results = by_name(CLASSIFIERS.only("svm_loss_vectorized").check(path, Settings()))
    assert results["svm_loss_vectorized.loss"].status == PASS, results["svm_loss_vectorized.loss"]
    assert summary(CLASSIFIERS.only("svm_loss_vectorized").check(path, Settings())).plain.startswith("2/2 correct")


def test_a_python2_backup_copy_in_a_folder_is_a_note_but_a_python2_only_copy_is_the_error(tmp_path):
    python2 = "import numpy as np\n\n\n" + SVM + "\n\ndef report():\n    print 'done'\n"
    folder = tmp_path / "assignment1/cs231n/classifiers"
    write(tmp_path, {"assignment1/cs231n/classifiers/linear_svm.py": PAST + SVM})
    write(tmp_path, {"assignment1/cs231n/classifiers/linear_svm_old.py": python2})
    result = ninja("classifiers", "--file", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "linear_svm_old.py does not run (SyntaxError at line" in result.stdout.replace("\n", " ")
    (folder / "linear_svm.py").unlink()
    result = ninja("classifiers", "--file", str(folder))
    assert result.returncode == 1 and "this is Python 2 code (line" in result.stdout.replace("\n", " ")
