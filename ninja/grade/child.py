"""What runs in the warm worker (`prepare`) and in each confined child (`grade_in_child`).

The child runs `exercise.collect` at every grading setting with autograd refused and ninja's own
references unusable, and sends back plain data (ninja/collected.py). Everything it reads is in
its own job folder, written there by the parent: the submission's files and, for exercise 3, the
given gradients (.npy, no pickle). Nothing of the references is computed in a child.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import linecache
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

AUTOGRAD_MESSAGE = "autograd is not available while grading: write the gradient by hand"


class AutogradUnavailable(RuntimeError):
    pass


def refusal(what: str) -> Callable:
    """A function of its own for each refused name (torch._dynamo maps each torch function to one
    rule: one shared function for all of them made `import torch._dynamo` fail)."""

    def refuse(*args, **kwargs):
        raise AutogradUnavailable(AUTOGRAD_MESSAGE)

    refuse.__name__ = refuse.__qualname__ = f"refused_{what}"
    return refuse


class _NoEngine:
    def __getattr__(self, name):
        return refusal(f"engine_{name}")


def disable_autograd() -> None:
    """Close every way the learner's backward could ask autograd for the answer (a second layer:
    the parent's audit flags the source that tries)."""

    torch.autograd.Variable._execution_engine = _NoEngine()  # what backward() and autograd.grad end in
    torch.Tensor.backward = refusal("backward")
    torch.Tensor.grad = property(refusal("grad_get"), refusal("grad_set"))
    torch.Tensor.requires_grad_ = refusal("requires_grad_")
    torch.autograd.backward = refusal("autograd_backward")
    torch.autograd.grad = refusal("autograd_grad")
    import torch._functorch.apis as apis
    import torch._functorch.eager_transforms as transforms
    import torch.autograd.forward_ad as forward_ad

    transforms_ = ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize")
    for module, names in (
        (torch.func, transforms_),
        (transforms, transforms_),
        (apis, ("grad", "grad_and_value")),
        (torch.autograd.functional, ("vjp", "jvp", "jacobian", "hessian", "vhp", "hvp")),
        # forward mode: dual tensors never reach the engine, so it is refused where it starts
        (forward_ad, ("make_dual", "unpack_dual", "dual_level", "enter_dual_level", "exit_dual_level")),
        (torch._C, ("_enter_dual_level", "_exit_dual_level")),
        (torch, ("_make_dual", "_unpack_dual")),
        # every functorch transform (by whatever name it is reached) enters a level here first
        (torch._C._functorch, ("_grad_increment_nesting", "_jvp_increment_nesting")),
        (transforms, ("_grad_increment_nesting", "_jvp_increment_nesting")),
    ):
        for name in names:
            if hasattr(module, name):
                setattr(module, name, refusal(f"{module.__name__}.{name}"))


def disable_references() -> None:
    """ninja's trusted gradients are the parent's: in a child every model's reference and cut
    forward refuse (ninja.tapped.model.refuse_references: a switch of the engine's, no patching)."""
    from ninja.tapped.model import refuse_references

    refuse_references(AUTOGRAD_MESSAGE)


NEVER_PRELOAD = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "webbrowser", "pydoc",
                 "ensurepip", "venv", "lib2to3", "ninja"}  # fmt: skip


def preloadable(module: str) -> bool:
    """The standard library's modules, torch's and NumPy's: what the worker may import for the
    submissions (a student's name for a module of their own is never imported outside a child)."""
    top = module.split(".")[0]
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    return (top in stdlib or top in ("torch", "numpy")) and top not in NEVER_PRELOAD and module.replace(
        ".", "").replace("_", "").isalnum()  # fmt: skip


def prepare(args: dict) -> None:
    """In the fresh warm worker, before any child (while the parent reads the submissions):
    import everything a child needs, warm torch up on each exercise's bundled solution at the
    notebook's seed (nothing secret), then forget every source it read."""
    from ninja import registry
    from ninja.grade.confine import PRELOAD
    from ninja.registry import find
    from ninja.settings import Settings

    torch.set_num_threads(1)  # parallel over processes, not threads; and forking a thread pool is unsafe
    for module in PRELOAD:
        importlib.import_module(module)
    for name, path in args.get("files", {}).items():  # a course's own exercises: loaded here, before any child
        registry.EXERCISES[name] = registry.load_file(Path(path), name)
    importlib.import_module("ninja.tapped.learner")  # what their templates import
    for name in args["exercises"]:  # (a makemore one loads the dataset here: every child inherits it)
        exercise = find(name).for_grading()
        collect(exercise, exercise.warm_up_file, Settings(), None)
    forget_sources()


def preload(modules: list[str]) -> None:
    """In the warm worker, last: the modules the submissions import, those it may (a slot's uid may
    not be able to read the standard library)."""
    for module in filter(preloadable, modules):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 (not installed, or fails to import: the child reports it)
            pass


def forget_sources() -> None:
    """The source the warm-up ran (a bundled solution) must not stay in a child's memory: every
    cache of what a file's text holds is emptied."""
    from ninja import runner
    from ninja.tapped import exercise

    caches = (exercise.backward_autograd_lines, exercise.statements_by_line)
    for cache in (runner.parsed, runner.compiled, runner.backward_end, *caches):
        cache.cache_clear()
    linecache.clearcache()
    gc.collect()


def collect(exercise, path: Path, settings, given: dict[str, torch.Tensor] | None) -> dict:
    """exercise.collect with grading's run options (no submission's own tensors; the given gradients
    the parent computed) where the exercise takes run options (a tapped one), else as it is."""
    from ninja.exercise import RunOptions

    if "options" in inspect.signature(exercise.collect).parameters:
        return exercise.collect(path, settings, RunOptions.grading(given))
    return exercise.collect(path, settings)


def givens_in(folder: Path, k: int, names: list[str]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(np.load(folder / f".given-{k}-{name}.npy", allow_pickle=False)) for name in names}


def grade_in_child(job: dict, fd: int) -> None:
    """Runs in the forked child, confined: collect at every grading setting, then send plain data."""
    from ninja import collected
    from ninja.registry import find
    from ninja.settings import Settings

    exercise = find(job["exercise"]).for_grading()
    path = Path(job["path"])
    settings = [Settings(seed, n) for seed, n in job["settings"]]
    tables = [givens_in(Path(job["dir"]), k, job["given"]) for k in range(len(settings))]
    disable_autograd()
    disable_references()
    runs = []
    for s, table in zip(settings, tables, strict=True):
        runs.append(collect(exercise, path, s, table))
    collected.write(fd, runs)
