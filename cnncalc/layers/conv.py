"""Convolutions: conv2d and conv_transpose2d, with torch.nn's exact shape rules."""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    UNDEFINED,
    Bool,
    Choice,
    Field,
    Int,
    LayerType,
    Padding,
    PairOf,
    Saved,
    Shape,
    check_inferred,
    unread_note,
)

_AXES = ("height", "width")


def _pair_text(pair) -> str:
    return f"{pair[0]}x{pair[1]}"


def _check_groups(cfg: dict, in_channels: int) -> None:
    groups, out_channels = cfg["groups"], cfg["out_channels"]
    if in_channels % groups:
        raise LayerError(f"groups={groups} does not divide the {in_channels:,} input channels", field="groups")
    if out_channels % groups:
        raise LayerError(f"groups={groups} does not divide out_channels={out_channels:,}", field="groups")


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """Padding before and after for padding='same'; the odd pixel goes after, as torch does.

    >>> same_padding(4, 1)
    (1, 2)
    """
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """torch.nn.Conv2d along one axis: floor((in + pad - d*(k-1) - 1) / s) + 1.

    >>> conv_output_size(50, 3, 1, 2, 1)  # 50 + 2*1 - (3 - 1) = 50: padding 1 keeps the size
    50
    """
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


class Conv2d(LayerType):
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
    torch_positional = ("in_channels", "out_channels", "kernel_size")
    aliases = ("conv", "convolution")
    main_field = "out_channels"
    input_rank = 3
    inferred_field = "in_channels"
    out_size_field = "out_channels"
    fields = (
        Field("in_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("out_channels", Int(min=1), aliases=("filters",), doc="number of filters"),
        Field("kernel_size", PairOf(min=1), aliases=("kernel",), doc="int or [h, w]"),
        Field("stride", PairOf(min=1), 1, aliases=("strides",)),
        Field("padding", Padding(), 0, aliases=("pad",), doc="int, [h, w], 'same' or 'valid'"),
        Field("dilation", PairOf(min=1), 1, aliases=("dilation_rate",)),
        Field("groups", Int(min=1), 1),
        Field("bias", Bool(), True, aliases=("use_bias",)),
        Field("padding_mode", Choice("zeros", "reflect", "replicate", "circular"), "zeros"),
    )

    def padding_amounts(self, cfg: dict) -> tuple[tuple[int, int], tuple[int, int]]:
        """(before, after) padding per axis, resolving 'same' and 'valid'."""
        padding = cfg["padding"]
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            return tuple(same_padding(k, d) for k, d in zip(cfg["kernel_size"], cfg["dilation"]))
        return tuple((p, p) for p in padding)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, *spatial = shape
        check_inferred(cfg, "in_channels", channels, "channels")
        _check_groups(cfg, channels)
        if cfg["padding"] == "same" and cfg["stride"] != (1, 1):
            raise LayerError(
                f"padding 'same' needs stride 1 (torch refuses strided 'same' convolutions), "
                f"got stride {_pair_text(cfg['stride'])}",
                field="padding",
            )
        pads = self.padding_amounts(cfg)
        _check_padding_mode(cfg["padding_mode"], pads, spatial)
        out = []
        for axis, size, k, s, d, (before, after) in zip(
            _AXES, spatial, cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads
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
        kh, kw = cfg["kernel_size"]
        weights = cfg["out_channels"] * (shape[0] // cfg["groups"]) * kh * kw
        return weights + (cfg["out_channels"] if cfg["bias"] else 0)

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        pads = self.padding_amounts(cfg)
        axes = [
            (axis, size, before, after, k, d, s, n)
            for axis, size, k, s, d, (before, after), n in zip(
                _AXES, shape[1:], cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads, out[1:]
            )
        ]
        found = [("stride", note)] if (note := unread_note(axes)) else []
        uneven = [
            f"{before} before and {after} after along {axis}"
            for axis, (before, after) in zip(_AXES, pads)
            if before != after
        ]
        if uneven:
            found.append(("padding", f"padding 'same' pads {'; '.join(uneven)}, as PyTorch does"))
        return found

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # every output value is a dot product over (in_channels / groups) * kh * kw inputs
        kh, kw = cfg["kernel_size"]
        return prod(out) * (shape[0] // cfg["groups"]) * kh * kw

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if cfg["bias"] else 0  # the bias additions

    def receptive_window(self, cfg: dict, shape: Shape):
        pads = self.padding_amounts(cfg)
        return tuple(
            (d * (k - 1) + 1, s, before)
            for k, s, d, (before, _) in zip(cfg["kernel_size"], cfg["stride"], cfg["dilation"], pads)
        )

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        channels, height, width = shape
        (top, bottom), (left, right) = self.padding_amounts(cfg)
        mode = cfg["padding_mode"]
        if mode == "zeros" and (top, left) == (bottom, right):
            return (Saved("input", prod(shape), needed_for="any"),)
        if mode == "zeros":
            # uneven 'same' padding: torch pads a copy by the difference and convolves that
            padded = channels * (height + bottom - top) * (width + right - left)
            return (Saved("extra", padded, needed_for="any"),)
        # other modes pad a copy with F.pad first; reflect and replicate padding keep their input
        padded = channels * (height + top + bottom) * (width + left + right)
        kept = () if mode == "circular" else (Saved("input", prod(shape)),)
        return (*kept, Saved("extra", padded, needed_for="any"))


def _check_padding_mode(mode: str, pads, spatial) -> None:
    # Non-zero modes pad a copy with F.pad first, which has limits of its own.
    if mode not in ("reflect", "circular"):
        return
    for axis, size, (before, after) in zip(_AXES, spatial, pads):
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


class ConvTranspose2d(LayerType):
    """2-D transposed convolution ("deconvolution"), as torch.nn.ConvTranspose2d.

    out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1;
    params = in_channels * (out_channels / groups) * kh * kw (+ out_channels bias).

    Example: [16, 6, 6] {out_channels: 16, kernel_size: 3, stride: 2, padding: 1} -> [16, 11, 11] params=2320
    Example: [16, 6, 6] {out_channels: 16, kernel_size: 3, stride: 2, padding: 1, output_padding: 1} -> [16, 12, 12] params=2320
    Example: [1024, 16, 16] {out_channels: 512, kernel_size: 2, stride: 2} -> [512, 32, 32] params=2097664
    """

    type_name = "conv_transpose2d"
    torch_class = "nn.ConvTranspose2d"
    torch_positional = ("in_channels", "out_channels", "kernel_size")
    aliases = ("convtranspose2d", "conv2d_transpose", "deconv", "deconv2d", "conv_transpose")
    main_field = "out_channels"
    input_rank = 3
    inferred_field = "in_channels"
    out_size_field = "out_channels"
    fields = (
        Field("in_channels", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("out_channels", Int(min=1), aliases=("filters",)),
        Field("kernel_size", PairOf(min=1), aliases=("kernel",)),
        Field("stride", PairOf(min=1), 1, aliases=("strides",)),
        Field("padding", PairOf(min=0), 0, aliases=("pad",)),
        Field("output_padding", PairOf(min=0), 0),
        Field("groups", Int(min=1), 1),
        Field("bias", Bool(), True, aliases=("use_bias",)),
        Field("dilation", PairOf(min=1), 1, aliases=("dilation_rate",)),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, *spatial = shape
        check_inferred(cfg, "in_channels", channels, "channels")
        _check_groups(cfg, channels)
        out = []
        for axis, size, k, s, p, op, d in zip(
            _AXES,
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
        kh, kw = cfg["kernel_size"]
        weights = shape[0] * (cfg["out_channels"] // cfg["groups"]) * kh * kw
        return weights + (cfg["out_channels"] if cfg["bias"] else 0)

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # counted over the input positions: each input value is scattered through the kernel
        # (what torch.utils.flop_counter and fvcore count; output-based counts overstate it)
        kh, kw = cfg["kernel_size"]
        return prod(shape) * (cfg["out_channels"] // cfg["groups"]) * kh * kw

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if cfg["bias"] else 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED  # one output pixel draws on a varying set of inputs

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="any"),)
