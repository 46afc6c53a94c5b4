"""Spatial batchnorm and groupnorm in the layers exercise: the reference passes, the template is
missing, and the reshape, group and eps mistakes are named."""

import pytest

from ninja.registry import find
from ninja.results import FAIL, MISSING, PASS
from ninja.settings import Settings

LAYERS = find("layers")
SOLUTION = LAYERS.solution.read_text()
SPATIAL = [n for n in LAYERS.checked if n.startswith("spatial_")]


def check(tmp_path, source, only="spatial", seed=0):
    path = tmp_path / "layers.py"
    path.write_text(source)
    return LAYERS.only(only).check(path, Settings(seed=seed))


def mutated(old, new):
    assert SOLUTION.count(old) == 1, old
    return SOLUTION.replace(old, new)


def by_name(report):
    return {v.name: v for v in report.variables}


@pytest.mark.parametrize("seed", [0, 11])
def test_the_reference_passes_with_numeric_gradients(seed):
    report = LAYERS.only("spatial").numeric().check(LAYERS.solution, Settings(seed=seed))
    assert {v.name for v in report.variables} == set(SPATIAL) and len(SPATIAL) == 10
    assert all(v.status == PASS for v in report.variables), [(v.name, v.note) for v in report.variables]
    assert all(v.numeric_relerr < 1e-6 for v in report.variables if ".d" in v.name)


def test_the_template_is_missing():
    report = LAYERS.only("spatial").check(LAYERS.template, Settings())
    assert {v.status for v in report.variables} == {MISSING}


def test_reshape_without_the_transpose(tmp_path):
    source = (
        mutated(
            "rows = x.transpose(0, 2, 3, 1).reshape(-1, C)  # channels last: one column per channel",
            "rows = x.reshape(-1, C)",
        )
        .replace("out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)", "out = out.reshape(N, C, H, W)")
        .replace("rows = dout.transpose(0, 2, 3, 1).reshape(-1, C)", "rows = dout.reshape(-1, C)")
        .replace("dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)", "dx = dx.reshape(N, C, H, W)")
    )
    results = by_name(check(tmp_path, source, "spatial_batchnorm"))
    for name in ("spatial_batchnorm_forward.out", "spatial_batchnorm_backward.dx", "spatial_batchnorm_backward.dgamma"):
        assert results[name].status == FAIL and results[name].diagnosis_kind == "reshape", name
        assert "x.reshape(-1, C) mixes channels" in results[name].diagnosis


def test_reshaped_back_without_the_transpose(tmp_path):
    source = mutated("out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)", "out = out.reshape(N, C, H, W)")
    out = by_name(check(tmp_path, source, "spatial_batchnorm"))["spatial_batchnorm_forward.out"]
    assert out.status == FAIL and out.root_cause and "reshaped back in the wrong order" in out.diagnosis


def test_groups_over_the_wrong_axis(tmp_path):
    source = mutated(
        "groups = x.reshape(N, G, C // G, H, W)", "groups = x.reshape(N, C // G, G, H, W).transpose(0, 2, 1, 3, 4)"
    )
    source = source.replace(
        "out = gamma * xhat.reshape(x.shape) + beta",
        "out = gamma * xhat.transpose(0, 2, 1, 3, 4).reshape(x.shape) + beta",
    )
    out = by_name(check(tmp_path, source, "spatial_groupnorm"))["spatial_groupnorm_forward.out"]
    assert out.status == FAIL and out.diagnosis_kind == "groups" and "wrong axis" in out.diagnosis


def test_groupnorm_eps_outside_the_root(tmp_path):
    source = mutated(
        "std = np.sqrt(groups.var(axis=(2, 3, 4), keepdims=True) + eps)",
        "std = np.sqrt(groups.var(axis=(2, 3, 4), keepdims=True)) + eps",
    )
    out = by_name(check(tmp_path, source, "spatial_groupnorm"))["spatial_groupnorm_forward.out"]
    assert out.status == FAIL and out.diagnosis_kind == "eps"
    line = source.splitlines()[out.line - 1]
    assert "np.sqrt(" in line and "+ eps" in line


def test_a_backward_fed_its_own_cache_from_batchnorm_alt(tmp_path):
    """spatial_batchnorm_backward may call batchnorm_backward_alt on the same cache."""
    source = mutated(
        "dx, dgamma, dbeta = batchnorm_backward(rows, cache)", "dx, dgamma, dbeta = batchnorm_backward_alt(rows, cache)"
    )
    assert check(tmp_path, source, "spatial_batchnorm").passed


def test_statistics_per_position_over_n_alone(tmp_path):
    """Seen in a public repository: a loop over channels of (N, H*W) arrays, each normalized over N."""
    source = mutated(
        "    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)  # channels last: one column per channel\n"
        "    out, cache = batchnorm_forward(rows, gamma, beta, bn_param)\n"
        "    out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)\n",
        "    mean, var = x.mean(axis=0), x.var(axis=0)\n"
        "    out = gamma[:, None, None] * (x - mean) / np.sqrt(var + bn_param.get('eps', 1e-5)) + beta[:, None, None]\n"
        "    cache = None\n",
    )
    out = by_name(check(tmp_path, source, "spatial_batchnorm"))["spatial_batchnorm_forward.out"]
    assert out.status == FAIL and "statistics per position" in out.diagnosis
