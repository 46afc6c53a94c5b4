"""The speed-up notes `ninja check classifiers` shows for the reference vectorized functions, timed
as the check times them (BLAS on one thread) and with BLAS free to use every thread, in one run.

    .venv/bin/python bench/speedup_note.py [rounds]

On a busy machine the free BLAS threads wait for each other and a correct no-loop function can read
"not faster" than two loops; pinned, the ratio stays near what an idle machine shows.
"""

import sys

from threadpoolctl import threadpool_limits

from ninja.cs231n.learner import Learner, best_time, speed_up, time_against_naive
from ninja.registry import find


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    exercise = find("classifiers")
    learner = Learner.load(exercise.solution)
    units = [u for u in exercise.units if u.naive]
    for _ in range(rounds):
        for unit in units:
            case = next(c for c in unit.cases(0, None) if c.timed)
            pinned = time_against_naive(unit, learner, case)
            with threadpool_limits(limits=None):  # every thread BLAS has
                free = speed_up(
                    best_time(unit, learner, unit.forward, case.inputs),
                    best_time(unit, learner, unit.naive, case.inputs),
                    unit.naive,
                    unit.forward,
                )
            print(f"{unit.forward:28} pinned: {pinned:45} free: {free}")


if __name__ == "__main__":
    main()
