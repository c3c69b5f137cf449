"""PyYAML's pure-Python loader, made to read a spec as libyaml (PyYAML's C loader) reads it.

cnncalc.yamlload uses libyaml when PyYAML was built with it, and this loader otherwise (or
with CNNCALC_PURE_YAML=1). Both must give a spec the same tree, the same locations and the same
diagnostics, so this loader follows libyaml where the two differ:

- tabs separate tokens where libyaml allows them (in flow collections, and after a key or a value
  on a line) and words of a plain scalar; a byte order mark may start any line and takes a column;
- in a flow collection `?` inside a plain scalar is text and `:` before one of `,?[]{}` an error;
  an empty value there is located where the next token starts;
- tags, directives and block scalar headers follow libyaml's rules (`,[]` only in verbatim tags,
  a comment right after `|`, a lone `!` on no value is the empty string, ...);
- collections nest at most 1,000 levels (libyaml's limit), and values deeper than the walk in
  yamlload accepts are skipped without recursion (the walk refuses them where libyaml's tree
  has them), so a deeply nested file is an error, never a RecursionError;
- errors are worded as libyaml words them (`did not find expected ',' or '}'`, not
  `expected ',' or '}', but got '<scalar>'`), at libyaml's marks.

libyaml's rules were read from its source (github.com/yaml/libyaml, src/scanner.c and parser.c)
and checked against the libyaml PyYAML ships; tests/test_yaml_loaders.py compares the two.

Imported only when the pure loader is used: it is not on the start-up path.
"""

from __future__ import annotations

import re
import sys

import yaml
from yaml.composer import ComposerError
from yaml.error import MarkedYAMLError
from yaml.events import AliasEvent, CollectionStartEvent, MappingEndEvent, ScalarEvent, SequenceEndEvent
from yaml.nodes import ScalarNode
from yaml.parser import ParserError
from yaml.scanner import ScannerError
from yaml.tokens import (
    FlowEntryToken,
    FlowMappingEndToken,
    FlowSequenceEndToken,
    KeyToken,
    ScalarToken,
    TagToken,
    ValueToken,
)

MAX_LEVELS = 1000  # libyaml refuses a 1,000th block level, and flow levels past 1,000 levels in all
_STR_TAG = "tag:yaml.org,2002:str"
_LINE_END = "\0\r\n\x85\u2028\u2029"
_BLANKZ = " \t" + _LINE_END
_URI_CHARS = ";/?:@&=+$.%!~*'()"


def _is_alpha(ch: str) -> bool:
    """libyaml's IS_ALPHA: an ASCII letter or digit, '_' or '-'."""
    return ch.isascii() and (ch.isalnum() or ch in "_-")


class PureLoader(yaml.SafeLoader):
    """SafeLoader with libyaml's tab, nesting and composing rules (see the module's docstring)."""

    max_depth = 64  # set from cnncalc.yamlload.MAX_DEPTH: deeper values are skipped, not composed
    max_levels = MAX_LEVELS

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.depth = 0  # of the node being composed; the root is 0
        self.boms = "\ufeff" in stream

    # ---- reader and scanner ---------------------------------------------------------------------

    def forward(self, length: int = 1) -> None:
        if not self.boms:
            return super().forward(length)
        start = self.pointer
        super().forward(length)
        passed = self.buffer[start : self.pointer]
        # libyaml counts U+FEFF in columns, PyYAML does not: count those on the current line
        self.column += passed.count("\ufeff", max(map(passed.rfind, "\r\n\x85\u2028\u2029")) + 1)
        return None

    def scan_to_next_token(self) -> None:
        """Skip blanks, comments and line breaks up to the next token, as libyaml does."""
        while True:
            if self.column == 0 and self.peek() == "\ufeff":
                self.forward()
            while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                self.forward()
            if self.peek() == "#":
                while self.peek() not in _LINE_END:
                    self.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def fetch_stream_end(self) -> None:
        if self.column != 0:  # libyaml ends an unfinished last line: the end is where a next line starts
            self.line += 1
            self.column = 0
            self.stale_possible_simple_keys()  # a key on the last line then needs its ':' there
        super().fetch_stream_end()

    def scan_plain(self):
        """A plain scalar, as libyaml reads one: in a flow collection `?` is text, and `:` before
        `,?[]{}` is an error; tabs are blanks between words."""
        chunks: list[str] = []
        start_mark = end_mark = self.get_mark()
        indent = self.indent + 1
        spaces: list[str] | None = []
        while self.peek() != "#":
            length = self.plain_word(start_mark)
            if length == 0:
                break
            self.allow_simple_key = False
            chunks.extend(spaces or ())
            chunks.append(self.prefix(length))
            self.forward(length)
            end_mark = self.get_mark()
            spaces = self.scan_plain_spaces(indent, start_mark)
            if not spaces or self.peek() == "#" or (not self.flow_level and self.column < indent):
                break
        return ScalarToken("".join(chunks), True, start_mark, end_mark)

    def plain_word(self, start_mark) -> int:
        """The length of the plain scalar's next word."""
        length = 0
        while True:
            ch = self.peek(length)
            if ch in _BLANKZ:
                return length
            after = self.peek(length + 1)
            if self.flow_level and ch == ":" and after in ",?[]{}":
                self.forward(length)
                raise ScannerError("while scanning a plain scalar", start_mark, "found unexpected ':'", self.get_mark())
            if (ch == ":" and after in _BLANKZ) or (self.flow_level and ch in ",[]{}"):
                return length
            length += 1

    def scan_plain_spaces(self, indent: int, start_mark):
        """The blanks and line breaks after a word, tabs included, as libyaml reads them."""
        chunks: list[str] = []
        length = 0
        while self.peek(length) in " \t":
            length += 1
        whitespaces = self.prefix(length)
        self.forward(length)
        if self.peek() not in _LINE_END or self.peek() == "\0":
            return [whitespaces] if whitespaces else chunks
        line_break = self.scan_line_break()
        self.allow_simple_key = True
        if self.at_document_marker():
            return None
        breaks = []
        while self.peek() in " \t\r\n\x85\u2028\u2029":
            if self.peek() == "\t" and self.column < indent:
                mark = self.get_mark()
                raise ScannerError(
                    "while scanning a plain scalar", start_mark, "found a tab character that violates indentation", mark
                )
            if self.peek() in " \t":
                self.forward()
                continue
            breaks.append(self.scan_line_break())
            if self.at_document_marker():
                return None
        if line_break != "\n":
            chunks.append(line_break)
        elif not breaks:
            chunks.append(" ")
        chunks.extend(breaks)
        return chunks

    def at_document_marker(self) -> bool:
        return self.prefix(3) in ("---", "...") and self.peek(3) in _BLANKZ

    def fetch_flow_collection_start(self, TokenClass) -> None:  # noqa: N803 - PyYAML's name
        if len(self.indents) + self.flow_level + 1 > self.max_levels:
            raise _too_deep("while increasing flow level", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if self.indent < column and len(self.indents) + 1 >= self.max_levels:
            raise _too_deep("while increasing block level", self.get_mark())
        return super().add_indent(column)

    def scan_directive_name(self, start_mark) -> str:
        length = 0
        while _is_alpha(self.peek(length)):
            length += 1
        if not length:
            raise ScannerError(
                "while scanning a directive", start_mark, "could not find expected directive name", self.get_mark()
            )
        name = self.prefix(length)
        self.forward(length)
        if self.peek() not in _BLANKZ:
            problem = "found unexpected non-alphabetical character"
            raise ScannerError("while scanning a directive", start_mark, problem, self.get_mark())
        if name not in ("YAML", "TAG"):  # PyYAML skips other directives, libyaml refuses them
            raise ScannerError(
                "while scanning a directive", start_mark, "found unknown directive name", self.get_mark()
            )
        return name

    def skip_blanks(self) -> None:
        while self.peek() in " \t":
            self.forward()

    def scan_yaml_directive_value(self, start_mark):
        self.skip_blanks()
        major = self.scan_yaml_directive_number(start_mark)
        if self.peek() != ".":
            problem = "did not find expected digit or '.' character"
            raise ScannerError("while scanning a %YAML directive", start_mark, problem, self.get_mark())
        self.forward()
        minor = self.scan_yaml_directive_number(start_mark)
        return major, minor

    def scan_tag_directive_value(self, start_mark):
        self.skip_blanks()
        handle = self.scan_tag_directive_handle(start_mark)
        self.skip_blanks()
        prefix = self.scan_tag_uri("directive", start_mark)
        if self.peek() not in _BLANKZ:
            problem = "did not find expected whitespace or line break"
            raise ScannerError("while scanning a %TAG directive", start_mark, problem, self.get_mark())
        return handle, prefix

    def scan_directive_ignored_line(self, start_mark) -> None:
        self.skip_blanks()
        if self.peek() == "#":
            while self.peek() not in _LINE_END:
                self.forward()
        if self.peek() not in _LINE_END:
            problem = "did not find expected comment or line break"
            raise ScannerError("while scanning a directive", start_mark, problem, self.get_mark())
        self.scan_line_break()

    def scan_yaml_directive_number(self, start_mark) -> int:
        length = 0
        while "0" <= self.peek(length) <= "9":
            length += 1
            if length > 9:  # libyaml's limit
                self.forward(length - 1)
                problem = "found extremely long version number"
                raise ScannerError("while scanning a %YAML directive", start_mark, problem, self.get_mark())
        if not length:
            problem = "did not find expected version number"
            raise ScannerError("while scanning a %YAML directive", start_mark, problem, self.get_mark())
        value = int(self.prefix(length))
        self.forward(length)
        return value

    def scan_tag_directive_handle(self, start_mark) -> str:
        value = self.scan_tag_handle("directive", start_mark)
        if self.peek() not in " \t":
            problem = "did not find expected whitespace"
            raise ScannerError("while scanning a %TAG directive", start_mark, problem, self.get_mark())
        return value

    def scan_tag_handle(self, name: str, start_mark) -> str:
        directive = name == "directive"
        if self.peek() != "!":
            context = "while scanning a tag directive" if directive else "while scanning a tag"
            raise ScannerError(context, start_mark, "did not find expected '!'", self.get_mark())
        length = 1
        while _is_alpha(self.peek(length)):
            length += 1
        if self.peek(length) == "!":
            length += 1
        elif directive and length > 1:  # a %TAG handle is '!', '!!' or '!name!'
            self.forward(length)
            raise ScannerError(
                "while parsing a tag directive", start_mark, "did not find expected '!'", self.get_mark()
            )
        value = self.prefix(length)
        self.forward(length)
        return value

    def scan_tag(self):
        """A tag, as libyaml reads one: `!<uri>`, `!handle!suffix` or `!suffix`; in a flow
        collection a ',' may end it."""
        start_mark = self.get_mark()
        if self.peek(1) == "<":
            self.forward(2)
            handle, suffix = None, self.tag_uri("tag", start_mark, verbatim=True)
            if self.peek() != ">":
                raise ScannerError("while scanning a tag", start_mark, "did not find the expected '>'", self.get_mark())
            self.forward()
        else:
            length = 1
            while _is_alpha(self.peek(length)):
                length += 1
            length += self.peek(length) == "!"
            text = self.prefix(length)
            self.forward(length)
            if length > 1 and text.endswith("!"):
                handle, suffix = text, self.tag_uri("tag", start_mark)
            else:  # not a handle after all: part of the suffix; a lone '!' is the non-specific tag
                handle, suffix = "!", self.tag_uri("tag", start_mark, head=text[1:])
                if not suffix:
                    handle, suffix = None, "!"
        if self.peek() not in _BLANKZ and not (self.flow_level and self.peek() == ","):
            problem = "did not find expected whitespace or line break"
            raise ScannerError("while scanning a tag", start_mark, problem, self.get_mark())
        return TagToken((handle, suffix), start_mark, self.get_mark())

    def scan_tag_uri(self, name: str, start_mark) -> str:  # a %TAG directive's prefix
        return self.tag_uri(name, start_mark, verbatim=True)

    def tag_uri(self, name: str, start_mark, head: str | None = None, verbatim: bool = False) -> str:
        """A tag's URI; only a verbatim tag's (and a directive's) may hold ',', '[' and ']'."""
        extra = _URI_CHARS + (",[]" if verbatim else "")
        chunks = [head] if head else []
        length = 0
        ch = self.peek()
        while _is_alpha(ch) or ch in extra:
            if ch == "%":
                chunks.append(self.prefix(length))
                self.forward(length)
                length = 0
                chunks.append(self.scan_uri_escapes(name, start_mark))
            else:
                length += 1
            ch = self.peek(length)
        if length:
            chunks.append(self.prefix(length))
            self.forward(length)
        if not chunks and head is None:
            context = "while parsing a %TAG directive" if name == "directive" else "while parsing a tag"
            raise ScannerError(context, start_mark, "did not find expected tag URI", self.get_mark())
        return "".join(chunks)

    def scan_block_scalar_indicators(self, start_mark):
        """A block scalar's chomping and indentation indicators; what follows them is checked by
        scan_block_scalar_ignored_line, as libyaml checks it (a comment may follow at once)."""
        chomping = increment = None
        for _ in range(2):
            ch = self.peek()
            if ch in "+-" and chomping is None:
                chomping = ch == "+"
            elif ch in "0123456789" and increment is None:
                if ch == "0":
                    problem = "found an indentation indicator equal to 0"
                    raise ScannerError("while scanning a block scalar", start_mark, problem, self.get_mark())
                increment = int(ch)
            else:
                break
            self.forward()
        return chomping, increment

    def scan_block_scalar_ignored_line(self, start_mark):
        while self.peek() in " \t":
            self.forward()
        if self.peek() == "#":
            while self.peek() not in _LINE_END:
                self.forward()
        if self.peek() not in _LINE_END:
            problem = "did not find expected comment or line break"
            raise ScannerError("while scanning a block scalar", start_mark, problem, self.get_mark())
        return self.scan_line_break()

    def scan_block_scalar(self, style):
        self.block_scalar_start = self.get_mark()
        return super().scan_block_scalar(style)

    def scan_block_scalar_indentation(self):
        """The line breaks before a block scalar's first line, and its indentation."""
        chunks = []
        max_indent = 0
        end_mark = self.get_mark()
        while True:
            while self.peek() == " ":
                self.forward()
            max_indent = max(max_indent, self.column)
            self.check_block_tab(0)
            if self.peek() not in _LINE_END or self.peek() == "\0":
                return chunks, max_indent, end_mark
            chunks.append(self.scan_line_break())
            end_mark = self.get_mark()

    def scan_block_scalar_breaks(self, indent: int):
        chunks = []
        end_mark = self.get_mark()
        while True:
            while self.column < indent and self.peek() == " ":
                self.forward()
            self.check_block_tab(indent)
            if self.peek() not in _LINE_END or self.peek() == "\0":
                return chunks, end_mark
            chunks.append(self.scan_line_break())
            end_mark = self.get_mark()

    def check_block_tab(self, indent: int) -> None:
        """libyaml refuses a tab where a block scalar's indentation is still being read."""
        if self.peek() == "\t" and (not indent or self.column < indent):
            problem = "found a tab character where an indentation space is expected"
            raise ScannerError("while scanning a block scalar", self.block_scalar_start, problem, self.get_mark())

    # ---- parser: libyaml places an empty value in a flow collection where the next token starts --

    def parse_node(self, block: bool = False, indentless_sequence: bool = False):
        event = super().parse_node(block, indentless_sequence)
        if isinstance(event, ScalarEvent) and event.tag == "!" and event.value == "" and event.style is None:
            event.implicit = (False, False)  # libyaml: a lone '!' on no value is the empty string, not null
        return event

    def parse_flow_mapping_key(self, first: bool = False):
        if not self.check_token(FlowMappingEndToken):
            if not first:
                if not self.check_token(FlowEntryToken):
                    token = self.peek_token()
                    problem = "did not find expected ',' or '}'"
                    raise ParserError("while parsing a flow mapping", self.marks[-1], problem, token.start_mark)
                self.get_token()
            if self.check_token(KeyToken):
                self.get_token()
                if not self.check_token(ValueToken, FlowEntryToken, FlowMappingEndToken):
                    self.states.append(self.parse_flow_mapping_value)
                    return self.parse_flow_node()
                self.state = self.parse_flow_mapping_value
                return self.process_empty_scalar(self.peek_token().start_mark)
            if not self.check_token(FlowMappingEndToken):
                self.states.append(self.parse_flow_mapping_empty_value)
                return self.parse_flow_node()
        token = self.get_token()
        self.state = self.states.pop()
        self.marks.pop()
        return MappingEndEvent(token.start_mark, token.end_mark)

    def parse_flow_mapping_value(self):
        if self.check_token(ValueToken):
            self.get_token()
            if not self.check_token(FlowEntryToken, FlowMappingEndToken):
                self.states.append(self.parse_flow_mapping_key)
                return self.parse_flow_node()
        self.state = self.parse_flow_mapping_key
        return self.process_empty_scalar(self.peek_token().start_mark)

    def parse_flow_sequence_entry_mapping_key(self):
        self.get_token()  # the key indicator
        if not self.check_token(ValueToken, FlowEntryToken, FlowSequenceEndToken):
            self.states.append(self.parse_flow_sequence_entry_mapping_value)
            return self.parse_flow_node()
        self.state = self.parse_flow_sequence_entry_mapping_value
        if self.check_token(FlowSequenceEndToken):
            return self.process_empty_scalar(self.peek_token().start_mark)
        return self.process_empty_scalar(self.get_token().end_mark)  # libyaml consumes the ':' or ','

    def parse_flow_sequence_entry_mapping_value(self):
        if self.check_token(ValueToken):
            self.get_token()
            if not self.check_token(FlowEntryToken, FlowSequenceEndToken):
                self.states.append(self.parse_flow_sequence_entry_mapping_end)
                return self.parse_flow_node()
        self.state = self.parse_flow_sequence_entry_mapping_end
        return self.process_empty_scalar(self.peek_token().start_mark)

    # ---- composer -------------------------------------------------------------------------------

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self.get_event()
            return self.aliased(event)
        if self.depth >= self.max_depth:
            return self.skip_node()
        self.check_anchor(event)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def aliased(self, event):
        if event.anchor not in self.anchors:
            raise ComposerError(None, None, "found undefined alias", event.start_mark)
        return self.anchors[event.anchor]

    def check_anchor(self, event) -> None:
        if event.anchor is not None and event.anchor in self.anchors:
            first = self.anchors[event.anchor].start_mark
            raise ComposerError(
                "found duplicate anchor; first occurrence", first, "second occurrence", event.start_mark
            )

    def skip_node(self):
        """Consume a node too deep for the walk, iteratively; a placeholder at its start stands for it.

        Its aliases and anchors are still checked, as libyaml checks them while composing.
        """
        event = self.get_event()
        placeholder = ScalarNode(_STR_TAG, "", event.start_mark, event.end_mark)
        levels = 0
        while True:
            if isinstance(event, AliasEvent):
                self.aliased(event)
            elif isinstance(event, (SequenceEndEvent, MappingEndEvent)):
                levels -= 1
            else:
                self.check_anchor(event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = placeholder
                levels += isinstance(event, CollectionStartEvent)
            if levels == 0:
                return placeholder
            event = self.get_event()


class UnlimitedLoader(PureLoader):
    """Reads past YAML's 1,000 levels (the scanner and parser do not recurse): for finding where
    a spec that YAML refuses as too deep first passes cnncalc's own, much lower, limit."""

    max_levels = sys.maxsize


def _too_deep(context: str, mark) -> ScannerError:
    return ScannerError(context, mark, "exceeded maximum nesting depth", mark)


# PyYAML's wording -> libyaml's, as (context, problem pattern) -> (context, problem, column shift of
# the problem's mark). A context of None matches any. The first match wins.
_WORDING: list[tuple[str | None, str, str | None, str, int]] = [
    (None, r"expected ',' or '\]', but got .*", None, "did not find expected ',' or ']'", 0),
    ("while parsing a block mapping", r"expected <block end>, but found .*", None, "did not find expected key", 0),
    (
        "while parsing a block collection",
        r"expected <block end>, but found .*",
        None,
        "did not find expected '-' indicator",
        0,
    ),
    (None, r"expected the node content, but found .*", None, "did not find expected node content", 0),
    (None, r"expected '<document start>', but found .*", None, "did not find expected <document start>", 0),
    (None, r"mapping values are not allowed here", None, "mapping values are not allowed in this context", 0),
    (None, r"sequence entries are not allowed here", None, "block sequence entries are not allowed in this context", 0),
    (None, r"mapping keys are not allowed here", None, "mapping keys are not allowed in this context", 0),
    (None, r"found character .* that cannot start any token", None, "found character that cannot start any token", 0),
    (
        "while scanning an (alias|anchor)",
        r"expected alphabetic or numeric character, but found .*",
        None,
        "did not find expected alphabetic or numeric character",
        0,
    ),
    (
        "while scanning a double-quoted scalar",
        r"found unknown escape character .*",
        "while parsing a quoted scalar",
        "found unknown escape character",
        -1,
    ),
    (
        "while scanning a double-quoted scalar",
        r"expected escape sequence of \d+ hexadecimal numbers, but found .*",
        "while parsing a quoted scalar",
        "did not find expected hexdecimal number",
        0,
    ),
    (None, r"found unexpected document separator", None, "found unexpected document indicator", 0),
    (
        "while scanning a tag",
        r"expected URI escape sequence of 2 hexadecimal numbers, but found .*",
        "while parsing a tag",
        "did not find URI escaped octet",
        -1,
    ),
    (None, r"found duplicate YAML directive", None, "found duplicate %YAML directive", 0),
    (None, r"found undefined tag handle .*", None, "found undefined tag handle", 0),
    (None, r"found incompatible YAML document .*", None, "found incompatible YAML document", 0),
    (None, r"duplicate tag handle .*", None, "found duplicate %TAG directive", 0),
]

_COMPILED = [
    (re.compile(context) if context else None, re.compile(problem), new_context, new_problem, shift)
    for context, problem, new_context, new_problem, shift in _WORDING
]


def as_libyaml(exc: MarkedYAMLError) -> MarkedYAMLError:
    """`exc` reworded (and its mark moved) as libyaml reports the same error; itself if unknown."""
    for context, problem, new_context, new_problem, shift in _COMPILED:
        if (context is None or context.fullmatch(exc.context or "")) and problem.fullmatch(exc.problem or ""):
            mark = exc.problem_mark
            if shift and mark is not None:
                mark = yaml.Mark(mark.name, mark.index + shift, mark.line, mark.column + shift, None, None)
            context_mark = exc.context_mark
            if new_problem == "found character that cannot start any token":
                context_mark = mark  # libyaml marks where it was scanning: the character itself
            return type(exc)(new_context or exc.context, context_mark, new_problem, mark)
    return exc
