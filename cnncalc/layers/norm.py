"""Normalisation: batch norm and local response norm."""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import Bool, Field, Float, Int, LayerType, Saved, Shape, check_inferred, fmt_shape


class BatchNorm2d(LayerType):
    """Batch normalisation over channels, as torch.nn.BatchNorm2d.

    Learns a scale and a shift per channel (2*C parameters when affine); the
    running mean and variance (C each) and a batch counter are buffers: saved
    with the model but not trained, so torch's parameters() skips them.

    Example: [64, 56, 56] {} -> [64, 56, 56] params=128
    Example: [64, 56, 56] {affine: false} -> [64, 56, 56] params=0
    """

    type_name = "batchnorm2d"
    torch_class = "nn.BatchNorm2d"
    torch_positional = ("num_features",)
    aliases = ("batch_norm2d", "batchnorm", "batch_norm", "bn", "batchnormalization")
    input_rank = 3
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
