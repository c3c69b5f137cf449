"""What the Keras layer types share: channels-last tensors ([H, W, C], [L, C], [D, H, W, C]),
Keras's keyword arguments and defaults, an `activation:` folded into the layer, and the keywords
that change no shape or count (initializers, regularizers, constraints), accepted and ignored.

Shapes exclude the batch axis, as everywhere in cnncalc; a Keras `axis` counts it (axis 1 is
the first axis after the batch, -1 the last).
"""

from __future__ import annotations

from math import prod
from typing import Any, ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    Bool,
    Choice,
    Field,
    LayerType,
    Saved,
    Shape,
    python_literal,
)

# Keras's activation names (keras.activations); `null` and 'linear' are none
ACTIVATIONS = (
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "exponential",
    "hard_tanh",
    "hard_shrink",
    "soft_shrink",
    "tanh_shrink",
    "log_sigmoid",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "threshold",
)  # glu is not one here: it halves the last axis
# activations whose gradient is computed from their output, which the layer's output already is
_FROM_OUTPUT = {"relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "exponential", "elu"}


class Activation(Choice):
    """An activation's name, or null (none)."""

    def __init__(self):
        super().__init__(*ACTIVATIONS)

    def parse(self, value: Any) -> str | None:
        return None if value is None else super().parse(value)


# the names Keras 3 looks up for each kind of object a layer takes by name
INITIALIZERS = (
    "glorot_uniform glorot_normal he_uniform he_normal lecun_uniform lecun_normal zeros ones zero one "
    "uniform normal random_uniform random_normal truncated_normal variance_scaling orthogonal identity constant stft"
).split()
REGULARIZERS = "l1 l2 l1_l2 orthogonal_regularizer".split()
CONSTRAINTS = "max_norm min_max_norm non_neg unit_norm".split()


class Lowercase(Choice):
    """A choice Keras reads in any case ('SAME' is 'same', as its standardize_padding)."""

    def parse(self, value: Any) -> str:
        return super().parse(value.lower() if isinstance(value, str) else value)


class Ignored(Choice):
    """A keyword that changes no shape and no count (kernel_initializer: he_normal): one of the
    names Keras looks up for it (its functions' or its classes': he_normal, HeNormal), or null.
    The Keras export writes it as given."""

    def __init__(self, names: list[str]):
        super().__init__(*names)
        self.known = {name.replace("_", "") for name in names}

    def parse(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value.lower().replace("_", "") in self.known and value.isidentifier():
            return value
        return super().parse(value)


def ignored(*names: str) -> tuple[Field, ...]:
    """Fields for initializers, regularizers and constraints, by their keywords' endings."""
    kinds = {"initializer": INITIALIZERS, "regularizer": REGULARIZERS, "constraint": CONSTRAINTS}
    return tuple(
        Field(name, Ignored(kinds[name.rsplit("_", 1)[1]]), None, doc="accepted; changes no shape or count")
        for name in names
    )


WEIGHTS = ignored(
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)
ACTIVATION = Field("activation", Activation(), None, doc="applied to the output: no parameters, no row of its own")
USE_BIAS = Field("use_bias", Bool(), True)


def keras_axis(axis: int, rank: int, field: str = "axis") -> int:
    """A Keras `axis` (the batch is 0; negative counts from the end) as an index into a shape
    of `rank` axes without the batch; LayerError if it is the batch or out of range."""
    position = axis + rank + 1 if axis < 0 else axis
    if not 1 <= position <= rank:
        raise LayerError(
            f"axis {axis} is out of range for a {rank + 1}-axis tensor (the batch is axis 0)",
            field=field,
            code="shape.invalid",
        )
    return position - 1


class KerasLayer(LayerType):
    """A Keras layer: channels last, `activation:` folded in where Keras offers it.

    The Keras export writes `layers.<type_name>(...)`: `keras_positional` fields by position
    (the main field by default), then each field that differs from its default by keyword, as
    `keras_literal` writes its value.
    """

    channels_last = True
    inferred_axis = -1
    other_names = {  # torch.nn's keyword -> Keras's, where a field has one
        "out_channels": "filters",
        "stride": "strides",
        "dilation": "dilation_rate",
        "bias": "use_bias",
        "out_features": "units",
        "p": "rate",
        "kernel_size": "pool_size",
        "num_groups": "groups",
        "eps": "epsilon",
        "scale_factor": "size",
        "dim": "axis",
        "shape": "target_shape",
    }
    rank: ClassVar[int | None] = None  # the spatial axes of a windowed, padding or resampling layer

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("rank") is not None:  # Conv2D: [H, W, C], as Keras's input_spec
            cls.input_rank = cls.rank + 1

    keras_positional: ClassVar[tuple[str, ...] | None] = None  # None: (main_field,)

    def keras_arguments(self, cfg: dict) -> list[str]:
        positional = self.keras_positional if self.keras_positional is not None else (self.main_field,)
        positional = tuple(name for name in positional if name)
        arguments = [self.keras_literal(name, cfg[name]) for name in positional]
        for f in self.fields:
            if f.name not in positional and cfg[f.name] != self.default_of(f):
                arguments.append(f"{f.name}={self.keras_literal(f.name, cfg[f.name])}")
        return arguments

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        """The constructor, e.g. `layers.Conv2D(32, 3, activation="relu")`: this very layer."""
        return [f"layers.{self.type_name}({', '.join(self.keras_arguments(cfg))})"]

    def keras_literal(self, field: str, value: Any) -> str:
        """A field's value as Keras takes it, in Python source: one size per axis of one axis
        as an int (UpSampling1D takes no tuple)."""
        if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], int):
            return python_literal(value[0])
        return python_literal(value)

    def activation_of(self, cfg: dict) -> str | None:
        activation = cfg.get("activation")
        return None if activation in (None, "linear") else activation

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if self.activation_of(cfg) else 0

    def activation_saved(self, cfg: dict, out: Shape) -> tuple[Saved, ...]:
        """What the folded activation keeps for backward: its output (the layer's), or for the
        others its input, a tensor only this layer holds."""
        activation = self.activation_of(cfg)
        if activation is None:
            return ()
        return (Saved("output" if activation in _FROM_OUTPUT else "extra", prod(out), needed_for="any"),)


def channels(shape: Shape) -> int:
    return shape[-1]


def spatial(shape: Shape) -> Shape:
    return shape[:-1]
