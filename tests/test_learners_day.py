"""init, reset, solution, list, --workspace, help, version, colour and completion: through the
`ninja` command, as a person types it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect

from ninja.registry import EXERCISES

ROOT = Path(__file__).resolve().parent.parent
NINJA = str(Path(sys.executable).parent / "ninja")
COMMANDS = ("check", "list", "init", "reset", "solution", "watch")


def ninja(*args, cwd, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "NINJA_WORKSPACE")} | env
    return subprocess.run([NINJA, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=environment)


def test_init_creates_a_workspace_and_keeps_what_is_there(tmp_path):
    done = ninja("init", "ws", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("exercise1", "exercise2", "exercise3"):
        assert (tmp_path / "ws" / "exercises" / f"{name}.py").read_text() == (
            ROOT / "exercises" / f"{name}.py"
        ).read_text()
    assert "ninja check exercise1" in (tmp_path / "ws" / "README.md").read_text()
    assert "Next: cd ws && ninja check exercise1" in done.stdout

    mine = tmp_path / "ws" / "exercises" / "exercise1.py"
    mine.write_text("# my work\n")
    again = ninja("init", "ws", cwd=tmp_path)
    assert again.returncode == 0
    assert f"kept    {Path('ws/exercises/exercise1.py')} (already there)" in again.stdout
    assert mine.read_text() == "# my work\n"

    (tmp_path / "afile").write_text("")
    clash = ninja("init", "afile", cwd=tmp_path)
    assert clash.returncode == 2 and "afile exists and is not a folder" in clash.stderr


def test_workspace_reset_solution_and_list(tmp_path):
    ws = tmp_path / "ws"
    ninja("init", str(ws), cwd=tmp_path)
    missing = ninja("check", "exercise2", "--workspace", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "is not a folder" in missing.stderr

    # the solution waits until the exercise passes, unless forced
    locked = ninja("solution", "exercise2", cwd=ws)
    assert locked.returncode == 1 and "exercise2 does not pass yet (0/1 correct)" in locked.stderr
    assert "dlogits" not in locked.stdout
    forced = ninja("solution", "exercise2", "--force", cwd=ws)
    assert forced.stdout == (ROOT / "solutions" / "exercise2.py").read_text()

    shutil.copy(ROOT / "solutions" / "exercise2.py", ws / "exercises")
    assert "dlogits = F.softmax(logits, 1)" in ninja("solution", "exercise2", cwd=ws).stdout

    listed = ninja("list", cwd=tmp_path, NINJA_WORKSPACE=str(ws))  # finds the exercises from anywhere
    assert listed.returncode == 0
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if line.startswith("│ exercise")}
    assert "passed" in rows["exercise2"] and "not started" in rows["exercise1"]
    assert f"1 of {len(EXERCISES)} exercises pass" in listed.stdout

    # reset keeps the learner's file as a backup, next to older backups
    (ws / "exercises" / "exercise2.py.bak").write_text("# an older backup\n")
    done = ninja("reset", "exercise2", "--workspace", str(ws), cwd=tmp_path)
    assert done.returncode == 0 and "exercise2.py.bak2" in done.stdout
    assert (ws / "exercises" / "exercise2.py").read_text() == (ROOT / "exercises" / "exercise2.py").read_text()
    assert (ws / "exercises" / "exercise2.py.bak2").read_text() == (ROOT / "solutions" / "exercise2.py").read_text()


def test_unknown_exercises_list_the_known_ones_without_a_traceback(tmp_path):
    for command in ("reset", "watch"):
        done = ninja(command, "exercize1", cwd=tmp_path)
        assert done.returncode == 2
        known = ", ".join(EXERCISES)
        assert f"no exercise named 'exercize1'. Did you mean exercise1? Known: {known}." in done.stderr
        assert "Traceback" not in done.stderr


def test_every_command_has_help_with_an_example_and_there_is_a_version(tmp_path):
    for command in COMMANDS:
        done = ninja(command, "--help", cwd=tmp_path)
        assert done.returncode == 0 and "Example: ninja " in done.stdout, command
    assert "Example: ninja init" in ninja("--help", cwd=tmp_path).stdout
    assert ninja("--version", cwd=tmp_path, PATH="/nonexistent").stdout == "backprop-ninja 0.1.0\n"


def test_plain_when_piped_colour_in_a_terminal_unless_no_color(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "exercises")
    assert "\x1b[" not in ninja("list", cwd=tmp_path).stdout

    def in_terminal(**env):
        environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | env | {"TERM": "xterm-256color"}
        child = pexpect.spawn(NINJA, ["list"], cwd=str(tmp_path), env=environment, encoding="utf-8", timeout=120)
        child.expect(pexpect.EOF)
        return child.before

    assert "\x1b[32mpassed" in in_terminal()
    plain = in_terminal(NO_COLOR="1")
    assert "passed" in plain and "\x1b[32m" not in plain


def test_shell_completion_offers_exercises(tmp_path):
    script = ninja(cwd=tmp_path, _NINJA_COMPLETE="source_bash")  # what --show-completion shows in bash
    assert script.returncode == 0 and "_NINJA_COMPLETE=complete_bash" in script.stdout
    done = ninja(cwd=tmp_path, _NINJA_COMPLETE="complete_bash", COMP_WORDS="ninja reset ex", COMP_CWORD="2")
    assert done.stdout.split() == [name for name in EXERCISES if name.startswith("ex")]


def test_reset_of_the_template_or_of_a_backed_up_file_adds_no_backup(tmp_path):
    ws = tmp_path / "ws"
    ninja("init", str(ws), cwd=tmp_path)
    mine = ws / "exercises" / "exercise1.py"
    template = mine.read_text()

    untouched = ninja("reset", "exercise1", cwd=ws)
    assert untouched.returncode == 0 and "is already the template: nothing to reset" in untouched.stdout
    assert sorted(p.name for p in mine.parent.glob("exercise1.py*")) == ["exercise1.py"]

    mine.write_text(template + "# my work\n")
    for _ in range(3):  # reset again and again: one backup
        assert ninja("reset", "exercise1", cwd=ws).returncode == 0
    assert sorted(p.name for p in mine.parent.glob("exercise1.py*")) == ["exercise1.py", "exercise1.py.bak"]

    mine.write_text(template + "# my work\n")  # the backup, put back and reset unchanged: kept already
    again = ninja("reset", "exercise1", cwd=ws)
    assert f"your file was already kept as {Path('exercises/exercise1.py.bak')}" in again.stdout
    assert sorted(p.name for p in mine.parent.glob("exercise1.py*")) == ["exercise1.py", "exercise1.py.bak"]
    assert (mine.parent / "exercise1.py.bak").read_text() == template + "# my work\n"
    assert mine.read_text() == template


# ---- the name clash with PyPI's `ninja` (the build system), detected -------------------------

PYPI_INIT = '''"""Stands in for PyPI's ninja/__init__.py (the build system's package), as pip writes it over ours."""
import subprocess, sys
from ._version import version as __version__
def ninja():
    raise SystemExit(subprocess.call(["ninja-build", *sys.argv[1:]]))
'''


def site_with_our_package(tmp_path: Path) -> Path:
    """A folder on PYTHONPATH holding a copy of our package, as one site-packages holds it."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "ninja", site / "ninja", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def python_in(site: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    """`code` with `site` as the only place a `ninja` package is found (not this checkout's editable install)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(site), "NO_COLOR": "1"}
    alone = (
        "import os, sys; sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') == "
        f"{str(site)!r} or not os.path.isfile(os.path.join(p or '.', 'ninja', '__init__.py'))]; "
    )
    return subprocess.run(
        [sys.executable, "-c", alone + code, *args], cwd=site, capture_output=True, text=True, timeout=120, env=env
    )


LAUNCH = "import sys; sys.argv[0] = 'backprop-ninja'; from ninja.launch import main; main()"


def test_pypis_ninja_over_ours_is_named_and_everything_still_works(tmp_path):
    site = site_with_our_package(tmp_path)
    (site / "ninja" / "__init__.py").write_text(PYPI_INIT)  # `pip install ninja` after backprop-ninja
    (site / "ninja" / "_version.py").write_text("version = '1.13.2'\n")
    (site / "ninja" / "ninja_syntax.py").write_text("")
    done = python_in(site, "from ninja import cmp; print(cmp.__name__)")
    assert done.returncode == 0 and done.stdout == "cmp\n", done.stderr
    assert "PyPI's ninja package (the ninja build system) was installed over backprop-ninja" in done.stderr
    assert "pip install --force-reinstall --no-deps backprop-ninja" in done.stderr
    version = python_in(site, LAUNCH, "--version")
    assert version.returncode == 0 and version.stdout == "backprop-ninja 0.1.0\n"  # not the build system's 1.13.2
    assert version.stderr.count("backprop-ninja: note:") == 1


def test_after_pip_uninstall_ninja_removed_our_init_it_says_what_to_run(tmp_path):
    site = site_with_our_package(tmp_path)
    (site / "ninja" / "__init__.py").unlink()  # `pip uninstall ninja` removes the __init__.py it had written
    done = python_in(site, "from ninja import cmp; print(cmp.__name__)")
    assert done.returncode == 0 and done.stdout == "cmp\n", done.stderr
    assert "ninja/__init__.py is missing" in done.stderr and "pip uninstall ninja" in done.stderr
    listed = python_in(site, LAUNCH, "list", "--workspace", str(tmp_path))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "pip install --force-reinstall --no-deps backprop-ninja" in listed.stderr


def test_with_our_init_nothing_is_said(tmp_path):
    site = site_with_our_package(tmp_path)
    done = python_in(site, "from ninja import cmp; import ninja.cmp; print(cmp is ninja.cmp)")
    assert done.stdout == "True\n" and done.stderr == ""


def test_the_workspace_is_the_nearest_folder_above_with_exercises_or_a_ninja_toml(tmp_path):
    from ninja.workspace import find_root

    (tmp_path / "course" / "week1" / "notes").mkdir(parents=True)
    assert find_root(tmp_path / "course" / "week1" / "notes") is None
    (tmp_path / "course" / "ninja.toml").write_text("")
    assert find_root(tmp_path / "course" / "week1" / "notes") == (tmp_path / "course").resolve()
    (tmp_path / "course" / "week1" / "exercises").mkdir()
    assert find_root(tmp_path / "course" / "week1" / "notes") == (tmp_path / "course" / "week1").resolve()
    assert find_root(tmp_path / "course" / "week1" / "exercises") == (tmp_path / "course" / "week1").resolve()
