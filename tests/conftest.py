import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NINJA = Path(sys.executable).parent / "ninja"  # the console script, as a user types it


def solution_with(tmp_path: Path, exercise: str, old: str, new: str) -> Path:
    """A copy of solutions/<exercise>.py with one edit: how a learner's mistake looks."""
    source = (ROOT / "solutions" / f"{exercise}.py").read_text()
    assert source.count(old) == 1, f"{old!r} must appear exactly once in the solution"
    path = tmp_path / f"{exercise}.py"
    path.write_text(source.replace(old, new))
    return path


def run_ninja(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = os.environ | {"NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([str(NINJA), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def mistake(tmp_path):
    return lambda exercise, old, new: solution_with(tmp_path, exercise, old, new)
