"""Functions longer than the house allows (~60 lines) whose docstring gives no reason.

    python scripts/long_functions.py [PATH ...] [--limit 60] [--all] [--whole]

Counted: the body, docstring included, not the signature (a command's options are declarations,
one a line; --whole counts from the def). A function may run longer when its docstring says why,
in a sentence starting "Long:" (a table of cases, a dispatcher kept in one piece on purpose).
--all lists every long function, reasons or not, longest first. Exit 1 when one has no reason,
so CI can run it."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REASON = "Long:"


def functions(path: Path, whole: bool = False):
    """(qualified name, lines, has a reason) for every function in the file, nested ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def walk(node, prefix: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                first = child.lineno if whole else child.body[0].lineno
                doc = ast.get_docstring(child) or ""
                yield name, child.end_lineno - first + 1, REASON in doc, child.lineno
                yield from walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")

    yield from walk(tree, "")


def long_functions(paths, limit: int, whole: bool = False):
    found = []
    for root in paths:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            for name, length, reason, line in functions(path, whole):
                if length > limit:
                    found.append((length, f"{path}:{line}", name, reason))
    return sorted(found, reverse=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("ninja")])
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--all", action="store_true", help="also those whose docstring gives a reason")
    parser.add_argument("--whole", action="store_true", help="count the signature too")
    args = parser.parse_args(argv)
    found = long_functions(args.paths, args.limit, args.whole)
    unexplained = [f for f in found if not f[3]]
    for length, where, name, reason in found if args.all else unexplained:
        print(f"{length:4d} {where} {name}{'  (reason given)' if reason else ''}")
    print(f"{len(unexplained)} over {args.limit} lines without a reason; {len(found) - len(unexplained)} with one")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
