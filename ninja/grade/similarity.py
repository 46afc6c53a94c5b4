"""`ninja grade --similarity pairs.csv`: pairs of submissions whose backward code is the same up to
names, comments, whitespace and line order, found as MOSS finds them (Schleimer, Wilkerson and
Aiken's winnowing) on a token stream normalized for what a copier changes.

1. Each submission's own code: its statements (Python's tokenizer: comments, blank lines and
   layout gone), less every statement the exercise's template holds (its forward pass, its
   TODOs), so what remains is the student's backward.
2. Normalized: the names the template and Python give (dprobs, counts, torch, sum, keepdim) stay,
   as do attributes and keyword names; every name the student made up (a helper, a loop index)
   becomes V; strings become S. Numbers and operators stay: `1 - h**2` and `1.0 - h*h` are
   honest differences of style, not of names.
3. Fingerprints: k-grams of each statement's tokens (never across statements, so reordering
   lines changes nothing), hashed, winnowed (the minimum of each window of w hashes).
4. Each fingerprint weighs log(N / the submissions holding it): what the exercise makes everyone
   write (the notebook's own lines) weighs little, and what more than COMMON of the class holds
   weighs nothing, as MOSS leaves out code common to many programs.
5. A pair's score: the weight of the fingerprints they share over the lighter one's total;
   flagged at SCORE or more, with MIN_SHARED fingerprints at least. Honest answers share some
   formulas; a copy shares the whole sequence of choices. Its matching statements are listed
   side by side.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import math
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

K, WINDOW = 4, 3  # tokens per k-gram; hashes per winnowing window
SCORE, MIN_SHARED = 0.9, 4
COMMON = 0.25  # a fingerprint in more than this share of the class (and 3 submissions) is common code
KEPT = set(dir(builtins)) | {"torch", "F", "np", "nn"}


@dataclass
class Statement:
    line: int
    text: str  # as the student wrote it (first line), comment stripped
    tokens: tuple[str, ...]


@dataclass
class Program:
    name: str  # the submission (a student)
    statements: list[Statement]
    prints: dict[int, list[int]] = field(default_factory=dict)  # fingerprint -> indexes of statements


@dataclass
class Pair:
    exercise: str
    a: str
    b: str
    score: float
    shared: int
    lines: list[tuple[int, str, int, str]]  # (line in a, its code, line in b, its code)


LAYOUT = (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)


def statements(source: str, keep: set[str]) -> list[Statement]:
    """The source's logical lines as normalized token tuples; [] when it does not tokenize."""
    found, current = [], []
    lines = source.splitlines()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in LAYOUT:
                continue
            if tok.type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
                current.append(tok)
            elif current:
                first = current[0].start[0]
                text = lines[first - 1].split("#")[0].strip() if first <= len(lines) else ""
                found.append(Statement(first, text, normalized(current, keep)))
                current = []
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return found


def normalized(tokens: list[tokenize.TokenInfo], keep: set[str]) -> tuple[str, ...]:
    """A statement's tokens with the student's own names as V: a name stays when the template or
    Python gives it, after a dot (an attribute) or before a lone = inside brackets (a keyword)."""
    out, depth = [], 0
    for k, tok in enumerate(tokens):
        if tok.type == tokenize.OP:
            depth += (tok.string in "([{") - (tok.string in ")]}")
            out.append(tok.string)
        elif tok.type == tokenize.STRING:
            out.append("S")
        elif tok.type == tokenize.NAME:
            after_dot = k > 0 and tokens[k - 1].string == "."
            keyword_argument = depth > 0 and k + 1 < len(tokens) and tokens[k + 1].string == "="
            given = tok.string in keep or keyword.iskeyword(tok.string)
            out.append(tok.string if given or after_dot or keyword_argument else "V")
        else:
            out.append(tok.string)
    return tuple(out)


def template_names(template: str) -> set[str]:
    """Every name the template uses: what a student cannot rename."""
    names = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(template).readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    names |= {f"d{name}" for name in names}  # the gradients the TODO lines name, and their forward's
    return names | KEPT


def fingerprint(tokens: tuple[str, ...]) -> list[int]:
    """Winnowed hashes of the statement's k-grams (a statement shorter than K is one gram)."""
    grams = [tokens[i : i + K] for i in range(max(1, len(tokens) - K + 1))]
    hashes = [int.from_bytes(hashlib.blake2b(" ".join(g).encode(), digest_size=8).digest(), "big") for g in grams]
    if len(hashes) <= WINDOW:
        return [min(hashes)]
    return sorted({min(hashes[i : i + WINDOW]) for i in range(len(hashes) - WINDOW + 1)})


def program(name: str, source: str, template: str, keep: set[str]) -> Program:
    """The submission's own statements (the template's left out) and their fingerprints."""
    given = {s.tokens for s in statements(template, keep)}
    own = [s for s in statements(source, keep) if s.tokens not in given]
    prints: dict[int, list[int]] = {}
    for k, statement in enumerate(own):
        for h in fingerprint(statement.tokens):
            prints.setdefault(h, []).append(k)
    return Program(name, own, prints)


def weights(programs: list[Program]) -> dict[int, float]:
    """Each fingerprint's weight: log(N / how many submissions hold it), as rare code says more
    than the lines everyone writes; 0 for what more than COMMON of the class holds."""
    seen = Counter(h for p in programs for h in p.prints)
    most = max(3, math.floor(COMMON * len(programs)))
    return {h: (math.log(len(programs) / count) if count <= most else 0.0) for h, count in seen.items()}


def score(a: Program, b: Program, weight: dict[int, float]) -> tuple[float, set[int]]:
    """The weight of what a and b share over the weight of the lighter of the two, and the shared."""
    shared = {h for h in set(a.prints) & set(b.prints) if weight[h] > 0}
    heavier = max(sum(weight[h] for h in a.prints), sum(weight[h] for h in b.prints))
    return (sum(weight[h] for h in shared) / heavier if heavier else 0.0), shared


def side_by_side(a: Program, b: Program, shared: set[int]) -> list[tuple[int, str, int, str]]:
    """The statements of a and b behind their shared fingerprints, paired in a's order."""
    pairs, used = [], set()
    for statement in a.statements:
        mine = {h for h in fingerprint(statement.tokens) if h in shared}
        if not mine:
            continue
        best = max(range(len(b.statements)), key=lambda j: len(mine & set(fingerprint(b.statements[j].tokens))))
        if best not in used and mine & set(fingerprint(b.statements[best].tokens)):
            used.add(best)
            other = b.statements[best]
            pairs.append((statement.line, statement.text, other.line, other.text))
    return pairs


def similar_pairs(exercise: str, sources: dict[str, str], template: str) -> list[Pair]:
    """Every flagged pair of one exercise's submissions, most similar first."""
    keep = template_names(template)
    programs = [program(name, text, template, keep) for name, text in sources.items()]
    weight = weights(programs)
    pairs = []
    for a, b in combinations(programs, 2):
        value, shared = score(a, b, weight)
        if value >= SCORE and len(shared) >= MIN_SHARED:
            lines = side_by_side(a, b, set(a.prints) & set(b.prints))  # every matching line, common ones too
            pairs.append(Pair(exercise, a.name, b.name, round(value, 3), len(shared), lines))
    return sorted(pairs, key=lambda p: -p.score)


def source_of(path: str) -> str | None:
    """A graded file's text as the parent reads submissions (no links, capped); a notebook's code
    cells joined; None when it cannot be read."""
    import json

    from ninja.grade import reading

    try:
        data = reading.read_capped(Path(path)).decode("utf-8", errors="replace")
    except (reading.Unreadable, OSError):
        return None
    if not path.lower().endswith(".ipynb"):
        return data
    try:
        cells = json.loads(data).get("cells", [])
        return "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    except (ValueError, AttributeError, TypeError):
        return None


def class_pairs(results, name_of, templates: dict[str, str]) -> list[Pair]:
    """Flagged pairs over a graded class, exercise by exercise: `name_of(result)` names the student,
    `templates` each exercise's template text."""
    by_exercise: dict[str, dict[str, str]] = {}
    for r in results:
        text = source_of(r.file) if r.file and r.exercise in templates else None
        if text is not None:
            by_exercise.setdefault(r.exercise, {})[name_of(r)] = text
    return [pair for exercise, sources in by_exercise.items()
            for pair in similar_pairs(exercise, sources, templates[exercise])]  # fmt: skip
