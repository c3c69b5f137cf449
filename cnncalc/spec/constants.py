"""A spec's own constants: the top-level `let:`, usable in every layer and block of the spec, and
`--set NAME=VALUE` on the command line, which replaces one of them before any is worked out."""

from __future__ import annotations

import re

from cnncalc.errors import Loc
from cnncalc.yamlload import YNode

from .blocks import unusable_name
from .report import Report
from .substitute import INVALID, shown, substitute

_INT = re.compile(r"[-+]?\d+")  # any length: a number of more than 30 digits is refused as anywhere else
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")
MAX_OVERRIDE = 500  # characters in one --set value, as in an expression


def constants(report: Report, node: YNode | None, overrides: dict[str, str], taken: dict[str, str]) -> dict | None:
    """The spec's constants by name, worked out in the order written, each from the ones before
    it; `overrides` (from --set) replace the written values; `taken` names what a constant may
    not be called (layer types and blocks: {name: what it is}). None if any is wrong (reported:
    the layers that use it would only repeat the mistake)."""
    errors = len(report.diagnostics)
    values: dict = {}
    if node is not None and not isinstance(node.value, dict):
        report.error("spec.bad-value", "let: expected a mapping of names to values, e.g. {width_mult: 1.0}", node.loc)
        node = None
    written = node.value if node is not None else {}
    for key, value in written.items():
        problem = unusable_name(key) or (f"is the name of a {taken[key]}" if key in taken else None)
        if problem:
            report.error("spec.bad-name", f"let: {shown(key)} {problem}", node.key_locs[key])
            continue
        where = f"let: {key}"
        if key in overrides:
            value, where = _override(key, overrides[key], value.loc), f"--set {key}"
        computed = substitute(report, value, dict(values), where)
        if computed.value is not INVALID:
            values[key] = computed.plain()
    _unknown_overrides(report, overrides, written, node.loc if node is not None else Loc(report.path, 1, 1))
    return values if len(report.diagnostics) == errors else None


def _override(name: str, text: str, loc: Loc) -> YNode:
    """--set NAME=TEXT as a value: a number or true/false as YAML reads one, else text (which may be
    an expression of the constants before it, such as '2 * base')."""
    text = text.strip()[: MAX_OVERRIDE + 1]
    if _INT.fullmatch(text):
        return YNode(int(text), loc)
    if _FLOAT.fullmatch(text):
        return YNode(float(text), loc)
    if text in ("true", "false"):
        return YNode(text == "true", loc)
    return YNode(text, loc)


def _unknown_overrides(report: Report, overrides: dict[str, str], written: dict, loc: Loc) -> None:
    from cnncalc.layers import suggest

    for name in overrides:
        if name in written:
            continue
        hint = suggest(name, sorted(written)) if written else None
        known = f"its constants are {', '.join(sorted(written))}" if written else "it has no top-level `let:`"
        report.error(
            "spec.unknown-key",
            f"--set {shown(name)}: the spec has no constant of that name"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f"; {known}",
            loc,
        )
