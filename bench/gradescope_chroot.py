"""Gradescope's autograder run as Gradescope runs it: a course from `ninja course init`, its
autograder.zip unpacked at /autograder/source, a submission at /autograder/submission, and
run_autograder executed at /autograder in a chroot of its own mount namespace (unshare, as root),
with backprop-ninja installed from the course's wheel alone at /opt/ninja (setup.sh's place) and
nothing of this checkout's solutions on its path. Checks results.json; exits 1 when it is wrong.

    sudo .venv/bin/python bench/gradescope_chroot.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = (ROOT / "solutions" / "exercise1.py").read_text()
SYSTEM = ("usr", "bin", "lib", "lib64", "sbin", "etc")

INNER = """\
set -euo pipefail
mount --make-rprivate /
mount -t tmpfs tmpfs "$NEW"
for d in $SYSTEM; do
  [ -e "/$d" ] || continue
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$NEW/$d"; else mkdir -p "$NEW/$d"; mount --rbind "/$d" "$NEW/$d"; fi
done
# /tmp first: an interpreter or checkout that lives under /tmp (a CI clone) is bound on top of it
mkdir -p "$NEW/tmp" && mount -t tmpfs -o mode=1777 tmpfs "$NEW/tmp"
for d in $EXTRA; do mkdir -p "$NEW$d"; mount --rbind "$d" "$NEW$d"; mount -o remount,bind,ro "$NEW$d"; done
mkdir -p "$NEW/proc" "$NEW/dev" "$NEW/sys" "$NEW/autograder" "$NEW/opt/ninja"
mount -t proc proc "$NEW/proc"
mount --rbind /dev "$NEW/dev"
mount --rbind /sys "$NEW/sys"
mount --bind "$AUTOGRADER" "$NEW/autograder"
mount --bind "$OPT" "$NEW/opt/ninja"
exec chroot "$NEW" /bin/bash -c 'cd /autograder && HOME=/tmp /autograder/source/run_autograder &&
  { HOME=/tmp /opt/ninja/bin/ninja solution exercise1 --force 2>&1 || true; }'
"""


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)


def build(work: Path) -> tuple[Path, Path]:
    """The course, its autograder tree and the course's wheel installed alone at opt/site."""
    course = work / "course"
    done = run(sys.executable, "-m", "ninja", "course", "init", course, "--exercises", "exercise1,exercise2")
    assert done.returncode == 0, done.stderr
    autograder = work / "autograder"
    with zipfile.ZipFile(course / "autograder.zip") as z:
        z.extractall(autograder / "source")
    for name in ("run_autograder", "setup.sh"):
        (autograder / "source" / name).chmod(0o755)
    (autograder / "submission").mkdir()
    (autograder / "submission" / "Exercise1.py").write_text(SOLUTION)  # a near name, as students upload
    (autograder / "submission" / "exercise2.py").write_text("dlogits = logits * 2  # wrong\n")
    (autograder / "results").mkdir()
    opt = work / "opt"
    (wheel,) = (course / "release").glob("*.whl")
    done = run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", opt / "site", wheel)
    assert done.returncode == 0, done.stderr
    (opt / "bin").mkdir()
    launcher = opt / "bin" / "ninja"  # what setup.sh's venv gives: this interpreter, the wheel alone
    launcher.write_text(f'#!/bin/sh\nPYTHONPATH=/opt/ninja/site PYTHONNOUSERSITE=1 exec {sys.executable} -I -c '
                        f'"import sys; sys.path.insert(0, \'/opt/ninja/site\'); from ninja.launch import main; '
                        f'sys.argv[0] = \'ninja\'; sys.exit(main())" "$@"\n')  # fmt: skip
    launcher.chmod(0o755)
    return autograder, opt


def main() -> int:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"):
        print("needs root, unshare and chroot (a mount namespace and a chroot at /autograder)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ninja-gradescope-"))
    try:
        autograder, opt = build(work)
        interpreter = Path(sys.executable).resolve()
        extra = sorted({str(Path(sys.prefix).resolve()), str(interpreter.parents[1]), str(Path(sys.prefix))})
        env = os.environ | {"NEW": str(work / "root"), "SYSTEM": " ".join(SYSTEM), "EXTRA": " ".join(extra),
                            "AUTOGRADER": str(autograder), "OPT": str(opt)}  # fmt: skip
        (work / "root").mkdir()
        done = run("unshare", "--mount", "--fork", "bash", "-c", INNER, env=env)
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        results = json.loads((autograder / "results" / "results.json").read_text())
        exercise1 = [t for t in results["tests"] if t["name"].startswith("exercise1: ")]
        checks = {
            "run_autograder exits 0": done.returncode == 0,
            "exercise1 26/26 (graded Exercise1.py)": sum(t["score"] for t in exercise1) == 26,
            "exercise2 0/1": results["score"] == 26 and len(results["tests"]) == 27,
            "the near name noted": "graded Exercise1.py as exercise1.py" in results["output"],
            "graded by the course's wheel alone (no solutions)": "carries no solutions" in done.stdout,
        }
        for what, ok in checks.items():
            print(f"{'ok  ' if ok else 'FAIL'} {what}")
        return 0 if all(checks.values()) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
