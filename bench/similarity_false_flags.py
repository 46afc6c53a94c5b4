"""False flags and missed copies of `ninja grade --similarity`, on classes of honest exercise 1
solutions in varied styles (tests/honest_class.py: each passes ninja check) with a copy of every
fourth student (names changed, lines reordered, comments rewritten).

    .venv/bin/python bench/similarity_false_flags.py [12 40 100]
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import honest_class as hc  # noqa: E402

from ninja.grade import similarity  # noqa: E402


def measure(honest: int) -> tuple[int, int, int, int, float]:
    copied = range(0, honest, 4)
    sources = {f"h{k:03d}": hc.honest(k) for k in range(honest)}
    sources |= {f"copy{k:03d}": hc.copy_of(k, f"c{k}") for k in copied}
    started = time.perf_counter()
    flagged = {frozenset((p.a, p.b)) for p in similarity.similar_pairs("exercise1", sources, hc.TEMPLATE)}
    seconds = time.perf_counter() - started
    copies = {frozenset((f"h{k:03d}", f"copy{k:03d}")) for k in copied}
    honest_pairs = {frozenset(p) for p in itertools.combinations([f"h{k:03d}" for k in range(honest)], 2)}
    return len(flagged & honest_pairs), len(honest_pairs), len(flagged & copies), len(copies), seconds


def main(sizes: list[int]) -> None:
    print("honest  false flags (honest pairs)  copies found  seconds")
    for n in sizes:
        false, pairs, found, copies, seconds = measure(n)
        print(f"{n:6d}  {false:5d} of {pairs:<16d}  {found:3d} of {copies:<5d}  {seconds:7.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [12, 40, 100])
