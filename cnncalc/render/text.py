"""Diagnostics as compiler-style text: path:line:col: error: message, then the line and a caret."""

from __future__ import annotations

import re
from itertools import islice
from typing import Callable

from cnncalc.errors import Diagnostic
from cnncalc.render.safe import MESSAGE_WIDTH, breaks_command, escape_char, is_unsafe, shorten, terminal


def format_diagnostic(
    diag: Diagnostic, source: str | dict[str, str] | None = None, line_of: Callable[[str, int], str | None] = None
) -> str:
    """`source` is the spec's text, or each file's text by path when the spec includes others.

    The message and the line under it are spec text: shown by `terminal` (control characters
    written out), and a long line is cut to a window around the column. `line_of` finds a line
    of a text (source_line, unless format_diagnostics passes its own)."""
    where = f"{terminal(str(diag.loc))}: " if diag.loc else ""
    text = f"{where}{diag.severity}: {terminal(shorten(diag.message, MESSAGE_WIDTH))}"
    if isinstance(source, dict):
        source = source.get(diag.loc.file) if diag.loc else None
    if source is not None and diag.loc is not None:
        line = (line_of or source_line)(source, diag.loc.line)
        if line is not None:
            shown, caret = snippet(line, diag.loc.column)
            gutter = f"{diag.loc.line:>5} | "
            # the caret sits under the 1-based column, after the gutter
            text += f"\n{gutter}{shown}\n{' ' * (len(gutter) - 2)}| {' ' * caret}^"
    return text


# YAML's line breaks, which its marks count (str.splitlines also splits at \x0b, \x0c, \x1c-\x1e)
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
SNIPPET_WIDTH = 120  # a longer line is cut to this many characters around the column
_ELLIPSIS = "..."


def source_line(source: str, number: int) -> str | None:
    """Line `number` (1-based) of `source`, or None past its end; found without splitting a
    whole (possibly huge) file."""
    start = 0
    for _ in range(number - 1):
        found = _LINE_BREAK.search(source, start)
        if found is None:
            return None
        start = found.end()
    if number < 1 or start >= len(source):  # as str.splitlines: no line after the last break
        return None
    found = _LINE_BREAK.search(source, start)
    return source[start : found.start() if found else len(source)]


def _shown(line: str, low: int, high: int) -> list[str]:
    """How each character of line[low:high] is shown: as `terminal` would, but a tab is a space."""
    pieces = [" " if char == "\t" else escape_char(char) if is_unsafe(char) else char for char in line[low:high]]
    for position in breaks_command(line, low, high):
        pieces[position - low] += "\\"  # `##[` shown as `#\#[`, as `terminal` does
    return pieces


def snippet(line: str, column: int) -> tuple[str, int]:
    """The source line as shown under a message, and the caret's offset in it.

    Control characters are written out (a tab is one space), and a line longer than
    SNIPPET_WIDTH is cut to about that many characters around `column`, with an ellipsis
    on each side that was cut; the caret offset counts what is shown before the column."""
    at = max(column - 1, 0)
    beyond = min(max(at - len(line), 0), SNIPPET_WIDTH)  # a column past the line's end
    at -= beyond
    # nothing further than SNIPPET_WIDTH characters from the column can be shown
    low, high = max(at - SNIPPET_WIDTH, 0), min(at + SNIPPET_WIDTH, len(line))
    left, right = _shown(line, low, at), _shown(line, at, high)
    if low == 0 and high == len(line) and sum(map(len, left + right)) <= SNIPPET_WIDTH:
        return "".join(left + right), sum(map(len, left)) + beyond
    right_room = SNIPPET_WIDTH - min(sum(map(len, left)), SNIPPET_WIDTH // 2)
    right_taken = _fit(right, right_room)
    left_taken = _fit(left[::-1], SNIPPET_WIDTH - sum(map(len, right[:right_taken])))
    shown_left = "".join(left[len(left) - left_taken :])
    shown_right = "".join(right[:right_taken])
    prefix = _ELLIPSIS if left_taken < len(left) or low > 0 else ""
    suffix = _ELLIPSIS if right_taken < len(right) or high < len(line) else ""
    return prefix + shown_left + shown_right + suffix, len(prefix) + len(shown_left) + beyond


def _fit(pieces: list[str], room: int) -> int:
    """How many of `pieces`, from the first, fit in `room` characters."""
    used = 0
    for count, piece in enumerate(pieces):
        used += len(piece)
        if used > room:
            return count
    return len(pieces)


def format_diagnostics(diagnostics: list[Diagnostic], source: str | dict[str, str] | None = None) -> str:
    """The diagnostics, each as format_diagnostic writes it; each text is scanned for its lines
    once, up to the furthest line shown (source_line for each would scan from the start anew)."""
    line_of = _LineFinder(max((d.loc.line for d in diagnostics if d.loc), default=0))
    return "\n".join(format_diagnostic(d, source, line_of) for d in diagnostics)


class _LineFinder:
    """source_line for many diagnostics: each text's lines found in one pass, up to `furthest`."""

    def __init__(self, furthest: int):
        self.furthest = furthest
        self.spans: dict[int, list[tuple[int, int]]] = {}  # by the text's id: (start, end) of each line

    def __call__(self, source: str, number: int) -> str | None:
        spans = self.spans.get(id(source))
        if spans is None:
            spans = self.spans[id(source)] = line_spans(source, self.furthest)
        if not 1 <= number <= len(spans):
            return source_line(source, number)  # past the furthest line: not asked by format_diagnostics
        start, end = spans[number - 1]
        return source[start:end]


def line_spans(source: str, count: int) -> list[tuple[int, int]]:
    """(start, end) of each of the first `count` lines of `source` (fewer if it has fewer), as
    source_line finds them: split at YAML's line breaks, and no line after the last break."""
    spans, start = [], 0
    for found in islice(_LINE_BREAK.finditer(source), count):
        spans.append((start, found.start()))
        start = found.end()
    if len(spans) < count and start < len(source):
        spans.append((start, len(source)))
    return spans


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
