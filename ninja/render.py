"""Results -> what people and tools read: a rich table for the terminal, a dict for JSON."""

from __future__ import annotations

import math
from functools import partial

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ninja.results import ERROR, FAIL, MISSING, PASS, Report, VarResult, at, shown_name

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


def variable_row(v: VarResult, narrow: bool = False, tiny: bool = False) -> list:
    return [
        f"d{v.name}",
        shape(v.shape or v.expected_shape),
        *([] if narrow else [flag(v.exact)]),
        *([] if tiny else [flag(v.approx)]),
        number(v.maxdiff),
        Text(v.status, style=STATUS_STYLE[v.status]),
        *([] if narrow else [Text(note_of(v))]),
    ]


def note_of(v: VarResult, track: str = "makemore") -> str:
    return "; ".join(filter(None, [blame_note(v, track), v.note]))


def blame_note(v: VarResult, track: str = "makemore") -> str | None:
    if v.root_cause:
        kind = f": {v.diagnosis_kind.replace('_', ' ')}" if v.diagnosis_kind else ""
        return f"root cause{kind}, see below"
    if v.inherited_from:
        return f"inherits from {shown_name(track, v.inherited_from)}"
    return None


def pointer(report: Report, v: VarResult) -> str:
    """path:line, which editors and terminals open at the line."""
    return at(v.path or report.path, v.cell, v.line)


def in_table_order(report: Report) -> list[VarResult]:
    """Backward order; a failing file's table leads with its root causes."""
    return sorted(report.variables, key=lambda v: not v.root_cause)


def verdict(report: Report, v: VarResult) -> tuple[str, str] | None:
    """('error' or 'warning', the words) for a variable worth a line under the table: a root
    cause, or a diagnosis on a variable that passes anyway (aliasing); None otherwise."""
    name = shown_name(report.track, v.name)
    if v.root_cause or (v.diagnosis and v.status != PASS):
        return "error", f"{name} is wrong: {v.diagnosis}"
    if v.diagnosis:
        return "warning", f"{name} passes, but {v.diagnosis}"
    return None


def blame_lines(report: Report) -> list[Text]:
    """Under the table: each root cause at its line and what it looks like; aliasing that still passes."""
    lines = []
    for v in in_table_order(report):
        found = verdict(report, v)
        if found:
            level, words = found
            lines.append(Text(f"{pointer(report, v)}: {words}", style="bold red" if level == "error" else "yellow"))
    return lines


def function_row(v: VarResult, numeric: bool, narrow: bool = False, tiny: bool = False) -> list:
    """CS231n track: results are named function.output, and the notebook's rel_error is shown."""
    return [
        v.name,
        *([] if narrow else [shape(v.shape or v.expected_shape)]),
        *([] if tiny else [flag(v.approx)]),
        number(v.maxdiff),
        number(v.relerr),
        *([number(v.numeric_relerr)] if numeric else []),
        Text(v.status, style=STATUS_STYLE[v.status]),
        *([] if narrow else [Text(cs231n_note(v))]),
    ]


def cs231n_note(v: VarResult, track: str = "cs231n") -> str:
    """The diagnosis of a root cause is spelled out under the table: the row only names its kind."""
    return "; ".join(n for n in (blame_note(v, track) or v.diagnosis, v.note) if n)


def summary(report: Report) -> Text:
    total = len(report.variables)
    if report.passed:
        scope = f" ({report.scope})" if report.scope else ""
        return Text(f"{report.correct}/{total} correct: {report.exercise} passes{scope}.", style="bold green")
    line = Text(f"{report.correct}/{total} correct", style="bold")
    counts = {s: sum(v.status == s for v in report.variables) for s in (FAIL, MISSING, ERROR)}
    parts = [f"{k} {s}" for s, k in counts.items() if k]
    if parts:
        line.append(" (" + ", ".join(parts) + ")")
    if not report.forward_ok:
        line.append(": the forward pass was changed", style="bold red")
    elif report.error:
        line.append(f": your file stopped at {report.error.where} ({report.error.kind})", style="bold magenta")
    if report.scope:
        line.append(f"; checked {report.scope}")
    return line


NOTE_ROOM = 30  # columns a note needs beside the table; with fewer, the notes go under it


def note_room(columns: tuple[str, ...], rows: list[list], width: int) -> int:
    """The columns left for the note column of a wide table: long CS231n names leave less."""
    used = 1  # the table's last border
    for i, column in enumerate(columns[:-1]):
        cells = [str(r[i].plain if isinstance(r[i], Text) else r[i]) for r in rows]
        used += max([len(column), *map(len, cells)]) + 3  # the cell, its padding, a border
    return width - used


def table(report: Report, width: int = 120):
    """The terminal view: what the file printed, where it stopped, the table, notes, the summary.
    Under 100 columns (a pipe is 80) the notes go under the table instead of in a column. A file
    that does not parse (or ran to no result at all) is its message alone: a table of `error` rows
    would push it off the screen."""
    parts = []
    if report.output.strip():
        parts.append(Text("your file printed:", style="dim"))
        parts.append(Text(report.output.rstrip()[-2000:], style="dim"))
    if report.error:
        e = report.error
        parts.append(Text(f"{e.where}: {e.kind}: {e.message}", style="bold magenta"))
        if e.source:
            parts.append(Text(f"    {e.source}", style="magenta"))
        if e.kind == "SyntaxError" or not report.variables:
            fix = "fix that line, then check again" if e.kind == "SyntaxError" else "nothing was checked"
            parts.append(Text(f"{report.exercise}: {fix}.", style="bold"))
            return Group(*parts)
    cs231n = report.track == "cs231n"
    if cs231n:
        numeric = ("numeric",) if any(v.numeric_relerr is not None for v in report.variables) else ()
        columns = ("result", "shape", "approx", "maxdiff", "rel_error", *numeric, "status", "note")
        row, note, dropped = partial(function_row, numeric=bool(numeric)), cs231n_note, ("shape", "note")
    else:
        columns = ("variable", "shape", "exact", "approx", "maxdiff", "status", "note")
        row, note, dropped = variable_row, note_of, ("exact", "note")
    narrow = width < 100 or note_room(columns, [row(v) for v in report.variables], width) < NOTE_ROOM
    row = partial(row, narrow=narrow, tiny=width < 64)
    if width < 64:  # 60 columns: approx goes too (status says it), so the rest fits uncut
        dropped += ("approx",)
    grid = Table(title=f"{report.exercise}: your gradients against autograd", title_justify="left")
    for column in columns:
        if not (narrow and column in dropped):
            # a header is never cut ("statu"): the column is at least as wide as its name
            wraps = column == "note" or (column == "result" and width < 64)  # long CS231n names fold at 60
            grid.add_column(column, overflow="fold", no_wrap=not wraps, min_width=len(column))
    for v in in_table_order(report):
        grid.add_row(*row(v))
    parts.append(grid)
    if narrow:  # a root cause's own line follows under the table: its note would say it twice
        notes = [
            (shown_name(report.track, v.name), note(v, report.track))
            for v in in_table_order(report)
            if not (v.root_cause and not v.note)
        ]
        parts += [Text(f"{name}: {words}", style="dim") for name, words in notes if words]
    parts += blame_lines(report)
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
                "root_cause": v.root_cause,
                "inherited_from": v.inherited_from,
                "diagnosis": v.diagnosis,
                "diagnosis_kind": v.diagnosis_kind,
                "line": v.line,
                "cell": v.cell,
                "numeric_relerr": finite(v.numeric_relerr),
                "file": v.path or report.path,
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
            "cell": report.error.cell,
            "source": report.error.source,
        },
        "output": report.output,
        "file": report.path,
        "scope": report.scope,
    }


def annotation(level: str, message: str, file: str | None = None, line: int | None = None, title: str = "") -> str:
    """One GitHub Actions workflow command: ::error file=...,line=...,title=...::message"""

    def escape(text: str, extra: str = "") -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if extra else text

    props = [f"file={escape(file, 'p')}"] if file else []
    props += [f"line={line}"] if file and line else []
    props += [f"title={escape(title, 'p')}"] if title else []
    return f"::{level} {','.join(props)}::{escape(message)}" if props else f"::{level}::{escape(message)}"


def github(report: Report) -> str:
    """GitHub Actions annotations: an error at each root cause's line, a warning for aliasing that
    still passes, the file's own error and forward-pass notes, then the summary as plain text."""
    lines = []
    if report.error and not any(v.root_cause and v.diagnosis_kind == "exception" for v in report.variables):
        e = report.error
        title = f"{e.cell}, line {e.line}: your file does not run" if e.cell else "your file does not run"
        lines.append(annotation("error", f"{e.kind}: {e.message}", e.path, None if e.cell else e.line, title))
    for note in report.notes:  # a changed forward fails the check; the other notes say how it was read
        changed = note.startswith("forward pass changed")
        lines.append(
            annotation(
                "error" if changed else "notice", note, report.path, title="forward pass changed" if changed else "note"
            )
        )
    for v in report.variables:
        found = verdict(report, v)
        if found:
            level, words = found
            title, _, message = words.partition(": ")
            title = f"{v.cell}, line {v.line}: {title}" if v.cell else title  # a notebook's lines count in cells
            lines.append(annotation(level, message or words, v.path or report.path, None if v.cell else v.line, title))
    inherited = [
        f"{shown_name(report.track, v.name)} (from {shown_name(report.track, v.inherited_from)})"
        for v in report.variables
        if v.inherited_from
    ]
    if inherited:
        lines.append("inherited failures: " + ", ".join(inherited))
    lines.append(summary(report).plain)
    return "\n".join(lines)
