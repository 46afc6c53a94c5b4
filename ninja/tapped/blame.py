"""Local blame: is a wrong gradient wrong on its own line, or did a wrong gradient reach it?

The trusted forward is cut into one piece per checked variable (every checked intermediate made a
leaf of its own, see ninja.tapped.model.Model.cut). Which lines consume which variable comes from the
forward itself: walk each piece's autograd graph back to the leaves it reads. The local
expectation of dX is the sum, over the pieces that read X, of that piece's vector-Jacobian product
with the learner's *own* gradient of the piece's output (the root, the loss, gets 1). If dX matches
it, X's line is right and the failure is inherited; if not, X's line is a root cause, and
ninja.tapped.diagnose says what kind of mistake it looks like.

When an upstream gradient cannot be used, we decide so that the learner gets the most useful answer:
- missing (still None) or never reached: use the reference gradient there, and say the verdict
  assumes it ("assuming dY were right"): the learner can still learn whether this line is right;
- a wrong shape (not just size-1 dims) or not a tensor: X cannot be judged on its own, because its
  line has to broadcast against garbage; X inherits from Y, whose own line is the one to fix.

Pure: tensors in, fields of the VarResults filled in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ninja.engine import UNREACHED, as_tensor, squeezed
from ninja.results import ERROR, MISSING, PASS, LearnerError, VarResult
from ninja.tapped import diagnose


def reads(output: torch.Tensor, leaves: Mapping[str, torch.Tensor]) -> set[str]:
    """The leaves that `output`'s piece of the forward reads: its autograd graph, walked back."""
    found, seen, stack = set(), set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)  # an AccumulateGrad node: a leaf
        found |= {name for name, leaf in leaves.items() if variable is leaf}
        stack.extend(parent for parent, _ in node.next_functions)
    return found


def consumers(outputs: Mapping[str, torch.Tensor], leaves: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
    """For each leaf, the outputs computed from it, in the forward's order."""
    read = {name: reads(t, leaves) for name, t in outputs.items()}
    return {x: [y for y in outputs if x in read[y]] for x in leaves}


def indices_read(output: torch.Tensor, leaf: torch.Tensor) -> list[torch.Tensor]:
    """If `output` is `leaf[index]` (an embedding lookup), the index: where accumulation can be lost."""
    node = output.grad_fn
    if node is None or type(node).__name__ != "IndexBackward0" or node.next_functions[0][0] is None:
        return []
    if getattr(node.next_functions[0][0], "variable", None) is not leaf:
        return []
    saved = node._saved_indices  # type: ignore[attr-defined]  # IndexBackward0's indices, not in torch's stubs
    return [i for i in saved if i is not None and i.dtype in (torch.int64, torch.int32)]


def shared_storage(
    answers: Mapping[str, Any], changes: Mapping[str, Sequence[int]], fresh: Mapping[str, Sequence[int]] | None = None
) -> dict[str, list]:
    """name -> [another checked name whose gradient is the very same tensor, the line that tied
    them, the line that then changed it in place], for the gradients such a change reached through
    another's name (`dhprebn = dbndiff` then `dhprebn += ...`: dbndiff), and for the one it was made
    through. Tied but never changed in place after that is harmless (an identity gradient:
    `dfcproj = dresidual3`). `fresh`: of each name's lines, those that bind it afresh (`dx = ...`,
    not `dx += ...` or `dx[i] = ...`); by default its first line only. Plain data: it travels from
    a grading child."""
    groups: dict[tuple, list[str]] = {}
    for name, value in answers.items():
        if torch.is_tensor(value) and value.numel():
            key = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape), value.stride())
            groups.setdefault(key, []).append(name)
    bound = {name: max((fresh or {}).get(name) or changes.get(name, [0])[:1] or [0]) for name in answers}
    alias: dict[str, list] = {}
    for names in (group for group in groups.values() if len(group) > 1):
        in_place = sorted((line, c) for c in names for line in changes.get(c, ()) if line > bound[c])
        for name in names:
            for line, through in in_place:
                partners = [through] if through != name else [b for b in names if b != name]
                tied = next((b for b in partners if max(bound[name], bound[b]) < line), None)
                if tied is not None:
                    alias[name] = [tied, max(bound[name], bound[tied]) or None, line]
                    break
    return alias


def change_lines(changed_at: Mapping[str, Sequence[tuple[int, int]]], names: Sequence[str]) -> dict[str, list[int]]:
    """The lines that assign or change d<name>, in order. The last is the one to point at:
    `dcounts = ...` then `dcounts += ...` points at the +=, where a missing branch would go."""
    return {name: [first for first, _ in changed_at[f"d{name}"]] for name in names if changed_at.get(f"d{name}")}


def raised_in(changed_at: Mapping[str, Sequence[tuple[int, int]]], names: Sequence[str], line: int | None):
    """The checked name whose statement (a multi-line loop too) holds the line that raised."""
    for name in names:
        if line is not None and any(first <= line <= last for first, last in changed_at.get(f"d{name}", ())):
            return name
    return None


def blame(
    variables: Sequence[VarResult],
    answers: Mapping[str, Any],
    reference: Mapping[str, torch.Tensor],
    outputs: Mapping[str, torch.Tensor],
    leaves: Mapping[str, torch.Tensor],
    *,
    n: int,
    root: str = "loss",
    changes: Mapping[str, Sequence[int]] | None = None,
    error: LearnerError | None = None,
    raised: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    forward_ok: bool = True,
    alias: Mapping[str, Sequence] | None = None,
    mistakes: Mapping[str, Sequence[tuple[str, str, torch.Tensor]]] | None = None,
    statements: Mapping[str, Sequence[tuple[int, Any, bool]]] | None = None,
    raised_here: Mapping[str, LearnerError] | None = None,
) -> None:
    """Fill root_cause, inherited_from, diagnosis and line of every VarResult. `outputs` and
    `leaves` come from the cut forward; `raised` is the checked name whose line raised `error`.
    Nothing is blamed when the learner's forward is not the trusted one (`forward_ok` False).
    `alias` (see shared_storage) when the answers are copies that no longer share storage;
    `mistakes`: named wrong formulas per name (an exercise's MISTAKES, ninja/makemore/mistakes.py): one that
    reproduces the learner's gradient is named before a generic diagnosis (NAMED_LOSES aside); `statements`: for a gradient written in several statements, (line, value after it, whether
    it adds) for each: the root cause is the first statement that is wrong (see first_wrong_statement);
    `raised_here`: by name, an error raised in one of its statements that did not stop the report (a
    notebook's cells run on): that line raised, whatever value the name was left with."""
    results = {v.name: v for v in variables}
    used_by = consumers(outputs, leaves)
    changes = changes or {}
    alias = shared_storage(answers, changes) if alias is None else alias  # given: found where the tensors live
    ties = {name: diagnose.Tie(*tie) for name, tie in alias.items()}
    order = [v.name for v in variables]  # backward order
    raised_here = raised_here or {}
    for v in variables:
        v.line = changes[v.name][-1] if changes.get(v.name) else None
        if (v.name == raised or v.status == ERROR) and error is not None and error.line:
            v.line = error.line  # the line that raised, not one after it that never ran
        elif v.name in raised_here and raised_here[v.name].line:
            v.line = raised_here[v.name].line
        if v.status == PASS and v.name in ties:  # harmless now, but the next += will bite
            v.diagnosis_kind, v.diagnosis = "aliasing", diagnose.aliasing(v.name, ties[v.name])
            v.line = ties[v.name].line or v.line
        elif v.status in (PASS, MISSING) or not forward_ok:
            continue  # a changed forward makes every comparison moot: its note says what to do
        elif v.status == ERROR and v.name != raised:
            # never reached: it inherits only from a gradient before it in backward order
            if raised in order and order.index(raised) < order.index(v.name):
                v.inherited_from = raised
        else:
            judge(v, answers, reference, outputs, leaves, used_by.get(v.name, []), results, n=n, root=root,
                  alias=ties.get(v.name), raised=raised, error=error, namespace=namespace or {},
                  mistakes=(mistakes or {}).get(v.name, ()), statements=(statements or {}).get(v.name, ()),
                  raised_here=raised_here.get(v.name))  # fmt: skip
            if v.diagnosis_kind == "aliasing":  # the line that tied the two: `dhprebn = dbndiff`
                v.line = ties[v.name].line or v.line
    for v in variables:
        if v.inherited_from is not None:
            v.inherited_from = origin(v.inherited_from, results)


def subset_sums(parts: Mapping[str, torch.Tensor]):
    """(names, their sum) for every subset of `parts`, the empty one first: what a statement that
    adds some of a gradient's branches can hold."""
    names = list(parts)[:6]  # a variable read by more lines than that is not a backprop exercise
    for mask in range(1 << len(names)):
        chosen = [y for k, y in enumerate(names) if mask >> k & 1]
        yield chosen, sum((parts[y] for y in chosen), torch.zeros_like(next(iter(parts.values()))))


def first_wrong_statement(name: str, steps, contributions: Mapping[str, torch.Tensor], *, n: int):
    """For a gradient written in several statements that each add to it (`dcounts = ...` then
    `dcounts += ...`), the first statement whose part is not a sum of some of the branches still
    to come: (line, diagnosis). With one branch, several statements may build it in pieces
    (`dlogits = softmax`, then `dlogits[range(n), Yb] -= 1`): a statement is blamed there only
    when every other one adds zeros or the whole branch (`dC = torch.ones_like(C)`, then the loop).
    None when each statement adds whole branches (a branch is missing: the last statement's
    diagnosis says so), when the chain is not additive, or when it cannot be told."""
    if len(steps) < 2 or not contributions or not all(adds for _, _, adds in steps[1:]):
        return None
    like = next(iter(contributions.values()))
    previous, left, misfits = torch.zeros_like(like), dict(contributions), []
    for k, (line, value, _) in enumerate(steps):
        g = as_tensor(value)
        if g is None or g.dtype == torch.bool or g.is_complex():
            return None
        g = g.to(like.dtype)
        try:  # `dC = 0` broadcasts; (64,) for (1, 64) is the same gradient
            g = g.reshape(like.shape) if squeezed(g.shape) == squeezed(like.shape) else g.expand(like.shape)
        except RuntimeError:  # a shape that cannot be one of its branches: judged as a whole
            return None
        part = g - previous
        fits = next((chosen for chosen, total in subset_sums(left) if diagnose.close(part, total)), None)
        if fits is None:
            misfits.append((line, statement_diagnosis(name, part, left, n=n, first=k == 0)))
        else:
            left = {y: t for y, t in left.items() if y not in fits}
        previous = g
    if len(contributions) > 1 or len(misfits) == 1:
        return misfits[0] if misfits else None
    return None


def statement_diagnosis(name: str, part: torch.Tensor, left: Mapping[str, torch.Tensor], *, n: int, first: bool):
    """What is wrong with the part one statement adds: a common mistake on one branch, if one fits."""
    for y, branch in left.items():
        if branch.abs().max() == 0:
            continue
        kind, words = diagnose.diagnose(name, part, branch, {y: branch}, n=n)
        if kind not in ("local_rule", "precision"):
            return kind, f"the part of d{name} this statement adds, through {y}: {words}"
    branches = ", ".join(left)
    if first:
        one = branches if len(left) == 1 else f"one of {branches}"
        return "local_rule", (
            f"d{name} starts wrong here: its first statement should hold zeros or what flows back from "
            f"{one}, and it holds neither"
        )
    return "local_rule", f"this statement adds to d{name} something that is not what flows back from {branches}"


def root_cause(v: VarResult, found: diagnose.Diagnosis) -> None:
    v.root_cause = True
    v.diagnosis_kind, v.diagnosis = found


def origin(name: str, results: Mapping[str, VarResult]) -> str:
    """Follow 'inherits from' to the root cause it starts at."""
    seen = set()
    while name in results and not results[name].root_cause and name not in seen:
        upstream = results[name].inherited_from
        if not upstream:
            break
        seen.add(name)
        name = upstream
    return name


def upstream(y: str, answers, reference, outputs, results, root: str) -> tuple[str, torch.Tensor | None]:
    """The learner's gradient of output y, as autograd wants it: ("ok", tensor), ("assumed",
    the reference) when it is not there yet, or ("unusable", None) when its shape is wrong."""
    if y == root:
        return "ok", torch.ones_like(outputs[y])
    r = results[y]
    got = answers.get(y)
    if r.status in (MISSING, ERROR) or got is None or got is UNREACHED:
        return "assumed", reference[y].to(outputs[y].dtype)
    g = as_tensor(got)
    if g is None or g.dtype == torch.bool or g.is_complex() or squeezed(g.shape) != squeezed(outputs[y].shape):
        return "unusable", None
    return "ok", g.reshape(outputs[y].shape).to(outputs[y].dtype)


def named(g: torch.Tensor | None, local: torch.Tensor, truth: torch.Tensor, mistakes) -> diagnose.Diagnosis | None:
    """The named mistake g equals, when what reaches this line is right (its local expectation is
    the true gradient): the mistakes are computed from the true upstream."""
    if g is None or g.shape != local.shape or not diagnose.close(local, truth.to(local.dtype)):
        return None
    g = g.to(local.dtype)
    return next(((kind, words) for kind, words, wrong in mistakes if diagnose.close(g, wrong.to(local.dtype))), None)


# generic diagnoses a named mistake that reproduces the learner's numbers does not replace: two
# gradients tied (a formula can say what the numbers are, not why), a branch left out (it names the
# line whose part to add: exercise 1's dhprebn without its bnmeani part is also exercise 3's "mean
# term missing", but exercise 1 has no such term to write), rounding
NAMED_LOSES = ("aliasing", "missing_branch", "precision")


def judge(v, answers, reference, outputs, leaves, used_by, results, *, n, root, alias, raised, error, namespace,
          mistakes=(), statements=(), raised_here=None):  # fmt: skip
    """A failing variable: inherited, or a root cause with a diagnosis, at the first of its
    statements that is wrong."""
    states = {y: upstream(y, answers, reference, outputs, results, root) for y in used_by}
    unusable = [y for y, (state, _) in states.items() if state == "unusable"]
    if unusable:
        v.inherited_from = unusable[0]
        return
    leaf = leaves[v.name]
    contributions = {}
    for y, (_, dy) in states.items():
        # the vector-Jacobian product as the gradient of <output, dy> (dy has the output's shape and
        # dtype: the same numbers): grad_outputs= makes torch import sympy on its first call (0.3 s of CPU)
        (part,) = torch.autograd.grad((outputs[y] * dy).sum(), leaf, retain_graph=True, allow_unused=True)
        contributions[y] = torch.zeros_like(leaf) if part is None else part.detach()
    local = sum(contributions.values(), torch.zeros_like(leaf)).detach()
    if v.name == raised and error is not None:
        root_cause(v, diagnose.exception(v.name, error.kind, error.message, error.source, namespace))
        return
    if raised_here is not None:
        root_cause(v, diagnose.exception(v.name, raised_here.kind, raised_here.message, raised_here.source, {}))
        return
    g = as_tensor(answers.get(v.name))
    failing = [y for y in used_by if y != root and results[y].status != PASS and states[y][0] == "ok"]
    matches = g is not None and squeezed(g.shape) == squeezed(local.shape)
    if matches and diagnose.close(g.to(local.dtype).reshape(local.shape), local) and failing:
        v.inherited_from = failing[0]
        return
    squeezed_upstreams = [
        (y, results[y].shape, results[y].expected_shape)
        for y in used_by
        if y in results and results[y].shape not in (None, results[y].expected_shape)
    ]
    indices = [i for y in used_by for i in indices_read(outputs[y], leaf)]
    kind, words = diagnose.diagnose(v.name, g, local, contributions, n=n, alias=alias,
                                    squeezed_upstreams=squeezed_upstreams, indices=indices)  # fmt: skip
    found = named(g.reshape(local.shape) if matches else None, local, reference[v.name], mistakes)
    if found and kind not in NAMED_LOSES:  # the exercise's own classic says more than "2.828 times"
        root_cause(v, found)
        return
    wrong_statement = None if kind == "aliasing" else first_wrong_statement(v.name, statements, contributions, n=n)
    if wrong_statement and wrong_statement[0] != v.line:  # an earlier statement than the last one
        v.line, (kind, words) = wrong_statement
    assumed = [f"d{y}" for y, (state, _) in states.items() if state == "assumed"]
    if assumed:
        words += f" (assuming {', '.join(assumed)}, not there yet, were right)"
    root_cause(v, (kind, words))
