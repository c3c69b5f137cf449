"""Keras's convolutions at any rank: Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D and
SeparableConv1D/2D, with Keras 3's shape rules.

Where Keras differs from PyTorch: 'same' gives ceil(n / stride) whatever the kernel (the odd
padding pixel goes after, and a kernel larger than the input is fine); 'causal' (Conv1D) pads
only before; a transposed convolution's 'valid' output is n·s + max(k − s, 0) unless
`output_padding` is given (even 0), which switches to (n − 1)·s + k − 2·pad + output_padding.
"""

from __future__ import annotations

from math import prod
from typing import ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.arithmetic import Step, conv_steps, padded_window_steps
from cnncalc.layers.base import UNDEFINED, Field, Int, PerAxis, Saved, Shape, axes_of, unread_note
from cnncalc.layers.keras.base import ACTIVATION, USE_BIAS, WEIGHTS, KerasLayer, Lowercase, channels, ignored, spatial


def _sizes(values) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def windows(rank: int, shape: Shape, cfg: dict, kernel_field: str = "kernel_size") -> tuple[list[int], list[tuple]]:
    """Each spatial axis's output size and (before, after) padding, as Keras computes them;
    LayerError where 'valid' leaves no output."""
    sizes, pads = [], []
    for axis, n, k, s, d in zip(axes_of(rank), spatial(shape), cfg[kernel_field], cfg["strides"], cfg["dilation_rate"]):
        window = d * (k - 1) + 1
        if cfg["padding"] == "same":
            out = -(-n // s)
            total = max((out - 1) * s + window - n, 0)
            pads.append((total // 2, total - total // 2))
        elif cfg["padding"] == "causal":
            out = (n - 1) // s + 1
            pads.append((window - 1, 0))
        else:
            if n < window:
                dilated = f" (dilation_rate {d} makes it {window})" if d > 1 else ""
                raise LayerError(
                    f"{kernel_field.removesuffix('_size')} {axis} {k}{dilated} is larger than the input {axis} {n} "
                    f"with padding 'valid': "
                    f"Keras computes an output size of zero or negative (padding 'same' would give {-(-n // s)})",
                    field=kernel_field,
                    code="shape.nonpositive",
                )
            out = (n - window) // s + 1
            pads.append((0, 0))
        sizes.append(out)
    return sizes, pads


def check_strides_and_dilation(cfg: dict) -> None:
    if any(s > 1 for s in cfg["strides"]) and any(d > 1 for d in cfg["dilation_rate"]):
        raise LayerError(
            f"`strides > 1` not supported in conjunction with `dilation_rate > 1` (Keras refuses it): "
            f"strides {_sizes(cfg['strides'])}, dilation_rate {_sizes(cfg['dilation_rate'])}",
            field="strides",
        )


def _padding(causal: bool) -> Field:
    choices = ("valid", "same", "causal") if causal else ("valid", "same")
    return Field("padding", Lowercase(*choices), "valid", doc="'same' keeps ceil(n / strides)")


def _window_fields(rank: int, causal: bool = False) -> tuple[Field, ...]:
    """kernel_size, strides, padding ('causal' for Conv1D alone, as Keras's allow_causal), dilation_rate."""
    return (
        Field("kernel_size", PerAxis(min=1, rank=rank)),
        Field("strides", PerAxis(min=1, rank=rank), 1),
        _padding(causal),
        Field("dilation_rate", PerAxis(min=1, rank=rank), 1),
    )


class _Windowed(KerasLayer):
    """A layer sliding a kernel: its receptive window, its unread-pixel note, what it keeps."""

    rank: ClassVar[int]

    def receptive_window(self, cfg: dict, shape: Shape):
        _, pads = windows(self.rank, shape, cfg)
        return tuple(
            (d * (k - 1) + 1, s, before)
            for k, s, d, (before, _) in zip(cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"], pads)
        )

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        _, pads = windows(self.rank, shape, cfg)
        axes = [
            (axis, n, before, after, k, d, s, m)
            for axis, n, k, s, d, (before, after), m in zip(
                axes_of(self.rank),
                spatial(shape),
                cfg["kernel_size"],
                cfg["strides"],
                cfg["dilation_rate"],
                pads,
                spatial(out),
            )
        ]
        return [("strides", note)] if (note := unread_note(axes)) else []

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return (prod(out) if cfg["use_bias"] else 0) + super().other_ops(cfg, shape, out)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"), *self.activation_saved(cfg, out))

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        axes = axes_of(self.rank)
        return padded_window_steps(
            axes, spatial(shape), cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"], cfg["padding"]
        )


class _Conv(_Windowed):
    """A convolution, as keras.layers.Conv1D/2D/3D: params = prod(kernel) · (C / groups) · filters
    (+ filters biases), the chapter's (n·m·l + 1)·k."""

    main_field = "filters"
    keras_positional = ("filters", "kernel_size")

    @classmethod
    def make_fields(cls, rank: int) -> tuple[Field, ...]:
        kernel, strides, padding, dilation = _window_fields(rank, causal=rank == 1)
        filters = Field("filters", Int(min=1), doc="number of filters")
        return (filters, kernel, strides, padding, dilation, Field("groups", Int(min=1), 1), ACTIVATION, USE_BIAS)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        c, groups, filters = channels(shape), cfg["groups"], cfg["filters"]
        if c % groups:
            raise LayerError(
                f"the number of input channels must be evenly divisible by the number of groups: "
                f"groups={groups}, but the input has {c:,} channels",
                field="groups",
            )
        if filters % groups:
            raise LayerError(
                f"the number of filters must be evenly divisible by the number of groups: groups={groups}, "
                f"filters={filters:,}",
                field="groups",
            )
        check_strides_and_dilation(cfg)
        sizes, _ = windows(self.rank, shape, cfg)
        return (*sizes, filters)

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        weights = prod(cfg["kernel_size"]) * (channels(shape) // cfg["groups"]) * cfg["filters"]
        return weights + (cfg["filters"] if cfg["use_bias"] else 0)

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * prod(cfg["kernel_size"]) * (channels(shape) // cfg["groups"])

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        counts = conv_steps(
            axes_of(self.rank),
            cfg["kernel_size"],
            channels(shape),
            cfg["groups"],
            cfg["filters"],
            cfg["use_bias"],
            spatial(out),
        )
        return super().explain(cfg, shape, out) + counts


class Conv1D(_Conv):
    """1-D convolution over [L, C], as keras.layers.Conv1D; padding 'causal' pads only before.

    Example: [8000, 1] {filters: 32, kernel_size: 80, strides: 16} -> [496, 32] params=2592
    """

    type_name = "Conv1D"
    aliases = ("Convolution1D",)
    rank = 1
    fields = (*_Conv.make_fields(1), *WEIGHTS)


class Conv2D(_Conv):
    """2-D convolution over [H, W, C], as keras.layers.Conv2D.

    Example: [64, 64, 3] {filters: 32, kernel_size: 3} -> [62, 62, 32] params=896
    Example: [11, 11, 3] {filters: 8, kernel_size: 3, strides: 2, padding: same} -> [6, 6, 8] params=224
    """

    type_name = "Conv2D"
    aliases = ("Convolution2D",)
    rank = 2
    fields = (*_Conv.make_fields(2), *WEIGHTS)


class Conv3D(_Conv):
    """3-D convolution over [D, H, W, C], as keras.layers.Conv3D.

    Example: [16, 112, 112, 3] {filters: 64, kernel_size: 3, padding: same} -> [16, 112, 112, 64] params=5248
    """

    type_name = "Conv3D"
    aliases = ("Convolution3D",)
    rank = 3
    fields = (*_Conv.make_fields(3), *WEIGHTS)


class _ConvTranspose(KerasLayer):
    """A transposed convolution, as keras.layers.Conv1D/2D/3DTranspose (no groups in Keras 3).

    Without `output_padding`: 'valid' gives n·s + max(k − s, 0), 'same' n·s. With it (even 0):
    (n − 1)·s + k − 2·pad + output_padding, pad = k // 2 for 'same' (0 for 'valid'), k dilated.
    """

    rank: ClassVar[int]
    main_field = "filters"
    keras_positional = ("filters", "kernel_size")

    @classmethod
    def make_fields(cls, rank: int) -> tuple[Field, ...]:
        kernel, strides, _, dilation = _window_fields(rank)
        return (
            Field("filters", Int(min=1), doc="number of filters"),
            kernel,
            strides,
            _padding(causal=False),
            Field("output_padding", PerAxis(min=0, rank=rank), None, doc="null: Keras's own formula"),
            dilation,
            ACTIVATION,
            USE_BIAS,
            *WEIGHTS,
        )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_strides_and_dilation(cfg)
        padding = cfg["output_padding"]
        sizes = []
        for i, (axis, n, k, s, d) in enumerate(
            zip(axes_of(self.rank), spatial(shape), cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])
        ):
            window = k + (k - 1) * (d - 1)
            if padding is None:
                size = n * s + max(window - s, 0) if cfg["padding"] == "valid" else n * s
            else:
                if padding[i] >= s:
                    raise LayerError(
                        f"`output_padding` must be strictly less than `strides` for all dimensions (Keras "
                        f"refuses it): along {axis}, output_padding {padding[i]} and strides {s}",
                        field="output_padding",
                    )
                pad = window // 2 if cfg["padding"] == "same" else 0
                size = (n - 1) * s + window - 2 * pad + padding[i]
            if size < 1:
                raise LayerError(
                    f"output {axis} would be {size}: (in {n} - 1)·strides {s} + kernel {window} - 2·{window // 2} "
                    f"+ output_padding {padding[i] if padding else 0}",
                    field="output_padding",
                    code="shape.nonpositive",
                )
            sizes.append(size)
        return (*sizes, cfg["filters"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        weights = prod(cfg["kernel_size"]) * channels(shape) * cfg["filters"]
        return weights + (cfg["filters"] if cfg["use_bias"] else 0)

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # over the input positions, as torch.utils.flop_counter counts a transposed convolution
        return prod(shape) * cfg["filters"] * prod(cfg["kernel_size"])

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return (prod(out) if cfg["use_bias"] else 0) + super().other_ops(cfg, shape, out)

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED  # one output pixel draws on a varying set of inputs

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        even = any(k % 2 == 0 for k in cfg["kernel_size"])
        if even and cfg["padding"] == "same" and cfg["output_padding"] is not None:
            return [
                (
                    "output_padding",
                    "Keras plans an even kernel with padding 'same' and output_padding, but its "
                    "TensorFlow backend cannot run it (its output is one pixel short); the torch and JAX backends can",
                )
            ]
        return []

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"), *self.activation_saved(cfg, out))


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution over [L, C], as keras.layers.Conv1DTranspose.

    Example: [10, 2] {filters: 4, kernel_size: 3, strides: 2} -> [21, 4] params=28
    """

    type_name = "Conv1DTranspose"
    aliases = ("Convolution1DTranspose",)
    rank = 1
    fields = _ConvTranspose.make_fields(1)


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution over [H, W, C], as keras.layers.Conv2DTranspose.

    Example: [10, 11, 2] {filters: 4, kernel_size: 3, strides: 2} -> [21, 23, 4] params=76
    Example: [10, 11, 2] {filters: 4, kernel_size: 4, strides: 2, padding: same, output_padding: 1} -> [19, 21, 4] params=132
    """

    type_name = "Conv2DTranspose"
    aliases = ("Convolution2DTranspose",)
    rank = 2
    fields = _ConvTranspose.make_fields(2)


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution over [D, H, W, C], as keras.layers.Conv3DTranspose.

    Example: [4, 5, 6, 2] {filters: 4, kernel_size: 3, strides: 2} -> [9, 11, 13, 4] params=220
    """

    type_name = "Conv3DTranspose"
    aliases = ("Convolution3DTranspose",)
    rank = 3
    fields = _ConvTranspose.make_fields(3)


def _unequal_strides_note(rank: int, cfg: dict) -> list[tuple[str | None, str]]:
    if rank == 2 and len(set(cfg["strides"])) > 1:
        return [
            (
                "strides",
                "Keras plans unequal strides here, but its TensorFlow backend cannot run them "
                "(TensorFlow's depthwise convolution needs equal strides); the torch and JAX backends can",
            )
        ]
    return []


_DEPTHWISE_WEIGHTS = ignored(
    "depthwise_initializer",
    "bias_initializer",
    "depthwise_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "depthwise_constraint",
    "bias_constraint",
)


class _Depthwise(_Windowed):
    """One kernel per input channel (depth_multiplier of them): C·dm outputs, params prod(kernel)·C·dm
    (+ C·dm biases), as keras.layers.DepthwiseConv1D/2D. Keras accepts strides with dilation here."""

    main_field = "kernel_size"

    @classmethod
    def make_fields(cls, rank: int) -> tuple[Field, ...]:
        kernel, strides, padding, dilation = _window_fields(rank)
        multiplier = Field("depth_multiplier", Int(min=1), 1)
        return (kernel, strides, padding, multiplier, dilation, ACTIVATION, USE_BIAS, *_DEPTHWISE_WEIGHTS)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        sizes, _ = windows(self.rank, shape, cfg)
        return (*sizes, channels(shape) * cfg["depth_multiplier"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        produced = channels(shape) * cfg["depth_multiplier"]
        return prod(cfg["kernel_size"]) * produced + (produced if cfg["use_bias"] else 0)

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * prod(cfg["kernel_size"])

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        kernel, c, dm = "·".join(str(k) for k in cfg["kernel_size"]), channels(shape), cfg["depth_multiplier"]
        bias = f" + {c:,}·{dm}" if cfg["use_bias"] else ""
        params = Step(
            "params",
            "kernel·C·depth_multiplier" + (" + C·depth_multiplier" if cfg["use_bias"] else ""),
            f"{kernel}·{c:,}·{dm}{bias}",
            self.params(cfg, shape, out),
        )
        macs = Step(
            "MACs", "output values·kernel", f"{'·'.join(f'{n:,}' for n in out)}·{kernel}", self.macs(cfg, shape, out)
        )
        return [*super().explain(cfg, shape, out), params, macs]

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        return super().notes(cfg, shape, out) + _unequal_strides_note(self.rank, cfg)


class DepthwiseConv1D(_Depthwise):
    """1-D depthwise convolution over [L, C], as keras.layers.DepthwiseConv1D.

    Example: [7, 5] {kernel_size: 3} -> [5, 5] params=20
    """

    type_name = "DepthwiseConv1D"
    rank = 1
    fields = _Depthwise.make_fields(1)


class DepthwiseConv2D(_Depthwise):
    """2-D depthwise convolution over [H, W, C], as keras.layers.DepthwiseConv2D (MobileNet).

    Example: [7, 8, 5] {kernel_size: 3, depth_multiplier: 2} -> [5, 6, 10] params=100
    """

    type_name = "DepthwiseConv2D"
    rank = 2
    fields = _Depthwise.make_fields(2)


class _Separable(_Windowed):
    """A depthwise convolution then a 1x1 one, as keras.layers.SeparableConv1D/2D: params
    prod(kernel)·C·dm + C·dm·filters (+ filters biases)."""

    main_field = "filters"
    keras_positional = ("filters", "kernel_size")

    @classmethod
    def make_fields(cls, rank: int) -> tuple[Field, ...]:
        kernel, strides, padding, dilation = _window_fields(rank)
        return (
            Field("filters", Int(min=1), doc="number of filters of the pointwise convolution"),
            kernel,
            strides,
            padding,
            Field("depth_multiplier", Int(min=1), 1),
            dilation,
            ACTIVATION,
            USE_BIAS,
            *ignored(
                "depthwise_initializer",
                "pointwise_initializer",
                "bias_initializer",
                "depthwise_regularizer",
                "pointwise_regularizer",
                "bias_regularizer",
                "activity_regularizer",
                "depthwise_constraint",
                "pointwise_constraint",
                "bias_constraint",
            ),
        )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        sizes, _ = windows(self.rank, shape, cfg)
        return (*sizes, cfg["filters"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        middle = channels(shape) * cfg["depth_multiplier"]
        bias = cfg["filters"] if cfg["use_bias"] else 0
        return prod(cfg["kernel_size"]) * middle + middle * cfg["filters"] + bias

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        middle = channels(shape) * cfg["depth_multiplier"]
        return prod(spatial(out)) * middle * (prod(cfg["kernel_size"]) + cfg["filters"])

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        kernel, c, dm, f = (
            "·".join(str(k) for k in cfg["kernel_size"]),
            channels(shape),
            cfg["depth_multiplier"],
            cfg["filters"],
        )
        bias = f" + {f:,}" if cfg["use_bias"] else ""
        words = "kernel·C·dm + C·dm·filters" + (" + filters" if cfg["use_bias"] else "")
        params = Step("params", words, f"{kernel}·{c:,}·{dm} + {c:,}·{dm}·{f:,}{bias}", self.params(cfg, shape, out))
        positions = "·".join(f"{n:,}" for n in spatial(out))
        macs = Step(
            "MACs",
            "output positions·C·dm·(kernel + filters)",
            f"{positions}·{c:,}·{dm}·({prod(cfg['kernel_size'])} + {f:,})",
            self.macs(cfg, shape, out),
        )
        return [*super().explain(cfg, shape, out), params, macs]

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        return super().notes(cfg, shape, out) + _unequal_strides_note(self.rank, cfg)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        middle = prod(spatial(out)) * channels(shape) * cfg["depth_multiplier"]  # the depthwise output
        return (*super().saved_for_backward(cfg, shape, out), Saved("extra", middle, needed_for="any"))


class SeparableConv1D(_Separable):
    """1-D separable convolution over [L, C], as keras.layers.SeparableConv1D.

    Example: [7, 5] {filters: 6, kernel_size: 3} -> [5, 6] params=51
    """

    type_name = "SeparableConv1D"
    aliases = ("SeparableConvolution1D",)
    rank = 1
    fields = _Separable.make_fields(1)


class SeparableConv2D(_Separable):
    """2-D separable convolution over [H, W, C], as keras.layers.SeparableConv2D (Xception).

    Example: [7, 8, 5] {filters: 6, kernel_size: 3, depth_multiplier: 2} -> [5, 6, 6] params=156
    """

    type_name = "SeparableConv2D"
    aliases = ("SeparableConvolution2D",)
    rank = 2
    fields = _Separable.make_fields(2)
