"""Exercises written only as files (tests/fixtures/exercises/): an MLP with layernorm and GELU, and a
single attention head, taken through dev check, init, check, hint, watch, notebook, cmp, grade and
course init, as a course of one's own would use them."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import ROOT, run_ninja, watch_until_it_passes

from ninja import devcheck
from ninja.registry import check_file, exercises
from ninja.results import MISSING, PASS
from ninja.settings import Settings
from ninja.tapped import files

FIXTURES = ROOT / "tests" / "fixtures" / "exercises"
NAMES = ("attention", "ln_gelu")
TOML = '[exercises.attention]\nfile = "attention.py"\n\n[exercises.ln_gelu]\nfile = "ln_gelu.py"\n'


def exercise(name: str):
    return files.loaded(FIXTURES / f"{name}.py", name)


pytestmark = pytest.mark.usefixtures("bundled_exercises_only")


@pytest.fixture
def workspace(tmp_path):
    """A folder with a ninja.toml that registers both exercise files, and their solutions beside them."""
    for name in NAMES:
        for suffix in ("", "_solution"):
            (tmp_path / f"{name}{suffix}.py").write_text((FIXTURES / f"{name}{suffix}.py").read_text())
    (tmp_path / "ninja.toml").write_text(TOML)
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_references_agree_with_central_differences(name):
    ex = exercise(name)
    assert devcheck.central_differences(ex) == []
    # and by hand, every element of one small parameter: (L(w + e) - L(w - e)) / 2e
    _, grads = ex.reference(devcheck.SMALL, ex.model.parameter_names)
    first = ex.model.parameter_names[0]
    for flat in range(min(grads[first].numel(), 12)):
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), grads[first].shape))
        up, down = (devcheck.loss_with(ex, first, index, s) for s in (1e-6, -1e-6))
        assert (up - down) / 2e-6 == pytest.approx(grads[first][index].item(), rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_blame_names_a_mistake_injected_at_each_line(name):
    ex = exercise(name)
    assert devcheck.injected_mistakes(ex) == []
    assert devcheck.blamed_in_solution(ex, FIXTURES / f"{name}_solution.py") == []


def test_a_flipped_line_is_the_root_cause_and_what_follows_inherits(tmp_path):
    source = (FIXTURES / "attention_solution.py").read_text()
    wrong = tmp_path / "attention.py"
    wrong.write_text(source.replace("dscores = dmasked.masked_fill", "dscores = -dmasked.masked_fill"))
    report = exercise("attention").check(wrong, Settings())
    by_name = {v.name: v for v in report.variables}
    assert [v.name for v in report.variables if v.root_cause] == ["scores"]
    assert by_name["scores"].diagnosis_kind == "factor" and "sign" in by_name["scores"].diagnosis
    assert (
        by_name["scores"].line
        == source.splitlines().index(next(t for t in source.splitlines() if t.startswith("dscores ="))) + 1
    )
    assert {by_name[k].inherited_from for k in ("q", "k", "Wq", "Wk")} == {"scores"}
    assert by_name["v"].status == PASS and by_name["Wv"].status == PASS


def test_a_files_own_named_mistake_is_named():
    ex = exercise("ln_gelu")
    source = (FIXTURES / "ln_gelu_solution.py").read_text()
    wrong = FIXTURES.parent / "ln_gelu_mistake.py"
    old = "dlogits = dlogp - torch.softmax(logits, 1) * dlogp.sum(1, keepdim=True)"
    try:
        wrong.write_text(source.replace(old, "dlogits = dlogp + 0 * logits"))
        report = ex.check(wrong, Settings())
    finally:
        wrong.unlink()
    logits = next(v for v in report.variables if v.name == "logits")
    assert logits.root_cause and logits.diagnosis.startswith("the softmax is missing")


def test_the_level_1_hint_is_derived_from_the_forward_when_absent():
    ex = exercise("attention")
    assert ex.hints["out"][0] == "out is (32, 5, 4); dout too. Used in: proj = out @ Wo"
    assert ex.hints["scores"][0].endswith('Used in: masked = scores.masked_fill(mask == 0, float("-inf"))')
    written = exercise("ln_gelu").hints["rstd"]
    assert written[0].startswith("rstd is (n, 1)") and written[1].startswith("The local derivative of diff * rstd")
    assert "Σ over the lines that use rstd" in written[2]  # level 3: derived, the file gives two


def test_the_default_checked_order_is_backward_with_each_parameter_after_its_line():
    ex = exercise("ln_gelu")
    assert ex.checked[:4] == ("logp", "logits", "W2", "b2")
    assert ex.checked[-3:] == ("pre", "W1", "b1")
    assert set(ex.checked) == {*ex.model.parameter_names, *[t for t in ex.forward_names if t != "loss"]}


def test_the_template_is_the_forward_written_out_and_runs_on_its_own(workspace):
    template = exercise("attention").template.read_text()
    assert "scores = q @ k.transpose(-2, -1) / math.sqrt(H)\n" in template
    assert 'dproj = given("proj", "attention")' in template and "tap(" not in template
    assert template.index("dout = None  # TODO") < template.index("dWv = None  # TODO")
    (workspace / "exercises").mkdir()
    (workspace / "exercises" / "attention.py").write_text(template)
    done = subprocess.run(
        [sys.executable, "exercises/attention.py"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )
    assert done.returncode == 1, done.stderr
    assert "0/11 correct (11 missing)" in done.stdout


def test_init_list_check_hint_reset_in_a_workspace(workspace):
    done = run_ninja("init", ".", cwd=workspace)
    assert done.returncode == 0, done.stderr
    for name in NAMES:
        assert (workspace / "exercises" / f"{name}.py").read_text() == exercise(name).template.read_text()
    assert (workspace / "exercises" / "exercise1.py").is_file()  # the bundled ones too
    listed = run_ninja("list", cwd=workspace)
    assert "attention" in listed.stdout and "not started" in listed.stdout
    blank = run_ninja("check", "attention", cwd=workspace)
    assert blank.returncode == 1 and "0/11 correct (11 missing)" in blank.stdout
    solved = run_ninja("check", "ln_gelu", "--file", "ln_gelu_solution.py", "--format", "json", cwd=workspace)
    assert solved.returncode == 0, solved.stdout
    assert json.loads(solved.stdout)["passed"] is True
    hint = run_ninja("hint", "attention", "dout", cwd=workspace)
    assert "out is (32, 5, 4); dout too. Used in: proj = out @ Wo" in hint.stdout
    (workspace / "exercises" / "attention.py").write_text("# mine\n")
    reset = run_ninja("reset", "attention", cwd=workspace)
    assert reset.returncode == 0 and (workspace / "exercises" / "attention.py.bak").read_text() == "# mine\n"


def test_a_broken_ninja_toml_or_exercise_file_is_a_usage_error(workspace):
    (workspace / "ninja.toml").write_text(TOML + '\n[exercises.gone]\nfile = "gone.py"\n')
    done = run_ninja("check", "attention", cwd=workspace)
    assert done.returncode == 2 and "[exercises.gone] file = 'gone.py': there is no such file" in done.stderr
    assert "Traceback" not in done.stderr
    (workspace / "ninja.toml").write_text('[exercises.attention]\nfile = "attention.py"\n')
    (workspace / "attention.py").write_text('"""Broken."""\ndef parameters(g):\n    return {}\n')
    done = run_ninja("list", cwd=workspace)
    assert done.returncode == 2 and "define inputs(...), forward(...)" in done.stderr


@pytest.mark.parametrize(
    "text, says",
    [
        ("def parameters(g): ...\ndef inputs(g, n): ...\ndef forward(tap): ...", "start the file with a docstring"),
        ("def parameters(g): ...", "define inputs(...), forward(...)"),
        (
            '"""T."""\nimport torch\ndef parameters(g): return {"w": torch.ones(2)}\n'
            'def inputs(g, n): return {"x": torch.ones(n, 2)}\n'
            'def forward(tap, w, x):\n    y = tap("y", x @ w)\n    return tap("loss", y.sum())\nCHECKED = ("y", "z")',
            "CHECKED names z, which the forward does not tap",
        ),
        (
            '"""T."""\nimport torch\ndef parameters(g): return {"w": torch.ones(2)}\n'
            'def inputs(g, n): return {"x": torch.ones(n, 2)}\ndef forward(tap, w, x):\n    return tap("loss", x @ w)',
            "forward must return the loss, one number",
        ),
        (
            '"""T."""\nimport torch\ndef parameters(g): return {"w": torch.ones(2)}\n'
            'def inputs(g, n): return {"x": torch.ones(n, 2)}\ndef forward(tap, w, x):\n    y = tap("q", x @ w)\n'
            '    return tap("loss", y.sum())',
            ':6: write `NAME = tap("NAME", ...)`, the same name twice',
        ),
    ],
)
def test_an_invalid_exercise_file_gets_one_line_saying_what_to_change(tmp_path, text, says):
    path = tmp_path / "bad.py"
    path.write_text(text)
    outcome = devcheck.dev_check(path)
    assert not outcome.ok and len(outcome.failures) == 1
    assert says in outcome.failures[0] and "\n" not in outcome.failures[0]


def test_a_named_mistake_that_cannot_name_anything_is_said(tmp_path):
    source = (FIXTURES / "ln_gelu.py").read_text()
    path = tmp_path / "ln_gelu.py"
    path.write_text(source.replace('/ v["x"].shape[0]', '[:2] / v["x"].shape[0]'))
    found = devcheck.named_mistakes_compute(files.loaded(path, "ln_gelu"))
    assert len(found) == 1 and "MISTAKES['logits']['the softmax is missing" in found[0]
    assert "it is (2, 5), dlogits is (32, 5)" in found[0]


def test_dev_check_exit_codes(tmp_path):
    sound = run_ninja(
        "dev", "check", str(FIXTURES / "attention.py"), "--solution", str(FIXTURES / "attention_solution.py")
    )
    assert sound.returncode == 0, sound.stdout
    assert "blame naming" not in sound.stdout and "a mistake injected at each checked line is blamed" in sound.stdout
    unreached = tmp_path / "unused.py"
    unreached.write_text(
        '"""Unused."""\nimport torch\ndef parameters(g):\n    return {"w": torch.randn(3, generator=g), '
        '"u": torch.randn(3, generator=g)}\ndef inputs(g, n):\n    return {"x": torch.randn(n, 3, '
        'generator=g)}\ndef forward(tap, w, u, x):\n    y = tap("y", x @ w + 0 * (x @ u))\n'
        '    return tap("loss", (y**2).sum())\n'
    )
    found = run_ninja("dev", "check", str(unreached))
    assert found.returncode == 1
    assert "fix   du is all zero at the package's inputs" in found.stdout
    assert run_ninja("dev", "check", str(tmp_path / "nothere.py")).returncode == 2


def test_a_notebook_with_the_backward_cells_is_checked(workspace):
    solution = (FIXTURES / "attention_solution.py").read_text()
    backward = solution[solution.index("dproj = given") :].split("\n", 1)[1]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import torch"), nbformat.v4.new_code_cell(backward)]
    path = workspace / "mine.ipynb"
    nbformat.write(notebook, str(path))
    report = check_file(exercise("attention"), path, Settings())
    assert report.passed, [(v.name, v.status) for v in report.variables]
    half = backward.replace("dWv = ", "dWv = 2 * ")
    notebook.cells[1] = nbformat.v4.new_code_cell(half)
    nbformat.write(notebook, str(path))
    wv = next(v for v in check_file(exercise("attention"), path, Settings()).variables if v.name == "Wv")
    assert wv.root_cause and wv.cell.startswith("code cell 2") and "2 times" in wv.diagnosis


def test_cmp_names_a_mistake_on_an_exercise_files_tensors(capsys):
    from ninja import cmp

    ex = exercise("ln_gelu")
    values, grads = ex.reference(Settings(), ["W2"])
    W2 = values["W2"].clone().requires_grad_()
    W2.grad = grads["W2"]  # what loss.backward() leaves there
    cmp("W2", grads["W2"].clone(), W2)
    cmp("W2", -grads["W2"], W2)
    printed = capsys.readouterr().out.splitlines()
    assert "exact: True" in printed[0]
    assert "sign is flipped" in printed[-1]


def test_watch_checks_an_exercise_file_and_hints(workspace):
    hint = ("hint 1/3 for dout", "Used in: proj = out @ Wo")  # `ninja hint attention out`'s words
    solved = (FIXTURES / "attention_solution.py").read_text()
    watch_until_it_passes(workspace, "attention", exercise("attention").template.read_text(), solved, hint)


def test_grade_a_class_on_an_exercise_file(workspace):
    subs = workspace / "subs"
    for who, text in {
        "good": (FIXTURES / "attention_solution.py").read_text(),
        "bad": (FIXTURES / "attention_solution.py").read_text().replace("dWo = (", "dWo = -("),
    }.items():
        (subs / who).mkdir(parents=True)
        (subs / who / "attention.py").write_text(text)
    (workspace / "ninja.toml").write_text('[course]\nexercises = ["attention"]\n\n' + TOML)
    out = workspace / "grades.json"
    done = run_ninja(
        "grade",
        "--seed",
        "7",
        "--jobs",
        "1",
        "--format",
        "json",
        "--out",
        str(out),
        str(subs / "good"),
        str(subs / "bad"),
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    results = {Path(r["submission"]).name: r for r in json.loads(out.read_text())}
    assert results["good"]["score"] == results["good"]["max_score"] == 11
    assert results["bad"]["score"] == 10


def test_course_init_carries_the_exercise_file_to_students_and_the_autograder(workspace):
    from ninja.grade import course

    (workspace / "ninja.toml").write_text('[course]\nexercises = ["attention", "exercise2"]\n\n' + TOML)
    course.init(workspace)
    student = workspace / "student"
    assert (student / "exercises" / "attention.py").read_text() == exercise("attention").template.read_text()
    assert (student / "attention.py").read_text() == (FIXTURES / "attention.py").read_text()
    assert (workspace / "autograder" / "attention.py").is_file()
    assert not (student / "attention_solution.py").exists()
    assert "attention" in exercises(student)


def test_grading_hands_the_given_gradients_in(tmp_path):
    """A grading run's options: no own tensors, and given(...) answered from the table handed in."""
    from ninja.exercise import RunOptions

    ex = exercise("attention")
    settings = Settings(seed=3, batch_size=6)
    table = ex.given_gradients(settings)
    data = ex.collect(FIXTURES / "attention_solution.py", settings, RunOptions.grading(table))
    assert ex.judge(data, settings).passed
    wrong = {"proj": 2 * table["proj"]}
    report = ex.judge(ex.collect(FIXTURES / "attention_solution.py", settings, RunOptions.grading(wrong)), settings)
    assert not report.passed


def test_the_engine_imports_no_track():
    """DESIGN.md: the core imports a track only through the registry; the engine imports nothing
    that runs or prints."""
    import ast

    core = [
        *sorted((ROOT / "ninja" / "tapped").glob("*.py")),
        ROOT / "ninja" / "engine.py",
        ROOT / "ninja" / "notebook.py",
        ROOT / "ninja" / "notebook_cmp.py",
        ROOT / "ninja" / "devcheck.py",
        ROOT / "ninja" / "exercise.py",
    ]
    for path in core:
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        tracks = {m for m in modules if m.split(".")[:2] in (["ninja", "makemore"], ["ninja", "cs231n"])}
        assert not tracks, f"{path.name} imports {tracks}"


def test_template_missing_means_every_variable_missing():
    for name in NAMES:
        report = exercise(name).check(exercise(name).template, Settings())
        assert report.error is None and report.forward_ok
        assert {v.status for v in report.variables} == {MISSING}


def test_a_script_with_its_own_tensors_is_checked_on_them(tmp_path):
    """The learner's own parameters and batch (another seed, batch size, float32), found by the
    names they play in the forward: the reference runs on them."""
    solution = (FIXTURES / "ln_gelu_solution.py").read_text()
    own = (
        "g = torch.Generator().manual_seed(42)\n"
        "W1, b1 = torch.randn(8, 16, generator=g) / 3, torch.randn(16, generator=g) * 0.1\n"
        "gamma, beta = 1 + 0.1 * torch.randn(16, generator=g), 0.1 * torch.randn(16, generator=g)\n"
        "W2, b2 = torch.randn(16, 5, generator=g) / 4, torch.randn(5, generator=g) * 0.1\n"
        "x, y = torch.randn(10, 8, generator=g), torch.randint(0, 5, (10,), generator=g)\n"
    )
    mine = solution.replace("from ninja.tapped.learner import tensors\n", "").replace(
        'W1, b1, gamma, beta, W2, b2, x, y = tensors("ln_gelu")\n', own
    )
    path = tmp_path / "mine.py"
    path.write_text(mine)
    report = exercise("ln_gelu").check(path, Settings())
    assert report.passed, [(v.name, v.status) for v in report.variables]
    assert any(n.startswith("checked on your own parameters and batch (batch 10, float32)") for n in report.notes)
    path.write_text(mine.replace("dW1 = x.T @ dpre", "dW1 = x.T @ dpre * 2"))
    w1 = next(v for v in exercise("ln_gelu").check(path, Settings()).variables if v.name == "W1")
    assert w1.root_cause and "2 times" in w1.diagnosis


def test_own_tensors_under_the_learners_own_names_are_found_by_what_they_do(tmp_path):
    solution = (FIXTURES / "attention_solution.py").read_text()
    own = (
        "g = torch.Generator().manual_seed(9)\n"
        "w_query, w_key = torch.randn(8, 4, generator=g) / 3, torch.randn(8, 4, generator=g) / 3\n"
        "w_value, w_out = torch.randn(8, 4, generator=g) / 3, torch.randn(4, 8, generator=g) / 2\n"
        "inputs, goal = torch.randn(3, 5, 8, generator=g), torch.randn(3, 5, 8, generator=g)\n"
        "causal = torch.tril(torch.ones(5, 5))\n"
        "Wq, Wk, Wv, Wo, x, target, mask = w_query, w_key, w_value, w_out, inputs, goal, causal\n"
    )
    mine = solution.replace("from ninja.tapped.learner import given, tensors\n", "")
    mine = mine.replace('Wq, Wk, Wv, Wo, x, target, mask = tensors("attention")\n', own)
    mine = mine.replace('dproj = given("proj", "attention")', "dproj = 2 * diff / diff.numel()")
    mine += "del Wq, Wk, Wv, Wo, x, target, mask\n"  # only their own names are left
    path = tmp_path / "mine.py"
    path.write_text(mine)
    report = exercise("attention").check(path, Settings())
    assert report.passed, [(v.name, v.status, v.note) for v in report.variables]
    note = next(n for n in report.notes if n.startswith("checked on your own"))
    assert "w_query for Wq" in note and "inputs for x" in note and "batch 3" in note
