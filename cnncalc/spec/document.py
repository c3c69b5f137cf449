"""A spec's top level: its name, input shape, included and own blocks, layers and budget,
read into a Spec; every problem found is reported together (SpecError)."""

from __future__ import annotations

from cnncalc.errors import Loc
from cnncalc.layers.base import Shape, yaml_text
from cnncalc.yamlload import YNode

from . import blocks as block_definitions
from .expand import Expander
from .includes import Includes
from .model import TOP_LEVEL_KEYS, Block, Group, LayerSpec, Spec, dependency_order
from .report import Report


def read(root: YNode | None, report: Report, default_name: str, files, overrides: dict[str, str]) -> Spec:
    """The Spec a parsed file describes, its constants replaced by `overrides` (--set NAME=VALUE);
    raises SpecError (every diagnostic) if it is wrong."""
    path = report.path
    if root is None:
        report.error("spec.empty", "spec is empty; it needs `input:` and `layers:`", Loc(path, 1, 1))
        raise report.fail()
    if not isinstance(root.value, dict):
        report.error("spec.bad-value", "a spec is a mapping with `input:` and `layers:`", root.loc)
        raise report.fail()
    top = root.value
    misspelt = {
        report.unknown_key(k, TOP_LEVEL_KEYS, root.key_locs[k], "at the top level")
        for k in top
        if k not in TOP_LEVEL_KEYS
    }
    name = _name(report, top, default_name)
    input_shape: Shape = ()
    if "input" in top:
        input_shape = _input_shape(report, top["input"])
    elif "input" not in misspelt:
        report.error("spec.missing-key", "missing `input:`, the input shape, e.g. [3, 224, 224]", root.loc)
    includes = Includes(report, files)
    blocks = _blocks(report, top, includes)
    values = _constants(report, top.get("let"), overrides, blocks)
    root_group = Group("", "", None, Loc(path, 1, 1), -1)
    expander = Expander(report, blocks, root_group, input_shape, quiet=includes.failed, constants=values or {})
    layers: list[LayerSpec] = []
    if "layers" not in top:
        if "layers" not in misspelt:
            report.error("spec.missing-key", "missing `layers:`, the list of layers", root.loc)
    elif not isinstance(top["layers"].value, list) or not top["layers"].value:
        report.error("spec.bad-value", "layers: expected a non-empty list of layers", top["layers"].loc)
    elif values is not None:  # with a wrong constant, the layers using it would only repeat the mistake
        layers = expander.layers(top["layers"].value)
    order = _order(report, layers) if not report.diagnostics else ()
    budget = _budget(report, top["budget"]) if "budget" in top else None
    if report.diagnostics:
        raise report.fail()
    root_group.block = name
    return Spec(
        name,
        top["description"].value if "description" in top else None,
        input_shape,
        layers,
        path,
        report.text,
        top["input"].loc if "input" in top else root.loc,
        budget,
        tuple(group for group in expander.groups if group.layer_count),
        report.sources,
        blocks,
        root_group,
        tuple(expander.groups),
    ).ordered(order)


def _name(report: Report, top: dict, default_name: str) -> str:
    if "description" in top and not isinstance(top["description"].value, str):
        report.error("spec.bad-value", "description: expected a string", top["description"].loc)
    if "name" not in top:
        return default_name
    if isinstance(top["name"].value, str) and top["name"].value.strip():
        return top["name"].value
    report.error("spec.bad-value", "name: expected a non-empty string", top["name"].loc)
    return default_name


def _input_shape(report: Report, node: YNode) -> Shape:
    items = node.value if isinstance(node.value, list) else None
    ok = bool(items) and all(isinstance(i.value, int) and not isinstance(i.value, bool) and i.value >= 1 for i in items)
    if not ok:
        report.error(
            "spec.bad-value",
            f"input: expected a shape such as [3, 224, 224] (channels, height, width) "
            f"or [784] (features), got {yaml_text(node.plain())}",
            node.loc,
        )
        return ()
    return tuple(i.value for i in items)


def _blocks(report: Report, top: dict, includes: Includes) -> dict[str, Block]:
    """The included files' blocks, then the spec's own; a name defined twice is reported."""
    found: list[Block] = []
    if "include" in top:
        found += includes.blocks(top["include"], report.path, [report.path])
    if "blocks" in top:
        found += block_definitions.definitions(report, top["blocks"]).values()
    blocks: dict[str, Block] = {}
    for block in found:
        if block.name in blocks:
            first = blocks[block.name].loc
            message = f"block {block.name!r} is already defined at {first.file}:{first.line}"
            report.error("spec.duplicate-name", message, block.loc)
        else:
            blocks[block.name] = block
    return blocks


def _constants(report: Report, node: YNode | None, overrides: dict[str, str], blocks: dict[str, Block]) -> dict:
    from cnncalc.layers import REGISTRY

    from .constants import constants

    taken = {**{name: "layer type" for name in REGISTRY}, **{name: "block" for name in blocks}}
    return constants(report, node, overrides, taken)


def _order(report: Report, layers: list[LayerSpec]) -> tuple[int, ...]:
    """Every layer after its inputs, worked out once; a cycle is reported."""
    order, cycle = dependency_order(layers)
    if cycle:
        report.error(
            "graph.cycle",
            "layers form a cycle, each reading the next: " + " -> ".join(layers[i].name for i in cycle),
            layers[cycle[0]].loc,
        )
    return order


def _budget(report: Report, node: YNode):
    from cnncalc.budget import parse_budget

    return parse_budget(node, report)
