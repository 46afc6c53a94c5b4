"""The cases: what a unit is (the functions the learner writes as one piece, the seeded calls that
check them), and the trusted side of each case: the float64 torch forward, its autograd gradients,
what each named mistake produces, the dout fed to a backward, central differences."""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ninja.cs231n.mistakes import Diagnosis, Inputs, Mistake

H = 1e-5  # CS231n's step for central differences


def rng_for(seed: int, unit: str) -> np.random.Generator:
    return np.random.default_rng([seed, sum(map(ord, unit))])


@dataclass(frozen=True)
class Case:
    """One seeded call: a label shown when it fails, and the arguments by parameter name."""

    label: str
    inputs: Inputs
    backward: bool = True  # batchnorm's test mode has no backward
    timed: bool = False  # the case on which vectorized code is timed against the naive


@dataclass(frozen=True)
class Convention:
    """A rule CS231n's skeletons changed over the years, which the trusted forward follows:
    `values` maps each value (what --convention NAME=VALUE names) to the trusted forward's options
    and how it reads to a person. `read(source)` finds the value in the learner's file (a
    docstring, a skeleton line), None where the file does not say; then, when `either`, any value
    the learner's answers agree on is accepted (and named), else `default` holds."""

    name: str
    values: Mapping[str, tuple[Mapping[str, Any], str]]
    default: str
    read: Callable[[str], str | None] | None = None
    either: bool = False

    def options(self, value: str) -> Mapping[str, Any]:
        return self.values[value][0]

    def words(self, value: str) -> str:
        return self.values[value][1]


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
    conventions: tuple[Convention, ...] = ()  # what `trusted` (and property_check) take as options
    paired: Mapping[str, str] = field(default_factory=dict)  # backward -> the forward whose cache it takes
    calls: tuple[Any, ...] = ()  # inherit.Callee: the learner's functions it calls, deepest first

    @property
    def names(self) -> tuple[str, ...]:
        return (self.forward, *self.backward)

    def collecting(self, given: Mapping[str, str]) -> Unit:
        """The unit as collect calls the learner's code under the --convention values `given`
        (a network's constructor arguments depend on them; most units are called the same way)."""
        return self

    def case_checked(self, case: Case) -> tuple[str, ...]:
        """The checked names `case` produces (a network's depend on its layers)."""
        return self.checked

    @property
    def checked(self) -> tuple[str, ...]:
        if self.kind == "loss":
            return (f"{self.forward}.loss", *(f"{self.forward}.d{w}" for w in self.wrt))
        if self.kind == "value":
            return (f"{self.forward}.{self.output}",)
        state = ("running_mean", "running_var") if self.state else ()
        forward = tuple(f"{self.forward}.{k}" for k in ("out", *state))
        return forward + tuple(f"{b}.d{w}" for b in self.backward for w in self.wrt)


class OwnKind:
    """Mixed into a Unit subclass of its own kind (optim's rules called step after step, an LSTM
    step's two outputs): its methods replace collect_case, expected and trials for that unit."""

    def collect_case(self, learner, case: Case) -> dict:
        raise NotImplementedError

    def expected(self, case: Case, out, options: Mapping[str, Any]) -> dict:
        raise NotImplementedError

    def trials(self, called: dict, case: Case, expected: dict, options: dict) -> list:
        raise NotImplementedError


def frozen(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(inputs))


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


def dout_for(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient fed to a backward on `case`: the same in collect and in judge."""
    return np.random.default_rng(zlib.crc32(case.label.encode())).standard_normal(shape)


def expected(unit: Unit, case: Case, out, options: Mapping[str, Any] | None = None) -> dict:
    """The trusted side of one case, the same for every learner (unless `reads_out`): by checked
    name, the trusted values and what each named mistake produces; the dout fed to backwards.
    `options` are the conventions' (reg_factor=0.5, keep=False)."""
    options = dict(options or {})
    if isinstance(unit, OwnKind):
        return unit.expected(case, out, options)
    before = frozen(case.inputs)
    t = tensors(before, unit.wrt)
    result = unit.trusted(t, out, **options)
    if unit.kind in ("loss", "value"):
        values = [result.detach()]
        if unit.kind == "loss":
            values += torch.autograd.grad(result, [t[w] for w in unit.wrt])
        names = list(unit.checked)
        mistakes = mistakes_for(unit, before, out, None, names, options)
        return {"values": dict(zip(names, values, strict=True)), "mistakes": mistakes}
    out_name = f"{unit.forward}.out"
    dout = torch.from_numpy(dout_for(case, tuple(result.shape)))
    expected = {
        "values": {out_name: result.detach()},
        "mistakes": mistakes_for(unit, before, out, None, [out_name], options),
        "state": unit.state(before) if unit.state else {},
        "dout": dout,
        "backward": {},
    }
    if case.backward:
        grads = torch.autograd.grad(result, [t[w] for w in unit.wrt], dout)
        for name in unit.backward:
            names = [f"{name}.d{w}" for w in unit.wrt]
            expected["backward"][name] = {
                "values": dict(zip(names, grads, strict=False)),
                "mistakes": mistakes_for(unit, before, out, dout.numpy(), names, options),
            }
    return expected


def mistakes_for(unit: Unit, before: Inputs, out, dout, names, options=None) -> dict[Diagnosis, dict[str, Any]]:
    """(kind, message) -> what that mistake produces, by checked name."""
    found = {}
    for mistake in unit.mistakes:
        named = (mistake.kind, mistake.message)
        if mistake.produces is not None:
            produced = mistake.produces(before, dout)
            found[named] = {n: produced[n.rpartition(".")[2]] for n in names if n.rpartition(".")[2] in produced}
            continue
        t = tensors(before, unit.wrt)
        result = unit.trusted(t, out, **{**(options or {}), **mistake.options})
        if unit.kind == "loss":
            grads = torch.autograd.grad(result, [t[w] for w in unit.wrt])
            found[named] = dict(zip(names, [result.detach(), *grads], strict=True))
        elif dout is None:
            found[named] = {names[0]: result.detach()}
        else:
            grads = torch.autograd.grad(result, [t[w] for w in unit.wrt], torch.as_tensor(dout))
            found[named] = dict(zip(names, grads, strict=False))
    return found


def numeric(unit: Unit, t: dict, out, name: str, dout: torch.Tensor, options=None) -> torch.Tensor:
    return central_differences(lambda t2: unit.trusted(t2, out, **(options or {})).detach(), t, name, dout)


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
