"""The CS231n track: the learner's file defines NumPy functions with CS231n's signatures
(`affine_forward(x, w, b) -> (out, cache)`, `affine_backward(dout, cache) -> (dx, dw, db)`, ...).

The checker imports the file (runner.run_file), calls each function on seeded inputs at several
shapes, and compares what it returns with a trusted float64 torch forward and its autograd
gradients (engine.compare). A backward is fed the learner's own cache. On a failure it tests the
answer against what CS231n's common mistakes produce and names the one that fits.
"""

from __future__ import annotations

import ast
import copy
import io
import os
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ninja import collected, engine, runner
from ninja.exercise import BundledFiles, cached
from ninja.results import ERROR, FAIL, MISSING, PASS, LearnerError, Report, VarResult
from ninja.settings import DataError, Settings

H = 1e-5  # CS231n's step for central differences
Inputs = dict[str, Any]
Diagnosis = tuple[str, str]  # (kind, words), as blame's: ("accumulation", "dx[...] = instead of +=: ...")


class UnknownFunction(LookupError):
    """--only matched none of the exercise's functions."""


# ---------------------------------------------------------------- calling the learner's code


@dataclass
class Learner:
    """The learner's file after it ran: its functions, and what calling them printed."""

    run: runner.LearnerRun
    source: str
    output: io.StringIO = field(default_factory=io.StringIO)

    @classmethod
    def load(cls, path: Path) -> Learner:
        run = runner.run_file(path)
        run.error = with_install_hint(run.error)
        return cls(run, Path(path).read_text(encoding="utf-8"))

    def get(self, name: str) -> Any:
        return self.run.namespace.get(name)

    def call(self, function: Callable, *args, **kwargs) -> tuple[Any, LearnerError | None]:
        """(what it returned, None) or (None, where it raised)."""
        try:
            with redirect_stdout(self.output), redirect_stderr(self.output):
                return function(*args, **kwargs), None
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 (the learner's error is a result)
            return None, runner.error_from_exception(e, self.run.path, self.source)


# modules CS231n's files import that a plain NumPy set-up lacks: module -> what to do
INSTALL_HINTS = {
    "past": "pip install future (the package behind CS231n's `from past.builtins import xrange`), "
    "or delete that import and use range",
}


def with_install_hint(error: LearnerError | None) -> LearnerError | None:
    """A ModuleNotFoundError for a module in INSTALL_HINTS, told how to get it."""
    missing = re.fullmatch(r"No module named '([^'.]+)[^']*'", error.message) if error else None
    if error is None or error.kind != "ModuleNotFoundError" or not missing or missing[1] not in INSTALL_HINTS:
        return error
    return replace(error, message=f"{error.message}: {INSTALL_HINTS[missing[1]]}")


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
            elif isinstance(node, ast.comprehension):
                found.append(("comprehension", node.iter.lineno))
            elif isinstance(node, ast.Call):
                callee = node.func
                todo.append(callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", ""))
    return sorted(found, key=lambda loop: loop[1])


FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


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


OFFENDING: dict[str, Callable[[ast.stmt, str, set[str]], bool]] = {
    "accumulation": assigns_into_array,
    "in_place": writes_into_argument,
    "eps": eps_outside_sqrt,
    "keep_drop": lambda stmt, result, aliases: calls(stmt, "rand"),  # where the mask is drawn
    "dropout_rate": lambda stmt, result, aliases: calls(stmt, "rand"),
    "overflow": lambda stmt, result, aliases: calls(stmt, "exp"),
    "reg": regularizes,
}  # a kind not here (missing_n: the division that is missing) points at the def


def frozen(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(inputs))


def changed_in_place(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The array arguments a call modified (dict arguments such as bn_param may change by design)."""
    return [
        k for k, v in before.items() if isinstance(v, np.ndarray) and not np.array_equal(v, after[k], equal_nan=True)
    ]


def in_place(function: str, names: Sequence[str]) -> Diagnosis:
    listed = ", ".join(names)
    return "in_place", (
        f"{function} modifies its argument {listed} in place (the caller and any cache see it change): "
        f"build a new array (np.maximum, x * mask) instead of assigning into {names[0]}"
    )


def short_where(error: LearnerError) -> str:
    """layers.py:12, for a note in a table row (the footer and the error line give the full path)."""
    name = Path(error.path).name
    return f"{name}:{error.line}" if error.line else name


def tensors(inputs: Mapping[str, Any], wrt: Sequence[str]) -> dict[str, Any]:
    """float64 torch copies of the NumPy inputs; leaves with gradients for `wrt`."""
    out = {}
    for k, v in inputs.items():
        if isinstance(v, np.ndarray):
            t = torch.tensor(v, dtype=torch.float64 if v.dtype.kind == "f" else torch.int64)
            out[k] = t.requires_grad_() if k in wrt else t
        else:
            out[k] = copy.deepcopy(v)
    return out


def rel_error(x: Any, y: torch.Tensor) -> float | None:
    """CS231n's rel_error, as its notebooks print it."""
    got = engine.as_tensor(x)
    if got is None or got.shape != y.shape:
        return None
    got, y = got.double(), y.double()
    return ((got - y).abs() / (got.abs() + y.abs()).clamp(min=1e-8)).max().item()


# ---------------------------------------------------------------- the units checked


@dataclass(frozen=True)
class Case:
    """One seeded call: a label shown when it fails, and the arguments by parameter name."""

    label: str
    inputs: Inputs
    backward: bool = True  # batchnorm's test mode has no backward
    timed: bool = False  # the case on which vectorized code is timed against the naive


@dataclass(frozen=True)
class Mistake:
    """A named mistake: what the trusted forward computes with `options` (reg_factor=0.5,
    mean=False, ...), or what `produces(inputs, dout)` returns. `kind` is its one-word name
    (VarResult.diagnosis_kind), which also tells `offending_line` what statement to look for."""

    kind: str
    message: str
    options: Mapping[str, Any] = field(default_factory=dict)
    produces: Callable[[Inputs, Any], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Trial:
    """What one call of the learner's code returned, by checked name, beside what it should."""

    got: dict[str, Any]
    expected: dict[str, torch.Tensor]
    mistakes: dict[Diagnosis, dict[str, Any]] = field(default_factory=dict)  # (kind, message) -> outputs
    diagnosis: dict[str, Diagnosis] = field(default_factory=dict)  # checked name -> found directly
    numeric: dict[str, torch.Tensor] = field(default_factory=dict)
    note: dict[str, str] = field(default_factory=dict)


def central_differences(f: Callable[[dict], torch.Tensor], t: dict, name: str, dout: torch.Tensor) -> torch.Tensor:
    """CS231n's eval_numerical_gradient_array: d sum(f * dout) / d t[name], h = 1e-5."""
    x = t[name].detach().clone()
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + H
            plus = f({**t, name: x}).clone()
            flat[i] = old - H
            minus = f({**t, name: x}).clone()
            flat[i] = old
            gflat[i] = ((plus - minus) * dout).sum() / (2 * H)
    return grad


@dataclass(frozen=True)
class Unit:
    """What the learner writes as one piece, checked at every case of `cases(seed, cifar)`.

    kind "layer": forward(*inputs) -> (out, cache); each backward(dout, cache) -> one gradient per
    name in `wrt`. kind "loss": forward(*inputs) -> (loss, d of the first wrt input).
    `trusted(t, learner_out, **options)` is the float64 torch forward: t holds the inputs as
    tensors (leaves for `wrt`), learner_out is what the learner's forward returned (dropout's mask).
    """

    forward: str
    kind: str
    wrt: tuple[str, ...]
    cases: Callable[[int, Any], list[Case]]
    trusted: Callable[..., torch.Tensor]
    backward: tuple[str, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    property_check: Callable[[Inputs, Any], Diagnosis | None] | None = None  # forward fails with this
    state: Callable[[Inputs], dict[str, torch.Tensor]] | None = None  # expected dict arguments after the call
    naive: str | None = None  # a vectorized function: no loops, timed against this one
    max_loops: int = 0  # for a vectorized function
    overflow: str | None = None  # what NaN or inf from this function means
    owner: str | None = None  # the learner's class that holds `forward` (a method, or the class itself)
    call: Callable[[Any, str, Inputs], Any] | None = None  # how to call it: (owner class, name, inputs)
    output: str = "out"  # kind "value": the name of what it returns
    reads_out: bool = False  # `trusted` reads the learner's out (dropout's mask): judged per learner

    @property
    def names(self) -> tuple[str, ...]:
        return (self.forward, *self.backward)

    @property
    def checked(self) -> tuple[str, ...]:
        if self.kind == "loss":
            return (f"{self.forward}.loss", *(f"{self.forward}.d{w}" for w in self.wrt))
        if self.kind == "value":
            return (f"{self.forward}.{self.output}",)
        state = ("running_mean", "running_var") if self.state else ()
        forward = tuple(f"{self.forward}.{k}" for k in ("out", *state))
        return forward + tuple(f"{b}.d{w}" for b in self.backward for w in self.wrt)

    def invoke(self, learner: Learner, name: str, inputs: Inputs) -> tuple[Any, LearnerError | None]:
        if self.call is not None:
            return learner.call(self.call, learner.get(self.owner), name, inputs)
        return learner.call(learner.get(name), *inputs.values())

    def collect_case(self, learner: Learner, case: Case) -> dict:
        """Call the learner's forward (and each backward, with its own cache) on one case: what
        they returned, as plain data. The dout fed to a backward is dout_for(case, out's trusted shape)."""
        before = frozen(case.inputs)
        inputs = frozen(case.inputs)
        returned, error = self.invoke(learner, self.forward, inputs)
        if error:
            return {"error": collected.error_data(error)}
        out, second = unpack(returned) if self.kind != "value" else (returned, None)
        called = {
            "error": None,
            "out": collected.plain(out),
            "second": collected.plain(second) if self.kind == "loss" else None,
            "moved": changed_in_place(before, inputs),
            "state": collected.plain(inputs_dict(inputs)) if self.state else {},
            "backward": {},
        }
        if self.kind == "layer" and case.backward:
            with torch.no_grad():  # only the shape: the judge computes the trusted values itself
                shape = tuple(self.trusted(tensors(before, ()), learner_value(called["out"])).shape)
            dout = dout_for(case, shape)
            for name in self.backward:
                called["backward"][name] = self.collect_backward(learner, name, dout, second)
        return called

    def collect_backward(self, learner: Learner, name: str, dout: np.ndarray, cache) -> dict:
        function = learner.get(name)
        if function is None:
            return {"absent": True}
        dout_np = dout.copy()
        returned, error = learner.call(function, dout_np, cache)
        if error:
            return {"absent": False, "error": collected.error_data(error)}
        values = returned if isinstance(returned, (tuple, list)) and len(self.wrt) > 1 else (returned,)
        if isinstance(returned, (tuple, list)) and len(self.wrt) == 1 and len(returned) == 1:
            values = returned
        return {
            "absent": False,
            "error": None,
            "values": [collected.plain(v) for v in values],
            "dout_changed": not np.array_equal(dout_np, dout),
        }

    def expected(self, case: Case, out) -> dict:
        """The trusted side of one case, the same for every learner (unless `reads_out`): by checked
        name, the trusted values and what each named mistake produces; the dout fed to backwards."""
        before = frozen(case.inputs)
        t = tensors(before, self.wrt)
        result = self.trusted(t, out)
        if self.kind in ("loss", "value"):
            values = [result.detach()]
            if self.kind == "loss":
                values += torch.autograd.grad(result, [t[w] for w in self.wrt])
            names = list(self.checked)
            mistakes = self.mistakes_for(before, out, None, names)
            return {"values": dict(zip(names, values, strict=True)), "mistakes": mistakes}
        out_name = f"{self.forward}.out"
        dout = torch.from_numpy(dout_for(case, tuple(result.shape)))
        expected = {
            "values": {out_name: result.detach()},
            "mistakes": self.mistakes_for(before, out, None, [out_name]),
            "state": self.state(before) if self.state else {},
            "dout": dout,
            "backward": {},
        }
        if case.backward:
            grads = torch.autograd.grad(result, [t[w] for w in self.wrt], dout)
            for name in self.backward:
                names = [f"{name}.d{w}" for w in self.wrt]
                expected["backward"][name] = {
                    "values": dict(zip(names, grads, strict=False)),
                    "mistakes": self.mistakes_for(before, out, dout.numpy(), names),
                }
        return expected

    def trials(self, called: dict, case: Case, numeric: bool, expected: dict) -> list[Trial]:
        """What the learner returned on `case` (collect_case) beside the trusted values (expected)."""
        before = frozen(case.inputs)
        out, second = learner_value(called["out"]), learner_value(called["second"])
        moved = called["moved"]
        t = tensors(before, self.wrt) if numeric else None
        if self.kind in ("loss", "value"):
            return [self.loss_trial(t, expected, before, out, second, moved, numeric)]
        out_name = f"{self.forward}.out"
        trial = Trial({out_name: out}, dict(expected["values"]))
        trial.mistakes.update(expected["mistakes"])
        if self.property_check and out is not None:
            found = self.property_check(before, out)
            if found:
                trial.diagnosis[out_name] = found
        if self.state:
            state = learner_value(called["state"])
            for k, v in expected["state"].items():  # nothing to judge while the forward returns None
                trial.got[f"{self.forward}.{k}"] = None if out is None else state.get(k)
                trial.expected[f"{self.forward}.{k}"] = v
        if moved:
            trial.diagnosis[out_name] = in_place(self.forward, moved)
        trials = [trial]
        for name, trusted in expected["backward"].items():
            called_back = called["backward"][name]
            trials.append(self.backward_trial(called_back, name, expected["dout"], trusted, out, t, numeric))
        return trials

    def loss_trial(self, t, expected, before, out, second, moved, numeric) -> Trial:
        """A function that returns (loss, gradient) (or gradients by name), or one value."""
        names = self.checked
        got = [out]
        if self.kind == "loss":
            got += [second.get(w) for w in self.wrt] if isinstance(second, dict) else [second]
        trial = Trial(dict(zip(names, got, strict=False)), dict(expected["values"]))
        trial.mistakes.update(expected["mistakes"])
        if numeric and self.kind == "loss":
            for name, w in zip(names[1:], self.wrt, strict=True):
                trial.numeric[name] = self.numeric(t, out, w, torch.tensor(1.0, dtype=torch.float64))
        if moved:
            trial.diagnosis.update(dict.fromkeys(names, in_place(self.forward, moved)))
        return trial

    def backward_trial(self, called: dict, name, dout, trusted: dict, out, t, numeric) -> Trial:
        names = [f"{name}.d{w}" for w in self.wrt]
        expected = dict(trusted["values"])
        if called["absent"]:
            return Trial(dict.fromkeys(names), expected)
        error = collected.error_of(called["error"])
        if error:
            return Trial(
                {n: engine.UNREACHED for n in names},
                expected,
                note=dict.fromkeys(names, f"{short_where(error)}: {error.kind}: {error.message}"),
            )
        values = [learner_value(v) for v in called["values"]]
        trial = Trial(dict(zip(names, values + [None] * len(names), strict=False)), expected)
        if len(values) != len(names):
            trial.note.update(
                dict.fromkeys(
                    names, f"{name} should return {len(names)} values ({', '.join('d' + w for w in self.wrt)})"
                )
            )
        trial.mistakes.update(trusted["mistakes"])
        if called["dout_changed"]:
            trial.diagnosis.update(dict.fromkeys(names, in_place(name, ["dout"])))
        if numeric:
            for n, w in zip(names, self.wrt, strict=False):
                trial.numeric[n] = self.numeric(t, out, w, dout)
        return trial

    def mistakes_for(self, before: Inputs, out, dout, names) -> dict[Diagnosis, dict[str, Any]]:
        """(kind, message) -> what that mistake produces, by checked name."""
        found = {}
        for mistake in self.mistakes:
            named = (mistake.kind, mistake.message)
            if mistake.produces is not None:
                produced = mistake.produces(before, dout)
                found[named] = {n: produced[n.rpartition(".")[2]] for n in names if n.rpartition(".")[2] in produced}
                continue
            t = tensors(before, self.wrt)
            result = self.trusted(t, out, **mistake.options)
            if self.kind == "loss":
                grads = torch.autograd.grad(result, [t[w] for w in self.wrt])
                found[named] = dict(zip(names, [result.detach(), *grads], strict=True))
            elif dout is None:
                found[named] = {names[0]: result.detach()}
            else:
                grads = torch.autograd.grad(result, [t[w] for w in self.wrt], torch.as_tensor(dout))
                found[named] = dict(zip(names, grads, strict=False))
        return found

    def numeric(self, t: dict, out, name: str, dout: torch.Tensor) -> torch.Tensor:
        return central_differences(lambda t2: self.trusted(t2, out).detach(), t, name, dout)


def dout_for(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient fed to a backward on `case`: the same in collect and in judge."""
    return np.random.default_rng(zlib.crc32(case.label.encode())).standard_normal(shape)


def learner_value(data: Any) -> Any:
    """Collected data as the checks here read it: arrays stay NumPy arrays (what CS231n code
    returns); an Opaque value becomes something whose type name the engine reports."""
    if isinstance(data, collected.Opaque):
        return collected.value_of(data)
    if isinstance(data, dict):
        return {k: learner_value(v) for k, v in data.items()}
    return data


def unpack(returned: Any) -> tuple[Any, Any]:
    """(out, cache) or (loss, grad); a single value leaves the second None."""
    if isinstance(returned, tuple) and len(returned) == 2:
        return returned
    return returned, None


def inputs_dict(inputs: Inputs) -> dict:
    """The dict argument (bn_param) as the learner's call left it."""
    for v in inputs.values():
        if isinstance(v, dict):
            return v
    return {}


# ---------------------------------------------------------------- turning trials into results


def judge(name: str, trial: Trial, label: str, rtol: float, atol: float, overflow: str | None = None) -> VarResult:
    got, expected = trial.got.get(name), trial.expected[name]
    result = engine.compare(name, got, expected, rtol, atol)
    found = trial.diagnosis.get(name)
    # a mistake found directly (an argument modified in place, dropout's keep and drop swapped on a
    # large case) fails even where these values pass: the caller's array or the next call is wrong
    if found and result.status == PASS:
        result.status = FAIL
    if result.status == FAIL and not found:
        found = diagnose(name, got, expected, trial, rtol, atol, overflow)
    if found:
        result.diagnosis_kind, result.diagnosis = found
    if name in trial.numeric:
        result.numeric_relerr = rel_error(got, trial.numeric[name])
    notes = [trial.note.get(name), result.note]
    if result.status != PASS:
        notes.insert(0, label)
    result.note = "; ".join(n for n in notes if n) or None
    return result


def diagnose(name, got, expected, trial: Trial, rtol, atol, overflow: str | None) -> Diagnosis | None:
    for named, produced in trial.mistakes.items():
        if name in produced and engine.compare(name, got, torch.as_tensor(produced[name]), rtol, atol).status == PASS:
            return named
    if any(not_finite(g) for g in trial.got.values()) and torch.isfinite(expected).all():
        return "overflow", (
            overflow
            or "NaN or inf where the answer is finite: an overflow (exp of large scores?) or a division by zero"
        )
    return None


def not_finite(value: Any) -> bool:
    g = engine.as_tensor(value)
    return g is not None and g.is_floating_point() and not bool(torch.isfinite(g).all())


def worst(results: list[VarResult]) -> VarResult:
    """The first case that does not pass (one with a named mistake first), else the pass with the
    largest relative error."""
    failed = sorted((r for r in results if r.status != PASS), key=lambda r: r.diagnosis is None)  # named first
    chosen = failed[0] if failed else max(results, key=lambda r: r.relerr or 0.0)
    numeric = [r.numeric_relerr for r in results if r.numeric_relerr is not None]  # case 0 only
    if numeric and chosen.numeric_relerr is None:
        chosen.numeric_relerr = numeric[0]
    return chosen


# ---------------------------------------------------------------- the exercise


@dataclass(frozen=True)
class FunctionsExercise(BundledFiles):
    """A CS231n exercise: functions in the learner's file, checked one unit at a time.
    Same surface as makemore's Exercise (.name .title .checked .template .solution .hints .check)."""

    name: str
    title: str
    units: tuple[Unit, ...]
    hints: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)  # per function name
    numeric_check: bool = False  # --numeric: central differences beside autograd
    takes_data: bool = False  # --data DIR: a CIFAR-10 folder
    rtol: float = 1e-5
    atol: float = 1e-8
    measure_speed: bool = True  # time a vectorized function against the naive one
    track = "cs231n"

    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(c for u in self.units for c in u.checked)

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(n for u in self.units for n in u.names)

    def only(self, pattern: str) -> FunctionsExercise:
        """The units with a function whose name starts with or contains `pattern`."""
        units = tuple(u for u in self.units if any(pattern in n for n in u.names))
        if not units:
            raise UnknownFunction(
                f"--only {pattern!r} matches none of {self.name}'s functions: {', '.join(self.functions)}"
            )
        return replace(self, units=units)

    def numeric(self) -> FunctionsExercise:
        return replace(self, numeric_check=True)

    def for_grading(self) -> FunctionsExercise:
        """No speed-up timing when grading: it costs, and a busy grader makes it noise."""
        return replace(self, measure_speed=False)

    def check(self, path: Path, settings: Settings | None = None) -> Report:
        return self.judge(self.collect(path, settings), settings)

    def collect(self, path: Path, settings: Settings | None = None) -> dict:
        """Load the learner's file and call its functions on every case (in this process; `ninja
        grade` runs this in a sandboxed child): what they returned, as plain data."""
        settings = settings or Settings()
        learner = Learner.load(path)
        cifar = self.cifar(settings)
        units = {unit.forward: self.collect_unit(unit, learner, settings.seed, cifar) for unit in self.units}
        return {
            "path": str(path),
            "error": collected.error_data(learner.run.error),
            "output": (learner.run.output + learner.output.getvalue())[: runner.MAX_OUTPUT],
            "units": units,
            "source": learner.source,  # for loops_in; grading puts its own copy here
        }

    def collect_unit(self, unit: Unit, learner: Learner, seed: int, cifar) -> dict:
        present = unit_present(unit, learner)
        cases, timed = [], None
        for case in unit.cases(seed, cifar) if present else []:
            cases.append(unit.collect_case(learner, case))
            if cases[-1]["error"]:
                break
            timed = case if case.timed else timed
        speed = None
        if self.measure_speed and unit.naive and timed is not None:
            speed = time_against_naive(unit, learner, timed)
        return {"present": present, "cases": cases, "speed": speed}

    def cifar(self, settings: Settings):
        return load_cifar(settings.data) if self.takes_data and settings.data is not None else None

    def judge(self, data: dict, settings: Settings | None = None, cache: dict | None = None) -> Report:
        """Pure: what the learner's functions returned against the trusted torch forward."""
        settings = settings or Settings()
        cifar = cached(cache, ("cifar", settings.data), lambda: self.cifar(settings))
        error = collected.error_of(data["error"])
        variables, notes = [], []
        for unit in self.units:
            got = data["units"][unit.forward]
            variables += self.judge_unit(unit, got, settings, cifar, error, data["source"], cache)
        absent = [u.names[0] for u in self.units if not data["units"][u.forward]["present"]]
        if error is None and absent and len(absent) < len(self.units):
            notes.append(f"your file does not define {', '.join(absent)}: check what it has with --only NAME")
        if cifar is not None:
            notes.append(f"the CIFAR-shaped cases use images from {settings.data}")
        report = Report(self.name, variables, notes=notes, error=error, track=self.track)
        report.output = data["output"]
        report.path = data["path"]
        return report

    def judge_unit(self, unit: Unit, got: dict, settings: Settings, cifar, error, source: str, cache) -> list:
        results: dict[str, list[VarResult]] = {c: [] for c in unit.checked}
        if not got["present"]:
            status = ERROR if error else MISSING
            return [VarResult(c, status, ()) for c in unit.checked]
        for i, (case, called) in enumerate(zip(unit.cases(settings.seed, cifar), got["cases"], strict=False)):
            raised = collected.error_of(called["error"])
            if raised:
                message = f"{case.label}: {short_where(raised)}: {raised.kind}: {raised.message}"
                return [VarResult(c, ERROR, (), note=message) for c in unit.checked]
            out = learner_value(called["out"])
            if unit.reads_out:  # the trusted forward depends on this learner's out: nothing to share
                expected = unit.expected(case, out)
            else:
                key = ("trusted", self.name, unit.forward, case.label, settings.seed, settings.data)
                expected = cached(cache, key, lambda: unit.expected(case, out))  # noqa: B023 (called at once)
            for trial in unit.trials(called, case, self.numeric_check and i == 0, expected):
                for name in trial.expected:
                    results[name].append(judge(name, trial, case.label, self.rtol, self.atol, unit.overflow))
        merged = [worst(results[c]) if results[c] else VarResult(c, MISSING, ()) for c in unit.checked]
        if unit.naive:
            vectorized_verdict(unit, loops_in(source, unit.names[0]), got["speed"], merged)
        for r in merged:
            if r.status == FAIL and r.diagnosis_kind:  # a named mistake: the root cause, at its line
                r.root_cause = True
                r.line = r.line or offending_line(source, r.name, r.diagnosis_kind)
        blame_the_forward(unit, merged)
        return merged


def blame_the_forward(unit: Unit, results: list[VarResult]) -> None:
    """A backward fed the cache of a forward with a named mistake (dropout's swapped mask) fails
    with it: point at that forward first, as makemore's blame does (the backward may be right)."""
    forward = [r for r in results if r.root_cause and not r.approx and r.name.startswith(f"{unit.forward}.")]
    cause = forward[0] if forward else None  # a forward whose values are right (in place) passes nothing on
    for r in results:
        if cause is not None and r.status == FAIL and not r.root_cause and r.name.split(".")[0] != unit.forward:
            r.inherited_from = cause.name


def unit_present(unit, learner: Learner) -> bool:
    if unit.owner:
        cls = learner.get(unit.owner)
        return cls is not None and (unit.forward == unit.owner or hasattr(cls, unit.forward))
    return learner.get(unit.forward) is not None


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


def best_time(unit: Unit, learner: Learner, name: str, inputs: Inputs) -> float | None:
    """The fastest of at least 3 calls, and of up to 20 while they take under 0.1 s together: a
    fast function gets more tries, so one slice of a busy machine does not decide its time."""
    times: list[float] = []
    while len(times) < 3 or (len(times) < 20 and sum(times) < 0.1):
        copied = frozen(inputs)
        start = time.perf_counter()
        _, error = unit.invoke(learner, name, copied)
        if error:
            return None
        times.append(time.perf_counter() - start)
    return min(times)


def duration(seconds: float) -> str:
    """89 ms, 2.8 ms, 0.11 s, 1.5 s: what a person reads at a glance."""
    if seconds >= 0.1:
        return f"{seconds:.2g} s"
    ms = seconds * 1e3
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms" if ms >= 0.1 else f"{ms:.2f} ms"


def speed_up(fast: float | None, slow: float | None, naive: str, vectorized: str) -> str | None:
    """E.g. `39x faster than two_loops: 2.8 ms vs 0.11 s`: the naive one named without the prefix
    the two share (compute_distances_), to keep the note short."""
    if not fast or not slow:
        return None
    shared = len(os.path.commonprefix([naive, vectorized]))
    short = naive[shared:] if 0 < shared < len(naive) else naive
    ratio = slow / fast
    factor = "not faster" if ratio < 1.1 else f"{ratio:.1f}x faster" if ratio < 10 else f"{ratio:.0f}x faster"
    return f"{factor} than {short}: {duration(fast)} vs {duration(slow)}"


def time_against_naive(unit: Unit, learner: Learner, case: Case) -> str | None:
    """With NumPy's BLAS on one thread: on a busy machine its threads wait for each other and a
    vectorized matrix product can look no faster than two Python loops (measured: bench/speedup_note.py)."""
    from threadpoolctl import threadpool_limits  # imported here: only this measurement needs it

    if not unit_present(replace(unit, forward=unit.naive), learner):
        return None
    with threadpool_limits(limits=1, user_api="blas"):
        fast = best_time(unit, learner, unit.forward, case.inputs)
        slow = best_time(unit, learner, unit.naive, case.inputs)
    return speed_up(fast, slow, unit.naive, unit.forward)


# ---------------------------------------------------------------- CIFAR-10 from a local folder


class CifarError(DataError):
    """--data is not a CIFAR-10 python batch folder."""


@dataclass(frozen=True)
class Cifar:
    X_train: np.ndarray  # (N, 3, 32, 32) float64
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_cifar(folder: Path, n_train: int = 500, n_test: int = 100) -> Cifar:
    """The first images of data_batch_1 and test_batch from CIFAR-10's python version. These are
    pickles: loading one runs what it says, so only a restricted unpickler that builds NumPy arrays
    and nothing else reads them (the user chose the folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CifarError(f"--data {folder}: not a folder (give the cifar-10-batches-py folder)")
    train = read_batch(folder / "data_batch_1")
    test = read_batch(folder / "test_batch")
    return Cifar(*train_slice(train, n_train), *train_slice(test, n_test))


def train_slice(batch: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    return batch["data"][:n].reshape(-1, 3, 32, 32).astype(np.float64), np.asarray(batch["labels"][:n])


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


def read_batch(path: Path) -> dict:
    import pickle

    class ArraysOnly(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in ALLOWED_GLOBALS:
                raise CifarError(f"{path} asks to load {module}.{name}: not a CIFAR-10 batch, refused")
            return super().find_class(module, name)

    if not path.is_file():
        raise CifarError(f"--data: {path} not found (expected CIFAR-10's python batches: data_batch_1 ... test_batch)")
    try:
        with open(path, "rb") as f:
            batch = ArraysOnly(f, encoding="latin1").load()
        data, labels = batch["data"], batch["labels"]
    except CifarError:
        raise
    except Exception as e:  # noqa: BLE001 (any unreadable file is the same answer)
        raise CifarError(f"--data: cannot read {path} as a CIFAR-10 batch: {e}") from None
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072:
        raise CifarError(f"--data: {path} holds no (N, 3072) image array: not a CIFAR-10 batch")
    return {"data": data, "labels": list(labels)}
