"""CS231n trees judged on their own assignment and on the student's math whatever the
environment: assignment 1's layers.py and optim.py with assignment 2's stubs, the staff's Cython
fast_layers not built, NumPy 1.x names under NumPy 2, Python 2's tabs."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from ninja.registry import find
from ninja.results import PASS
from ninja.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from test_cs231n_trees import by_name, piece, write  # noqa: E402

LAYERS, OPTIM = find("layers").what_is_there(), find("optim").what_is_there()


def with_solutions(exercise, names: tuple[str, ...]) -> str:
    """The exercise's template with the reference's `names` in place of their stubs."""
    template, solution = exercise.template.read_text(), exercise.solution.read_text()
    for name in names:
        template = template.replace(piece(template, name), piece(solution, name))
    return template


A1_LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss", "svm_loss")


def test_an_assignment1_tree_is_judged_on_assignment1s_functions(tmp_path):
    base = tmp_path / "assignment1/cs231n"
    write(base, {"layers.py": with_solutions(LAYERS, A1_LAYERS), "optim.py": with_solutions(OPTIM, ("sgd",))})
    report = LAYERS.check(base / "layers.py", Settings())
    assert {v.name.split(".")[0] for v in report.variables} == set(A1_LAYERS)
    assert report.passed and report.scope.startswith("assignment 1's functions: 10 of")
    assert any("another assignment's stubs (batchnorm_forward" in n for n in report.notes), report.notes
    optim = OPTIM.check(base / "optim.py", Settings())
    assert optim.passed and [v.name for v in optim.variables] == ["sgd.next_w"]
    # the same files in an assignment-2 tree: the stubs are what is left to do
    a2 = tmp_path / "assignment2/cs231n"
    write(a2, {"layers.py": (base / "layers.py").read_text()})
    assert not LAYERS.check(a2 / "layers.py", Settings()).passed


def test_an_assignment1_tree_without_its_folder_name_is_known_by_its_files(tmp_path):
    base = tmp_path / "mine/cs231n"
    files = {"layers.py": with_solutions(LAYERS, A1_LAYERS), "classifiers/k_nearest_neighbor.py": "x = 1\n"}
    write(base, files)
    assert LAYERS.check(base / "layers.py", Settings()).passed


def test_implemented_assignment2_functions_in_an_assignment1_file_are_still_judged(tmp_path):
    base = tmp_path / "assignment1/cs231n"
    write(base, {"layers.py": with_solutions(LAYERS, (*A1_LAYERS, "dropout_forward", "dropout_backward"))})
    results = by_name(LAYERS.check(base / "layers.py", Settings()))
    assert results["dropout_forward.out"].status == PASS


# ---------------------------------------------------------------- the staff's Cython extension, not built

FAST_LAYERS = '''import numpy as np

try:
    from cs231n.im2col_cython import col2im_6d_cython, col2im_cython, im2col_cython
except ImportError:
    print("run the following from the cs231n directory and try again: python setup.py build_ext --inplace")


def conv_forward_fast(x, w, b, conv_param):
    """The im2col convolution, as the staff's fast_layers writes it."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    out_h, out_w = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    x_cols = im2col_cython(x, HH, WW, pad, stride)
    res = w.reshape((F, -1)).dot(x_cols) + b.reshape(-1, 1)
    out = res.reshape(F, out_h, out_w, N).transpose(3, 0, 1, 2)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_fast(dout, cache):
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    db = np.sum(dout, axis=(0, 2, 3))
    dout_reshaped = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    dw = dout_reshaped.dot(x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T.dot(dout_reshaped)
    dx = col2im_cython(dx_cols, N, C, H, W, HH, WW, pad, stride)
    return dx, dw, db
'''

CONV_UTILS = """from cs231n.layers import *
from cs231n.fast_layers import *


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_naive(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_naive(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache)
"""


def test_the_cython_stand_in_matches_torch_and_its_inverse():
    import torch
    import torch.nn.functional as F

    from ninja.cs231n.standins import col2im_6d_cython, col2im_cython, im2col_cython

    r = np.random.default_rng(0)
    for shape, field, pad, stride in (((2, 3, 5, 5), 3, 1, 1), ((1, 2, 7, 5), 3, 1, 2), ((2, 1, 4, 4), 2, 0, 2)):
        x = r.standard_normal(shape)
        cols = im2col_cython(x, field, field, pad, stride)
        # torch's unfold orders columns (n, y, x); the extension orders them (y, x, n)
        want = F.unfold(torch.tensor(x), field, padding=pad, stride=stride)  # (N, C*f*f, L)
        assert np.allclose(cols, want.permute(1, 2, 0).reshape(cols.shape[0], -1).numpy())
        back = col2im_cython(cols, *shape, field, field, pad, stride)
        ones = F.fold(F.unfold(torch.tensor(x), field, padding=pad, stride=stride), shape[2:], field, padding=pad,
                      stride=stride)  # fmt: skip
        assert np.allclose(back, ones.numpy())
        out_h, out_w = (shape[2] + 2 * pad - field) // stride + 1, (shape[3] + 2 * pad - field) // stride + 1
        six = cols.reshape(shape[1], field, field, out_h, out_w, shape[0]).transpose(0, 1, 2, 5, 3, 4)
        assert np.allclose(col2im_6d_cython(np.ascontiguousarray(six), *shape, field, field, pad, stride), back)


def cnn_tree(tmp_path) -> Path:
    networks = find("networks")
    cnn = (
        piece(networks.solution.read_text(), "ThreeLayerConvNet")
        .replace(
            'out, conv = conv_forward_naive(X, p["W1"], p["b1"], conv_param)\n        out, relu1 = relu_forward(out)\n'
            "        out, pool = max_pool_forward_naive(out, pool_param)",
            'out, crp = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)',
        )
        .replace(
            'dout = relu_backward(max_pool_backward_naive(dout, pool), relu1)\n        _, grads["W1"], grads["b1"] = '
            "conv_backward_naive(dout, conv)",
            '_, grads["W1"], grads["b1"] = conv_relu_pool_backward(dout, crp)',
        )
    )
    assert "conv_relu_pool_backward" in cnn and "conv_forward_naive" not in cnn
    base = tmp_path / "assignment2/cs231n"
    header = "import numpy as np\n\nfrom cs231n.layer_utils import *\n\n\n"
    write(base, {
        "layers.py": find("layers").solution.read_text(), "fast_layers.py": FAST_LAYERS,
        "layer_utils.py": CONV_UTILS, "classifiers/cnn.py": header + cnn,
    })  # fmt: skip
    return base / "classifiers/cnn.py"


def test_fast_layers_without_the_built_extension_are_judged_with_the_stand_in(tmp_path):
    report = find("networks").only("ThreeLayerConvNet").check(cnn_tree(tmp_path), Settings())
    assert report.passed, [(v.name, v.status, v.note) for v in report.variables]
    assert sum("Cython extension is not built" in n for n in report.notes) == 1
    assert not any(name.endswith("im2col_cython") for name in sys.modules)


# ---------------------------------------------------------------- NumPy 1.x, past.builtins, Python 2's tabs


def test_numpy1_names_run_under_shims_named_in_one_line(tmp_path):
    old = "import numpy as np\nfrom numpy.lib.npyio import savez_compressed\nfrom past.builtins import xrange\n\n\n"
    affine = piece(LAYERS.solution.read_text(), "affine_forward", "affine_backward")
    affine = affine.replace("x.reshape(x.shape[0], -1)", "np.reshape(x, newshape=(x.shape[0], -1)).astype(np.float)")
    assert "newshape" in affine
    path = tmp_path / "layers.py"
    path.write_text(old + affine + "\nfor _ in xrange(2):\n    pass\n")
    report = LAYERS.check(path, Settings())
    assert report.passed, [(v.name, v.status, v.note) for v in report.variables]
    shims = [n for n in report.notes if "compatibility shims" in n]
    assert len(shims) == 1 and "np.float" in shims[0] and "np.reshape(newshape=)" in shims[0]
    assert "numpy.lib.npyio.savez_compressed" in shims[0]
    if importlib.util.find_spec("past") is None:
        assert any("ninja's stand-in gave xrange" in n for n in report.notes)
    assert "float" not in np.__dict__ and "__getattr__" not in sys.modules["numpy.lib.npyio"].__dict__
    with pytest.raises(TypeError):
        np.reshape(np.arange(4), newshape=(2, 2))  # NumPy itself is as it was


def test_python2_tabs_get_python2_context(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text("import numpy as np\n\n\ndef relu_forward(x):\n        out = np.maximum(x, 0)\n\treturn out, x\n")
    report = LAYERS.check(path, Settings())
    assert report.error.kind in ("TabError", "SyntaxError", "IndentationError")
    assert "Python 2 read a tab as 8 columns" in report.error.message, report.error
