"""A block call's own keys, checked before it is expanded: how many repetitions (`repeat:`),
named how (`repeat_name:`), the first one's arguments (`first:`); a call that would make too
many layers is refused here, before any of it is made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.layers.base import yaml_text
from cnncalc.yamlload import YNode

from .bounds import is_count
from .fields import INVALID
from .model import MAX_LAYERS, MAX_NESTING, NAME_PATTERN, Block
from .report import Report, TooLarge

if TYPE_CHECKING:
    from .expand import Expander, Scope
    from .expand import _Item as Item


class Call:
    """A block call's own keys, checked: how many repetitions, named how, the first one's arguments."""

    __slots__ = ("block", "item", "scope", "repeat", "repeated", "pattern", "first")

    def __init__(self, block: Block, item: Item, scope: Scope, repeat: int, repeated: bool, pattern: str, first):
        self.block, self.item, self.scope = block, item, scope
        self.repeat = repeat
        self.repeated = repeated  # written with `repeat:` (even `repeat: 1`): its repetitions are groups
        self.pattern = pattern
        self.first: YNode | None = first

    @classmethod
    def of(cls, expander: Expander, block: Block, item: Item, scope: Scope) -> Call | None:
        """The call, or None if it cannot be expanded (reported); refuses one too large."""
        report, label, common = expander.report, item.label, item.common
        if len(scope.blocks_open) >= MAX_NESTING:
            report.error("spec.too-large", f"{label}: blocks are nested more than {MAX_NESTING} deep", item.node.loc)
            raise TooLarge()
        if block.name in scope.blocks_open:
            chain = " -> ".join((*scope.blocks_open, block.name))
            report.error("spec.block-cycle", f"{label}: blocks use each other without end: {chain}", item.node.loc)
            return None
        if not item.inputs:  # its `inputs:` were wrong (reported): nothing to call the block with
            return None
        if len(item.inputs) != len(block.inputs):
            report.error(
                "graph.arity",
                f"{label}: block {block.name!r} takes {len(block.inputs)} input(s) ({', '.join(block.inputs)}), "
                f"got {len(item.inputs)}",
                common["inputs"].loc if "inputs" in common else item.node.loc,
            )
            return None
        repeat = _repeat_count(report, label, common.get("repeat"))
        if "repeat" in common and len(block.inputs) != 1:
            report.error("spec.bad-value", f"{label}: repeat: needs a block with one input", common["repeat"].loc)
            repeat = 1
        first = _first(report, label, common)
        made = len(expander.drafts)
        expander.bounds.check_call(label, block, repeat, made, common, item.node.loc, len(scope.blocks_open))
        pattern = _repeat_pattern(report, label, common)
        return cls(block, item, scope, repeat, "repeat" in common, pattern, first)


def _first(report: Report, label: str, common: dict) -> YNode | None:
    """`first: {stride: 2}`: the first repetition's arguments."""
    first = common.get("first")
    if first is not None and "repeat" not in common:
        report.error(
            "spec.bad-value", f"{label}: first: sets the first repetition's arguments; it needs repeat:", first.loc
        )
        return None
    if first is not None and not isinstance(first.value, dict):
        report.error(
            "spec.bad-value", f"{label}: first: expected a mapping of arguments, e.g. {{stride: 2}}", first.loc
        )
        return None
    return first


def _repeat_count(report: Report, label: str, node: YNode | None) -> int:
    if node is None or node.value is INVALID:
        return 1
    if is_count(node.value):
        return node.value
    report.error(
        "spec.bad-value",
        f"{label}: repeat: expected an integer from 1 to {MAX_LAYERS:,}, got {yaml_text(node.plain())}",
        node.loc,
    )
    return 1


def _repeat_pattern(report: Report, label: str, common: dict) -> str:
    """How repetitions are named: '{i}' (0, 1, 2, as nn.Sequential), or e.g. 'denselayer{n}'
    (denselayer1, denselayer2: {n} counts from 1)."""
    node = common.get("repeat_name")
    if node is None:
        return "{i}"
    text = node.value
    if "repeat" not in common:
        report.error("spec.bad-value", f"{label}: repeat_name: needs repeat:", node.loc)
    elif not isinstance(text, str) or not NAME_PATTERN.fullmatch(text.replace("{i}", "0").replace("{n}", "1")):
        report.error(
            "spec.bad-value",
            f"{label}: repeat_name: expected a name with {{i}} (counting from 0) or {{n}} (from 1), "
            f"e.g. 'denselayer{{n}}', got {yaml_text(text)}",
            node.loc,
        )
    elif "{i}" not in text and "{n}" not in text:
        report.error(
            "spec.bad-value",
            f"{label}: repeat_name: {text!r} needs {{i}} or {{n}}, or every repetition has the same name",
            node.loc,
        )
    else:
        return text
    return "{i}"
