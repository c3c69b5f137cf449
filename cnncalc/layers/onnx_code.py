"""ONNX nodes for the PyTorch convention's types, for `cnncalc export --to onnx`: each type's
`onnx_nodes(cfg, shape, g)` adds the nodes that compute it to `g`, an OnnxLayer, and returns
the value that holds its output (None where ONNX has no exact equivalent yet; g.refuse says why).

Pure: the nodes are plain records here; cnncalc/export/onnx.py turns them into the onnx
package's protos. Tensors carry the batch axis first, as in torch, so a spec's `dim` (the batch
axis 0) is the ONNX axis as it stands.
"""

from __future__ import annotations

from typing import Any

from cnncalc.layers.base import Shape

# how an initializer starts: zeros by default (ones where torch starts a scale or a variance
# at one); with --random-weights, seeded values of the same kind
WEIGHT, BIAS, ONES, ZEROS, VARIANCE = "weight", "bias", "ones", "zeros", "variance"


class Node:
    __slots__ = ("op", "inputs", "outputs", "attributes", "name")

    def __init__(self, op: str, inputs: list[str], outputs: list[str], attributes: dict, name: str):
        self.op, self.inputs, self.outputs, self.attributes, self.name = op, inputs, outputs, attributes, name


class Initializer:
    __slots__ = ("name", "shape", "start", "fan_in")

    def __init__(self, name: str, shape: tuple[int, ...], start: str, fan_in: int):
        self.name, self.shape, self.start, self.fan_in = name, shape, start, fan_in


class Constant:
    """A small constant (a Reshape's shape, a Pad's amounts): a Constant node, not a weight."""

    __slots__ = ("values", "dtype", "dims")

    def __init__(self, values: list, dtype: str, dims: tuple[int, ...]):
        self.values, self.dtype, self.dims = values, dtype, dims


class OnnxLayer:
    """What one spec layer adds to the graph: nodes named after it, initializers named as torch's
    state_dict names its tensors (`layer1.0.conv1.weight`)."""

    def __init__(self, name: str, inputs: list[str], shapes: list[Shape], out: Shape):
        self.name = name
        self.value = name  # its output's name: the layer's, unless a tensor it holds is named so
        self.inputs = inputs  # the values it reads, the batch axis first
        self.shapes = shapes  # their shapes without the batch axis
        self.out = out
        self.nodes: list[Node] = []
        self.initializers: list[Initializer] = []
        self.constants: dict[str, Constant] = {}
        self.left_out = 0  # buffers torch keeps that the graph does not need (num_batches_tracked)
        self.reason: str | None = None

    @property
    def x(self) -> str:
        return self.inputs[0]

    def refuse(self, reason: str) -> None:
        """No exact equivalent: say why (onnx_nodes then returns None)."""
        self.reason = reason

    def weight(self, suffix: str, shape: tuple[int, ...], start: str = WEIGHT, fan_in: int = 1) -> str:
        name = f"{self.name}.{suffix}" if suffix else self.name  # "": a tensor the layer is itself
        if name == self.name:  # as torch names it (a layer scale); the output then takes another name
            self.value = f"{self.name}/output"
        self.initializers.append(Initializer(name, tuple(shape), start, max(fan_in, 1)))
        return name

    def ints(self, values, dims: tuple[int, ...] | None = None) -> str:
        return self._constant(Constant([int(v) for v in values], "int64", (len(values),) if dims is None else dims))

    def floats(self, values, dims: tuple[int, ...] | None = None) -> str:
        return self._constant(Constant([float(v) for v in values], "float", (len(values),) if dims is None else dims))

    def scalar(self, value: float) -> str:
        return self.floats([value], ())

    def _constant(self, constant: Constant) -> str:
        name = f"{self.name}/const_{len(self.constants)}"
        self.constants[name] = constant
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        """Add one node reading `inputs` ("" for an optional input left out); return its output."""
        output = f"{self.name}/{op}_{len(self.nodes)}"
        self.nodes.append(Node(op, list(inputs), [output], attributes, f"{self.name}/{op}_{len(self.nodes)}"))
        return output

    def reshape(self, value: str, shape: Shape) -> str:
        """`value` as [batch, *shape]: 0 keeps the batch axis, whatever its size."""
        return self.node("Reshape", [value, self.ints([0, *shape])])

    def identity(self) -> str:
        return self.node("Identity", [self.x])


def pads_of(pairs) -> list[int]:
    """ONNX's pads from (before, after) per spatial axis: every before, then every after."""
    return [before for before, _ in pairs] + [after for _, after in pairs]


def _order(place: tuple) -> tuple:
    file, line, column = place
    return (file or "", line or 0, column or 0)


def refusal_lines(refused: list, source: str | None) -> list[str]:
    """The export's refusal, from (planned layer, reason) pairs: a line for each refused layer,
    one for all the calls of a block's layer (the first named), with its line and type."""
    seen: dict[tuple, list] = {}
    for row, reason in refused:
        loc = row.spec.loc  # a layer of a block may be written in an included file
        place = (loc.file if loc.file not in (None, "", "<stdin>") else source, loc.line, loc.column)
        seen.setdefault((place, row.type_name, reason), []).append(row)
    lines = []
    for ((file, line, column), type_name, reason), rows in sorted(seen.items(), key=lambda item: _order(item[0][0])):
        where = f"{file}:{line}:{column}: " if file else f"line {line}, column {column}: "
        others = f" (and {len(rows) - 1} more of its block's calls)" if len(rows) > 1 else ""
        why = reason or f"the ONNX export has no {type_name} yet"
        lines.append(f"{where}layer {rows[0].name!r}{others} ({type_name}): {why}")
    return ["cannot export to ONNX:", *lines]
