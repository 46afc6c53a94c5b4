"""GPT 5: train the GPT with your own backward pass.

Write forward_backward: the two-block GPT of gpt4 on a batch, and your gradients of its loss for
every parameter (each layer in one go, as in gpt4), under torch.no_grad(). `ninja check gpt5`
compares them with autograd, then trains the GPT twice from the same start on the same batches,
with your gradients and with autograd's, and shows the two loss curves, the validation losses and
names sampled from your model.
"""

import ast
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import torch  # noqa: F401 (the forward reads it)

from ninja import runner
from ninja.gpt import gpt4
from ninja.gpt.model2 import forward, inputs, parameters
from ninja.settings import Settings
from ninja.tapped import diagnose
from ninja.tapped.exercise import CHECKING, Exercise
from ninja.tapped.files import from_module

__all__ = ["EXERCISE", "parameters", "inputs", "forward", "CHECKED", "FORWARD", "HINTS"]

PARAMETERS = tuple(parameters(torch.Generator().manual_seed(0)))
CHECKED = tuple(name for name in gpt4.CHECKED if name in PARAMETERS)  # gpt4's order
FORWARD = ("loss",)  # what forward_backward returns besides the gradients
HINTS = {name: gpt4.HINTS[name] for name in CHECKED}


@dataclass(frozen=True)
class TrainingExercise(Exercise):
    """A tapped exercise that, once its gradients pass, trains (--steps, --device, --plot)."""

    trains = True

    def collect(self, path: Path, settings: Settings = Settings(), options=CHECKING) -> dict:
        """As any tapped exercise's, but a gradient is pointed at the line of forward_backward that
        computed it, not at the template's line that unpacks what the function returned."""
        data = super().collect(path, settings, options)
        try:
            tree = ast.parse(runner.read_source(Path(path)))
        except (OSError, SyntaxError, ValueError):
            return data
        data["changes"] = {**data["changes"], **computed_in(tree, FUNCTION, data["changes"])}
        return data

    def judge(self, data: dict, settings: Settings = Settings(), cache: dict | None = None):
        """As any tapped exercise's; only the parameters' gradients are checked, so "this line's local
        rule" says nothing: the line and what it is made from are the place to look (as exercise 4)."""
        report = super().judge(data, settings, cache)
        for v in report.variables:
            if v.diagnosis_kind == "local_rule":
                v.diagnosis = diagnose.no_common_slip(v.name)
        return report

    def training_request(self, steps: str | None, device: str | None, plot: Path | None):
        from ninja.gpt import train_view  # rich's progress bars: only for a training run

        return train_view.request(steps, device, plot)

    def train(self, path: Path, settings, wanted, console, errors) -> tuple[dict, int]:
        from ninja.gpt import train_view

        return train_view.run(self, path, settings, wanted, console, errors)


FUNCTION = "forward_backward"


def computed_in(tree: ast.Module, function: str, changes: dict[str, list[int]]) -> dict[str, list[int]]:
    """name -> [the line that last computes what `function` returns under the key name], for the
    names whose only module-level change after the call of `function` unpacks its result: for
    `return loss, {"wte": dwte, ...}`, the last statement of `function` that binds or changes dwte
    (the entry's own line where the value is no plain name); for a dict filled by key
    (`dx, grads["lnfb"] = ...`, a helper's `g["qkvw"] = ...` for qkvw_0 and qkvw_1), the last
    statement in the file that stores that key."""
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function]
    calls = [s.lineno for s in runner.module_statements(tree, as_main=True) if calls_function(s, function)]
    if not found or not calls:
        return {}
    body = [s for s in ast.walk(found[-1]) if isinstance(s, ast.stmt) and s is not found[-1]]
    entries, stored = dict_entries(found[-1]), stored_keys(tree)
    lines = {}
    for key in changes:
        if len([line for line in changes[key] if line > calls[-1]]) != 1:
            continue  # changed again after the unpacking: the module-level line is the one that counts
        value, line = entries.get(key), None
        if isinstance(value, ast.Name):
            line = max((s.lineno for s in body if value.id in runner.changed_names(s)), default=value.lineno)
        elif value is not None and not isinstance(value, ast.Subscript):
            line = value.lineno
        else:
            by_key = value.slice.value if value is not None and isinstance(value.slice, ast.Constant) else key
            line = stored.get(str(by_key)) or stored.get(re.sub(r"_\d+$", "", key))
        if line:
            lines[key] = [line]
    return lines


def calls_function(statement: ast.stmt, function: str) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function
        for node in ast.walk(statement)
    )


def dict_entries(function: ast.FunctionDef) -> dict[str, ast.expr]:
    """key -> the expression under it, in the dict literals of `function` with string keys."""
    return {
        k.value: v
        for node in ast.walk(function)
        if isinstance(node, ast.Dict)
        for k, v in zip(node.keys, node.values)
        if isinstance(k, ast.Constant) and isinstance(k.value, str)
    }


def stored_keys(tree: ast.Module) -> dict[str, int]:
    """key -> the last line of the file whose statement stores x["key"] (`dx, grads["lnfb"] = ...`)."""
    stored: dict[str, int] = {}
    for statement in ast.walk(tree):
        if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in (node for t in targets for node in ast.walk(t)):
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    key = target.slice.value
                    if isinstance(key, str):
                        stored[key] = max(stored.get(key, 0), statement.lineno)
    return stored


_loaded = from_module(sys.modules[__name__], "gpt5")
EXERCISE = TrainingExercise(**{f.name: getattr(_loaded, f.name) for f in fields(_loaded)})
