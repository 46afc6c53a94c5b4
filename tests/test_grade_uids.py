"""Two graders on one machine never share slot uids (confine.claim_uids): RLIMIT_NPROC counts per
uid, so a fork bomb graded by one would starve the children of the other."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ninja.grade import confine

as_root = pytest.mark.skipif(
    not confine.LINUX or os.geteuid() != 0, reason="slot uids are the root grader's (not root: children keep its uid)"
)
HOLD = "from ninja.grade import confine; import sys; print(confine.claim_uids(), flush=True); sys.stdin.read()"


def holder() -> tuple[subprocess.Popen, int]:
    """A process that claims a block and keeps it until its stdin closes."""
    process = subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, int(process.stdout.readline())


@as_root
def test_graders_running_at_once_get_blocks_of_their_own_and_a_block_is_free_again_after():
    first, a = holder()
    second, b = holder()
    try:
        assert a != b and {a % 1000, b % 1000} == {100}  # 60100 + 1000 * block
        assert all(confine.UID_BASE <= x < confine.UID_BASE + confine.UID_BLOCK * confine.UID_BLOCKS for x in (a, b))
    finally:
        first.communicate("")
    third, c = holder()  # the first one's block is free once it is gone
    try:
        assert c == a
    finally:
        second.communicate("")
        third.communicate("")


@as_root
def test_the_lock_files_are_roots_alone():
    process, _ = holder()
    try:
        folder = next(f for f in confine.UID_LOCKS if os.path.isdir(f))
        assert os.stat(folder).st_mode & 0o777 == 0o700 and os.stat(folder).st_uid == 0
        assert all(os.stat(os.path.join(folder, n)).st_mode & 0o077 == 0 for n in os.listdir(folder))
    finally:
        process.communicate("")


@pytest.mark.parametrize("jobs", ["1001", "0"])
def test_jobs_beyond_one_block_of_uids_or_none_is_a_usage_error(tmp_path, jobs):
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ninja"), "grade", str(tmp_path), "--exercise", "exercise1",
         "--jobs", jobs], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "--jobs must be 1 to 1000" in done.stderr
