"""Inheritance across functions: a result whose only fault is a wrong function it calls reads
"inherits from F" (rnn_step -> rnn_forward/backward -> the captioning loss; affine -> networks),
and the report leads with that root cause."""

import sys
from pathlib import Path

from ninja.registry import find
from ninja.results import PASS
from ninja.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
import test_cs231n_captioning as captioning  # noqa: E402
import test_cs231n_networks as networks  # noqa: E402

RNN = find("rnn").solution.read_text()
WRONG_STEP = ("next_h = np.tanh(x @ Wx + prev_h @ Wh + b)", "next_h = np.tanh(x @ Wx + prev_h @ Wh + 1.1 * b)")
STUB_LSTM = (
    "    h = np.zeros((N, T, h0.shape[1]))\n    cache, prev_h, prev_c = [], h0, np.zeros_like(h0)",
    "    h, cache = None, None\n    return h, cache\n    cache, prev_h, prev_c = [], h0, np.zeros_like(h0)",
)


def by_name(report):
    return {v.name: v for v in report.variables}


def test_a_wrong_rnn_step_is_the_root_of_the_sequences_failures(tmp_path):
    path = tmp_path / "rnn_layers.py"
    assert RNN.count(WRONG_STEP[0]) == 1
    path.write_text(RNN.replace(*WRONG_STEP))
    report = find("rnn").only("rnn_").check(path, Settings())
    results = by_name(report)
    assert results["rnn_step_forward.out"].status != PASS and not results["rnn_step_forward.out"].inherited_from
    for name in ("rnn_forward.out", "rnn_backward.dx", "rnn_backward.dWh"):
        assert results[name].inherited_from == "rnn_step_forward" and not results[name].root_cause, results[name]
    assert report.notes[0].startswith("root cause: your rnn_step_forward")


def captioning_tree(tmp_path, rnn_layers: str) -> Path:
    path = captioning.tree(tmp_path, captioning.SOLUTION)
    (path.parent.parent / "rnn_layers.py").write_text(rnn_layers)
    return path


def test_a_stub_lstm_forward_hides_no_rnn_case_of_the_captioning_net(tmp_path):
    assert RNN.count(STUB_LSTM[0]) == 1
    report = find("captioning").check(captioning_tree(tmp_path, RNN.replace(*STUB_LSTM)), Settings())
    for v in report.variables:
        assert v.inherited_from == "lstm_forward", v
        assert "2 of 4 cases fail" in v.note and "`ninja check rnn --only lstm_forward` checks yours" in v.note
    assert report.notes[0].startswith("root cause: your lstm_forward")


def test_a_wrong_rnn_step_reaches_the_captioning_loss_as_inherited(tmp_path):
    report = find("captioning").check(captioning_tree(tmp_path, RNN.replace(*WRONG_STEP)), Settings())
    loss = by_name(report)["CaptioningRNN.loss"]
    assert loss.status != PASS and loss.inherited_from == "rnn_step_forward", loss
    assert "`ninja check rnn --only rnn_step_forward` checks yours" in loss.note


def test_a_wrong_affine_backward_is_the_root_of_the_networks_failures(tmp_path):
    path = networks.tree(tmp_path, networks.SOLUTION)
    layers = path.parent.parent / "layers.py"
    source = layers.read_text()
    wrong = source.replace("db = dout.sum(axis=0)", "db = dout.sum(axis=0) * 0.9", 1)
    assert wrong != source
    layers.write_text(wrong)
    results = by_name(find("networks").only("FullyConnected").check(path, Settings()))
    db1 = results["FullyConnectedNet.db1"]
    assert db1.status != PASS and db1.inherited_from == "affine_backward", db1
    assert results["FullyConnectedNet.loss"].status == PASS
