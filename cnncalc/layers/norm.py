"""Normalisation: batch norm, layer norm (last axes, or channels per pixel) and local response norm."""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
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

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 5 * prod(out)  # mean, variance, normalise, scale, shift

    def acts_on_last_axis(self, cfg: dict, shape: Shape) -> bool:
        return len(self.normalized(cfg, shape)) == 1

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

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the (permuted view of the) input, and a mean and an inverse deviation per pixel
        return (Saved("input", prod(shape), needed_for="any"), Saved("extra", 2 * prod(shape[1:]), needed_for="any"))
