"""Inheritance across functions: a function that calls other functions of the learner's
(rnn_forward calls rnn_step_forward; FullyConnectedNet.loss calls affine_forward through
layer_utils; CaptioningRNN.loss calls the whole of rnn_layers.py) is called again on each case
with one of those functions, forward and backward together, replaced by ninja's reference, built
from that function's trusted torch forward and autograd. A result that fails as the learner's
code stands and passes with the reference in place inherits its failure from that function
(judge.inherit names it); the learner's own forward is also compared with the reference on the
arguments it gets, to say whether the forward or the backward is the wrong one."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType
from typing import Any

import numpy as np
import torch

from ninja.cs231n.cases import Unit, tensors


@dataclass(frozen=True)
class Callee:
    """A function (a forward and its backwards) a unit may call, from the exercise `exercise`;
    `aliases` are other names the learner's code calls it by (the staff's conv_forward_fast)."""

    exercise: str
    unit: Unit
    aliases: dict[str, str] | None = None  # alias -> the unit's name it stands for

    @property
    def name(self) -> str:
        return self.unit.forward


class ReferenceCache:
    """The reference's graph, looking like the learner's own cache from the same call: a learner's
    rnn_backward that reads its step caches (cache[0][0].shape) reads them as it would."""

    def __init__(self, t: dict[str, Any], result: torch.Tensor, mine: Any):
        self.t, self.result, self.mine = t, result, mine

    def __getitem__(self, key):
        return self.mine[key]

    def __iter__(self):
        return iter(self.mine)

    def __len__(self):
        return len(self.mine)

    def __getattr__(self, name):
        if name == "mine":
            raise AttributeError(name)
        return getattr(self.mine, name)


def parameter_names(unit: Unit) -> list[str]:
    return list(unit.cases(0, None)[0].inputs)


def reference_forward(unit: Unit, learner_forward: Callable | None, seen: dict) -> Callable:
    """The unit's forward as NumPy code calls it, on its trusted torch forward: (out, cache), a
    loss's (loss, dx), an LSTM step's (next_h, next_c, cache). `seen["differs"]` becomes True when
    the learner's own forward gives another out on the same arguments."""
    names = parameter_names(unit)

    def forward(*args, **kwargs):
        inputs = dict(zip(names, args)) | kwargs
        mine = learner_cache(learner_forward, copy.deepcopy(args), copy.deepcopy(kwargs), unit, inputs, seen)
        t = tensors(inputs, unit.wrt)
        result = unit.trusted(t, None)
        if unit.state:  # bn_param's running averages, as the learner's would be updated
            for value in inputs.values():
                if isinstance(value, dict):
                    value.update({k: v.numpy() for k, v in unit.state(inputs).items()})
        if unit.kind == "loss":
            (dx,) = torch.autograd.grad(result, [t[unit.wrt[0]]])
            return result.item(), dx.numpy()
        out, cache = result.detach().numpy(), ReferenceCache(t, result, mine)
        return (out[0], out[1], cache) if unit.call is not None and out.ndim == 3 and len(out) == 2 else (out, cache)

    return forward


def learner_cache(learner_forward, args, kwargs, unit: Unit, inputs: dict, seen: dict) -> Any:
    """The learner's own forward on the same arguments: its cache (None when it raises); whether
    its out differs from the reference's goes into `seen["differs"]`."""
    if learner_forward is None:
        return None
    try:
        mine = learner_forward(*args, **kwargs)
        with torch.no_grad():
            want = unit.trusted(tensors(inputs, ()), None).numpy()
        if unit.call is not None and isinstance(mine, tuple) and len(mine) == 3:  # an LSTM step
            got = np.stack([np.asarray(mine[0], dtype=np.float64), np.asarray(mine[1], dtype=np.float64)])
        else:
            got = np.asarray(mine[0] if isinstance(mine, tuple) else mine, dtype=np.float64)
        differs = got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-8)
        seen["differs"] = seen.get("differs", False) or differs
        return mine[-1] if isinstance(mine, tuple) else None
    except Exception:  # noqa: BLE001 (the learner's forward raising is a difference)
        seen["differs"] = True
        return None


def reference_backward(unit: Unit) -> Callable:
    def backward(*args):
        *upstream, cache = args
        dout = np.stack(upstream) if len(upstream) > 1 else upstream[0]
        leaves = [cache.t[w] for w in unit.wrt]
        grads = torch.autograd.grad(cache.result, leaves, torch.as_tensor(np.asarray(dout, dtype=np.float64)),
                                    retain_graph=True)  # fmt: skip
        values = tuple(g.numpy() for g in grads)
        return values if len(values) > 1 else values[0]

    return backward


def reference_functions(callee: Callee, learner_get: Callable[[str], Any], seen: dict) -> dict[str, Callable]:
    unit = callee.unit
    functions = {unit.forward: reference_forward(unit, learner_get(unit.forward), seen)}
    functions |= {b: reference_backward(unit) for b in unit.backward}
    for alias, name in (callee.aliases or {}).items():
        functions[alias] = functions[name]
    return functions


def reachable(roots: list[Any], folders: list[Path]) -> list[dict]:
    """The module dicts the learner's code reads its functions from: those of `roots` (functions,
    classes) and, through them, of every function defined in the learner's folders."""
    dicts, todo, seen = [], list(roots), set()
    while todo:
        item = todo.pop()
        if isinstance(item, type):
            todo += [v for v in vars(item).values() if isinstance(v, FunctionType)]
            continue
        if not isinstance(item, FunctionType) or not in_folders(item, folders):
            continue
        namespace = item.__globals__
        if id(namespace) in seen:
            continue
        seen.add(id(namespace))
        dicts.append(namespace)
        todo += [v for v in namespace.values() if isinstance(v, (FunctionType, type))]
    return dicts


def in_folders(function: FunctionType, folders: list[Path]) -> bool:
    try:
        return any(Path(function.__code__.co_filename).resolve().is_relative_to(f) for f in folders)
    except (OSError, ValueError):
        return False


def substituted(unit: Unit, learner, unit_cases, collect_case: Callable) -> dict[str, list[dict]]:
    """Each case called again with one callee (forward and backwards) replaced by the reference:
    {callee's name: what each case returned}, for the callees the learner's code reaches."""
    roots = [learner.get(unit.owner)] if unit.owner else [learner.get(n) for n in unit.names]
    namespaces = reachable([r for r in roots if r is not None], learner.folders())
    found: dict[str, list[dict]] = {}
    for callee in unit.calls:
        seen: dict[str, bool] = {}
        mine = lambda name: next((ns[name] for ns in namespaces if name in ns), None)  # noqa: E731
        functions = reference_functions(callee, mine, seen)
        if callee.name in unit.names:
            continue
        with replaced(namespaces, functions) as there:
            if not there:
                continue
            found[callee.name] = []
            for case in unit_cases:
                seen.clear()
                called = collect_case(unit, learner, case)
                called["callee_differs"] = bool(seen.get("differs"))
                found[callee.name].append(called)
    return found


@contextmanager
def replaced(namespaces: list[dict], functions: dict[str, Callable]) -> Iterator[bool]:
    """`functions` in place of the learner's of the same names, in every namespace that has one;
    yields whether any was there to replace."""
    saved = [(ns, name, ns[name]) for ns in namespaces for name in functions if name in ns]
    for ns, name, _ in saved:
        ns[name] = functions[name]
    try:
        yield bool(saved)
    finally:
        for ns, name, value in saved:
            ns[name] = value
