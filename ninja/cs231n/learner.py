"""Calling the learner's code: load their file, call its functions on every case (each backward
with its own forward's cache), and keep what they returned as plain data (collect); time a
vectorized function against the naive one. Nothing here judges."""

from __future__ import annotations

import ast
import io
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ninja import collected, runner
from ninja.cs231n import inherit, loading
from ninja.cs231n.cases import Case, Inputs, OwnKind, Unit, dout_for, frozen, tensors
from ninja.results import LearnerError
from ninja.workspace import why_unreadable


@dataclass
class LearnerFile:
    """One of the learner's files after it ran, and the names it defines itself (def, class or
    assignment at its top level: an imported function belongs to the file it comes from)."""

    run: runner.LearnerRun
    source: str
    defines: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> LearnerFile:
        run = loading.run(path)
        source = read_text(path)
        return cls(run, source, frozenset(defined_names(source)))


@dataclass
class Learner:
    """The learner's files after they ran (one, or every file of a folder such as
    cs231n/classifiers/): their functions, and what calling them printed."""

    files: list[LearnerFile]
    output: io.StringIO = field(default_factory=io.StringIO)

    @classmethod
    def load(cls, paths: Path | Sequence[Path]) -> Learner:
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        return cls([LearnerFile.load(Path(p)) for p in paths])

    def folders(self) -> list[Path]:
        """Where the learner's code lives: each file's assignment folder (the one holding cs231n/),
        else its own folder; the functions defined there are the learner's."""
        found = []
        for f in self.files:
            where = loading.layout(Path(f.run.path))
            found.append((where[0] if where else Path(f.run.path).parent).resolve())
        return list(dict.fromkeys(found))

    def file_of(self, name: str) -> LearnerFile | None:
        """The file that defines `name`: the first given, when several do."""
        return next((f for f in self.files if name in f.defines), None)

    def get(self, name: str) -> Any:
        found = self.file_of(name)
        return found.run.namespace.get(name) if found else None

    def call(self, function: Callable, *args, **kwargs) -> tuple[Any, LearnerError | None]:
        """(what it returned, None) or (None, where it raised, in the file that raised)."""
        try:
            with redirect_stdout(self.output), redirect_stderr(self.output):
                return function(*args, **kwargs), None
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 (the learner's error is a result)
            return None, self.error_from(e)

    def error_from(self, e: BaseException) -> LearnerError:
        """Where the learner's code raised: the deepest frame in one of their files."""
        files = {str(f.run.path): f for f in self.files}
        deepest = self.files[0]
        for frame, _ in traceback.walk_tb(e.__traceback__):
            deepest = files.get(frame.f_code.co_filename, deepest)
        return loading.explain(runner.error_from_exception(e, deepest.run.path, deepest.source))


def files_for(exercise, given: Sequence[Path]) -> list[Path]:
    """The files to check together: each given file, and in each given folder the .py files that
    define one of the exercise's functions (a cs231n/ folder also holds solver.py, setup.py, ...,
    which are not run). Raises OSError (FileNotFoundError) naming what cannot be read."""
    wanted = {u.owner or u.forward for u in exercise.units} | set(exercise.functions)
    found: list[Path] = []
    for path in map(Path, given):
        if path.is_dir():
            inside = [p for p in sorted(path.glob("*.py")) if defines_any(read_text(p), wanted)]
            if not inside:
                raise FileNotFoundError(f"{path}: no .py file there defines any of the {exercise.name} functions")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"cannot read {path}: {why_unreadable(path)}")
    return list(dict.fromkeys(found))


def defines_any(source: str, names: set[str]) -> bool:
    return bool(defined_names(source) & names)


def defined_names(source: str) -> set[str]:
    """What `source` defines at its top level; for a file Python cannot parse (Python 2), the names
    of its def and class lines, so that its error is shown for them rather than the file skipped."""
    try:
        return top_level_names(source)
    except (SyntaxError, ValueError):
        return set(re.findall(r"^(?:def|class)\s+(\w+)", source, re.M))


def read_text(path: Path) -> str:
    try:
        return runner.read_source(Path(path))
    except (OSError, SyntaxError):
        return ""


def top_level_names(source: str) -> set[str]:
    """Raises SyntaxError (ValueError: null bytes) for a file Python cannot parse."""
    tree = ast.parse(source)
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def changed_in_place(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The array arguments a call modified (dict arguments such as bn_param may change by design)."""
    return [
        k for k, v in before.items() if isinstance(v, np.ndarray) and not np.array_equal(v, after[k], equal_nan=True)
    ]


def invoke(unit: Unit, learner: Learner, name: str, inputs: Inputs) -> tuple[Any, LearnerError | None]:
    if unit.call is not None:
        return learner.call(unit.call, learner.get(unit.owner), name, inputs)
    return learner.call(learner.get(name), *inputs.values())


def unit_present(unit, learner: Learner) -> bool:
    if unit.owner:
        cls = learner.get(unit.owner)
        return cls is not None and (unit.forward == unit.owner or hasattr(cls, unit.forward))
    return learner.get(unit.forward) is not None


def collect_unit(unit: Unit, learner: Learner, seed: int, cifar, measure_speed: bool = True) -> dict:
    """Every case of `unit` called (one that raises stops none of the others); the speed-up when
    timed; `file` is the learner's file that defines it (None: none of them does)."""
    home = learner.file_of(unit.owner or unit.forward)
    present = home is not None and unit_present(unit, learner)
    cases, timed = [], None
    for case in unit.cases(seed, cifar) if present else []:
        cases.append(collect_case(unit, learner, case))
        timed = case if case.timed and not cases[-1]["error"] else timed
    speed = None
    if measure_speed and unit.naive and timed is not None:
        speed = time_against_naive(unit, learner, timed)
    instead = {}
    if present and unit.calls:  # each case again with a callee replaced by the reference (inheritance)
        instead = inherit.substituted(unit, learner, unit.cases(seed, cifar), collect_case)
    return {"present": present, "file": str(home.run.path) if home else None, "cases": cases, "speed": speed,
            "substituted": instead}  # fmt: skip


def collect_case(unit: Unit, learner: Learner, case: Case) -> dict:
    """Call the learner's forward (and each backward, with its own cache) on one case: what
    they returned, as plain data. The dout fed to a backward is dout_for(case, out's trusted shape)."""
    if isinstance(unit, OwnKind):
        return unit.collect_case(learner, case)
    before = frozen(case.inputs)
    inputs = frozen(case.inputs)
    returned, error = invoke(unit, learner, unit.forward, inputs)
    if error:
        return {"error": collected.error_data(error)}
    out, second = unpack(returned) if unit.kind != "value" else (returned, None)
    called = {
        "error": None,
        "out": collected.plain(out),
        "second": collected.plain(second) if unit.kind == "loss" else None,
        "moved": changed_in_place(before, inputs),
        "state": collected.plain(inputs_dict(inputs)) if unit.state else {},
        "backward": {},
    }
    if unit.kind == "layer" and case.backward:
        with torch.no_grad():  # only the shape: the judge computes the trusted values itself
            shape = tuple(unit.trusted(tensors(before, ()), learner_value(called["out"])).shape)
        dout = dout_for(case, shape)
        for name in unit.backward:
            called["backward"][name] = collect_backward(
                unit, learner, name, dout, own_cache(unit, learner, name, case, second)
            )
    return called


def own_cache(unit: Unit, learner: Learner, backward: str, case: Case, cache):
    """The cache `backward` is fed: that of the forward it was written for when the learner's file
    has one (batchnorm_backward_alt after their batchnorm_forward_alt), else the unit's forward's.
    A LearnerError when that forward raises."""
    paired = unit.paired.get(backward)
    if paired is None or learner.get(paired) is None:
        return cache
    returned, error = learner.call(learner.get(paired), *frozen(case.inputs).values())
    return error if error else unpack(returned)[1]


def collect_backward(unit: Unit, learner: Learner, name: str, dout: np.ndarray, cache) -> dict:
    function = learner.get(name)
    if function is None:
        return {"absent": True}
    if isinstance(cache, LearnerError):  # its own forward raised
        return {"absent": False, "error": collected.error_data(cache)}
    dout_np = dout.copy()
    returned, error = learner.call(function, dout_np, cache)
    if error:
        return {"absent": False, "error": collected.error_data(error)}
    values = returned if isinstance(returned, (tuple, list)) and len(unit.wrt) > 1 else (returned,)
    if isinstance(returned, (tuple, list)) and len(unit.wrt) == 1 and len(returned) == 1:
        values = returned
    return {
        "absent": False,
        "error": None,
        "values": [collected.plain(v) for v in values],
        "dout_changed": not np.array_equal(dout_np, dout),
    }


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


def best_time(unit: Unit, learner: Learner, name: str, inputs: Inputs) -> float | None:
    """The fastest of at least 3 calls, and of up to 20 while they take under 0.1 s together: a
    fast function gets more tries, so one slice of a busy machine does not decide its time."""
    times: list[float] = []
    while len(times) < 3 or (len(times) < 20 and sum(times) < 0.1):
        copied = frozen(inputs)
        start = time.perf_counter()
        _, error = invoke(unit, learner, name, copied)
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
