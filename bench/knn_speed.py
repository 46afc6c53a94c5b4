"""k-NN distances: the reference no-loop version against two loops, at CIFAR's dimension.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/knn_speed.py [num_train num_test]

Prints the best of three timings of each and their ratio (the target: no loops >= 50x faster).
"""

import runpy
import sys
import time

import numpy as np

from ninja.exercise import bundled


def best(f, X, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f(X)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    num_train, num_test = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (2000, 200)
    rng = np.random.default_rng(0)
    knn = runpy.run_path(str(bundled("solutions") / "classifiers.py"))["KNearestNeighbor"]()
    knn.train(rng.uniform(0, 255, (num_train, 3072)), rng.integers(0, 10, num_train))
    X = rng.uniform(0, 255, (num_test, 3072))
    two = best(knn.compute_distances_two_loops, X)
    one = best(knn.compute_distances_one_loop, X)
    none = best(knn.compute_distances_no_loops, X)
    print(f"num_train {num_train}, num_test {num_test}, D 3072")
    print(f"two loops {two * 1e3:.1f} ms, one loop {one * 1e3:.1f} ms, no loops {none * 1e3:.2f} ms")
    print(f"no loops is {two / none:.0f}x faster than two loops, one loop {two / one:.1f}x")


if __name__ == "__main__":
    main()
