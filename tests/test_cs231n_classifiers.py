"""The CS231n classifiers exercise, the CIFAR-10 folder, and the CS231n options of the CLI."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from ninja.cs231n.cifar import CifarError, load_cifar
from ninja.cs231n.learner import Learner, duration, speed_up, time_against_naive
from ninja.registry import find
from ninja.results import FAIL, MISSING, PASS
from ninja.settings import Settings

CLASSIFIERS = find("classifiers")
SOLUTION = CLASSIFIERS.solution.read_text()


def check(tmp_path, source, only=None, data=None):
    path = tmp_path / "classifiers.py"
    path.write_text(source)
    ex = CLASSIFIERS.only(only) if only else CLASSIFIERS
    return {v.name: v for v in ex.check(path, Settings(data=data)).variables}


def points_at(tmp_path, v, kind, text):
    """A named mistake is a root cause of its kind, at the line of the learner's file holding `text`."""
    assert v.status == FAIL and v.root_cause and v.diagnosis_kind == kind, (v.status, v.root_cause, v.diagnosis_kind)
    line = (tmp_path / "classifiers.py").read_text().splitlines()[v.line - 1]
    assert text in line, (v.line, line)


def function_source(name):
    start = SOLUTION.index(f"def {name}")
    end = SOLUTION.find("\n\n", start)
    return SOLUTION[start : end if end > 0 else len(SOLUTION)]


def edited(name, *replacements):
    body = function_source(name)
    new = body
    for old, replacement in replacements:
        assert new.count(old) == 1, old
        new = new.replace(old, replacement)
    return SOLUTION.replace(body, new)


def test_every_reference_function_passes_with_numeric_gradients_beside():
    report = CLASSIFIERS.numeric().check(CLASSIFIERS.solution, Settings(seed=5))
    assert [v.name for v in report.variables if v.status != PASS] == []
    gradients = [v for v in report.variables if ".d" in v.name and not v.name.endswith("dists")]
    assert gradients and all(v.numeric_relerr < 1e-6 for v in gradients)
    speed = {v.name: v.note for v in report.variables if v.note and "faster than" in v.note}
    assert set(speed) == {
        "svm_loss_vectorized.loss",
        "softmax_loss_vectorized.loss",
        "compute_distances_one_loop.dists",
        "compute_distances_no_loops.dists",
    }


def test_the_template_reports_every_result_missing():
    report = CLASSIFIERS.check(CLASSIFIERS.template, Settings())
    assert {v.status for v in report.variables} == {MISSING}


def test_a_regularization_unlike_the_files_own_skeleton_line_is_named(tmp_path):
    linear = edited(
        "svm_loss_vectorized",
        ("+ reg * np.sum(W * W)", "+ 0.5 * reg * np.sum(W * W)"),
        ("+ 2 * reg * W", "+ reg * W"),
    )
    assert "loss += reg * np.sum(W * W)" in linear  # the naive one keeps the skeleton's line
    results = check(tmp_path, linear, only="svm_loss_vectorized")
    for name in ("svm_loss_vectorized.loss", "svm_loss_vectorized.dW"):
        assert results[name].status == FAIL
        assert "this matches 0.5 * reg * np.sum(W * W)" in results[name].diagnosis
        assert "but your file says reg * np.sum(W * W)" in results[name].diagnosis
    points_at(tmp_path, results["svm_loss_vectorized.loss"], "reg", "+ 0.5 * reg * np.sum(W * W)")
    points_at(tmp_path, results["svm_loss_vectorized.dW"], "reg", "+ reg * W")


def test_the_2016_half_reg_passes_where_the_file_says_so_and_either_agreeing_pair_passes(tmp_path):
    half = SOLUTION.replace("reg * np.sum(W * W)", "0.5 * reg * np.sum(W * W)").replace("2 * reg * W", "reg * W")
    assert "loss += 0.5 * reg * np.sum(W * W)" in half
    results = check(tmp_path, half, only="svm_loss")
    assert all(r.status == PASS for r in results.values())
    assert "reg: 0.5 * reg * np.sum(W * W)" in results["svm_loss_naive.loss"].note
    assert "read from your file" in results["svm_loss_naive.loss"].note
    unsaid = half.replace("loss += 0.5 * reg * np.sum(W * W)", "loss = loss + 0.5 * reg * np.sum(W ** 2)")
    results = check(tmp_path, unsaid, only="svm_loss")
    assert all(r.status == PASS for r in results.values())
    assert "(seen in your answers)" in results["svm_loss_naive.loss"].note
    forced = CLASSIFIERS.only("svm_loss_naive").with_conventions(["reg=1"])
    path = tmp_path / "forced.py"
    path.write_text(unsaid)
    loss = {v.name: v for v in forced.check(path, Settings()).variables}["svm_loss_naive.loss"]
    assert loss.status == FAIL and "but --convention asks for reg * np.sum(W * W)" in loss.diagnosis


def test_the_two_layer_net_regularization_either_way_and_a_mismatched_pair(tmp_path):
    net = SOLUTION.replace("loss += 0.5 * self.reg *", "loss += self.reg *")
    net = net.replace("+ self.reg * W2", "+ 2 * self.reg * W2").replace("+ self.reg * W1", "+ 2 * self.reg * W1")
    results = check(tmp_path, net, only="TwoLayerNet")
    assert all(r.status == PASS for r in results.values())
    assert "net_reg: reg * (sum(W1**2) + sum(W2**2))" in results["TwoLayerNet.loss"].note
    mismatched = SOLUTION.replace("loss += 0.5 * self.reg *", "loss += self.reg *")
    results = check(tmp_path, mismatched, only="TwoLayerNet")
    loss = results["TwoLayerNet.loss"]
    assert loss.status == FAIL and "this matches reg * (sum(W1**2) + sum(W2**2))" in loss.diagnosis
    assert "your other results follow 0.5 * reg" in loss.diagnosis
    points_at(tmp_path, loss, "net_reg", "loss += self.reg *")  # in TwoLayerNet.loss
    assert results["TwoLayerNet.dW1"].status == PASS


def test_a_loss_without_division_by_n(tmp_path):
    source = edited("softmax_loss_vectorized", (".mean()", ".sum()"), ("X.T.dot(probs) / num_train", "X.T.dot(probs)"))
    results = check(tmp_path, source, only="softmax_loss_vectorized")
    assert "missing division by N" in results["softmax_loss_vectorized.loss"].diagnosis
    assert "missing division by N" in results["softmax_loss_vectorized.dW"].diagnosis
    points_at(tmp_path, results["softmax_loss_vectorized.dW"], "missing_n", "def softmax_loss_vectorized(")


def test_softmax_without_max_subtraction_is_named(tmp_path):
    source = edited("softmax_loss_naive", ("        scores -= scores.max()\n", ""))
    loss = check(tmp_path, source, only="softmax_loss_naive")["softmax_loss_naive.loss"]
    assert loss.status == FAIL and "overflows" in loss.diagnosis
    points_at(tmp_path, loss, "overflow", "np.exp(")


def test_a_vectorized_function_that_loops_is_told_so_with_the_line(tmp_path):
    source = edited(
        "svm_loss_vectorized", ("    num_train = X.shape[0]\n", "    return svm_loss_naive(W, X, y, reg)\n")
    )
    results = check(tmp_path, source, only="svm_loss")
    assert results["svm_loss_naive.loss"].status == PASS
    loss = results["svm_loss_vectorized.loss"]
    assert loss.status == FAIL and "still loops in Python" in loss.diagnosis and "`for` at line" in loss.diagnosis
    # its values are right, but a vectorized function that loops is what the exercise asks to fix
    assert loss.approx and results["svm_loss_vectorized.dW"].status == FAIL
    points_at(tmp_path, loss, "loops", "for i in range(")  # the first loop, in svm_loss_naive that it calls


def test_no_loop_distances_with_a_comprehension_still_loop_and_one_loop_may_loop_once(tmp_path):
    body = function_source("compute_distances_no_loops")
    looping = body.split("\n")[0] + "\n        return np.array([np.sqrt(((self.X_train - x) ** 2).sum(1)) for x in X])"
    results = check(tmp_path, SOLUTION.replace(body, looping), only="compute_distances")
    assert results["compute_distances_one_loop.dists"].status == PASS
    no_loops = results["compute_distances_no_loops.dists"]
    assert no_loops.status == FAIL and "comprehension" in no_loops.diagnosis
    points_at(tmp_path, no_loops, "loops", "for x in X]")


def test_predict_labels_breaks_ties_towards_the_smaller_label(tmp_path):
    source = edited(
        "predict_labels",
        (
            "np.argmax(np.bincount(closest_y))",
            "np.bincount(closest_y).size - 1 - np.argmax(np.bincount(closest_y)[::-1])",
        ),
    )
    assert check(tmp_path, source, only="predict")["predict_labels.y_pred"].status == FAIL


def fake_cifar(folder, n=600, globals_ok=True):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("data_batch_1", "test_batch"):
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, n))}
        if not globals_ok:
            batch["labels"] = os.getcwd  # a function: the restricted unpickler refuses it
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def test_a_cifar_folder_feeds_the_cifar_shaped_cases(tmp_path):
    folder = fake_cifar(tmp_path / "cifar-10-batches-py")
    cifar = load_cifar(folder)
    assert cifar.X_train.shape == (500, 3, 32, 32) and cifar.X_test.shape == (100, 3, 32, 32)
    report = CLASSIFIERS.only("svm_loss_naive").check(CLASSIFIERS.solution, Settings(data=folder))
    assert report.passed and any(str(folder) in n for n in report.notes)


def test_a_pickle_that_asks_for_anything_but_arrays_is_refused(tmp_path):
    with pytest.raises(CifarError, match="refused"):
        load_cifar(fake_cifar(tmp_path / "evil", n=10, globals_ok=False))
    with pytest.raises(CifarError, match="data_batch_1"):
        load_cifar(tmp_path)


def ninja(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ninja", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_only_and_numeric(tmp_path):
    layers = find("layers").solution
    done = ninja(
        "check", "layers", "--file", str(layers), "--only", "relu", "--numeric", "--format", "json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [v["name"] for v in result["variables"]] == ["relu_forward.out", "relu_backward.dx"]
    assert result["variables"][1]["numeric_relerr"] < 1e-8
    done = ninja("check", "layers", "--file", str(layers), "--only", "attention", cwd=tmp_path)
    assert done.returncode == 2 and "batchnorm_backward_alt" in done.stderr


def test_cli_data_must_be_a_cifar_folder_for_classifiers(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("emma\n")
    file = str(CLASSIFIERS.solution)
    done = ninja("check", "classifiers", "--file", file, "--data", str(names), cwd=tmp_path)
    assert done.returncode == 2 and "CIFAR-10 python batch folder" in done.stderr
    done = ninja("check", "classifiers", "--file", file, "--data", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "data_batch_1" in done.stderr and "Traceback" not in done.stderr


def test_past_builtins_loads_with_nothing_installed_and_leaves_nothing_behind(tmp_path):
    import importlib.util

    assert importlib.util.find_spec("past") is None  # the real one (pip install future) is not here
    path = tmp_path / "linear_svm.py"
    path.write_text("from past.builtins import xrange\n" + SOLUTION.replace("range(", "xrange("))
    report = CLASSIFIERS.only("svm_loss_naive").check(path, Settings())
    assert report.error is None and report.passed
    assert "past" not in sys.modules and "past.builtins" not in sys.modules
    path.write_text("import cs231n_helpers_nowhere\n" + SOLUTION)  # another module: how to install it, and where
    report = CLASSIFIERS.only("svm_loss_naive").check(path, Settings())
    assert report.error.message.startswith("No module named 'cs231n_helpers_nowhere'")
    assert f"{sys.executable} -m pip install cs231n_helpers_nowhere" in report.error.message


def test_speed_up_notes_read_well():
    assert [duration(s) for s in (0.0891, 0.0028, 0.00004, 0.2, 0.113, 1.52)] == [
        "89 ms",
        "2.8 ms",
        "0.04 ms",
        "0.2 s",
        "0.11 s",
        "1.5 s",
    ]
    naive, fast = "compute_distances_two_loops", "compute_distances_no_loops"
    assert speed_up(0.0028, 0.113, naive, fast) == "40x faster than two_loops: 2.8 ms vs 0.11 s"
    assert speed_up(0.002, 0.0145, "svm_loss_naive", "svm_loss_vectorized") == "7.2x faster than naive: 2.0 ms vs 14 ms"
    assert speed_up(0.09, 0.085, naive, fast).startswith("not faster than two_loops")


def test_vectorized_code_is_timed_with_blas_on_one_thread(tmp_path):
    """On a busy machine BLAS threads wait for each other: a matrix product timed with them can look no
    faster than two Python loops. The learner's function reports the BLAS threads it ran with."""
    recorder = (
        "\n\nimport threadpoolctl\nBLAS_THREADS = []\n_no_loops = KNearestNeighbor.compute_distances_no_loops\n\n\n"
        "def _recording(self, X):\n"
        "    blas = [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "    BLAS_THREADS.append(max(blas))\n"
        "    return _no_loops(self, X)\n\n\n"
        "KNearestNeighbor.compute_distances_no_loops = _recording\n"
    )
    path = tmp_path / "classifiers.py"
    path.write_text(SOLUTION + recorder)
    learner = Learner.load(path)
    unit = next(u for u in CLASSIFIERS.units if u.forward == "compute_distances_no_loops")
    case = next(c for c in unit.cases(0, None) if c.timed)
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine, whatever this one has
        note = time_against_naive(unit, learner, case)
        assert max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas") == 2
    assert "faster than two_loops" in note and learner.get("BLAS_THREADS") and set(learner.get("BLAS_THREADS")) == {1}
