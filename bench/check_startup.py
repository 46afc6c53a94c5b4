"""Cold start of `ninja check exercise1` against `python -c "import torch"`, the floor.

Runs the two commands alternately (so machine noise hits both alike) and reports the median of
each and the ratio of medians. Target: ratio <= 1.15 (issue 15: torch and little else).

    .venv/bin/python bench/check_startup.py [--runs 15] [--also OTHER/bin/python]

A second floor, `import torch; gc.freeze()`, is what ninja itself does on import (ninja/settings.py):
the freeze also spares the collection at exit that a bare `import torch` pays, so the check is
reported against both floors.

--also adds a command, the same check from another environment's `ninja` (another typer,
say), to the same alternation: its ratio is against the same floor.

--authored adds the cold check of an exercise written as a file (tests/fixtures/exercises/
attention.py, registered in a workspace's ninja.toml, its solution checked): what a course's own
exercise costs to load, validate and check.

--before DIR adds the bundled check run from another source tree (a checkout of main, say) with
this environment's python (`python -m ninja` with PYTHONPATH=DIR), beside the same command on this
tree: the before and after of a change, in one alternation.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seconds(command: list[str] | tuple) -> float:
    """One run's wall time; a command is a list, or (list, cwd, extra environment)."""
    command, cwd, env = command if isinstance(command, tuple) else (command, ROOT, {})
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


AFTER_TORCH = """import time, torch, sys
start = time.perf_counter()
from ninja.registry import find
from ninja.settings import Settings
report = find(sys.argv[1]).check(sys.argv[2], Settings())
assert report.passed
print(time.perf_counter() - start)
"""


def after_torch(command: tuple) -> float:
    """What ninja itself costs once torch is imported: its imports and the check, timed inside."""
    command, cwd, env = command
    done = subprocess.run(command, cwd=cwd, env=os.environ | env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def authored_workspace() -> Path:
    """A workspace whose ninja.toml registers the attention exercise file, its solution beside it."""
    folder = Path(tempfile.mkdtemp(prefix="ninja-bench-"))
    for name in ("attention.py", "attention_solution.py"):
        shutil.copyfile(ROOT / "tests" / "fixtures" / "exercises" / name, folder / name)
    (folder / "ninja.toml").write_text('[exercises.attention]\nfile = "attention.py"\n')
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--also", type=Path, help="another environment's python: its `ninja check` too")
    parser.add_argument("--authored", action="store_true", help="an exercise file's check too")
    parser.add_argument("--before", type=Path, help="another source tree: its check with this python too")
    parser.add_argument("--after-torch", action="store_true", help="time ninja's part only, inside the process")
    args = parser.parse_args()
    if args.after_torch:
        return ninja_part(args)
    check = ["check", "exercise1", "--file", "solutions/exercise1.py"]
    ninja = str(Path(sys.executable).parent / "ninja")
    commands = {"check": [ninja, *check]}
    if args.also:
        commands[f"check ({args.also})"] = [str(args.also.parent / "ninja"), *check]
    if args.before:
        solution = str(ROOT / "solutions" / "exercise1.py")
        for label, tree in (("this tree", ROOT), (str(args.before), args.before.resolve())):
            module = [sys.executable, "-m", "ninja", "check", "exercise1", "--file", solution]
            commands[f"check (python -m, {label})"] = (module, tree, {"PYTHONPATH": str(tree)})
    if args.authored:
        folder = authored_workspace()
        commands["check (authored: attention.py)"] = ([ninja, "check", "attention", "--file", "attention_solution.py"],
                                                      folder, {})  # fmt: skip
    commands["import torch; gc.freeze()"] = [sys.executable, "-c", "import gc, torch; gc.freeze()"]
    commands["import torch"] = [sys.executable, "-c", "import torch"]
    for command in commands.values():
        seconds(command)  # warm the file cache
    times = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(seconds(command))
    medians = {k: statistics.median(v) for k, v in times.items()}
    width = max(map(len, medians))
    for k, v in medians.items():
        print(f"{k:>{width}}: median {v:.3f} s over {args.runs} runs")
    for k in [k for k in medians if k.startswith("check")]:
        print(
            f"ratio {k}: {medians[k] / medians['import torch']:.2f} (target <= 1.15); "
            f"against the frozen floor: {medians[k] / medians['import torch; gc.freeze()']:.2f}"
        )


def ninja_part(args) -> None:
    """--after-torch: the seconds from after `import torch` to a passing check, in the process,
    for this tree, --before's, and (--authored) an exercise file; alternated, medians."""
    solution = str(ROOT / "solutions" / "exercise1.py")
    trees = {"this tree": ROOT} | ({str(args.before): args.before.resolve()} if args.before else {})
    commands = {
        f"exercise1 ({label})": (
            [sys.executable, "-c", AFTER_TORCH, "exercise1", solution],
            ROOT,
            {"PYTHONPATH": str(tree)},
        )
        for label, tree in trees.items()
    }
    if args.authored:
        folder = authored_workspace()
        command = [sys.executable, "-c", AFTER_TORCH, "attention", "attention_solution.py"]
        commands["attention.py (authored, this tree)"] = (command, folder, {"PYTHONPATH": str(ROOT)})
    times = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(after_torch(command))
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values) * 1000:.0f} ms after import torch, over {args.runs} runs")


if __name__ == "__main__":
    main()
