"""A learner's own tensors, found by the role they play in the model's forward.

A learner's own script or notebook may have its own parameters and inputs (other sizes, seed,
batch size, dtype), under the model's names or their own. A model may bring a finder of its own
that knows its layers (makemore's finds C, W1, ... by what they do: ninja/makemore/roles.py); the
generic finder here tries the model's own names first, then the learner's tensors of the right
kind in each role, and keeps a set when the trusted forward runs on it and the learner's file holds
most of its steps. Either way the learner's intermediates are then matched by value to the trusted
forward on those tensors, which names their gradients (dhpreact_bn for a learner's hpreact_bn).
Runs where the learner's file ran (a grading child too): tensors in, plain names out.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ninja.settings import Settings


@dataclass
class Roles:
    """role -> the learner's name: parameters, inputs, and the intermediates we could match."""

    names: dict[str, str] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # the parameters and inputs


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to float32 rounding."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().double(), b.detach().double()
    scale = max(b.abs().max().item() if b.numel() else 0.0, 1e-12)
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5 * scale))


def match(value: torch.Tensor, tensors: Mapping[str, torch.Tensor], prefer: str, besides=()) -> str | None:
    """The learner's tensor that equals `value`: the one named `prefer` first; never one of
    `besides` (the input of the step: std * bnraw + mean is hprebn again)."""
    if prefer in tensors and prefer not in besides and same(tensors[prefer], value):
        return prefer
    return next((k for k, t in tensors.items() if k not in besides and t.is_floating_point() and same(t, value)), None)


def learner_tensors(namespace: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in namespace.items() if torch.is_tensor(v) and not k.startswith("_")}


MAX_TRIES = 32  # assignments of the learner's tensors to roles tried, at most (each runs the forward)


def by_name(namespace: Mapping[str, Any], model, forward_names) -> Roles | None:
    """The model's parameters and inputs among the learner's tensors: under the model's own names
    first, else under theirs, found by what they do (the trusted forward runs on them and the
    learner's file holds most of its steps by value). None when there is no such set."""
    tensors = learner_tensors(namespace)
    wanted = (*model.parameter_names, *model.input_names)
    steps = [k for k in forward_names if k != "loss"]
    for names in assignments(tensors, wanted, model):
        own = {role: tensors[name] for role, name in names.items()}
        try:
            values = model.values(None, own)
        except Exception:  # noqa: BLE001 (shapes that do not fit the forward: not the model's tensors)
            continue
        if not plausible(values, tensors, steps[:1]):
            continue
        roles = Roles(dict(names), own)
        name_intermediates(roles, tensors, forward_names, model)
        found = [k for k in steps if k in roles.names]
        if all(names[k] == k for k in wanted) or len(found) * 2 >= len(steps):
            return roles
    return None


def plausible(values: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor], first=()) -> bool:
    """A cheap test before matching every step: the trusted forward on a try of the learner's
    tensors gives a finite loss, and the learner's file holds that loss (where it has a number at
    all) or else the forward's first step."""
    loss = values.get("loss", torch.tensor(float("nan")))
    if not torch.isfinite(loss).all():
        return False
    scalars = [t for t in tensors.values() if t.is_floating_point() and t.numel() == 1]
    wanted = [loss] if scalars else [values[k] for k in first if k in values]
    held = scalars or [t for t in tensors.values() if t.is_floating_point()]
    return all(any(same(t, value) for t in held) for value in wanted)


def assignments(tensors: Mapping[str, torch.Tensor], wanted, model):
    """Role -> the learner's name, to try in turn: the model's own names first, then ways to give
    each role a distinct tensor of the package's kind and number of dims, whose sizes agree with
    each other as the package's do (a learner's n_embd 32 in every place the package has 16): no
    d<name> first, then the names most like the role's, then those the file defines first; at most
    MAX_TRIES."""
    if all(k in tensors for k in wanted):
        yield {k: k for k in wanted}
    two, three = (model.package_tensors(Settings(batch_size=n)) for n in (2, 3))
    order = {k: i for i, k in enumerate(tensors)}
    candidates = [
        sorted(
            (k for k, t in tensors.items() if fits(t, two[role])),
            key=lambda k: (k[:1] == "d", -likeness(k, role), order[k]),
        )
        for role in wanted
    ]
    dims = [list(zip(two[role].shape, three[role].shape)) for role in wanted]  # a size per dim at batch 2 and 3

    def agrees(i: int, name: str, sizes: dict) -> dict | None:
        """`sizes` (the package's size of a dim at batch 2 and 3 -> the learner's) with role i's
        tensor `name` added, or None where its sizes disagree with the roles taken before it."""
        more = dict(sizes)
        for dim, size in zip(dims[i], tensors[name].shape):
            if more.setdefault(dim, size) != size:
                return None
        return more

    for combination in itertools.islice(distinct(candidates, agrees), MAX_TRIES):
        if any(k != role for k, role in zip(combination, wanted)):
            yield dict(zip(wanted, combination))


def likeness(name: str, role: str) -> float:
    """How alike the learner's name and the role's look, letters and digits only (ln_1_weight is
    more like ln1w than ln_2_weight is): which candidate to try first; the values decide."""
    plain = lambda text: "".join(c for c in text.lower() if c.isalnum())  # noqa: E731
    ratio = difflib.SequenceMatcher(None, plain(name), plain(role)).ratio()
    return round(ratio, 2) if ratio >= 0.5 else 0.0  # a letter or two in common says nothing


def distinct(candidates: list[list[str]], agrees, taken: tuple[str, ...] = (), sizes: dict | None = None):
    """Every choice of one name per list, no name twice, in the lists' order, each one agreeing
    (`agrees(i, name, sizes)`) with those before it."""
    if len(taken) == len(candidates):
        yield taken
        return
    for name in candidates[len(taken)]:
        more = None if name in taken else agrees(len(taken), name, sizes or {})
        if more is not None:
            yield from distinct(candidates, agrees, (*taken, name), more)


def fits(t: torch.Tensor, package: torch.Tensor) -> bool:
    """t can play the role of the package's tensor: its kind (floating, integer, bool) and its number
    of dims; its sizes are the learner's own (assignments checks that they agree)."""
    return (
        t.dim() == package.dim()
        and t.is_floating_point() == package.is_floating_point()
        and ((t.dtype == torch.bool) == (package.dtype == torch.bool))
    )


def name_intermediates(roles: Roles, tensors: Mapping[str, torch.Tensor], forward_names, model) -> None:
    """The learner's name for each intermediate of the trusted forward on their tensors."""
    floats = {k: v for k, v in tensors.items() if v.is_floating_point() and v.numel() < 10_000_000}
    taken = set(roles.names.values())
    for name, value in model.values(None, roles.tensors).items():
        if name in forward_names and name != "loss":
            found = match(value.detach(), {k: v for k, v in floats.items() if k not in taken or k == name}, name)
            if found:
                roles.names.setdefault(name, found)
                taken.add(found)


def is_the_packages(tensors: Mapping[str, torch.Tensor], package: Mapping[str, torch.Tensor]) -> bool:
    """The learner's tensors are the package's (the template's)."""
    return all(
        k in tensors and tensors[k].shape == v.shape and torch.equal(tensors[k].to(v.dtype), v)
        for k, v in package.items()
    )
