"""Safe YAML loading that keeps every value's line and column.

PyYAML's `safe_load` forgets where values came from and silently keeps the
last of two duplicate keys, so specs are composed into nodes and walked here
instead. Each value becomes a `YNode` holding its Python value and its `Loc`.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from yaml.nodes import ScalarNode, SequenceNode

from cnncalc.errors import Diagnostic, Loc, SpecError
from cnncalc.gcpause import paused

# libyaml (PyYAML's C parser) composes several times faster than PyYAML's pure-Python parser
# and is used when PyYAML was built with it; CNNCALC_PURE_YAML=1 (or setting PURE) selects the
# pure one, which gives the same trees, locations and diagnostics (tests/test_yaml_loaders.py).
HAVE_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))
PURE = os.environ.get("CNNCALC_PURE_YAML", "") not in ("", "0") or not HAVE_LIBYAML

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


class YNode:
    """A YAML value with its location; mappings also record their keys' locations.

    `value` is a dict[str, YNode], list[YNode], str, int, float, bool or None; `source`, inside
    a block, is the expression the value was computed from. A plain class with __slots__ (the
    loader makes one per value: about 60 bytes each instead of about 250 for a dataclass).
    """

    __slots__ = ("value", "loc", "key_locs", "source")

    def __init__(self, value: Any, loc: Loc, key_locs: dict[str, Loc] | None = None, source: str | None = None):
        self.value = value
        self.loc = loc
        self.key_locs = {} if key_locs is None else key_locs
        self.source = source

    def __repr__(self) -> str:
        return f"YNode(value={self.value!r}, loc={self.loc!r}, key_locs={self.key_locs!r}, source={self.source!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.value, self.loc, self.key_locs, self.source) == (
            other.value,  # type: ignore[attr-defined]
            other.loc,  # type: ignore[attr-defined]
            other.key_locs,  # type: ignore[attr-defined]
            other.source,  # type: ignore[attr-defined]
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    def plain(self) -> Any:
        """The value with every nested YNode unwrapped."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


# The loader's scalars and lists share one read-only empty key_locs (they have no keys).
class _Empty(dict):
    """The one empty, read-only mapping many values share (a scalar's key_locs, a layer with no
    fields written): it refuses changes, and copies and pickles as itself."""

    __slots__ = ()

    def _refuse(self, *arguments, **keywords):
        raise TypeError("this empty mapping is shared and read-only")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _refuse

    def __reduce__(self):
        return (_empty, ())


def _empty() -> _Empty:
    return EMPTY


EMPTY = _Empty()
_NO_KEYS: Any = EMPTY


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
    # The load makes two objects per value and frees none: the cycle collector, left on, would
    # walk the growing heap again and again (half the time of a 100,000-line spec).
    with paused():
        return _load(text[1:] if text[:1] == "\ufeff" else text, path)  # a byte order mark is no part of the text


def _load(text: str, path: str) -> YNode | None:
    # Both loaders refuse the same characters, but libyaml finds one only when it reads that far
    # and counts its offset in bytes: look for the first one here, the same way for both.
    refused = _NON_PRINTABLE.search(text)
    if refused is not None:
        message = (
            f"invalid YAML: character U+{ord(refused.group()):04X} is not allowed (control characters are not allowed)"
        )
        raise SpecError([Diagnostic("spec.syntax", message, _offset_to_loc(path, text, refused.start()))], text)
    loader = _new_loader(text)
    try:
        root = _compose(loader, text, path)
        if root is None:
            return None
        try:
            return _Walker(loader, path, text).walk(root, 0, None)
        except RecursionError:
            raise SpecError(
                [Diagnostic("spec.too-large", "spec is nested too deeply", _loc(path, root.start_mark))], text
            ) from None
    finally:
        loader.dispose()


_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE  # what YAML (PyYAML and libyaml alike) refuses


class _RememberingResolver:
    """Resolver.resolve, remembered per plain scalar's text: a spec repeats few words many times.

    Without path resolvers (SafeLoader has none) a plain scalar's tag depends on its text alone.
    """

    _REMEMBERED = 4096  # distinct texts remembered per load

    def __init__(self, stream) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        self.plain_tags: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is not ScalarNode or not implicit[0]:
            return yaml.resolver.Resolver.resolve(self, kind, value, implicit)  # type: ignore[arg-type]
        tag = self.plain_tags.get(value)
        if tag is None:
            tag = yaml.resolver.Resolver.resolve(self, kind, value, implicit)  # type: ignore[arg-type]
            if len(self.plain_tags) < self._REMEMBERED:
                self.plain_tags[value] = tag
        return tag


_loaders: dict[bool, type] = {}  # PURE -> the loader class, made when first used


def _new_loader(text: str):
    if PURE not in _loaders:
        if PURE:
            from cnncalc.yaml_pure import PureLoader as base  # only when used: not on the start-up path

            base.max_depth = MAX_DEPTH
        else:
            base = yaml.CSafeLoader
        _loaders[PURE] = type("Loader", (_RememberingResolver, base), {})
    return _loaders[PURE](text)


def _compose(loader, text: str, path: str):
    """The document's root node, composed with marks; SpecError for invalid YAML."""
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        if PURE:
            from cnncalc.yaml_pure import as_libyaml

            exc = as_libyaml(exc)
        if exc.problem == "exceeded maximum nesting depth":  # YAML's 1,000 levels: over ours, 64
            deep = _first_too_deep(text)
            if deep is not None:
                message = f"spec is nested more than {MAX_DEPTH} deep"
                raise SpecError([Diagnostic("spec.too-large", message, _loc(path, deep))], text) from None
        raise _syntax_error(exc, text, path) from None
    except RecursionError:  # not expected: both loaders stop at 1,000 levels
        raise SpecError([Diagnostic("spec.too-large", "spec is nested too deeply", Loc(path, 1, 1))], text) from None


def _first_too_deep(text: str):
    """The mark of the first value nested deeper than MAX_DEPTH, where the walk would refuse it,
    found from the parser's events (composing stops at YAML's own limit, far deeper)."""
    from cnncalc.yaml_pure import UnlimitedLoader  # the C scanner stops at the limit before any event

    loader = UnlimitedLoader(text)
    depth = 0
    anchors: dict[str, Any] = {}
    try:
        while True:
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent) and depth >= MAX_DEPTH:
                return anchors.get(event.anchor, event.start_mark)  # the walk sees the anchored value
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                if depth >= MAX_DEPTH:
                    return event.start_mark
                if event.anchor is not None:
                    anchors[event.anchor] = event.start_mark
                depth += isinstance(event, yaml.CollectionStartEvent)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the limit, or an error before it: no value that deep
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str) -> SpecError:
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
    return SpecError([Diagnostic("spec.syntax", f"invalid YAML: {problem}", _loc(path, mark))], text)


_STR_TAG = "tag:yaml.org,2002:str"
_CACHED_TAGS = frozenset(("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", _INT_TAG, _FLOAT_TAG))


class _Walker:
    """Turns composed nodes into YNodes, checking tags, keys, numbers, size and depth."""

    def __init__(self, loader, path: str, text: str):
        self.loader = loader
        self.path = path
        self.text = text
        self.count = 0
        self.scalars: dict[tuple[str, str], Any] = {}  # (tag, text) -> value, for plain numbers etc.

    def fail(self, code: str, message: str, mark) -> SpecError:
        return SpecError([Diagnostic(code, message, _loc(self.path, mark))], self.text)

    def walk(self, node, depth: int, top) -> YNode:
        """`node` at `depth` (the root is 0); `top` is the start of its top-level value."""
        self.count += 1
        if self.count > MAX_NODES:
            # blame the top-level value that exploded, not a leaf deep inside it
            raise self.fail(
                "spec.too-large",
                f"spec expands to more than {MAX_NODES:,} values; are aliases (*name) nested inside each other?",
                top if depth > 1 else node.start_mark,
            )
        if depth >= MAX_DEPTH:
            raise self.fail("spec.too-large", f"spec is nested more than {MAX_DEPTH} deep", node.start_mark)
        mark = node.start_mark
        loc = Loc(self.path, mark.line + 1, mark.column + 1)
        kind = node.__class__
        if kind is ScalarNode:
            return YNode(node.value if node.tag == _STR_TAG else self.scalar(node), loc, _NO_KEYS)
        inner = mark if depth == 1 else top
        if kind is SequenceNode:
            if node.tag != _SEQ_TAG:
                raise self.fail("spec.bad-tag", f"unsupported tag {node.tag!r}", mark)
            return YNode([self.walk(item, depth + 1, inner) for item in node.value], loc, _NO_KEYS)
        if node.tag != _MAP_TAG:
            raise self.fail("spec.bad-tag", f"unsupported tag {node.tag!r}", mark)
        return self._mapping(node, loc, depth + 1, inner)

    def scalar(self, node) -> Any:
        """The value of a scalar that is not a plain string."""
        key = (node.tag, node.value)
        if key in self.scalars:
            return self.scalars[key]
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
        self.check_scalar(node, value)
        if node.tag in _CACHED_TAGS:
            self.scalars[key] = value
        return value

    def check_scalar(self, node, value: Any) -> None:
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

    def _mapping(self, node, loc: Loc, depth: int, top) -> YNode:
        """A mapping whose items are at `depth`."""
        own: dict[str, YNode] = {}
        key_locs: dict[str, Loc] = {}
        merged: list[YNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(self.walk(value_node, depth, top))
                continue
            key = self.walk(key_node, depth, top).value
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
            own[key] = self.walk(value_node, depth, top)
            key_locs[key] = _loc(self.path, key_node.start_mark)
        self.merge(own, key_locs, merged)
        return YNode(own, loc, key_locs)

    def merge(self, own: dict[str, YNode], key_locs: dict[str, Loc], merged: list[YNode]) -> None:
        """`<<: *base` merges keys the mapping does not set itself."""
        for source in merged:
            sources = source.value if isinstance(source.value, list) else [source]
            for src in sources:
                if not isinstance(src.value, dict):
                    raise SpecError([Diagnostic("spec.bad-value", "'<<' must merge a mapping", src.loc)], self.text)
                for key, value in src.value.items():
                    if key not in own:
                        own[key] = value
                        key_locs[key] = src.key_locs[key]


def _shown(text: str) -> str:
    """A number as written, or its start and length when it is long."""
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} characters)"


def _out_of_range(text: str) -> str:
    return f"the number {_shown(text)} is out of range: a spec's numbers have at most {MAX_DIGITS} digits"
