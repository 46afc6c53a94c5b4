"""A check on torch's default threads against one thread (ninja.watchdog.one_thread), per exercise.

`ninja check` runs the check inside one_thread() (ninja/cli/base.py's watched_check); this measures
whether that is right for each exercise: each run is a fresh process (torch's thread pool starts at
the first operation that uses it, so its start is part of a check's cost), the solution checked
and timed inside, after the imports. The two ways alternate, so machine noise hits both alike;
reported: the median of each and the ratio default / one (above 1: one thread is faster).

    .venv/bin/python bench/check_threads.py                        # gpt1..gpt5, 5 runs each way
    .venv/bin/python bench/check_threads.py --runs 9 exercise1 gpt4
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIMED = """import sys, time, torch
if sys.argv[3] == "one":
    torch.set_num_threads(1)
from ninja.registry import find
from ninja.settings import Settings
exercise = find(sys.argv[1])
start = time.perf_counter()
report = exercise.check(sys.argv[2], Settings())
assert report.passed, sys.argv[1]
print(time.perf_counter() - start, torch.get_num_threads())
"""


def timed(name: str, way: str) -> tuple[float, int]:
    """(seconds the check took, torch's threads) in a fresh process."""
    solution = ROOT / "solutions" / f"{name}.py"
    done = subprocess.run([sys.executable, "-c", TIMED, name, str(solution), way], cwd=ROOT, capture_output=True,
                          text=True, check=True)  # fmt: skip
    seconds, threads = done.stdout.split()[-2:]
    return float(seconds), int(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exercises", nargs="*", default=["gpt1", "gpt2", "gpt3", "gpt4", "gpt5"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name in args.exercises:
        times: dict[str, list[float]] = {"default": [], "one": []}
        threads = {}
        for _ in range(args.runs):
            for way in times:
                seconds, threads[way] = timed(name, way)
                times[way].append(seconds)
        default, one = (statistics.median(times[way]) for way in ("default", "one"))
        print(f"  {name:10s} default ({threads['default']} threads) {default * 1000:7.0f} ms   "
              f"one thread {one * 1000:7.0f} ms   ratio default / one {default / one:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
