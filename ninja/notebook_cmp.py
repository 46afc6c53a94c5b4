"""`from ninja import cmp`: a drop-in for the notebook's `cmp(s, dt, t)`.

Prints the notebook's line (name, exact, approximate, maxdiff) and adds what the three-line original
misses: a wrong shape that broadcasts fails instead of passing, and a failure says what looks wrong.
"""

from __future__ import annotations

from ninja.engine import compare
from ninja.results import PASS


def line(s: str, exact: bool, approx: bool, maxdiff) -> str:
    """The notebook's own output line."""
    return f"{s:15s} | exact: {str(exact):5s} | approximate: {str(approx):5s} | maxdiff: {maxdiff}"


def cmp(s: str, dt, t, rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Compare your gradient `dt` with autograd's `t.grad` (call `t.retain_grad()` before
    `loss.backward()`, as the notebook does) and print one line, plus what is wrong when it fails."""
    if getattr(t, "grad", None) is None:
        print(f"{s:15s} | no autograd gradient: call {s}.retain_grad() before loss.backward(), as the notebook does")
        return
    result = compare(s, dt, t.grad, rtol=rtol, atol=atol)
    print(line(s, bool(result.exact), bool(result.approx), "-" if result.maxdiff is None else result.maxdiff))
    diagnosis = getattr(result, "diagnosis", None) or result.note
    if result.status == PASS:
        if diagnosis:
            print(f"{'':15s}   note: {diagnosis}")
    elif result.shape is not None and result.shape != result.expected_shape:
        print(f"{'':15s}   {diagnosis}, your d{s} is {result.shape}")
    elif diagnosis:
        print(f"{'':15s}   wrong: {diagnosis}")
    elif result.relerr is not None:
        print(f"{'':15s}   wrong: d{s} differs from autograd (relative error {result.relerr:.1e})")
    else:
        print(f"{'':15s}   missing: d{s} is None")
