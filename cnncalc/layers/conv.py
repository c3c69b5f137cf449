"""Convolutions at any rank: conv1d/2d/3d and conv_transpose1d/2d/3d, with torch.nn's exact shape rules.

One class per family holds the rules, generic over the number of spatial axes (`rank`); the
registered types only name their rank, their torch class and their examples.
"""

from __future__ import annotations

from math import prod
from typing import ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    UNDEFINED,
    Bool,
    Choice,
    Field,
    Int,
    LayerType,
    Padding,
    PerAxis,
    Saved,
    Shape,
    axes_of,
    check_inferred,
    per_axis_form,
    unread_note,
)

KERAS_CONV_DEFAULTS = {"strides": 1, "padding": "valid", "dilation_rate": 1, "groups": 1, "use_bias": True}


def _sizes_text(sizes) -> str:
    return "x".join(str(n) for n in sizes)


def _check_groups(cfg: dict, in_channels: int) -> None:
    groups, out_channels = cfg["groups"], cfg["out_channels"]
    if in_channels % groups:
        raise LayerError(f"groups={groups} does not divide the {in_channels:,} input channels", field="groups")
    if out_channels % groups:
        raise LayerError(f"groups={groups} does not divide out_channels={out_channels:,}", field="groups")


def same_padding(kernel: int, dilation: int, size: int = 1, stride: int = 1) -> tuple[int, int]:
    """Padding before and after for padding='same', keeping ceil(size / stride); the odd pixel
    goes after, as torch does at stride 1 and TensorFlow at any stride.

    >>> same_padding(4, 1), same_padding(3, 1, 10, 2), same_padding(3, 1, 11, 2)
    ((1, 2), (0, 1), (1, 1))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """torch.nn.Conv2d along one axis: floor((in + pad - d*(k-1) - 1) / s) + 1.

    >>> conv_output_size(50, 3, 1, 2, 1)  # 50 + 2*1 - (3 - 1) = 50: padding 1 keeps the size
    50
    """
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def _conv_fields(rank: int) -> tuple[Field, ...]:
    form = per_axis_form(rank)
    return (
        Field("in_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("out_channels", Int(min=1), aliases=("filters",), doc="number of filters"),
        Field("kernel_size", PerAxis(min=1, rank=rank), aliases=("kernel",), doc=f"int or {form}"),
        Field("stride", PerAxis(min=1, rank=rank), 1, aliases=("strides",)),
        Field("padding", Padding(rank), 0, aliases=("pad",), doc=f"int, {form}, 'same' or 'valid'"),
        Field("dilation", PerAxis(min=1, rank=rank), 1, aliases=("dilation_rate",)),
        Field("groups", Int(min=1), 1),
        Field("bias", Bool(), True, aliases=("use_bias",)),
        Field("padding_mode", Choice("zeros", "reflect", "replicate", "circular"), "zeros"),
    )


class _ConvNd(LayerType):
    """A convolution over `rank` spatial axes, as torch.nn.Conv1d/2d/3d.

    params = out_channels * (in_channels / groups) * prod(kernel) (+ out_channels bias),
    that is (n*m*l + 1)*k for an n x m kernel over l input maps and k filters (groups=1).
    """

    rank: ClassVar[int]
    torch_positional = ("in_channels", "out_channels", "kernel_size")
    main_field = "out_channels"
    inferred_field = "in_channels"
    out_size_field = "out_channels"

    def padding_amounts(self, cfg: dict, shape: Shape) -> tuple[tuple[int, int], ...]:
        """(before, after) padding per axis, resolving 'same' and 'valid'. 'same' keeps
        ceil(in / stride), the odd pixel after: at stride 1 PyTorch's own, (kernel − 1)·dilation;
        with a stride, which PyTorch refuses, TensorFlow's and Keras's."""
        padding = cfg["padding"]
        if padding == "valid":
            return ((0, 0),) * self.rank
        if padding == "same":
            return tuple(
                same_padding(k, d, n, s)
                for k, d, n, s in zip(cfg["kernel_size"], cfg["dilation"], shape[1:], cfg["stride"])
            )
        return tuple((p, p) for p in padding)

    def strided_same(self, cfg: dict) -> bool:
        """padding 'same' with a stride: planned as TensorFlow pads, exported with explicit padding."""
        return cfg["padding"] == "same" and any(s != 1 for s in cfg["stride"])

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        """With 'same' and a stride, the padding the export gives nn.Conv: the symmetric amounts,
        or 0 where a ZeroPad before the convolution does the uneven padding (torch_wrapper)."""
        resolved = super().resolved_config(cfg, shape)
        if not self.strided_same(cfg):
            return resolved
        pads = self.padding_amounts(cfg, shape)
        even = all(before == after for before, after in pads)
        return {**resolved, "padding": tuple(before for before, _ in pads) if even else (0,) * self.rank}

    def torch_wrapper(self, cfg: dict, shape: Shape) -> str | None:
        pads = self.padding_amounts(cfg, shape)
        if not self.strided_same(cfg) or all(before == after for before, after in pads):
            return None
        sides = ", ".join(f"{before}, {after}" for before, after in reversed(pads))  # the last axis first, as F.pad
        return f"nn.Sequential(nn.ZeroPad{self.rank}d(({sides})), {{}})"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, *spatial = shape
        check_inferred(cfg, "in_channels", channels, "channels")
        _check_groups(cfg, channels)
        if self.strided_same(cfg) and cfg["padding_mode"] != "zeros":
            raise LayerError(
                f"padding 'same' with stride {_sizes_text(cfg['stride'])} pads with zeros here (PyTorch refuses "
                f"a strided 'same'; cnncalc pads as TensorFlow does), not padding_mode {cfg['padding_mode']!r}",
                field="padding_mode",
            )
        pads = self.padding_amounts(cfg, shape)
        _check_padding_mode(cfg["padding_mode"], pads, spatial)
        out = []
        for axis, size, k, s, d, (before, after) in zip(
            axes_of(self.rank), spatial, cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads
        ):
            effective = d * (k - 1) + 1
            if size + before + after < effective:
                dilated = f" (dilation {d} makes it {effective})" if d > 1 else ""
                raise LayerError(
                    f"kernel {axis} {k}{dilated} is larger than the padded input {axis} "
                    f"{size + before + after} ({size} + padding {before + after})",
                    field="kernel_size",
                    code="shape.nonpositive",
                )
            out.append(conv_output_size(size, k, s, before + after, d))
        return (cfg["out_channels"], *out)

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        weights = cfg["out_channels"] * (shape[0] // cfg["groups"]) * prod(cfg["kernel_size"])
        return weights + (cfg["out_channels"] if cfg["bias"] else 0)

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        pads = self.padding_amounts(cfg, shape)
        axes = [
            (axis, size, before, after, k, d, s, n)
            for axis, size, k, s, d, (before, after), n in zip(
                axes_of(self.rank), shape[1:], cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads, out[1:]
            )
        ]
        found = [("stride", note)] if (note := unread_note(axes)) else []
        uneven = [
            f"{before} before and {after} after along {axis}"
            for axis, (before, after) in zip(axes_of(self.rank), pads)
            if before != after
        ]
        if self.strided_same(cfg):
            sides = f": {'; '.join(uneven)}" if uneven else ""
            found.append(
                (
                    "padding",
                    f"padding 'same' with stride {_sizes_text(cfg['stride'])}, which PyTorch refuses: cnncalc keeps "
                    f"ceil(in / stride) as TensorFlow and Keras do{sides}; the export pads explicitly",
                )
            )
        elif uneven:
            found.append(("padding", f"padding 'same' pads {'; '.join(uneven)}, as PyTorch does"))
        return found

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # every output value is a dot product over (in_channels / groups) * prod(kernel) inputs
        return prod(out) * (shape[0] // cfg["groups"]) * prod(cfg["kernel_size"])

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step, conv_steps, padded_window_steps, window_size

        axes, pads = axes_of(self.rank), self.padding_amounts(cfg, shape)
        counts = conv_steps(
            axes, cfg["kernel_size"], shape[0], cfg["groups"], cfg["out_channels"], cfg["bias"], out[1:]
        )
        if self.strided_same(cfg):  # TensorFlow's 'same': ceil(in / stride)
            kernel, strides, dilation = cfg["kernel_size"], cfg["stride"], cfg["dilation"]
            return padded_window_steps(axes, shape[1:], kernel, strides, dilation, "same") + counts
        steps = []
        if cfg["padding"] == "same":
            for axis, k, d, (before, after) in zip(axes, cfg["kernel_size"], cfg["dilation"], pads):
                text = f"{before + after}: {before} before, {after} after"
                steps.append(
                    Step(
                        f"padding ({axis})", "'same': dilation·(kernel − 1), the odd one after", f"{d}·({k} − 1)", text
                    )
                )
        for axis, size, k, s, d, (before, after) in zip(
            axes, shape[1:], cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads
        ):
            steps.append(window_size(axis, size, k, s, before, after, d))
        return steps + conv_steps(
            axes, cfg["kernel_size"], shape[0], cfg["groups"], cfg["out_channels"], cfg["bias"], out[1:]
        )

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if cfg["bias"] else 0  # the bias additions

    def receptive_window(self, cfg: dict, shape: Shape):
        pads = self.padding_amounts(cfg, shape)
        return tuple(
            (d * (k - 1) + 1, s, before)
            for k, s, d, (before, _) in zip(cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads)
        )

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import CHANNELS_FIRST, keras_call, zero_padding

        strides, dilation = cfg["stride"], cfg["dilation"]
        if cfg["padding_mode"] != "zeros" or (max(strides) > 1 and max(dilation) > 1):
            return None  # Keras pads with zeros only, and refuses strides with dilation
        same = cfg["padding"] == "same"  # stride 1: Keras pads as torch does, the odd pixel after
        pad = None if same else zero_padding(self.padding_amounts(cfg, shape))
        conv = keras_call(
            f"Conv{self.rank}D",
            cfg["out_channels"],
            cfg["kernel_size"],
            defaults=KERAS_CONV_DEFAULTS,
            strides=strides,
            padding="same" if same else "valid",
            dilation_rate=dilation,
            groups=cfg["groups"],
            use_bias=cfg["bias"],
            data_format=CHANNELS_FIRST,
        )
        return [pad, conv] if pad else [conv]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """Conv, its weight [out, in / groups, *kernel]; a padding_mode other than zeros pads first."""
        from cnncalc.layers.onnx_code import WEIGHT, pads_of

        pads = self.padding_amounts(cfg, shape)
        fan_in = shape[0] // cfg["groups"] * prod(cfg["kernel_size"])
        weight = g.weight(
            "weight", (cfg["out_channels"], shape[0] // cfg["groups"], *cfg["kernel_size"]), WEIGHT, fan_in
        )
        bias = g.weight("bias", (cfg["out_channels"],), "bias", fan_in) if cfg["bias"] else ""
        x = g.x
        if cfg["padding_mode"] != "zeros":  # torch pads a copy with F.pad, then convolves without padding
            mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[cfg["padding_mode"]]
            axes = list(range(2, 2 + self.rank))
            x = g.node("Pad", [x, g.ints(pads_of(pads)), "", g.ints(axes)], mode=mode)
            pads = ((0, 0),) * self.rank
        return g.node(
            "Conv",
            [x, weight, bias] if bias else [x, weight],
            kernel_shape=list(cfg["kernel_size"]),
            strides=list(cfg["stride"]),
            dilations=list(cfg["dilation"]),
            pads=pads_of(pads),
            group=cfg["groups"],
        )

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        channels, *spatial = shape
        pads = self.padding_amounts(cfg, shape)
        mode = cfg["padding_mode"]
        if mode == "zeros" and all(before == after for before, after in pads):
            return (Saved("input", prod(shape), needed_for="any"),)
        if self.strided_same(cfg):  # the export's ZeroPad makes a padded copy, which the convolution keeps
            padded = channels * prod(size + before + after for size, (before, after) in zip(spatial, pads))
            return (Saved("extra", padded, needed_for="any"),)
        if mode == "zeros":
            # uneven 'same' padding: torch pads a copy by the difference and convolves that
            padded = channels * prod(size + after - before for size, (before, after) in zip(spatial, pads))
            return (Saved("extra", padded, needed_for="any"),)
        # other modes pad a copy with F.pad first; reflect and replicate padding keep their input
        padded = channels * prod(size + before + after for size, (before, after) in zip(spatial, pads))
        kept = () if mode == "circular" else (Saved("input", prod(shape)),)
        return (*kept, Saved("extra", padded, needed_for="any"))


def _check_padding_mode(mode: str, pads, spatial) -> None:
    # Non-zero modes pad a copy with F.pad first, which has limits of its own.
    if mode not in ("reflect", "circular"):
        return
    for axis, size, (before, after) in zip(axes_of(len(spatial)), spatial, pads):
        biggest = max(before, after)
        if mode == "reflect" and biggest >= size:
            raise LayerError(
                f"reflect padding {biggest} must be smaller than the input {axis} {size}",
                field="padding",
            )
        if mode == "circular" and biggest > size:
            raise LayerError(
                f"circular padding {biggest} must not exceed the input {axis} {size}",
                field="padding",
            )


class Conv1d(_ConvNd):
    """1-D convolution over [C, L] (audio, sequences), as torch.nn.Conv1d.

    Example: [1, 8000] {out_channels: 32, kernel_size: 80, stride: 16} -> [32, 496] params=2592
    Example: [32, 100] {out_channels: 64, kernel_size: 3, padding: same, dilation: 2} -> [64, 100] params=6208
    """

    type_name = "conv1d"
    torch_class = "nn.Conv1d"
    aliases = ("convolution1d",)
    rank = 1
    input_rank = 2
    fields = _conv_fields(1)


class Conv2d(_ConvNd):
    """2-D convolution, as torch.nn.Conv2d.

    params = out_channels * (in_channels / groups) * kh * kw (+ out_channels bias),
    that is (n*m*l + 1)*k for an n x m kernel over l input maps and k filters (groups=1).

    Example: [32, 50, 50] {out_channels: 64, kernel_size: 3, padding: 1} -> [64, 50, 50] params=18496
    Example: [3, 224, 224] {out_channels: 64, kernel_size: 11, stride: 4, padding: 2} -> [64, 55, 55] params=23296
    Example: [16, 50, 100] {out_channels: 33, kernel_size: [3, 5], stride: [2, 1], padding: [4, 2], dilation: [3, 1]} -> [33, 26, 100] params=7953
    Example: [32, 28, 28] {out_channels: 32, kernel_size: 3, padding: same, groups: 32} -> [32, 28, 28] params=320
    """

    type_name = "conv2d"
    torch_class = "nn.Conv2d"
    aliases = ("conv", "convolution")
    rank = 2
    input_rank = 3
    fields = _conv_fields(2)


class Conv3d(_ConvNd):
    """3-D convolution over [C, D, H, W] (video, volumes), as torch.nn.Conv3d.

    Example: [3, 16, 112, 112] {out_channels: 64, kernel_size: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3], bias: false} -> [64, 16, 56, 56] params=28224
    Example: [64, 8, 28, 28] {out_channels: 128, kernel_size: 3, stride: 2, padding: 1} -> [128, 4, 14, 14] params=221312
    """

    type_name = "conv3d"
    torch_class = "nn.Conv3d"
    aliases = ("convolution3d",)
    rank = 3
    input_rank = 4
    fields = _conv_fields(3)


def _transpose_fields(rank: int) -> tuple[Field, ...]:
    return (
        Field("in_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("out_channels", Int(min=1), aliases=("filters",)),
        Field("kernel_size", PerAxis(min=1, rank=rank), aliases=("kernel",)),
        Field("stride", PerAxis(min=1, rank=rank), 1, aliases=("strides",)),
        Field("padding", PerAxis(min=0, rank=rank), 0, aliases=("pad",)),
        Field("output_padding", PerAxis(min=0, rank=rank), 0),
        Field("groups", Int(min=1), 1),
        Field("bias", Bool(), True, aliases=("use_bias",)),
        Field("dilation", PerAxis(min=1, rank=rank), 1, aliases=("dilation_rate",)),
    )


class _ConvTransposeNd(LayerType):
    """A transposed convolution ("deconvolution") over `rank` spatial axes, as torch.nn.ConvTranspose1d/2d/3d.

    out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1;
    params = in_channels * (out_channels / groups) * prod(kernel) (+ out_channels bias).
    """

    rank: ClassVar[int]
    torch_positional = ("in_channels", "out_channels", "kernel_size")
    main_field = "out_channels"
    inferred_field = "in_channels"
    out_size_field = "out_channels"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, *spatial = shape
        check_inferred(cfg, "in_channels", channels, "channels")
        _check_groups(cfg, channels)
        out = []
        for axis, size, k, s, p, op, d in zip(
            axes_of(self.rank),
            spatial,
            cfg["kernel_size"],
            cfg["stride"],
            cfg["padding"],
            cfg["output_padding"],
            cfg["dilation"],
        ):
            if op >= s and op >= d:
                raise LayerError(
                    f"output_padding {op} along {axis} must be smaller than the stride ({s}) or the dilation ({d})",
                    field="output_padding",
                )
            size_out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            if size_out < 1:
                raise LayerError(
                    f"output {axis} would be {size_out}: (in {size} - 1)*stride {s} "
                    f"- 2*padding {p} + dilation {d}*(kernel {k} - 1) + output_padding {op} + 1",
                    field="padding",
                    code="shape.nonpositive",
                )
            out.append(size_out)
        return (cfg["out_channels"], *out)

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        weights = shape[0] * (cfg["out_channels"] // cfg["groups"]) * prod(cfg["kernel_size"])
        return weights + (cfg["out_channels"] if cfg["bias"] else 0)

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # counted over the input positions: each input value is scattered through the kernel
        # (what torch.utils.flop_counter and fvcore count; output-based counts overstate it)
        return prod(shape) * (cfg["out_channels"] // cfg["groups"]) * prod(cfg["kernel_size"])

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if cfg["bias"] else 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED  # one output pixel draws on a varying set of inputs

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step

        steps = []
        spans = zip(
            axes_of(self.rank),
            shape[1:],
            cfg["kernel_size"],
            cfg["stride"],
            cfg["padding"],
            cfg["output_padding"],
            cfg["dilation"],
            out[1:],
        )
        for axis, size, k, s, p, op, d, m in spans:
            formula = "(in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1"
            steps.append(Step(axis, formula, f"({size:,} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1", m))
        groups, filters = cfg["groups"], cfg["out_channels"]
        kernel = "·".join(str(k) for k in cfg["kernel_size"])
        per_group = f"({filters:,} / {groups})" if groups > 1 else f"{filters:,}"
        bias = " + C_out" if cfg["bias"] else ""
        numbers = f"{shape[0]:,}·{per_group}·{kernel}" + (f" + {filters:,}" if cfg["bias"] else "")
        steps.append(Step("params", f"C_in·(C_out / groups)·kernel{bias}", numbers, self.params(cfg, shape, out)))
        macs = f"{'·'.join(f'{n:,}' for n in shape)}·{per_group}·{kernel}"
        steps.append(
            Step(
                "MACs",
                "C_in·(input positions)·(C_out / groups)·kernel: each input value scattered",
                macs,
                self.macs(cfg, shape, out),
            )
        )
        return steps

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """ConvTranspose, its weight [in, out / groups, *kernel], as torch's; the same output formula."""
        from cnncalc.layers.onnx_code import WEIGHT

        groups, filters = cfg["groups"], cfg["out_channels"]
        fan_in = filters // groups * prod(cfg["kernel_size"])  # torch's own initialisation reads weight.size(1)
        weight = g.weight("weight", (shape[0], filters // groups, *cfg["kernel_size"]), WEIGHT, fan_in)
        inputs = [g.x, weight] + ([g.weight("bias", (filters,), "bias", fan_in)] if cfg["bias"] else [])
        return g.node(
            "ConvTranspose",
            inputs,
            kernel_shape=list(cfg["kernel_size"]),
            strides=list(cfg["stride"]),
            dilations=list(cfg["dilation"]),
            pads=list(cfg["padding"]) * 2,
            output_padding=list(cfg["output_padding"]),
            group=groups,
        )

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import CHANNELS_FIRST, Pairs, keras_call

        strides, dilation, extra = cfg["stride"], cfg["dilation"], cfg["output_padding"]
        if (
            cfg["groups"] != 1
            or (max(strides) > 1 and max(dilation) > 1)
            or any(p >= s for p, s in zip(extra, strides))
        ):
            return None  # Keras has no groups here, and refuses strides with dilation or output_padding >= strides
        # Keras's formula once output_padding is given: (n - 1)·s + d·(k - 1) + 1 + output_padding;
        # torch's padding then crops that many from each end
        conv = keras_call(
            f"Conv{self.rank}DTranspose",
            cfg["out_channels"],
            cfg["kernel_size"],
            defaults=KERAS_CONV_DEFAULTS,
            strides=strides,
            output_padding=extra,
            dilation_rate=dilation,
            use_bias=cfg["bias"],
            data_format=CHANNELS_FIRST,
        )
        if not any(cfg["padding"]):
            return [conv]
        pads = tuple((p, p) for p in cfg["padding"])
        if self.rank == 1:
            return None  # Keras's Cropping1D takes channels-last tensors only
        return [conv, keras_call(f"Cropping{self.rank}D", Pairs(pads), data_format=CHANNELS_FIRST)]


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over [C, L], as torch.nn.ConvTranspose1d.

    Example: [64, 100] {out_channels: 32, kernel_size: 4, stride: 2, padding: 1} -> [32, 200] params=8224
    """

    type_name = "conv_transpose1d"
    torch_class = "nn.ConvTranspose1d"
    aliases = ("convtranspose1d", "conv1d_transpose", "deconv1d")
    rank = 1
    input_rank = 2
    fields = _transpose_fields(1)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution"), as torch.nn.ConvTranspose2d.

    out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1;
    params = in_channels * (out_channels / groups) * kh * kw (+ out_channels bias).

    Example: [16, 6, 6] {out_channels: 16, kernel_size: 3, stride: 2, padding: 1} -> [16, 11, 11] params=2320
    Example: [16, 6, 6] {out_channels: 16, kernel_size: 3, stride: 2, padding: 1, output_padding: 1} -> [16, 12, 12] params=2320
    Example: [1024, 16, 16] {out_channels: 512, kernel_size: 2, stride: 2} -> [512, 32, 32] params=2097664
    """

    type_name = "conv_transpose2d"
    torch_class = "nn.ConvTranspose2d"
    aliases = ("convtranspose2d", "conv2d_transpose", "deconv", "deconv2d", "conv_transpose")
    rank = 2
    input_rank = 3
    fields = _transpose_fields(2)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over [C, D, H, W], as torch.nn.ConvTranspose3d.

    Example: [64, 8, 16, 16] {out_channels: 32, kernel_size: 2, stride: 2} -> [32, 16, 32, 32] params=16416
    """

    type_name = "conv_transpose3d"
    torch_class = "nn.ConvTranspose3d"
    aliases = ("convtranspose3d", "conv3d_transpose", "deconv3d")
    rank = 3
    input_rank = 4
    fields = _transpose_fields(3)
