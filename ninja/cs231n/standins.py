"""What stands in for a missing piece of a CS231n environment while the learner's files load and
run, so that the student's own math is what gets judged: the staff's Cython im2col extension
(fast_layers.py imports it; the notebook asks for `python setup.py build_ext --inplace`) in NumPy,
and NumPy 1.x names that NumPy 2 removed. Each is used only where the real one is missing, is
gone afterwards, and is named in one line (Environment.notes)."""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from contextlib import contextmanager

import numpy as np

# ---------------------------------------------------------------- im2col_cython, in NumPy


def out_size(size: int, field: int, padding: int, stride: int) -> int:
    return (size + 2 * padding - field) // stride + 1


def im2col_cython(x, field_height, field_width, padding, stride):
    """(C * fh * fw, HH * WW * N) columns, in the Cython extension's order (rows c, fi, fj;
    columns y, x, n)."""
    n, c, h, w = x.shape
    hh, ww = out_size(h, field_height, padding, stride), out_size(w, field_width, padding, stride)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((c, field_height, field_width, hh, ww, n), dtype=x.dtype)
    for fi in range(field_height):
        for fj in range(field_width):
            window = padded[:, :, fi : fi + stride * hh : stride, fj : fj + stride * ww : stride]
            cols[:, fi, fj] = window.transpose(1, 2, 3, 0)
    return cols.reshape(c * field_height * field_width, hh * ww * n)


def crop(padded, padding):
    return padded[:, :, padding:-padding, padding:-padding] if padding > 0 else padded


def col2im_cython(cols, N, C, H, W, field_height, field_width, padding, stride):  # noqa: N803 (its signature)
    """The inverse of im2col_cython: every column added back into its window, the padding cut off."""
    hh, ww = out_size(H, field_height, padding, stride), out_size(W, field_width, padding, stride)
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    six = cols.reshape(C, field_height, field_width, hh, ww, N)
    for fi in range(field_height):
        for fj in range(field_width):
            padded[:, :, fi : fi + stride * hh : stride, fj : fj + stride * ww : stride] += six[:, fi, fj].transpose(
                3, 0, 1, 2
            )
    return crop(padded, padding)


def col2im_6d_cython(cols, N, C, H, W, HH, WW, pad, stride):  # noqa: N803 (its signature)
    """fast_layers' conv_backward_strides: cols (C, HH, WW, N, out_h, out_w) added back into x."""
    out_h, out_w = out_size(H, HH, pad, stride), out_size(W, WW, pad, stride)
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for i in range(HH):
        for j in range(WW):
            padded[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride] += cols[:, i, j].transpose(
                1, 0, 2, 3
            )
    return crop(padded, pad)


CYTHON_NAME = "im2col_cython"


class CythonStandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on sys.meta_path: found only when no built extension is (cs231n/im2col_cython*.so)."""

    def __init__(self, used: set[str]):
        self.used = used

    def find_spec(self, fullname, path=None, target=None):
        if fullname.rpartition(".")[2] != CYTHON_NAME:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__dict__.update(
            im2col_cython=im2col_cython, col2im_cython=col2im_cython, col2im_6d_cython=col2im_6d_cython,
            __doc__="ninja's NumPy stand-in for the staff's Cython im2col extension",
        )  # fmt: skip
        module.ninja_stand_in = True
        self.used.add("cython")


# ---------------------------------------------------------------- past.builtins

# Python 2's builtins as the `future` package's past.builtins gives them on Python 3. CS231n's
# skeletons (2017 on) import only xrange from it; the few others are here for learners' own code.
PAST_BUILTINS = {
    "xrange": range,
    "basestring": str,
    "unicode": str,
    "long": int,
    "unichr": chr,
    "raw_input": input,
    "reduce": functools.reduce,
    "intern": sys.intern,
}


@contextmanager
def past_builtins(used: set[str] | None = None):
    """`past.builtins` while the learner's file loads, unless the real one (pip install future)
    is there: a stand-in module, so that a notebook's one-line import needs no package installed
    into ninja's environment, and nothing else in the process sees it afterwards. Its names are
    served by a module __getattr__, so that `used` learns whether the learner's code took one."""
    if "past" in sys.modules or importlib.util.find_spec("past") is not None:
        yield
        return
    past = types.ModuleType("past", "ninja's stand-in for the `future` package's past (Python 2 names)")
    builtins = types.ModuleType("past.builtins")
    builtins.__dict__["__getattr__"] = served(
        builtins, PAST_BUILTINS, "past.builtins.", set() if used is None else used
    )
    past.__dict__["builtins"] = builtins
    past.__path__ = []  # a package, so `import past.builtins` works too
    sys.modules.update({"past": past, "past.builtins": builtins})
    try:
        yield
    finally:
        for name in ("past", "past.builtins"):
            if sys.modules.get(name) in (past, builtins):
                del sys.modules[name]


# ---------------------------------------------------------------- NumPy 1.x names


def in1d(ar1, ar2, assume_unique=False, invert=False, **kwargs):
    return np.isin(ar1, ar2, assume_unique=assume_unique, invert=invert, **kwargs).ravel()


# name -> what it was (only those this NumPy lacks are served)
NUMPY_1 = {
    "float": float, "int": int, "bool": bool, "object": object, "str": str, "long": int, "unicode": str,
    "complex": complex, "float_": np.float64, "complex_": np.complex128, "string_": np.bytes_,
    "unicode_": np.str_, "Inf": np.inf, "Infinity": np.inf, "infty": np.inf, "NaN": np.nan, "NAN": np.nan,
    "PINF": np.inf, "NINF": -np.inf, "product": np.prod, "cumproduct": np.cumprod, "alltrue": np.all,
    "sometrue": np.any, "round_": np.round, "mat": np.asmatrix, "in1d": in1d, "row_stack": np.vstack,
    "trapz": getattr(np, "trapezoid", None), "asscalar": lambda a: a.item(), "int0": np.intp, "uint0": np.uintp,
    "bool8": np.bool_, "float96": np.longdouble, "msort": lambda a: np.sort(a, axis=0),
}  # fmt: skip
NPYIO = ("save", "savez", "savez_compressed", "load", "loadtxt", "savetxt", "genfromtxt", "fromregex")


class Environment:
    """What stood in while the learner's code ran (filled by `environment()`)."""

    def __init__(self):
        self.used: set[str] = set()

    def notes(self) -> list[str]:
        found = []
        if "cython" in self.used:
            found.append(
                "fast_layers' Cython extension is not built: ninja's NumPy stand-in for im2col_cython ran in its "
                "place (your code is what is judged; `python setup.py build_ext --inplace` in cs231n/ builds it)"
            )
        numpy = sorted(u for u in self.used if u.startswith(("np.", "numpy.")))
        if numpy:
            found.append(
                f"NumPy 1.x names that NumPy {np.__version__} removed ran under ninja's compatibility shims: "
                f"{', '.join(numpy)} (fix them for the notebook's NumPy)"
            )
        past = sorted(u.rpartition(".")[2] for u in self.used if u.startswith("past."))
        if past:
            found.append(
                "past.builtins (the `future` package) is not installed where ninja runs: ninja's stand-in gave "
                f"{', '.join(past)} (Python 2's names: xrange is range)"
            )
        return found


def served(module: types.ModuleType, names: dict, prefix: str, used: set[str]):
    """A module __getattr__ that gives `names` (recording each use) before the module's own."""
    own = module.__dict__.get("__getattr__")

    def __getattr__(name):  # noqa: N807 (PEP 562's name)
        if name in names and names[name] is not None:
            used.add(f"{prefix}{name}")
            return names[name]
        if own is not None:
            return own(name)
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    return __getattr__


def reshape_with_newshape(original, used: set[str]):
    def reshape(a, *args, **kwargs):
        if "newshape" in kwargs and not args:
            used.add("np.reshape(newshape=)")
            args = (kwargs.pop("newshape"),)
        return original(a, *args, **kwargs)

    return reshape


@contextmanager
def environment():
    """The stand-ins in place while the learner's files load and run; everything as it was after."""
    env = Environment()
    finder = CythonStandIn(env.used)
    npyio = sys.modules.get("numpy.lib.npyio")
    saved = [(np, "__getattr__", np.__dict__.get("__getattr__")), (np, "reshape", np.reshape)]
    numpy_1 = {k: v for k, v in NUMPY_1.items() if k not in np.__dict__}
    np.__getattr__ = served(np, numpy_1, "np.", env.used)
    np.reshape = reshape_with_newshape(np.reshape, env.used)
    if npyio is not None:
        saved.append((npyio, "__getattr__", npyio.__dict__.get("__getattr__")))
        missing = {k: getattr(np, k) for k in NPYIO if k not in npyio.__dict__}
        npyio.__getattr__ = served(npyio, missing, "numpy.lib.npyio.", env.used)
    sys.meta_path.append(finder)
    try:
        with past_builtins(env.used):
            yield env
    finally:
        sys.meta_path.remove(finder)
        for module, name, value in saved:
            if value is None:
                module.__dict__.pop(name, None)
            else:
                setattr(module, name, value)
        for name in [n for n, m in sys.modules.items() if getattr(m, "ninja_stand_in", False)]:
            del sys.modules[name]
