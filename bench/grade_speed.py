"""How fast `ninja grade` grades a class, against running `ninja check` once per submission.

    python bench/grade_speed.py [--submissions 200] [--jobs 2] [--grades 3] [--per-kind 2] [--also OTHER/bin/python]

Makes a realistic class of exercise1 submissions in a temporary folder (mostly correct, wrong
lines, exceptions, syntax errors, untouched templates, a few endless loops), times `ninja grade
DIR/* --jobs N --timeout 2` `--grades` times (the median: one run's wall clock varies by about 5%
on a shared machine; every sandbox layer this machine has on), and times `ninja check
exercise1 --file F` as a subprocess on a few submissions of each kind (endless loops included, cut
2 s after they start), each kind's mean scaled to its count in the class. Targets: grade <= 15 s wall, >= 25x faster than
the baseline. Then forks children from a process that imported torch in alternated rounds of 10:
bare, into PID and net namespaces, with the IPC namespace too, with the tmpfs folder, in a cgroup
of its own (made with its limits, joined, killed and removed: where ninja can make one), with every
layer applied (namespaces, descriptors, limits, uid, tmpfs, cgroup, Landlock, seccomp); prints each
one's cost per child and its difference from a bare fork. --also grades the same class with another
environment's ninja too (another branch's checkout), alternated with this one, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
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


KINDS = ["correct"] * 50 + ["wrong"] * 25 + ["exception"] * 8 + ["syntax"] * 5 + ["todo"] * 10 + ["hang"] * 2


def make_class(folder: Path, count: int) -> list[Path]:
    """count submissions, student000..., of the kinds in KINDS' proportions (kind_of(i) says which)."""
    rng = random.Random(0)
    paths = []
    for i in range(count):
        path = folder / f"student{i:03d}"
        path.mkdir()
        (path / "exercise1.py").write_text(submission(kind_of(i), rng))
        paths.append(path)
    return paths


def kind_of(i: int) -> str:
    return KINDS[i % len(KINDS)]


def check_each(ninja: list[str], paths: list[Path], per_kind: int) -> tuple[float, int]:
    """The baseline, `ninja check` once per submission: `per_kind` of each kind timed (an endless
    loop cut at TIMEOUT s from its start, as the grader cuts it), each kind's mean times its count
    in the class. (estimated seconds, checks timed)"""
    by_kind: dict[str, list[Path]] = {}
    for i, path in enumerate(paths):
        by_kind.setdefault(kind_of(i), []).append(path)
    total, timed = 0.0, 0
    for members in by_kind.values():
        sample = members[:: max(1, len(members) // per_kind)][:per_kind]
        start = time.perf_counter()
        for path in sample:
            try:
                subprocess.run([*ninja, "check", "exercise1", "--file", str(path / "exercise1.py")],
                               capture_output=True, timeout=TIMEOUT)  # fmt: skip
            except subprocess.TimeoutExpired:
                pass
        total += (time.perf_counter() - start) / len(sample) * len(members)
        timed += len(sample)
    return total, timed


COST = """
import os, sys, tempfile, time
from ninja.grade import confine
missing = {}
user_namespace = os.geteuid() != 0 and confine.enter_user_namespace(missing)  # before torch starts a thread
import torch
from ninja.grade import cgroups
from ninja.grade.sandbox import Limits
policy = confine.Policy.build([])
policy.cgroups = cgroups.Cgroups.open(policy.missing)
share = cgroups.fair_share(2, 1024, cgroups.resident_bytes(), policy.processes)
policy.user_namespace = user_namespace
namespaces = confine.Namespaces(policy.missing)
policy.namespaces = namespaces.available
pid_net = confine.Namespaces({})
pid_net.FLAGS = confine.CLONE_NEWPID | confine.CLONE_NEWNET
folder = tempfile.mkdtemp()
os.chmod(folder, 0o777)
uid = confine.UID_BASE if policy.as_root else os.getuid()
def in_cgroup(fork):
    def forked():
        files = policy.cgroups.make_job("bench", share)
        pid = fork()
        if pid == 0:
            cgroups.join(files)
        return pid
    return forked if policy.cgroups else fork
tmpfs = lambda: confine.private_folder(folder, 64, uid)
VARIANTS = {
    "fork": (os.fork, None),
    "pid+net namespaces": (pid_net.fork, None),
    "+ipc namespace": (namespaces.fork, None),
    "+tmpfs folder": (namespaces.fork, tmpfs),
    "+cgroup": (in_cgroup(namespaces.fork), tmpfs),
    "every layer": (in_cgroup(namespaces.fork),
                    lambda: policy.apply({"dir": folder, "slot": 0}, os.pipe()[1], Limits())),
}
def children(count, variant):
    fork, inside = VARIANTS[variant]
    start = time.perf_counter()
    for _ in range(count):
        pid = fork()
        if pid == 0:
            if inside:
                inside()
            os._exit(0)
        os.waitpid(pid, 0)
        if policy.cgroups and "bench" in policy.cgroups.jobs:
            policy.cgroups.end_job("bench")
    return (time.perf_counter() - start) / count
names = list(VARIANTS) if namespaces.available else ["fork", "every layer"]
names = [name for name in names if name != "+cgroup" or policy.cgroups]
[children(3, name) for name in names]
rounds = [{name: children(10, name) for name in names} for _ in range(int(sys.argv[1]) // 10)]  # alternated
median = {name: sorted(r[name] for r in rounds)[len(rounds) // 2] * 1000 for name in names}
extra = {name: sorted((r[name] - r["fork"]) for r in rounds)[len(rounds) // 2] * 1000 for name in names}
print(", ".join(policy.layers()))
for name in names:
    print(f"{name}|{median[name]:.2f}|{extra[name]:.2f}")
if policy.cgroups:
    policy.cgroups.close()
"""


def sandbox_cost(count: int = 200) -> tuple[str, list[tuple[str, float, float]]]:
    """ms per child forked from a process that imported torch, in alternated rounds of 10, medians:
    bare, each namespace, the tmpfs folder, every layer applied; each also as its difference from a
    bare fork within a round."""
    done = subprocess.run([sys.executable, "-c", COST, str(count)], capture_output=True, text=True, check=True)
    layers, *lines = done.stdout.strip().splitlines()
    rows = [(name, float(ms), float(extra)) for name, ms, extra in (line.split("|") for line in lines)]
    return layers, rows


def grade_once(python: str, paths: list[Path], jobs: int, out: Path) -> float:
    """Wall seconds of one `ninja grade` of the class with `python`'s ninja (every result written)."""
    start = time.perf_counter()
    command = [python, "-m", "ninja", "grade", *map(str, paths), "--jobs", str(jobs), "--timeout", str(TIMEOUT)]
    # run outside any checkout: `-m ninja` then imports `python`'s own ninja, not the one in the folder
    done = subprocess.run(
        [*command, "--format", "csv", "--out", str(out)], capture_output=True, text=True, cwd=out.parent
    )
    wall = time.perf_counter() - start
    rows = out.read_text().splitlines()[1:] if out.exists() else []
    assert done.returncode == 0 and len(rows) == len(paths), done.stderr[-2000:]
    return wall


def compare(also: str, paths: list[Path], jobs: int, rounds: int, folder: Path) -> None:
    """This environment's `ninja grade` against another's (`also`: its python) on the same class,
    alternated for `rounds` rounds: each one's median wall and the ratio."""
    walls: dict[str, list[float]] = {sys.executable: [], also: []}
    for k in range(rounds):
        for python in list(walls) if k % 2 == 0 else list(walls)[::-1]:
            walls[python].append(grade_once(python, paths, jobs, folder / "also.csv"))
    mine, other = (sorted(w)[len(w) // 2] for w in walls.values())
    print(
        f"against {also}: {other:.1f} s there, {mine:.1f} s here (medians of {rounds}, alternated): {other / mine:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--grades", type=int, default=3, help="`ninja grade` runs timed: their median")
    parser.add_argument("--per-kind", type=int, default=2, help="baseline: `ninja check` runs timed per kind")
    parser.add_argument("--also", help="another environment's python: its `ninja grade` on the same class too")
    parser.add_argument("--rounds", type=int, default=2, help="with --also: grades by each, alternated")
    args = parser.parse_args()
    ninja = [sys.executable, "-m", "ninja"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_class(Path(tmp), args.submissions)
        out = Path(tmp) / "grades.csv"
        walls = sorted(grade_once(sys.executable, paths, args.jobs, out) for _ in range(max(1, args.grades)))
        grade_wall = walls[len(walls) // 2]
        rows = out.read_text().splitlines()[1:]
        baseline, timed = check_each(ninja, paths, args.per_kind)
        if args.also:
            compare(args.also, paths, args.jobs, args.rounds, Path(tmp))
    per_check = baseline / len(paths)
    print(f"submissions: {len(paths)} exercise1 ({sum(',timeout,' in r for r in rows)} timed out), jobs {args.jobs}")
    runs = f", median of {', '.join(f'{w:.1f}' for w in walls)}" if len(walls) > 1 else ""
    print(f"ninja grade:            {grade_wall:6.1f} s wall   (target <= 15 s{runs})")
    print(
        f"ninja check each (est): {baseline:6.1f} s wall   ({per_check:.2f} s x {len(paths)}, from {timed} timed, "
        "each kind's mean times its count)"
    )
    print(f"speed-up:               {baseline / grade_wall:6.1f}x        (target >= 25x)")
    layers, cost = sandbox_cost()
    print(f"isolation:              {layers}")
    print("cost per child (median of alternated rounds of 10, ms; and its difference from a bare fork):")
    for name, ms, extra in cost:
        print(f"  {name:22s} {ms:6.2f} ms   {extra:+6.2f} ms")
    print(f"load (uptime, 1 min):   {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
