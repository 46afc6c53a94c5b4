"""The judge: what the learner's functions returned on each case (collected data) against the
trusted side (cases.expected), case by case, into one result per checked name. Pure: no calls
into the learner's code, no printing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ninja import collected, engine
from ninja.cs231n import cases
from ninja.cs231n.cases import Case, OwnKind, Unit, frozen, tensors
from ninja.cs231n.learner import learner_value
from ninja.cs231n.mistakes import Diagnosis, diagnose, in_place, loops_in, offending_line, vectorized_verdict
from ninja.exercise import cached
from ninja.results import ERROR, FAIL, MISSING, PASS, LearnerError, VarResult


@dataclass(frozen=True)
class Trial:
    """What one call of the learner's code returned, by checked name, beside what it should."""

    got: dict[str, Any]
    expected: dict[str, torch.Tensor]
    mistakes: dict[Diagnosis, dict[str, Any]] = field(default_factory=dict)  # (kind, message) -> outputs
    diagnosis: dict[str, Diagnosis] = field(default_factory=dict)  # checked name -> found directly
    numeric: dict[str, torch.Tensor] = field(default_factory=dict)
    note: dict[str, str] = field(default_factory=dict)


def short_where(error: LearnerError) -> str:
    """layers.py:12, for a note in a table row (the footer and the error line give the full path)."""
    name = Path(error.path).name
    return f"{name}:{error.line}" if error.line else name


def rel_error(x: Any, y: torch.Tensor) -> float | None:
    """CS231n's rel_error, as its notebooks print it."""
    got = engine.as_tensor(x)
    if got is None or got.shape != y.shape:
        return None
    got, y = got.double(), y.double()
    return ((got - y).abs() / (got.abs() + y.abs()).clamp(min=1e-8)).max().item()


def trials(unit: Unit, called: dict, case: Case, numeric: bool, expected: dict) -> list[Trial]:
    """What the learner returned on `case` (collect_case) beside the trusted values (expected)."""
    if isinstance(unit, OwnKind):
        return unit.trials(called, case, numeric, expected)
    before = frozen(case.inputs)
    out, second = learner_value(called["out"]), learner_value(called["second"])
    moved = called["moved"]
    t = tensors(before, unit.wrt) if numeric else None
    if unit.kind in ("loss", "value"):
        return [loss_trial(unit, t, expected, before, out, second, moved, numeric)]
    out_name = f"{unit.forward}.out"
    trial = Trial({out_name: out}, dict(expected["values"]))
    trial.mistakes.update(expected["mistakes"])
    if unit.property_check and out is not None:
        found = unit.property_check(before, out)
        if found:
            trial.diagnosis[out_name] = found
    if unit.state:
        state = learner_value(called["state"])
        for k, v in expected["state"].items():  # nothing to judge while the forward returns None
            trial.got[f"{unit.forward}.{k}"] = None if out is None else state.get(k)
            trial.expected[f"{unit.forward}.{k}"] = v
    if moved:
        trial.diagnosis[out_name] = in_place(unit.forward, moved)
    trials = [trial]
    for name, trusted in expected["backward"].items():
        called_back = called["backward"][name]
        trials.append(backward_trial(unit, called_back, name, expected["dout"], trusted, out, t, numeric))
    return trials


def loss_trial(unit: Unit, t, expected, before, out, second, moved, numeric) -> Trial:
    """A function that returns (loss, gradient) (or gradients by name), or one value."""
    names = unit.checked
    got = [out]
    if unit.kind == "loss":
        got += [second.get(w) for w in unit.wrt] if isinstance(second, dict) else [second]
    trial = Trial(dict(zip(names, got, strict=False)), dict(expected["values"]))
    trial.mistakes.update(expected["mistakes"])
    if numeric and unit.kind == "loss":
        for name, w in zip(names[1:], unit.wrt, strict=True):
            trial.numeric[name] = cases.numeric(unit, t, out, w, torch.tensor(1.0, dtype=torch.float64))
    if moved:
        trial.diagnosis.update(dict.fromkeys(names, in_place(unit.forward, moved)))
    return trial


def backward_trial(unit: Unit, called: dict, name, dout, trusted: dict, out, t, numeric) -> Trial:
    names = [f"{name}.d{w}" for w in unit.wrt]
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
            dict.fromkeys(names, f"{name} should return {len(names)} values ({', '.join('d' + w for w in unit.wrt)})")
        )
    trial.mistakes.update(trusted["mistakes"])
    if called["dout_changed"]:
        trial.diagnosis.update(dict.fromkeys(names, in_place(name, ["dout"])))
    if numeric:
        for n, w in zip(names, unit.wrt, strict=False):
            trial.numeric[n] = cases.numeric(unit, t, out, w, dout)
    return trial


def judge_unit(exercise, unit: Unit, got: dict, settings, cifar, error, source: str, cache) -> list[VarResult]:
    """One result per checked name of `unit`: the worst case of each (collected data `got`)."""
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
            expected = cases.expected(unit, case, out)
        else:
            key = ("trusted", exercise.name, unit.forward, case.label, settings.seed, settings.data)
            expected = cached(cache, key, lambda: cases.expected(unit, case, out))  # noqa: B023 (called at once)
        for trial in trials(unit, called, case, exercise.numeric_check and i == 0, expected):
            for name in trial.expected:
                results[name].append(judge(name, trial, case.label, exercise.rtol, exercise.atol, unit.overflow))
    merged = [worst(results[c]) if results[c] else VarResult(c, MISSING, ()) for c in unit.checked]
    if unit.naive:
        vectorized_verdict(unit, loops_in(source, unit.names[0]), got["speed"], merged)
    for r in merged:
        if r.status == FAIL and r.diagnosis_kind:  # a named mistake: the root cause, at its line
            r.root_cause = True
            r.line = r.line or offending_line(source, r.name, r.diagnosis_kind)
    blame_the_forward(unit, merged)
    return merged


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


def worst(results: list[VarResult]) -> VarResult:
    """The first case that does not pass (one with a named mistake first), else the pass with the
    largest relative error."""
    failed = sorted((r for r in results if r.status != PASS), key=lambda r: r.diagnosis is None)  # named first
    chosen = failed[0] if failed else max(results, key=lambda r: r.relerr or 0.0)
    numeric = [r.numeric_relerr for r in results if r.numeric_relerr is not None]  # case 0 only
    if numeric and chosen.numeric_relerr is None:
        chosen.numeric_relerr = numeric[0]
    return chosen


def blame_the_forward(unit: Unit, results: list[VarResult]) -> None:
    """A backward fed the cache of a forward with a named mistake (dropout's swapped mask) fails
    with it: point at that forward first, as makemore's blame does (the backward may be right)."""
    forward = [r for r in results if r.root_cause and not r.approx and r.name.startswith(f"{unit.forward}.")]
    cause = forward[0] if forward else None  # a forward whose values are right (in place) passes nothing on
    for r in results:
        if cause is not None and r.status == FAIL and not r.root_cause and r.name.split(".")[0] != unit.forward:
            r.inherited_from = cause.name
