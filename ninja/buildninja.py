"""The other `ninja`: PyPI's `ninja` package (and most Linux distributions) install the ninja build
system under the same command name. Programs call it: torch's C++ extension builds run
`ninja --version` and then `ninja -v` in a folder with a build.ninja; so do meson and CMake.

When our `ninja` is called like the build system, we hand the call to the next `ninja` on PATH
that is not us, or fail with a message that says what happened.

`--version` is the delicate one. A person typing `ninja --version` in a terminal wants ours.
A program asking (stdout not a terminal) parses the reply as the build system's version, so it
gets the build system's answer when there is one on PATH; with none, ours. In a folder with a
build.ninja, `--version` always goes to the build system. `backprop-ninja --version` is always ours.

Only the standard library here: this runs before anything else on every call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

# the build system's options (ninja -h); none of them is one of ours
BUILD_FLAGS = ("-v", "--verbose", "--quiet", "-C", "-f", "-j", "-k", "-l", "-n", "-d", "-t", "-w")
OUR_FIRST_WORDS = ("--help", "-h", "--install-completion", "--show-completion")


def is_our_command(word: str, commands: Callable[[], set[str]]) -> bool:
    if word.startswith("-"):
        return word in OUR_FIRST_WORDS
    return word in commands()  # only now: knowing our commands means importing the CLI


def looks_like_build_system(
    argv: list[str], commands: Callable[[], set[str]], cwd: Path, stdout_is_terminal: bool
) -> bool:
    """Is this call meant for the ninja build system? `commands()`: our subcommand names."""
    has_build_file = (cwd / "build.ninja").is_file()
    if not argv:
        return has_build_file  # a bare `ninja` builds the default target there
    first = argv[0]
    if first == "--version":
        return has_build_file or not stdout_is_terminal
    if is_our_command(first, commands):
        return False
    if any(arg == flag or (arg.startswith(flag) and len(flag) == 2) for arg in argv for flag in BUILD_FLAGS):
        return True  # -j8, -C build, -t targets ...
    return has_build_file  # `ninja sometarget` next to a build.ninja


def is_us(path: Path) -> bool:
    """Is this `ninja` executable backprop-ninja's own console script?"""
    try:
        if sys.argv and Path(sys.argv[0]).resolve() == path.resolve():
            return True
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b"ninja.launch" in head or b"ninja.cli" in head or b"backprop_ninja" in head


def other_ninja(path_variable: str | None = None) -> Path | None:
    """The first `ninja` on PATH that is not backprop-ninja."""
    for folder in (path_variable if path_variable is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = Path(folder or ".") / "ninja"
        if candidate.is_file() and os.access(candidate, os.X_OK) and not is_us(candidate):
            return candidate
    return None


HERE = Path(__file__).resolve().parent  # our package's folder


def overwritten(here: Path = HERE) -> str:
    """A note when PyPI's ninja is installed beside us (in `here`) and our `ninja` command replaced its own."""
    if not (here / "ninja_syntax.py").is_file():  # a file only PyPI's ninja installs
        return ""
    return (
        f"\nPyPI's ninja package is installed here too ({here}), but backprop-ninja, installed after it, "
        "replaced its `ninja` command; `pip install --force-reinstall ninja` brings the build system back "
        "(then use `backprop-ninja` for this checker)."
    )


def hand_over(argv: list[str], commands: Callable[[], set[str]]) -> None:
    """Called first by `ninja`: if the call is for the build system, exec it (never returns) or
    exit 2 with an explanation. Returns when the call is ours."""
    if os.path.basename(sys.argv[0] if sys.argv else "") == "backprop-ninja":
        return  # the alias is never the build system
    if not looks_like_build_system(argv, commands, Path.cwd(), sys.stdout.isatty()):
        return
    build_system = other_ninja()
    if build_system is not None:
        sys.stdout.flush()
        os.execv(build_system, [str(build_system), *argv])
    if argv == ["--version"]:
        return  # no build system to answer for: ours, so `ninja --version` works in any log
    print(
        f"ninja: `ninja {' '.join(argv)}` looks like a call to the ninja build system"
        + (" (there is a build.ninja here)" if (Path.cwd() / "build.ninja").is_file() else "")
        + ", but this `ninja` is backprop-ninja and no other `ninja` is on PATH.\n"
        "Install the build system (`pip install ninja` in another environment, or your system's ninja-build)"
        " and put it on PATH; backprop-ninja stays available as `backprop-ninja`." + overwritten(),
        file=sys.stderr,
    )
    raise SystemExit(2)
