"""Keras's normalisation layers: BatchNormalization (whose moving mean and variance Keras counts
as non-trainable parameters), LayerNormalization and GroupNormalization."""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.arithmetic import Step, n
from cnncalc.layers.base import Bool, Field, FieldError, Float, Int, Kind, Saved, Shape, _describe, _is_int
from cnncalc.layers.keras.base import KerasLayer, ignored, keras_axis

_SCALE_AND_CENTER = (
    Field("center", Bool(), True, doc="a learned offset, beta"),
    Field("scale", Bool(), True, doc="a learned factor, gamma"),
)


class Axes(Kind):
    """One Keras axis, or a list of them (the batch is axis 0)."""

    expected = "an integer axis or a list of them"

    def parse(self, value) -> tuple[int, ...]:
        items = value if isinstance(value, list) else [value]
        if not items or not all(_is_int(v) for v in items):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return tuple(items)


class BatchNormalization(KerasLayer):
    """Batch normalisation over `axis` (the channels), as keras.layers.BatchNormalization: gamma and
    beta are trainable, the moving mean and variance are parameters Keras counts as non-trainable,
    so 4C parameters of which 2C train (3C with scale: false, as InceptionV3's).

    Example: [29, 29, 64] {} -> [29, 29, 64] params=256
    Example: [7, 8, 5] {scale: false} -> [7, 8, 5] params=15
    """

    type_name = "BatchNormalization"
    aliases = ("BatchNorm",)
    fields = (
        Field("axis", Int(), -1, doc="the features' axis, the batch being 0"),
        Field("momentum", Float(min=0, max=1), 0.99),
        Field("epsilon", Float(min=0, min_open=True), 0.001),
        *_SCALE_AND_CENTER,
        *ignored(
            "beta_initializer",
            "gamma_initializer",
            "moving_mean_initializer",
            "moving_variance_initializer",
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
        ),
    )

    def features(self, cfg: dict, shape: Shape) -> int:
        return shape[keras_axis(cfg["axis"], len(shape))]

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        self.features(cfg, shape)
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        features = self.features(cfg, shape)
        return features * (cfg["center"] + cfg["scale"]) + self.frozen_params(cfg, shape, out)

    def frozen_params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * self.features(cfg, shape)  # the moving mean and variance

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        c, learned = self.features(cfg, shape), cfg["center"] + cfg["scale"]
        words = {2: "gamma and beta", 1: "gamma" if cfg["scale"] else "beta", 0: "no gamma or beta"}[learned]
        numbers = f"{learned}·{n(c)} + 2·{n(c)}"
        return [Step("params", f"({words}) + 2·C moving mean and variance, non-trainable", numbers, (learned + 2) * c)]

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * prod(out)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)


class LayerNormalization(KerasLayer):
    """Normalisation over `axis` (the last, by default: each position's channels), as
    keras.layers.LayerNormalization: gamma and beta of the normalised axes' shape (rms_scaling:
    gamma only).

    Example: [7, 8, 5] {} -> [7, 8, 5] params=10
    Example: [7, 8, 5] {axis: [-2, -1]} -> [7, 8, 5] params=80
    """

    type_name = "LayerNormalization"
    aliases = ("LayerNorm",)

    def keras_literal(self, field: str, value) -> str:
        if field == "axis":
            return str(value[0]) if len(value) == 1 else "[" + ", ".join(str(a) for a in value) + "]"
        return super().keras_literal(field, value)

    fields = (
        Field("axis", Axes(), -1, doc="an axis or a list of them, the batch being 0"),
        Field("epsilon", Float(min=0, min_open=True), 0.001),
        *_SCALE_AND_CENTER,
        Field("rms_scaling", Bool(), False, doc="scale by the root mean square: gamma only"),
        *ignored("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer"),
        *ignored("beta_constraint", "gamma_constraint"),
    )

    def normalised(self, cfg: dict, shape: Shape) -> int:
        # gamma's and beta's shape, as Keras builds it: one size per listed axis (a repeated axis too)
        return prod(shape[keras_axis(axis, len(shape))] for axis in cfg["axis"])

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        self.normalised(cfg, shape)
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        size = self.normalised(cfg, shape)
        if cfg["rms_scaling"]:
            return size
        return size * (cfg["center"] + cfg["scale"])

    def acts_on_last_axis(self, cfg: dict, shape: Shape) -> bool:
        return {keras_axis(axis, len(shape)) for axis in cfg["axis"]} == {len(shape) - 1}

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * prod(out)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)


class GroupNormalization(KerasLayer):
    """Normalisation over groups of channels, as keras.layers.GroupNormalization: 2C parameters.

    Example: [7, 8, 64] {} -> [7, 8, 64] params=128
    Example: [7, 8, 5] {groups: 5} -> [7, 8, 5] params=10
    """

    type_name = "GroupNormalization"
    aliases = ("GroupNorm",)
    main_field = "groups"
    fields = (
        Field("groups", Int(min=-1), 32, doc="-1: one group per channel (instance normalisation)"),
        Field("axis", Int(), -1, doc="the channels' axis, the batch being 0"),
        Field("epsilon", Float(min=0, min_open=True), 0.001),
        *_SCALE_AND_CENTER,
        *ignored("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer"),
        *ignored("beta_constraint", "gamma_constraint"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        features, groups = shape[keras_axis(cfg["axis"], len(shape))], cfg["groups"]
        groups = features if groups == -1 else groups
        if groups == 0:
            raise LayerError("the number of groups must be -1 (one per channel) or at least 1, got 0", field="groups")
        if groups > features:
            raise LayerError(
                f"the number of groups ({groups}) cannot be more than the number of channels ({features:,})",
                field="groups",
                code="shape.mismatch",
            )
        if features % groups:
            raise LayerError(
                f"the number of channels ({features:,}) must be a multiple of the number of groups ({groups})",
                field="groups",
                code="shape.mismatch",
            )
        return shape

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return shape[keras_axis(cfg["axis"], len(shape))] * (cfg["center"] + cfg["scale"])

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 2 * prod(out)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)
