"""Notebooks: `ninja check EX --file my.ipynb` runs only the backward cells, after the trusted
forward; `from ninja import cmp` is a drop-in for the notebook's cmp."""

import subprocess
import sys
from pathlib import Path

import karpathy_notebook as kn
import pytest

NINJA = [sys.executable, "-m", "ninja"]


def ninja(*args, cwd):
    return subprocess.run([*NINJA, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def notebook(tmp_path):
    return kn.write(tmp_path / "backprop_ninja.ipynb")


def test_each_exercise_takes_its_own_cells_and_nothing_else_runs(notebook, tmp_path):
    # the data cell would fail (no names.txt here) and the training cell raises: neither may run
    for exercise, total in (("exercise1", 26), ("exercise2", 1), ("exercise3", 1)):
        done = ninja("check", exercise, "--file", notebook.name, "--format", "json", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f'"correct": {total}' in done.stdout
        assert "the training cell ran" not in done.stdout


def test_a_wrong_line_in_the_notebook_fails(tmp_path):
    wrong = kn.EXERCISE1.replace(
        "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv", "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5)"
    )
    assert wrong != kn.EXERCISE1
    path = kn.write(tmp_path / "nb.ipynb", kn.notebook(wrong))
    done = ninja("check", "exercise1", "--file", path.name, cwd=tmp_path)
    assert done.returncode == 1
    assert "dbnvar" in done.stdout and "fail" in done.stdout


def test_an_error_points_at_the_notebook_cell_and_line(tmp_path):
    broken = kn.EXERCISE1.replace("dW2 = h.T @ dlogits", "dW2 = h @ dlogits")
    path = kn.write(tmp_path / "nb.ipynb", kn.notebook(broken))
    done = ninja("check", "exercise1", "--file", path.name, cwd=tmp_path)
    assert done.returncode == 1
    line = broken.splitlines().index("dW2 = h @ dlogits") + 1
    assert f"nb.ipynb (cell 8):{line}: RuntimeError" in done.stdout.replace("\n", "")
    assert "Traceback" not in done.stdout + done.stderr


def test_a_notebook_without_backward_cells_is_a_usage_error(tmp_path):
    nb = kn.notebook()
    nb.cells = [c for c in nb.cells if "dlogits" not in c.source and "dhprebn" not in c.source]
    path = kn.write(tmp_path / "nb.ipynb", nb)
    done = ninja("check", "exercise2", "--file", path.name, cwd=tmp_path)
    assert done.returncode == 2
    assert "no cell of nb.ipynb assigns exercise2's gradients (dlogits)" in done.stderr.replace("\n", "")


def test_a_file_that_is_not_a_notebook_is_a_usage_error(tmp_path):
    (tmp_path / "nb.ipynb").write_text("{ not json")
    done = ninja("check", "exercise1", "--file", "nb.ipynb", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot read notebook nb.ipynb" in done.stderr
    assert "Traceback" not in done.stderr


def run_cells(*cells, cwd):
    script = "\n".join(cells)
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cmp_drop_in_prints_the_notebooks_line_and_says_what_is_wrong(tmp_path):
    done = run_cells(
        "import torch\nimport torch.nn.functional as F",
        kn.SETUP,
        kn.FORWARD,
        "from ninja import cmp",
        kn.EXERCISE1,
        "cmp('h', 2 * h.grad, h)\ncmp('probs', None, probs)",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "| exact:" in line]
    assert len(lines) == 26 + 2
    assert lines[0].startswith("logprobs        | exact: True  | approximate: True  | maxdiff: 0.0")
    assert all("approximate: True" in line for line in lines[:26])
    assert lines[26].startswith("h               | exact: False | approximate: False")
    assert "wrong: dh differs from autograd" in done.stdout
    assert "missing: dprobs is None" in done.stdout


def test_cmp_drop_in_fails_a_wrong_shape_that_the_notebooks_cmp_passes(tmp_path):
    # dlogit_maxes has shape (32, 1); a (1,) tensor of the right total broadcasts, so when every row
    # holds the same value the notebook's cmp says exact: True
    setup = "import torch\nt = torch.ones(32, 1, requires_grad=True)\n(t * 3).sum().backward()"
    notebook_cmp = run_cells(setup, kn.CMP, "cmp('logit_maxes', torch.tensor([3.0]), t)", cwd=tmp_path)
    assert "exact: True" in notebook_cmp.stdout
    ours = run_cells(setup, "from ninja import cmp", "cmp('logit_maxes', torch.tensor([3.0, 3.0]), t)", cwd=tmp_path)
    assert "exact: False | approximate: False" in ours.stdout
    assert "wrong shape: logit_maxes is (32, 1), your dlogit_maxes is (2,)" in ours.stdout


def test_from_ninja_import_cmp_stays_light():
    code = "import sys\nfrom ninja import cmp\nprint(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent)
    assert done.stdout.strip() == "[]"
