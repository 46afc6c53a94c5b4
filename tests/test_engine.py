"""The cmp engine on hand-made tensors: every status, the shape rules, NaN, dtypes."""

import numpy as np
import pytest
import torch

from ninja.engine import UNREACHED, check, compare, forward_changes


@pytest.fixture
def expected():
    return torch.randn(4, 5, generator=torch.Generator().manual_seed(0))


def test_identical_is_exact_and_passes(expected):
    r = compare("x", expected.clone(), expected)
    assert (r.status, r.exact, r.approx, r.maxdiff, r.relerr) == ("pass", True, True, 0.0, 0.0)


def test_last_bit_difference_is_approx_not_exact(expected):
    got = expected * (1 + 1e-7)
    r = compare("x", got, expected)
    assert r.status == "pass" and r.exact is False and r.approx is True
    assert 0 < r.maxdiff < 1e-6


def test_wrong_values_fail_with_maxdiff_and_relerr(expected):
    r = compare("x", expected * 2, expected)
    assert r.status == "fail" and r.approx is False
    assert r.maxdiff == pytest.approx(expected.abs().max().item())
    assert r.relerr == pytest.approx(1 / 3, rel=1e-5)  # |2e - e| / (|2e| + |e|)


def test_missing_and_unreached(expected):
    assert compare("x", None, expected).status == "missing"
    assert compare("x", UNREACHED, expected).status == "error"


def test_size_one_dims_pass_with_a_note():
    expected = torch.arange(6.0).reshape(1, 6)
    r = compare("bnmeani", torch.arange(6.0), expected)
    assert r.status == "pass" and r.shape == (6,) and r.expected_shape == (1, 6)
    assert "size-1" in r.note


def test_broadcasting_shapes_fail_as_shape_errors():
    """The notebook's cmp compares with ==, which broadcasts: an (n, 64) gradient whose rows all
    equal the (1, 64) answer passed there. Here it is a shape error."""
    expected = torch.randn(1, 64)
    r = compare("bnmeani", expected.expand(32, 64), expected)
    assert r.status == "fail" and r.approx is None and "wrong shape" in r.note


def test_permuted_shapes_fail():
    expected = torch.randn(32, 3, 10)
    r = compare("emb", expected.permute(0, 2, 1), expected)
    assert r.status == "fail" and r.shape == (32, 10, 3)


def test_nan_fails_and_says_so(expected):
    got = expected.clone()
    got[1, 2] = float("nan")
    r = compare("x", got, expected)
    assert r.status == "fail" and "NaN" in r.note


def test_numpy_and_float64_are_compared_by_value(expected):
    r = compare("x", expected.double().numpy(), expected)
    assert r.status == "pass" and "float64" in r.note
    assert compare("x", np.zeros((4, 5)), expected).status == "fail"


def test_not_a_tensor_fails_cleanly(expected):
    r = compare("x", "oops", expected)
    assert r.status == "fail" and "str" in r.note


def test_custom_tolerance(expected):
    got = expected + 1e-4
    assert compare("x", got, expected).status == "fail"
    assert compare("x", got, expected, rtol=0, atol=1e-3).status == "pass"


def test_forward_changes_name_the_first_difference():
    trusted = {"a": torch.ones(2), "b": torch.ones(2) * 2}
    assert forward_changes({"a": torch.ones(2), "b": torch.ones(2) * 2}, trusted, ["a", "b"], True) == []
    notes = forward_changes({"a": torch.ones(2), "b": torch.ones(2) * 3}, trusted, ["a", "b"], True)
    assert notes and "b differs" in notes[0]
    assert "a is not defined" in forward_changes({"b": trusted["b"]}, trusted, ["a", "b"], True)[0]
    assert forward_changes({"b": trusted["b"]}, trusted, ["a", "b"], ran_to_end=False) == []


def test_a_changed_forward_never_passes(expected):
    report = check(
        "ex",
        {"x": expected},
        {"x": expected},
        learner_forward={"a": torch.zeros(2)},
        trusted_forward={"a": torch.ones(2)},
        forward_names=["a"],
    )
    assert report.variables[0].status == "pass"
    assert not report.passed and report.notes


def test_inf_fails_and_says_so(expected):
    wrong = expected.clone()
    wrong[1, 2] = float("inf")
    r = compare("x", wrong, expected)
    assert r.status == "fail" and r.note == "contains inf"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("rtol,atol", [(1e-5, 1e-8), (1e-4, 1e-6), (0.0, 1e-12), (1e-3, 0.0), (0.0, 0.0)])
def test_the_verdict_is_torch_allclose_to_the_last_bit(dtype, rtol, atol):
    """compare's approx (engine.all_close, a faster path) against torch.allclose itself, element by
    element, at the very edge of the tolerance: one bit either side of it, and at NaN and inf."""
    gen = torch.Generator().manual_seed(0)
    for scale in (1e-12, 1e-3, 1.0, 1e5):
        want = torch.randn(400, dtype=dtype, generator=gen) * scale
        allowed = atol + (rtol * want).abs()
        sign = torch.where(torch.rand(400, generator=gen) < 0.5, 1.0, -1.0).to(dtype)
        edge = want + sign * allowed
        for got in (edge, torch.nextafter(edge, edge + 1), torch.nextafter(edge, edge - 1), want.clone()):
            for k in range(len(got)):  # one element at its edge, the others exact: the verdict is that element's
                one = want.clone()
                one[k] = got[k]
                assert compare("x", one, want, rtol, atol).approx == torch.allclose(one, want, rtol=rtol, atol=atol)
    for odd in (float("nan"), float("inf"), -float("inf")):
        got = want.clone()
        got[3] = odd
        assert compare("x", got, want, rtol, atol).approx is False


def test_a_negative_tolerance_is_refused_as_torch_refuses_it(expected):
    """A course file's RTOL or ATOL below zero (or NaN) is an error, not a verdict."""
    for rtol, atol in ((-1.0, 1e-8), (1e-5, -1.0), (float("nan"), 1e-8)):
        with pytest.raises(RuntimeError):
            compare("x", expected + 0.1, expected, rtol, atol)
