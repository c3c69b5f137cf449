"""Layers that join branches (add, concat, mul) and that reorder channels (channel_shuffle).

A merge names its inputs with `inputs: [a, b]`; see docs/spec.md. Messages refer to
input i as `input_ref(i)`, which the engine replaces with the layer's name and shape.
"""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import NEUTRAL, Field, Int, LayerType, Saved, Shape, parenthesised


def input_ref(position: int) -> str:
    """A placeholder for input `position`, replaced by "'conv3' [64, 56, 56]" in messages."""
    return f"\x00{position}\x00"


class _Merge(LayerType):
    merges = True
    functional = True

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:  # pragma: no cover - merges use output_shape_of
        return self.output_shape_of(cfg, [shape, shape])

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return prod(out) * (len(shapes) - 1)  # one add or multiply per element per extra input

    def keeps_receptive_field(self, cfg: dict, out: Shape) -> bool:
        """Whether each output pixel still sees one window of the input (the branches' fields joined)."""
        return True

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        return dict(sources[0])  # add, mul: the first input's sizes


class Add(_Merge):
    """Element-wise sum of two or more inputs: a residual connection. As torch's `+`, it
    broadcasts: each axis must match or be 1 in one input (a position embedding [1, E] added to
    tokens [L, E]); the inputs need the same number of axes, as `mul`'s do.

    Example: [64, 56, 56] + [64, 56, 56] -> [64, 56, 56] params=0
    Example: [197, 768] + [1, 768] -> [197, 768] params=0
    """

    type_name = "add"
    aliases = ("sum", "residual")

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        out = shapes[0]
        for position, shape in enumerate(shapes[1:], start=1):
            if len(shape) != len(out) or any(x != y and 1 not in (x, y) for x, y in zip(out, shape)):
                raise LayerError(
                    f"cannot add {input_ref(position)} to {input_ref(0)}: add needs equal shapes, or axes "
                    f"of size 1 to broadcast (a projection, e.g. a 1x1 convolution with a stride, can make "
                    f"them match)",
                    field="inputs",
                    code="shape.mismatch",
                )
            out = tuple(max(x, y) for x, y in zip(out, shape))
        return out

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Add")]

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return " + ".join(arguments)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        total = g.inputs[0]
        for other in g.inputs[1:]:  # broadcast as torch's +: the batch axis first in both
            total = g.node("Add", [total, other])
        return total


class Concat(_Merge):
    """Concatenation along `dim` (default 1, the channels; the batch is 0), as torch.cat.

    Example: [64, 28, 28] + [32, 28, 28] -> [96, 28, 28] params=0
    """

    type_name = "concat"
    aliases = ("cat", "concatenate")
    main_field = "dim"
    fields = (Field("dim", Int(), 1, aliases=("axis",), doc="axis to join along; the batch is 0"),)

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        rank = len(shapes[0])
        axis = cfg["dim"] + (rank + 1 if cfg["dim"] < 0 else 0) - 1  # without the batch axis
        if not 0 <= axis < rank:
            raise LayerError(f"dim {cfg['dim']} is out of range for {rank + 1}-axis tensors", field="dim")
        for position, shape in enumerate(shapes[1:], start=1):
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, shapes[0])) if i != axis):
                raise LayerError(
                    f"cannot concatenate {input_ref(position)} with {input_ref(0)} along dim {cfg['dim']}: "
                    f"every other axis must match",
                    field="inputs",
                    code="shape.mismatch",
                )
        return (*shapes[0][:axis], sum(shape[axis] for shape in shapes), *shapes[0][axis + 1 :])

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Concatenate", cfg["dim"])]  # both count the batch as axis 0

    def explain_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step

        axis = cfg["dim"] + (len(out) + 1 if cfg["dim"] < 0 else 0) - 1
        sizes = [shape[axis] for shape in shapes]
        what = "channels" if axis == 0 else f"axis {cfg['dim']}"
        return [Step(what, "the inputs' sizes along it, summed", " + ".join(f"{n:,}" for n in sizes), sum(sizes))]

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return 0  # a copy

    def keeps_receptive_field(self, cfg: dict, out: Shape) -> bool:
        # joined along a spatial axis, a pixel's neighbours come from another tensor
        return len(out) != 3 or cfg["dim"] % 4 == 1

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return f"torch.cat([{', '.join(arguments)}], dim={cfg['dim']})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Concat", list(g.inputs), axis=cfg["dim"])

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        if cfg["dim"] != 1 or not all(0 in symbols for symbols in sources):
            return {}
        return {0: " + ".join(parenthesised(symbols[0]) for symbols in sources)}  # the channels add up


class Mul(_Merge):
    """Element-wise product with broadcasting: a squeeze-and-excitation gate [C, 1, 1] times [C, H, W].

    Example: [64, 56, 56] * [64, 1, 1] -> [64, 56, 56] params=0
    """

    type_name = "mul"
    aliases = ("multiply",)

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        if len(shapes) != 2:
            raise LayerError(f"mul takes exactly two inputs, got {len(shapes)}", field="inputs")
        out = shapes[0]
        for position, shape in enumerate(shapes[1:], start=1):
            if len(shape) != len(out):
                # torch would line the shapes up from the right, batch axis included, and pair a
                # gate's batch with the image's height: keep the gate [C, 1, 1]
                raise LayerError(
                    f"cannot multiply {input_ref(0)} by {input_ref(position)}: the inputs need the same number of "
                    f"axes (a squeeze-and-excitation gate is [C, 1, 1]: global pooling with keepdims: true)",
                    field="inputs",
                    code="shape.mismatch",
                )
            a, b = out, shape
            if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
                raise LayerError(
                    f"cannot multiply {input_ref(0)} by {input_ref(position)}: each axis must match or be 1",
                    field="inputs",
                    code="shape.mismatch",
                )
            out = tuple(max(x, y) for x, y in zip(a, b))
        return out

    def saved_for_backward_of(self, cfg: dict, shapes: list[Shape], out: Shape):
        # each factor is kept for the other factor's gradient
        return tuple(Saved("input", prod(shape), position=i, needed_for="other") for i, shape in enumerate(shapes))

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Multiply")]

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return " * ".join(arguments)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Mul", list(g.inputs))


class ChannelShuffle(LayerType):
    """Interleave the channels of `groups` groups (ShuffleNet), as torch.nn.ChannelShuffle.

    Example: [116, 28, 28] {groups: 2} -> [116, 28, 28] params=0
    """

    type_name = "channel_shuffle"
    torch_class = "nn.ChannelShuffle"
    torch_positional = ("groups",)
    aliases = ("channelshuffle", "shuffle")
    main_field = "groups"
    input_rank = 3
    fields = (Field("groups", Int(min=1)),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        if shape[0] % cfg["groups"]:
            raise LayerError(f"groups={cfg['groups']} does not divide the {shape[0]:,} input channels", field="groups")
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # a copy

    def receptive_window(self, cfg: dict, shape: Shape):
        return NEUTRAL

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """[C, H, W] as [groups, C / groups, H, W], those two axes swapped, flattened back."""
        groups, (channels, *spatial) = cfg["groups"], shape
        split = g.reshape(g.x, (groups, channels // groups, *spatial))
        swapped = g.node("Transpose", [split], perm=[0, 2, 1, *range(3, 3 + len(spatial))])
        return g.reshape(swapped, shape)
