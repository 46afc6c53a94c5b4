"""CS231n's conventions read from what real files say, whatever the line wraps, in each year's
words; a network case that raises hides nothing it did not produce; `--convention` reaches every
exercise it concerns."""

import subprocess
import sys
from pathlib import Path

import pytest

from ninja.cs231n.classifiers import net_reg
from ninja.cs231n.layers import dropout_docstring
from ninja.cs231n.networks import calls_normalization, net_dropout
from ninja.registry import find
from ninja.results import ERROR, FAIL, PASS
from ninja.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from test_cs231n_networks import SOLUTION, by_name, tree  # noqa: E402

NETWORKS = find("networks")

# the regularization notes as each year's skeleton wraps them
REG_NOTES = {
    "2016 neural_net.py": """        # classifier loss. So that your results match ours, multiply the            #
        # regularization loss by 0.5                                                #""",
    "2017-2019 fc_net.py": """        # NOTE: To ensure that your implementation matches ours and you pass the   #
        # automated tests, make sure that your L2 regularization includes a factor #
        # of 0.5 to simplify the expression for the gradient.                      #""",
    "2020-2025 fc_net.py": """        # NOTE: To ensure that your implementation matches ours and you pass the
        # automated tests, make sure that your L2 regularization includes a factor
        # of 0.5 to simplify the expression for the gradient.""",
    "cnn.py": """        # NOTE: To ensure that your implementation matches ours and you pass the   #
        # automated tests, make sure that your L2 regularization includes a factor #
        # of 0.5 to simplify the expression for the gradient.                      #""",
}


@pytest.mark.parametrize("year", list(REG_NOTES))
def test_the_half_reg_note_is_read_in_each_years_wrapping(year):
    assert net_reg(REG_NOTES[year]) == "0.5"
    assert net_reg("loss += self.reg * np.sum(W * W)\n# a factor of 2 in the gradient\n") is None


DROPOUT_NOTES = {
    "2016-2017 layers.py": ("    - p: Dropout parameter. We drop each neuron output with probability p.", "drop"),
    "2018-2025 layers.py": ("    - p: Dropout parameter. We keep each neuron output with probability p.", "keep"),
    "2019 NOTE 2": (
        "    NOTE 2: Keep in mind that p is the probability of **keep** a neuron\n    output; this might be contrary "
        "to some sources, where it is referred to as\n    the probability of dropping a neuron output.",
        "keep",
    ),
    "own words, wrapped": ("    - p: each unit is dropped\n      with probability p (the dropout rate)", "drop"),
    "ninja's template": ("    dropout_param: p, the probability of KEEPING each unit; mode; seed.", "keep"),
}


@pytest.mark.parametrize("words", list(DROPOUT_NOTES))
def test_dropout_docstrings_are_read_in_every_phrasing(words):
    note, value = DROPOUT_NOTES[words]
    source = f'def dropout_forward(x, dropout_param):\n    """\n{note}\n    """\n    return x, None\n'
    other = '\n\ndef dropout_backward(dout, cache):\n    """We drop each neuron output with probability p."""\n'
    assert dropout_docstring(source) == value
    assert dropout_docstring(source + other) == value  # only dropout_forward's own text counts
    assert dropout_docstring("def dropout_forward(x, p):\n    return x\n") is None


NET_DROPOUT_NOTES = {
    "2016-2018": (
        "- dropout: Scalar between 0 and 1 giving dropout strength. If dropout=0 then\n      the network "
        "should not use dropout at all.",
        "drop",
    ),  # fmt: skip
    "2019": (
        "- dropout: Scalar between 0 and 1 giving dropout strength. If dropout=1 then\n      the network "
        "should not use dropout at all.",
        "keep",
    ),  # fmt: skip
    "2020-2025": (
        "- dropout_keep_ratio: Scalar between 0 and 1 giving dropout strength.\n      If "
        "dropout_keep_ratio=1 then the network should not use dropout at all.",
        "keep",
    ),  # fmt: skip
}


@pytest.mark.parametrize("year", list(NET_DROPOUT_NOTES))
def test_the_networks_dropout_argument_is_read_from_its_docstring(year):
    note, value = NET_DROPOUT_NOTES[year]
    assert net_dropout(f'class FullyConnectedNet(object):\n    """\n    {note}\n    """\n') == value


ONE_X = SOLUTION.replace("loss += 0.5 * self.reg * np.sum(W * W)", "loss += self.reg * np.sum(W * W)").replace(
    'grads[f"W{i}"] += self.reg * W', 'grads[f"W{i}"] += 2 * self.reg * W'
)
NOTE = REG_NOTES["2017-2019 fc_net.py"]


def test_reg_1x_against_the_files_half_note_is_a_named_fail(tmp_path):
    assert ONE_X != SOLUTION
    path = tree(
        tmp_path, ONE_X.replace("        p, caches = self.params, []", NOTE + "\n        p, caches = self.params, []")
    )
    results = by_name(NETWORKS.only("FullyConnected").check(path, Settings()))
    loss = results["FullyConnectedNet.loss"]
    assert loss.status == FAIL and loss.diagnosis_kind == "net_reg", loss
    assert "your file says 0.5 * reg" in loss.diagnosis
    assert results["FullyConnectedNet.dW1"].status == FAIL
    # without the note either factor is accepted, and named
    quiet = by_name(NETWORKS.only("FullyConnected").check(tree(tmp_path / "b", ONE_X), Settings()))
    assert (
        quiet["FullyConnectedNet.loss"].status == PASS
        and "seen in your answers" in quiet["FullyConnectedNet.loss"].note
    )


def test_a_raising_layernorm_case_leaves_the_batchnorm_cases_own_results(tmp_path):
    raising = SOLUTION.replace(
        '                out, norm = layernorm_forward(out, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])',
        "                print('todo')\n                out = out @ np.ones((3, 3))",
    )
    assert raising != SOLUTION
    results = by_name(NETWORKS.only("FullyConnected").check(tree(tmp_path, raising), Settings()))
    assert results["FullyConnectedNet.dW4"].status == PASS and results["FullyConnectedNet.db4"].status == PASS
    assert results["FullyConnectedNet.dgamma3"].status == PASS  # only the batchnorm case has three hidden layers
    assert (
        results["FullyConnectedNet.dW1"].status == ERROR
        and "hidden [7, 9], layernorm" in results["FullyConnectedNet.dW1"].note
    )


def test_a_net_that_never_normalizes_is_named_not_sent_to_layers(tmp_path):
    lines = SOLUTION.splitlines(True)
    normalizing = [i for i, line in enumerate(lines) if "norm_forward(" in line or "norm_backward(" in line]
    never = "".join(
        line for i, line in enumerate(lines) if i not in normalizing and i + 1 not in normalizing
    )  # no normalization call, nor the if/elif above each
    assert len(normalizing) == 4 and "batchnorm" not in never.split("class ThreeLayerConvNet")[0].split("def loss")[1]
    results = by_name(NETWORKS.only("FullyConnected").check(tree(tmp_path, never), Settings()))
    w1 = results["FullyConnectedNet.dW1"]
    assert w1.status == FAIL and w1.diagnosis_kind == "normalization" and "batchnorm" in w1.diagnosis
    assert "ninja check layers" not in (w1.note or "")
    assert calls_normalization("def loss(self):\n    out = affine_bn_relu_forward(x)\n", "batchnorm")
    assert not calls_normalization("def loss(self):\n    out = affine_bn_relu_forward(x)\n", "layernorm")
    assert not calls_normalization("def loss(self):\n    out = affine_relu_forward(x)\n", "batchnorm")
    picked = "def loss(self):\n    step = affine_ln_relu_forward if self.normalization else None\n    out = step(x)\n"
    assert calls_normalization(picked, "layernorm")


def test_gamma0_keys_are_named_beside_the_error(tmp_path):
    zero = SOLUTION.replace('self.params[f"gamma{i}"] = np.ones', 'self.params[f"gamma{i - 1}"] = np.ones')
    zero = zero.replace('self.params[f"beta{i}"] = np.zeros', 'self.params[f"beta{i - 1}"] = np.zeros')
    zero = zero.replace(
        'p[f"gamma{i}"], p[f"beta{i}"], self.bn_params', 'p[f"gamma{i - 1}"], p[f"beta{i - 1}"], self.bn_params'
    )
    path = tree(tmp_path, zero)
    results = by_name(NETWORKS.only("FullyConnected").check(path, Settings()))
    bad = [v for v in results.values() if v.status != PASS]
    assert bad and any("an extra gamma0" in (v.note or "") and "gamma1, beta1" in (v.note or "") for v in bad), bad


def ninja(*args):
    return subprocess.run([sys.executable, "-m", "ninja", "check", *args], capture_output=True, text=True, timeout=600)


def test_convention_reaches_networks(tmp_path):
    path = tree(tmp_path, SOLUTION)
    result = ninja("networks", "--file", str(path), "--only", "FullyConnected", "--convention", "dropout=keep")
    assert result.returncode == 0, result.stdout + result.stderr
    refused = ninja("networks", "--file", str(path), "--convention", "dropout=often")
    assert refused.returncode == 2 and "dropout=drop|keep" in refused.stderr


def test_a_net_asked_for_layernorm_that_runs_only_batchnorm_is_named(tmp_path):
    lines = SOLUTION.splitlines(True)
    layer = [i for i, line in enumerate(lines) if "layernorm_forward(" in line or "layernorm_backward(" in line]
    only_batchnorm = "".join(line for i, line in enumerate(lines) if i not in layer and i + 1 not in layer)
    assert len(layer) == 2
    results = by_name(NETWORKS.only("FullyConnected").check(tree(tmp_path, only_batchnorm), Settings()))
    w1 = results["FullyConnectedNet.dW1"]
    assert w1.status == FAIL and w1.diagnosis_kind == "normalization" and "never runs layernorm" in w1.diagnosis
    assert results["FullyConnectedNet.dW4"].status == PASS  # the batchnorm case
