"""Spec text made inert wherever cnncalc shows it: terminals and CI logs, Markdown, XML.

A spec is untrusted input (`cnncalc check` runs on pull requests), and its free text (`name:`,
`description:`, string values, include paths, values quoted back in messages, the source line
under an error) reaches terminals, CI logs, pull-request comments and test reports. Each
renderer passes that text through the function here for its format; cnncalc's own words need
none of it. Ordinary text comes out unchanged.
"""

from __future__ import annotations

import re

# What a terminal or a log viewer would act on rather than show: C0 and C1 controls and DEL
# (ESC starts colour, cursor, title and hyperlink sequences; CR and LF start lines), lone
# surrogates (cannot be written as UTF-8), non-characters (not XML), and the invisible Unicode
# format characters that reorder or hide text (bidi embeddings, overrides and isolates,
# zero-width characters, line and paragraph separators, the byte order mark).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
MESSAGE_WIDTH = 2000  # a message quoting a huge value shows its start and end (see `shorten`)

# GitHub Actions runs a log line as a workflow command when it starts with `::` once leading
# blanks are dropped, or when it holds `##[` anywhere (the older syntax; Azure Pipelines and
# TeamCity read `##vso[` and `##teamcity[` anywhere too).
_COMMAND_START = re.compile(r"^(\s*):(?=:)")
_OLD_COMMAND = re.compile(r"#(?=#(?:vso|teamcity)?\[)")

# Markdown: HTML is written as entities, and every character that could start emphasis, code,
# a link, an image, a table cell or strikethrough is backslash-escaped; `http://` and `www.`
# are broken up so that a URL is not turned into a link.
_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*_\[\]()!|~]")
_PIPE = re.compile(r"(\\*)\|")
_AUTOLINK = re.compile(r"(?i)(https?|ftp)(?=://)|(www)(?=\.)")


def escape_char(char: str) -> str:
    """How one unsafe character is shown: `\\n`, `\\x1b`, `\\u202e`."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def is_unsafe(char: str) -> bool:
    return _UNSAFE.match(char) is not None


def breaks_command(text: str, start: int, end: int) -> list[int]:
    """Where in text[start:end] `terminal` puts a backslash after a `#` (that of `##[`)."""
    ahead = len("#teamcity[")  # what the pattern looks at past the `#`
    return [match.start() for match in _OLD_COMMAND.finditer(text, start, end + ahead) if match.start() < end]


def terminal(text: str) -> str:
    r"""`text` as a terminal or a CI log may show it: on one line, with every control or invisible
    format character written out (`\x1b`, `\n`, `\u202e`), and unable to start a GitHub workflow
    command (a leading `::` becomes `\::`, `##[` becomes `#\#[`).

    >>> print(terminal("\x1b[2Jtitle\n::error::x"))
    \x1b[2Jtitle\n::error::x
    >>> print(terminal("::add-mask::x"), terminal("a ##[error]b"))
    \::add-mask::x a #\#[error]b
    """
    text = _UNSAFE.sub(lambda match: escape_char(match.group()), str(text))
    text = _COMMAND_START.sub(lambda match: match.group(1) + "\\:", text, count=1)
    return _OLD_COMMAND.sub("#\\\\", text)


def shorten(text: str, limit: int) -> str:
    """`text` cut in the middle to about `limit` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]} ...({len(text) - 2 * keep:,} characters)... {text[-keep:]}"


def terminal_lines(text: str) -> list[str]:
    """A text written over several lines (a `description: |`) as its lines, each made safe by
    `terminal` (so none can start a workflow command); the final line break is dropped."""
    return [terminal(line) for line in str(text).rstrip("\n").split("\n")]


def markdown(text: str) -> str:
    r"""`text` for Markdown prose or a table cell, shown literally: no HTML, links, images or
    emphasis come from it, and `|` cannot end a cell.

    >>> print(markdown("<!-- [x](http://evil) *a*|b"))
    &lt;\!-- \[x\]\(http\://evil\) \*a\*\|b
    """
    text = terminal(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCTUATION.sub(lambda match: "\\" + match.group(), text)
    return _AUTOLINK.sub(lambda match: match.group() + "\\", text)


def markdown_code(text: str, *, in_table: bool = True) -> str:
    r"""`text` as a Markdown code span (shown literally, whatever it holds); in a table, each `|`
    gets the backslash GitHub's tables need even inside code (an odd run of them before it).

    >>> print(markdown_code("a`b"), markdown_code("x|y"))
    ``a`b`` `x\|y`
    """
    text = terminal(text)
    if not text:
        return ""
    if in_table:
        text = _PIPE.sub(lambda match: match.group(1) + "\\" * (1 + len(match.group(1)) % 2) + "|", text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"
