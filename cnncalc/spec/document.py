"""A spec's top level: its name, input shape, included and own blocks, layers and budget,
read into a Spec; every problem found is reported together (SpecError)."""

from __future__ import annotations

from cnncalc.errors import Loc
from cnncalc.layers.base import Shape, yaml_text
from cnncalc.layers.conventions import CONVENTIONS, PYTORCH, Convention
from cnncalc.yamlload import YNode

from . import blocks as block_definitions
from .expand import Expander
from .includes import Includes
from .model import NAME_PATTERN, NETWORK_INPUT, TOP_LEVEL_KEYS, Block, Group, LayerSpec, Spec, dependency_order
from .report import Report


def read(
    root: YNode | None, report: Report, default_name: str, files, overrides: dict[str, str], convention: str | None
) -> Spec:
    """The Spec a parsed file describes, its constants replaced by `overrides` (--set NAME=VALUE)
    and its `convention:` by `convention` (--convention) if given; raises SpecError (every
    diagnostic) if it is wrong."""
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
    types = _convention(report, top.get("convention"), convention)
    inputs = _inputs(report, root, misspelt)
    input_shape: Shape = next(iter(inputs.values()), ())
    includes = Includes(report, files, types)
    blocks = _blocks(report, top, includes, types)
    values = _constants(report, top.get("let"), overrides, blocks, types)
    root_group = Group("", "", None, Loc(path, 1, 1), -1)
    expander = Expander(report, blocks, root_group, inputs, includes.failed, types, constants=values or {})
    # with a wrong constant, the layers using it would only repeat the mistake
    layers = _layers(report, root, misspelt, expander if values is not None else None)
    outputs = _outputs(report, top.get("outputs"), layers, inputs, expander.groups) if layers else ()
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
        (top.get("input") or top.get("inputs") or root).loc,
        budget,
        tuple(group for group in expander.groups if group.layer_count),
        report.sources,
        blocks,
        root_group,
        tuple(expander.groups),
        inputs,
        outputs,
        values or {},
        types.name,
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


def _inputs(report: Report, root: YNode, misspelt: set) -> dict[str, Shape]:
    """The network's inputs by name: `input: [3, 224, 224]` is one called "input"; `inputs:` names
    several, `{image: [3, 64, 64], t: [1]}`, the first being what the first layer reads."""
    top = root.value
    if "input" in top and "inputs" in top:
        report.error(
            "spec.bad-value", "give `input:` (one input) or `inputs:` (named inputs), not both", top["inputs"].loc
        )
    if "input" in top:
        shape = _input_shape(report, top["input"], "input")
        return {NETWORK_INPUT: shape} if shape else {}
    if "inputs" not in top:
        if not {"input", "inputs"} & misspelt:
            report.error("spec.missing-key", "missing `input:`, the input shape, e.g. [3, 224, 224]", root.loc)
        return {}
    node = top["inputs"]
    if not isinstance(node.value, dict) or not node.value:
        report.error(
            "spec.bad-value",
            "inputs: expected a mapping of names to shapes, e.g. {image: [3, 64, 64], t: [1]}",
            node.loc,
        )
        return {}
    inputs = {}
    for key, value in node.value.items():
        if not isinstance(key, str) or not NAME_PATTERN.fullmatch(key) or key.isdigit():
            report.error(
                "spec.bad-name",
                f"inputs: {yaml_text(key)} is not a name (letters, digits, '_' or '-')",
                node.key_locs[key],
            )
            continue
        shape = _input_shape(report, value, f"inputs: {key}")
        if shape:
            inputs[key] = shape
    return inputs


def _input_shape(report: Report, node: YNode, where: str) -> Shape:
    items = node.value if isinstance(node.value, list) else None
    ok = bool(items) and all(isinstance(i.value, int) and not isinstance(i.value, bool) and i.value >= 1 for i in items)
    if not ok:
        report.error(
            "spec.bad-value",
            f"{where}: expected a shape such as [3, 224, 224] (channels, height, width) "
            f"or [784] (features), got {yaml_text(node.plain())}",
            node.loc,
        )
        return ()
    return tuple(i.value for i in items)


def _outputs(report: Report, node: YNode | None, layers: list[LayerSpec], inputs: dict, groups) -> tuple[str, ...]:
    """`outputs: [p3, p4, p5]`: the layers (or block calls: their last layers) whose values the
    network returns, checked to exist; none given, the last layer. A layer named like an input
    is refused here too."""
    names = {layer.name: layer for layer in layers}
    calls = {group.name: group.output for group in groups if group.output}
    lists = {group.name: group for group in groups}
    for name in inputs:
        if name in names and name != NETWORK_INPUT:
            report.error("spec.duplicate-name", f"layer name {name!r} is the name of an input", names[name].loc)
        elif name in lists and name != NETWORK_INPUT:
            report.error(
                "spec.duplicate-name", f"the block call or list {name!r} is the name of an input", lists[name].loc
            )
    if node is None:
        return ()
    items = node.value if isinstance(node.value, list) else [node]
    if not items:
        report.error("spec.bad-value", "outputs: expected a layer name or a list of them, got []", node.loc)
    outputs: list[str] = []
    for item in items:
        if not isinstance(item.value, str):
            report.error("spec.bad-value", "outputs: expected a layer name or a list of them", item.loc)
        elif item.value not in names and item.value not in calls:
            from cnncalc.layers import suggest

            hint = suggest(item.value, sorted(names))
            where = " (an input is not an output)" if item.value in inputs else ""
            message = f"outputs: no layer is named {item.value!r}{where}" + (
                f"; did you mean {hint!r}?" if hint else ""
            )
            report.error("graph.unknown-input", message, item.loc)
        elif calls.get(item.value, item.value) in outputs:
            report.error("spec.duplicate-name", f"outputs: {item.value!r} is listed twice", item.loc)
        else:
            outputs.append(calls.get(item.value, item.value))  # a call's output is its last layer's
    return tuple(outputs)


def _layers(report: Report, root: YNode, misspelt: set, expander: Expander | None) -> list[LayerSpec]:
    """The top-level `layers:`, expanded (unless `expander` is None); [] if missing or not a list
    (reported)."""
    top = root.value
    if "layers" not in top:
        if "layers" not in misspelt:
            report.error("spec.missing-key", "missing `layers:`, the list of layers", root.loc)
        return []
    if not isinstance(top["layers"].value, list) or not top["layers"].value:
        report.error("spec.bad-value", "layers: expected a non-empty list of layers", top["layers"].loc)
        return []
    return expander.layers(top["layers"].value) if expander is not None else []


def _convention(report: Report, node: YNode | None, override: str | None) -> Convention:
    """The spec's convention: --convention's, else `convention:`'s, else PyTorch's."""
    if override is not None:
        return CONVENTIONS[override]
    if node is None:
        return PYTORCH
    if node.value not in CONVENTIONS:
        choices = " or ".join(repr(name) for name in CONVENTIONS)
        report.error("spec.bad-value", f"convention: expected {choices}, got {yaml_text(node.value)}", node.loc)
        return PYTORCH
    return CONVENTIONS[node.value]


def _blocks(report: Report, top: dict, includes: Includes, types: Convention) -> dict[str, Block]:
    """The included files' blocks, then the spec's own; a name defined twice is reported."""
    found: list[Block] = []
    if "include" in top:
        found += includes.blocks(top["include"], report.path, [report.path])
    if "blocks" in top:
        found += block_definitions.definitions(report, top["blocks"], types).values()
    blocks: dict[str, Block] = {}
    for block in found:
        if block.name in blocks:
            first = blocks[block.name].loc
            message = f"block {block.name!r} is already defined at {first.file}:{first.line}"
            report.error("spec.duplicate-name", message, block.loc)
        else:
            blocks[block.name] = block
    for block in blocks.values():  # `type: name` would call the block, not read the argument
        for name in (*block.params, *block.let):
            if name in blocks:
                message = f"block {block.name!r}: argument {name!r} is the name of a block; call it something else"
                report.error("spec.bad-name", message, block.loc)
    return blocks


def _constants(
    report: Report, node: YNode | None, overrides: dict[str, str], blocks: dict[str, Block], types: Convention
) -> dict:
    if node is None and not overrides:  # most specs: no `let:`, nothing to read or check
        return {}
    from .constants import constants

    taken = {**{name: "layer type" for name in types.types}, **{name: "block" for name in blocks}}
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
