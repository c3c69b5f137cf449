"""Blocks: their definitions under `blocks:` (arguments with defaults, `let:` values, named
inputs, layers), and binding a call's arguments to them."""

from __future__ import annotations

import keyword
import re

from cnncalc.errors import Loc
from cnncalc.layers import suggest
from cnncalc.layers.conventions import Convention
from cnncalc.yamlload import EMPTY, YNode

from .fields import INVALID
from .model import ENTRY_KEYS, NETWORK_INPUT, REQUIRED_ARGUMENT, RESERVED_ARGUMENTS, Block
from .report import Report
from .substitute import quoted, shown, substitute

BLOCK_KEYS = ("args", "let", "inputs", "layers", "description")


def unusable_name(name: str) -> str | None:
    """Why `name` cannot name a block's argument or `let:` value, or None if it can. Such names
    become Python names in the exported code, so they are identifiers that are not keywords,
    builtins, dunder names or names that code uses."""
    import builtins

    from cnncalc import expressions

    if not expressions.is_name(name):
        return "is not a name (letters, digits and '_', not starting with a digit, at most 100 characters)"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name in expressions.FUNCTIONS:
        return "is a function of the expression language"
    if name in RESERVED_ARGUMENTS:
        return "is kept for cnncalc's own use (entry keys, the repetition index i, the exported code's names)"
    if name.startswith("__"):
        return "starts with '__', as Python's own names do"
    if hasattr(builtins, name):
        return "is a Python builtin name"
    return None


def definitions(report: Report, node: YNode, types: Convention) -> dict[str, Block]:
    """The blocks of a `blocks:` mapping; a wrong one is reported and left out. `types`: the
    spec's convention, whose layer type names no block may take."""
    if not isinstance(node.value, dict):
        report.error("spec.bad-value", "blocks: expected a mapping of block names to definitions", node.loc)
        return {}
    blocks = {}
    for name, definition in node.value.items():
        block = _definition(report, name, definition, node.key_locs[name], types)
        if block is not None:
            blocks[name] = block
    return blocks


def _definition(report: Report, name: str, node: YNode, name_loc: Loc, types: Convention) -> Block | None:
    from cnncalc import expressions

    label = f"block {name!r}"
    if not expressions.is_name(name):
        report.error("spec.bad-name", f"{label}: a block's name is letters, digits and '_', at most 100", name_loc)
        return None
    if types.lookup(name) is not None or name == "sequential":
        # reported once, here; still defined, so that its calls are not also read as that layer type
        report.error("spec.bad-name", f"{label}: {name!r} is a layer type; give the block another name", name_loc)
    if isinstance(node.value, list):  # a block with no arguments: just its layers
        node = YNode({"layers": node}, node.loc, {"layers": node.loc})
    if not isinstance(node.value, dict):
        report.error("spec.bad-value", f"{label}: expected a mapping with `layers:` (and `args:`)", node.loc)
        return None
    for key in node.value:
        if key not in BLOCK_KEYS:
            report.unknown_key(key, BLOCK_KEYS, node.key_locs[key], f"in {label}")
    params = _params(report, label, node.value.get("args"))
    let = _let(report, label, node.value.get("let"), params)
    inputs = _inputs(report, label, node.value.get("inputs"))
    layers = node.value.get("layers")
    if layers is None or not isinstance(layers.value, list) or not layers.value:
        report.error(
            "spec.missing-key" if layers is None else "spec.bad-value",
            f"{label}: layers: expected a non-empty list of layers",
            layers.loc if layers is not None else node.loc,
        )
        return None
    uses = "in_channels" not in params and _mentions(node, "in_channels")
    return Block(name, params, let, inputs, layers.value, name_loc, uses)


def _let(report: Report, label: str, node: YNode | None, params: dict) -> dict[str, YNode]:
    """`let: {width: planes * 4}`: values computed once per call from the arguments."""
    let: dict[str, YNode] = {}
    if node is None:
        return let
    if not isinstance(node.value, dict):
        report.error("spec.bad-value", f"{label}: let: expected a mapping, e.g. {{width: planes * 4}}", node.loc)
        return let
    for key, value in node.value.items():
        problem = "is already an argument" if key in params else unusable_name(key)
        if problem:
            report.error("spec.bad-name", f"{label}: let: {shown(key)} {problem}", node.key_locs[key])
        let[key] = value
    return let


def _inputs(report: Report, label: str, node: YNode | None) -> tuple[str, ...]:
    """`inputs: [x, skip]`: what the block's layers call its inputs."""
    from cnncalc import expressions

    if node is None:
        return (NETWORK_INPUT,)
    items = node.value if isinstance(node.value, list) else [node]
    names = [i.value for i in items]
    if not items or not all(isinstance(n, str) and expressions.is_name(n) for n in names):
        report.error("spec.bad-value", f"{label}: inputs: expected names, e.g. [x, skip]", node.loc)
    elif len(set(names)) < len(names):
        report.error("spec.bad-value", f"{label}: inputs: each input needs its own name, got {names}", node.loc)
    else:
        return tuple(names)
    return (NETWORK_INPUT,)


def _params(report: Report, label: str, node: YNode | None) -> dict[str, YNode | object]:
    """`args: [planes, stride: 1]` or `args: {planes: 64}`: names with their defaults."""
    if node is None:
        return {}
    items = node.value if isinstance(node.value, list) else [node] if isinstance(node.value, dict) else None
    params: dict[str, YNode | object] = {}
    if items is None:
        report.error("spec.bad-value", f"{label}: args: expected a list such as [planes, stride: 1]", node.loc)
        return params
    for item in items:
        if isinstance(item.value, str):
            pairs = [(item.value, REQUIRED_ARGUMENT, item.loc)]
        elif isinstance(item.value, dict):
            pairs = [(key, value, item.key_locs[key]) for key, value in item.value.items()]
        else:
            report.error("spec.bad-value", f"{label}: args: expected a name or `name: default`", item.loc)
            continue
        for key, default, loc in pairs:
            problem = unusable_name(key)
            if problem:
                report.error("spec.bad-name", f"{label}: args: {shown(key)} {problem}; choose another name", loc)
            elif key in params:
                report.error("spec.bad-value", f"{label}: args: {key!r} is given twice", loc)
            else:
                ok = _check_default(report, label, key, default, params)
                params[key] = default if ok else YNode(INVALID, default.loc)
    return params


def _check_default(report: Report, label: str, key: str, default, earlier: dict) -> bool:
    """A default computed from other arguments may use only those before it; every branch of it
    is checked here, once, even where every call passes the argument. False: reported."""
    from cnncalc import expressions

    if default is REQUIRED_ARGUMENT or not isinstance(default.value, str):
        return True
    try:
        tree = expressions.parse(default.value)
    except expressions.ExpressionError as exc:
        report.error("spec.bad-expression", f"{label}: args: {key}: in {quoted(default.value)}: {exc}", default.loc)
        return False
    names = expressions.names_in(tree) if tree is not None else set()
    later = sorted(names - set(earlier) - {"in_channels"})
    if later:
        hint = suggest(later[0], list(earlier))
        report.error(
            "spec.bad-expression",
            f"{label}: args: {key}: in {default.value!r}: no argument is named {later[0]!r} before {key!r}"
            + (f"; did you mean {hint!r}?" if hint else "")
            + " (a default may use only the arguments listed before it)",
            default.loc,
        )
    return not later


def _mentions(node: YNode, word: str) -> bool:
    """Whether any text in the tree uses `word` as a name."""
    value = node.value
    if isinstance(value, dict):
        return any(_mentions(v, word) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, word) for v in value)
    return isinstance(value, str) and re.search(rf"\b{word}\b", value) is not None


def _is_expression_default(default, params: dict) -> bool:
    """A default computed from other arguments (`mid: c // 4`, `out: c`), not a plain value."""
    from cnncalc import expressions

    if default is REQUIRED_ARGUMENT or not isinstance(default.value, str):
        return False
    try:
        return expressions.parse(default.value) is not None or default.value.strip() in (*params, "in_channels")
    except expressions.ExpressionError:
        return True


def bind(report: Report, block: Block, label: str, arguments: dict[str, YNode], loc: Loc, key_locs, known, outer=EMPTY):
    """The block's argument values for one call, then its `let:` values; None if any is wrong.
    `known` holds names the call gives besides its arguments (in_channels); `outer` the spec's
    constants, which the defaults and `let:` values may use but never replace."""
    if not arguments and not block.params and not block.let:
        return dict(known)  # nothing to bind (a block of plain layers, called many times)
    env: dict = dict(known)
    misspelt: set = set()  # arguments an unknown key probably meant: not also reported missing
    ok = True
    for key, node in arguments.items():
        if node.value is INVALID:  # reported already; not also missing
            ok = False
            misspelt.add(key)
        elif _argument_refused(report, block, label, key, node, key_locs.get(key, node.loc), misspelt):
            ok = False
        else:
            env[key] = node.plain()
    required = {p for p, d in block.params.items() if d is REQUIRED_ARGUMENT}
    ok = ok and not (misspelt & required - set(env))
    for param in (p for p in block.params if p in required and p not in env and p not in misspelt):
        report.error("spec.missing-key", f"{label}: block {block.name!r} needs argument {param!r}", loc)
        ok = False
    if not ok:  # defaults and `let:` values computed from missing arguments would only add noise
        return None
    for param, default in block.params.items():
        if param not in env:  # a default may use the arguments before it: `args: [c, mid: c // 4]`
            env[param] = substitute(report, default, {**outer, **env}, f"{label}: argument {param}").plain()
    for key, node in block.let.items():
        env[key] = substitute(report, node, {**outer, **env}, f"{label}: let: {key}").plain()
    if any(value is INVALID for value in env.values()):
        return None
    return env


def _argument_refused(report: Report, block: Block, label: str, key: str, node: YNode, where: Loc, misspelt) -> bool:
    """Report what is wrong with one argument of a call, if anything; True if it is refused."""
    if key == "":
        report.error(
            "spec.bad-value",
            f"{label}: write the block's arguments as a mapping, e.g. `- {block.name}: "
            f"{{{', '.join(f'{p}: ...' for p in block.params) or ''}}}`",
            node.loc,
        )
    elif key in ENTRY_KEYS and key not in block.params:
        report.error(
            "spec.misplaced-key",
            f"{label}: {key!r} goes beside the block's name, not among its arguments: write "
            f"`- {{type: {block.name}, {key}: ..., ...}}`, or put `{key}:` on its own line under `- {block.name}: ...`",
            where,
        )
    elif report.split_expression and key.count(")") > key.count("("):
        pass  # the rest of an expression YAML split at a comma: reported already
    elif key not in block.params:
        hint = suggest(key, list(block.params))
        misspelt.add(hint)
        known = ", ".join(block.params) or "none"
        report.error(
            "spec.unknown-key",
            f"{label}: block {block.name!r} has no argument {key!r}"
            + (f"; did you mean {hint!r}?" if hint else f"; its arguments are: {known}"),
            where,
        )
    elif node.value is None and _is_expression_default(block.params[key], block.params):
        report.error(
            "spec.bad-value",
            f"{label}: {key}: null is not a value here; leave the argument out for its default "
            f"({quoted(block.params[key].value)})",
            node.loc,
        )
    else:
        return False
    return True
