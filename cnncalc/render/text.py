"""Diagnostics as compiler-style text: path:line:col: error: message, then the line and a caret."""

from __future__ import annotations

from cnncalc.errors import Diagnostic


def format_diagnostic(diag: Diagnostic, source: str | dict[str, str] | None = None) -> str:
    """`source` is the spec's text, or each file's text by path when the spec includes others."""
    where = f"{diag.loc}: " if diag.loc else ""
    text = f"{where}{diag.severity}: {diag.message}"
    if isinstance(source, dict):
        source = source.get(diag.loc.file) if diag.loc else None
    if source is not None and diag.loc is not None:
        lines = source.splitlines()
        if 1 <= diag.loc.line <= len(lines):
            line = lines[diag.loc.line - 1].expandtabs(1)
            gutter = f"{diag.loc.line:>5} | "
            # the caret sits under the 1-based column, after the gutter
            text += f"\n{gutter}{line}\n{' ' * (len(gutter) - 2)}| {' ' * (diag.loc.column - 1)}^"
    return text


def format_diagnostics(diagnostics: list[Diagnostic], source: str | dict[str, str] | None = None) -> str:
    return "\n".join(format_diagnostic(d, source) for d in diagnostics)


def aligned(rows: list[tuple[str, ...]], right: set[int] = frozenset()) -> list[str]:
    """Plain-text columns two spaces apart; columns in `right` (numbers) align right.

    >>> aligned([("a", "1"), ("bcd", "23")], right={1})
    ['a     1', 'bcd  23']
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    ]
