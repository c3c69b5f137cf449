"""Pooling: max and average, adaptive and global. None of them has parameters."""

from __future__ import annotations

from math import gcd, prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import UNDEFINED, Bool, Field, Int, LayerType, PairOf, Saved, Shape, SizePair, unread_note

_AXES = ("height", "width")


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """torch's pooling output length along one axis (ATen pooling_output_shape).

    With ceil_mode the last window may hang off the end, but only if it starts
    inside the input or the left padding.

    >>> pool_output_size(112, 3, 2, 0, 1, True)  # GoogLeNet's first pool
    56
    >>> pool_output_size(4, 2, 3, 1, 1, True)  # the last-window rule drops a window
    2
    """
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class _WindowPool2d(LayerType):
    input_rank = 3
    main_field = "kernel_size"

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        return {**cfg, "stride": cfg["stride"] or cfg["kernel_size"]}

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        kh, kw = cfg["kernel_size"]
        return prod(out) * kh * kw  # one comparison or addition per window element

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        stride = cfg["stride"] or cfg["kernel_size"]
        dilation = cfg.get("dilation", (1, 1))
        axes = [
            (axis, size, p, p, k, d, s, n)
            for axis, size, k, s, p, d, n in zip(
                _AXES, shape[1:], cfg["kernel_size"], stride, cfg["padding"], dilation, out[1:]
            )
        ]
        note = unread_note(axes)
        if note is None:
            return []
        wider = [pool_output_size(size, k, s, p, d, True) > n for _, size, p, _, k, d, s, n in axes]
        if not cfg["ceil_mode"] and any(wider) and note.startswith("the last"):
            note += "; ceil_mode: true would read them"
        return [("kernel_size", note)]

    def receptive_window(self, cfg: dict, shape: Shape):
        stride = cfg["stride"] or cfg["kernel_size"]
        dilation = cfg.get("dilation", (1, 1))
        return tuple(
            (d * (k - 1) + 1, s, p) for k, s, p, d in zip(cfg["kernel_size"], stride, cfg["padding"], dilation)
        )


def _window_output(cfg: dict, shape: Shape, dilations) -> Shape:
    channels, *spatial = shape
    stride = cfg["stride"] or cfg["kernel_size"]
    out = []
    for axis, size, k, s, p, d in zip(_AXES, spatial, cfg["kernel_size"], stride, cfg["padding"], dilations):
        if p > k // 2:
            raise LayerError(
                f"padding {p} along {axis} is more than half the kernel size {k} (torch allows at most {k // 2})",
                field="padding",
            )
        size_out = pool_output_size(size, k, s, p, d, cfg["ceil_mode"])
        if size_out < 1:
            dilated = f", dilation {d}" if d > 1 else ""
            raise LayerError(
                f"output {axis} would be {size_out}: input {axis} {size} with padding {p} "
                f"is smaller than the kernel {k}{dilated}",
                field="kernel_size",
                code="shape.nonpositive",
            )
        out.append(size_out)
    return (channels, *out)


_NO_INDICES = Field("return_indices", Bool(), False, doc="must be false: a layer in a spec passes on one tensor")


def _refuse_indices(cfg: dict) -> None:
    if cfg.get("return_indices"):
        raise LayerError(
            "return_indices: true makes the layer return (output, indices), which the next layer cannot take",
            field="return_indices",
        )


class MaxPool2d(_WindowPool2d):
    """2-D max pooling, as torch.nn.MaxPool2d; stride defaults to the kernel size.

    Example: [64, 55, 55] {kernel_size: 3, stride: 2} -> [64, 27, 27] params=0
    Example: [64, 112, 112] {kernel_size: 3, stride: 2, ceil_mode: true} -> [64, 56, 56] params=0
    Example: [8, 5, 5] {kernel_size: 2} -> [8, 2, 2] params=0
    """

    type_name = "maxpool2d"
    torch_class = "nn.MaxPool2d"
    torch_positional = ("kernel_size",)
    aliases = ("max_pool2d", "maxpool", "max_pool", "maxpooling2d")
    fields = (
        Field("kernel_size", PairOf(min=1), aliases=("kernel", "pool_size")),
        Field("stride", PairOf(min=1), None, aliases=("strides",), doc="defaults to kernel_size"),
        Field("padding", PairOf(min=0), 0, aliases=("pad",)),
        Field("dilation", PairOf(min=1), 1),
        Field("ceil_mode", Bool(), False),
        _NO_INDICES,
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        _refuse_indices(cfg)
        return _window_output(cfg, shape, cfg["dilation"])

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the input, and where each maximum came from (int64 indices)
        return (Saved("input", prod(shape)), Saved("extra", prod(out), "int64"))


class AvgPool2d(_WindowPool2d):
    """2-D average pooling, as torch.nn.AvgPool2d; stride defaults to the kernel size.

    Example: [6, 28, 28] {kernel_size: 2} -> [6, 14, 14] params=0
    Example: [8, 7, 7] {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true} -> [8, 4, 4] params=0
    """

    type_name = "avgpool2d"
    torch_class = "nn.AvgPool2d"
    torch_positional = ("kernel_size",)
    aliases = ("avg_pool2d", "avgpool", "avg_pool", "averagepooling2d")
    fields = (
        Field("kernel_size", PairOf(min=1), aliases=("kernel", "pool_size")),
        Field("stride", PairOf(min=1), None, aliases=("strides",), doc="defaults to kernel_size"),
        Field("padding", PairOf(min=0), 0, aliases=("pad",)),
        Field("ceil_mode", Bool(), False),
        Field("count_include_pad", Bool(), True),
        Field("divisor_override", Int(min=1), None),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return _window_output(cfg, shape, (1, 1))

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)),)


def _adaptive_output(cfg: dict, shape: Shape) -> Shape:
    channels, height, width = shape
    out_h, out_w = cfg["output_size"]
    return (channels, height if out_h is None else out_h, width if out_w is None else out_w)


def _bin_total(size: int, bins: int) -> int:
    """Total length of the adaptive bins along one axis, L + n - gcd(L, n).

    Bin i spans [floor(i*L/n), ceil((i+1)*L/n)); consecutive bins overlap by one
    exactly where (i*L) % n != 0, which happens n - gcd(L, n) times.

    >>> _bin_total(10, 4), _bin_total(7, 6), _bin_total(8, 4)
    (12, 12, 8)
    """
    return size + bins - gcd(size, bins)


class _AdaptivePool2d(LayerType):
    main_field = "output_size"
    input_rank = 3

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        _refuse_indices(cfg)
        return _adaptive_output(cfg, shape)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return shape[0] * _bin_total(shape[1], out[1]) * _bin_total(shape[2], out[2])

    def receptive_window(self, cfg: dict, shape: Shape):
        _, height, width = shape
        _, out_h, out_w = _adaptive_output(cfg, shape)
        if (out_h, out_w) == (1, 1) or height % out_h or width % out_w:
            return UNDEFINED  # global pooling, or bins of unequal size
        return ((height // out_h, height // out_h, 0), (width // out_w, width // out_w, 0))


class AdaptiveAvgPool2d(_AdaptivePool2d):
    """Adaptive average pooling to a fixed output size, as torch.nn.AdaptiveAvgPool2d.

    Example: [256, 13, 13] {output_size: 6} -> [256, 6, 6] params=0
    Example: [512, 7, 9] {output_size: [1, null]} -> [512, 1, 9] params=0
    """

    type_name = "adaptive_avgpool2d"
    torch_class = "nn.AdaptiveAvgPool2d"
    torch_positional = ("output_size",)
    aliases = ("adaptive_avg_pool2d", "adaptiveavgpool2d")
    fields = (Field("output_size", SizePair()),)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # a 1x1 output is computed as a mean, whose backward needs no tensor
        return () if out[1:] == (1, 1) else (Saved("input", prod(shape)),)


class AdaptiveMaxPool2d(_AdaptivePool2d):
    """Adaptive max pooling to a fixed output size, as torch.nn.AdaptiveMaxPool2d.

    Example: [64, 10, 10] {output_size: 4} -> [64, 4, 4] params=0
    """

    type_name = "adaptive_maxpool2d"
    torch_class = "nn.AdaptiveMaxPool2d"
    torch_positional = ("output_size",)
    aliases = ("adaptive_max_pool2d", "adaptivemaxpool2d")
    fields = (Field("output_size", SizePair()), _NO_INDICES)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)), Saved("extra", prod(out), "int64"))


class _GlobalPool2d(LayerType):
    input_rank = 3
    fields = (Field("keepdims", Bool(), False, aliases=("keep_dims",), doc="keep [C, 1, 1] instead of [C]"),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (shape[0], 1, 1) if cfg["keepdims"] else (shape[0],)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(shape)

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def pytorch(self, cfg: dict, shape: Shape) -> str:
        pool = f"{self.torch_class}(1)"
        return pool if cfg["keepdims"] else f"nn.Sequential({pool}, nn.Flatten())"


class GlobalAvgPool2d(_GlobalPool2d):
    """Average over all positions: [C, H, W] -> [C], like Keras GlobalAveragePooling2D.

    In PyTorch: nn.AdaptiveAvgPool2d(1) followed by nn.Flatten(); keepdims: true gives [C, 1, 1].

    Example: [2048, 7, 7] {} -> [2048] params=0
    Example: [2048, 7, 7] {keepdims: true} -> [2048, 1, 1] params=0
    """

    type_name = "global_avgpool2d"
    aliases = ("global_avg_pool2d", "globalaveragepooling2d", "global_average_pooling")
    torch_class = "nn.AdaptiveAvgPool2d"
    # a mean: its backward keeps no tensor


class GlobalMaxPool2d(_GlobalPool2d):
    """Maximum over all positions: [C, H, W] -> [C], like Keras GlobalMaxPooling2D.

    Example: [512, 7, 7] {} -> [512] params=0
    """

    type_name = "global_maxpool2d"
    aliases = ("global_max_pool2d", "globalmaxpooling2d")
    torch_class = "nn.AdaptiveMaxPool2d"

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)), Saved("extra", shape[0], "int64"))
