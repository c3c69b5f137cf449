"""Inside a block: a value with the call's argument names and expressions replaced by what
they are worth (`out_channels: planes * 4` -> 256), each computed value keeping its expression
as written (checked, then written anew) for the export."""

from __future__ import annotations

import re
from functools import lru_cache

from cnncalc.errors import Loc
from cnncalc.layers import suggest
from cnncalc.yamlload import YNode

from .fields import INVALID
from .model import HYPHENATED
from .report import Report

UNKNOWN = object()  # in_channels where the block's input shape cannot be worked out
# patterns for rare paths, compiled on first use (re keeps them), not at start-up
_IN_CHANNELS = r"\bin_channels\b"
_WORD = r"[A-Za-z_]\w*"
_OPERATOR = r"[-+*/%<>=]"


def substitute(report: Report, node: YNode, env: dict, where: str) -> YNode:
    """`node` with argument names and expressions replaced by their values; a value that
    cannot be had is reported (saying `where` it is written) and becomes INVALID."""
    report.charge(size(node), node.loc)  # the whole value, where it starts
    return _substituted(report, node, env, where)


def substitute_name(node: YNode, env: dict) -> YNode:
    """A type written as an argument's name: `- act` or `type: act` with act: hardswish."""
    if isinstance(node.value, str) and node.value in env:
        return to_node(env[node.value], node.loc)
    return node


def _substituted(report: Report, node: YNode, env: dict, where: str) -> YNode:
    value = node.value
    if isinstance(value, dict):
        items = {k: _substituted(report, v, env, f"{where}: {k}") for k, v in value.items()}
        if any(item.value is INVALID for item in items.values()):
            return YNode(INVALID, node.loc)  # reported: the value is checked no further
        return YNode(items, node.loc, node.key_locs)
    if isinstance(value, list):
        items = [_substituted(report, v, env, where) for v in value]
        if any(item.value is INVALID for item in items):
            return YNode(INVALID, node.loc)
        result = YNode(items, node.loc, node.key_locs)
        if any(item.source for item in items):
            result.source = "[" + ", ".join(python_source(item) for item in items) + "]"
        return result
    if not isinstance(value, str):
        return node
    if UNKNOWN in env.values() and re.search(_IN_CHANNELS, value):
        report.error(
            "spec.bad-expression",
            f"{where}: in {value!r}: in_channels is not known here: the "
            f"block's input is a layer defined later in the spec, or one that does not plan",
            node.loc,
        )
        return YNode(INVALID, node.loc)
    name = value.strip()
    if _is_name(name):
        if name not in env:
            return node
        report.charge(size(env[name]), node.loc)
        result = to_node(env[name], node.loc)
        result.source = name
        return result
    return _computed(report, node, env, f"{where}: in {quoted(value)}")


def _is_name(text: str) -> bool:
    from cnncalc import expressions

    return expressions.is_name(text)


def _computed(report: Report, node: YNode, env: dict, where: str) -> YNode:
    """A string that may be an expression: its value, itself (plain text), or INVALID (reported)."""
    from cnncalc import expressions

    value = node.value
    try:
        tree, names, source = _parsed(value)
    except expressions.ExpressionError as exc:
        report.error("spec.bad-expression", f"{where}: {exc}", node.loc)
        return YNode(INVALID, node.loc)
    if tree is None:
        return _not_an_expression(report, node, env, where)
    unknown = sorted(names - set(env))
    if unknown and re.fullmatch(HYPHENATED, value) and not any(suggest(n, sorted(env)) for n in unknown):
        return node  # plain text such as 'nearest-exact', not arithmetic
    if unknown:
        hint = suggest(unknown[0], sorted(env))
        report.error(
            "spec.bad-expression",
            f"{where}: no argument is named {unknown[0]!r}"
            + (f"; did you mean {hint!r}?" if hint else "")
            + (f" (known here: {', '.join(sorted(env))})" if env else ""),
            node.loc,
        )
        return YNode(INVALID, node.loc)
    try:
        computed = expressions.evaluate(tree, env)
    except expressions.ExpressionError as exc:
        report.error("spec.bad-expression", f"{where}: {exc}", node.loc)
        return YNode(INVALID, node.loc)
    report.charge(size(computed), node.loc)
    result = to_node(computed, node.loc)
    result.source = source
    return result


@lru_cache(maxsize=4096)
def _parsed(text: str):
    """(checked tree, the names it uses, its source written anew), or (None, ...) for text that is
    not an expression; once per text, however many calls use it (a tree is never changed)."""
    from cnncalc import expressions

    tree = expressions.parse(text)
    if tree is None:
        return None, frozenset(), None
    return tree, frozenset(expressions.names_in(tree)), expressions.python_source(tree)


def _not_an_expression(report: Report, node: YNode, env: dict, where: str) -> YNode:
    """Text that does not parse as an expression: plain text, unless it looks like a broken one."""
    value = node.value
    opened = value.count("(") > value.count(")")
    if set(re.findall(_WORD, value)) & set(env) and re.search(_OPERATOR, value) and not opened:
        report.error("spec.bad-expression", f"{where}: this is not a valid expression", node.loc)
        return YNode(INVALID, node.loc)
    if opened:
        report.split_expression = True
        report.error(
            "spec.bad-expression",
            f"{where}: the expression stops short; in a flow mapping such as {{a: f(x, y)}} YAML splits "
            f"at the comma, so quote the expression: 'f(x, y)'",
            node.loc,
        )
        return YNode(INVALID, node.loc)
    return node


def python_source(node: YNode) -> str:
    """A value as Python source: the expression it was computed from, or its literal."""
    return node.source if node.source is not None else repr(node.plain())


def size(value) -> int:
    """How many values a plain value (or a YNode) holds, itself included."""
    if isinstance(value, YNode):
        value = value.value
    if isinstance(value, dict):
        return 1 + sum(size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(size(v) for v in value)
    return 1


def to_node(value, loc: Loc) -> YNode:
    """A computed value as a located node, lists item by item."""
    if isinstance(value, YNode):
        return value
    if isinstance(value, list):
        return YNode([to_node(v, loc) for v in value], loc)
    if isinstance(value, dict):
        return YNode({k: to_node(v, loc) for k, v in value.items()}, loc, {k: loc for k in value})
    return YNode(value, loc)


def quoted(text: str, limit: int = 80) -> str:
    """An expression quoted in a message, cut to `limit` characters."""
    return shown(text if len(text) <= limit else text[: limit - 3] + "...")


def shown(text: str) -> str:
    """A name quoted in a message, control characters escaped."""
    return repr(text) if text.isprintable() else ascii(text)
