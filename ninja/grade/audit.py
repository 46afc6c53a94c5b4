"""A static audit of a submission's source, in the parent, before any of it runs.

An allowlist: what a hand-written backward pass needs, and nothing else, in the code that runs when
graded (an `if __name__ == "__main__":` block never does):
- imports: torch, torch.nn.functional, numpy, math and a few harmless helpers (ALLOWED_IMPORTS), the
  exercise template's own imports, the submission's own files (relative imports, its siblings);
- no private (`_`) attribute of anything but the learner's own objects (self, cls), no dunder
  beyond a few harmless ones;
- no dynamic attribute access or code execution (getattr and its kin, exec, eval, compile, open,
  __import__, globals...): by name, so an alias (`ga = getattr`) is flagged where it is made;
- no autograd in any mode: reverse, forward (forward_ad, jvp), functorch and torch.func;
- no finite differences: a loop that nudges a value by a small step and evaluates the loss again,
  or divides by that step.
Everything else is flagged for review. `ninja grade` scores a flagged exercise 0 with the reason
(`--audit warn` only reports it). Every template, solution and test fixture passes it, and so does
the public corpus measured in docs/security.md.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from dataclasses import dataclass

ALLOWED_IMPORTS = {
    "torch", "torch.nn", "torch.nn.functional", "numpy", "numpy.linalg", "numpy.random", "math", "random",
    "__future__", "builtins", "past.builtins", "typing",
}  # fmt: skip
# what a learner's file may import from ninja: the templates' names, and the `python file.py` hand-over
NINJA_IMPORTS = {
    "ninja.makemore": {"batch", "parameters", "given", "dataset"},
    "ninja.makemore.data": {"BLOCK_SIZE", "itos", "stoi"},
    "ninja.tapped.learner": {"tensors", "given"},  # an exercise file's template (ninja/tapped/files.py)
    "ninja.cli": {"main"},
}
AUTOGRAD_ATTRIBUTES = {
    "autograd", "backward", "grad", "grad_fn", "requires_grad", "requires_grad_", "retain_grad", "register_hook",
    "next_functions", "forward_ad", "make_dual", "unpack_dual", "dual_level", "func", "functorch", "vmap", "vjp",
    "jvp", "jacrev", "jacfwd", "jacobian", "hessian", "hvp", "vhp", "linearize", "grad_and_value", "enable_grad",
    "set_grad_enabled", "inference_mode",
}  # fmt: skip
MACHINERY_ATTRIBUTES = {  # torch's and NumPy's ways to load or compile code, or to reach C
    "ctypeslib", "hub", "library", "ops", "cpp_extension", "compiler", "jit", "fx", "export", "classes",
    "modules", "meta_path", "path_hooks", "settrace", "setprofile", "addaudithook",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame", "cr_frame",
    "ag_frame", "co_code", "co_consts",
}  # fmt: skip
DYNAMIC_NAMES = {
    "getattr", "setattr", "delattr", "exec", "eval", "compile", "__import__", "open", "globals", "locals", "vars",
    "breakpoint", "memoryview", "input", "__builtins__", "__loader__", "__spec__", "__dict__",
}  # fmt: skip
ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__class__", "__len__", "__call__", "__repr__", "__str__"}
OWN_OBJECTS = {"self", "cls"}


@dataclass(frozen=True)
class Finding:
    line: int
    what: str  # a short reason a person reads: "uses torch.autograd"
    syntax: bool = False  # the source does not parse: a syntax error, shown as one (never run, never a pass)

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def audit(source: str, filename: str = "<submission>", allowed: Iterable[str] = ()) -> list[Finding]:
    """What the graded code of `source` does beyond the allowlist; [] when nothing. `allowed`: more
    modules it may import (the template's own, the submission's other files). A source that does not
    parse is a finding: what is not audited never runs."""
    try:
        parsed(source)  # a source that does not parse is a finding of its own
    except SyntaxError as e:
        return [Finding(e.lineno or 1, f"SyntaxError: {e.msg}", syntax=True)]
    except (ValueError, RecursionError, MemoryError) as e:
        return [Finding(1, f"the source cannot be parsed ({type(e).__name__}: {str(e)[:200]})")]
    try:
        nodes = graded_nodes(source)
        findings = [*machinery(nodes, ALLOWED_IMPORTS | set(allowed)), *finite_differences(nodes)]
    except (RecursionError, MemoryError):
        return [Finding(1, "the source is too deeply nested to audit")]
    unique = {(f.line, f.what): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.what))


def imported_modules(source: str, graded_only: bool = False) -> set[str]:
    """Every module the source imports by name (not relative imports): a template's are what its
    learners may import. `graded_only`: those of the code that runs when graded (the warm worker
    imports those it may before it forks)."""
    try:
        nodes = graded_nodes(source) if graded_only else tuple(ast.walk(parsed(source)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@functools.lru_cache(maxsize=4)
def parsed(source: str) -> ast.Module:
    """The source's tree, parsed once for the audit and for its imports (none of them changes it)."""
    return ast.parse(source)


@functools.lru_cache(maxsize=4)
def graded_nodes(source: str) -> tuple[ast.AST, ...]:
    """Every node of the code that runs when graded (an `if __name__ == "__main__":` block never
    does), walked once for every check and for the imports."""
    tree = parsed(source)
    return tuple(ast.walk(ast.Module(body=[s for s in tree.body if not is_main_block(s)], type_ignores=[])))


def machinery(nodes: tuple[ast.AST, ...], allowed: set[str]) -> list[Finding]:
    """Imports beyond `allowed`, private and dunder attributes, dynamic access, autograd."""
    found = []
    for node in nodes:
        line = getattr(node, "lineno", 1)
        if isinstance(node, ast.Import):
            found += [Finding(line, f"imports {a.name}") for a in node.names if not import_allowed(a.name, allowed)]
        elif isinstance(node, ast.ImportFrom):
            found += import_from(node, allowed)
        elif isinstance(node, ast.Attribute):
            found += attribute(node, line)
        elif isinstance(node, ast.Name):
            if node.id in DYNAMIC_NAMES:
                found.append(Finding(line, f"uses {node.id}"))
            elif is_dunder(node.id) and isinstance(node.ctx, (ast.Store, ast.Del)):
                found.append(Finding(line, f"assigns {node.id}"))
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad":
            found.append(Finding(getattr(node, "lineno", 1), "asks autograd to track a tensor (requires_grad=)"))
    return found


def attribute(node: ast.Attribute, line: int) -> list[Finding]:
    name = node.attr
    if name in AUTOGRAD_ATTRIBUTES:
        return [Finding(line, f"uses autograd's machinery (.{name})")]
    if name in MACHINERY_ATTRIBUTES:
        return [Finding(line, f"reaches into the interpreter or torch's machinery (.{name})")]
    if is_dunder(name):
        return [] if name in ALLOWED_DUNDERS else [Finding(line, f"uses the dunder attribute {name}")]
    if name.startswith("_") and root_name(node) not in OWN_OBJECTS:
        return [Finding(line, f"uses the private attribute .{name}")]
    return []


def root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def import_allowed(module: str, allowed: set[str]) -> bool:
    top = module.split(".")[0]
    if top == "ninja":
        return module in NINJA_IMPORTS
    return module in allowed or top in LOCAL_PACKAGES


LOCAL_PACKAGES = {"cs231n"}  # the course's own package in CS231n's layout (cs231n/layers.py, ...)


def import_from(node: ast.ImportFrom, allowed: set[str]) -> list[Finding]:
    module, line = node.module or "", node.lineno
    if node.level:  # a CS231n file importing its siblings (from .layers import *)
        return []
    if module.split(".")[0] == "ninja":
        permitted = NINJA_IMPORTS.get(module, set())
        return [Finding(line, f"imports {module}.{a.name}") for a in node.names if a.name not in permitted]
    if not import_allowed(module, allowed):
        return [Finding(line, f"imports {module}")]
    if module == "builtins":  # CS231n's starter code: from builtins import range, object
        return [Finding(line, f"imports builtins.{a.name}") for a in node.names if a.name in DYNAMIC_NAMES | {"*"}]
    return [Finding(line, f"imports {module}.{a.name}") for a in node.names
            if a.name.startswith("_") or a.name in AUTOGRAD_ATTRIBUTES | MACHINERY_ATTRIBUTES]  # fmt: skip


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


# ---- finite differences ------------------------------------------------------------------------


LOSS_CALLS = {"cross_entropy", "nll_loss", "softmax_loss", "svm_loss", "svm_loss_naive", "softmax_loss_naive",
              "svm_loss_vectorized", "softmax_loss_vectorized", "loss"}  # fmt: skip
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def finite_differences(nodes: tuple[ast.AST, ...]) -> list[Finding]:
    """A loop that nudges an element or attribute by a small step alone (x[i] += 1e-5, x.flat[i] =
    old - h) and then evaluates something again: the loss, a forward, a function of the file or one
    handed in (f(x)), or divides by the step. A training loop's update (`p += -lr * grad`) is no
    nudge, whatever lr is. A call to a numerical-gradient helper (CS231n's eval_numerical_gradient)
    counts too."""
    steps = step_names(nodes)
    found = []
    for node in nodes:
        if isinstance(node, ast.Call) and "numerical_grad" in call_name(node):
            found.append(Finding(node.lineno, f"calls {call_name(node)} (finite differences)"))
        if not isinstance(node, LOOPS):
            continue
        inner = loop_body(node)
        if nudges(inner, steps) and (evaluates_loss(inner) or evaluates(inner) or divides_by_step(inner, steps)):
            found.append(Finding(node.lineno, "nudges a value by a small step and evaluates again inside a loop "
                                 "(finite differences)"))  # fmt: skip
    return found


PLAIN_CALLS = {
    "range", "len", "zip", "enumerate", "print", "abs", "min", "max", "sum", "float", "int", "round", "list", "tuple",
    "dict", "set", "sorted", "reversed", "isinstance", "str", "bool", "map", "any", "all",
}  # fmt: skip


def evaluates(nodes: list[ast.AST]) -> bool:
    """A call of a function by its bare name (the file's own, or one handed in), not a builtin."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in PLAIN_CALLS
        for top in nodes for n in ast.walk(top)
    )  # fmt: skip


def is_step(node: ast.AST, steps: set[str]) -> bool:
    """A small step and nothing else: 1e-5, h, -h, 2 * h, (h)."""
    if isinstance(node, ast.UnaryOp):
        return is_step(node.operand, steps)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        constant = [isinstance(side, ast.Constant) for side in (node.left, node.right)]
        return (constant[0] and is_step(node.right, steps)) or (constant[1] and is_step(node.left, steps))
    return is_small(node) or (isinstance(node, ast.Name) and node.id in steps)


def divides_by_step(nodes: list[ast.AST], steps: set[str]) -> bool:
    return any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and is_step(n.right, steps)
        for top in nodes for n in ast.walk(top)
    )  # fmt: skip


def call_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def step_names(nodes: tuple[ast.AST, ...]) -> set[str]:
    """Names the file binds to a small step (h = 1e-5, eps = 1e-4)."""
    return {
        t.id for n in nodes if isinstance(n, ast.Assign) and is_small(n.value)
        for t in n.targets if isinstance(t, ast.Name)
    }  # fmt: skip


def is_small(node: ast.AST) -> bool:
    value = node.operand.value if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) else (
        node.value if isinstance(node, ast.Constant) else None)  # fmt: skip
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < abs(value) < 0.01


def nudges(nodes: list[ast.AST], steps: set[str]) -> bool:
    """An element or attribute moved by a small step alone: x[i] += 1e-5, x.flat[i] = old - h."""
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, (ast.Subscript, ast.Attribute)):
            if isinstance(node.op, (ast.Add, ast.Sub)) and is_step(node.value, steps):
                return True
        elif isinstance(node, ast.Assign) and any(isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets):
            value = node.value
            if (
                isinstance(value, ast.BinOp)
                and isinstance(value.op, (ast.Add, ast.Sub))
                and (is_step(value.left, steps) or is_step(value.right, steps))
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
