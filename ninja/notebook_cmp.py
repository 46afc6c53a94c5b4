"""`from ninja import cmp`: a drop-in for the notebook's `cmp(s, dt, t)`.

Prints the notebook's line (name, exact, approximate, maxdiff) and adds what the three-line original
misses: a wrong shape that broadcasts fails instead of passing, and a failure says what looks wrong,
in the words of `ninja check` (ninja/diagnose.py: a flipped sign, a factor, transposed, a missing sum).
"""

from __future__ import annotations

import sys

import torch

from ninja.engine import compare, squeezed
from ninja.results import PASS
from ninja.tapped import diagnose

NOTEBOOK_BATCH_SIZE = 32
# what cmp can tell apart without the forward pass (check also knows the line's own rule)
NAMED_KINDS = {"nonfinite", "transposed", "factor", "missing_sum", "view", "wrong_dim"}


def line(s: str, exact: bool, approx: bool, maxdiff) -> str:
    """The notebook's own output line."""
    return f"{s:15s} | exact: {str(exact):5s} | approximate: {str(approx):5s} | maxdiff: {maxdiff}"


def batch_size_of_caller(depth: int = 2) -> int:
    """The notebook's `n` where cmp is called from (the words for a factor n need it)."""
    n = sys._getframe(depth).f_globals.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 2 else NOTEBOOK_BATCH_SIZE


def mistake(s: str, dt, grad: torch.Tensor, n: int) -> str | None:
    """What a wrong `dt` looks like next to autograd's `grad`, as check says it; None when it is
    no common mistake."""
    if not torch.is_tensor(dt) or not (dt.is_floating_point() or dt.is_complex()) or dt.numel() == 0:
        return None
    g = dt.detach().to(grad.dtype)
    if squeezed(g.shape) != squeezed(grad.shape):
        kind, words = diagnose.wrong_shape(s, g, grad, ())
    else:
        g = g.reshape(grad.shape)
        found = (
            diagnose.nonfinite(s, g, grad) or diagnose.transposed(s, g, grad) or diagnose.constant_factor(s, g, grad, n)
        )
        kind, words = found or (None, None)
    return words if kind in NAMED_KINDS else None


def gradient_label(s: str) -> str:
    """cmp('logits', ...) and cmp('dlogits', ...) both talk about dlogits: no second d."""
    return s if s.startswith("d") else f"d{s}"


def storage_key(t: torch.Tensor) -> tuple:
    return t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride()


def shared_with(dt, label: str, depth: int = 2) -> str | None:
    """Another gradient name in the caller's globals bound to the very same tensor as `dt`
    (`dlogits = dnorm_logits`, no .clone()), when that tensor was changed in place (its version
    counter moved): a change meant for one changed both. Never changed in place, sharing is harmless
    (`dattproj = dresidual2` is the right rule)."""
    if not torch.is_tensor(dt) or dt.numel() == 0 or dt._version == 0:
        return None
    key = storage_key(dt)
    names = [name for name, value in sys._getframe(depth).f_globals.items()
             if name.startswith("d") and torch.is_tensor(value) and value.numel() and storage_key(value) == key]  # fmt: skip
    others = [name for name in names if name != label]
    return others[0] if len(names) >= 2 and others else None


FAILED: list[str] = []  # the gradients this session's cmp calls found wrong, in order


def upstream_failure(label: str) -> str | None:
    """A gradient an earlier cmp call found wrong: in backward order it comes first, and a wrong
    upstream gradient makes this one wrong too (check tells a root cause from what it causes)."""
    earlier = [name for name in FAILED if name != label]
    return earlier[0] if earlier else None


def cmp(s: str, dt, t, rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Compare your gradient `dt` with autograd's `t.grad` (call `t.retain_grad()` before
    `loss.backward()`, as the notebook does) and print one line, plus what is wrong when it fails."""
    if getattr(t, "grad", None) is None:
        print(f"{s:15s} | no autograd gradient: call {s}.retain_grad() before loss.backward(), as the notebook does")
        return
    label = gradient_label(s)
    result = compare(label[1:], dt, t.grad, rtol=rtol, atol=atol)
    print(line(s, bool(result.exact), bool(result.approx), "-" if result.maxdiff is None else result.maxdiff))
    diagnosis = getattr(result, "diagnosis", None) or result.note
    twin = None if result.status == PASS else shared_with(dt, label)
    if twin:
        print(f"{'':15s}   wrong: {diagnose.aliasing(label[1:], diagnose.Tie(twin[1:]))}")
        return
    named = None if result.status == PASS else mistake(label[1:], dt, t.grad, batch_size_of_caller())
    wrong = result.status != PASS and result.maxdiff is not None  # values to compare, and not the same
    earlier = upstream_failure(label) if wrong else None
    if wrong and label not in FAILED:
        FAILED.append(label)
    say(result, label, diagnosis, named)
    if earlier:
        print(
            f"{'':15s}   but {earlier} failed above: this may be inherited from it, no mistake of this line "
            "(ninja check --file on your notebook tells the root cause)"
        )


def say(result, label: str, diagnosis: str | None, named: str | None) -> None:
    """What is wrong, under the notebook's line."""
    if result.status == PASS:
        if diagnosis:
            print(f"{'':15s}   note: {diagnosis}")
    elif result.shape is not None and result.shape != result.expected_shape:
        print(f"{'':15s}   {label}: {diagnosis}")
        if named:
            print(f"{'':15s}   looks like: {named}")
    elif named:
        print(f"{'':15s}   wrong: {named if named.startswith(f'{label} ') else f'{label}: {named}'}")
    elif diagnosis:
        print(f"{'':15s}   wrong: {diagnosis}")
    elif result.relerr is not None:
        print(f"{'':15s}   wrong: {label} differs from autograd (relative error {result.relerr:.1e})")
    else:
        print(f"{'':15s}   missing: {label} is None")
