"""Results -> what people and tools read: a rich table for the terminal, GitHub Actions annotations
(the JSON is results.to_dict)."""

from __future__ import annotations

import math
from functools import partial

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ninja.results import (
    ERROR,
    FAIL,
    FORWARD_CHANGED,
    GRADIENTS,
    MISSING,
    PASS,
    Labels,
    Report,
    VarResult,
    at,
    kind_of,
)

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


def line_of(v: VarResult, labels: Labels, numeric: bool = False, narrow: bool = False, tiny: bool = False) -> list:
    """One checked result's row, in the columns `columns` gives for the same arguments."""
    return [
        labels.shown(v.name),
        *([] if narrow and not labels.exact else [shape(v.shape or v.expected_shape)]),
        *([flag(v.exact)] if labels.exact and not narrow else []),
        *([] if tiny else [flag(v.approx)]),
        number(v.maxdiff),
        *([number(v.relerr)] if labels.relerr else []),
        *([number(v.numeric_relerr)] if numeric else []),
        Text(v.status, style=STATUS_STYLE[v.status]),
        *([] if narrow else [Text(note_of(v, labels))]),
    ]


def columns(labels: Labels, numeric: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the table's columns, those a narrow table drops: the note, and exact or else the shape)."""
    every = (
        labels.column, "shape", *(["exact"] if labels.exact else []), "approx", "maxdiff",
        *(["rel_error"] if labels.relerr else []), *(["numeric"] if numeric else []), "status", "note",
    )  # fmt: skip
    return every, ("exact" if labels.exact else "shape", "note")


def note_of(v: VarResult, labels: Labels = GRADIENTS) -> str:
    """The row's note: blame (the diagnosis of a root cause is spelled out under the table), the
    engine's remark."""
    said = blame_note(v, labels) or (v.diagnosis if labels.diagnosis_in_row else None)
    return "; ".join(filter(None, [said, v.note]))


def blame_note(v: VarResult, labels: Labels = GRADIENTS) -> str | None:
    if v.root_cause:
        kind = f": {v.diagnosis_kind.replace('_', ' ')}" if v.diagnosis_kind else ""
        return f"root cause{kind}, see below"
    if v.inherited_from:
        return f"inherits from {labels.shown(v.inherited_from)}"
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
    name = report.labels.shown(v.name)
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
    parts: list[RenderableType] = []
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
    grid, narrow = grid_of(report, width)
    parts.append(grid)
    if narrow:  # the notes under the table, not in a column
        parts += notes_under(report)
    parts += blame_lines(report)
    parts += [Text(note, style="bold red") for note in report.notes]
    parts.append(summary(report))
    return Group(*parts)


def grid_of(report: Report, width: int) -> tuple[Table, bool]:
    """The table of results, and whether it is narrow: under 100 columns, or where the note column
    would get too little room, the notes go under it instead."""
    labels = report.labels
    numeric = any(v.numeric_relerr is not None for v in report.variables)
    every, dropped = columns(labels, numeric)
    row = partial(line_of, labels=labels, numeric=numeric)
    narrow = width < 100 or note_room(every, [row(v) for v in report.variables], width) < NOTE_ROOM
    if width < 64:  # 60 columns: approx goes too (status says it), so the rest fits uncut
        dropped += ("approx",)
    grid = Table(title=f"{report.exercise}: your gradients against autograd", title_justify="left")
    for column in every:
        if not (narrow and column in dropped):
            # a header is never cut ("statu"): the column is at least as wide as its name
            wraps = column == "note" or (column == labels.column and width < 64)  # long CS231n names fold at 60
            grid.add_column(column, overflow="fold", no_wrap=not wraps, min_width=len(column))
    for v in in_table_order(report):
        grid.add_row(*row(v, narrow=narrow, tiny=width < 64))
    return grid, narrow


def notes_under(report: Report) -> list[Text]:
    """A narrow table's notes, each under it as `name: words`. A root cause's own line follows
    (blame_lines): its note would say it twice."""
    labels = report.labels
    notes = [
        (labels.shown(v.name), note_of(v, labels)) for v in in_table_order(report) if not (v.root_cause and not v.note)
    ]
    return [Text(f"{name}: {words}", style="dim") for name, words in notes if words]


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
        changed = kind_of(note) == FORWARD_CHANGED
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
        f"{report.labels.shown(v.name)} (from {report.labels.shown(v.inherited_from)})"
        for v in report.variables
        if v.inherited_from
    ]
    if inherited:
        lines.append("inherited failures: " + ", ".join(inherited))
    lines.append(summary(report).plain)
    return "\n".join(lines)
