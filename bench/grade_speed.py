"""How fast `ninja grade` grades a class, against running `ninja check` once per submission.

    python bench/grade_speed.py [--submissions 200] [--jobs 2] [--sample 12]

Makes a realistic class of exercise1 submissions in a temporary folder (mostly correct, wrong
lines, exceptions, syntax errors, untouched templates, a few endless loops), times `ninja grade
DIR/* --jobs N --timeout 2` once (every sandbox layer this machine has on), and times `ninja check
exercise1 --file F` as a subprocess on a sample of the same submissions (endless loops included,
cut at the same 2 s), scaled to the whole class. Targets: grade <= 15 s wall, >= 25x faster than
the baseline. Then forks 200 children from a process that imported torch, bare and with every
layer applied (namespaces, descriptors, limits, uid, Landlock, seccomp) in alternated rounds of
10, and prints the sandbox's cost per child (the median round's difference).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = (ROOT / "solutions" / "exercise1.py").read_text()
TEMPLATE = (ROOT / "exercises" / "exercise1.py").read_text()
TIMEOUT = 2

WRONG = [  # (right line, a common mistake)
    ("dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0 / 32"),
    ("db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)"),
    ("dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh"),
    ("dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv", "dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv"),
    ("dW1 = embcat.T @ dhprebn", "dW1 = embcat @ dhprebn.T"),
]


def submission(kind: str, rng: random.Random) -> str:
    if kind == "correct":
        return SOLUTION
    if kind == "wrong":
        right, wrong = rng.choice(WRONG)
        return SOLUTION.replace(right, wrong)
    if kind == "exception":
        return SOLUTION.replace("dW2 = h.T @ dlogits", "dW2 = h @ dlogits")  # shapes do not multiply
    if kind == "syntax":
        return SOLUTION.replace("dh = dlogits @ W2.T", "dh = dlogits @@ W2.T")
    if kind == "todo":
        return TEMPLATE
    return "while True:\n    pass\n"  # hang


def make_class(folder: Path, count: int) -> list[Path]:
    rng = random.Random(0)
    kinds = ["correct"] * 50 + ["wrong"] * 25 + ["exception"] * 8 + ["syntax"] * 5 + ["todo"] * 10 + ["hang"] * 2
    paths = []
    for i in range(count):
        path = folder / f"student{i:03d}"
        path.mkdir()
        (path / "exercise1.py").write_text(submission(kinds[i % len(kinds)], rng))
        paths.append(path)
    return paths


COST = """
import os, sys, tempfile, time
import torch
from ninja.grade.confine import Namespaces, Policy
from ninja.grade.sandbox import Limits
policy = Policy.build([])
namespaces = Namespaces(policy.missing)
policy.namespaces = namespaces.available
folder = tempfile.mkdtemp()
os.chmod(folder, 0o777)
def children(count, confined):
    start = time.perf_counter()
    for _ in range(count):
        if confined and policy.namespaces:
            namespaces.enter()
        pid = os.fork()
        if pid == 0:
            if confined:
                read_end, write_end = os.pipe()
                policy.apply({"dir": folder, "slot": 0}, write_end, Limits())
            os._exit(0)
        if confined and policy.namespaces:
            namespaces.leave()
        os.waitpid(pid, 0)
    return (time.perf_counter() - start) / count
children(5, True)
rounds = [(children(10, False), children(10, True)) for _ in range(int(sys.argv[1]) // 10)]  # alternated
bare = sorted(b for b, _ in rounds)[len(rounds) // 2]
confined = sorted(c for _, c in rounds)[len(rounds) // 2]
extra = sorted(c - b for b, c in rounds)[len(rounds) // 2]
print(f"{bare * 1000:.2f} {confined * 1000:.2f} {extra * 1000:.2f} {', '.join(policy.layers())}")
"""


def sandbox_cost(count: int = 200) -> tuple[float, float, float, str]:
    """ms per child forked from a process that imported torch, in alternated rounds of 10, medians:
    bare, with every layer applied, and the difference within a round."""
    done = subprocess.run([sys.executable, "-c", COST, str(count)], capture_output=True, text=True, check=True)
    bare, confined, extra, layers = done.stdout.split(" ", 3)
    return float(bare), float(confined), float(extra), layers.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sample", type=int, default=12, help="baseline: time this many `ninja check` runs, scale")
    args = parser.parse_args()
    ninja = [sys.executable, "-m", "ninja"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_class(Path(tmp), args.submissions)
        out = Path(tmp) / "grades.csv"
        start = time.perf_counter()
        command = [*ninja, "grade", *map(str, paths), "--jobs", str(args.jobs), "--timeout", str(TIMEOUT)]
        done = subprocess.run([*command, "--format", "csv", "--out", str(out)], capture_output=True, text=True)
        grade_wall = time.perf_counter() - start
        rows = out.read_text().splitlines()[1:] if out.exists() else []
        assert done.returncode == 0 and len(rows) == len(paths), done.stderr[-2000:]

        step = max(1, len(paths) // args.sample)
        sample = paths[::step][: args.sample]
        start = time.perf_counter()
        for path in sample:
            try:
                subprocess.run([*ninja, "check", "exercise1", "--file", str(path / "exercise1.py")],
                               capture_output=True, timeout=TIMEOUT + 5)  # fmt: skip
            except subprocess.TimeoutExpired:
                pass
        per_check = (time.perf_counter() - start) / len(sample)
    baseline = per_check * len(paths)
    print(f"submissions: {len(paths)} exercise1 ({sum(',timeout,' in r for r in rows)} timed out), jobs {args.jobs}")
    print(f"ninja grade:            {grade_wall:6.1f} s wall   (target <= 15 s)")
    print(
        f"ninja check each (est): {baseline:6.1f} s wall   ({per_check:.2f} s x {len(paths)}, from {len(sample)} timed)"
    )
    print(f"speed-up:               {baseline / grade_wall:6.1f}x        (target >= 25x)")
    bare, confined, extra, layers = sandbox_cost()
    print(f"isolation:              {layers}")
    print(f"sandbox cost per child: {extra:6.2f} ms      (median round: fork {bare:.2f}, all layers {confined:.2f})")


if __name__ == "__main__":
    main()
