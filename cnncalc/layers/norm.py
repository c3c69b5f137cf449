"""Normalisation: batch norm (also frozen), instance and group norm, layer norm (last axes, or channels
per pixel), local response norm and Lp normalisation (F.normalize)."""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    NEUTRAL,
    UNDEFINED,
    Bool,
    Field,
    FieldError,
    Float,
    Int,
    Kind,
    LayerType,
    Saved,
    Shape,
    check_inferred,
    fmt_shape,
    yaml_text,
)


class _BatchNorm(LayerType):
    """Batch normalisation over channels, as torch.nn.BatchNorm1d/2d/3d.

    Learns a scale and a shift per channel (2*C parameters when affine); the
    running mean and variance (C each) and a batch counter are buffers: saved
    with the model but not trained, so torch's parameters() skips them.
    """

    torch_positional = ("num_features",)
    inferred_field = "num_features"
    fields = (
        Field("num_features", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("eps", Float(min=0, min_open=True), 1e-5),
        Field("momentum", Float(min=0, max=1), 0.1, nullable=True, doc="null: a cumulative average"),
        Field("affine", Bool(), True),
        Field("track_running_stats", Bool(), True),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_inferred(cfg, "num_features", shape[0], "channels")
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * shape[0] if cfg["affine"] else 0

    def buffers(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # running_mean, running_var and the scalar num_batches_tracked
        return 2 * shape[0] + 1 if cfg["track_running_stats"] else 0

    def buffer_bytes(self, cfg: dict, shape: Shape, out: Shape, element_size: int) -> int:
        if not cfg["track_running_stats"]:
            return 0
        return 2 * shape[0] * element_size + 8  # num_batches_tracked is an int64 whatever the dtype

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * prod(out)  # at inference a per-channel multiply and add

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the input, and the batch mean and inverse standard deviation per channel
        return (
            Saved("input", prod(shape), needed_for="any"),
            Saved("extra", 2 * shape[0], per_sample=False, needed_for="any"),
        )

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        return _keras_batch_norm(cfg)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """BatchNormalization in its inference form, with the running statistics."""
        if not cfg["track_running_stats"]:
            return g.refuse("without running statistics it normalises with each batch's own, even at inference")
        return _onnx_batch_norm(g, cfg["eps"], shape[0], cfg["affine"])

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step, n

        c = shape[0]
        steps = [Step("params", "2·C (a scale and a shift per channel)", f"2·{n(c)}", 2 * c)] if cfg["affine"] else []
        if cfg["track_running_stats"]:
            steps.append(
                Step("buffers", "2·C + 1 (running mean and variance, a batch counter)", f"2·{n(c)} + 1", 2 * c + 1)
            )
        return steps


def _keras_batch_norm(cfg: dict) -> list[str] | None:
    """Keras's BatchNormalization over axis 1 (the channels first); its momentum is torch's 1 - momentum."""
    from cnncalc.layers.keras_code import keras_call

    if cfg["momentum"] is None or not cfg["track_running_stats"]:
        return None  # Keras keeps an exponential average, always
    affine = cfg["affine"]
    return [
        keras_call(
            "BatchNormalization",
            axis=1,
            momentum=round(1 - cfg["momentum"], 12),
            epsilon=cfg["eps"],
            center=affine,
            scale=affine,
            defaults={"center": True, "scale": True},
        )
    ]


_BN_TENSORS = (("weight", "ones"), ("bias", "zeros"), ("running_mean", "zeros"))


def _onnx_affine(g, channels: int, scale: bool, shift: bool) -> tuple[str, str]:
    """A norm's scale and shift inputs: its weight and bias, or ones and zeros where it has none."""
    from cnncalc.layers.onnx_code import BIAS, ONES

    weight = g.weight("weight", (channels,), ONES) if scale else g.floats([1.0] * channels)
    bias = g.weight("bias", (channels,), BIAS, channels) if shift else g.floats([0.0] * channels)
    return weight, bias


def _onnx_batch_norm(g, eps: float, channels: int, affine: bool) -> str:
    """BatchNormalization with running_mean and running_var; num_batches_tracked, which inference
    never reads, left out of the graph (g.left_out counts it)."""
    from cnncalc.layers.onnx_code import VARIANCE, ZEROS

    scale, bias = _onnx_affine(g, channels, affine, affine)
    mean = g.weight("running_mean", (channels,), ZEROS)
    variance = g.weight("running_var", (channels,), VARIANCE)
    g.left_out += 1
    return g.node("BatchNormalization", [g.x, scale, bias, mean, variance], epsilon=float(eps))


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features [C] (after a linear layer) or of sequences [C, L], as
    torch.nn.BatchNorm1d.

    Example: [512] {} -> [512] params=1024
    Example: [32, 496] {} -> [32, 496] params=64
    """

    type_name = "batchnorm1d"
    torch_class = "nn.BatchNorm1d"
    aliases = ("batch_norm1d",)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        if len(shape) not in (1, 2):
            raise LayerError(
                f"needs a [features] or [channels, length] input but gets {fmt_shape(shape)}"
                + ("; for images use batchnorm2d" if len(shape) == 3 else ""),
                code="shape.rank",
            )
        return super().output_shape(cfg, shape)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over the channels of [C, H, W], as torch.nn.BatchNorm2d.

    Example: [64, 56, 56] {} -> [64, 56, 56] params=128
    Example: [64, 56, 56] {affine: false} -> [64, 56, 56] params=0
    """

    type_name = "batchnorm2d"
    torch_class = "nn.BatchNorm2d"
    aliases = ("batch_norm2d", "batchnorm", "batch_norm", "bn", "batchnormalization")
    input_rank = 3


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over the channels of [C, D, H, W], as torch.nn.BatchNorm3d.

    Example: [64, 8, 28, 28] {} -> [64, 8, 28, 28] params=128
    """

    type_name = "batchnorm3d"
    torch_class = "nn.BatchNorm3d"
    aliases = ("batch_norm3d",)
    input_rank = 4


class _InstanceNorm(_BatchNorm):
    """Instance normalisation, as torch.nn.InstanceNorm1d/2d/3d: each sample's channels are
    normalised over their own spatial axes, so the statistics never mix samples.

    Batch norm's fields, with other defaults: no scale and shift and no running statistics
    unless asked for. With `track_running_stats` the buffers are batch norm's (running mean and
    variance, C each, and a batch counter) and eval mode normalises with them.
    """

    fields = (
        Field("num_features", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("eps", Float(min=0, min_open=True), 1e-5),
        Field("momentum", Float(min=0, max=1), 0.1, nullable=True, doc="null: a cumulative average"),
        Field("affine", Bool(), False, doc="learn a scale and a shift per channel"),
        Field("track_running_stats", Bool(), False, doc="keep running statistics, used in eval mode"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        shape = super().output_shape(cfg, shape)
        if prod(shape[1:]) <= 1:
            raise LayerError(
                f"needs more than 1 spatial element per channel, as PyTorch requires in training, "
                f"but the input {fmt_shape(shape)} has {prod(shape[1:])}",
            )
        return shape

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        return None  # Keras has no instance norm (GroupNormalization with C groups has no running statistics)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """InstanceNormalization; with running statistics, eval mode's batch norm with them."""
        if cfg["track_running_stats"]:
            return _onnx_batch_norm(g, cfg["eps"], shape[0], cfg["affine"])
        scale, bias = _onnx_affine(g, shape[0], cfg["affine"], cfg["affine"])
        return g.node("InstanceNormalization", [g.x, scale, bias], epsilon=float(cfg["eps"]))

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # at inference, with running statistics, a per-channel multiply and add as in batch norm;
        # without, each sample's mean and variance first, as in a layer norm
        return 2 * prod(out) if cfg["track_running_stats"] else 5 * prod(out)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # torch runs batch norm on the input viewed as [1, N*C, ...]: it keeps the input, a mean
        # and an inverse deviation per sample and channel, and the weight and the running
        # statistics repeated for every sample (new tensors, not the parameter and buffers)
        per_channel = 2 + (1 if cfg["affine"] else 0) + (2 if cfg["track_running_stats"] else 0)
        return (
            Saved("input", prod(shape), needed_for="any"),
            Saved("extra", per_channel * shape[0], needed_for="any"),
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of sequences [C, L], as torch.nn.InstanceNorm1d.

    Example: [64, 100] {} -> [64, 100] params=0
    Example: [64, 100] {affine: true, track_running_stats: true} -> [64, 100] params=128
    """

    type_name = "instancenorm1d"
    torch_class = "nn.InstanceNorm1d"
    aliases = ("instance_norm1d",)
    input_rank = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over each sample's [H, W] per channel, as torch.nn.InstanceNorm2d
    (style transfer, CycleGAN and pix2pix generators).

    Example: [64, 256, 256] {} -> [64, 256, 256] params=0
    Example: [64, 64, 64] {affine: true} -> [64, 64, 64] params=128
    """

    type_name = "instancenorm2d"
    torch_class = "nn.InstanceNorm2d"
    aliases = ("instance_norm2d", "instancenorm", "instance_norm", "instancenormalization")
    input_rank = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation over each sample's [D, H, W] per channel, as torch.nn.InstanceNorm3d
    (3-D U-Nets for medical volumes).

    Example: [32, 16, 64, 64] {affine: true} -> [32, 16, 64, 64] params=64
    """

    type_name = "instancenorm3d"
    torch_class = "nn.InstanceNorm3d"
    aliases = ("instance_norm3d",)
    input_rank = 4


class FrozenBatchNorm2d(LayerType):
    """Batch normalisation with fixed statistics and affine, as torchvision.ops.FrozenBatchNorm2d
    (detection backbones): x * weight / sqrt(running_var + eps) + (bias - running_mean * that).

    No parameters: weight, bias, running mean and running variance are 4*C buffers, loaded from
    a checkpoint and never trained. PyTorch has no such class in torch.nn, so the export defines
    torchvision's.

    Example: [256, 56, 56] {} -> [256, 56, 56] params=0
    """

    type_name = "frozen_batchnorm2d"
    aliases = ("frozenbatchnorm2d", "frozen_batch_norm2d")
    input_rank = 3
    inferred_field = "num_features"
    torch_class = "FrozenBatchNorm2d"
    torch_positional = ("num_features",)
    fields = (
        Field("num_features", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("eps", Float(min=0, min_open=True), 1e-5),
    )
    torch_helper = '''class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine, all buffers (torchvision.ops.FrozenBatchNorm2d)."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        bias = b - rm * scale
        return x * scale + bias
'''

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_inferred(cfg, "num_features", shape[0], "channels")
        return shape

    def buffers(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 4 * shape[0]  # weight, bias, running_mean, running_var

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        from cnncalc.layers.onnx_code import VARIANCE

        c = shape[0]  # all four are buffers here, named as torchvision's
        tensors = [g.weight(name, (c,), start) for name, start in _BN_TENSORS + (("running_var", VARIANCE),)]
        return g.node("BatchNormalization", [g.x, *tensors], epsilon=float(cfg["eps"]))

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * prod(out)  # a per-channel multiply and add

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # `x * scale` keeps the per-channel scale (made from buffers, so a new tensor) for x's gradient
        return (Saved("extra", shape[0], per_sample=False),)


class GroupNorm(LayerType):
    """Group normalisation, as torch.nn.GroupNorm: each sample's channels are split into
    `num_groups` groups, each normalised over its channels and all positions; a scale and a
    shift per channel (2*C parameters) when affine. Any input [C, ...]; no buffers.

    num_groups 1 normalises each sample as a whole; num_groups C is instance norm with affine.

    Example: [256, 56, 56] {num_groups: 32} -> [256, 56, 56] params=512
    Example: [64, 100] {num_groups: 8, affine: false} -> [64, 100] params=0
    Example: [128] {num_groups: 4} -> [128] params=256
    """

    type_name = "groupnorm"
    torch_class = "nn.GroupNorm"
    torch_positional = ("num_groups", "num_channels")
    aliases = ("group_norm", "groupnormalization", "gn")
    main_field = "num_groups"
    inferred_field = "num_channels"
    fields = (
        Field("num_groups", Int(min=1), aliases=("groups",), doc="groups the channels are split into"),
        Field("num_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("eps", Float(min=0, min_open=True), 1e-5),
        Field("affine", Bool(), True),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_inferred(cfg, "num_channels", shape[0], "channels")
        if shape[0] % cfg["num_groups"]:
            raise LayerError(
                f"num_channels ({shape[0]:,}) must be divisible by num_groups ({cfg['num_groups']:,})",
                field="num_groups",
            )
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * shape[0] if cfg["affine"] else 0

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        if prod(shape) != cfg["num_groups"]:
            return []
        # PyTorch allows it, but x - mean is 0 for every value
        what = "the bias alone" if cfg["affine"] else "zeros"
        return [("num_groups", f"each of the {prod(shape):,} groups holds a single value, so the output is {what}")]

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 5 * prod(out)  # mean, variance, normalise, scale, shift

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step

        if not cfg["affine"]:
            return []
        return [Step("params", "2·C (a scale and a shift per channel)", f"2·{shape[0]:,}", 2 * shape[0])]

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        affine = cfg["affine"]
        both = {"center": True, "scale": True}
        return [
            keras_call(
                "GroupNormalization",
                cfg["num_groups"],
                axis=1,
                epsilon=cfg["eps"],
                center=affine,
                scale=affine,
                defaults=both,
            )
        ]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """GroupNormalization (opset 21's: a scale and a shift per channel, as torch's)."""
        scale, bias = _onnx_affine(g, shape[0], cfg["affine"], cfg["affine"])
        x = g.reshape(g.x, (shape[0], 1)) if len(shape) == 1 else g.x  # ONNX wants a spatial axis
        out = g.node("GroupNormalization", [x, scale, bias], epsilon=float(cfg["eps"]), num_groups=cfg["num_groups"])
        return g.reshape(out, shape) if len(shape) == 1 else out

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the input, and a mean and an inverse standard deviation per sample and group
        return (
            Saved("input", prod(shape), needed_for="any"),
            Saved("extra", 2 * cfg["num_groups"], needed_for="any"),
        )


class LocalResponseNorm(LayerType):
    """Local response normalisation across channels (AlexNet 2012), as torch.nn.LocalResponseNorm.

    torch divides alpha by size; TensorFlow's tf.nn.local_response_normalization does not.

    Example: [96, 55, 55] {size: 5, alpha: 0.0001, beta: 0.75, k: 2} -> [96, 55, 55] params=0
    """

    type_name = "local_response_norm"
    torch_class = "nn.LocalResponseNorm"
    torch_positional = ("size",)
    aliases = ("localresponsenorm", "lrn")
    main_field = "size"
    fields = (
        Field("size", Int(min=1), doc="channels in each window (TensorFlow's depth_radius r is size 2r + 1)"),
        Field("alpha", Float(), 1e-4),
        Field("beta", Float(), 0.75),
        Field("k", Float(), 1.0),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        if len(shape) < 2:
            raise LayerError(f"local_response_norm needs channels and at least one more axis, got {fmt_shape(shape)}")
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * (cfg["size"] + 3)  # square, window sum, scale and power, divide

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        if cfg["size"] % 2 == 0:  # torch's window leans before the channel, ONNX's after
            return g.refuse(f"an even size ({cfg['size']}) centres its window otherwise than ONNX's LRN")
        attributes = {"size": cfg["size"], "alpha": float(cfg["alpha"]), "beta": float(cfg["beta"])}
        return g.node("LRN", [g.x], bias=float(cfg["k"]), **attributes)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # torch composes it from square, a padded average pool, pow and div, which keep:
        spatial = prod(shape[1:])
        padded_squares = (shape[0] + cfg["size"] - 1) * spatial
        return (
            Saved("input", prod(shape)),
            Saved("extra", padded_squares),
            Saved("extra", 2 * prod(shape)),
        )


class _Normalized(Kind):
    """LayerNorm's normalized_shape: the last axis's size, or a list of the trailing axes' sizes."""

    expected = "an integer >= 1 or a list of them (the trailing axes' sizes)"

    def parse(self, value):
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items):
            raise FieldError(f"expected {self.expected}, got {yaml_text(value)}")
        return tuple(items)


class LayerNorm(LayerType):
    """Layer normalisation over the last axes, as torch.nn.LayerNorm.

    Normalises each position over its trailing `normalized_shape` axes (by default the
    last one: the channels of a channels-last tensor, as in ConvNeXt's blocks after a
    `permute`). Learns a scale and a shift per normalised element.

    Example: [56, 56, 96] {eps: 1.0e-6} -> [56, 56, 96] params=192
    Example: [10, 64] {normalized_shape: [10, 64], bias: false} -> [10, 64] params=640
    """

    type_name = "layernorm"
    torch_class = "nn.LayerNorm"
    torch_positional = ("normalized_shape",)
    inferred_field = "normalized_shape"
    inferred_axis = -1
    aliases = ("layer_norm", "layernormalization", "ln")
    fields = (
        Field("normalized_shape", _Normalized(), None, doc="the trailing axes' sizes; inferred: the last axis"),
        Field("eps", Float(min=0, min_open=True), 1e-5),
        Field("elementwise_affine", Bool(), True),
        Field("bias", Bool(), True),
    )

    def normalized(self, cfg: dict, shape: Shape) -> tuple[int, ...]:
        return cfg["normalized_shape"] or (shape[-1],)

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        normalized = self.normalized(cfg, shape)
        return {**cfg, "normalized_shape": normalized[0] if len(normalized) == 1 else normalized}

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        normalized = self.normalized(cfg, shape)
        if len(normalized) > len(shape) or tuple(shape[len(shape) - len(normalized) :]) != normalized:
            raise LayerError(
                f"normalized_shape {fmt_shape(normalized)} is not the input's trailing sizes: "
                f"the input is {fmt_shape(shape)}",
                field="normalized_shape",
                code="shape.mismatch",
            )
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        if not cfg["elementwise_affine"]:
            return 0
        return prod(self.normalized(cfg, shape)) * (2 if cfg["bias"] else 1)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """LayerNormalization over the trailing axes, its weight and bias of their sizes."""
        from cnncalc.layers.onnx_code import BIAS, ONES

        normalized = self.normalized(cfg, shape)
        affine = cfg["elementwise_affine"]
        scale = g.weight("weight", normalized, ONES) if affine else g.floats([1.0] * prod(normalized), normalized)
        inputs = [g.x, scale] + ([g.weight("bias", normalized, BIAS)] if affine and cfg["bias"] else [])
        return g.node("LayerNormalization", inputs, axis=-len(normalized), epsilon=float(cfg["eps"]))

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 5 * prod(out)  # mean, variance, normalise, scale, shift

    def acts_on_last_axis(self, cfg: dict, shape: Shape) -> bool:
        return len(self.normalized(cfg, shape)) == 1

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step

        if not cfg["elementwise_affine"]:
            return []
        sizes = "·".join(f"{n:,}" for n in self.normalized(cfg, shape))
        both = cfg["bias"]
        words = "2·(the normalised axes' sizes): a scale and a shift each" if both else "the normalised axes' sizes"
        return [Step("params", words, f"2·{sizes}" if both else sizes, self.params(cfg, shape, out))]

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        count = len(self.normalized(cfg, shape))
        axes = list(range(len(shape) - count + 1, len(shape) + 1))  # Keras counts the batch as axis 0
        affine = cfg["elementwise_affine"]
        return [
            keras_call(
                "LayerNormalization",
                axis=axes[0] if count == 1 else axes,
                epsilon=cfg["eps"],
                center=affine and cfg["bias"],
                scale=affine,
                defaults={"center": True, "scale": True},
            )
        ]

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the input, and a mean and an inverse standard deviation per normalised group
        groups = prod(shape) // prod(self.normalized(cfg, shape))
        return (Saved("input", prod(shape), needed_for="any"), Saved("extra", 2 * groups, needed_for="any"))


class LayerNorm2d(LayerType):
    """Layer normalisation over the channels of [C, H, W], at each pixel: ConvNeXt's LayerNorm2d.

    The same as `permute` to channels-last, `layernorm`, and `permute` back, in one layer;
    2*C parameters. PyTorch has no such class, so the export defines it.

    Example: [96, 56, 56] {eps: 1.0e-6} -> [96, 56, 56] params=192
    """

    type_name = "layernorm2d"
    aliases = ("layer_norm2d",)
    input_rank = 3
    inferred_field = "num_channels"
    torch_class = "LayerNorm2d"
    torch_positional = ("num_channels",)
    fields = (
        Field("num_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("eps", Float(min=0, min_open=True), 1e-5),
        Field("elementwise_affine", Bool(), True),
    )
    torch_helper = '''class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an [N, C, H, W] tensor, at each pixel (as in ConvNeXt)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
'''

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_inferred(cfg, "num_channels", shape[0], "channels")
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * shape[0] if cfg["elementwise_affine"] else 0

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 5 * prod(out)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """LayerNormalization over the channels, at each pixel: moved last and back, as the export does."""
        scale, bias = _onnx_affine(g, shape[0], cfg["elementwise_affine"], cfg["elementwise_affine"])
        last = g.node("Transpose", [g.x], perm=[0, 2, 3, 1])
        normed = g.node("LayerNormalization", [last, scale, bias], axis=-1, epsilon=float(cfg["eps"]))
        return g.node("Transpose", [normed], perm=[0, 3, 1, 2])

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the (permuted view of the) input, and a mean and an inverse deviation per pixel
        return (Saved("input", prod(shape), needed_for="any"), Saved("extra", 2 * prod(shape[1:]), needed_for="any"))


class Normalize(LayerType):
    """Lp normalisation along `dim`, as torch.nn.functional.normalize: x / max(||x||_p, eps).

    `dim` counts the batch as axis 0, so the default 1 is the features or channels. No
    parameters: SSD's L2Norm is this and a learned scale per channel; embeddings are normalised
    so for a cosine similarity. torch.nn has no such module, so the export defines one.

    Example: [128] {} -> [128] params=0
    Example: [512, 38, 38] {} -> [512, 38, 38] params=0
    Example: [16, 49] {p: 1.0, dim: -1} -> [16, 49] params=0
    """

    type_name = "normalize"
    aliases = ("unitnormalization", "unit_normalization")
    torch_class = "Normalize"
    main_field = "dim"
    fields = (
        Field("p", Float(), 2.0, doc="the norm's exponent"),
        Field("dim", Int(), 1, aliases=("axis",), doc="the axis to normalise along; the batch is 0"),
        Field("eps", Float(min=0), 1e-12, doc="the smallest divisor"),
    )
    torch_helper = '''class Normalize(nn.Module):
    """Lp normalisation along a dim, as torch.nn.functional.normalize."""

    def __init__(self, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> None:
        super().__init__()
        self.p, self.dim, self.eps = p, dim, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, self.p, self.dim, self.eps)
'''

    def axis(self, cfg: dict, shape: Shape) -> int:
        """`dim` counted from the batch axis 0."""
        rank = len(shape) + 1
        if not -rank <= cfg["dim"] < rank:
            raise LayerError(
                f"dim {cfg['dim']} is out of range for a {rank}-axis tensor (batch included)",
                field="dim",
            )
        return cfg["dim"] % rank

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        self.axis(cfg, shape)
        return shape

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        axis = self.axis(cfg, shape)
        if axis == 0 or shape[axis - 1] != 1 or cfg["p"] <= 0:
            return []
        sign = "so each value is divided by its own absolute value: the output is its sign"
        return [("dim", f"dim {cfg['dim']} has size 1, {sign}")]

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 3 * prod(out)  # power, sum and divide per element

    def receptive_window(self, cfg: dict, shape: Shape):
        # along the channels (or features) each position keeps its field; along a spatial axis
        # every output depends on that whole axis
        return NEUTRAL if self.axis(cfg, shape) <= 1 else UNDEFINED

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # torch computes x / norm(x).clamp_min(eps): the norm keeps the input and its result, the
        # division the input and the clamped norm, one value per position along `dim`
        axis = self.axis(cfg, shape)
        if axis == 0:  # across the batch: one norm per element of a sample, whatever the batch
            return (Saved("input", prod(shape)), Saved("extra", 2 * prod(shape), per_sample=False))
        return (Saved("input", prod(shape)), Saved("extra", 2 * prod(shape) // shape[axis - 1]))
