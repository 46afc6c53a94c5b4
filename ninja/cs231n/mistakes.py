"""CS231n's common mistakes: what a named mistake is, how an answer is matched against the ones a
unit lists (diagnose), and where in the learner's source to point (ast: the statement that makes
it, Python loops in a vectorized function)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ninja import engine
from ninja.results import FAIL, PASS, VarResult

Inputs = dict[str, Any]
Diagnosis = tuple[str, str]  # (kind, words), as blame's: ("accumulation", "dx[...] = instead of +=: ...")


@dataclass(frozen=True)
class Mistake:
    """A named mistake: what the trusted forward computes with `options` (reg_factor=0.5,
    mean=False, ...), or what `produces(inputs, dout)` returns. `kind` is its one-word name
    (VarResult.diagnosis_kind), which also tells `offending_line` what statement to look for."""

    kind: str
    message: str
    options: Mapping[str, Any] = field(default_factory=dict)
    produces: Callable[[Inputs, Any], dict[str, Any]] | None = None


def in_place(function: str, names: Sequence[str]) -> Diagnosis:
    listed = ", ".join(names)
    return "in_place", (
        f"{function} modifies its argument {listed} in place (the caller and any cache see it change): "
        f"build a new array (np.maximum, x * mask) instead of assigning into {names[0]}"
    )


def diagnose(name, got, expected, trial, rtol, atol, overflow: str | None) -> Diagnosis | None:
    """The first of the trial's named mistakes (judge.Trial.mistakes) whose output `got` matches, or
    an overflow; None when nothing fits."""
    for named, produced in trial.mistakes.items():
        if name not in produced:
            continue
        made = torch.as_tensor(produced[name])
        if engine.compare(name, got, made, rtol, atol).status == PASS and apart(got, made, expected):
            return named
    given = engine.as_tensor(got)
    if given is not None and given.numel() == 0 and expected.numel() > 0:
        return "empty", (
            f"an empty array (shape {tuple(given.shape)}): a slice that ends at -pad, x[:, :, pad:-pad], is empty "
            "when pad is 0 (-0 is 0); end it at pad + H"
        )
    if any(not_finite(g) for g in trial.got.values()) and torch.isfinite(expected).all():
        return "overflow", (
            overflow
            or "NaN or inf where the answer is finite: an overflow (exp of large scores?) or a division by zero"
        )
    return None


def apart(got: Any, made: torch.Tensor, expected: torch.Tensor) -> bool:
    """The mistake's values explain the learner's far better than the right ones do (ten times
    closer): on a case where the mistake barely changes anything, a small error of another kind
    must not take its name."""
    g = engine.as_tensor(got)
    if g is None or g.shape != expected.shape or made.shape != expected.shape:
        return True  # a shape of the mistake's own (db summed over N only): the shape itself tells
    g, made, expected = g.double(), made.double(), expected.double()
    return bool((g - made).abs().max() * 10 < (g - expected).abs().max())


def not_finite(value: Any) -> bool:
    g = engine.as_tensor(value)
    return g is not None and g.is_floating_point() and not bool(torch.isfinite(g).all())


def loops_in(source: str, name: str) -> list[tuple[str, int]]:
    """Python loops (for, while, comprehensions) in the function or method `name` and in the
    functions of the same file it calls: ast, not timing, so a busy machine cannot fool it. Read
    from the source by the judge, so a graded submission cannot hide its loops."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    defs = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found, todo, seen = [], [name], set()
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.add(current)
        for node in ast.walk(defs[current]):
            if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
                found.append((type(node).__name__.lower().replace("async", ""), node.lineno))
            elif isinstance(node, COMPREHENSIONS) and not builds_indices(node):
                found += [("comprehension", g.iter.lineno) for g in node.generators]
            elif isinstance(node, ast.Call):
                todo.append(callee(node))
    return sorted(found, key=lambda loop: loop[1])


FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
INDEX_SOURCES = {"range", "arange", "enumerate", "zip", "len"}


def builds_indices(node: ast.AST) -> bool:
    """`[i for i in range(N)]`, `[(i, y[i]) for i in range(N)]`: a comprehension that only builds
    index arrays (no call, no method in what it makes; it iterates over range, arange, enumerate or
    zip of names) does no per-element computation, so it is no loop of the vectorized kind."""
    made = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    if any(isinstance(n, (ast.Call, ast.Attribute)) for part in made for n in ast.walk(part)):
        return False
    for generator in node.generators:
        source = generator.iter
        calls = [n for n in ast.walk(source) if isinstance(n, ast.Call)]
        if not isinstance(source, ast.Name) and not (calls and all(callee(c) in INDEX_SOURCES for c in calls)):
            return False
    return True


def callee(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def offending_line(source: str, result: str, kind: str) -> int | None:
    """The line of the learner's file to look at for a named mistake in `result` (function.output):
    the statement that makes it when ast finds one (`dx[...] = dout[...]`, `np.sqrt(var) + eps`),
    else the line where the function is defined."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    function = function_def(tree, result.partition(".")[0])
    if function is None:
        return None
    looks_like = OFFENDING.get(kind)
    if looks_like is not None:
        aliases = argument_aliases(function)
        for stmt in simple_statements(function):
            if looks_like(stmt, result, aliases):
                return stmt.lineno
    return function.lineno


def function_def(tree: ast.AST, name: str) -> ast.AST | None:
    """The def of `name`, a method too; a class checked as a whole (TwoLayerNet) by its loss method."""
    for node in ast.walk(tree):
        if isinstance(node, FUNCTION_DEFS) and node.name == name:
            return node
        if isinstance(node, ast.ClassDef) and node.name == name:
            return next((n for n in node.body if isinstance(n, FUNCTION_DEFS) and n.name == "loss"), node)
    return None


def parsed_function(source: str, name: str) -> ast.AST | None:
    """The def of the function or method `name` in `source` (None: not there, or not Python)."""
    try:
        function = function_def(ast.parse(source), name)
    except SyntaxError:
        return None
    return function if isinstance(function, FUNCTION_DEFS) else None


def simple_statements(function: ast.AST) -> list[ast.stmt]:
    """Statements without a body of their own (not for, if, with, def), in line order."""
    found = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and not hasattr(n, "body")]
    return sorted(found, key=lambda n: n.lineno)


def names_in(node: ast.AST) -> set[str]:
    """Every name and attribute read in `node` (`self.reg` gives self and reg)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def calls(node: ast.AST, function: str) -> bool:
    """Whether `node` calls `function` (np.sqrt, math.sqrt and sqrt alike)."""
    return any(isinstance(n, ast.Call) and function in names_in(n.func) for n in ast.walk(node))


def argument_aliases(function: ast.AST) -> set[str]:
    """The arguments of `function` and the names bound to one as it is (`dx = dout`)."""
    if not isinstance(function, FUNCTION_DEFS):
        return set()
    aliases = {a.arg for a in function.args.args if a.arg != "self"}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return aliases


def assigned_into(stmt: ast.stmt) -> list[ast.expr]:
    """What `stmt` writes to: the targets of =, +=, ... (`x[x < 0] = 0` writes into x[x < 0])."""
    if isinstance(stmt, ast.Assign):
        return stmt.targets
    return [stmt.target] if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) else []


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def writes_into_argument(stmt, result, aliases) -> bool:
    """`x[x < 0] = 0`, `dx[x <= 0] = 0` after `dx = dout`, `x += 1`, np.maximum(x, 0, out=x)."""
    for target in assigned_into(stmt):
        if root_name(target) in aliases and (isinstance(target, ast.Subscript) or isinstance(stmt, ast.AugAssign)):
            return True
    keywords = [k for n in ast.walk(stmt) if isinstance(n, ast.Call) for k in n.keywords if k.arg == "out"]
    return any(isinstance(k.value, ast.Name) and k.value.id in aliases for k in keywords)


def assigns_into_array(stmt, result, aliases) -> bool:
    """`dx[...] = dout[...]` (max-pool's backward, which must add)."""
    subscript = isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Subscript) for t in stmt.targets)
    return subscript and "dout" in names_in(stmt.value)


def eps_outside_sqrt(stmt, result, aliases) -> bool:
    """`np.sqrt(var) + eps`."""
    return any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add) and any(
            calls(a, "sqrt") and any("eps" in name for name in names_in(b))
            for a, b in ((n.left, n.right), (n.right, n.left))
        )
        for n in ast.walk(stmt)
    )  # fmt: skip


def regularizes(stmt, result, aliases) -> bool:
    """The loss's `reg * np.sum(W * W)`, or dW2's `2 * self.reg * W2`: a product of reg and a sum, or
    of reg and the parameter itself."""
    parameter = result.rpartition(".")[2].removeprefix("d")
    for n in ast.walk(stmt):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult):
            for a, b in ((n.left, n.right), (n.right, n.left)):
                other = calls(b, "sum") if result.endswith(".loss") else isinstance(b, ast.Name) and b.id == parameter
                if "reg" in names_in(a) and other:
                    return True
    return False


def slice_to_minus_pad(stmt, result, aliases) -> bool:
    """`dx_pad[:, :, pad:-pad, pad:-pad]`: a slice that ends at minus a padding."""
    return any(
        isinstance(n, ast.Slice) and isinstance(n.upper, ast.UnaryOp) and isinstance(n.upper.op, ast.USub)
        and any("pad" in name for name in names_in(n.upper))
        for n in ast.walk(stmt)
    )  # fmt: skip


def transposes_into_result(stmt: ast.stmt, result: str, aliases: set[str]) -> bool:
    """`dw = x.T.dot(dout)`: an assignment to the result's own name (dw) that transposes something."""
    targets = [n.id for t in getattr(stmt, "targets", []) for n in ast.walk(t) if isinstance(n, ast.Name)]
    transposes = any(isinstance(n, ast.Attribute) and n.attr == "T" for n in ast.walk(stmt))
    return transposes and result.rpartition(".")[2] in targets


OFFENDING: dict[str, Callable[[ast.stmt, str, set[str]], bool]] = {
    "accumulation": assigns_into_array,
    "in_place": writes_into_argument,
    "eps": eps_outside_sqrt,
    "keep_drop": lambda stmt, result, aliases: calls(stmt, "rand"),  # where the mask is drawn
    "dropout_rate": lambda stmt, result, aliases: calls(stmt, "rand"),
    "overflow": lambda stmt, result, aliases: calls(stmt, "exp"),
    "reg": regularizes,
    "reg_in_loop": regularizes,
    "net_reg": regularizes,
    "empty": slice_to_minus_pad,
    "reshape": transposes_into_result,
}  # a kind not here (missing_n: the division that is missing) points at the def


def vectorized_verdict(unit, loops: list, speed: str | None, results: list[VarResult]) -> None:
    """A vectorized function must not loop in Python (more than `max_loops`); its speed-up over
    the naive one (measured by collect) is shown once it passes."""
    if len(loops) > unit.max_loops:
        where = ", ".join(f"`{kind}` at line {line}" for kind, line in loops[:3])
        where += f" and {len(loops) - 3} more" if len(loops) > 3 else ""
        allowed = "no loop" if unit.max_loops == 0 else f"at most {unit.max_loops} loop"
        # it fails even with the right values: being vectorized is what this function is asked for
        for r in results:
            r.status = FAIL if r.status == PASS else r.status
            if not r.diagnosis:
                r.diagnosis_kind, r.line = "loops", loops[0][1]
                r.diagnosis = f"{unit.names[0]} still loops in Python ({where}); it should have {allowed}"
    if speed and all(r.status == PASS for r in results):
        results[0].note = "; ".join(n for n in (results[0].note, speed) if n)


def still_a_stub(source: str, name: str, error) -> bool:
    """The skeleton's own line raised on what the learner has not written yet: CS231n's
    `out = None` ... `out = out.astype(x.dtype, copy=False)` gives 'NoneType' object has no
    attribute 'astype' while `out` is assigned nothing but None in the function."""
    if error is None or "NoneType" not in error.message or error.line is None:
        return False
    function = parsed_function(source, name)
    if function is None:
        return False
    at_line = [s for s in simple_statements(function) if s.lineno <= error.line <= (s.end_lineno or s.lineno)]
    read = {n.id for s in at_line for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return any(only_initial(function, variable, error.line) for variable in read)


INITIAL_CALLS = {"zeros", "zeros_like", "empty", "empty_like"}


def only_initial(function: ast.AST, variable: str, skip_line: int | None = None) -> bool:
    """Whether `variable` is bound in `function` and only ever to an initial value (None, 0,
    np.zeros(...)), never assigned into or added to; the statement at `skip_line` (the skeleton's
    own `out = out.astype(...)` that raised) does not count."""
    statements = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and n.lineno != skip_line]
    binding = [n for n in statements if any(root_name(t) == variable for t in bound_by(n))]
    return bool(binding) and all(isinstance(n, ast.Assign) and assigns_initial(n, variable) for n in binding)


def bound_by(node: ast.stmt) -> list[ast.expr]:
    """What a statement binds or writes into: assignment targets (unpacked), a for's target, a with's names."""
    targets = assigned_into(node)
    if isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    flat = []
    for target in targets:
        flat += target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
    return flat


def returns_initial(source: str, name: str, index: int) -> str | None:
    """The variable the function `name` returns at position `index` (`return loss, dW`: 1 is dW)
    when it still holds only the skeleton's initial value (None, 0.0, np.zeros(...)): the learner
    has not written it yet. None when it is computed (or the source does not say)."""
    function = parsed_function(source, name)
    if function is None:
        return None
    returns = [n for n in function.body if isinstance(n, ast.Return) and n.value is not None]  # the last line's
    if not returns:
        return None
    values = returns[-1].value.elts if isinstance(returns[-1].value, ast.Tuple) else [returns[-1].value]
    if index >= len(values) or not isinstance(values[index], ast.Name):
        return None
    variable = values[index].id
    return variable if only_initial(function, variable) else None


def assigns_initial(node: ast.Assign, variable: str) -> bool:
    """`variable = None`, `= 0.0`, `= np.zeros(...)`, or its place in `a, b = None, None`."""

    def initial(value):
        if isinstance(value, ast.Constant):
            return value.value is None or value.value == 0
        if isinstance(value, ast.Call):
            return (getattr(value.func, "attr", None) or getattr(value.func, "id", None)) in INITIAL_CALLS
        return isinstance(value, ast.Dict) and not value.keys

    for target in node.targets:
        if isinstance(target, ast.Name) and target.id == variable:
            return initial(node.value)
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            for t, v in zip(target.elts, node.value.elts):
                if isinstance(t, ast.Name) and t.id == variable:
                    return initial(v)
    return False
