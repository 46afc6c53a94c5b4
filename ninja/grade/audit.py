"""A static audit of a submission's source, in the parent, before any of it runs.

It flags what a hand-written backward pass never needs: autograd's machinery, the tricks that
reach around the sandbox's runtime refusal (gc, frames, dunder attributes, exec, importing ninja's
own references), and finite differences (the loss evaluated again inside a loop). `ninja grade`
scores a flagged exercise 0 with the reason (`--audit warn` only reports it). Every template,
solution and test fixture in the repository passes it (tests/test_grade_attacks.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

AUTOGRAD_ATTRIBUTES = {
    "autograd", "backward", "grad_fn", "requires_grad", "requires_grad_", "forward_ad", "_C", "functorch",
    "_execution_engine", "next_functions", "register_hook", "retain_grad", "_ImperativeEngine", "vmap",
}  # fmt: skip
AUTOGRAD_MODULES = {"torch.autograd", "torch.func", "functorch", "torch._C", "torch._functorch"}
DYNAMIC_NAMES = {
    "exec", "eval", "compile", "__import__", "open", "globals", "locals", "vars", "breakpoint", "memoryview",
    "__builtins__", "__loader__", "__spec__",
}  # fmt: skip
DYNAMIC_MODULES = {
    "gc", "importlib", "ctypes", "inspect", "marshal", "pickle", "types", "code", "codeop",
    "runpy", "subprocess", "multiprocessing", "threading", "_thread", "socket", "signal", "mmap", "pty",
    "cffi", "dill", "cloudpickle", "linecache", "traceback", "weakref", "sysconfig", "site",
}  # fmt: skip
FRAME_ATTRIBUTES = {
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame", "cr_frame",
    "ag_frame", "co_code", "co_consts", "_getframe", "modules", "meta_path", "path_hooks", "settrace",
    "setprofile", "_current_frames", "addaudithook",
}  # fmt: skip
ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__class__", "__len__", "__call__", "__repr__", "__str__"}
# what a learner's file may import from ninja: the templates' names, and the `python file.py` hand-over
NINJA_IMPORTS = {
    "ninja.makemore": {"batch", "parameters", "given", "dataset"},
    "ninja.makemore.data": {"BLOCK_SIZE", "itos", "stoi"},
    "ninja.tapped.learner": {"tensors", "given"},  # an exercise file's template (ninja/tapped/files.py)
    "ninja.cli": {"main"},
}
ACCESSORS = {"getattr", "setattr", "delattr", "hasattr"}
LOSS_CALLS = {"cross_entropy", "nll_loss", "softmax_loss", "svm_loss", "svm_loss_naive", "softmax_loss_naive",
              "svm_loss_vectorized", "softmax_loss_vectorized", "loss"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    line: int
    what: str  # a short reason a person reads: "uses torch.autograd"

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def audit(source: str, filename: str = "<submission>") -> list[Finding]:
    """What the source does that an honest submission never does; [] when nothing.
    A file that does not parse is not the audit's to judge (the child reports its SyntaxError)."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    try:
        findings = [*machinery(tree), *finite_differences(tree)]
    except (RecursionError, MemoryError):
        return [Finding(1, "the source is too deeply nested to audit")]
    unique = {(f.line, f.what): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.what))


def imported_modules(source: str) -> set[str]:
    """Every module the source imports by name (not relative imports): the warm worker imports
    those it may before it forks, since a slot's uid may not be able to read the standard library."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def machinery(tree: ast.AST) -> list[Finding]:
    """Autograd and dynamic tricks, anywhere in the file."""
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 1)
        if isinstance(node, ast.Import):
            found += [Finding(line, f"imports {alias.name}") for alias in node.names
                      if bad_module(alias.name) or alias.name == "builtins"]  # fmt: skip
            found += [
                Finding(line, f"imports {alias.name}") for alias in node.names if alias.name.split(".")[0] == "ninja"
                and alias.name not in NINJA_IMPORTS
            ]  # fmt: skip
        elif isinstance(node, ast.ImportFrom):
            found += bad_import_from(node)
        elif isinstance(node, ast.Attribute):
            if node.attr in AUTOGRAD_ATTRIBUTES or (node.attr == "func" and is_name(node.value, "torch")):
                found.append(Finding(line, f"uses autograd's machinery (.{node.attr})"))
            elif node.attr in FRAME_ATTRIBUTES:
                found.append(Finding(line, f"reaches into the interpreter (.{node.attr})"))
            elif is_dunder(node.attr) and node.attr not in ALLOWED_DUNDERS:
                found.append(Finding(line, f"uses the dunder attribute {node.attr}"))
        elif isinstance(node, ast.Name):
            if node.id in DYNAMIC_NAMES:
                found.append(Finding(line, f"uses {node.id}"))
            elif is_dunder(node.id) and isinstance(node.ctx, (ast.Store, ast.Del)):
                found.append(Finding(line, f"assigns {node.id}"))
        elif isinstance(node, ast.Call):
            found += bad_call(node, line)
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad":
            found.append(Finding(getattr(node, "lineno", 1), "asks autograd to track a tensor (requires_grad=)"))
    return found


def bad_module(name: str) -> bool:
    return name.split(".")[0] in DYNAMIC_MODULES or any(name == m or name.startswith(m + ".") for m in AUTOGRAD_MODULES)


def bad_import_from(node: ast.ImportFrom) -> list[Finding]:
    module, line = node.module or "", node.lineno
    if node.level:  # a CS231n file importing its siblings (from .layers import *)
        return []
    if bad_module(module):
        return [Finding(line, f"imports {module}")]
    if module == "builtins":  # CS231n's starter code: from builtins import range, object
        return [Finding(line, f"imports builtins.{a.name}") for a in node.names if a.name in DYNAMIC_NAMES | {"*"}]
    if module == "torch" and any(a.name in {"autograd", "func", "_C", "_functorch"} for a in node.names):
        return [Finding(line, "imports autograd's machinery from torch")]
    if module == "sys" and any(a.name in FRAME_ATTRIBUTES for a in node.names):
        return [Finding(line, "reaches into the interpreter (from sys import ...)")]
    if module.split(".")[0] == "ninja":
        allowed = NINJA_IMPORTS.get(module, set())
        return [Finding(line, f"imports {module}.{a.name}") for a in node.names if a.name not in allowed]
    return []


def bad_call(node: ast.Call, line: int) -> list[Finding]:
    if isinstance(node.func, ast.Name) and node.func.id in ACCESSORS:
        name = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str) and not is_dunder(name.value)):
            return [Finding(line, f"{node.func.id} with a computed or dunder name")]
        if name.value in AUTOGRAD_ATTRIBUTES | FRAME_ATTRIBUTES:
            return [Finding(line, f"{node.func.id}(..., {name.value!r})")]
    return []


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


# ---- finite differences ------------------------------------------------------------------------


LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def finite_differences(tree: ast.Module) -> list[Finding]:
    """A loop that nudges a value by a small step and evaluates the loss (or a forward, or a
    function of the file that does) again: what a numerical gradient does. A training loop's
    update (`p += -lr * grad`) is no nudge; the `if __name__ == "__main__":` block never runs when
    graded. A call to a numerical-gradient helper (CS231n's eval_numerical_gradient) counts too."""
    body = [s for s in tree.body if not is_main_block(s)]
    functions = {f.name: f for s in body for f in ast.walk(s) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
    evaluates = {name for name, f in functions.items() if evaluates_loss(f.body)}
    steps = step_names(body)
    found = []
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and "numerical_grad" in call_name(node):
                found.append(Finding(node.lineno, f"calls {call_name(node)} (finite differences)"))
            if not isinstance(node, LOOPS):
                continue
            inner = loop_body(node)
            if not nudges(inner, steps):
                continue
            called = {call_name(c) for n in inner for c in ast.walk(n) if isinstance(c, ast.Call)} & evaluates
            if evaluates_loss(inner) or called:
                found.append(Finding(node.lineno, "nudges a value and evaluates the loss again inside a loop "
                                     "(finite differences)"))  # fmt: skip
    return found


def call_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def step_names(body: list[ast.stmt]) -> set[str]:
    """Names the file binds to a small step (h = 1e-5, eps = 1e-4)."""
    return {
        t.id for s in body for n in ast.walk(s) if isinstance(n, ast.Assign) and is_small(n.value)
        for t in n.targets if isinstance(t, ast.Name)
    }  # fmt: skip


def is_small(node: ast.AST) -> bool:
    value = node.operand.value if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) else (
        node.value if isinstance(node, ast.Constant) else None)  # fmt: skip
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < abs(value) < 0.01


def nudges(nodes: list[ast.AST], steps: set[str]) -> bool:
    """An element or attribute of a value set or moved by a small step: x[i] += 1e-5, x[i] = old + h."""
    for node in (n for top in nodes for n in ast.walk(top)):
        targets = [node.target] if isinstance(node, ast.AugAssign) else node.targets if isinstance(
            node, ast.Assign) else []  # fmt: skip
        if any(isinstance(t, (ast.Subscript, ast.Attribute)) for t in targets) and any(
            is_small(v) or (isinstance(v, ast.Name) and v.id in steps) for v in ast.walk(node.value)
        ):
            return True
    return False


def loop_body(loop: ast.AST) -> list[ast.AST]:
    if isinstance(loop, (ast.For, ast.AsyncFor, ast.While)):
        return [*loop.body, *loop.orelse] + ([loop.test] if isinstance(loop, ast.While) else [])
    return [loop.elt] if not isinstance(loop, ast.DictComp) else [loop.key, loop.value]


def evaluates_loss(nodes: list[ast.AST]) -> bool:
    """A loss function called (cross_entropy, CS231n's *_loss), or a fresh `loss = ...` (not `loss += ...`)."""
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in LOSS_CALLS or name.endswith("_forward"):
                return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.startswith("loss") for t in node.targets for t in ast.walk(t)
        ):
            return True
    return False


def is_main_block(statement: ast.stmt) -> bool:
    test = getattr(statement, "test", None) if isinstance(statement, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and is_name(test.left, "__name__")
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
