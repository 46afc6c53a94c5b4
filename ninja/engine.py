"""The cmp engine: the learner's gradients against autograd's. Pure: tensors in, results out.

What it adds to the notebook's three-line cmp: a shape check by broadcasting's own rule (a wrong
shape that broadcasts used to pass), a status for what is missing or never ran, CS231n's relative
error, and a check that the forward pass in the learner's file is still the trusted one.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch

from ninja.results import ERROR, FAIL, FORWARD_CHANGED, MISSING, PASS, LearnerError, Note, Report, VarResult


class _Unreached:
    def __repr__(self) -> str:
        return "UNREACHED"


UNREACHED = _Unreached()  # the learner's code raised before it defined this gradient


def as_tensor(value: Any) -> torch.Tensor | None:
    """A detached CPU tensor from a tensor, a NumPy array or a number; None if it is none of these."""
    if torch.is_tensor(value):
        return value.detach().cpu()
    try:
        return torch.as_tensor(value).cpu()
    except (TypeError, ValueError, RuntimeError):
        return None


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def squeezed(shape: Sequence[int]) -> tuple[int, ...]:
    """The shape without its leading size-1 dims. Two gradients whose squeezed shapes are equal
    update a variable alike (`p -= lr * g` keeps p's shape and values): (64,) for (1, 64)."""
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def shape_mistake(got: Sequence[int], expected: Sequence[int]) -> str | None:
    """None when a gradient of shape `got` updates a variable of shape `expected` as the right one
    would; else what is wrong, by broadcasting's own rule: "transposed: (64, 1) for (1, 64)",
    "(27, 1) for (27,) broadcasts to (27, 27)", "(32, 64) for (1, 64): a missing sum"."""
    got, expected = tuple(got), tuple(expected)
    if squeezed(got) == squeezed(expected):
        return None
    pair = f"{got} for {expected}"
    if len(got) == len(expected) == 2 and got == expected[::-1]:
        return f"transposed: {pair}"
    try:
        both = tuple(torch.broadcast_shapes(got, expected))
    except RuntimeError:
        return pair
    if squeezed(both) == squeezed(got) and squeezed(both) != squeezed(expected):
        return f"{pair}: a missing sum"  # the forward broadcast the variable up to this shape
    if squeezed(both) != squeezed(expected):
        return f"{pair} broadcasts to {both}"
    return pair


def compare(name: str, got: Any, expected: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> VarResult:
    """Compare one gradient. `got` is what the learner's d<name> holds: a tensor, None (still the
    TODO), UNREACHED, or anything else they assigned."""
    expected = expected.detach().cpu()
    result = VarResult(name, FAIL, expected_shape=tuple(expected.shape))
    if got is UNREACHED:
        result.status = ERROR
        return result
    if got is None:
        result.status = MISSING
        return result
    g = as_tensor(got)
    if g is None or g.dtype == torch.bool or g.is_complex():
        result.note = f"d{name} is {type(got).__name__}, not a tensor of numbers"
        return result
    result.shape = tuple(g.shape)
    notes = []
    if g.shape != expected.shape:
        wrong = shape_mistake(g.shape, expected.shape)
        if wrong:
            result.note = f"wrong shape: {wrong}"
            return result
        notes.append(f"{name} is {result.expected_shape}: only leading size-1 dims differ, fine")
        g = g.reshape(expected.shape)
    if g.dtype != expected.dtype:
        notes.append(f"dtype {dtype_name(g.dtype)}, {name} is {dtype_name(expected.dtype)}")
        common = torch.promote_types(torch.promote_types(g.dtype, expected.dtype), torch.float32)
        g, expected = g.to(common), expected.to(common)
    diff = (g - expected).abs()
    result.maxdiff = diff.max().item() if diff.numel() else 0.0
    finite = math.isfinite(result.maxdiff)  # then g is finite everywhere (a NaN or inf in g makes one in diff)
    if not finite and not torch.isfinite(g).all():
        notes.append("contains NaN" if torch.isnan(g).any() else "contains inf")
    result.exact = bool(torch.equal(g, expected))
    result.approx = all_close(g, expected, rtol, atol, diff if finite else None)
    scale = (g.abs() + expected.abs()).clamp(min=1e-8)
    result.relerr = (diff / scale).max().item() if diff.numel() else 0.0
    result.status = PASS if result.approx else FAIL
    result.note = "; ".join(notes) or None
    return result


def all_close(
    got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, diff: torch.Tensor | None = None
) -> bool:
    """torch.allclose(got, expected, rtol, atol), in a fraction of its time: equal tensors (most of
    a forward's intermediates) are close; where `diff`, |got - expected|, is given and finite
    everywhere, isclose is its own formula, diff <= atol + |rtol * expected| (judging compares
    thousands of small tensors; tests/test_engine.py holds it to torch.allclose at the boundary)."""
    if torch.equal(got, expected):
        return True
    if diff is None or not (rtol >= 0 and atol >= 0):  # (torch refuses a negative or NaN tolerance)
        return bool(torch.allclose(got, expected, rtol=rtol, atol=atol))
    return bool((diff <= atol + (rtol * expected).abs()).all())


def forward_changes(
    learner: Mapping[str, Any],
    trusted: Mapping[str, torch.Tensor],
    names: Sequence[str],
    ran_to_end: bool,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    *,
    tolerances: Mapping[str, tuple[float, float]] | None = None,
    lines: Mapping[str, str] | None = None,
) -> list[str]:
    """Where the forward pass in the learner's file stops matching the trusted one: the first
    intermediate that differs, in forward order, and the learner's line that computes it (`lines`:
    "path:line: source"). An undefined name counts only if the file ran to the end (otherwise the
    error explains it). `tolerances`: (rtol, atol) by name, where the learner's precision is not
    float64's."""
    for name in names:
        rtol, atol = (tolerances or {}).get(name, (rtol, atol))
        value = learner.get(name)
        if value is None:
            if ran_to_end:
                missing = f"forward pass changed: {name} is not defined (restore the template's forward line)"
                return [Note(missing, FORWARD_CHANGED)]
            continue
        got, want = as_tensor(value), trusted[name].detach().cpu()
        if got is None or got.shape != want.shape or not all_close(got.to(want.dtype), want, rtol, atol):
            where = f" at {lines[name]}" if lines and lines.get(name) else ""
            return [
                Note(
                    f"forward pass changed: {name} differs from the reference{where}. Gradients are checked against "
                    "the trusted forward pass, so restore the template's forward lines",
                    FORWARD_CHANGED,
                )
            ]
    return []


def check(
    exercise: str,
    answers: Mapping[str, Any],
    expected: Mapping[str, torch.Tensor],
    *,
    learner_forward: Mapping[str, Any] | None = None,
    trusted_forward: Mapping[str, torch.Tensor] | None = None,
    forward_names: Sequence[str] = (),
    error: LearnerError | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    tolerances: Mapping[str, tuple[float, float]] | None = None,
    forward_tolerance: tuple[float, float] | Mapping[str, tuple[float, float]] = (1e-9, 1e-12),
    every_intermediate: bool = True,
    forward_lines: Mapping[str, str] | None = None,
) -> Report:
    """Check every gradient in `expected` (in its order) against `answers`, and the learner's
    forward intermediates against the trusted ones. `tolerances`: (rtol, atol) by name, where a
    gradient's precision is not float64's (a learner's own float32 tensors). `every_intermediate`:
    the learner's forward must compute every name of `forward_names` (the template's does).
    `forward_tolerance`: one (rtol, atol), or one by name; float64's default is far under what the
    gradient check can see (an edit of 1e-5 in a forward line changes gradients by about as much)."""
    tolerances = tolerances or {}
    variables = [
        compare(name, answers.get(name), grad, *tolerances.get(name, (rtol, atol))) for name, grad in expected.items()
    ]
    notes = []
    if forward_names:
        ran_to_end = error is None and every_intermediate  # else an undefined name is no change
        by_name = forward_tolerance if isinstance(forward_tolerance, Mapping) else None
        notes = forward_changes(
            learner_forward or {}, trusted_forward or {}, forward_names, ran_to_end,
            *(forward_tolerance if by_name is None else (1e-9, 1e-12)), tolerances=by_name, lines=forward_lines,
        )  # fmt: skip
    return Report(exercise, variables, notes=notes, error=error, forward_ok=not notes)
