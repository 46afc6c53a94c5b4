"""Results -> what people and tools read: a rich table for the terminal, a dict for JSON."""

from __future__ import annotations

import math
from functools import partial

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ninja.results import ERROR, FAIL, MISSING, PASS, Report, VarResult

STATUS_STYLE = {PASS: "green", FAIL: "bold red", MISSING: "yellow", ERROR: "magenta"}


def number(x: float | None) -> str:
    if x is None:
        return "-"
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return "0" if x == 0 else f"{x:.1e}"


def flag(x: bool | None) -> str:
    return "-" if x is None else str(x)


def shape(s: tuple[int, ...] | None) -> str:
    return "-" if s is None else str(tuple(s))


def variable_row(v: VarResult) -> list:
    return [
        f"d{v.name}",
        shape(v.shape or v.expected_shape),
        flag(v.exact),
        flag(v.approx),
        number(v.maxdiff),
        Text(v.status, style=STATUS_STYLE[v.status]),
        v.note or "",
    ]


def function_row(v: VarResult, numeric: bool) -> list:
    """CS231n track: results are named function.output, and the notebook's rel_error is shown."""
    return [
        v.name,
        shape(v.shape or v.expected_shape),
        flag(v.approx),
        number(v.maxdiff),
        number(v.relerr),
        *([number(v.numeric_relerr)] if numeric else []),
        Text(v.status, style=STATUS_STYLE[v.status]),
        "; ".join(n for n in (v.diagnosis, v.note) if n),
    ]


def summary(report: Report) -> Text:
    total = len(report.variables)
    if report.passed:
        return Text(f"{report.correct}/{total} correct: {report.exercise} passes.", style="bold green")
    line = Text(f"{report.correct}/{total} correct", style="bold")
    counts = {s: sum(v.status == s for v in report.variables) for s in (FAIL, MISSING, ERROR)}
    parts = [f"{k} {s}" for s, k in counts.items() if k]
    if parts:
        line.append(" (" + ", ".join(parts) + ")")
    if not report.forward_ok:
        line.append(": the forward pass was changed", style="bold red")
    return line


def table(report: Report):
    """The terminal view: what the file printed, where it stopped, the table, notes, the summary."""
    parts = []
    if report.output.strip():
        parts.append(Text("your file printed:", style="dim"))
        parts.append(Text(report.output.rstrip()[-2000:], style="dim"))
    if report.error:
        e = report.error
        parts.append(Text(f"{e.where}: {e.kind}: {e.message}", style="bold magenta"))
        if e.source:
            parts.append(Text(f"    {e.source}", style="magenta"))
    grid = Table(title=f"{report.exercise}: your gradients against autograd", title_justify="left")
    columns, row = ("variable", "shape", "exact", "approx", "maxdiff", "status", "note"), variable_row
    cs231n = report.track == "cs231n"
    if cs231n:
        numeric = ("numeric",) if any(v.numeric_relerr is not None for v in report.variables) else ()
        columns = ("result", "shape", "approx", "maxdiff", "rel_error", *numeric, "status", "note")
        row = partial(function_row, numeric=bool(numeric))
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=column in ("variable", "result", "status", "shape" * cs231n))
    for v in report.variables:
        grid.add_row(*row(v))
    parts.append(grid)
    parts += [Text(note, style="bold red") for note in report.notes]
    parts.append(summary(report))
    return Group(*parts)


def to_dict(report: Report) -> dict:
    def finite(x):  # JSON has no NaN or inf
        return x if x is None or math.isfinite(x) else str(x)

    return {
        "exercise": report.exercise,
        "track": report.track,
        "passed": report.passed,
        "correct": report.correct,
        "total": len(report.variables),
        "variables": [
            {
                "name": v.name,
                "status": v.status,
                "exact": v.exact,
                "approx": v.approx,
                "maxdiff": finite(v.maxdiff),
                "relerr": finite(v.relerr),
                "shape": list(v.shape) if v.shape is not None else None,
                "expected_shape": list(v.expected_shape),
                "note": v.note,
                "diagnosis": v.diagnosis,
                "numeric_relerr": finite(v.numeric_relerr),
            }
            for v in report.variables
        ],
        "notes": list(report.notes),
        "error": None
        if report.error is None
        else {
            "kind": report.error.kind,
            "message": report.error.message,
            "file": report.error.path,
            "line": report.error.line,
            "source": report.error.source,
        },
        "output": report.output,
    }
