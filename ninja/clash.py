"""The other Python package named `ninja`. PyPI's `ninja` (the ninja build system, common next to
torch, whose C++ extension builds use it) installs a package `ninja` too, with its own
ninja/__init__.py, ninja/__main__.py and a `ninja` command: installed in the same environment,
whichever came last owns those three files, and `pip uninstall ninja` then removes them, ours
included. Everything here works without our __init__.py; this says what happened and what to run.

Only the standard library, and nothing slow: it runs on every start.
"""

from __future__ import annotations

import sys
from pathlib import Path

REINSTALL = "pip install --force-reinstall --no-deps backprop-ninja"


def problem() -> str | None:
    """What is wrong with the `ninja` package Python found, in words with the command to run; None
    when its __init__.py is ours."""
    package = sys.modules.get("ninja")
    if package is None or getattr(package, "__backprop_ninja__", False):
        return None
    folder = Path(__file__).resolve().parent  # ours; theirs is here too, or this module could not be found
    if getattr(package, "__file__", None) is None:  # a namespace package: no __init__.py at all
        return (
            f"backprop-ninja's ninja/__init__.py is missing from {folder}: `pip uninstall ninja` (PyPI's ninja, "
            "the build system) removed it, and the `ninja` command, since both packages install them. "
            f"`backprop-ninja` and `from ninja import cmp` still work; to mend the rest, run: {REINSTALL}"
        )
    return (
        f"PyPI's ninja package (the ninja build system) was installed over backprop-ninja in {folder}: both "
        "install a Python package `ninja`, so its __init__.py and its `ninja` command replaced ours. "
        "backprop-ninja works as `backprop-ninja check ...` and `from ninja import cmp`; to get `ninja check` "
        f"back, run: {REINSTALL} (the build system's `ninja` command then goes: torch's C++ extension builds "
        "need it, so keep it in another environment if you build those)"
    )


def warn() -> None:
    """The problem, if there is one, as one note on stderr."""
    message = problem()
    if message:
        print(f"backprop-ninja: note: {message}", file=sys.stderr)


def version() -> str:
    """Our version, also when ninja/__init__.py is the build system's (which has its own __version__)."""
    package = sys.modules.get("ninja")
    if package is not None and getattr(package, "__backprop_ninja__", False):
        return package.__version__
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("backprop-ninja")
    except PackageNotFoundError:
        return "unknown"
