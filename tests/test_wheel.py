"""A non-editable install works: build the wheel, install it into a fresh virtual environment (that
borrows torch and the other dependencies from this one instead of downloading them), then
`ninja init` and `ninja check exercise1` there, away from the source checkout."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_wheel_installs_and_runs_init_and_check(tmp_path):
    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        tmp_path / "dist",
        ROOT,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("backprop_ninja-*.whl")

    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    site = Path(
        run(
            env / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).stdout.strip()
    )
    # torch, typer, rich, watchfiles, nbformat from this environment (a .pth adds its site-packages
    # at the end of sys.path, so the wheel's own `ninja` wins over this checkout's editable one)
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        env / "bin" / "python",
        "install",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr

    ninja = env / "bin" / "ninja"
    init = run(ninja, "init", "ws", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    where = run(env / "bin" / "python", "-c", "import ninja.exercise as e; print(e.bundled('exercises'))", cwd=tmp_path)
    assert where.stdout.strip() == str(site / "ninja" / "_bundled" / "exercises")  # from the wheel, not the checkout

    check = run(ninja, "check", "exercise1", cwd=tmp_path / "ws")
    assert check.returncode == 1 and "0/26 correct (26 missing)" in check.stdout, check.stdout + check.stderr
    (tmp_path / "ws" / "exercises" / "exercise1.py").write_text(
        run(ninja, "solution", "exercise1", "--force", cwd=tmp_path).stdout
    )
    check = run(ninja, "check", "exercise1", cwd=tmp_path / "ws")
    assert check.returncode == 0 and "26/26 correct: exercise1 passes." in check.stdout
