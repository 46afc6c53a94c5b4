"""The `ninja` name clash: called like the ninja build system, our `ninja` hands over to the next
`ninja` on PATH, or says what happened and exits 2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

OURS = Path(sys.executable).parent  # the console scripts `ninja` and `backprop-ninja`


@pytest.fixture
def build_system(tmp_path):
    """A stand-in for the build system's `ninja`, later on PATH than ours."""
    folder = tmp_path / "buildtools"
    folder.mkdir()
    fake = folder / "ninja"
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo 1.11.1; exit 0; fi\necho "build system got: $*"\n')
    fake.chmod(0o755)
    return folder


def run(args, cwd, path_folders, tty=False):
    env = {**os.environ, "PATH": os.pathsep.join(str(f) for f in path_folders)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_build_system_options_go_to_the_next_ninja_on_path(tmp_path, build_system):
    for args in (["-v"], ["-j", "8"], ["-j8"], ["-C", "build"], ["-t", "targets"], ["-f", "other.ninja"]):
        done = run([OURS / "ninja", *args], tmp_path, [OURS, build_system])
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"build system got: {' '.join(args)}\n"


def test_a_build_ninja_in_the_folder_hands_over_bare_calls_and_targets(tmp_path, build_system):
    (tmp_path / "build.ninja").write_text("")
    assert run([OURS / "ninja"], tmp_path, [OURS, build_system]).stdout == "build system got: \n"
    assert run([OURS / "ninja", "out.o"], tmp_path, [OURS, build_system]).stdout == "build system got: out.o\n"
    assert run([OURS / "ninja", "--version"], tmp_path, [OURS, build_system]).stdout == "1.11.1\n"
    # our commands stay ours, even there
    done = run([OURS / "ninja", "check", "exercise9"], tmp_path, [OURS, build_system])
    assert done.returncode == 2 and "no exercise named 'exercise9'" in done.stderr


def test_torch_asking_for_the_version_gets_the_build_systems(tmp_path, build_system):
    # torch.utils.cpp_extension runs `ninja --version` with its output captured (not a terminal)
    code = "import subprocess; print(subprocess.check_output('ninja --version'.split()).decode(), end='')"
    done = run([sys.executable, "-c", code], tmp_path, [OURS, build_system])
    assert done.stdout == "1.11.1\n"


def test_a_person_asking_for_the_version_gets_ours(tmp_path, build_system):
    # in a terminal, `ninja --version` is a person: ours
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "PATH": os.pathsep.join([str(OURS), str(build_system)])}
    child = pexpect.spawn(str(OURS / "ninja"), ["--version"], cwd=str(tmp_path), env=env, encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    assert child.before.strip() == "backprop-ninja 0.1.0"
    # the alias is always ours
    done = run([OURS / "backprop-ninja", "--version"], tmp_path, [OURS, build_system])
    assert done.stdout == "backprop-ninja 0.1.0\n"


def test_without_a_build_system_it_says_what_happened(tmp_path):
    done = run([OURS / "ninja", "-v"], tmp_path, [OURS, "/nonexistent"])
    assert done.returncode == 2
    assert "looks like a call to the ninja build system" in done.stderr
    assert "no other `ninja` is on PATH" in done.stderr and "backprop-ninja" in done.stderr
    assert "Traceback" not in done.stderr
    # and --version, with nobody else to answer for, is ours
    done = run([OURS / "ninja", "--version"], tmp_path, [OURS])
    assert done.stdout == "backprop-ninja 0.1.0\n"


def test_a_build_system_we_overwrote_is_named(tmp_path):
    """PyPI's ninja installed before backprop-ninja: its files stay beside ours, its command is ours now."""
    from ninja.buildninja import overwritten

    assert overwritten(tmp_path) == ""
    (tmp_path / "ninja_syntax.py").write_text("")  # a file only PyPI's ninja installs
    note = overwritten(tmp_path)
    assert "replaced its `ninja` command" in note and "pip install --force-reinstall ninja" in note
