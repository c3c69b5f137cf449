"""Keras's other layers: Dense (on the last axis, whatever the rank), Flatten, Reshape, Dropout and
SpatialDropout, the activations, ZeroPadding, Cropping, UpSampling, Rescaling and the merges
(Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)."""

from __future__ import annotations

from math import prod
from typing import Any, ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.arithmetic import linear_steps, product_step
from cnncalc.layers.base import (
    UNDEFINED,
    Bool,
    Choice,
    Field,
    FieldError,
    Float,
    Int,
    Kind,
    PerAxis,
    Saved,
    Shape,
    _describe,
    _is_int,
    axes_of,
    fmt_shape,
)
from cnncalc.layers.keras.base import (
    ACTIVATION,
    USE_BIAS,
    WEIGHTS,
    KerasLayer,
    channels,
    ignored,
    keras_axis,
    spatial,
)
from cnncalc.layers.keras.base import (
    Activation as ActivationKind,
)
from cnncalc.layers.keras_code import pairs_literal
from cnncalc.layers.merge import input_ref


class Dense(KerasLayer):
    """Fully connected, as keras.layers.Dense: on the last axis, so on [H, W, C] it acts per pixel
    (a 1x1 convolution); params = (in + 1) · units. After Flatten it is the network's head.

    Example: [9216] {units: 128} -> [128] params=1179776
    Example: [7, 8, 5] {units: 10} -> [7, 8, 10] params=60
    """

    type_name = "Dense"
    fully_connected = True
    main_field = "units"
    fields = (Field("units", Int(min=1)), ACTIVATION, USE_BIAS, *WEIGHTS)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (*shape[:-1], cfg["units"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return (shape[-1] + cfg["use_bias"]) * cfg["units"]

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * shape[-1]

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return (prod(out) if cfg["use_bias"] else 0) + super().other_ops(cfg, shape, out)

    def acts_on_last_axis(self, cfg: dict, shape: Shape) -> bool:
        return True

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        return linear_steps(shape[-1], cfg["units"], cfg["use_bias"], prod(shape[:-1]))

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED if len(shape) == 1 else ((1, 1, 0),) * (len(shape) - 1)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="params"), *self.activation_saved(cfg, out))


class Flatten(KerasLayer):
    """Everything after the batch as one axis, in Keras's (channels-last) order, as keras.layers.Flatten.

    Example: [12, 12, 64] {} -> [9216] params=0
    """

    type_name = "Flatten"
    flattens = True

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        letters = [axis[0].upper() for axis in axes_of(len(shape) - 1)] if len(shape) > 1 else []
        return [product_step("features", [*letters, "C"][: len(shape)], list(shape))]

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (prod(shape),)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class TargetShape(Kind):
    """A list of sizes, one of them -1 at most (worked out from the input)."""

    expected = "a list of positive sizes, one of them -1 at most"

    def parse(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list) or not value or not all(_is_int(v) and (v > 0 or v == -1) for v in value):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        if value.count(-1) > 1:
            raise FieldError(f"expected {self.expected}, got {value}")
        return tuple(value)


class Reshape(KerasLayer):
    """The same values in a new shape (the batch kept), as keras.layers.Reshape; one size may be
    -1, worked out from the rest.

    Example: [7, 8, 5] {target_shape: [-1, 5]} -> [56, 5] params=0
    """

    type_name = "Reshape"
    main_field = "target_shape"
    fields = (Field("target_shape", TargetShape()),)

    def keras_literal(self, field: str, value: Any) -> str:
        return "(" + ", ".join(str(n) for n in value) + ("," if len(value) == 1 else "") + ")"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        target, total = cfg["target_shape"], prod(shape)
        known = prod(n for n in target if n != -1)
        if -1 in target:
            if total % known:
                raise LayerError(
                    f"cannot reshape {fmt_shape(shape)} ({total:,} values) to {list(target)}: {total:,} is not a "
                    f"multiple of {known:,}",
                    field="target_shape",
                    code="shape.mismatch",
                )
            return tuple(total // known if n == -1 else n for n in target)
        if known != total:
            raise LayerError(
                f"the total size of the tensor must be unchanged: the input {fmt_shape(shape)} has {total:,} values, "
                f"target_shape {list(target)} has {known:,}",
                field="target_shape",
                code="shape.mismatch",
            )
        return target

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class NoiseShape(Kind):
    """Dropout's noise_shape: one size per axis, the batch first; null takes the input's."""

    expected = "a list of sizes or nulls, one per axis with the batch first, e.g. [null, 1, 1, 64]"

    def parse(self, value: Any) -> tuple | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(v is None or (_is_int(v) and v >= 1) for v in value):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return tuple(value)


class Dropout(KerasLayer):
    """Zeroes values at random in training, as keras.layers.Dropout: no parameters; a
    `noise_shape` of 1s drops whole rows, columns or channels (EfficientNet's [null, 1, 1, C]).

    Example: [128] {rate: 0.5} -> [128] params=0
    Example: [7, 7, 64] {rate: 0.2, noise_shape: [null, 1, 1, null]} -> [7, 7, 64] params=0
    """

    type_name = "Dropout"
    main_field = "rate"
    fields = (Field("rate", Float(min=0, max=1)), Field("noise_shape", NoiseShape(), None), Field("seed", Int(), None))

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        noise = cfg.get("noise_shape")
        if noise is not None:
            fits = len(noise) == len(shape) + 1 and all(n in (None, 1, m) for n, m in zip(noise[1:], shape))
            if not fits:
                raise LayerError(
                    f"noise_shape {list(noise)} does not fit the input {fmt_shape(shape)}: one entry per axis, "
                    f"the batch first, each null, 1 or the axis's size",
                    field="noise_shape",
                )
        return shape

    def keras_literal(self, field: str, value: Any) -> str:
        if field == "noise_shape":  # a tuple, nulls as None, never collapsed
            return "(" + ", ".join("None" if n is None else str(n) for n in value) + ")"
        return super().keras_literal(field, value)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("extra", prod(shape), "bool"),) if 0 < cfg["rate"] < 1 else ()


class _SpatialDropout(Dropout):
    """Zeroes whole channels at random in training: no parameters."""

    rank: ClassVar[int]
    fields = (Field("rate", Float(min=0, max=1)), Field("seed", Int(), None))


class SpatialDropout1D(_SpatialDropout):
    """Channel dropout over [L, C], as keras.layers.SpatialDropout1D.

    Example: [7, 5] {rate: 0.2} -> [7, 5] params=0
    """

    type_name = "SpatialDropout1D"
    rank = 1


class SpatialDropout2D(_SpatialDropout):
    """Channel dropout over [H, W, C], as keras.layers.SpatialDropout2D.

    Example: [7, 8, 5] {rate: 0.2} -> [7, 8, 5] params=0
    """

    type_name = "SpatialDropout2D"
    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Channel dropout over [D, H, W, C], as keras.layers.SpatialDropout3D.

    Example: [4, 5, 6, 2] {rate: 0.2} -> [4, 5, 6, 2] params=0
    """

    type_name = "SpatialDropout3D"
    rank = 3


class _Elementwise(KerasLayer):
    """An activation: the shape kept, no parameters, its output kept for backward."""

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("output", prod(out)),)


class Activation(_Elementwise):
    """An activation by name, as keras.layers.Activation('relu').

    Example: [7, 8, 5] {activation: relu} -> [7, 8, 5] params=0
    """

    type_name = "Activation"
    main_field = "activation"
    fields = (Field("activation", ActivationKind()),)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if self.activation_of(cfg) else 0

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return self.activation_saved(cfg, out)


class ReLU(_Elementwise):
    """max(x, 0), capped at max_value, as keras.layers.ReLU (max_value: 6 is ReLU6).

    Example: [7, 8, 5] {max_value: 6} -> [7, 8, 5] params=0
    """

    type_name = "ReLU"
    fields = (
        Field("max_value", Float(min=0), None),
        Field("negative_slope", Float(min=0), 0.0),
        Field("threshold", Float(min=0), 0.0),
    )


class LeakyReLU(_Elementwise):
    """x for x > 0, negative_slope · x below, as keras.layers.LeakyReLU (slope 0.3 by default).

    Example: [7, 8, 5] {} -> [7, 8, 5] params=0
    """

    type_name = "LeakyReLU"
    main_field = "negative_slope"
    fields = (Field("negative_slope", Float(min=0), 0.3),)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)),)


class ELU(_Elementwise):
    """Exponential linear unit, as keras.layers.ELU.

    Example: [7, 8, 5] {alpha: 1.0} -> [7, 8, 5] params=0
    """

    type_name = "ELU"
    main_field = "alpha"
    fields = (Field("alpha", Float(), 1.0),)


class Softmax(_Elementwise):
    """Softmax along `axis` (the last by default), as keras.layers.Softmax.

    Example: [10] {} -> [10] params=0
    """

    type_name = "Softmax"
    main_field = "axis"
    fields = (Field("axis", Int(), -1),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        keras_axis(cfg["axis"], len(shape))
        return shape


class SharedAxes(Kind):
    """Keras axes (the batch is 0) along which one parameter is shared, or null."""

    expected = "a list of axes (the batch is 0), or null"

    def parse(self, value: Any) -> tuple[int, ...] | None:
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        if not all(_is_int(v) for v in items):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return tuple(items)


class PReLU(_Elementwise):
    """A leaky ReLU whose slopes are learned, one per value, as keras.layers.PReLU; `shared_axes`
    share one slope along those axes ([1, 2]: one per channel of [H, W, C]).

    Example: [7, 8, 5] {shared_axes: [1, 2]} -> [7, 8, 5] params=5
    Example: [7, 8, 5] {} -> [7, 8, 5] params=280
    """

    type_name = "PReLU"
    keras_positional = ()
    fields = (Field("shared_axes", SharedAxes(), None), *ignored("alpha_initializer", "alpha_regularizer"))
    fields += ignored("alpha_constraint")

    def shared(self, cfg: dict, shape: Shape) -> set[int]:
        """The axes (of the shape without the batch) sharing one slope: Keras's build sets
        param_shape[i - 1] = 1 for each i, so 1 is the first axis after the batch, and 0 and -1
        count from the end as Python indexes do (the last axis, and the one before)."""
        rank = len(shape)
        for axis in cfg["shared_axes"] or ():
            if not -rank <= axis - 1 < rank:
                raise LayerError(
                    f"shared_axes {axis} is out of range for a {rank + 1}-axis input (Keras shares param_shape[{axis} - 1])",
                    field="shared_axes",
                )
        return {(axis - 1) % rank for axis in cfg["shared_axes"] or ()}

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        self.shared(cfg, shape)
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        shared = self.shared(cfg, shape)
        return prod(n for i, n in enumerate(shape) if i not in shared)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)


class Permute(KerasLayer):
    """The axes after the batch reordered, as keras.layers.Permute: `dims` counts them from 1.

    Example: [7, 8, 5] {dims: [3, 1, 2]} -> [5, 7, 8] params=0
    """

    type_name = "Permute"
    main_field = "dims"
    fields = (Field("dims", TargetShape()),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        dims = cfg["dims"]
        if sorted(dims) != list(range(1, len(shape) + 1)):
            raise LayerError(
                f"dims {list(dims)} must order the input's {len(shape)} axes after the batch: a permutation of "
                f"{list(range(1, len(shape) + 1))}",
                field="dims",
            )
        return tuple(shape[d - 1] for d in dims)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def reordered_axes(self, cfg: dict, axes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(axes[d - 1] for d in cfg["dims"])

    def keras_literal(self, field: str, value: Any) -> str:
        return "(" + ", ".join(str(n) for n in value) + ("," if len(value) == 1 else "") + ")"


class Embedding(KerasLayer):
    """A learned vector per token id, as keras.layers.Embedding: [L] ids -> [L, output_dim];
    input_dim · output_dim parameters.

    Example: [200] {input_dim: 10000, output_dim: 128} -> [200, 128] params=1280000
    """

    type_name = "Embedding"
    main_field = "input_dim"
    keras_positional = ("input_dim", "output_dim")
    fields = (
        Field("input_dim", Int(min=1), doc="the vocabulary's size"),
        Field("output_dim", Int(min=1), doc="each vector's size"),
        Field("mask_zero", Bool(), False),
        *ignored("embeddings_initializer", "embeddings_regularizer", "embeddings_constraint"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (*shape, cfg["output_dim"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return cfg["input_dim"] * cfg["output_dim"]

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED


class Normalization(KerasLayer):
    """(x - mean) / sqrt(variance) along `axis`, as keras.layers.Normalization (EfficientNet's
    first layer): the mean and variance per feature and a count are non-trainable parameters,
    2C + 1, as Keras counts them.

    Example: [224, 224, 3] {} -> [224, 224, 3] params=7
    """

    type_name = "Normalization"
    fields = (Field("axis", Int(), -1, doc="the features' axis, the batch being 0"),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        keras_axis(cfg["axis"], len(shape))
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return self.frozen_params(cfg, shape, out)

    def frozen_params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * shape[keras_axis(cfg["axis"], len(shape))] + 1  # mean, variance, count

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * prod(out)


class Rescaling(KerasLayer):
    """x · scale + offset, as keras.layers.Rescaling (pixels from [0, 255] to [0, 1]).

    Example: [224, 224, 3] {scale: 0.00392156862745098} -> [224, 224, 3] params=0
    """

    type_name = "Rescaling"
    main_field = "scale"
    fields = (Field("scale", Float()), Field("offset", Float(), 0.0))

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape


class Identity(KerasLayer):
    """Its input, as keras.layers.Identity.

    Example: [7, 8, 5] {} -> [7, 8, 5] params=0
    """

    type_name = "Identity"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class Edges(Kind):
    """ZeroPadding's `padding` or Cropping's `cropping`: an int (every side), one int per axis
    (both sides), or a (before, after) pair per axis; for 1-D, an int or one (before, after) pair."""

    def __init__(self, rank: int):
        self.rank = rank
        pair = "[before, after]"
        self.expected = (
            f"an integer >= 0 or {pair}"
            if rank == 1
            else f"an integer >= 0, {rank} of them (one per axis) or {rank} pairs {pair}"
        )

    def parse(self, value: Any) -> tuple[tuple[int, int], ...]:
        if _is_int(value) and value >= 0:
            return ((value, value),) * self.rank
        if isinstance(value, list) and self.rank == 1:  # Keras's 1-D layers: an int or one pair
            if len(value) == 2 and all(_natural(v) for v in value):
                return ((value[0], value[1]),)
        elif isinstance(value, list) and len(value) == self.rank:
            if all(_natural(v) for v in value):
                return tuple((v, v) for v in value)
            if all(isinstance(v, list) and len(v) == 2 and all(_natural(x) for x in v) for v in value):
                return tuple((v[0], v[1]) for v in value)
        raise FieldError(f"expected {self.expected}, got {_describe(value)}")


def _natural(value: Any) -> bool:
    return _is_int(value) and value >= 0


class _Spatial(KerasLayer):
    """A layer over the axes before the channels, of a given rank."""

    rank: ClassVar[int]

    def keras_literal(self, field: str, value: Any) -> str:
        if field in ("padding", "cropping"):  # (before, after) pairs; 1-D: the one pair
            return pairs_literal(value)
        return super().keras_literal(field, value)


class _ZeroPadding(_Spatial):
    """Zeros added before and after along each spatial axis, as keras.layers.ZeroPadding1D/2D/3D."""

    main_field = "padding"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        sizes = [n + before + after for n, (before, after) in zip(spatial(shape), cfg["padding"])]
        return (*sizes, channels(shape))

    def receptive_window(self, cfg: dict, shape: Shape):
        return tuple((1, 1, before) for before, _ in cfg["padding"])


class ZeroPadding1D(_ZeroPadding):
    """Zero padding of [L, C], as keras.layers.ZeroPadding1D: 1 on each side by default.

    Example: [7, 5] {padding: [1, 2]} -> [10, 5] params=0
    """

    type_name = "ZeroPadding1D"
    rank = 1
    fields = (Field("padding", Edges(1), 1),)


class ZeroPadding2D(_ZeroPadding):
    """Zero padding of [H, W, C], as keras.layers.ZeroPadding2D: 1 on each side by default;
    [[top, bottom], [left, right]] for uneven padding (MobileNetV2's [[0, 1], [0, 1]]).

    Example: [7, 8, 5] {padding: [[1, 2], [3, 4]]} -> [10, 15, 5] params=0
    Example: [224, 224, 3] {padding: 3} -> [230, 230, 3] params=0
    """

    type_name = "ZeroPadding2D"
    rank = 2
    fields = (Field("padding", Edges(2), 1),)


class ZeroPadding3D(_ZeroPadding):
    """Zero padding of [D, H, W, C], as keras.layers.ZeroPadding3D: 1 on each side by default.

    Example: [4, 5, 6, 2] {} -> [6, 7, 8, 2] params=0
    """

    type_name = "ZeroPadding3D"
    rank = 3
    fields = (Field("padding", Edges(3), 1),)


class _Cropping(_Spatial):
    """Rows, columns or slices removed from each end, as keras.layers.Cropping1D/2D/3D."""

    main_field = "cropping"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        sizes = []
        for axis, n, (before, after) in zip(axes_of(self.rank), spatial(shape), cfg["cropping"]):
            if before + after >= n:
                raise LayerError(
                    f"values in `cropping` should be smaller than the corresponding spatial dimension of the "
                    f"input: {before} + {after} along {axis}, which has {n} (Keras refuses it)",
                    field="cropping",
                    code="shape.nonpositive",
                )
            sizes.append(n - before - after)
        return (*sizes, channels(shape))

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return tuple((1, 1, -before) for before, _ in cfg["cropping"])


class Cropping1D(_Cropping):
    """Cropping of [L, C], as keras.layers.Cropping1D: 1 from each end by default.

    Example: [7, 5] {cropping: [1, 2]} -> [4, 5] params=0
    """

    type_name = "Cropping1D"
    rank = 1
    fields = (Field("cropping", Edges(1), 1),)


class Cropping2D(_Cropping):
    """Cropping of [H, W, C], as keras.layers.Cropping2D: none by default.

    Example: [7, 8, 5] {cropping: [[1, 2], [3, 4]]} -> [4, 1, 5] params=0
    """

    type_name = "Cropping2D"
    rank = 2
    fields = (Field("cropping", Edges(2), 0),)


class Cropping3D(_Cropping):
    """Cropping of [D, H, W, C], as keras.layers.Cropping3D: 1 from each end by default.

    Example: [4, 5, 6, 2] {} -> [2, 3, 4, 2] params=0
    """

    type_name = "Cropping3D"
    rank = 3
    fields = (Field("cropping", Edges(3), 1),)


class _UpSampling(_Spatial):
    """Each value repeated `size` times along each spatial axis, as keras.layers.UpSampling1D/2D/3D."""

    main_field = "size"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (*(n * s for n, s in zip(spatial(shape), cfg["size"])), channels(shape))

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED


class UpSampling1D(_UpSampling):
    """Repetition along L, as keras.layers.UpSampling1D (size 2 by default).

    Example: [4, 2] {size: 3} -> [12, 2] params=0
    """

    type_name = "UpSampling1D"
    rank = 1
    fields = (Field("size", PerAxis(min=1, rank=1), 2),)


class UpSampling2D(_UpSampling):
    """Upsampling of [H, W, C] by `size`, as keras.layers.UpSampling2D: nearest by default.

    Example: [7, 8, 5] {size: [2, 3]} -> [14, 24, 5] params=0
    """

    type_name = "UpSampling2D"
    rank = 2
    fields = (
        Field("size", PerAxis(min=1, rank=2), 2),
        Field("interpolation", Choice("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"), "nearest"),
    )


class UpSampling3D(_UpSampling):
    """Repetition along D, H and W, as keras.layers.UpSampling3D (size 2 by default).

    Example: [4, 5, 6, 2] {} -> [8, 10, 12, 2] params=0
    """

    type_name = "UpSampling3D"
    rank = 3
    fields = (Field("size", PerAxis(min=1, rank=3), 2),)


def broadcast(shapes: list[Shape], what: str) -> Shape:
    """The shape element-wise merges give, as Keras computes it: aligned from the last axis, each
    axis equal or 1 in one input."""
    out = shapes[0]
    for shape in shapes[1:]:
        longer, shorter = (out, shape) if len(out) >= len(shape) else (shape, out)
        tail = longer[len(longer) - len(shorter) :]
        if any(a != b and 1 not in (a, b) for a, b in zip(tail, shorter)):
            position = shapes.index(shape)
            raise LayerError(
                f"{what}: inputs have incompatible shapes: {input_ref(0)} and {input_ref(position)} (each axis, "
                f"counted from the last, must be equal or 1 in one of them)",
                field="inputs",
                code="shape.mismatch",
            )
        out = (*longer[: len(longer) - len(shorter)], *(max(a, b) for a, b in zip(tail, shorter)))
    return out


class _Merge(KerasLayer):
    """Element-wise over two or more inputs, broadcasting as Keras does."""

    merges = True
    two_only: ClassVar[bool] = False

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        if self.two_only and len(shapes) != 2:
            raise LayerError(f"{self.type_name} takes exactly two inputs, got {len(shapes)}", field="inputs")
        return broadcast(shapes, self.type_name)

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return prod(out) * (len(shapes) - 1)

    def keeps_receptive_field(self, cfg: dict, out: Shape) -> bool:
        return True


class Add(_Merge):
    """The sum of its inputs, as keras.layers.Add: a residual connection.

    Example: [56, 56, 256] + [56, 56, 256] -> [56, 56, 256] params=0
    """

    type_name = "Add"


class Subtract(_Merge):
    """The first input minus the second, as keras.layers.Subtract.

    Example: [8, 8, 4] + [8, 8, 4] -> [8, 8, 4] params=0
    """

    type_name = "Subtract"
    two_only = True


class Multiply(_Merge):
    """The product of its inputs, as keras.layers.Multiply (squeeze-and-excitation's gate).

    Example: [8, 8, 4] * [1, 1, 4] -> [8, 8, 4] params=0
    """

    type_name = "Multiply"

    def saved_for_backward_of(self, cfg: dict, shapes: list[Shape], out: Shape):
        return tuple(Saved("input", prod(shape), position=i, needed_for="other") for i, shape in enumerate(shapes))


class Average(_Merge):
    """The mean of its inputs, as keras.layers.Average.

    Example: [8, 8, 4] + [8, 8, 4] -> [8, 8, 4] params=0
    """

    type_name = "Average"


class Maximum(_Merge):
    """The element-wise maximum of its inputs, as keras.layers.Maximum.

    Example: [8, 8, 4] + [8, 8, 4] -> [8, 8, 4] params=0
    """

    type_name = "Maximum"

    def saved_for_backward_of(self, cfg: dict, shapes: list[Shape], out: Shape):
        return tuple(Saved("input", prod(shape), position=i, needed_for="any") for i, shape in enumerate(shapes))


class Minimum(Maximum):
    """The element-wise minimum of its inputs, as keras.layers.Minimum.

    Example: [8, 8, 4] + [8, 8, 4] -> [8, 8, 4] params=0
    """

    type_name = "Minimum"


class Concatenate(KerasLayer):
    """Inputs joined along `axis` (the last, the channels, by default), as keras.layers.Concatenate.

    Example: [28, 28, 64] + [28, 28, 32] -> [28, 28, 96] params=0
    """

    type_name = "Concatenate"
    aliases = ("Concat",)
    merges = True
    main_field = "axis"
    fields = (Field("axis", Int(), -1, doc="the batch is 0; -1 the channels"),)

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        rank = len(shapes[0])
        axis = keras_axis(cfg["axis"], rank)
        for shape in shapes[1:]:
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, shapes[0])) if i != axis):
                raise LayerError(
                    f"a Concatenate layer requires inputs with matching shapes except for the concatenation "
                    f"axis {cfg['axis']}: {input_ref(0)} and {input_ref(shapes.index(shape))}",
                    field="inputs",
                    code="shape.mismatch",
                )
        return (*shapes[0][:axis], sum(shape[axis] for shape in shapes), *shapes[0][axis + 1 :])

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return 0

    def keeps_receptive_field(self, cfg: dict, out: Shape) -> bool:
        return keras_axis(cfg["axis"], len(out)) == len(out) - 1  # along the channels
