"""The name clash with PyPI's `ninja` (the build system), end to end: real pip installs, in each order,
into fresh virtual environments (which borrow torch and the rest from this one). Whatever the order or
the path, `backprop-ninja` runs, or says in one line which `ninja` is in the way and the command that
fixes it, and that command does."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import ROOT, needed


def run(*args, cwd: Path, env: dict | None = None, shell: bool = False) -> subprocess.CompletedProcess:
    command = args[0] if shell else [str(a) for a in args]
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"NO_COLOR": "1"} | (env or {})
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=environment, shell=shell)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """Ours, built from this checkout, and PyPI's ninja, as pip downloads it."""
    folder = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip"]
    built = run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", folder, ROOT, cwd=folder)
    assert built.returncode == 0, built.stderr
    fetched = run(*pip, "download", "--no-deps", "--only-binary", ":all:", "-d", folder, "ninja", cwd=folder)
    needed("PyPI's ninja wheel", fetched.returncode == 0, f"`pip download ninja` failed: {fetched.stderr[-300:]}")
    (ours,) = folder.glob("backprop_ninja-*.whl")
    (theirs,) = folder.glob("ninja-*.whl")
    return {"ours": ours, "theirs": theirs}


class Env:
    """A fresh virtual environment without pip (this one's pip installs into it), borrowing the
    dependencies: a .pth puts this environment's site-packages at the end of its path."""

    def __init__(self, folder: Path):
        venv.create(folder, with_pip=False)
        self.folder, self.python = folder, folder / "bin" / "python"
        purelib = run(self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=folder)
        (Path(purelib.stdout.strip()) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    def pip(self, *args) -> None:
        done = run(sys.executable, "-m", "pip", "--python", self.python, *args, cwd=self.folder)
        assert done.returncode == 0, done.stderr

    def install(self, what: Path | str) -> None:
        if what == "editable":
            self.pip("install", "--no-deps", "--no-build-isolation", "-e", ROOT)
        else:
            self.pip("install", "--no-deps", "--no-index", what)

    def run(self, command: str, *args, env: dict | None = None) -> subprocess.CompletedProcess:
        path = {"PATH": f"{self.folder / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        return run(self.folder / "bin" / command, *args, cwd=self.folder, env=path | (env or {}))


def works(env: Env, command: str = "backprop-ninja", extra: dict | None = None) -> subprocess.CompletedProcess:
    """`init` makes a workspace, `check` checks a file in it: the whole program, not just its start."""
    init = env.run(command, "init", "ws", env=extra)
    assert init.returncode == 0 and (env.folder / "ws" / "exercises" / "exercise2.py").is_file(), init.stderr
    checked = run(env.folder / "bin" / command, "check", "exercise2", cwd=env.folder / "ws", env=extra)
    assert checked.returncode == 1 and "0/1 correct (1 missing)" in checked.stdout, checked.stderr
    return init


def one_line_with_its_fix(done: subprocess.CompletedProcess, theirs: Path) -> str:
    """The refusal: exit 2, no traceback, one line naming the other package's folder; returns the fix."""
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("backprop-ninja: PyPI's ninja (the ninja build system) at ") and str(theirs) in line, line
    return line.split("to fix, run: ", 1)[1]


def test_ours_from_a_wheel_then_pypis_ninja_runs_with_a_note_and_after_its_uninstall_too(tmp_path, wheels):
    env = Env(tmp_path / "env")
    env.install(wheels["ours"])
    env.install(wheels["theirs"])
    init = works(env)
    assert "PyPI's ninja package (the ninja build system) was installed over backprop-ninja" in init.stderr
    build_system = run(env.folder / "bin" / "ninja", "--version", cwd=tmp_path)  # `ninja` is theirs now
    assert build_system.stdout.startswith(wheels["theirs"].name.split("-")[1])

    env.pip("uninstall", "-y", "ninja")  # takes our __init__.py and `ninja` command with it
    init = works(env)
    assert "backprop-ninja's ninja/__init__.py is missing" in init.stderr


def test_pypis_ninja_then_ours_from_a_wheel_runs(tmp_path, wheels):
    env = Env(tmp_path / "env")
    env.install(wheels["theirs"])
    env.install(wheels["ours"])
    init = works(env, "ninja")
    assert "note" not in init.stderr
    works(env)


@pytest.mark.parametrize("order", ["editable-then-theirs", "theirs-then-editable"])
def test_an_editable_install_shadowed_by_pypis_ninja_says_so_in_one_line_and_the_fix_works(tmp_path, wheels, order):
    env = Env(tmp_path / "env")
    for step in order.split("-then-"):
        env.install("editable" if step == "editable" else wheels["theirs"])
    site = Path(run(env.python, "-c", "import ninja; print(ninja.__path__[0])", cwd=tmp_path).stdout.strip())
    fix = one_line_with_its_fix(env.run("backprop-ninja", "init", "ws"), site)
    assert fix.startswith(f"{env.python} -m pip uninstall -y ninja && ")
    # as printed, offline: pip's own variables keep it from the network (0 turns build isolation off)
    mended = run(fix, cwd=tmp_path, env={"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}, shell=True)
    assert mended.returncode == 0, mended.stderr
    works(env)
    works(env, "ninja")


def test_pypis_ninja_earlier_on_pythonpath_says_so_and_the_fix_works(tmp_path, wheels):
    env = Env(tmp_path / "env")
    env.install(wheels["ours"])
    other = tmp_path / "other"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", other, wheels["theirs"]]
    assert run(*pip, cwd=tmp_path).returncode == 0
    shadowed = env.run("backprop-ninja", "init", "ws", env={"PYTHONPATH": str(other)})
    fix = one_line_with_its_fix(shadowed, other / "ninja")
    assert fix == "unset PYTHONPATH"
    works(env)  # run() starts every command without PYTHONPATH: the fix
