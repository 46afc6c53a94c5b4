"""How long after a save is the new result of `ninja watch exercise1` on screen?

Runs `ninja watch exercise1` in a pseudo-terminal in a fresh workspace, saves the file (alternately
the solution and the template, the way editors save: write a new file, rename it over the old one)
and times each save until the new check's footer has been drawn. Baseline in the same run: one
in-process `check` of the same file (the part of the latency that is the check itself). Then, three
times, an endless file followed by a fix: from the fix's save to its result on screen.

    .venv/bin/python bench/watch_latency.py [--saves 10] [--poll]

Target: median <= 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent


def save(path: Path, text: str) -> None:
    fresh = path.with_name(path.name + ".tmp~")
    fresh.write_text(text)
    fresh.replace(path)


def check_time(path: Path, repeats: int) -> float:
    from ninja.registry import find

    exercise = find("exercise1")
    exercise.check(path)  # warm up: imports, the dataset
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        exercise.check(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--poll", action="store_true", help="measure the polling fallback")
    args = parser.parse_args()
    texts = [(ROOT / "solutions" / "exercise1.py").read_text(), (ROOT / "exercises" / "exercise1.py").read_text()]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "exercises" / "exercise1.py"
        path.parent.mkdir()
        path.write_text(texts[1])
        child = pexpect.spawn(
            sys.executable,
            ["-m", "ninja", "watch", "exercise1", *(["--poll"] if args.poll else [])],
            cwd=folder,
            encoding="utf-8",
            timeout=30,
            dimensions=(60, 200),
        )
        child.expect_exact("check #1")
        child.expect_exact("quit")
        time.sleep(0.5)
        latencies = []
        for k in range(args.saves):
            start = time.perf_counter()
            save(path, texts[k % 2])
            child.expect_exact(f"check #{k + 2}")
            child.expect_exact("quit")  # the end of the footer: the whole screen is drawn
            latencies.append(time.perf_counter() - start)
            time.sleep(0.3)
        restarts = []  # a fix saved while an endless check runs: the check is stopped, the new one shown
        for _ in range(3):
            save(path, "while True:\n    pass\n")
            child.expect_exact("running your file")
            start = time.perf_counter()
            save(path, texts[0])
            child.expect_exact("exercise1 passes")
            child.expect_exact("quit")
            restarts.append(time.perf_counter() - start)
        child.send("q")
        child.expect(pexpect.EOF)
        baseline = check_time(path, args.saves)
    median = statistics.median(latencies)
    print(f"save -> result on screen, {args.saves} saves{' (polling)' if args.poll else ''}:")
    print(f"  median {median * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms (target: <= 300 ms)")
    print(f"  baseline, one in-process check of exercise1: {baseline * 1000:.0f} ms")
    print(f"  ratio median / check: {median / baseline:.2f}")
    print(f"fix saved while an endless check runs -> result on screen, 3 times: max {max(restarts) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
