"""An exercise is a file: load one, validate it with clear errors, and derive what it leaves out.

    \"\"\"Attention, one head: the title line, then what `ninja list` and the template say.\"\"\"
    import torch
    def parameters(g): ...          # torch.Generator -> {name: tensor}, the learnable ones
    def inputs(g, batch_size): ...  # -> {name: tensor}, not differentiated (ids, targets, masks)
    def forward(tap, x, Wq, ...):   # one small step a line: q = tap("q", ...); return tap("loss", ...)
    CHECKED = (...)                 # optional: default every tapped name and parameter, backward order
    GIVEN = (...)                   # optional: gradients handed to the learner
    HINTS = {"x": ("...", "...", "...")}  # optional: levels 1-3; level 1 is derived when absent
    MISTAKES = {"x": {"words": lambda v, g: tensor}}  # optional: named mistakes of this exercise

A track may add, for its own files: FORWARD (the names the forward check compares), mistakes(v, g)
(named mistakes computed together), find_roles, describe, NOTEBOOK, LEARNER_MODULE, TEMPLATE and
SOLUTION (paths of a hand-written template and solution). docs/writing-exercises.md says it all.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import torch

from ninja.settings import Settings
from ninja.tapped import blame
from ninja.tapped.exercise import Exercise, NotebookSpec
from ninja.tapped.model import Model

REQUIRED = ("parameters", "inputs", "forward")
LEARNER_MODULE = "ninja.tapped.learner"


class ExerciseFileError(ValueError):
    """An exercise file that cannot be used: the message says where and what to change."""


def load(path: Path, name: str | None = None, module: ModuleType | None = None) -> Exercise:
    """The exercise a file defines, named `name` (default: the file's stem), its forward run once
    to validate it (`module`: the file already imported, module_of)."""
    path = Path(path)
    return from_module(module or module_of(path), name or path.stem, path, validate=True)


def module_of(path: Path) -> ModuleType:
    """Import the file as a module of its own (not on sys.modules); ExerciseFileError when it cannot."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ExerciseFileError(f"{path}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
    try:
        compile(source, str(path), "exec")
    except SyntaxError as e:
        raise ExerciseFileError(f"{path}:{e.lineno}: SyntaxError: {e.msg}") from None
    spec = importlib.util.spec_from_file_location(f"ninja_exercise_{abs(hash(str(path.resolve())))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a file may look itself up (makemore's: from_module(sys.modules[__name__]))
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 (an instructor's file: its error, where it happened)
        raise ExerciseFileError(f"{where(e, path)}: importing it raised {type(e).__name__}: {e}") from None
    return module


def where(e: BaseException, path: Path) -> str:
    """path:line of the innermost frame of `e` in `path`."""
    line = None
    for frame, lineno in _frames(e):
        if Path(frame.f_code.co_filename).resolve() == path.resolve():
            line = lineno
    return f"{path}:{line}" if line else str(path)


def _frames(e: BaseException):
    tb = e.__traceback__
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def from_module(module: ModuleType, name: str, path: Path | None = None, validate: bool = False) -> Exercise:
    """Validate a module that defines an exercise and build it; ExerciseFileError says what is wrong.
    `validate`: run the forward to check it (an instructor's file); otherwise (a track's own module,
    at every start of ninja) its tapped names are read from the forward's source, at no cost."""
    where_ = str(path or module.__name__)
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        other = " (or LAYERS, for CS231n-style forward/backward pairs)" if len(missing) == len(REQUIRED) else ""
        raise ExerciseFileError(
            f"{where_}: define {', '.join(f'{m}(...)' for m in missing)}{other} (see docs/writing-exercises.md)"
        )
    title = (inspect.getdoc(module) or "").strip().split("\n")[0].strip()
    if not title:
        raise ExerciseFileError(
            f'{where_}: start the file with a docstring; its first line is the title ("""Attention, one head...""")'
        )
    model, taps = model_of(module, name, where_, validate)
    params = model.parameter_names if validate else forward_arguments(module.forward)
    checked = names_option(module, "CHECKED", lambda: default_checked(model, taps), (*taps, *params), where_)
    given = names_option(module, "GIVEN", (), taps, where_)
    forward = names_option(module, "FORWARD", (*taps, "loss") if "loss" not in taps else taps, (*taps, "loss"), where_)
    hints = hints_of(module, checked, model, where_)
    return Exercise(
        name=name,
        title=title,
        checked=checked,
        forward_names=forward,
        rtol=float(getattr(module, "RTOL", 1e-5)),
        atol=float(getattr(module, "ATOL", 1e-8)),
        hints=hints,
        model=model,
        given=given,
        mistakes=mistakes_of(module, checked, where_),
        find_roles=getattr(module, "find_roles", None),
        describe=getattr(module, "describe", None),
        notebook=getattr(module, "NOTEBOOK", None) or NotebookSpec(),
        template_file=file_option(module, "TEMPLATE", path),
        solution_file=file_option(module, "SOLUTION", path),
        learner_module=getattr(module, "LEARNER_MODULE", LEARNER_MODULE),
    )


def mistakes_of(module: ModuleType, checked, where_: str):
    """(values, gradients) -> {name: [(kind, words, tensor)]}: MISTAKES (words -> lambda v, g, or
    words -> (kind, lambda v, g)) and a `mistakes(v, g)` function, the file's own first."""
    table = getattr(module, "MISTAKES", None) or {}
    together = getattr(module, "mistakes", None)
    if not isinstance(table, Mapping) or not all(isinstance(v, Mapping) for v in table.values()):
        raise ExerciseFileError(f'{where_}: MISTAKES must be a dict: name -> {{"words": lambda v, g: tensor}}')
    for name, candidates in table.items():
        if name not in checked:
            raise ExerciseFileError(
                f"{where_}: MISTAKES has {name!r}, which is not checked; checked: {', '.join(checked)}"
            )
        for words, make in candidates.items():
            if not (callable(make) or (isinstance(make, tuple) and len(make) == 2 and callable(make[1]))):
                raise ExerciseFileError(f"{where_}: MISTAKES[{name!r}][{words!r}] must be a function of (v, g)")
    if not table and together is None:
        return None

    def named(values: dict, grads: dict, strict: bool = False) -> dict:
        """strict (ninja dev check): a candidate that raises or has the wrong shape raises
        ExerciseFileError; otherwise it is left out, and a learner's check goes on without it."""
        found = {k: list(v) for k, v in (together(values, grads) if together else {}).items()}
        for name, candidates in table.items():
            for words, make in candidates.items():
                kind, make = make if isinstance(make, tuple) else ("named", make)
                try:
                    wrong = make(values, grads)
                    if tuple(wrong.shape) != tuple(grads[name].shape):
                        raise ValueError(f"it is {tuple(wrong.shape)}, d{name} is {tuple(grads[name].shape)}")
                except Exception as e:  # noqa: BLE001 (an instructor's lambda)
                    if strict:
                        raise ExerciseFileError(
                            f"{where_}: MISTAKES[{name!r}][{words!r}]: {type(e).__name__}: {e}"
                        ) from None
                    continue
                found.setdefault(name, []).append((kind, words, wrong))
        return found

    return named


def file_option(module: ModuleType, option: str, path: Path | None) -> Path | None:
    value = getattr(module, option, None)
    if value is None:
        return None
    value = Path(value)
    return value if value.is_absolute() or path is None else path.parent / value


_MODELS: dict[tuple, tuple[Model, tuple[str, ...]]] = {}  # exercises on one model share it (makemore's 1-3)


def model_of(module: ModuleType, name: str, where_: str, validate: bool) -> tuple[Model, tuple[str, ...]]:
    """The module's model and its tapped names, found once per (parameters, inputs, forward)."""
    key = (module.parameters, module.inputs, module.forward)
    if key not in _MODELS:
        model = Model(*key, name)
        taps = None if validate else static_taps(module.forward)
        _MODELS[key] = model, taps if taps is not None else tapped_names(model, where_)
    return _MODELS[key]


def static_taps(forward) -> tuple[str, ...] | None:
    """The names forward taps, read from its source in order (loss last); None when one is no
    literal string or is tapped twice (then the forward is run to find them)."""
    try:
        function = ast.parse(textwrap.dedent(inspect.getsource(forward))).body[0]
    except (OSError, TypeError, SyntaxError):
        return None
    calls = sorted((n for n in ast.walk(function) if is_tap(n)), key=lambda n: (n.lineno, n.col_offset))
    names = [c.args[0].value if isinstance(c.args[0], ast.Constant) else None for c in calls]
    if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        return None
    return tuple(n for n in names if n != "loss") + (("loss",) if "loss" in names else ())


def forward_arguments(forward) -> tuple[str, ...]:
    """The tensors forward takes by name (the parameters and the inputs): its arguments after tap."""
    return tuple(list(inspect.signature(forward).parameters)[1:])


def tapped_names(model: Model, where_: str) -> tuple[str, ...]:
    """Run the forward once at small settings: its tapped names, in order; ExerciseFileError when the
    functions do not fit together."""
    try:
        tensors = model.package_tensors(Settings(batch_size=4))
    except Exception as e:  # noqa: BLE001
        raise ExerciseFileError(
            f"{where_}: parameters(g) or inputs(g, batch_size) raised {type(e).__name__}: {e}"
        ) from None
    not_tensors = [k for k, v in tensors.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise ExerciseFileError(f"{where_}: parameters and inputs must be tensors; {', '.join(not_tensors)} is not")
    both = set(model.parameters(torch.Generator().manual_seed(0))) & set(
        model.inputs(torch.Generator().manual_seed(1), 4, **_data(model))
    )
    if both:
        raise ExerciseFileError(f"{where_}: {', '.join(sorted(both))} is both a parameter and an input: rename one")
    not_float = [k for k in model.parameter_names if not tensors[k].is_floating_point()]
    if not_float:
        raise ExerciseFileError(f"{where_}: parameters must be floating point; {', '.join(not_float)} is not")
    taps: list[str] = []

    def tap(name, t):
        if not isinstance(name, str) or not name.isidentifier():
            raise ExerciseFileError(f"{where_}: tap({name!r}, ...): a tap's name must be a Python name")
        if name in taps or name in tensors:
            raise ExerciseFileError(f"{where_}: {name!r} is tapped twice (or is a parameter or input): one name a step")
        if not torch.is_tensor(t) or not t.is_floating_point():
            raise ExerciseFileError(f"{where_}: tap({name!r}, ...) must get a floating-point tensor")
        taps.append(name)
        return t

    try:
        with torch.no_grad():
            root = model.forward(tap, **tensors)
    except ExerciseFileError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ExerciseFileError(f"{where_}: forward(tap, ...) raised {type(e).__name__}: {e}") from None
    if not torch.is_tensor(root) or root.numel() != 1:
        raise ExerciseFileError(f'{where_}: forward must return the loss, one number: return tap("loss", ...)')
    return tuple(t for t in taps if t != "loss") + (("loss",) if "loss" in taps else ())


def _data(model: Model) -> dict:
    return {"data": None} if "data" in inspect.signature(model.inputs).parameters else {}


def default_checked(model: Model, taps: tuple[str, ...]) -> tuple[str, ...]:
    """Every tapped name and parameter, in backward order: the taps reversed, each parameter after
    the first line that reads it (its gradient needs every line that reads it)."""
    steps = [t for t in taps if t != "loss"]
    outputs, leaves = model.cut(Settings(batch_size=4), (*steps, *model.parameter_names))
    used_by = blame.consumers(outputs, leaves)
    order: list[str] = []
    for step in reversed([*steps, "loss"]):
        if step != "loss":
            order.append(step)
        order += [p for p in model.parameter_names if used_by.get(p) and used_by[p][0] == step]
    return tuple(order) + tuple(p for p in model.parameter_names if p not in order)


def names_option(
    module: ModuleType, option: str, default, allowed, where_: str, why: str = "which the forward does not tap"
) -> tuple[str, ...]:
    """The module's tuple of names `option`, checked against `allowed` (`why`: what another name
    is); else `default` (or default())."""
    value = getattr(module, option, None)
    if value is None:
        return tuple(default() if callable(default) else default)
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
        like = f"({', '.join(map(repr, list(allowed)[:2]))},)" if allowed else '("name",)'
        raise ExerciseFileError(f"{where_}: {option} must be a tuple of names, like {like}")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ExerciseFileError(
            f"{where_}: {option} names {', '.join(unknown)}, {why}; known: {', '.join(allowed) or 'none'}"
        )
    return tuple(value)


def hints_of(module: ModuleType, checked, model: Model, where_: str) -> Mapping[str, tuple[str, ...]]:
    """HINTS, with level 1 (and 2-3 in general words) derived for a name that has none."""
    written = getattr(module, "HINTS", None) or {}
    if not isinstance(written, Mapping):
        raise ExerciseFileError(f"{where_}: HINTS must be a dict: name -> (level 1, level 2, level 3)")
    hints = {}
    for name, words in written.items():
        if name not in checked:
            raise ExerciseFileError(
                f"{where_}: HINTS has {name!r}, which is not checked; checked: {', '.join(checked)}"
            )
        words = (words,) if isinstance(words, str) else tuple(words)
        if not 1 <= len(words) <= 3 or not all(isinstance(w, str) for w in words):
            raise ExerciseFileError(f"{where_}: HINTS[{name!r}] must be one to three strings (levels 1-3)")
        hints[name] = words
    return Hints(hints, tuple(checked), model)


class Hints(Mapping):
    """The file's hints, with the levels it leaves out derived from the forward the first time a
    hint is asked for (a check never asks: it costs a forward pass and a cut one)."""

    def __init__(self, written: dict, checked: tuple[str, ...], model: Model):
        self.written, self.checked, self.model = written, checked, model
        self.derived: dict | None = None

    def __getitem__(self, name: str) -> tuple[str, ...]:
        if name not in self.checked:
            raise KeyError(name)
        own = self.written.get(name, ())
        if len(own) == 3:
            return own
        if self.derived is None:
            short = [k for k in self.checked if len(self.written.get(k, ())) < 3]
            self.derived = derived_hints(self.model, short, forward_lines(self.model))
        return (*own, *self.derived[name][len(own) :])

    def __contains__(self, name: object) -> bool:
        return name in self.checked

    def __iter__(self):
        return iter(self.checked)

    def __len__(self) -> int:
        return len(self.checked)


def derived_hints(model: Model, checked, lines: Mapping[str, str]) -> dict[str, tuple[str, str, str]]:
    """Level 1: the shapes and the forward lines that read it; 2 and 3 in general words."""
    values = model.package_tensors(Settings()) | model.values(Settings())
    every_step = [t for t in model.values(Settings(batch_size=4)) if t != "loss"]
    outputs, leaves = model.cut(Settings(batch_size=4), (*every_step, *model.parameter_names))
    used_by = blame.consumers(outputs, leaves)
    hints = {}
    for name in checked:
        shape = tuple(values[name].shape)
        users = [lines.get(y, y) for y in used_by.get(name, [])]
        where_used = (
            f"Used in: {users[0]}" if len(users) == 1 else f"Used in {len(users)} lines: " + " and ".join(users)
        )
        hints[name] = (
            f"{name} is {shape}; d{name} too. {where_used}",
            f"For each line that uses {name}, its local derivative with respect to {name}, times the gradient "
            f"of that line's result; where {name} was broadcast, sum over the broadcast dims.",
            f"d{name} = Σ over the lines that use {name} of (∂ line / ∂ {name})ᵀ · d(line's result), "
            f"in {name}'s shape {shape}.",
        )
    return hints


# ---- the template: the forward written out as plain Python ----


def forward_lines(model: Model) -> dict[str, str]:
    """tapped name -> its line of the forward as plain Python (`q = x @ Wq`)."""
    found = {}
    for text in template_forward(model.forward).splitlines():
        target = text.split("=", 1)[0].strip() if "=" in text else ""
        if target.isidentifier():
            found.setdefault(target, text.split("  #")[0].strip())
    return found


def template_forward(forward) -> str:
    """The body of `forward` as module-level code: `x = tap("x", e)` becomes `x = e`, and
    `return tap("loss", e)` (or `return e`) becomes `loss = e`; comments stay."""
    source = textwrap.dedent(inspect.getsource(forward))
    tree = ast.parse(source)
    function = tree.body[0]
    lines = source.splitlines()
    first = function.body[0].lineno - 1
    if isinstance(function.body[0], ast.Expr) and isinstance(getattr(function.body[0], "value", None), ast.Constant):
        first = function.body[0].end_lineno  # the docstring stays out
    edits = []
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            value = untapped(node.value)
            edits.append((node, f"loss = {ast.get_source_segment(source, value)}"))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and is_tap(node.value):
            target = ast.get_source_segment(source, node.targets[0])
            edits.append((node, f"{target} = {ast.get_source_segment(source, node.value.args[1])}"))
    for node, text in sorted(edits, key=lambda e: -e[0].lineno):
        start, end = node.lineno - 1, node.end_lineno - 1
        tail = lines[end][node.end_col_offset :]
        lines[start : end + 1] = [lines[start][: node.col_offset] + text + tail]
    body = "\n".join(lines[first : function.end_lineno - sum(node.end_lineno - node.lineno for node, _ in edits)])
    return textwrap.dedent(body).strip("\n")


def is_tap(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tap" and len(node.args) == 2
    )


def untapped(node: ast.expr) -> ast.expr:
    return node.args[1] if is_tap(node) else node


def check_tap_lines(forward, where_: str) -> None:
    """Every tap is a whole step: `x = tap("x", ...)` (the same name) or `return tap("loss", ...)`."""
    source = textwrap.dedent(inspect.getsource(forward))
    function = ast.parse(source).body[0]
    ast.increment_lineno(function, inspect.getsourcelines(forward)[1] - 1)  # the file's own line numbers
    allowed = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and is_tap(node.value):
            target, label = node.targets[0], node.value.args[0]
            if not (len(node.targets) == 1 and isinstance(target, ast.Name) and isinstance(label, ast.Constant)
                    and label.value == target.id):  # fmt: skip
                raise ExerciseFileError(f'{where_}:{node.lineno}: write `NAME = tap("NAME", ...)`, the same name twice')
            allowed.add(id(node.value))
        elif isinstance(node, ast.Return) and node.value is not None and is_tap(node.value):
            allowed.add(id(node.value))
    for node in ast.walk(function):
        if is_tap(node) and id(node) not in allowed:
            raise ExerciseFileError(
                f'{where_}:{node.lineno}: a tap is a step of its own: `NAME = tap("NAME", ...)` '
                'or `return tap("loss", ...)`, never inside another expression'
            )


def header_names(module_source: str, forward_source: str) -> str:
    """The file's imports, and its top-level definitions the forward uses, as the template's header."""
    tree = ast.parse(module_source)
    read = {n.id for n in ast.walk(ast.parse(textwrap.dedent(forward_source))) if isinstance(n, ast.Name)}
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not (getattr(node, "module", "") or "").startswith(
            "ninja"
        ):
            kept.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in read and node.name not in REQUIRED:
            kept.append(node)
        elif isinstance(node, ast.Assign) and assigned(node) & read:
            kept.append(node)
    return "\n".join(ast.get_source_segment(module_source, node) for node in kept)


def assigned(node: ast.Assign) -> set[str]:
    """The names an assignment binds: `T, C, H = 5, 8, 4` binds three."""
    return {n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name)}


def template(exercise: Exercise, source_path: Path) -> str:
    """The learner's file: the forward written out line by line, then `dX = None  # TODO` per
    checked name in backward order. It runs on its own (`python exercises/NAME.py`)."""
    model = exercise.model
    doc = ast.get_docstring(ast.parse(Path(source_path).read_text(encoding="utf-8"))) or exercise.title
    module_source = Path(inspect.getsourcefile(model.forward)).read_text(encoding="utf-8")  # where forward lives
    forward_source = inspect.getsource(model.forward)
    every = (*model.parameter_names, *model.input_names)
    header = header_names(module_source, forward_source)
    imports = (
        "from ninja.tapped.learner import given, tensors"
        if exercise.given
        else "from ninja.tapped.learner import tensors"
    )
    parts = [
        f'"""{doc}\n\n    ninja check {exercise.name}     # compare with PyTorch autograd, variable by variable\n'
        f'    ninja hint {exercise.name}      # a hint for the first line that is wrong\n"""',
        "",
        header,
        imports,
        "",
        "# the checker picks the seed and the batch size, so these are the numbers its reference uses too",
        f'{", ".join(every)}{"," if len(every) == 1 else ""} = tensors("{exercise.name}")',
        "",
        "# forward pass, one small step a line",
        template_forward(model.forward),
        "",
    ]
    if exercise.given:
        parts += ["# backward pass: these gradients are given"]
        parts += [f'd{g} = given("{g}", "{exercise.name}")' for g in exercise.given]
        parts += [""]
    parts += ["# backward pass: your code here, in this order", ""]
    parts += [f"d{name} = None  # TODO" for name in exercise.checked]
    parts += ["", *runs_on_its_own(exercise.name)]
    return "\n".join(parts)


def runs_on_its_own(name: str) -> list[str]:
    """A template's last lines: `python exercises/NAME.py` checks it."""
    return [
        f'if __name__ == "__main__":  # `python exercises/{name}.py` checks this file too',
        "    from ninja.cli import main",
        "",
        f'    main(["check", "{name}", "--file", __file__])',
        "",
    ]


def loaded(path: Path, name: str, module: ModuleType | None = None) -> Exercise:
    """load(), with the tap lines checked and the template written where init and reset find it."""
    path = Path(path)
    exercise = load(path, name, module)
    check_tap_lines(exercise.model.forward, str(path))
    exercise = replace(exercise, source_file=path.resolve())
    if exercise.template_file is not None:
        return exercise
    return replace(exercise, template_file=written_template(name, path, template(exercise, path)))


def written_template(name: str, source: Path, text: str) -> Path:
    """Where init and reset find a derived template: the temporary folder's cache, by content."""
    folder = cache_folder() / f"{name}-{abs(hash((str(Path(source).resolve()), text))) % 10**12}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.py"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target


def cache_folder() -> Path:
    """Where derived templates live: a folder of this user's in the temporary folder."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"ninja-templates-{uid}"
