"""A CS231n-style exercise is a file too: forward/backward pairs with CS231n's signatures, judged
by the track's own engine (cases, named mistakes, the judge) as the bundled layers are.

    \"\"\"Leaky ReLU and layernorm: the title line, then what `ninja list` and the template say.\"\"\"
    import numpy as np
    import torch
    LAYERS = {"leaky_relu": ("x",), "layernorm": ("x", "gamma", "beta")}  # name -> what its backward returns
    def leaky_relu_cases(rng): ...     # np.random.Generator -> [{argument: value}, ...]: the forward's arguments
    def leaky_relu(x, alpha): ...      # a torch reference: out from float64 tensors; autograd is the truth
    def layernorm_forward(x, gamma, beta, eps): ...  # or a NumPy reference: the pair itself, which autograd
    def layernorm_backward(dout, cache): ...         # runs through (ninja dev check confirms it by central differences)
    GIVEN = ("leaky_relu_forward",)    # optional: forwards handed to the learner as written here
    HINTS = {"layernorm_backward": ("...", "...", "...")}  # optional, per function; level 1 derived
    MISTAKES = {"layernorm": {"words": lambda inputs, dout: {"dx": array}}}  # optional; dout None: the forward's out
    CALLS = {"norm_leaky": ("layernorm", "leaky_relu")}  # optional: the layers a layer calls (inheritance)

A file of this kind is told from a tapped forward's by LAYERS (ninja/registry.py: file_kind);
`ninja dev check` on one is ninja/cs231n/filecheck.py. docs/writing-exercises.md says it all.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import cast

import numpy as np
import torch

from ninja.cs231n.cases import Case, Unit, rng_for
from ninja.cs231n.exercise import FunctionsExercise
from ninja.cs231n.inherit import Callee
from ninja.cs231n.mistakes import Mistake
from ninja.results import PASS, Report
from ninja.settings import Settings
from ninja.tapped.files import ExerciseFileError, names_option, runs_on_its_own, written_template

MARKER = "LAYERS"  # what a file of this kind defines

# constant factors, each a mistake the judge names: the reference's value with its gradients scaled
FACTORS = (
    (-1.0, "the sign is flipped (it is -1 times the right value)"),
    (2.0, "it is 2 times the right value: an extra factor of 2"),
    (0.5, "it is half the right value: a factor of 2 is missing"),
    ("n", "it is N times too big: a division by N (the batch size, x.shape[0]) is missing"),
    ("1/n", "it is N times too small: an extra division by N (the batch size, x.shape[0])"),
)


@dataclass(frozen=True)
class FileExercise(FunctionsExercise):
    """A CS231n-style exercise loaded from an instructor's file: its template is derived from the
    file, its solution is the one its ninja.toml names."""

    source_file: Path | None = None
    template_file: Path | None = None
    solution_file: Path | None = None
    numpy_reference: tuple[str, ...] = ()  # the layers whose truth is the file's own NumPy pair
    given: tuple[str, ...] = ()  # forwards handed to the learner: not theirs to answer for
    answers_inside: tuple[str, ...] = ()  # backwards the file defines: `ninja course init` never hands it out

    def handout_problem(self) -> str | None:
        """A file with the backwards in it would hand students the answers."""
        if not self.answers_inside:
            return None
        return (
            f"{self.source_file} defines {', '.join(self.answers_inside)}, which students would get with the file: "
            "give each such layer a torch reference and keep its backward in a solution file"
        )

    @property
    def checked(self) -> tuple[str, ...]:
        return tuple(c for c in super().checked if c.partition(".")[0] not in self.given)

    def judge(self, data: dict, settings: Settings | None = None, cache: dict | None = None) -> Report:
        """The track's judge; a given forward's result is shown only where the learner's file
        changed it (it no longer passes: what its backward is fed is not the file's)."""
        report = super().judge(data, settings, cache)
        judged = len(report.variables)
        report.variables = [
            v for v in report.variables if v.name.partition(".")[0] not in self.given or v.status != PASS
        ]
        if report.scope is not None and len(report.variables) != judged:  # a part of it: counted again
            several = isinstance(data["source"], dict)
            report.scope = self.scope(len(report.variables), self.selected is None, several)
        source = data.get("source")
        for v in report.variables:
            if v.root_cause and isinstance(source, str):
                v.line = assigning_line(source, v.name, self, v.line) or v.line
            if v.name.partition(".")[0] in self.given:
                v.note = "; ".join(
                    n for n in (f"{v.name.partition('.')[0]} is given: keep it as the template has it", v.note) if n
                )
        return report

    @property
    def template(self) -> Path:
        return self.template_file or super().template

    @property
    def solution(self) -> Path:
        return self.solution_file or super().solution  # none bundled: ninja.toml's [exercises.NAME] solution


def assigning_line(source: str, result: str, exercise: FunctionsExercise, line: int | None) -> int | None:
    """The line of the last statement that assigns what the function returns as `result`
    (layernorm_backward.dgamma: `dgamma = ...`), where the judge points at the function's def
    (`line`: no named mistake of the track's points at a statement); else None."""
    from ninja.cs231n.mistakes import parsed_function, simple_statements

    function_name, _, output = result.partition(".")
    unit = next((u for u in exercise.units if function_name in u.names), None)
    found = parsed_function(source, function_name)
    if unit is None or found is None or line not in (None, getattr(found, "lineno", None)):
        return None
    position = 0 if function_name == unit.forward else unit.wrt.index(output[1:])
    returned = [n.value for n in getattr(found, "body", []) if isinstance(n, ast.Return) and n.value is not None]
    values = returned[-1].elts if returned and isinstance(returned[-1], ast.Tuple) else returned[-1:]
    named = values[position] if position < len(values) else None
    if not isinstance(named, ast.Name):
        return None
    variable = named.id
    lines = [
        stmt.lineno
        for stmt in simple_statements(found)
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        and variable in {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    ]
    return lines[-1] if lines else None


# ---------------------------------------------------------------- the reference


def scaled(out: torch.Tensor, scale, first: torch.Tensor | None) -> torch.Tensor:
    """out's value with every gradient through it times `scale` (a named factor mistake)."""
    if scale is None:
        return out
    n = first.shape[0] if first is not None and first.dim() else 1
    factor = {"n": float(n), "1/n": 1 / n}.get(scale, scale)
    return out.detach() + factor * (out - out.detach())


def torch_trusted(reference: Callable, args: tuple[str, ...], wrt: tuple[str, ...]):
    def trusted(t, out, scale=None):
        return scaled(torch.as_tensor(reference(*(t[a] for a in args))), scale, t[wrt[0]])

    return trusted


def numpy_trusted(forward: Callable, backward: Callable, args: tuple[str, ...], wrt: tuple[str, ...]):
    """The file's NumPy pair as a torch function: its forward gives out, its backward the
    gradients autograd hands on; so the judge's engine is the same for both kinds of reference."""

    class Pair(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t, *leaves):
            given = {a: as_numpy(t[a]) for a in args} | {w: leaf.detach().numpy() for w, leaf in zip(wrt, leaves)}
            returned = forward(*given.values())
            if not (isinstance(returned, tuple) and len(returned) == 2):
                raise ValueError(f"{forward.__name__} must return (out, cache)")
            out, cache = returned
            ctx.cache, ctx.leaves = cache, leaves
            return torch.as_tensor(np.asarray(out, dtype=np.float64))

        @staticmethod
        def backward(ctx, dout):
            grads = backward(dout.numpy().copy(), ctx.cache)
            grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
            shapes = tuple(np.shape(g) for g in grads)
            if shapes != tuple(tuple(leaf.shape) for leaf in ctx.leaves):
                raise ValueError(
                    f"{backward.__name__} gives {', '.join(f'{s}' for s in shapes)} for "
                    f"{', '.join(f'd{w} {tuple(leaf.shape)}' for w, leaf in zip(wrt, ctx.leaves))}: "
                    "return one gradient per LAYERS entry, in order, each in its input's shape"
                )
            return (None, *(torch.as_tensor(np.asarray(g, dtype=np.float64)) for g in grads))

    def trusted(t, out, scale=None):
        return scaled(Pair.apply(t, *(t[w] for w in wrt)), scale, t[wrt[0]])

    return trusted


def as_numpy(value):
    return value.detach().numpy().copy() if torch.is_tensor(value) else value


# ---------------------------------------------------------------- the cases


def label(i: int, inputs: Mapping) -> str:
    """`case 2: x (4, 5), alpha 0.1`: numbered, so two cases of the same shapes stay apart."""
    parts = []
    for k, v in inputs.items():
        if isinstance(v, np.ndarray):
            parts.append(f"{k} {v.shape}")
        elif isinstance(v, (int, float)):
            parts.append(f"{k} {v:g}")
    return f"case {i + 1}: {', '.join(parts)}"


def cases_of(make: Callable, name: str, args: tuple[str, ...]) -> Callable[..., list[Case]]:
    """The unit's cases(seed, cifar): the file's NAME_cases(rng), each in the forward's argument order."""

    def cases(seed, cifar=None):
        found = make(rng_for(seed, name))
        return [Case(label(i, {a: c[a] for a in args}), {a: c[a] for a in args}) for i, c in enumerate(found)]

    return cases


def validate_cases(name: str, make: Callable, args, wrt, where: str) -> None:
    """NAME_cases(rng) gives a list of dicts, each with the forward's arguments, float arrays where checked."""
    try:
        made = make(rng_for(0, name))
    except Exception as e:  # noqa: BLE001 (an instructor's function)
        raise ExerciseFileError(f"{where}: {name}_cases(rng) raised {type(e).__name__}: {e}") from None
    if not isinstance(made, list) or not made or not all(isinstance(c, dict) for c in made):
        raise ExerciseFileError(f"{where}: {name}_cases(rng) must return a list of dicts, one per case")
    for i, case in enumerate(made):
        if set(case) != set(args):
            raise ExerciseFileError(
                f"{where}: {name}_cases(rng)'s case {i + 1} has {', '.join(case) or 'nothing'}; give exactly "
                f"the forward's arguments: {', '.join(args)}"
            )
        bad = [w for w in wrt if not (isinstance(case[w], np.ndarray) and case[w].dtype.kind == "f")]
        if bad:
            raise ExerciseFileError(
                f"{where}: {name}_cases(rng)'s case {i + 1}: {', '.join(bad)} must be a float NumPy array "
                "(its gradient is checked)"
            )


# ---------------------------------------------------------------- loading


def function(module: ModuleType, name: str) -> Callable | None:
    found = getattr(module, name, None)
    return found if callable(found) else None


def arguments(f: Callable) -> tuple[str, ...]:
    return tuple(inspect.signature(f).parameters)


def unit_of(module: ModuleType, name: str, wrt, mistakes: tuple[Mistake, ...], where: str) -> tuple[Unit, bool]:
    """The unit of layer `name`, and whether its truth is the file's NumPy pair."""
    reference = function(module, name)
    forward, backward = function(module, f"{name}_forward"), function(module, f"{name}_backward")
    make = function(module, f"{name}_cases")
    if make is None:
        raise ExerciseFileError(f"{where}: define {name}_cases(rng), the cases {name} is checked on")
    if reference is None and (forward is None or backward is None):
        raise ExerciseFileError(
            f"{where}: {name}: define a torch reference {name}(...) -> out, or the NumPy pair "
            f"{name}_forward(...) -> (out, cache) and {name}_backward(dout, cache)"
        )
    args = arguments(forward or reference)  # type: ignore[arg-type]
    if reference is not None and forward is not None and arguments(reference) != args:
        raise ExerciseFileError(
            f"{where}: {name}({', '.join(arguments(reference))}) and {name}_forward({', '.join(args)}) "
            "must take the same arguments, in the same order"
        )
    unknown = [w for w in wrt if w not in args]
    if unknown:
        raise ExerciseFileError(
            f"{where}: LAYERS[{name!r}] names {', '.join(unknown)}, which {name}_forward does not take "
            f"({', '.join(args)})"
        )
    if reference is not None:
        trusted = torch_trusted(reference, args, wrt)
    else:
        assert forward is not None and backward is not None  # checked above
        trusted = numpy_trusted(forward, backward, args, wrt)
    validate_cases(name, make, args, wrt, where)
    cases = cases_of(make, name, args)
    unit = Unit(f"{name}_forward", "layer", wrt, cases, trusted, backward=(f"{name}_backward",), mistakes=mistakes)
    for case in cases(0):
        reference_runs(unit, case, where, () if reference else (name,))
    return unit, reference is None


def reference_runs(unit: Unit, case: Case, where: str, numpy_pairs: tuple[str, ...]) -> None:
    """The reference on one case: a float output, and one gradient per LAYERS entry in its shape."""
    from ninja.cs231n.cases import expected

    what = unit.forward.removesuffix("_forward")
    try:
        found = expected(replace(unit, mistakes=()), case, None)
    except Exception as e:  # noqa: BLE001 (an instructor's reference)
        if "not have been used in the graph" in str(e):
            raise ExerciseFileError(
                f"{where}: {what}'s reference does not use one of {', '.join(unit.wrt)} on {case.label}: "
                f"take what it does not use out of LAYERS[{what!r}]"
            ) from None
        torch_only = "" if what in numpy_pairs else f" ({what}(...) gets float64 tensors: compute with torch)"
        raise ExerciseFileError(
            f"{where}: {what}'s reference raised {type(e).__name__} on {case.label}: {e}{torch_only}"
        ) from None
    grads = found["backward"][unit.backward[0]]["values"]
    for w in unit.wrt:
        shape = tuple(np.shape(case.inputs[w]))
        got = grads.get(f"{unit.backward[0]}.d{w}")
        if got is None or tuple(got.shape) != shape:
            raise ExerciseFileError(
                f"{where}: {what}'s reference gives d{w} of shape {None if got is None else tuple(got.shape)} on "
                f"{case.label}; {w} is {shape}: return one gradient per LAYERS[{what!r}] entry, in order"
            )


def layers_of(module: ModuleType, where: str) -> dict[str, tuple[str, ...]]:
    table = getattr(module, MARKER)
    if not isinstance(table, Mapping) or not table:
        raise ExerciseFileError(f'{where}: LAYERS must be a dict: layer name -> its inputs, like {{"relu": ("x",)}}')
    for name, wrt in table.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise ExerciseFileError(f"{where}: LAYERS has {name!r}: a layer's name must be a Python name")
        if not isinstance(wrt, (tuple, list)) or not wrt or not all(isinstance(w, str) for w in wrt):
            raise ExerciseFileError(
                f'{where}: LAYERS[{name!r}] must be a tuple of the inputs its backward returns gradients for, like ("x",)'
            )
    return {name: tuple(wrt) for name, wrt in table.items()}


def mistakes_of(module: ModuleType, layers, where: str) -> dict[str, tuple[Mistake, ...]]:
    """MISTAKES (layer -> words -> produces, or (kind, produces)), then the constant factors."""
    table = getattr(module, "MISTAKES", None) or {}
    if not isinstance(table, Mapping) or not all(isinstance(v, Mapping) for v in table.values()):
        raise ExerciseFileError(f'{where}: MISTAKES must be a dict: layer -> {{"words": lambda inputs, dout: {{...}}}}')
    found = {}
    for name in table:
        if name not in layers:
            raise ExerciseFileError(
                f"{where}: MISTAKES has {name!r}, which LAYERS does not; layers: {', '.join(layers)}"
            )
    for name in layers:
        own = []
        for words, make in table.get(name, {}).items():
            kind, make = make if isinstance(make, tuple) and len(make) == 2 else ("named", make)
            if not callable(make) or not isinstance(kind, str):
                raise ExerciseFileError(f"{where}: MISTAKES[{name!r}][{words!r}] must be a function of (inputs, dout)")
            own.append(Mistake(kind, str(words), produces=make))
        found[name] = (*own, *(Mistake("factor", words, {"scale": c}) for c, words in FACTORS))
    return found


def hints_of(module: ModuleType, units, where: str) -> dict[str, tuple[str, str, str]]:
    """HINTS per function, the levels left out derived: 1 the shapes, 2 and 3 in general words."""
    written = getattr(module, "HINTS", None) or {}
    functions = [n for u in units for n in u.names]
    if not isinstance(written, Mapping):
        raise ExerciseFileError(f"{where}: HINTS must be a dict: function name -> (level 1, level 2, level 3)")
    hints = {}
    for unit in units:
        derived = derived_hints(unit)
        for name in unit.names:
            words = written.get(name, ())
            words = (words,) if isinstance(words, str) else words
            if not isinstance(words, (tuple, list)) or len(words) > 3 or not all(isinstance(w, str) for w in words):
                raise ExerciseFileError(f"{where}: HINTS[{name!r}] must be one to three strings (levels 1-3)")
            hints[name] = cast(tuple[str, str, str], (*words, *derived[name][len(words) :]))
    unknown = [n for n in written if n not in functions]
    if unknown:
        raise ExerciseFileError(f"{where}: HINTS has {', '.join(unknown)}; functions: {', '.join(functions)}")
    return hints


def derived_hints(unit: Unit) -> dict[str, tuple[str, str, str]]:
    """Per function of the unit: 1 the shapes on the first case, 2 and 3 the general rule."""
    case = unit.cases(0, None)[0]
    shapes = {k: tuple(np.shape(v)) for k, v in case.inputs.items() if isinstance(v, np.ndarray)}
    with torch.no_grad():
        from ninja.cs231n.cases import tensors

        out = tuple(unit.trusted(tensors(case.inputs, ()), None).shape)
    takes = ", ".join(f"{k} {s}" for k, s in shapes.items())
    grads = ", ".join(f"d{w} {shapes[w]}" for w in unit.wrt)
    back = unit.backward[0]
    return {
        unit.forward: (
            f"On {case.label}: {unit.forward} takes {takes} and returns out {out} and a cache.",
            f"Compute out step by step, and keep in the cache what {back} needs to run backwards.",
            f"Write out as the forward's formula in NumPy; cache the inputs and the intermediates {back} reads.",
        ),
        back: (
            f"On {case.label}: dout is {out}, out's shape; return {grads}, in this order.",
            "Go back through the forward's steps in reverse: each step's local derivative times the gradient "
            "of its result; where an input was broadcast, sum over the broadcast dims.",
            f"d(input) = Σ over the steps that use it of (∂ step / ∂ input)ᵀ · d(step's result), in the "
            f"input's shape: {grads}.",
        ),
    }


def with_callees(module: ModuleType, name: str, units: tuple[Unit, ...], where: str) -> tuple[Unit, ...]:
    """CALLS (layer -> the layers its functions call, deepest first): the judge's inheritance, as
    for the bundled networks: a result that fails only through the learner's callee inherits."""
    calls = getattr(module, "CALLS", None) or {}
    named = {u.forward.removesuffix("_forward"): u for u in units}
    if not isinstance(calls, Mapping):
        raise ExerciseFileError(
            f'{where}: CALLS must be a dict: layer -> the layers it calls, like {{"net": ("affine",)}}'
        )
    for layer, callees in calls.items():
        listed = isinstance(callees, (tuple, list))
        unknown = [c for c in (layer, *(callees if listed else ())) if c not in named]
        if not listed or unknown or layer in callees:
            raise ExerciseFileError(
                f"{where}: CALLS[{layer!r}] must name layers of LAYERS other than itself, in a tuple"
                f"{': not ' + ', '.join(map(repr, unknown)) if unknown else ''}; layers: {', '.join(named)}"
            )
    return tuple(
        replace(u, calls=tuple(Callee(name, named[c]) for c in calls.get(layer, ()))) for layer, u in named.items()
    )


def from_module(module: ModuleType, name: str, path: Path) -> FileExercise:
    """Validate a module that defines LAYERS and build its exercise; ExerciseFileError says what is wrong."""
    where = str(path)
    title = (inspect.getdoc(module) or "").strip().split("\n")[0].strip()
    if not title:
        raise ExerciseFileError(
            f'{where}: start the file with a docstring; its first line is the title ("""Leaky ReLU...""")'
        )
    if callable(getattr(module, "forward", None)):
        raise ExerciseFileError(
            f"{where}: defines both LAYERS (CS231n-style pairs) and forward (a tapped forward): keep one kind a file"
        )
    layers = layers_of(module, where)
    mistakes = mistakes_of(module, layers, where)
    built = [unit_of(module, layer, wrt, mistakes[layer], where) for layer, wrt in layers.items()]
    units = with_callees(module, name, tuple(u for u, _ in built), where)
    forwards = tuple(u.forward for u in units)
    defined = [f for f in forwards if function(module, f)]
    why = "which is no forward this file defines (a given one is handed to the learner as written here)"
    given = names_option(module, "GIVEN", (), defined, where, why)
    exercise = FileExercise(
        name=name,
        title=title,
        units=units,
        hints=hints_of(module, units, where),
        rtol=float(getattr(module, "RTOL", 1e-5)),
        atol=float(getattr(module, "ATOL", 1e-8)),
        measure_speed=False,
        source_file=path.resolve(),
        given=given,
        answers_inside=tuple(u.backward[0] for u in units if function(module, u.backward[0])),
        numpy_reference=tuple(layer for (layer, _), (_, numpy) in zip(layers.items(), built) if numpy),
    )
    text = template(exercise, module, given)
    return replace(exercise, template_file=written_template(name, path, text))


# ---------------------------------------------------------------- the template


def template(exercise: FileExercise, module: ModuleType, given: tuple[str, ...]) -> str:
    """The learner's file: the file's docstring, then each function of each pair: a given forward
    as the file writes it, the others their signature and docstring with `None  # TODO` to fill in."""
    source = Path(exercise.source_file).read_text(encoding="utf-8")  # type: ignore[arg-type]
    doc = ast.get_docstring(ast.parse(source)) or exercise.title
    kept = [inspect.getsource(getattr(module, f)) for f in given]
    layers = [u.forward.removesuffix("_forward") for u in exercise.units]
    parts = [
        f'"""{doc}\n\n    ninja check {exercise.name}     # each function against PyTorch autograd, case by case\n'
        f'    ninja hint {exercise.name}      # a hint for the first function that is wrong\n"""',
        "",
        header(source, "\n".join(kept), {*exercise.functions, *layers, *(f"{layer}_cases" for layer in layers)}),
    ]
    for unit in exercise.units:
        for name in unit.names:
            text = inspect.getsource(getattr(module, name)) if name in given else stub(module, unit, name)
            parts += ["", "", textwrap.dedent(text).rstrip()]
    parts += ["", "", *runs_on_its_own(exercise.name)]
    return "\n".join(parts)


def stub(module: ModuleType, unit: Unit, name: str) -> str:
    """`def name(args):`, its docstring (the file's, else one saying what it returns), `None  # TODO`."""
    own = function(module, name)
    backward = name != unit.forward
    reference = own or function(module, unit.forward.removesuffix("_forward"))
    assert reference is not None  # unit_of: a forward or a torch reference
    args = ("dout", "cache") if backward else arguments(reference)
    outputs = tuple(f"d{w}" for w in unit.wrt) if backward else ("out", "cache")
    doc = (inspect.getdoc(own) if own else None) or (
        f"dout (out's shape), cache -> {', '.join(outputs)}." if backward else f"-> out, cache ({unit.backward[0]}'s)."
    )
    nones = ", ".join("None" for _ in outputs)
    return "\n".join(
        [
            f"def {name}({', '.join(args)}):",
            textwrap.indent(f'"""{doc}"""', "    "),
            f"    {', '.join(outputs)} = {nones}  # TODO",
            f"    return {', '.join(outputs)}",
        ]
    )


def header(source: str, kept: str, learners: set[str]) -> str:
    """`import numpy as np`, and what the given forwards read of the file: its imports, constants
    and helper functions (and what those read), never the learner's functions (`learners`)."""
    tree = ast.parse(source)
    helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name not in learners}
    read: set[str] = {"np"}
    todo: list[ast.AST] = [ast.parse(textwrap.dedent(kept) or "pass")]
    while todo:
        new = {n.id for n in ast.walk(todo.pop()) if isinstance(n, ast.Name)} - read
        read |= new
        todo += [helpers[name] for name in new if name in helpers]
    lines = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if bound & read:
                lines.append(ast.get_source_segment(source, node))
        elif isinstance(node, ast.Assign) and {t.id for t in node.targets if isinstance(t, ast.Name)} & read:
            lines.append(ast.get_source_segment(source, node))
        elif isinstance(node, ast.FunctionDef) and node.name in helpers and node.name in read:
            lines.append("\n\n" + (ast.get_source_segment(source, node) or ""))
    return "\n".join(line for line in lines if line) or "import numpy as np"
