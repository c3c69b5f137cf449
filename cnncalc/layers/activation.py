"""Activation functions: shape-neutral, and parameter-free except PReLU."""

from __future__ import annotations

from math import prod
from typing import ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    INPLACE,
    NEUTRAL,
    UNDEFINED,
    Choice,
    Field,
    Float,
    Int,
    LayerType,
    Saved,
    Shape,
)


class _Elementwise(LayerType):
    """An activation; `keeps` says which tensor its backward needs, as PyTorch 2.x does."""

    fields = (INPLACE,)
    keeps = "input"
    inplace_keeps_output = False  # leaky_relu and elu can work backward from their output
    keras_activation: ClassVar[str | None] = None  # keras.activations' name for the same function
    onnx_op: ClassVar[str | None] = None  # the ONNX operator computing it alone, without attributes

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node(self.onnx_op, [g.x]) if self.onnx_op else None

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Activation", self.keras_activation)] if self.keras_activation else None

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        if self.keeps == "input" and cfg.get("inplace"):
            if self.inplace_keeps_output:
                return (Saved("output", prod(shape)),)
            # the input is about to be overwritten, so autograd keeps a copy of it
            return (Saved("extra", prod(shape)),)
        return (Saved(self.keeps, prod(shape)),)

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return bool(cfg.get("inplace"))


class _KeepsOutput(_Elementwise):
    keeps = "output"


class ReLU(_KeepsOutput):
    """max(0, x), as torch.nn.ReLU.

    Example: [64, 55, 55] {} -> [64, 55, 55] params=0
    """

    type_name = "relu"
    keras_activation = "relu"
    torch_class = "nn.ReLU"
    onnx_op = "Relu"


class ReLU6(_Elementwise):
    """min(max(0, x), 6), as torch.nn.ReLU6 (MobileNet).

    Example: [32, 112, 112] {} -> [32, 112, 112] params=0
    """

    type_name = "relu6"
    keras_activation = "relu6"
    torch_class = "nn.ReLU6"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Clip", [g.x, g.scalar(0.0), g.scalar(6.0)])


class LeakyReLU(_Elementwise):
    """x for x > 0, negative_slope * x otherwise, as torch.nn.LeakyReLU.

    Example: [128] {negative_slope: 0.2} -> [128] params=0
    """

    type_name = "leaky_relu"
    torch_class = "nn.LeakyReLU"
    aliases = ("leakyrelu",)
    inplace_keeps_output = True
    main_field = "negative_slope"
    fields = (Field("negative_slope", Float(), 0.01, aliases=("alpha",)), INPLACE)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("LeakyReLU", cfg["negative_slope"])]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("LeakyRelu", [g.x], alpha=float(cfg["negative_slope"]))


class ELU(_Elementwise):
    """Exponential linear unit, as torch.nn.ELU.

    Example: [128] {alpha: 1.0} -> [128] params=0
    """

    type_name = "elu"
    torch_class = "nn.ELU"
    inplace_keeps_output = True
    main_field = "alpha"
    fields = (Field("alpha", Float(), 1.0), INPLACE)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("ELU", cfg["alpha"])]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Elu", [g.x], alpha=float(cfg["alpha"]))


class GELU(_Elementwise):
    """Gaussian error linear unit, as torch.nn.GELU (approximate: none or tanh).

    Example: [96, 56, 56] {} -> [96, 56, 56] params=0
    """

    type_name = "gelu"
    torch_class = "nn.GELU"
    fields = (Field("approximate", Choice("none", "tanh"), "none"),)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Activation", "gelu")] if cfg["approximate"] == "none" else None  # Keras's is exact

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Gelu", [g.x], approximate=cfg["approximate"])


class SiLU(_Elementwise):
    """x * sigmoid(x), also called swish, as torch.nn.SiLU.

    Example: [32, 112, 112] {} -> [32, 112, 112] params=0
    """

    type_name = "silu"
    keras_activation = "silu"
    torch_class = "nn.SiLU"
    aliases = ("swish",)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Mul", [g.x, g.node("Sigmoid", [g.x])])  # ONNX's Swish is opset 24's


class Mish(_Elementwise):
    """x * tanh(softplus(x)), as torch.nn.Mish.

    Example: [32, 64, 64] {} -> [32, 64, 64] params=0
    """

    type_name = "mish"
    keras_activation = "mish"
    torch_class = "nn.Mish"
    onnx_op = "Mish"


class Hardswish(_Elementwise):
    """Piecewise-linear swish (MobileNetV3), as torch.nn.Hardswish.

    Example: [16, 112, 112] {} -> [16, 112, 112] params=0
    """

    type_name = "hardswish"
    keras_activation = "hard_swish"
    torch_class = "nn.Hardswish"
    aliases = ("hard_swish",)
    onnx_op = "HardSwish"  # x·max(0, min(1, x/6 + 1/2)), torch's


class Hardsigmoid(_Elementwise):
    """Piecewise-linear sigmoid (MobileNetV3 gates), as torch.nn.Hardsigmoid.

    Example: [16, 1, 1] {} -> [16, 1, 1] params=0
    """

    type_name = "hardsigmoid"
    keras_activation = "hard_sigmoid"
    torch_class = "nn.Hardsigmoid"
    aliases = ("hard_sigmoid",)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("HardSigmoid", [g.x], alpha=1 / 6, beta=0.5)  # torch's slope; ONNX's default is 0.2


class Sigmoid(_KeepsOutput):
    """1 / (1 + exp(-x)), as torch.nn.Sigmoid.

    Example: [1] {} -> [1] params=0
    """

    type_name = "sigmoid"
    keras_activation = "sigmoid"
    torch_class = "nn.Sigmoid"
    onnx_op = "Sigmoid"
    fields = ()


class Tanh(_KeepsOutput):
    """Hyperbolic tangent, as torch.nn.Tanh (LeNet-5).

    Example: [6, 28, 28] {} -> [6, 28, 28] params=0
    """

    type_name = "tanh"
    keras_activation = "tanh"
    torch_class = "nn.Tanh"
    onnx_op = "Tanh"
    fields = ()


class _Normalising(_KeepsOutput):
    main_field = "dim"
    fields = (Field("dim", Int(), 1, aliases=("axis",), doc="axis to normalise over; the batch is 0"),)

    def keras_axis(self, cfg: dict, shape: Shape) -> int:
        return cfg["dim"] % (len(shape) + 1)  # Keras counts the batch as axis 0, as torch does

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        rank = len(shape) + 1
        if not -rank <= cfg["dim"] < rank:
            raise LayerError(
                f"dim {cfg['dim']} is out of range for a {rank}-axis tensor (batch included)",
                field="dim",
            )
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 3 * prod(out)  # exponential, sum and divide (or log) per element

    def receptive_window(self, cfg: dict, shape: Shape):
        axis = cfg["dim"] % (len(shape) + 1)  # with the batch as axis 0
        # normalising across the channels (or features) keeps each position's field;
        # across a spatial axis every output depends on that whole axis
        return NEUTRAL if axis <= 1 else UNDEFINED

    onnx_op: ClassVar[str]  # Softmax, LogSoftmax: along one axis, the batch axis 0 as in torch

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node(self.onnx_op, [g.x], axis=cfg["dim"])


class Softmax(_Normalising):
    """Softmax over `dim` (default 1: the features or channels), as torch.nn.Softmax.

    Example: [1000] {} -> [1000] params=0
    """

    type_name = "softmax"
    onnx_op = "Softmax"

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Softmax", self.keras_axis(cfg, shape))]

    torch_class = "nn.Softmax"
    torch_always = ("dim",)


class LogSoftmax(_Normalising):
    """log(softmax(x)) over `dim`, as torch.nn.LogSoftmax.

    Example: [10] {} -> [10] params=0
    """

    type_name = "log_softmax"
    torch_class = "nn.LogSoftmax"
    onnx_op = "LogSoftmax"

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        last = self.keras_axis(cfg, shape) == len(shape)
        return [keras_call("Activation", "log_softmax")] if last else None  # Keras's: over the last axis

    torch_always = ("dim",)
    aliases = ("logsoftmax",)


class PReLU(LayerType):
    """Leaky ReLU with a learned slope, as torch.nn.PReLU: one slope, or one per channel.

    Example: [64, 56, 56] {} -> [64, 56, 56] params=1
    Example: [64, 56, 56] {num_parameters: 64} -> [64, 56, 56] params=64
    """

    type_name = "prelu"
    torch_class = "nn.PReLU"
    main_field = "num_parameters"
    fields = (
        Field("num_parameters", Int(min=1), 1, doc="1, or the number of channels"),
        Field("init", Float(), 0.25),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        count = cfg["num_parameters"]
        if count not in (1, shape[0]):
            raise LayerError(
                f"num_parameters must be 1 or the {shape[0]:,} input channels, got {count:,}",
                field="num_parameters",
                code="shape.mismatch",
            )
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return cfg["num_parameters"]

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        # one slope shared along every axis, or along all but the channels (axis 1)
        from cnncalc.layers.keras_code import keras_call

        first = 1 if cfg["num_parameters"] == 1 else 2
        return [keras_call("PReLU", shared_axes=list(range(first, len(shape) + 1)))]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        from cnncalc.layers.onnx_code import ZEROS

        count = cfg["num_parameters"]
        slope = g.weight("weight", (count,), ZEROS)  # torch's [num_parameters], broadcast per channel
        if count > 1 and len(shape) > 1:
            slope = g.node("Reshape", [slope, g.ints([count] + [1] * (len(shape) - 1))])
        return g.node("PRelu", [g.x, slope])
