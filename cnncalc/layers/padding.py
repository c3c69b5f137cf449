"""Padding layers at any rank, as torch.nn has them: zeros, a constant, reflection, replication
and circular (wrap-around) padding of [C, L], [C, H, W] or [C, D, H, W].

`padding` is an int for every side, or PyTorch's list of two per spatial axis, the LAST axis
first: (left, right) at rank 1, (left, right, top, bottom) at rank 2, and (left, right, top,
bottom, front, back) at rank 3. A negative value crops. One class per mode holds the rules,
generic over the number of spatial axes (`rank`); the registered types name their rank.
"""

from __future__ import annotations

from math import prod
from typing import Any, ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    MAX_INT,
    Field,
    FieldError,
    Float,
    Kind,
    LayerType,
    Saved,
    Shape,
    _describe,
    _is_int,
    axes_of,
)

# The sides `padding` lists, in PyTorch's order (the last axis first).
SIDES = {1: "(left, right)", 2: "(left, right, top, bottom)", 3: "(left, right, top, bottom, front, back)"}


class PadSizes(Kind):
    """A padding layer's `padding`: an int for every side, or 2·rank ints in PyTorch's order."""

    def __init__(self, rank: int):
        self.rank = rank
        self.expected = f"an integer or a list of {2 * rank} integers {SIDES[rank]}, the last axis first as in torch"

    def parse(self, value: Any) -> int | tuple[int, ...]:
        items = value if isinstance(value, list) else [value]
        if not all(_is_int(v) for v in items) or isinstance(value, list) and len(value) != 2 * self.rank:
            hint = ""
            if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
                # Keras: ((top, bottom), (left, right)), the first axis first
                hint = " (Keras's nested pairs, the first axis first, are written here as one flat list)"
            raise FieldError(f"expected {self.expected}, got {_describe(value)}{hint}")
        if any(abs(v) > MAX_INT for v in items):
            raise FieldError(f"expected {self.expected}, each of at most {MAX_INT:,} either way, got {value}")
        return tuple(value) if isinstance(value, list) else value


class _Pad(LayerType):
    """Padding of `rank` spatial axes: zeros or a constant here; the subclasses fill the border otherwise."""

    rank: ClassVar[int]
    main_field = "padding"
    torch_positional = ("padding",)

    def sides(self, cfg: dict) -> list[tuple[str, int, int]]:
        """(axis name, padding before, padding after) per spatial axis, the first axis first."""
        pads = cfg["padding"]
        if isinstance(pads, int):
            pads = (pads,) * (2 * self.rank)
        last = self.rank - 1
        return [(axis, pads[2 * (last - i)], pads[2 * (last - i) + 1]) for i, axis in enumerate(axes_of(self.rank))]

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, *spatial = shape
        out = []
        for (axis, before, after), size in zip(self.sides(cfg), spatial):
            self.check_axis(axis, size, before, after)
            size_out = size + before + after
            if size_out < 1:
                raise LayerError(
                    f"output {axis} would be {size_out}: input {axis} {size} with padding ({before}, {after})",
                    field="padding",
                    code="shape.nonpositive",
                )
            out.append(size_out)
        return (channels, *out)

    def check_axis(self, axis: str, size: int, before: int, after: int) -> None:
        """Refuse what torch refuses along one axis, beyond an output size < 1."""
        cropped = -min(before, 0) - min(after, 0)
        if cropped > size:
            raise LayerError(
                f"padding ({before}, {after}) along {axis} crops {cropped}, more than the input {axis} {size}",
                field="padding",
                code="shape.nonpositive",
            )

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # a copy

    onnx_mode: ClassVar[str] = "constant"  # ONNX Pad's mode: constant, reflect, edge or wrap

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        from cnncalc.layers.onnx_code import pads_of

        pads = g.ints(pads_of([(before, after) for _, before, after in self.sides(cfg)]))
        axes = g.ints(range(2, 2 + self.rank))
        value = g.scalar(cfg.get("value", 0.0)) if self.onnx_mode == "constant" else ""
        return g.node("Pad", [g.x, pads, value, axes], mode=self.onnx_mode)

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step

        spans = zip(self.sides(cfg), shape[1:], out[1:])
        return [Step(axis, "in + before + after", f"{n:,} + {b} + {a}", m) for (axis, b, a), n, m in spans]

    def receptive_window(self, cfg: dict, shape: Shape):
        # a border of width `before` moves the field's windows, as a convolution's padding does
        # (reflected, replicated or wrapped borders repeat real pixels, but the window is the same)
        return tuple((1, 1, before) for _, before, _ in self.sides(cfg))


class _ConstantPad(_Pad):
    """Zeros, or a constant: constant_pad_nd, whose backward slices the gradient, keeping no tensor."""

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call, zero_padding

        sides = self.sides(cfg)
        if cfg.get("value", 0) != 0 or any(before < 0 or after < 0 for _, before, after in sides):
            return None  # Keras pads with zeros, and crops with a layer of its own
        return [zero_padding(tuple((before, after) for _, before, after in sides)) or keras_call("Identity")]


class _ReflectionPad(_Pad):
    onnx_mode = "reflect"

    def check_axis(self, axis: str, size: int, before: int, after: int) -> None:
        if before >= size or after >= size:
            raise LayerError(
                f"reflection padding ({before}, {after}) along {axis} must be less than the input {axis} "
                f"{size} on each side",
                field="padding",
            )

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)),)  # reflection_pad's backward takes the input


class _ReplicationPad(_Pad):
    onnx_mode = "edge"

    def check_axis(self, axis: str, size: int, before: int, after: int) -> None:
        pass  # any width: the edge pixel repeats; a negative one crops, up to the output size

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)),)  # replication_pad's backward takes the input


class _CircularPad(_Pad):
    onnx_mode = "wrap"

    def check_axis(self, axis: str, size: int, before: int, after: int) -> None:
        cropped = -min(before, 0) - min(after, 0)
        if before > size or after > size or cropped <= size and max(before, after) > size - cropped:
            # torch's own rule is the first; past the second it copies between overlapping memory,
            # refused or not depending on the tensor's layout, and what it returns is not padding
            bound = f"the input {axis} {size}"
            if cropped and max(before, after) <= size:
                bound = f"the {size - cropped} left of {bound} after cropping {cropped}"
            raise LayerError(
                f"circular padding ({before}, {after}) along {axis} wraps around more than once: "
                f"at most {bound} on each side",
                field="padding",
            )
        super().check_axis(axis, size, before, after)  # cropping more than the input


_VALUE = Field("value", Float(), doc="the border's value (torch requires it)")


class ZeroPad1d(_ConstantPad):
    """Zero padding of [C, L], as torch.nn.ZeroPad1d; negative padding crops.

    Example: [16, 100] {padding: [2, 1]} -> [16, 103] params=0
    """

    type_name = "zero_pad1d"
    torch_class = "nn.ZeroPad1d"
    aliases = ("zeropad1d", "zeropadding1d")
    rank, input_rank = 1, 2
    fields = (Field("padding", PadSizes(1)),)


class ZeroPad2d(_ConstantPad):
    """Zero padding of [C, H, W], as torch.nn.ZeroPad2d; padding is (left, right, top, bottom).

    Example: [3, 32, 32] {padding: 1} -> [3, 34, 34] params=0
    Example: [64, 56, 56] {padding: [0, 1, 0, 1]} -> [64, 57, 57] params=0
    Example: [8, 10, 10] {padding: [-1, -1, 2, 0]} -> [8, 12, 8] params=0
    """

    type_name = "zero_pad2d"
    torch_class = "nn.ZeroPad2d"
    aliases = ("zeropad2d", "zeropadding2d")
    rank, input_rank = 2, 3
    fields = (Field("padding", PadSizes(2)),)


class ZeroPad3d(_ConstantPad):
    """Zero padding of [C, D, H, W], as torch.nn.ZeroPad3d; padding is (left, right, top, bottom, front, back).

    Example: [4, 8, 16, 16] {padding: [1, 1, 1, 1, 0, 0]} -> [4, 8, 18, 18] params=0
    """

    type_name = "zero_pad3d"
    torch_class = "nn.ZeroPad3d"
    aliases = ("zeropad3d", "zeropadding3d")
    rank, input_rank = 3, 4
    fields = (Field("padding", PadSizes(3)),)


class ConstantPad1d(_ConstantPad):
    """Constant padding of [C, L], as torch.nn.ConstantPad1d; `value` is required, as in torch.

    Example: [16, 100] {padding: 3, value: 0.5} -> [16, 106] params=0
    """

    type_name = "constant_pad1d"
    torch_class = "nn.ConstantPad1d"
    torch_positional = ("padding", "value")
    aliases = ("constantpad1d",)
    rank, input_rank = 1, 2
    fields = (Field("padding", PadSizes(1)), _VALUE)


class ConstantPad2d(_ConstantPad):
    """Constant padding of [C, H, W], as torch.nn.ConstantPad2d; `value` is required, as in torch.

    Example: [3, 32, 32] {padding: [1, 2, 3, 4], value: -1.0} -> [3, 39, 35] params=0
    """

    type_name = "constant_pad2d"
    torch_class = "nn.ConstantPad2d"
    torch_positional = ("padding", "value")
    aliases = ("constantpad2d",)
    rank, input_rank = 2, 3
    fields = (Field("padding", PadSizes(2)), _VALUE)


class ConstantPad3d(_ConstantPad):
    """Constant padding of [C, D, H, W], as torch.nn.ConstantPad3d; `value` is required, as in torch.

    Example: [2, 4, 8, 8] {padding: 1, value: 1} -> [2, 6, 10, 10] params=0
    """

    type_name = "constant_pad3d"
    torch_class = "nn.ConstantPad3d"
    torch_positional = ("padding", "value")
    aliases = ("constantpad3d",)
    rank, input_rank = 3, 4
    fields = (Field("padding", PadSizes(3)), _VALUE)


class ReflectionPad1d(_ReflectionPad):
    """Reflection padding of [C, L], as torch.nn.ReflectionPad1d: less than the length on each side.

    Example: [16, 100] {padding: 3} -> [16, 106] params=0
    """

    type_name = "reflection_pad1d"
    torch_class = "nn.ReflectionPad1d"
    aliases = ("reflectionpad1d",)
    rank, input_rank = 1, 2
    fields = (Field("padding", PadSizes(1)),)


class ReflectionPad2d(_ReflectionPad):
    """Reflection padding of [C, H, W], as torch.nn.ReflectionPad2d (CycleGAN, pix2pixHD).

    Each side's padding must be less than the input's size along that axis.

    Example: [3, 256, 256] {padding: 3} -> [3, 262, 262] params=0
    Example: [8, 5, 6] {padding: [5, 0, 4, 1]} -> [8, 10, 11] params=0
    """

    type_name = "reflection_pad2d"
    torch_class = "nn.ReflectionPad2d"
    aliases = ("reflectionpad2d",)
    rank, input_rank = 2, 3
    fields = (Field("padding", PadSizes(2)),)


class ReflectionPad3d(_ReflectionPad):
    """Reflection padding of [C, D, H, W], as torch.nn.ReflectionPad3d.

    Example: [4, 8, 16, 16] {padding: 1} -> [4, 10, 18, 18] params=0
    """

    type_name = "reflection_pad3d"
    torch_class = "nn.ReflectionPad3d"
    aliases = ("reflectionpad3d",)
    rank, input_rank = 3, 4
    fields = (Field("padding", PadSizes(3)),)


class ReplicationPad1d(_ReplicationPad):
    """Replication padding of [C, L] (the edge value repeated), as torch.nn.ReplicationPad1d.

    Example: [16, 10] {padding: [12, 0]} -> [16, 22] params=0
    """

    type_name = "replication_pad1d"
    torch_class = "nn.ReplicationPad1d"
    aliases = ("replicationpad1d",)
    rank, input_rank = 1, 2
    fields = (Field("padding", PadSizes(1)),)


class ReplicationPad2d(_ReplicationPad):
    """Replication padding of [C, H, W] (the edge pixels repeated), as torch.nn.ReplicationPad2d.

    Example: [3, 32, 32] {padding: 2} -> [3, 36, 36] params=0
    """

    type_name = "replication_pad2d"
    torch_class = "nn.ReplicationPad2d"
    aliases = ("replicationpad2d",)
    rank, input_rank = 2, 3
    fields = (Field("padding", PadSizes(2)),)


class ReplicationPad3d(_ReplicationPad):
    """Replication padding of [C, D, H, W], as torch.nn.ReplicationPad3d.

    Example: [4, 8, 16, 16] {padding: [1, 1, 1, 1, 2, 2]} -> [4, 12, 18, 18] params=0
    """

    type_name = "replication_pad3d"
    torch_class = "nn.ReplicationPad3d"
    aliases = ("replicationpad3d",)
    rank, input_rank = 3, 4
    fields = (Field("padding", PadSizes(3)),)


class CircularPad1d(_CircularPad):
    """Circular padding of [C, L] (wrapping around), as torch.nn.CircularPad1d: at most the length per side.

    Example: [16, 100] {padding: 2} -> [16, 104] params=0
    """

    type_name = "circular_pad1d"
    torch_class = "nn.CircularPad1d"
    aliases = ("circularpad1d",)
    rank, input_rank = 1, 2
    fields = (Field("padding", PadSizes(1)),)


class CircularPad2d(_CircularPad):
    """Circular padding of [C, H, W] (wrapping around, a torus), as torch.nn.CircularPad2d.

    Example: [3, 32, 32] {padding: 1} -> [3, 34, 34] params=0
    Example: [3, 4, 4] {padding: [4, 4, 0, 0]} -> [3, 4, 12] params=0
    """

    type_name = "circular_pad2d"
    torch_class = "nn.CircularPad2d"
    aliases = ("circularpad2d",)
    rank, input_rank = 2, 3
    fields = (Field("padding", PadSizes(2)),)


class CircularPad3d(_CircularPad):
    """Circular padding of [C, D, H, W], as torch.nn.CircularPad3d.

    Example: [4, 8, 16, 16] {padding: 1} -> [4, 10, 18, 18] params=0
    """

    type_name = "circular_pad3d"
    torch_class = "nn.CircularPad3d"
    aliases = ("circularpad3d",)
    rank, input_rank = 3, 4
    fields = (Field("padding", PadSizes(3)),)
