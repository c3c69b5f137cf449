"""How many layers a spec will expand to, worked out from the entries as written before
anything is expanded, so an oversize spec (`repeat: 1000` inside `repeat: 1000`) is refused
in milliseconds, at the entry that passes the limit."""

from __future__ import annotations

from cnncalc.errors import Loc
from cnncalc.yamlload import YNode

from .model import ENTRY_KEYS, MAX_LAYERS, MAX_NESTING, Block
from .report import Report, TooLarge


def is_count(value) -> bool:
    """A valid `repeat:` value."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LAYERS


def entry_parts(node: YNode, blocks: dict) -> tuple[object, YNode | None, dict[str, YNode]]:
    """(type, main argument, entry keys) of an entry as written, unchecked: to tell its size."""
    value = node.value
    if isinstance(value, str):
        return value, None, {}
    if not isinstance(value, dict):
        return None, None, {}
    common = {k: v for k, v in value.items() if k in ENTRY_KEYS}
    if "type" in value:
        return value["type"].value, None, common
    types = [k for k in value if k not in ENTRY_KEYS]
    if len(types) != 1:  # `- block:` with its arguments beside it
        types = [k for k in types if k in blocks]
    kind = types[0] if len(types) == 1 else None
    return kind, value.get(kind) if kind is not None else None, common


class Bounds:
    """Upper bounds on layer counts, per block worked out once; a bound past MAX_LAYERS is
    reported and raises TooLarge."""

    def __init__(self, report: Report, blocks: dict[str, Block]):
        self.report = report
        self.blocks = blocks
        self.per_block: dict[str, int] = {}  # block -> up to how many layers a call of it makes

    def of_entries(self, nodes: list, where: str, depth: int = 0) -> int:
        """Up to how many layers `nodes` expand to: block calls times their `repeat:` (`when:`
        can only leave layers out; an entry with `when: false` counts one, as the expansion still
        visits it). A computed `repeat:` counts once here; the call checks it."""
        if depth > 2 * MAX_NESTING:
            return 1  # the expansion reports the nesting
        total = 0
        for index, node in enumerate(nodes):
            total += self._of_entry(index, node, where, depth)
            if total > MAX_LAYERS:
                self.report.error(
                    "spec.too-large",
                    f"{where}layer {index + 1}: the spec expands to more than {MAX_LAYERS:,} layers: "
                    f"the entries up to this one make up to {total:,}",
                    node.loc,
                )
                raise TooLarge()
        return total

    def _of_entry(self, index: int, node: YNode, where: str, depth: int) -> int:
        """Up to how many layers one entry makes, from the entry as written."""
        kind, main, common = entry_parts(node, self.blocks)
        if "when" in common and common["when"].value is False:
            return 1  # no layer, but an entry the expansion visits (once, whatever its repeat:)
        if kind == "sequential":
            items = main.value if main is not None and isinstance(main.value, list) else []
            return self.of_entries(items, f"{where}the list in layer {index + 1}, ", depth + 1)
        block = self.blocks.get(kind) if isinstance(kind, str) else None
        if block is None:  # a layer (or several, for `outputs:`), or a type only a call's arguments tell
            outputs = common["outputs"].value if "outputs" in common else None
            return len(outputs) if isinstance(outputs, list) and outputs else 1
        size = self.of_block(block, depth + 1)
        repeat = common.get("repeat")
        times = repeat.value if repeat is not None and is_count(repeat.value) else 1
        if times > 1 and size * times > MAX_LAYERS:
            written = node.value.get("name") if isinstance(node.value, dict) else None
            written = written.value if isinstance(written, YNode) else None
            label = f"{where}layer {written!r}" if isinstance(written, str) else f"{where}layer {index + 1}"
            self.report.error(
                "spec.too-large",
                f"{label} ({block.name}): the spec expands to more than {MAX_LAYERS:,} layers: "
                f"repeat: {times:,} calls of {block.name!r}, up to {size:,} layers each, make up to {size * times:,}",
                repeat.loc,
            )
            raise TooLarge()
        return size * times

    def of_block(self, block: Block, depth: int) -> int:
        """Up to how many layers one call of `block` makes; worked out once per block."""
        if block.name not in self.per_block:
            self.per_block[block.name] = 1  # while it is worked out: a block using itself is reported when called
            self.per_block[block.name] = self.of_entries(block.layers, f"block {block.name!r}, ", depth)
        return self.per_block[block.name]

    def check_call(self, label: str, block: Block, repeat: int, made: int, common: dict, loc: Loc, depth: int):
        """Refuse a call that would pass MAX_LAYERS after `made` layers, before expanding it: its
        `repeat:` may be computed, and its block named by an argument, so the spec as written
        could not tell."""
        size = self.of_block(block, depth)
        if made + repeat * size <= MAX_LAYERS:
            return
        what = f"block {block.name!r} makes up to {size:,}"
        if "repeat" in common:
            each = f"up to {size:,} layers each"
            what = f"repeat: {repeat:,} calls of {block.name!r}, {each}, make up to {repeat * size:,}"
        self.report.error(
            "spec.too-large",
            f"{label}: the spec expands to more than {MAX_LAYERS:,} layers: {what}"
            + (f" after {made:,} layer{'' if made == 1 else 's'} before them" if made else ""),
            common["repeat"].loc if "repeat" in common else loc,
        )
        raise TooLarge()

    def check_repetitions_left(self, label: str, block: Block, repeat: int, done: int, made: int, smallest: int, node):
        """After `done` repetitions and `made` layers in all: refuse the call if the ones left, each
        making as many layers as the smallest so far, would pass MAX_LAYERS. (Repeats computed
        inside the block are known only once a call is expanded.)"""
        total = made + smallest * (repeat - done)
        if done < repeat and total > MAX_LAYERS:
            self.report.error(
                "spec.too-large",
                f"{label}: the spec expands to more than {MAX_LAYERS:,} layers: repeat: {repeat:,} calls of "
                f"{block.name!r}, {smallest:,} layers or more each so far, make about {total:,}",
                node.loc,
            )
            raise TooLarge()
