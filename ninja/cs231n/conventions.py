"""CS231n's conventions by year: which value of each Convention a unit is judged under. Given with
--convention NAME=VALUE, else read from the learner's own file (a docstring, a skeleton line),
else, for a convention marked `either`, whichever value the learner's answers agree with most;
a result that follows another value than the rest is named as such."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ninja.cs231n.cases import Convention, Unit
from ninja.exercise import OptionError
from ninja.results import PASS, VarResult

Values = dict[str, str]  # convention name -> value


class UnknownConvention(OptionError):
    """--convention names a convention or a value no exercise has."""


def prose(source: str) -> str:
    """A file's words as one lowercase line: comment marks, emphasis and line wraps gone, so that
    a skeleton note wrapped as "a factor #\n # of 0.5" reads "a factor of 0.5"."""
    return re.sub(r"[#*`\s]+", " ", source).lower()


def function_text(source: str, name: str) -> str:
    """The text of `def name` or `class name` up to the next def or class at its indentation (its
    docstring, its comments); the whole file when it has neither."""
    found = re.search(rf"^([ \t]*)(?:def|class) {re.escape(name)}\b.*?(?=^\1(?:def|class) |\Z)", source, re.M | re.S)
    return found[0] if found else source


def read_first(text: str, patterns: Sequence[tuple[str, str]]) -> str | None:
    """The one value whose patterns match `text` (prose); None when none does, or several values do."""
    said = {value for value, pattern in patterns if re.search(pattern, text)}
    return said.pop() if len(said) == 1 else None


def key(values: Values) -> tuple:
    return tuple(sorted(values.items()))


def options(unit: Unit, values: Values) -> dict[str, Any]:
    """The trusted forward's keyword arguments for these values."""
    found: dict[str, Any] = {}
    for convention in unit.conventions:
        found |= convention.options(values.get(convention.name, convention.default))
    return found


def every(unit: Unit) -> list[Values]:
    """Every combination of the unit's convention values, defaults first."""
    names = [c.name for c in unit.conventions]
    ordered = [[c.default, *(v for v in c.values if v != c.default)] for c in unit.conventions]
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*ordered)]


def allowed(unit: Unit, given: Mapping[str, str], source: str) -> tuple[list[Values], dict[str, str]]:
    """The values `unit` may be judged under, and for each convention why (for the messages)."""
    per_convention, why = [], {}
    for convention in unit.conventions:
        read = convention.read(source) if convention.read else None
        if convention.name in given:
            per_convention.append([given[convention.name]])
            why[convention.name] = "--convention asks for"
        elif read is not None:
            per_convention.append([read])
            why[convention.name] = "your file says"
        elif convention.either:
            per_convention.append([convention.default, *(v for v in convention.values if v != convention.default)])
            why[convention.name] = "your other results follow"
        else:
            per_convention.append([convention.default])
            why[convention.name] = "this exercise uses"
    names = [c.name for c in unit.conventions]
    return [dict(zip(names, c, strict=True)) for c in itertools.product(*per_convention)], why


def name_mismatches(unit: Unit, chosen: dict, best: Values, others: dict[tuple, dict], why: dict[str, str]) -> None:
    """A result that fails under the chosen values but passes under another convention value:
    that is its cause (0.5 * reg in the loss, 2 * reg * W in the gradient)."""
    forward_fails = any(r.status != PASS for n, (_, r, _) in chosen.items() if n.startswith(f"{unit.forward}."))
    for name, (_, result, _) in chosen.items():
        if result.status == PASS or (forward_fails and not name.startswith(f"{unit.forward}.")):
            continue  # a backward fed a failing forward's cache: the forward is named (blame_the_forward)
        for values_key, judged in others.items():
            values = dict(values_key)
            if values == best or name not in judged or judged[name][1].status != PASS:
                continue
            differ = [c for c in unit.conventions if values.get(c.name) != best.get(c.name)]
            switch = " ".join(f"--convention {c.name}={values[c.name]}" for c in differ)
            if result.diagnosis:  # a cause found directly (keep and drop swapped) stays first
                result.diagnosis += f"; it would pass with {switch}, if that is your skeleton's convention"
                break
            words = "; ".join(
                f"{c.name} convention: this matches {c.words(values[c.name])}, but {why[c.name]} "
                f"{c.words(best[c.name])}"
                for c in differ
            )
            result.diagnosis_kind, result.diagnosis = differ[0].name, words
            break


def note_seen(unit: Unit, best: Values, why: dict[str, str], results: list[VarResult]) -> None:
    """Say which value a unit was judged under when it is not the usual one."""
    seen = [c for c in unit.conventions if best.get(c.name, c.default) != c.default]
    if not seen or not results:
        return
    words = "; ".join(f"{c.name}: {c.words(best[c.name])} ({source_of(why[c.name])})" for c in seen)
    results[0].note = "; ".join(n for n in (results[0].note, words) if n)


def source_of(reason: str) -> str:
    return {
        "--convention asks for": "--convention",
        "your file says": "read from your file",
        "your other results follow": "seen in your answers",
    }.get(reason, reason)


def parse(given: list[str] | None, known: list[Convention]) -> dict[str, str]:
    """--convention reg=0.5 --convention dropout=drop, checked against the conventions there are."""
    found: dict[str, str] = {}
    by_name: dict[str, set[str]] = {}
    for convention in known:
        by_name.setdefault(convention.name, set()).update(convention.values)
    listing = "; ".join(f"{n}={'|'.join(sorted(v))}" for n, v in sorted(by_name.items()))
    for item in given or []:
        name, sep, value = item.partition("=")
        name, value = name.strip().lower(), value.strip().lower()
        if not sep or name not in by_name or value not in by_name[name]:
            raise UnknownConvention(f"--convention {item!r}: expected NAME=VALUE, one of {listing or 'none'}")
        found[name] = value
    return found
