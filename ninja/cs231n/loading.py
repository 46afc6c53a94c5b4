"""Loading a learner's CS231n file as the assignment's notebook would: the assignment folder (the
one holding cs231n/) on the import path, the file inside the cs231n package whether or not its
folders have __init__.py, and `from past.builtins import xrange` working with nothing installed.
What still fails is told in CS231n's terms: Python 2 code with its line, a NumPy-version change,
a module to install into the environment ninja runs in."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ninja import runner
from ninja.cs231n import standins
from ninja.results import LearnerError

PACKAGE = "cs231n"


def layout(path: Path) -> tuple[Path, str | None] | None:
    """(the assignment folder, the file's package) for a file inside a cs231n/ tree:
    assignment2/cs231n/classifiers/fc_net.py is in package cs231n.classifiers, imported from
    assignment2/, with or without __init__.py files (Python reads such folders as namespace
    packages). None for a file outside one: the runner's own rule (__init__.py files) applies."""
    folder = Path(path).resolve().parent
    for depth, current in enumerate((folder, folder.parent)):  # cs231n/ itself or cs231n/classifiers/
        if current.name == PACKAGE:
            return current.parent, ".".join([PACKAGE, folder.name][: depth + 1])
    return None


# files only one assignment's cs231n/ folder holds (2016-2025)
ASSIGNMENT_FILES = {
    1: ("classifiers/k_nearest_neighbor.py", "classifiers/linear_svm.py", "classifiers/softmax.py"),
    2: ("classifiers/cnn.py", "fast_layers.py", "im2col.py"),
    3: ("rnn_layers.py", "classifiers/rnn.py", "captioning_solver.py"),
}


def assignment_of(path: Path | str) -> int | None:
    """Which CS231n assignment a learner's file comes from: a folder named assignmentN above it,
    else the files only that assignment's cs231n/ holds; None where neither says."""
    path = Path(path).resolve()
    for folder in path.parents:
        found = re.fullmatch(r"assignment[_ -]?(\d)", folder.name.lower())
        if found:
            return int(found[1])
    where = layout(path)
    if where is None:
        return None
    package = where[0] / PACKAGE
    held = [n for n, files in ASSIGNMENT_FILES.items() if any((package / f).is_file() for f in files)]
    return held[0] if len(held) == 1 else None


def run(path: Path) -> runner.LearnerRun:
    """The learner's file run as CS231n's notebook imports it; a failure explained (explain)."""
    with standins.past_builtins():
        run = runner.run_file(path, layout=layout(path))
    run.error = explain(run.error, run.path)
    return run


# ---------------------------------------------------------------- what a failure means

# modules CS231n's files import that ninja's environment may lack: module -> what it is for
INSTALL = {
    "matplotlib": "CS231n's neural_net.py and the notebooks plot with it",
    "scipy": "CS231n's data_utils and gradient checks use it",
    "imageio": "CS231n's image_utils read images with it",
    "future": "the package behind `from future import ...`",
    "six": "Python 2/3 helpers some CS231n files import",
}

PYTHON2_SYNTAX = (
    ("Missing parentheses in call to 'print'", "print is a function in Python 3: print(...)"),
    ("Missing parentheses in call to 'exec'", "exec is a function in Python 3: exec(...)"),
    ("multiple exception types must be parenthesized", "Python 3 writes `except Error as e:`"),
    ("leading zeros in decimal integer literals", "Python 3 writes octal as 0o777"),
    (
        "inconsistent use of tabs and spaces",
        "Python 2 read a tab as 8 columns and let tabs and spaces mix in one block; Python 3 refuses: indent "
        "with spaces only (your editor's 'convert indentation to spaces')",
    ),
)
PYTHON2_NAMES = {
    "xrange": "range",
    "raw_input": "input",
    "unicode": "str",
    "basestring": "str",
    "long": "int",
    "unichr": "chr",
    "reduce": "functools.reduce",
    "cPickle": "pickle",
    "iteritems": "items",
    "itervalues": "values",
    "iterkeys": "keys",
    "has_key": "the `in` operator",
}
# what a size computed with Python 3's `/` (a float) makes NumPy and Python say
FLOAT_FOR_INT = (
    "'float' object cannot be interpreted as an integer",
    "Cannot cast array data from dtype('float64') to dtype('int64')",
    "arrays used as indices must be of integer (or boolean) type",
    "slice indices must be integers",
)
# NumPy names that are gone: name -> (the NumPy version that removed it, what to write instead)
NUMPY_REMOVED = {
    "float": ("1.24", "float or np.float64"),
    "int": ("1.24", "int or np.int64"),
    "bool": ("1.24", "bool or np.bool_"),
    "object": ("1.24", "object"),
    "str": ("1.24", "str"),
    "long": ("1.24", "int"),
    "unicode": ("1.24", "str"),
    "complex": ("1.24", "complex"),
    "asscalar": ("1.23", "a.item()"),
    "float_": ("2.0", "np.float64"),
    "complex_": ("2.0", "np.complex128"),
    "string_": ("2.0", "np.bytes_"),
    "unicode_": ("2.0", "np.str_"),
    "Inf": ("2.0", "np.inf"),
    "Infinity": ("2.0", "np.inf"),
    "infty": ("2.0", "np.inf"),
    "NaN": ("2.0", "np.nan"),
    "NAN": ("2.0", "np.nan"),
    "product": ("2.0", "np.prod"),
    "cumproduct": ("2.0", "np.cumprod"),
    "alltrue": ("2.0", "np.all"),
    "sometrue": ("2.0", "np.any"),
    "round_": ("2.0", "np.round"),
    "mat": ("2.0", "np.asmatrix (or plain arrays)"),
    "in1d": ("2.4", "np.isin"),
    "row_stack": ("2.4", "np.vstack"),
    "trapz": ("2.4", "np.trapezoid"),
}


def explain(error: LearnerError | None, path: Path | str | None = None) -> LearnerError | None:
    """The error with its cause in CS231n's terms appended, when one fits (else unchanged)."""
    if error is None:
        return None
    cause = python2(error, path) or numpy_change(error) or install_hint(error)
    return replace(error, message=f"{error.message}: {cause}") if cause else error


def python2(error: LearnerError, path: Path | str | None) -> str | None:
    """Python 2 code: its syntax (print x), its names (xrange), its integer division."""
    where = f"line {error.line}" if error.line else "this file"
    imported = re.search(r"\((\S+\.py), line (\d+)\)$", error.message)  # a SyntaxError in a module it imports
    if imported:
        where = f"{imported[1]} line {imported[2]}, imported at line {error.line}"
    if error.kind in ("SyntaxError", "IndentationError", "TabError"):
        for sign, fix in PYTHON2_SYNTAX:
            if sign in error.message:
                return f"this is Python 2 code ({where}); ninja runs Python 3, as CS231n has since 2017: {fix}"
        return None
    name = re.fullmatch(r"name '(\w+)' is not defined|'\w+' object has no attribute '(\w+)'", error.message)
    found = name and (name[1] or name[2])
    if found in PYTHON2_NAMES and error.kind in ("NameError", "AttributeError"):
        return f"{found} is Python 2 ({where}); Python 3 has {PYTHON2_NAMES[found]}"
    if error.kind == "ModuleNotFoundError" and error.message == "No module named 'cPickle'":
        return f"cPickle is Python 2 ({where}); Python 3 has pickle"
    if any(sign in error.message for sign in FLOAT_FOR_INT):
        return (
            f"a float where a size, range or index is needed ({where}): in Python 2 `/` of two ints floored, in "
            "Python 3 it gives a float; use `//` for the output size"
        )
    return None


def numpy_change(error: LearnerError) -> str | None:
    """Code written for an older NumPy than the one ninja runs."""
    version = np.__version__
    removed = re.fullmatch(r"module 'numpy' has no attribute '(\w+)'.*", error.message, re.S)
    if error.kind == "AttributeError" and removed and removed[1] in NUMPY_REMOVED:
        since, instead = NUMPY_REMOVED[removed[1]]
        return f"np.{removed[1]} was removed in NumPy {since} (this is NumPy {version}): use {instead}"
    if error.kind == "TypeError" and re.search(
        r"only (0-dimensional|length-1|size-1) arrays can be converted", error.message
    ):
        return (
            f"int() or float() of an array with one element (shape (1,)): NumPy 1.25 deprecated it, NumPy "
            f"{version} (the one ninja runs) refuses it; take the element: a[0] or a.item()"
        )
    if error.kind == "ValueError" and "Unable to avoid copy" in error.message:
        return f"np.array(..., copy=False) means 'never copy' since NumPy 2.0 (this is {version}): use np.asarray"
    return None


def install_hint(error: LearnerError) -> str | None:
    """A module the learner's file imports that ninja's environment lacks: how to install it there."""
    if error.kind == "ImportError" and "bad magic number" in error.message:
        return (
            "a .pyc file of another Python (Python 2's, committed with the assignment) stands where a .py is "
            "missing: delete the .pyc files (find . -name '*.pyc' -delete)"
        )
    missing = re.fullmatch(r"No module named '(([^'.]+)[^']*)'", error.message)
    if error.kind != "ModuleNotFoundError" or not missing:
        return None
    dotted, module = missing[1], missing[2]
    if dotted == PACKAGE:
        return (
            "the cs231n package is not found: keep the file inside its assignment's cs231n/ folder "
            "(ninja puts the folder above it on the import path)"
        )
    if module == PACKAGE:
        return f"{dotted.replace('.', '/')}.py is not in your cs231n folder: it comes with the assignment's files"
    why = INSTALL.get(module, "a module your file imports")
    return f"{why}; install it where ninja runs: {sys.executable} -m pip install {module}"
