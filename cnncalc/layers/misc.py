"""Shape-neutral helpers: dropout, identity, rescale, layer scale and stochastic depth; learned tensors."""

from __future__ import annotations

from math import prod
from typing import Any

from cnncalc.layers.base import (
    INPLACE,
    MAX_INT,
    UNDEFINED,
    Choice,
    Field,
    FieldError,
    Float,
    Int,
    Kind,
    LayerType,
    Saved,
    Shape,
    check_inferred,
    yaml_text,
)


class Dropout(LayerType):
    """Dropout, as torch.nn.Dropout: no parameters, shape unchanged.

    Example: [4096] {p: 0.5} -> [4096] params=0
    """

    type_name = "dropout"
    torch_class = "nn.Dropout"
    main_field = "p"
    fields = (Field("p", Float(min=0, max=1), 0.5, aliases=("rate",)), INPLACE)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Dropout", cfg["p"])]

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # nothing at inference

    def mask_elements(self, shape: Shape) -> int:
        return prod(shape)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.identity()  # inference passes the input on (Dropout1d/2d/3d too)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the scaled keep-mask, in the activations' dtype; p = 0 and p = 1 need none
        return (Saved("extra", self.mask_elements(shape)),) if 0 < cfg["p"] < 1 else ()

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        # an identity at inference, and at p = 0 (ATen's dropout returns its input)
        return cfg["inplace"] or not training or cfg["p"] == 0


class _ChannelDropout(Dropout):
    """Channel dropout: zeroes whole feature maps, one keep-or-drop per channel."""

    def mask_elements(self, shape: Shape) -> int:
        return shape[0]  # one keep-or-drop per channel

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import CHANNELS_FIRST, keras_call

        rank = len(shape) - 1
        if rank == 1:
            return None  # Keras's SpatialDropout1D takes channels-last tensors only
        return [keras_call(f"SpatialDropout{rank}D", cfg["p"], data_format=CHANNELS_FIRST)]


class Dropout1d(_ChannelDropout):
    """Channel dropout over [C, L], as torch.nn.Dropout1d: zeroes whole channels.

    Example: [64, 100] {p: 0.2} -> [64, 100] params=0
    """

    type_name = "dropout1d"
    torch_class = "nn.Dropout1d"
    aliases = ("spatial_dropout1d", "spatialdropout1d")
    input_rank = 2


class Dropout2d(_ChannelDropout):
    """Channel dropout, as torch.nn.Dropout2d: zeroes whole feature maps.

    Example: [64, 28, 28] {p: 0.2} -> [64, 28, 28] params=0
    """

    type_name = "dropout2d"
    torch_class = "nn.Dropout2d"
    aliases = ("spatial_dropout2d", "spatialdropout2d")
    input_rank = 3


class Dropout3d(_ChannelDropout):
    """Channel dropout over [C, D, H, W], as torch.nn.Dropout3d: zeroes whole volumes.

    Example: [32, 8, 16, 16] {p: 0.1} -> [32, 8, 16, 16] params=0
    """

    type_name = "dropout3d"
    torch_class = "nn.Dropout3d"
    aliases = ("spatial_dropout3d", "spatialdropout3d")
    input_rank = 4


class Identity(LayerType):
    """A placeholder that passes its input on, as torch.nn.Identity.

    Example: [3, 32, 32] {} -> [3, 32, 32] params=0
    """

    type_name = "identity"
    torch_class = "nn.Identity"

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Identity")]

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.identity()

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class Rescale(LayerType):
    """x * scale + offset, for a constant scale and offset: attention's C ** -0.5 on the scores,
    or Keras's Rescaling (pixels from [0, 255] to [0, 1]). Written in forward() as the product
    and sum; no parameters, no MACs (torch.utils.flop_counter counts none), and autograd keeps
    nothing for backward.

    Example: [256, 256] {scale: 0.0625} -> [256, 256] params=0
    Example: [3, 224, 224] {scale: 0.00392156862745098, offset: -0.5} -> [3, 224, 224] params=0
    """

    type_name = "rescale"
    aliases = ("rescaling",)
    functional = True
    main_field = "scale"
    fields = (
        Field("scale", Float(), doc="the factor, e.g. c ** -0.5"),
        Field("offset", Float(), 0.0, doc="added after the product"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Rescaling", cfg["scale"], offset=cfg["offset"], defaults={"offset": 0.0})]

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        text = arguments[0]
        scale, offset = cfg["scale"], cfg["offset"]  # numbers, or a Code attribute in a block's class
        if scale != 1:
            text = f"{text} * {scale}"
        if isinstance(offset, (int, float)) and offset < 0:
            return f"{text} - {-offset}"
        return f"{text} + {offset}" if offset != 0 else text

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        scaled = g.node("Mul", [g.x, g.scalar(cfg["scale"])])
        return g.node("Add", [scaled, g.scalar(cfg["offset"])]) if cfg["offset"] != 0 else scaled


class LayerScale(LayerType):
    """A learned scale per channel, multiplied into [C, H, W] (ConvNeXt, CaiT): C parameters.

    torchvision's ConvNeXt keeps it as the block's `layer_scale` parameter, [C, 1, 1],
    starting at 1e-6. The export holds it the same way (a parameter of the block, not a module),
    so a torchvision ConvNeXt's state_dict loads into it.

    Example: [96, 56, 56] {} -> [96, 56, 56] params=96
    """

    type_name = "layer_scale"
    aliases = ("layerscale",)
    input_rank = 3
    inferred_field = "num_channels"
    torch_class = "layer_scale_parameter"
    torch_positional = ("num_channels",)
    fields = (
        Field("num_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("init", Float(), 1e-6, doc="the scale's starting value"),
    )
    torch_helper = '''def layer_scale_parameter(num_channels: int, init: float = 1e-6) -> nn.Parameter:
    """A learned scale per channel, [C, 1, 1], held by its block as torchvision's ConvNeXt holds it."""
    return nn.Parameter(torch.full((num_channels, 1, 1), float(init)))
'''

    def torch_call(self, member: str, arguments: list[str]) -> str:
        return f"{member} * {arguments[0]}"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_inferred(cfg, "num_channels", shape[0], "channels")
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return shape[0]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        from cnncalc.layers.onnx_code import ONES

        return g.node("Mul", [g.weight("", (shape[0], 1, 1), ONES), g.x])  # named as the layer, as in torch

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="params"),)  # for the scale's gradient


class StochasticDepth(LayerType):
    """Stochastic depth (drop path), as torchvision.ops.StochasticDepth: in training, zeroes the
    whole input for a random `p` of the samples ("row") or of the batches ("batch") and scales
    the rest by 1 / (1 - p); at inference it passes the input on. Shape-neutral, no parameters.

    Example: [96, 56, 56] {p: 0.1} -> [96, 56, 56] params=0
    """

    type_name = "stochastic_depth"
    aliases = ("drop_path", "droppath", "stochasticdepth")
    torch_class = "StochasticDepth"
    torch_positional = ("p", "mode")
    main_field = "p"
    fields = (
        Field("p", Float(min=0, max=1), doc="the probability of dropping the input"),
        Field("mode", Choice("row", "batch"), "row", doc="row: per sample; batch: the whole batch at once"),
    )
    torch_helper = '''class StochasticDepth(nn.Module):
    """Drops the input for a random share p of the samples in training (torchvision.ops.StochasticDepth)."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        keep = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
        if self.p < 1.0:
            keep.div_(1 - self.p)
        return x * keep
'''

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # nothing at inference

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.identity()  # inference passes the input on

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        if cfg["p"] == 0:
            return ()
        # the keep-or-drop factor: one per sample, or one for the whole batch
        return (Saved("extra", 1, per_sample=cfg["mode"] == "row"),)

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return not training or cfg["p"] == 0


class _Shape(Kind):
    expected = "a shape: a list of integers >= 1, e.g. [1, 768]"

    def parse(self, value: Any) -> tuple[int, ...]:
        items = value if isinstance(value, list) else None
        if not items or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_INT for v in items):
            raise FieldError(f"expected {self.expected}, got {yaml_text(value)}")
        return tuple(items)


class Parameter(LayerType):
    """A learned tensor that reads no input: ViT's class token and position embedding, a DETR
    query: prod(shape) parameters, repeated over the batch (a view, no activation memory). (In
    the examples below the input shape is the network's, which the layer does not read.)

    In PyTorch: an nn.Parameter of shape [1, *shape] held by the module (as torchvision's ViT
    holds its class_token), expanded to the batch. `std` 0 starts it at zeros, else normal with that deviation.

    Example: [3, 224, 224] {shape: [1, 768]} -> [1, 768] params=768
    Example: [768, 14, 14] {shape: [197, 768], std: 0.02} -> [197, 768] params=151296
    """

    type_name = "parameter"
    aliases = ("learned_tensor",)
    takes_input = False
    main_field = "shape"
    torch_class = "learned_tensor"
    torch_positional = ("shape",)
    fields = (
        Field("shape", _Shape(), doc="the tensor's shape without the batch axis"),
        Field("std", Float(min=0), 0.0, doc="0: zeros; else a normal start with this deviation"),
    )
    torch_helper = '''def learned_tensor(shape: tuple[int, ...], std: float = 0.0) -> nn.Parameter:
    """A learned tensor with no input (a class token, a position embedding), [1, *shape]."""
    return nn.Parameter(torch.randn(1, *shape) * std if std else torch.zeros(1, *shape))
'''

    def torch_call(self, member: str, arguments: list[str]) -> str:
        return f"{member}.expand({arguments[0]}.shape[0], *{member}.shape[1:])"  # over the batch: a view

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        return cfg["shape"]

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return cfg["shape"]

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(cfg["shape"])

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return 0

    def saved_for_backward_of(self, cfg: dict, shapes: list[Shape], out: Shape):
        return ()

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED
