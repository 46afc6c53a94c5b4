"""What kind of mistake a root cause looks like. Pure: the learner's gradient g against its local
expectation (what autograd makes of the learner's own upstream gradients on this one line), and
the first common mistake that reproduces g.

Each test returns (kind, words) or None; `diagnose` tries them in order. The kinds, for tools:
aliasing, type, nonfinite, keepdim, missing_sum, transposed, view, wrong_dim, shape, factor,
missing_branch, accumulation, precision, local_rule, exception.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch

from ninja.engine import shape_mistake, squeezed

Diagnosis = tuple[str, str]


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to rounding: a learner's formula and autograd's round differently, and upstream
    gradients that are already wrong can be large."""
    if a.shape != b.shape:
        return False
    finite = [t[torch.isfinite(t)].abs() for t in (a, b)]
    scale = max([t.max().item() for t in finite if t.numel()] + [1e-30])
    return torch.allclose(a, b, rtol=1e-4, atol=1e-6 * scale, equal_nan=True)


def shape(t: Any) -> str:
    return str(tuple(t.shape)) if hasattr(t, "shape") else type(t).__name__


def factors(n: int) -> list[tuple[float, str]]:
    """Constant factors that common mistakes produce, with what each one usually means."""
    return [
        (-1.0, "the sign is flipped (it is -1 times the right value)"),
        (float(n), f"it is n = {n} times too big: a division by n (the batch size) is missing"),
        (1 / n, f"it is n = {n} times too small: an extra division by n (the batch size)"),
        ((n - 1) / n, "it is (n-1)/n times the right value: the forward divides by n-1 here "
         "(Bessel's correction), not by n"),
        (n / (n - 1), "it is n/(n-1) times the right value: divide by n here; Bessel's n-1 is only "
         "in the variance"),
        (2.0, "it is 2 times the right value: an extra factor of 2"),
        (0.5, "it is half the right value: a factor of 2 is missing (d/dx x**2 = 2*x)"),
    ]  # fmt: skip


def diagnose(
    name: str,
    g: torch.Tensor | None,
    local: torch.Tensor,
    contributions: Mapping[str, torch.Tensor],
    *,
    n: int,
    alias: Tie | None = None,
    squeezed_upstreams: Sequence[tuple[str, tuple, tuple]] = (),
    indices: Sequence[torch.Tensor] = (),
) -> Diagnosis:
    """The first mistake that fits d<name> = g, whose line should have given `local` (the sum of
    `contributions`, one per line that consumes <name>)."""
    if alias is not None:
        return "aliasing", aliasing(name, alias)
    if g is None:
        return "type", f"d{name} is not a tensor of numbers: it should be a tensor shaped like {name} {shape(local)}"
    g = g.to(local.dtype)
    if squeezed(g.shape) != squeezed(local.shape):
        return wrong_shape(name, g, local, squeezed_upstreams)
    g = g.reshape(local.shape)
    found = (
        nonfinite(name, g, local)
        or transposed(name, g, local)
        or constant_factor(name, g, local, n)
        or missing_branch(name, g, local, contributions)
        or next(filter(None, (accumulation(name, g, local, index) for index in indices)), None)
        or precision(name, g, local)
    )
    if found:
        return found
    return "local_rule", local_rule(name, g, local, contributions)


class Tie(NamedTuple):
    """Two gradients that are one tensor, and what made that matter (ninja.tapped.blame.shared_storage)."""

    other: str  # the other gradient's checked name
    line: int | None = None  # where a plain `=` made them one tensor
    changed_line: int | None = None  # the first in-place change of it after that
    source: str | None = None  # those two statements, as the learner wrote them
    changed_source: str | None = None


def aliasing(name: str, tie: Tie) -> str:
    """What happened to two gradients that are the same tensor, in the learner's own statements
    where we have them."""
    if tie.source and tie.changed_source:
        happened = (
            f"`{tie.source}` made them one tensor (a plain `=` shares it), and `{tie.changed_source}` then changed "
            f"it in place, so that change reached both"
        )
    else:
        happened = (
            "a plain `=` made them one tensor, and it was changed in place after that, so the change reached both"
        )
    return (
        f"d{name} and d{tie.other} are the same tensor: {happened}. Copy with .clone() where you start one gradient "
        f"from the other"
    )


def wrong_shape(name, g, local, squeezed_upstreams) -> Diagnosis:
    """A shape that would not update <name> as the right gradient does (ninja.engine.shape_mistake),
    and the mistake that made it, when one fits."""
    given = f"d{name} is {shape(g)} for {name}'s {shape(local)}"
    for upstream, got, expected in squeezed_upstreams:
        return "keepdim", (
            f"{given}: d{upstream} is {got}, not {expected}: it was summed without keepdim=True, and "
            f"broadcasting it on this line made the wrong shape. Keep the dim where you sum d{upstream}"
        )
    for dim in range(g.dim()) if g.numel() > local.numel() else ():
        summed = g.sum(dim)
        if summed.numel() == local.numel() and close(summed.reshape(local.shape), local):
            return "missing_sum", (
                f"{given}: a sum over dim {dim} is missing (the forward broadcast {name} over that dim, "
                f"so its gradient adds up over it)"
            )
    if g.dim() == local.dim() == 2 and g.T.shape == local.shape:
        right = "the right numbers, rows and columns swapped" if close(g.T, local) else "and its numbers are wrong too"
        return "transposed", f"d{name} is transposed: {shape(g)} for {name}'s {shape(local)}; {right}"
    if g.numel() == local.numel() and close(g.reshape(local.shape), local):
        if tuple(g.shape) == tuple(d for d in local.shape if d != 1):
            return "keepdim", (
                f"{given}: summed without keepdim=True ({shape_mistake(g.shape, local.shape)}); keep the dim: "
                ".sum(..., keepdim=True)"
            )
        return "view", (
            f"the right numbers in the wrong shape: {shape_mistake(g.shape, local.shape)}; view it as {shape(local)}"
        )
    ones = lambda s: [i for i, d in enumerate(s) if d == 1]  # noqa: E731
    if g.dim() == local.dim() and ones(g.shape) and ones(g.shape) != ones(local.shape):
        dims = lambda s: ", ".join(map(str, ones(s)))  # noqa: E731
        if not ones(local.shape):  # "sum over dim []": there is no dim to sum over
            return "wrong_dim", f"{given}: summed over dim {dims(g.shape)}, where {name} needs no sum: drop it"
        return "wrong_dim", f"{given}: summed over the wrong dim (sum over dim {dims(local.shape)} with keepdim=True)"
    return "shape", f"d{name}: wrong shape, {shape_mistake(g.shape, local.shape)}"


def nonfinite(name, g, local) -> Diagnosis | None:
    bad = ~torch.isfinite(g) & torch.isfinite(local)
    if not bad.any():
        return None
    nan, inf = int(torch.isnan(g[bad]).sum()), int(torch.isinf(g[bad]).sum())
    what = " and ".join(f"{count} {kind}" for count, kind in ((nan, "NaN"), (inf, "inf")) if count)
    return "nonfinite", (
        f"NaN or inf first appears here: {what} of the {g.numel()} elements of d{name}, though the "
        f"gradients it is made from are finite (a division by zero, or log/pow of 0?)"
    )


def transposed(name, g, local) -> Diagnosis | None:
    if g.dim() == 2 and g.shape[0] == g.shape[1] and not close(g, local) and close(g.T, local):
        return "transposed", f"d{name} is transposed: the right numbers, rows and columns swapped"
    return None


def constant_factor(name, g, local, n) -> Diagnosis | None:
    if not torch.isfinite(local).all() or local.abs().max() == 0:
        return None
    for c, words in factors(n):
        if close(g, c * local):
            return "factor", words
    c = ((g * local).sum() / (local * local).sum()).item()
    if abs(c - 1) > 1e-3 and close(g, c * local):
        return "factor", f"it is {c:.4g} times the right value: a wrong constant factor"
    return None


def missing_branch(name, g, local, contributions) -> Diagnosis | None:
    if len(contributions) < 2:
        return None
    for consumer, part in contributions.items():
        if part.abs().max() > 0 and close(g, local - part):
            return "missing_branch", (
                f"the branch through {consumer} is missing: {name} is used in more than one line of the "
                f"forward, and the gradient from each must be added into d{name} (+=). Add what flows "
                f"back from {consumer}"
            )
    return None


def precision(name, g, local) -> Diagnosis | None:
    if close(g, local):
        return "precision", (
            f"d{name} matches its line's rule to about 1e-4 but not within the tolerance: a formula that "
            f"rounds differently, or float16/bfloat16 somewhere?"
        )
    return None


def accumulation(name, g, local, index: torch.Tensor) -> Diagnosis | None:
    """`dC[Xb] += demb` writes each row once per distinct index, so rows that Xb repeats lose all
    but one of their updates: wrong exactly at the repeated rows."""
    rows = index.flatten()
    counts = torch.bincount(rows, minlength=g.shape[0])
    wrong = [r for r in range(g.shape[0]) if not close(g[r], local[r])]
    if wrong and all(counts[r] > 1 for r in wrong):
        return "accumulation", (
            f"d{name} is wrong only at the {len(wrong)} rows whose index repeats: `d{name}[ix] += ...` with "
            f"a tensor of indices adds once per distinct index, so repeated ones lose their updates. "
            f"Accumulate with index_add_ (or a loop over the indices)"
        )
    return None


def local_rule(name, g, local, contributions) -> str:
    lines = ", ".join(contributions) or "the loss"
    return (
        f"this line's local rule is wrong: d{name} {shape(g)} should be what flows back from {lines}, "
        f"given the gradients you have there"
    )


def no_common_slip(name: str, made_from: str | None = None) -> str:
    """local_rule's words for a gradient whose local expectation is the reference itself (the
    parameters, where only they are checked: exercise 4, gpt5): "this line's rule" says nothing there."""
    where = f"{made_from}, which it is made from" if made_from else "the gradients it is made from"
    return f"d{name} is not autograd's, and not by a common slip (sign, factor, transpose, shape): check this line and {where}"


def exception(name: str, kind: str, message: str, source: str | None, namespace: Mapping[str, Any]) -> Diagnosis:
    """The learner's line raised: say what, and the shapes of the tensors it uses."""
    operands = []
    try:
        names = [node.id for node in ast.walk(ast.parse((source or "").strip().rstrip(":") or "0"))
                 if isinstance(node, ast.Name)]  # fmt: skip
    except SyntaxError:
        names = []
    for operand in dict.fromkeys(names):
        value = namespace.get(operand)
        if torch.is_tensor(value):
            operands.append(f"{operand} {tuple(value.shape)}")
    shapes = f"; shapes: {', '.join(operands)}" if operands else ""
    return "exception", f"this line raised {kind}: {message}{shapes}"
