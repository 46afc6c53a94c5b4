"""The judge: what the learner's functions returned on each case (collected data) against the
trusted side (cases.expected), case by case, into one result per checked name. Pure: no calls
into the learner's code, no printing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ninja import collected, engine
from ninja.cs231n import cases, conventions
from ninja.cs231n.cases import Case, OwnKind, Unit, frozen, tensors
from ninja.cs231n.learner import learner_value
from ninja.cs231n.mistakes import (
    Diagnosis,
    diagnose,
    in_place,
    loops_in,
    offending_line,
    returns_initial,
    still_a_stub,
    vectorized_verdict,
)
from ninja.exercise import cached
from ninja.results import ERROR, FAIL, MISSING, PASS, LearnerError, VarResult

NUMERIC_ENTRIES = 2000  # --numeric perturbs each entry twice: larger inputs take too long


@dataclass(frozen=True)
class Trial:
    """What one call of the learner's code returned, by checked name, beside what it should."""

    got: dict[str, Any]
    expected: dict[str, torch.Tensor]
    mistakes: dict[Diagnosis, dict[str, Any]] = field(default_factory=dict)  # (kind, message) -> outputs
    diagnosis: dict[str, Diagnosis] = field(default_factory=dict)  # checked name -> found directly
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


def trials(unit: Unit, called: dict, case: Case, expected: dict, options: dict) -> list[Trial]:
    """What the learner returned on `case` (collect_case) beside the trusted values (expected)."""
    if isinstance(unit, OwnKind):
        return unit.trials(called, case, expected, options)
    before = frozen(case.inputs)
    out, second = learner_value(called["out"]), learner_value(called["second"])
    moved = called["moved"]
    if unit.kind in ("loss", "value"):
        return [loss_trial(unit, expected, out, second, moved)]
    out_name = f"{unit.forward}.out"
    trial = Trial({out_name: out}, dict(expected["values"]))
    trial.mistakes.update(expected["mistakes"])
    if unit.property_check and out is not None:
        found = unit.property_check(before, out, **options)
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
        trials.append(backward_trial(unit, called_back, name, trusted))
    return trials


def loss_trial(unit: Unit, expected, out, second, moved) -> Trial:
    """A function that returns (loss, gradient) (or gradients by name), or one value."""
    names = unit.checked
    got = [out]
    if unit.kind == "loss":
        got += [second.get(w) for w in unit.wrt] if isinstance(second, dict) else [second]
    trial = Trial(dict(zip(names, got, strict=False)), dict(expected["values"]))
    trial.mistakes.update(expected["mistakes"])
    if moved:
        trial.diagnosis.update(dict.fromkeys(names, in_place(unit.forward, moved)))
    return trial


def backward_trial(unit: Unit, called: dict, name, trusted: dict) -> Trial:
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
    return trial


def judge_unit(exercise, unit: Unit, got: dict, settings, cifar, error, source: str, cache) -> list[VarResult]:
    """One result per checked name of `unit` that the learner's files define: the worst case of
    each (collected data `got`). Every case is judged: one that raises hides nothing of the others.
    Under each convention value the unit allows (conventions.allowed), the one the answers agree
    with most is taken and named."""
    if not got["present"]:
        status = ERROR if error else MISSING
        return [VarResult(c, status, ()) for c in unit.checked]
    unit_cases = unit.cases(settings.seed, cifar)
    absent = absent_backwards(got) if exercise.defined_only else set()  # else: missing, as grading counts them
    kept = [c for c in unit.checked if c.partition(".")[0] not in absent]

    def run(values):
        return judge_cases(exercise, unit, got, unit_cases, values, settings, source, cache, kept)

    allowed, why = conventions.allowed(unit, exercise.conventions, source)
    runs = {conventions.key(v): run(v) for v in allowed}
    best = max(allowed, key=lambda v: passes(runs[conventions.key(v)][0]))  # the first (default) on a tie
    chosen, expected_at = runs[conventions.key(best)]
    if any(r.status != PASS for _, r, _ in chosen.values()):  # would another value explain a failure?
        others = {conventions.key(v): run(v)[0] for v in conventions.every(unit) if conventions.key(v) not in runs}
        others |= {k: judged for k, (judged, _) in runs.items()}
        conventions.name_mismatches(unit, chosen, best, others, why)
    if got.get("substituted"):
        inherit_from_callees(exercise, unit, chosen, got, unit_cases, expected_at, best, settings, cache)
    if exercise.numeric_check:
        for name, (i, result, trial) in chosen.items():
            numeric_beside(unit, name, result, trial, i, unit_cases, got, expected_at, best)
    merged = [chosen[c][1] if c in chosen else VarResult(c, MISSING, ()) for c in kept]
    conventions.note_seen(unit, best, why, merged)
    if unit.naive:
        vectorized_verdict(unit, loops_in(source, unit.names[0]), got["speed"], merged)
    for r in merged:
        if r.status == FAIL and r.diagnosis_kind:  # a named mistake: the root cause, at its line
            r.root_cause = True
        if r.diagnosis_kind and (r.root_cause or r.diagnosis_kind == "in_place"):  # in place: a pass, noted
            r.line = r.line or offending_line(source, r.name, r.diagnosis_kind)
        elif r.status == FAIL and r.line is None:  # no named mistake: hints point at the function's def
            r.line = offending_line(source, r.name, "")
    blame_the_forward(unit, merged)
    return merged


def passes(judged: dict) -> int:
    return sum(r.status == PASS for _, r, _ in judged.values())


def judge_cases(exercise, unit: Unit, got: dict, unit_cases, values, settings, source, cache, kept) -> tuple:
    """Under one set of convention values: by checked name, (case index, result, trial) of the
    worst case; and the trusted side of each case that ran."""
    options = conventions.options(unit, values)
    judged: dict[str, list[tuple[int, VarResult, Trial | None]]] = {c: [] for c in unit.checked}
    expected_at: dict[int, dict] = {}
    for i, (case, called) in enumerate(zip(unit_cases, got["cases"], strict=False)):
        raised = collected.error_of(called["error"])
        if raised:  # only what this case would produce: a network's dW4 comes from its deeper cases alone
            for c in unit.case_checked(case):
                judged[c].append((i, raised_result(c, case, raised, source, unit), None))
            continue
        expected_at[i] = trusted_side(exercise, unit, case, learner_value(called["out"]), settings, cache, options)
        for trial in trials(unit, called, case, expected_at[i], options):
            for name in trial.expected:
                result = judge(name, trial, case.label, exercise.rtol, exercise.atol, unit.overflow)
                judged[name].append((i, still_initial(unit, name, result, trial.got.get(name), source), trial))
    return {c: worst(judged[c]) for c in kept if judged[c]}, expected_at


def inherit_from_callees(exercise, unit: Unit, chosen, got, unit_cases, expected_at, values, settings, cache) -> None:
    """A result that fails (or raises) at its case and passes there once one of the learner's
    functions it calls is replaced by the reference inherits from that function (the forward when
    the learner's forward gives other values on the same arguments, else its backward)."""
    options = conventions.options(unit, values)
    callees = {c.name: c for c in unit.calls}
    for name, (i, result, _) in chosen.items():
        if result.status == PASS:
            continue
        for callee_name, runs in got["substituted"].items():
            called = runs[i] if i < len(runs) else None
            if called is None or called.get("error") or called.get("skipped"):
                continue
            case, out = unit_cases[i], learner_value(called["out"])
            expected = expected_at.get(i) or trusted_side(exercise, unit, case, out, settings, cache, options)
            found = [t for t in trials(unit, called, case, expected, options) if name in t.expected]
            if not found or judge(name, found[0], case.label, exercise.rtol, exercise.atol).status != PASS:
                continue
            callee = callees[callee_name]
            forward = called.get("callee_differs") or not callee.unit.backward
            culprit = callee.name if forward else callee.unit.backward[0]
            inherited(result, culprit, callee, culprit in exercise.functions)
            break


def inherited(result: VarResult, culprit: str, callee, same_exercise: bool) -> None:
    """`result` fails only through the learner's `culprit`: said so, no cause of its own."""
    result.inherited_from, result.root_cause = culprit, False
    result.diagnosis = result.diagnosis_kind = None
    words = f"this case passes with ninja's {'/'.join(callee.unit.names)} in place of yours"
    if not same_exercise:
        words += f"; `ninja check {callee.exercise} --only {callee.name}` checks yours"
    result.note = "; ".join(n for n in (words, result.note) if n)


def trusted_side(exercise, unit: Unit, case: Case, out, settings, cache, options) -> dict:
    if unit.reads_out:  # the trusted forward depends on this learner's out: nothing to share
        return cases.expected(unit, case, out, options)
    key = ("trusted", exercise.name, unit.forward, case.label, settings.seed, settings.data, tuple(options.items()))
    return cached(cache, key, lambda: cases.expected(unit, case, out, options))


def raised_result(name: str, case: Case, raised: LearnerError, source: str, unit: Unit) -> VarResult:
    """The forward raised on this case: its outputs and its backwards' are errors there, or missing
    when the function is still the skeleton (`out = None` ... `out.astype(...)`)."""
    if still_a_stub(source, unit.forward, raised):
        return VarResult(name, MISSING, (), note=f"{unit.forward} is still the skeleton ({raised.message})")
    return VarResult(name, ERROR, (), note=f"{case.label}: {short_where(raised)}: {raised.kind}: {raised.message}")


def still_initial(unit: Unit, name: str, result: VarResult, got, source: str) -> VarResult:
    """A failing result that is all zeros and whose variable still holds only the skeleton's initial
    value (`dW = np.zeros(W.shape)`, `loss, grads = 0, {}`) is missing, not wrong: nothing is written yet."""
    where = output_of(unit, name)
    value = engine.as_tensor(got)
    zeros = value is not None and value.numel() > 0 and not bool(value.bool().any())
    variable = returns_initial(source, *where) if where and zeros and result.status == FAIL else None
    if variable is None:
        return result
    return VarResult(
        name, MISSING, result.expected_shape, note=f"still the skeleton: {variable} keeps its initial value"
    )


def output_of(unit: Unit, name: str) -> tuple[str, int] | None:
    """(the learner's function, the position in what it returns) of a checked name."""
    function, _, output = name.partition(".")
    if unit.kind == "value" or output in ("out", "loss"):
        return function, 0
    if unit.kind == "loss":
        return (function, 1) if len(unit.wrt) == 1 else None  # TwoLayerNet's grads is one dict
    if function != unit.forward and output[1:] in unit.wrt:
        return function, unit.wrt.index(output[1:])
    return None


def absent_backwards(got: dict) -> set[str]:
    """Backward functions the learner's files do not define (collect_backward: absent)."""
    return {name for called in got["cases"] for name, back in called.get("backward", {}).items() if back["absent"]}


def numeric_beside(unit: Unit, name: str, result: VarResult, trial, i, unit_cases, got, expected_at, values) -> None:
    """--numeric: central differences at the case this result comes from (the failing one), or at
    the first case small enough when that one has too many entries to perturb one by one."""
    w = name.rpartition(".d")[2]
    if trial is None or unit.kind == "value" or ".d" not in name or w not in unit.wrt:
        return
    order = [i] + [j for j in range(len(unit_cases)) if j != i and j in expected_at]
    small = [j for j in order if w in unit_cases[j].inputs and np.size(unit_cases[j].inputs[w]) <= NUMERIC_ENTRIES]
    if not small:
        return
    j = small[0]
    case, called = unit_cases[j], got["cases"][j]
    dout = expected_at[j].get("dout", torch.tensor(1.0, dtype=torch.float64))
    t = tensors(frozen(case.inputs), unit.wrt)
    options = conventions.options(unit, values)
    numeric = cases.numeric(unit, t, learner_value(called["out"]), w, dout, options)
    value = trial.got.get(name) if j == i else learner_gradient(unit, name, called, j)
    result.numeric_relerr = rel_error(value, numeric)
    if j != i:
        why = f"numeric at {case.label}: {unit_cases[i].label} has {np.size(unit_cases[i].inputs[w]):,} entries"
        result.note = "; ".join(n for n in (result.note, why) if n)


def learner_gradient(unit: Unit, name: str, called: dict, j: int) -> Any:
    """The learner's `name` (function.dw) on a case as collected, for the numeric column."""
    function, _, grad = name.partition(".d")
    index = unit.wrt.index(grad)
    if unit.kind == "loss":
        second = learner_value(called["second"])
        return second.get(grad) if isinstance(second, dict) else second if index == 0 else None
    back = called["backward"].get(function, {})
    values = back.get("values") or []
    return learner_value(values[index]) if index < len(values) else None


def judge(name: str, trial: Trial, label: str, rtol: float, atol: float, overflow: str | None = None) -> VarResult:
    got, expected = trial.got.get(name), trial.expected[name]
    result = engine.compare(name, got, expected, rtol, atol)
    if result.note and result.note.startswith("wrong shape") and result.shape is not None:  # say whose is which
        result.note = f"wrong shape: yours is {result.shape}, {name} is {tuple(result.expected_shape)}"
    found = trial.diagnosis.get(name)
    # a mistake found directly fails even where these values pass (dropout's keep and drop swapped
    # on a large case: the next call is wrong); an argument modified in place passes with its note
    if found and result.status == PASS and found[0] != "in_place":
        result.status = FAIL
    if result.status == FAIL and (not found or found[0] == "in_place"):
        # wrong values: a catalogued mistake that reproduces them names the cause; writing into an
        # argument is then said beside it (it is not what made these values)
        named = diagnose(name, got, expected, trial, rtol, atol, overflow)
        if named and found:
            trial.note[name] = "; ".join(n for n in (trial.note.get(name), f"also: {found[1]}") if n)
        found = named or found
    if found:
        result.diagnosis_kind, result.diagnosis = found
    notes = [trial.note.get(name), result.note]
    if result.status != PASS:
        notes.insert(0, label)
    result.note = "; ".join(n for n in notes if n) or None
    return result


def worst(judged: list[tuple[int, VarResult, Any]]) -> tuple[int, VarResult, Any]:
    """The first case that does not pass (a named mistake first, then a failure before an error),
    else the pass with the largest relative error; a note counts the other cases that fail too."""
    failed = [j for j in judged if j[1].status != PASS]
    for j in failed:
        if j[1].diagnosis and not explains_every_case(j, failed):
            j[1].diagnosis = j[1].diagnosis_kind = None
    failed.sort(key=lambda j: (j[1].diagnosis is None, j[1].status != FAIL))
    chosen = failed[0] if failed else max(judged, key=lambda j: j[1].relerr or 0.0)
    if len(failed) > 1 and chosen[1].status != MISSING:
        others = f"{len(failed)} of {len(judged)} cases fail"
        chosen[1].note = "; ".join(n for n in (chosen[1].note, others) if n)
    return chosen


def explains_every_case(j, failed) -> bool:
    """A catalogued mistake found at one case is the cause only if it reproduces the learner's
    values at every other failing case too (on a case where it barely changes anything, a small
    error of another kind can look like it)."""
    result, trial = j[1], j[2]
    named = (result.diagnosis_kind, result.diagnosis)
    if trial is None or named not in trial.mistakes:
        return True  # found directly (dropout's mask, in place), not from the catalogue
    for _, other, other_trial in failed:
        produced = other_trial.mistakes.get(named, {}) if other_trial is not None and other.status == FAIL else {}
        if result.name in produced:
            made = torch.as_tensor(produced[result.name])
            if engine.compare(result.name, other_trial.got.get(result.name), made).status != PASS:
                return False
    return True


def blame_the_forward(unit: Unit, results: list[VarResult]) -> None:
    """A backward fed the cache of a forward with a named mistake (dropout's swapped mask) fails
    with it: point at that forward first, as makemore's blame does (the backward may be right)."""
    forward = [r for r in results if r.root_cause and not r.approx and r.name.startswith(f"{unit.forward}.")]
    cause = forward[0] if forward else None  # a forward whose values are right (in place) passes nothing on
    for r in results:
        if cause is not None and r.status == FAIL and not r.root_cause and r.name.split(".")[0] != unit.forward:
            r.inherited_from = cause.name
