"""The CS231n rnn exercise (assignment 3's rnn_layers.py): the reference passes with numeric
gradients, the template is missing, and each named backprop-through-time mistake is named."""

from pathlib import Path

import pytest

from ninja.registry import find
from ninja.results import FAIL, MISSING, PASS
from ninja.settings import Settings

RNN = find("rnn")
SOLUTION = RNN.solution.read_text()


def check(tmp_path, source, only):
    path = tmp_path / "rnn_layers.py"
    path.write_text(source)
    return RNN.only(only).check(path, Settings())


def mutated(*pairs):
    source = SOLUTION
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


def by_name(report):
    return {v.name: v for v in report.variables}


def named(report, names, kind, words):
    results = by_name(report)
    for name in names:
        v = results[name]
        assert v.status == FAIL and v.root_cause and v.diagnosis_kind == kind, (name, v.status, v.diagnosis)
        assert words in v.diagnosis, v.diagnosis


@pytest.mark.parametrize("seed", [0, 4])
def test_the_reference_passes_with_numeric_gradients(seed):
    report = RNN.numeric().check(RNN.solution, Settings(seed=seed))
    assert [v.name for v in report.variables if v.status != PASS] == []
    assert {v.name for v in report.variables} == set(RNN.checked) and len(RNN.checked) == 33
    assert all(v.numeric_relerr < 1e-6 for v in report.variables if ".d" in v.name)


def test_the_template_is_missing():
    report = RNN.check(RNN.template, Settings())
    assert {v.status for v in report.variables} == {MISSING}


def test_dh_not_carried_back_through_time(tmp_path):
    source = mutated(("rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])", "rnn_step_backward(dh[:, t, :], cache[t])"))
    report = check(tmp_path, source, "rnn_")
    named(report, ["rnn_backward.dx", "rnn_backward.dh0", "rnn_backward.dWh"], "carry", "dh not carried back")
    assert by_name(report)["rnn_step_backward.dx"].status == PASS


def test_weights_not_summed_over_time(tmp_path):
    source = mutated(
        (
            "+ dprev_h, cache[t])\n        dWx += dWx_t\n        dWh += dWh_t\n        db += db_t\n",
            "+ dprev_h, cache[t])\n        dWx, dWh, db = dWx_t, dWh_t, db_t\n",
        )
    )
    report = check(tmp_path, source, "rnn_")
    named(report, ["rnn_backward.dWx", "rnn_backward.dWh", "rnn_backward.db"], "sum_over_time", "sum over time")
    assert by_name(report)["rnn_backward.dx"].status == PASS


def test_dtanh_from_the_input(tmp_path):
    source = mutated(
        ("    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n    cache = (x, prev_h, Wx, Wh, next_h)",
         "    a = x @ Wx + prev_h @ Wh + b\n    next_h = np.tanh(a)\n    cache = (x, prev_h, Wx, Wh, a)"),
        ("x, prev_h, Wx, Wh, next_h = cache\n    da = dnext_h * (1 - next_h**2)", "x, prev_h, Wx, Wh, a = cache\n    da = dnext_h * (1 - a**2)"),
    )  # fmt: skip
    report = check(tmp_path, source, "rnn_")
    named(report, ["rnn_step_backward.dx", "rnn_step_backward.dWh"], "dtanh", "dtanh from the input")
    for name in ("rnn_backward.dx", "rnn_backward.dh0"):  # the step's mistake, inherited (issue 21)
        assert by_name(report)[name].inherited_from == "rnn_step_backward", by_name(report)[name]


def test_fancy_index_plus_equals_loses_repeated_words(tmp_path):
    report = check(tmp_path, mutated(("np.add.at(dW, x, dout)", "dW[x] += dout")), "word_embedding")
    dW = by_name(report)["word_embedding_backward.dW"]
    named(report, ["word_embedding_backward.dW"], "add_at", "np.add.at")
    assert "repeated words" in dW.note


def test_the_mask_ignored(tmp_path):
    source = mutated(
        ("loss = -(keep * log_probs[rows, labels]).sum() / N", "loss = -log_probs[rows, labels].sum() / N"),
        ("dx *= keep[:, None] / N", "dx /= N"),
    )
    named(
        check(tmp_path, source, "temporal_softmax"),
        ["temporal_softmax_loss.loss", "temporal_softmax_loss.dx"],
        "mask",
        "the mask ignored",
    )


def test_lstm_gates_in_pytorchs_order(tmp_path):
    source = mutated(
        ("sigmoid(a[:, 2 * H : 3 * H])\n    g = np.tanh(a[:, 3 * H :])", "sigmoid(a[:, 3 * H :])\n    g = np.tanh(a[:, 2 * H : 3 * H])"),
        ("do * o * (1 - o), dg * (1 - g**2)]", "dg * (1 - g**2), do * o * (1 - o)]"),
    )  # fmt: skip
    report = check(tmp_path, source, "lstm")
    named(report, ["lstm_step_forward.out"], "gate_order", "i, f, o, g")
    # the sequence fails only through its step: inherited (issue 21), for its backward too
    for name in ("lstm_forward.out", "lstm_backward.dWx"):
        assert by_name(report)[name].inherited_from == "lstm_step_forward", by_name(report)[name]


def test_dprev_c_from_the_next_step_dropped(tmp_path):
    source = mutated(
        (
            "lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])",
            "lstm_step_backward(dh[:, t, :] + dprev_h, np.zeros_like(dprev_c), cache[t])",
        )
    )
    report = check(tmp_path, source, "lstm")
    named(report, ["lstm_backward.dx", "lstm_backward.dh0", "lstm_backward.dWx"], "cell_carry", "dprev_c")
    assert by_name(report)["lstm_step_backward.dprev_c"].status == PASS


def test_an_lstm_step_returning_two_values_is_not_a_traceback(tmp_path):
    source = mutated(("    return next_h, next_c, cache\n", "    return next_h, cache\n"))
    out = by_name(check(tmp_path, source, "lstm_step"))["lstm_step_forward.out"]
    assert out.status == FAIL and "wrong shape" in out.note


def test_graded_in_a_child_and_judged_in_the_parent(tmp_path):
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    wrong = mutated(
        (
            "lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])",
            "lstm_step_backward(dh[:, t, :] + dprev_h, 0 * dprev_c, cache[t])",
        )
    )
    for folder, text in (("right", SOLUTION), ("no_cell_carry", wrong)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rnn.py").write_text(text)
    work = grading.find_work([tmp_path / "right", tmp_path / "no_cell_carry"], RNN)
    plan = grading.Plan(5, (32, 21), Limits(timeout=60, cpu_seconds=60, memory_mb=1024))
    results = {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=1)}
    assert results["right"].score == len(RNN.checked), results["right"].message
    failing = [t.name for t in results["no_cell_carry"].tests if not t.passed]
    assert failing == [
        "lstm_backward.dx",
        "lstm_backward.dh0",
        "lstm_backward.dWx",
        "lstm_backward.dWh",
        "lstm_backward.db",
    ]


def test_an_lstm_step_backward_writing_into_dnext_c_is_named_so(tmp_path):
    """Seen in every public repository we ran: `dnext_c += ...` (harmless inside lstm_backward)."""
    source = mutated(
        (
            "    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)\n",
            "    dnext_c += dnext_h * o * (1 - tanh_c**2)\n    dc = dnext_c\n",
        )
    )
    v = by_name(check(tmp_path, source, "lstm_step"))["lstm_step_backward.dWx"]
    assert v.diagnosis_kind == "in_place" and "modifies its argument dnext_c in place" in v.diagnosis
