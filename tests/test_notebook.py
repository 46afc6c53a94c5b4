"""Notebooks: `ninja check EX --file my.ipynb` runs only the backward cells, after the trusted
forward; `from ninja import cmp` is a drop-in for the notebook's cmp."""

import json
import os
import subprocess
import sys
from pathlib import Path

import karpathy_notebook as kn
import nbformat
import pytest

from ninja.notebook import gradient_writes

NINJA = [sys.executable, "-m", "ninja"]


CELL7 = 'nb.ipynb, code cell 7 ("# Exercise 1: ...")'  # the notebook's exercise 1 cell, as a person counts


def flat(text: str) -> str:
    """Terminal output less the line breaks rich puts in long lines."""
    return " ".join(text.split())


def ninja(*args, cwd):
    env = {**os.environ, "COLUMNS": "200"}  # one line per pointer
    return subprocess.run([*NINJA, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


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


RECAP_THEN_FORMULA = kn.EXERCISE3.replace(  # the step-by-step lines of exercise 1 kept above the formula
    "# before we had:\n# dbnraw = bngain * dhpreact\n# ...",
    "# before we had:\ndbnraw = bngain * dhpreact\ndhprebn = dbnraw.clone()",
)


def test_a_recap_of_exercise1s_lines_above_the_formula_leaves_the_cell_exercise3s(tmp_path):
    """A learner's cell seen in a public notebook: the answer was there, and ninja said no cell assigns it."""
    nb = kn.notebook()
    nb.cells[10] = nbformat.v4.new_code_cell(RECAP_THEN_FORMULA)
    path = kn.write(tmp_path / "nb.ipynb", nb)
    done = ninja("check", "exercise3", "--file", path.name, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0 and '"correct": 1' in done.stdout, done.stdout + done.stderr
    wrong = RECAP_THEN_FORMULA.replace("n/(n-1)*bnraw", "bnraw")  # Bessel's correction dropped
    assert wrong != RECAP_THEN_FORMULA
    nb.cells[10] = nbformat.v4.new_code_cell(wrong)
    kn.write(path, nb)
    done = ninja("check", "exercise3", "--file", path.name, "--format", "json", cwd=tmp_path)
    assert done.returncode == 1 and '"correct": 0' in done.stdout, done.stdout + done.stderr
    exercise1 = ninja("check", "exercise1", "--file", path.name, "--format", "json", cwd=tmp_path)
    assert exercise1.returncode == 0 and '"correct": 26' in exercise1.stdout  # not taken for exercise 1's


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
    assert f"{CELL7}, line {line}: RuntimeError" in flat(done.stdout)
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
        "cmp('h', 2 * h.grad, h)\ncmp('probs', None, probs)\ncmp('W2', -dW2, W2)\ncmp('b2', dlogits, b2)",
        "cmp('bngain', dbngain * n, bngain)\ncmp('hprebn', dhprebn + torch.randn_like(dhprebn), hprebn)",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "| exact:" in line]
    assert len(lines) == 26 + 6
    assert lines[0].startswith("logprobs        | exact: True  | approximate: True  | maxdiff: 0.0")
    assert all("approximate: True" in line for line in lines[:26])
    assert lines[26].startswith("h               | exact: False | approximate: False")
    # the mistakes named in check's words (ninja/diagnose.py)
    assert "wrong: dh: it is 2 times the right value: an extra factor of 2" in done.stdout
    assert "missing: dprobs is None" in done.stdout
    assert "wrong: dW2: the sign is flipped (it is -1 times the right value)" in done.stdout
    assert "looks like: db2 is (32, 27) for b2's (27,): a sum over dim 0 is missing" in done.stdout
    assert "wrong: dbngain: it is n = 32 times too big" in done.stdout
    assert "wrong: dhprebn differs from autograd (relative error" in done.stdout


def test_cmp_drop_in_fails_a_wrong_shape_that_the_notebooks_cmp_passes(tmp_path):
    # dlogit_maxes has shape (32, 1); a (1,) tensor of the right total broadcasts, so when every row
    # holds the same value the notebook's cmp says exact: True
    setup = "import torch\nt = torch.ones(32, 1, requires_grad=True)\n(t * 3).sum().backward()"
    notebook_cmp = run_cells(setup, kn.CMP, "cmp('logit_maxes', torch.tensor([3.0]), t)", cwd=tmp_path)
    assert "exact: True" in notebook_cmp.stdout
    ours = run_cells(setup, "from ninja import cmp", "cmp('logit_maxes', torch.tensor([3.0, 3.0]), t)", cwd=tmp_path)
    assert "exact: False | approximate: False" in ours.stdout
    assert "dlogit_maxes: wrong shape: (2,) for (32, 1)" in ours.stdout


def test_from_ninja_import_cmp_stays_light():
    code = "import sys\nfrom ninja import cmp\nprint(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent)
    assert done.stdout.strip() == "[]"


def wrong_bndiff2(exercise1=kn.EXERCISE1):
    wrong = exercise1.replace("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / n)")
    assert wrong != exercise1
    return wrong


def test_root_causes_point_at_the_notebook_cell_not_a_temp_file(tmp_path):
    wrong = wrong_bndiff2()
    path = kn.write(tmp_path / "nb.ipynb", kn.notebook(wrong))
    line = next(i for i, text in enumerate(wrong.splitlines(), 1) if text.startswith("dbndiff2 ="))
    table = flat(ninja("check", "exercise1", "--file", path.name, cwd=tmp_path).stdout)
    github = ninja("check", "exercise1", "--file", path.name, "--format", "github", cwd=tmp_path).stdout
    report = json.loads(ninja("check", "exercise1", "--file", path.name, "--format", "json", cwd=tmp_path).stdout)
    assert f"{CELL7}, line {line}: dbndiff2 is wrong: it is (n-1)/n times" in table
    title = 'code cell 7 ("# Exercise 1%3A ...")' + f"%2C line {line}%3A dbndiff2 is wrong"
    assert f"::error file=nb.ipynb,title={title}::it is (n-1)/n" in github
    dbndiff2 = next(v for v in report["variables"] if v["name"] == "bndiff2")
    assert (dbndiff2["cell"], dbndiff2["line"]) == (CELL7.split(", ")[1], line)
    assert "ninja-notebook" not in table + github


def split_at_the_dC_loop(exercise1: str) -> tuple[str, str]:
    """`dC = torch.zeros_like(C)` ends one cell, the loop that fills it is the next."""
    cut = exercise1.index("for k in range(Xb.shape[0]):")
    return exercise1[:cut], exercise1[cut:]


def test_a_cell_that_goes_on_with_a_gradient_is_taken(tmp_path):
    first, loop = split_at_the_dC_loop(kn.EXERCISE1)
    nb = kn.notebook(first, extra_cells=[])
    nb.cells.insert(8, nbformat.v4.new_code_cell(loop))
    path = kn.write(tmp_path / "nb.ipynb", nb)
    done = ninja("check", "exercise1", "--file", path.name, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"correct": 26' in done.stdout


def test_root_causes_in_several_cells_say_their_cell(tmp_path):
    first, loop = split_at_the_dC_loop(wrong_bndiff2())
    nb = kn.notebook(first)
    nb.cells.insert(8, nbformat.v4.new_code_cell(loop))
    path = kn.write(tmp_path / "nb.ipynb", nb)
    line = next(i for i, text in enumerate(first.splitlines(), 1) if text.startswith("dbndiff2 ="))
    done = ninja("check", "exercise1", "--file", path.name, cwd=tmp_path)
    assert f"{CELL7}, line {line}: dbndiff2 is wrong: it is (n-1)/n" in flat(done.stdout)


def test_which_cells_write_which_gradients():
    names = {"dC", "demb", "dlogits", "dh"}
    loop = "for k in range(3):\n  for j in range(2):\n    ix = Xb[k,j]\n    dC[ix] += demb[k,j]\n"
    assert gradient_writes(loop, names) == (set(), {"dC"}, False)
    assert gradient_writes("with torch.no_grad():\n  dC = 0 * C\n  dC.index_add_(0, ix, demb)\n", names) == (
        {"dC"}, {"dC"}, False
    )  # fmt: skip
    assert gradient_writes("for i in range(9):\n  dlogits = 1\n  dlogits[0] -= 1\n", names)[2] is True
    assert gradient_writes("def f():\n  dh = 1\n", names) == (set(), set(), False)
    assert gradient_writes("dh, (demb, dC) = 1, (2, 3)\n", names)[0] == {"dh", "demb", "dC"}
    assert gradient_writes("dh = h @ (W2.T\n", names)[0] == {"dh"}  # a SyntaxError still counts


def test_a_notebook_that_raises_reads_like_the_py_file(tmp_path):
    raising = kn.EXERCISE1.replace("dW2 = h.T @ dlogits", "dW2 = h @ dlogits")
    kn.write(tmp_path / "nb.ipynb", kn.notebook(raising))
    py = (kn.ROOT / "solutions" / "exercise1.py").read_text().replace("dW2 = h.T @ dlogits", "dW2 = h @ dlogits")
    (tmp_path / "answer.py").write_text(py)
    reports = [
        json.loads(ninja("check", "exercise1", "--file", name, "--format", "json", cwd=tmp_path).stdout)
        for name in ("nb.ipynb", "answer.py")
    ]
    keys = ("status", "root_cause", "inherited_from", "diagnosis_kind", "diagnosis")
    rows = [[tuple(v.get(k) for k in keys) for v in r["variables"]] for r in reports]
    assert rows[0] == rows[1]
    statuses = [row[0] for row in rows[0]]
    assert statuses.count("error") == 17 and "missing" not in statuses
    dW2 = next(v for v in reports[0]["variables"] if v["name"] == "W2")
    assert dW2["root_cause"] and dW2["diagnosis"].startswith("this line raised RuntimeError")
    assert dW2["line"] == raising.splitlines().index("dW2 = h @ dlogits") + 1


def test_hint_reads_a_notebook_like_check(tmp_path):
    path = kn.write(tmp_path / "nb.ipynb", kn.notebook(wrong_bndiff2()))
    done = ninja("hint", "exercise1", "--file", path.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{CELL7}, line" in flat(done.stdout) and "dbndiff2 is wrong" in done.stdout
    assert "hint 1/3 for dbndiff2" in done.stdout
    (tmp_path / "empty.ipynb").write_text("{}")
    done = ninja("hint", "exercise1", "--file", "empty.ipynb", cwd=tmp_path)
    assert done.returncode == 2 and "cannot read notebook empty.ipynb" in done.stderr
    assert "Traceback" not in done.stderr


def test_cmp_drop_in_names_aliasing_and_gives_no_second_d(tmp_path):
    aliased = kn.backward_lines().replace("dhprebn = dbndiff.clone()", "dhprebn = dbndiff")
    assert aliased != kn.backward_lines()
    done = run_cells(
        "import torch\nimport torch.nn.functional as F",
        kn.SETUP,
        kn.FORWARD,
        "from ninja import cmp",
        aliased,
        "cmp('bndiff', dbndiff, bndiff)\ncmp('dh', 2 * dh, h)\ncmp('dprobs', None, probs)",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "wrong: dbndiff and dhprebn are the same tensor" in done.stdout
    assert "wrong: dh: it is 2 times the right value" in done.stdout
    assert "missing: dprobs is None" in done.stdout
    assert "ddh" not in done.stdout and "ddprobs" not in done.stdout
