"""What a course's student install leaves out: hint text above the course's level, and, below
level 3 (the rule), the named-mistake formulas, which hold the right formula with one term changed.

The copy's Python files are edited in place, by the positions of their string literals and
functions (ast), so everything else in them stays byte for byte: a literal that is part of a hint
above the level becomes "", and `ninja hint` then stops at the level the course allows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

MIN_PIECE = 20  # shorter literals (names, units) are never taken for a piece of a hint
# the named mistakes of exercises 2 and 3: each is the right formula with one term changed
MISTAKE_FUNCTIONS = {"ninja/makemore/mistakes.py": ("cross_entropy", "batchnorm")}


def hint_texts(exercises: Iterable, above: int) -> tuple[list[str], list[str]]:
    """(every hint text above level `above`, every text at or below it), of every exercise."""
    removed: list[str] = []
    kept: list[str] = []
    for exercise in exercises:
        for words in exercise.hints.values():
            for level, text in enumerate(words, 1):
                (removed if level > above else kept).append(text)
    return removed, kept


def literal_pieces(node: ast.AST) -> list[str]:
    """A string literal's text; an f-string's constant parts, each a piece of its own."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return []


def offsets(source: bytes) -> list[int]:
    """The byte offset of each line's start (ast's columns count UTF-8 bytes)."""
    starts, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def span(node: ast.expr | ast.stmt, starts: list[int]) -> tuple[int, int]:
    assert node.end_lineno is not None and node.end_col_offset is not None  # parsed source: always set
    return starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset


def piece_of(text: str, removed: list[str], kept: list[str]) -> bool:
    """A literal long enough to tell, inside a removed hint and inside no kept one."""
    return len(text) >= MIN_PIECE and any(text in r for r in removed) and not any(text in k for k in kept)


def hint_spans(tree: ast.AST, starts: list[int], removed: list[str], kept: list[str]) -> list[tuple[int, int, bytes]]:
    """Where a literal is a piece of a removed hint (and of no kept one): replaced by ""."""
    spans = []
    inside_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if id(node) in inside_fstrings:
            continue
        if isinstance(node, ast.expr) and any(piece_of(t.strip(), removed, kept) for t in literal_pieces(node)):
            spans.append((*span(node, starts), b'""'))
    return spans


def mistake_spans(tree: ast.Module, starts: list[int], functions: tuple[str, ...]) -> list[tuple[int, int, bytes]]:
    """The bodies of the named-mistake functions, now `return []`."""
    spans = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            spans.append((span(node.body[0], starts)[0], span(node.body[-1], starts)[1], b"return []"))
    return spans


def replace(source: bytes, spans: list[tuple[int, int, bytes]]) -> bytes:
    """Each span replaced, outermost first, last first (so the earlier offsets hold)."""
    chosen: list[tuple[int, int, bytes]] = []
    for start, end, text in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, end, text))
    for start, end, text in reversed(chosen):
        source = source[:start] + text + source[end:]
    return source


def strip_file(path: Path, removed: list[str], kept: list[str], functions: tuple[str, ...] = ()) -> bool:
    """Blank the hint pieces in one Python file (and empty `functions`); whether it changed."""
    source = path.read_bytes()
    tree = ast.parse(source)
    starts = offsets(source)
    spans = hint_spans(tree, starts, removed, kept) if removed else []
    spans += mistake_spans(tree, starts, functions) if functions else []
    if spans:
        path.write_bytes(replace(source, spans))
        ast.parse(path.read_bytes())  # still Python
    return bool(spans)


def strip_package(package_root: Path, exercises: Iterable, level: int) -> list[Path]:
    """Edit the copy under `package_root` (holding ninja/) for a course whose hints stop at
    `level`; returns the files changed."""
    removed, kept = hint_texts(exercises, level)
    changed = []
    for path in sorted(package_root.rglob("*.py")):
        relative = path.relative_to(package_root).as_posix()
        if strip_file(path, removed, kept, MISTAKE_FUNCTIONS.get(relative, ()) if level < 3 else ()):
            changed.append(path)
    return changed


def strip_files(paths: Iterable[Path], exercises: Iterable, level: int) -> list[Path]:
    """The same for a course's own exercise files, handed out beside the package."""
    removed, kept = hint_texts(exercises, level)
    return [path for path in paths if path.suffix == ".py" and strip_file(path, removed, kept)]
