"""What the class report and the gradebook cost, against grading the class they describe.

    python bench/report_speed.py [--submissions 200] [--jobs 2]

Makes bench/grade_speed.py's class of exercise1 submissions, times `ninja grade DIR/* --format
json --out results.json` once, then renders the class report (`--report`'s page) and the
gradebook from those results in this process, best of 5 each, and prints each against the
grading's wall time (rendering is all `--report` adds to a run: the results are the same).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_speed import TIMEOUT, make_class  # noqa: E402

from ninja.grade import formats, report  # noqa: E402
from ninja.grade.batch import SubmissionResult, TestResult  # noqa: E402

NINJA = Path(sys.executable).parent / "ninja"


def best_of(make, times: int = 5) -> tuple[float, object]:
    best, made = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        made = make()
        best = min(best, time.perf_counter() - started)
    return best, made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ninja-report-bench-") as folder:
        root = Path(folder)
        (root / "class").mkdir()
        make_class(root / "class", args.submissions)
        subs = sorted(str(p.relative_to(root)) for p in (root / "class").iterdir())
        command = ["grade", *subs, "--jobs", str(args.jobs), "--timeout", str(TIMEOUT), "--seed", "1",
                   "--format", "json", "--out", "results.json"]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run([str(NINJA), *command], cwd=root, capture_output=True, text=True)
        graded = time.monotonic() - started
        if done.returncode != 0:
            sys.exit(f"ninja grade failed: {done.stderr[-2000:]}")
        rows = json.loads((root / "results.json").read_text())
    results = [
        SubmissionResult(r["submission"], r["exercise"], r["score"], r["max_score"], r["status"], r["message"],
                         [TestResult(**t) for t in r["tests"]])
        for r in rows
    ]  # fmt: skip
    page_s, page = best_of(lambda: report.page(results))
    book_s, _ = best_of(lambda: formats.gradebook(results))
    print(f"{len(results)} results; grading them: {graded:.2f} s wall")
    print(f"class report: {page_s * 1000:.1f} ms ({len(page) / 1024:.0f} KiB), {page_s / graded:.2%} of the grading")
    print(f"gradebook   : {book_s * 1000:.2f} ms, {book_s / graded:.3%} of the grading")


if __name__ == "__main__":
    main()
