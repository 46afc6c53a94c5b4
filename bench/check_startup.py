"""Cold start of `ninja check exercise1` against `python -c "import torch"`, the floor.

Runs the two commands alternately (so machine noise hits both alike) and reports the median of
each and the ratio of medians. Target: ratio <= 1.15 (issue 15: torch and little else).

    .venv/bin/python bench/check_startup.py [--runs 15] [--also OTHER/bin/python]

A second floor, `import torch; gc.freeze()`, is what ninja itself does on import (ninja/settings.py):
the freeze also spares the collection at exit that a bare `import torch` pays, so the check is
reported against both floors.

--also adds a command, the same check from another environment's `ninja` (another typer,
say), to the same alternation: its ratio is against the same floor.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--also", type=Path, help="another environment's python: its `ninja check` too")
    args = parser.parse_args()
    check = ["check", "exercise1", "--file", "solutions/exercise1.py"]
    commands = {"check": [str(Path(sys.executable).parent / "ninja"), *check]}
    if args.also:
        commands[f"check ({args.also})"] = [str(args.also.parent / "ninja"), *check]
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
        print(f"ratio {k}: {medians[k] / medians['import torch']:.2f} (target <= 1.15); "
              f"against the frozen floor: {medians[k] / medians['import torch; gc.freeze()']:.2f}")


if __name__ == "__main__":
    main()
