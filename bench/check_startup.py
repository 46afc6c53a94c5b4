"""Cold start of `ninja check exercise1` against `python -c "import torch"`, the floor.

Runs the two commands alternately (so machine noise hits both alike) and reports the median of
each and the ratio of medians. Target: ratio <= 1.15 (issue 15: torch and little else).

    .venv/bin/python bench/check_startup.py [--runs 15]
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NINJA = Path(sys.executable).parent / "ninja"


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    check = [str(NINJA), "check", "exercise1", "--file", "solutions/exercise1.py"]
    floor = [sys.executable, "-c", "import torch"]
    seconds(check), seconds(floor)  # warm the file cache
    times = {"check": [], "import torch": []}
    for _ in range(runs):
        times["check"].append(seconds(check))
        times["import torch"].append(seconds(floor))
    medians = {k: statistics.median(v) for k, v in times.items()}
    for k, v in medians.items():
        print(f"{k:>14}: median {v:.3f} s over {runs} runs")
    print(f"ratio: {medians['check'] / medians['import torch']:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
