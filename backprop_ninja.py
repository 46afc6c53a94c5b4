"""Where the console scripts `ninja` and `backprop-ninja` start: outside the package `ninja`, because
another package of that name (PyPI's `ninja`, the build system, common next to torch) may be the one
Python finds first. It shadows ours when ours is an editable install (`pip install -e .`: ours lies in
the checkout, theirs in site-packages, which comes first) or when theirs lies in a folder earlier on
the path (`pip install --user ninja`, PYTHONPATH). A script that began `from ninja.launch import main`
then died with ModuleNotFoundError; this says in one line which `ninja` is in the way and the command
that mends it. Where both share one folder (ours installed from a wheel, theirs before or after),
nothing is shadowed: ninja/clash.py says what was overwritten, and everything runs.

Standard library only, and it imports nothing of the other package: it runs on every start.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

MARK = Path("ninja", "launch.py")  # a file of ours that PyPI's ninja does not have


def ours() -> Path | None:
    """Our package's folder: the first on Python's path that holds ninja/launch.py."""
    for entry in sys.path:
        if (Path(entry or ".") / MARK).is_file():
            return (Path(entry or ".") / MARK).parent.resolve()
    return None


def in_the_way(mine: Path | None) -> Path | None:
    """The folder of the package `ninja` that Python finds instead of ours; None when it finds ours
    (or ours shares its folder with the other one's files, or is a namespace package that holds it)."""
    spec = importlib.util.find_spec("ninja")
    if spec is None or mine is None:
        return None  # no package at all, or none of ours: the import below says so
    folders = [Path(p).resolve() for p in (spec.submodule_search_locations or [])]
    if mine in folders:
        return None
    return folders[0] if folders else Path(spec.origin or "ninja").resolve()


def editable_source() -> str | None:
    """The checkout an editable install of ours points at (pip's direct_url.json); None otherwise."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        url = json.loads(distribution("backprop-ninja").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        return None
    if url.get("dir_info", {}).get("editable") and url.get("url", "").startswith("file://"):
        return url["url"][len("file://") :]
    return None


def remedy(theirs: Path, environ: Mapping[str, str] = os.environ) -> str:
    """The one command that takes the other `ninja` out of the way and leaves ours whole."""
    python = shlex.quote(sys.executable)
    search = [entry for entry in environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if any(Path(entry).resolve() == theirs.parent for entry in search):
        kept = [entry for entry in search if Path(entry).resolve() != theirs.parent]
        return f"export PYTHONPATH={shlex.quote(os.pathsep.join(kept))}" if kept else "unset PYTHONPATH"
    uninstall = f"{python} -m pip uninstall -y ninja"
    source = editable_source()
    if source:  # theirs shares our environment's bin/: uninstalling it takes our `ninja` command too
        return f"{uninstall} && {python} -m pip install --no-deps -e {shlex.quote(source)}"
    return uninstall


def what(theirs: Path) -> str:
    if (theirs / "ninja_syntax.py").is_file():  # a file only PyPI's ninja has
        return "PyPI's ninja (the ninja build system)"
    return "another package named ninja"


def main() -> None:
    mine = ours()
    theirs = in_the_way(mine)
    if theirs is not None:
        print(
            f"backprop-ninja: {what(theirs)} at {theirs} comes before backprop-ninja's {mine} on Python's path, "
            f"so backprop-ninja cannot start; to fix, run: {remedy(theirs)}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from ninja.launch import main as launch

    launch()


if __name__ == "__main__":
    main()
