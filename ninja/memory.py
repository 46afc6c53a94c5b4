"""Memory, as a learner meets it in `ninja check`: a cap on what their file may allocate (a gradient of
the wrong shape can ask for gigabytes, and the machine swaps for a minute before anything is said), and
one plain line when a file runs out, instead of torch's "[enforce fail at alloc_cpu.cpp:127] ...".

Standard library only: the runner imports it on every check.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

ALLOWANCE_MB = 2048  # what a learner's file may allocate beyond what ninja has mapped when it starts the file
VARIABLE = "NINJA_MEMORY_MB"  # another allowance, in MB (0: no cap)
SIGNS = ("DefaultCPUAllocator", "can't allocate memory", "Cannot allocate memory", "out of memory")


def allowance_mb(environ=os.environ) -> int:
    text = environ.get(VARIABLE, "")
    return int(text) if text.isdigit() else ALLOWANCE_MB


def mapped_bytes() -> int | None:
    """This process's address space now (what RLIMIT_AS counts); None where /proc is not there."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def capped(allowance: int | None = None):
    """Within the block, the process may map `allowance` MB more than it has now (RLIMIT_AS), so that
    an allocation past it fails at once, as a MemoryError at the learner's line. Linux; elsewhere, and
    where a lower limit is already set (ninja grade's children), the block runs as it is."""
    try:
        import resource
    except ImportError:  # Windows
        yield
        return
    allowance = allowance_mb() if allowance is None else allowance
    now = mapped_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = None if now is None or allowance <= 0 else now + allowance * 1024**2
    if cap is None or soft != resource.RLIM_INFINITY and soft <= cap:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def size(count: int) -> str:
    for unit, scale in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def out_of_memory(exc: BaseException) -> str | None:
    """One line for an allocation that failed (torch's allocator, NumPy's, Python's MemoryError);
    None for any other exception."""
    text = str(exc)
    if not isinstance(exc, MemoryError) and not (isinstance(exc, RuntimeError) and any(s in text for s in SIGNS)):
        return None
    torch_asked = re.search(r"allocate (\d+) bytes", text)
    numpy_asked = re.search(r"Unable to allocate ([\d.]+ \w+)", text)
    asked = size(int(torch_asked[1])) if torch_asked else numpy_asked[1] if numpy_asked else None
    what = f"this line asked for {asked}" if asked else "out of memory"
    limit = allowance_mb()
    cap = f"; ninja check lets a file allocate {limit} MB ({VARIABLE}=MB sets it)" if limit > 0 else ""
    return f"{what}, more memory than there is to give{cap}"
