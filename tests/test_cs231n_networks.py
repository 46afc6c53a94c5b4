"""The CS231n networks exercise: FullyConnectedNet and ThreeLayerConvNet in a cs231n/ tree of
our own (the learner's layers, layer_utils, classifiers/ with relative imports), each year's
constructor, the reg convention named, a missing staff file named."""

import sys
from pathlib import Path

import pytest

from ninja.registry import find
from ninja.results import ERROR, FAIL, MISSING, PASS
from ninja.settings import Settings

NETWORKS = find("networks")
SOLUTION = NETWORKS.solution.read_text()
LAYERS = find("layers").solution.read_text()
sys.path.insert(0, str(Path(__file__).parent))
from test_cs231n_trees import LAYER_UTILS  # noqa: E402 (the same layer_utils.py as the year-by-year trees)

IMPORTS = "from ..layers import *\nfrom ..layer_utils import *\n"


def tree(tmp_path, network_source, utils=LAYER_UTILS):
    """assignment2/cs231n/ as students have it: layers.py, layer_utils.py, classifiers/fc_net.py."""
    root = tmp_path / "assignment2" / "cs231n"
    (root / "classifiers").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "classifiers" / "__init__.py").write_text("")
    (root / "layers.py").write_text(LAYERS)
    if utils is not None:
        (root / "layer_utils.py").write_text(utils)
    path = root / "classifiers" / "fc_net.py"
    lines = [IMPORTS if line.startswith("from layers import *") else line for line in network_source.splitlines(True)]
    path.write_text("".join(lines))
    return path


def check(path, only=None, seed=0):
    return (NETWORKS.only(only) if only else NETWORKS).check(path, Settings(seed=seed))


def by_name(report):
    return {v.name: v for v in report.variables}


@pytest.mark.parametrize("seed", [0, 9])
def test_the_reference_passes_in_a_cs231n_tree(tmp_path, seed):
    report = check(tree(tmp_path, SOLUTION), seed=seed)
    assert [v.name for v in report.variables if v.status != PASS] == []
    assert "FullyConnectedNet.dgamma3" in by_name(report) and "ThreeLayerConvNet.dW1" in by_name(report)


def test_numeric_gradients_confirm_the_reference():
    report = NETWORKS.numeric().check(NETWORKS.solution, Settings())
    # a bias just before batchnorm has a zero gradient (the mean takes it away): there central
    # differences are rounding noise against noise, as in CS231n's own notebook
    noisy = {"FullyConnectedNet.db1", "FullyConnectedNet.db2", "FullyConnectedNet.db3"}
    assert all(
        v.numeric_relerr < 1e-6 for v in report.variables if v.numeric_relerr is not None and v.name not in noisy
    )
    assert sum(v.numeric_relerr is not None for v in report.variables) >= 10


def test_the_template_is_missing():
    assert {v.status for v in NETWORKS.check(NETWORKS.template, Settings()).variables} == {MISSING}


def test_reg_without_the_half(tmp_path):
    """fc_net.py's skeleton asks for "a factor of 0.5": there reg * sum(W**2) is named; a file
    that does not say is judged under whichever reg convention its answers follow, named."""
    source = SOLUTION.replace(
        'loss += 0.5 * self.reg * np.sum(W * W)\n            grads[f"W{i}"] += self.reg * W',
        'loss += self.reg * np.sum(W * W)\n            grads[f"W{i}"] += 2 * self.reg * W',
    )
    assert source != SOLUTION
    report = check(tree(tmp_path, source), "FullyConnected")
    assert report.passed and any("reg * the sum of every W**2" in (v.note or "") for v in report.variables)
    skeleton = "# NOTE: make sure that your L2 regularization includes a factor of 0.5\n" + source
    report = check(tree(tmp_path / "skeleton", skeleton), "FullyConnected")
    for name in ("FullyConnectedNet.loss", "FullyConnectedNet.dW1"):
        v = by_name(report)[name]
        assert v.status == FAIL and v.diagnosis_kind == "net_reg" and "0.5 * reg" in v.diagnosis, (name, v.diagnosis)
    assert by_name(report)["FullyConnectedNet.db1"].status == PASS


def test_a_missing_layernorm_branch_fails_only_where_it_is_used(tmp_path):
    source = SOLUTION.replace(
        '                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, norm)\n',
        "                pass\n",
    )
    report = check(tree(tmp_path, source), "FullyConnected")
    failed = {v.name for v in report.variables if v.status != PASS}
    assert "FullyConnectedNet.dgamma1" in failed and "layernorm" in by_name(report)["FullyConnectedNet.dgamma1"].note
    assert "ninja check layers --only layernorm" in by_name(report)["FullyConnectedNet.dW1"].note


def test_2017s_constructor_dropout_as_drop_probability_and_use_batchnorm(tmp_path):
    """2016-2018: FullyConnectedNet(hidden_dims, ..., dropout=0, use_batchnorm=False, ...): no layernorm."""
    source = SOLUTION.replace(
        "dropout_keep_ratio=1,\n                 normalization=None,", "dropout=0, use_batchnorm=False,"
    )
    source = source.replace(
        "        self.normalization = normalization\n        self.use_dropout = dropout_keep_ratio != 1\n",
        "        self.normalization = 'batchnorm' if use_batchnorm else None\n        self.use_dropout = dropout > 0\n"
        "        normalization, dropout_keep_ratio = self.normalization, 1 - dropout\n",
    )
    assert source.count("use_batchnorm") == 2
    report = check(tree(tmp_path, source), "FullyConnected")
    assert report.passed, [(v.name, v.status, v.note) for v in report.variables]


def test_a_missing_staff_file_is_named(tmp_path):
    report = check(tree(tmp_path, SOLUTION, utils=None))
    assert report.error is not None and "layer_utils" in report.error.message
    assert {v.status for v in report.variables} == {ERROR}


def test_dropout_is_judged_with_the_learners_own_masks(tmp_path):
    """Another year's mask (rand >= 1 - p keeps as many units, other ones) is dropout's business:
    the net is right with it; a backward that skips dropout_backward is not."""
    path = tree(tmp_path, SOLUTION)
    layers = path.parent.parent / "layers.py"
    layers.write_text(
        LAYERS.replace("mask = (np.random.rand(*x.shape) < p) / p", "mask = (np.random.rand(*x.shape) >= 1 - p) / p")
    )
    assert check(path, "FullyConnected").passed
    path.write_text(
        path.read_text().replace("                dout = dropout_backward(dout, drop)\n", "                pass\n")
    )
    report = check(path, "FullyConnected")
    assert (
        by_name(report)["FullyConnectedNet.dW1"].status == FAIL
        and "dropout keep" in by_name(report)["FullyConnectedNet.dW1"].note
    )
    assert by_name(report)["FullyConnectedNet.dW3"].status == PASS


def test_the_last_layer_left_out_of_the_regularization(tmp_path):
    """Seen in two public repositories: the reg loop runs over the hidden layers only."""
    source = SOLUTION.replace(
        '        for i in range(1, L + 1):\n            W = p[f"W{i}"]',
        '        for i in range(1, L):\n            W = p[f"W{i}"]',
    )
    assert source != SOLUTION
    report = check(tree(tmp_path, source), "FullyConnected")
    for name in ("FullyConnectedNet.loss", "FullyConnectedNet.dW3"):
        v = by_name(report)[name]
        assert v.status == FAIL and "last layer's W is not regularized" in v.diagnosis, (name, v.diagnosis)
    assert by_name(report)["FullyConnectedNet.dW1"].status == PASS


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("flat = num_filters * (H // 2) * (W // 2)", "flat = num_filters * (W // 2) ** 2", "W2 is (8, 5), not (12, 5)"),
        ('self.params[f"b{i}"] = np.zeros(dims[i])', 'self.params[f"b{i}"] = np.ones(dims[i])', "b1 is not zeros"),
        ('self.params[f"W{i}"] = weight_scale * np.random.randn', 'self.params[f"W{i}"] = np.random.randn', "not weight_scale"),
    ],
)  # fmt: skip
def test_the_learners_own_init_is_checked(tmp_path, old, new, words):
    """The loss is judged with the case's parameters; the class's own __init__ is judged apart
    (a square-image assumption, seen in a public repository, shows at a 6x4 image)."""
    assert SOLUTION.count(old) == 1, old
    report = check(tree(tmp_path, SOLUTION.replace(old, new)))
    failed = [v for v in report.variables if v.status != PASS]
    assert len(failed) == 1 and failed[0].name.endswith(".loss") and failed[0].diagnosis_kind == "init"
    assert words in failed[0].diagnosis, failed[0].diagnosis


def test_fc_net_and_cnn_in_their_own_files_checked_together(tmp_path):
    """As students have them: classifiers/fc_net.py and classifiers/cnn.py, one --file each."""
    from typer.testing import CliRunner

    from ninja.cli import app

    fc_net = tree(tmp_path, SOLUTION[: SOLUTION.index("class ThreeLayerConvNet")])
    cnn = fc_net.parent / "cnn.py"
    cnn.write_text(fc_net.read_text()[: fc_net.read_text().index("class FullyConnectedNet")]
                   + SOLUTION[SOLUTION.index("class ThreeLayerConvNet") :])  # fmt: skip
    done = CliRunner().invoke(app, ["check", "networks", "--file", str(fc_net), "--file", str(cnn)])
    assert done.exit_code == 0 and "22/22 correct: networks passes" in done.output, done.output
    alone = CliRunner().invoke(app, ["check", "networks", "--file", str(cnn)])
    assert alone.exit_code == 0 and "not in this file: FullyConnectedNet" in alone.output, alone.output


def test_graded_with_the_layers_beside_it(tmp_path):
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "networks.py").write_text(SOLUTION)
    (tmp_path / "alice" / "layers.py").write_text(LAYERS)
    work = grading.find_work([tmp_path / "alice"], NETWORKS)
    plan = grading.Plan(7, (32, 21), Limits(timeout=120, cpu_seconds=120, memory_mb=1024))
    (result,) = grading.grade(work, plan, jobs=1)
    assert result.status == "graded" and result.score == result.max_score == len(NETWORKS.checked), result.message
