"""Safe YAML loading that keeps every value's line and column.

PyYAML's `safe_load` forgets where values came from and silently keeps the
last of two duplicate keys, so specs are composed into nodes and walked here
instead. Each value becomes a `YNode` holding its Python value and its `Loc`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cnncalc.errors import Diagnostic, Loc, SpecError

try:  # libyaml is several times faster when present
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

# Aliases share nodes, so a tiny file can describe an enormous tree
# ("billion laughs"); the walk stops after this many values.
MAX_NODES = 200_000
# Values nest at most this deep: the export writes argument values as Python literals, and
# Python refuses more than 200 nested brackets in one expression.
MAX_DEPTH = 64

# Numbers have at most this many digits (as in block expressions): a larger one is a mistake,
# and arithmetic, formatting or int() of it can take long or fail (Python refuses
# str() of an int over 4,300 digits)
MAX_DIGITS = 30
_MAX_NUMBER_TEXT = 100  # characters written for a number, refused before converting it

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class YNode:
    """A YAML value with its location; mappings also record their keys' locations."""

    value: Any  # dict[str, YNode] | list[YNode] | str | int | float | bool | None
    loc: Loc
    key_locs: dict[str, Loc] = field(default_factory=dict)
    source: str | None = None  # inside a block: the expression the value was computed from

    def plain(self) -> Any:
        """The value with every nested YNode unwrapped."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def _loc(path: str, mark) -> Loc:
    # PyYAML marks are 0-based; everything cnncalc shows is 1-based.
    return Loc(path, mark.line + 1, mark.column + 1)


def _offset_to_loc(path: str, text: str, offset: int) -> Loc:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Loc(path, line, column)


def load(text: str, path: str) -> YNode | None:
    """Parse `text` (the contents of `path`) into a located tree; None if empty.

    Raises SpecError for syntax errors, unsafe tags, duplicate keys, non-string
    keys and alias bombs.
    """
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            opened = exc.context_mark
            if exc.context and exc.problem:
                where = f" that starts at line {opened.line + 1}, column {opened.column + 1}" if opened else ""
                problem = f"{exc.problem} ({exc.context}{where})"
            lines = text.splitlines()
            if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
                problem += "; YAML does not allow tabs for indentation, use spaces"
            if opened is not None and mark is not None and not text[mark.index :].strip():
                # an unclosed bracket or quote is found only at the end of the file; point at its start
                mark, problem = opened, f"unexpected end of file: {problem}"
            raise SpecError([Diagnostic("spec.syntax", f"invalid YAML: {problem}", _loc(path, mark))], text) from None
        except yaml.reader.ReaderError as exc:  # carries an offset, not a mark
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            message = f"invalid YAML: character U+{code:04X} is not allowed ({exc.reason})"
            raise SpecError(
                [Diagnostic("spec.syntax", message, _offset_to_loc(path, text, exc.position))], text
            ) from None
        except RecursionError:
            raise SpecError(
                [Diagnostic("spec.too-large", "spec is nested too deeply", Loc(path, 1, 1))], text
            ) from None
        if root is None:
            return None
        try:
            return _Walker(loader, path, text).walk(root)
        except RecursionError:
            raise SpecError(
                [Diagnostic("spec.too-large", "spec is nested too deeply", _loc(path, root.start_mark))], text
            ) from None
    finally:
        loader.dispose()


class _Walker:
    def __init__(self, loader, path: str, text: str):
        self.loader = loader
        self.path = path
        self.text = text
        self.count = 0
        self.outermost: list = []  # start marks of the values being walked, outermost first

    def fail(self, code: str, message: str, mark) -> SpecError:
        return SpecError([Diagnostic(code, message, _loc(self.path, mark))], self.text)

    def walk(self, node) -> YNode:
        self.count += 1
        if self.count > MAX_NODES:
            # blame the top-level value that exploded, not a leaf deep inside it
            culprit = self.outermost[1] if len(self.outermost) > 1 else node.start_mark
            raise self.fail(
                "spec.too-large",
                f"spec expands to more than {MAX_NODES:,} values; are aliases (*name) nested inside each other?",
                culprit,
            )
        if len(self.outermost) >= MAX_DEPTH:
            raise self.fail("spec.too-large", f"spec is nested more than {MAX_DEPTH} deep", node.start_mark)
        self.outermost.append(node.start_mark)
        try:
            return self._walk(node)
        finally:
            self.outermost.pop()

    def _walk(self, node) -> YNode:
        loc = _loc(self.path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise self.fail("spec.bad-tag", f"unsupported tag {node.tag!r}", node.start_mark)
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self.fail("spec.bad-tag", f"unsupported tag {node.tag!r}", node.start_mark)
            return YNode([self.walk(item) for item in node.value], loc)
        if node.tag in (_INT_TAG, _FLOAT_TAG) and len(node.value) > _MAX_NUMBER_TEXT:
            raise self.fail("spec.bad-value", _out_of_range(node.value), node.start_mark)
        try:
            value = self.loader.construct_object(node)
        except yaml.constructor.ConstructorError:
            raise self.fail(
                "spec.bad-tag",
                f"unsupported tag {node.tag!r}: specs are loaded safely and hold plain values only",
                node.start_mark,
            ) from None
        except ValueError as exc:  # e.g. an integer longer than Python converts (4,300 digits)
            raise self.fail("spec.bad-value", f"unreadable value: {exc}", node.start_mark) from None
        if not isinstance(value, (str, int, float, bool, type(None))):
            # dates, binary and sets are valid YAML but mean nothing in a spec
            raise self.fail(
                "spec.bad-value",
                f"unsupported value {node.value!r} ({type(value).__name__}); quote it to make it a string",
                node.start_mark,
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):
                message = f"{_shown(node.value)} is not a number cnncalc computes with: a spec's numbers are finite"
                raise self.fail("spec.bad-value", message, node.start_mark)
            if abs(value) >= 10**MAX_DIGITS:
                raise self.fail("spec.bad-value", _out_of_range(node.value), node.start_mark)
        return YNode(value, loc)

    def _mapping(self, node, loc: Loc) -> YNode:
        own: dict[str, YNode] = {}
        key_locs: dict[str, Loc] = {}
        merged: list[YNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(self.walk(value_node))
                continue
            key = self.walk(key_node).value
            if not isinstance(key, str):
                shown = {list: "a list", dict: "a mapping"}.get(type(key)) or repr(key)
                raise self.fail("spec.bad-key", f"keys must be names, not {shown}", key_node.start_mark)
            if key in own:
                first = key_locs[key]
                raise self.fail(
                    "spec.duplicate-key",
                    f"duplicate key {key!r} (first defined at line {first.line}, column {first.column})",
                    key_node.start_mark,
                )
            own[key] = self.walk(value_node)
            key_locs[key] = _loc(self.path, key_node.start_mark)
        # `<<: *base` merges keys the mapping does not set itself
        for source in merged:
            sources = source.value if isinstance(source.value, list) else [source]
            for src in sources:
                if not isinstance(src.value, dict):
                    raise SpecError([Diagnostic("spec.bad-value", "'<<' must merge a mapping", src.loc)], self.text)
                for key, value in src.value.items():
                    if key not in own:
                        own[key] = value
                        key_locs[key] = src.key_locs[key]
        return YNode(own, loc, key_locs)


def _shown(text: str) -> str:
    """A number as written, or its start and length when it is long."""
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} characters)"


def _out_of_range(text: str) -> str:
    return f"the number {_shown(text)} is out of range: a spec's numbers have at most {MAX_DIGITS} digits"
