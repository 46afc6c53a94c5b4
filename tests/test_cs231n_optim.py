"""The CS231n optim exercise: torch.optim as the reference, several steps in a row, the config a
step returns fed to the next one, and each named mistake caught and named."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ninja.cs231n import optim
from ninja.registry import find
from ninja.results import ERROR, FAIL, MISSING, PASS
from ninja.settings import Settings

OPTIM = find("optim")
SOLUTION = OPTIM.solution.read_text()


def check(tmp_path, source, only=None):
    path = tmp_path / "optim.py"
    path.write_text(source)
    return (OPTIM.only(only) if only else OPTIM).check(path, Settings())


def mutated(old, new):
    assert SOLUTION.count(old) == 1, old
    return SOLUTION.replace(old, new)


def by_name(report):
    return {v.name: v for v in report.variables}


def named(report, name, kind, words):
    v = by_name(report)[name]
    assert v.status == FAIL and v.root_cause and v.diagnosis_kind == kind, (v.status, v.diagnosis_kind, v.diagnosis)
    assert words in v.diagnosis, v.diagnosis
    return v


def test_every_reference_rule_passes_at_several_seeds():
    for seed in (0, 7):
        report = OPTIM.check(OPTIM.solution, Settings(seed=seed))
        assert [v.name for v in report.variables if v.status != PASS] == []
        assert set(by_name(report)) == set(OPTIM.checked) and "adam.t" in OPTIM.checked
        assert all(v.relerr < 1e-9 for v in report.variables)


def test_the_template_reports_every_result_missing():
    report = OPTIM.check(OPTIM.template, Settings())
    assert {v.status for v in report.variables} == {MISSING} and not report.passed


@pytest.mark.parametrize("rule", list(optim.DEFAULTS))
@pytest.mark.parametrize("case", [0, 1, 2])
def test_torch_optim_and_cs231n_formulas_agree_at_every_step(rule, case):
    """The reference is torch.optim; the mistakes are CS231n's formulas varied: unvaried, the two agree."""
    inputs = optim.update_cases(rule)(5)[case].inputs
    trusted, formulas = optim.trusted_steps(rule, inputs), optim.mistaken_steps(rule, inputs)
    assert len(trusted) == len(inputs["dws"]) >= 3
    for a, b in zip(trusted, formulas):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], torch.as_tensor(b[k], dtype=torch.float64), rtol=1e-12, atol=1e-15), (rule, k)


def test_the_notebooks_adam_step_is_reproduced():
    """The notebook's first expected value of next_w (t = 5 in, 6 used), computed by hand here."""
    inputs = optim.update_cases("adam")(0)[1].inputs
    w, dw, c = inputs["w"], inputs["dws"][0], inputs["config"]
    m, v = 0.9 * c["m"] + 0.1 * dw, 0.999 * c["v"] + 0.001 * dw**2
    by_hand = w - 1e-2 * (m / (1 - 0.9**6)) / (np.sqrt(v / (1 - 0.999**6)) + 1e-8)
    assert np.allclose(optim.trusted_steps("adam", inputs)[0]["next_w"].numpy(), by_hand, rtol=1e-12)


def test_momentum_velocity_sign(tmp_path):
    report = check(
        tmp_path,
        mutated('config["learning_rate"] * dw\n    next_w = w + v', 'config["learning_rate"] * dw\n    next_w = w - v'),
        "momentum",
    )
    named(report, "sgd_momentum.next_w", "sign", "next_w = w + v")
    report = check(
        tmp_path, mutated('v = config["momentum"] * v - config', 'v = config["momentum"] * v + config'), "momentum"
    )
    named(report, "sgd_momentum.next_w", "sign", "velocity sign")
    named(report, "sgd_momentum.velocity", "sign", "velocity sign")


def test_sgd_uphill(tmp_path):
    report = check(tmp_path, mutated('w - config["learning_rate"] * dw\n', 'w + config["learning_rate"] * dw\n'), "sgd")
    named(report, "sgd.next_w", "sign", "uphill")


def test_rmsprop_epsilon_inside_the_root_is_seen_where_epsilon_matters(tmp_path):
    report = check(
        tmp_path, mutated('(np.sqrt(cache) + config["epsilon"])', 'np.sqrt(cache + config["epsilon"])'), "rmsprop"
    )
    v = named(report, "rmsprop.next_w", "eps_inside", "epsilon inside the square root")
    assert "step 1 of" in v.note
    assert by_name(report)["rmsprop.cache"].status == PASS


def test_rmsprop_cache_not_stored_is_config_not_carried(tmp_path):
    report = check(tmp_path, mutated('    config["cache"] = cache\n', ""), "rmsprop")
    v = named(report, "rmsprop.next_w", "state", "config not carried")
    assert "step 2 of" in v.note  # the first step is right: the mistake shows from the second on
    assert by_name(report)["rmsprop.cache"].status == FAIL


@pytest.mark.parametrize(
    ("old", "new", "name", "kind", "words"),
    [
        ("m_hat = m / (1 - beta1**t)", "m_hat = m", "adam.next_w", "bias_correction", "no bias correction of m:"),
        ("v_hat = v / (1 - beta2**t)", "v_hat = v", "adam.next_w", "bias_correction", "no bias correction of v:"),
        ('config["m"], config["v"], config["t"] = m, v, t', 'config["m"], config["v"], config["t"] = m_hat, v_hat, t',
         "adam.m", "bias_correction", "bias-corrected m and v are stored"),
        ('config["m"], config["v"], config["t"] = m, v, t', 'config["m"], config["v"] = m, v', "adam.t", "t",
         "t not advanced"),
        ('(np.sqrt(v_hat) + config["epsilon"])', 'np.sqrt(v_hat + config["epsilon"])', "adam.next_w", "eps_inside",
         "inside the square root"),
        ('config["m"], config["v"], config["t"] = m, v, t', "", "adam.next_w", "state", "config not carried"),
    ],
)  # fmt: skip
def test_adam_mistakes_are_named(tmp_path, old, new, name, kind, words):
    named(check(tmp_path, mutated(old, new), "adam"), name, kind, words)


def test_adam_with_t_advanced_after_the_bias_correction(tmp_path):
    source = mutated('    t = config["t"] + 1\n', '    t = config["t"]\n').replace(
        'config["t"] = m, v, t', 'config["t"] = m, v, t + 1'
    )
    report = check(tmp_path, source, "adam")
    v = by_name(report)["adam.next_w"]
    assert v.status == FAIL and v.diagnosis_kind in ("bias_correction", "overflow")
    assert "increment config['t']" in v.diagnosis


def test_adam_t_starting_at_one_follows_the_2017_skeleton(tmp_path):
    """2016-2018's staff code says config.setdefault('t', 1): that file's own start is the reference."""
    source = mutated('config.setdefault("t", 0)', 'config.setdefault("t", 1)')
    assert check(tmp_path, source, "adam").passed
    assert optim.first_t(source) == 1 and optim.first_t(SOLUTION) == 0


def test_a_rule_that_raises_at_a_later_step_names_the_step(tmp_path):
    source = mutated(
        "    beta1, beta2 =", '    if config["t"] == 1:\n        raise ValueError("boom")\n    beta1, beta2 ='
    )
    report = check(tmp_path, source, "adam")
    v = by_name(report)["adam.next_w"]
    assert v.status == ERROR and "step 2: boom" in v.note and "optim.py:" in v.note


def test_a_rule_that_returns_no_config(tmp_path):
    report = check(
        tmp_path, mutated('    config["cache"] = cache\n    return next_w, config', "    return next_w"), "rmsprop"
    )
    assert by_name(report)["rmsprop.next_w"].status == FAIL  # every step started again from the defaults
    assert "config has no 'cache'" in (by_name(report)["rmsprop.cache"].note or "")


def test_in_place_updates_are_allowed(tmp_path):
    """optim.py's own docstring allows `w -= ...; next_w = w`."""
    source = mutated(
        'next_w = w - config["learning_rate"] * dw\n', 'w -= config["learning_rate"] * dw\n    next_w = w\n'
    )
    assert check(tmp_path, source, "sgd").passed


def test_cli_check_hint_and_only(tmp_path):
    from typer.testing import CliRunner

    from ninja.cli import app

    path = tmp_path / "optim.py"
    path.write_text(mutated("m_hat = m / (1 - beta1**t)", "m_hat = m"))
    done = CliRunner().invoke(app, ["check", "optim", "--file", str(path), "--only", "adam"])
    assert done.exit_code == 1 and "no bias correction" in done.output and "sgd_momentum" not in done.output
    right = CliRunner().invoke(app, ["check", "optim", "--file", str(OPTIM.solution)])
    assert right.exit_code == 0, right.output
    for level in ("1", "2", "3"):
        hint = CliRunner().invoke(app, ["hint", "optim", "adam", "--level", level])
        assert hint.exit_code == 0 and f"hint {level}/3" in hint.output, hint.output


def test_graded_in_a_child_and_judged_in_the_parent(tmp_path):
    from ninja.grade import batch as grading
    from ninja.grade.sandbox import Limits

    for folder, text in (("right", SOLUTION), ("uncorrected", mutated("m_hat = m / (1 - beta1**t)", "m_hat = m"))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "optim.py").write_text(text)
    work = grading.find_work([tmp_path / "right", tmp_path / "uncorrected"], OPTIM)
    plan = grading.Plan(99, (32, 21), Limits(timeout=60, cpu_seconds=60, memory_mb=1024))
    results = {Path(r.submission).name: r for r in grading.grade(work, plan, jobs=1)}
    assert results["right"].status == "graded" and results["right"].score == len(OPTIM.checked)
    assert [t.name for t in results["uncorrected"].tests if not t.passed] == ["adam.next_w"]


def test_adams_efficient_form_is_another_convention_named(tmp_path):
    """Kingma and Ba's step-size form (TensorFlow's) differs from CS231n's only where epsilon
    matters: accepted, and said."""
    source = mutated(
        '    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])\n',
        '    step = config["learning_rate"] * np.sqrt(1 - beta2**t) / (1 - beta1**t)\n'
        '    next_w = w - step * m / (np.sqrt(v) + config["epsilon"])\n',
    )
    report = check(tmp_path, source, "adam")
    assert report.passed and "efficient form" in by_name(report)["adam.next_w"].note
    report = OPTIM.only("adam").with_conventions(["adam_epsilon=corrected"]).check(tmp_path / "optim.py", Settings())
    v = by_name(report)["adam.next_w"]
    assert v.status == FAIL and "efficient form" in v.diagnosis


@pytest.mark.parametrize("name", ["optim", "rnn", "networks", "captioning", "layers"])
def test_hints_have_three_levels_and_never_print_a_solution_line(name):
    exercise = find(name)
    lines = {line.strip() for line in exercise.solution.read_text().splitlines() if len(line.strip()) > 24}
    lines -= {line.strip() for line in exercise.template.read_text().splitlines()}  # given code is no answer
    assert set(exercise.functions) <= set(exercise.hints)
    for function, levels in exercise.hints.items():
        if name == "layers" and not function.startswith("spatial_"):
            continue  # the layers exercise's other hints are not this issue's
        assert len(levels) == 3 and all(levels), function
        leaked = [line for line in lines for text in levels if line in text]
        assert not leaked, (function, leaked)
