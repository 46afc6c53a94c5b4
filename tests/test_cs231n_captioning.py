"""The CS231n captioning exercise: CaptioningRNN.loss with rnn and lstm cells in a cs231n/ tree of
our own (rnn_layers.py, classifiers/rnn.py with relative imports), and its named mistakes."""

import pytest

from ninja.registry import find
from ninja.results import FAIL, MISSING
from ninja.settings import Settings

CAPTIONING = find("captioning")
SOLUTION = CAPTIONING.solution.read_text()


def tree(tmp_path, source):
    """assignment3/cs231n/ as students have it: rnn_layers.py and classifiers/rnn.py."""
    root = tmp_path / "assignment3" / "cs231n"
    (root / "classifiers").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "classifiers" / "__init__.py").write_text("")
    (root / "rnn_layers.py").write_text(find("rnn").solution.read_text())
    lines = ["from ..rnn_layers import *\n" if line.startswith("from rnn import *") else line
             for line in source.splitlines(True)]  # fmt: skip
    path = root / "classifiers" / "rnn.py"
    path.write_text("".join(lines))
    return path


def by_name(report):
    return {v.name: v for v in report.variables}


@pytest.mark.parametrize("seed", [0, 3])
def test_the_reference_passes_in_a_cs231n_tree(tmp_path, seed):
    report = CAPTIONING.check(tree(tmp_path, SOLUTION), Settings(seed=seed))
    assert report.passed and len(report.variables) == 9


def test_numeric_gradients_and_the_template():
    numeric = CAPTIONING.numeric().check(CAPTIONING.solution, Settings())
    assert all(v.numeric_relerr < 1e-6 for v in numeric.variables if v.numeric_relerr is not None)
    assert {v.status for v in CAPTIONING.check(CAPTIONING.template, Settings()).variables} == {MISSING}


def test_the_mask_ignored(tmp_path):
    source = SOLUTION.replace("mask = captions_out != self._null", "mask = np.ones_like(captions_out, dtype=bool)")
    report = CAPTIONING.check(tree(tmp_path, source), Settings())
    for name in ("CaptioningRNN.loss", "CaptioningRNN.dW_vocab", "CaptioningRNN.dWx"):
        v = by_name(report)[name]
        assert v.status == FAIL and v.diagnosis_kind == "mask" and "self._null" in v.diagnosis, name


def test_captions_not_shifted(tmp_path):
    source = SOLUTION.replace(
        "captions_in, captions_out = captions[:, :-1], captions[:, 1:]",
        "captions_in, captions_out = captions[:, :-1], captions[:, :-1]",
    )
    v = by_name(CAPTIONING.check(tree(tmp_path, source), Settings()))["CaptioningRNN.loss"]
    assert v.status == FAIL and v.diagnosis_kind == "shift"


def test_lstm_cell_wrong_only_fails_the_lstm_cases(tmp_path):
    source = SOLUTION.replace("(lstm_forward, lstm_backward) if", "(rnn_forward, rnn_backward) if False and")
    v = by_name(CAPTIONING.check(tree(tmp_path, source), Settings()))["CaptioningRNN.loss"]
    assert v.status in (FAIL, "error") and "lstm" in v.note
