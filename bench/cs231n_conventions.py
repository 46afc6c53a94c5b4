"""What judging under every allowed convention costs: `ninja check classifiers` on the reference
solution, collected once, then judged with the reg convention open (either value, as for a file
that does not say) and forced (--convention reg=1), alternating, in one run.

    .venv/bin/python bench/cs231n_conventions.py [rounds]
"""

import sys
import time

from ninja.registry import find
from ninja.settings import Settings


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    exercise = find("classifiers").what_is_there().for_grading()  # no speed-up timing: judging only
    data = exercise.collect(exercise.solution, Settings())
    data["source"] = data["source"].replace("reg * np.sum(W * W)", "reg * np.sum(W ** 2)")  # the file does not say
    open_, forced = exercise, exercise.with_conventions(["reg=1"])
    times = {"open": [], "forced": []}
    for _ in range(rounds):
        for name, ex in (("open", open_), ("forced", forced)):
            start = time.perf_counter()
            report = ex.judge(data, Settings())
            times[name].append(time.perf_counter() - start)
            assert report.passed, [(v.name, v.status, v.diagnosis) for v in report.variables if v.status != "pass"]
    open_best, forced_best = min(times["open"]), min(times["forced"])
    print(f"judge, reg open: {open_best:.3f} s; forced: {forced_best:.3f} s; ratio {open_best / forced_best:.2f}")


if __name__ == "__main__":
    main()
