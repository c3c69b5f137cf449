"""Pooling at any rank: max and average, adaptive and global. None of them has parameters.

One class per family holds the rules, generic over the number of spatial axes (`rank`); the
registered types name their rank, fields, torch class and examples.
"""

from __future__ import annotations

from math import gcd, prod
from typing import ClassVar

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    UNDEFINED,
    AxisSizes,
    Bool,
    Field,
    Int,
    LayerType,
    PerAxis,
    Saved,
    Shape,
    axes_of,
    unread_note,
)


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


class _WindowPool(LayerType):
    """Max or average pooling over `rank` spatial axes; stride defaults to the kernel size."""

    rank: ClassVar[int]
    main_field = "kernel_size"
    torch_positional = ("kernel_size",)

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        return {**cfg, "stride": cfg["stride"] or cfg["kernel_size"]}

    def dilations(self, cfg: dict) -> tuple[int, ...]:
        return cfg.get("dilation") or (1,) * self.rank

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, *spatial = shape
        stride = cfg["stride"] or cfg["kernel_size"]
        out = []
        for axis, size, k, s, p, d in zip(
            axes_of(self.rank), spatial, cfg["kernel_size"], stride, cfg["padding"], self.dilations(cfg)
        ):
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

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * prod(cfg["kernel_size"])  # one comparison or addition per window element

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        stride = cfg["stride"] or cfg["kernel_size"]
        axes = [
            (axis, size, p, p, k, d, s, n)
            for axis, size, k, s, p, d, n in zip(
                axes_of(self.rank), shape[1:], cfg["kernel_size"], stride, cfg["padding"], self.dilations(cfg), out[1:]
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
        return tuple(
            (d * (k - 1) + 1, s, p)
            for k, s, p, d in zip(cfg["kernel_size"], stride, cfg["padding"], self.dilations(cfg))
        )

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import window_size

        stride = cfg["stride"] or cfg["kernel_size"]
        spans = zip(axes_of(self.rank), shape[1:], cfg["kernel_size"], stride, cfg["padding"], self.dilations(cfg))
        return [window_size(axis, n, k, s, p, p, d, cfg["ceil_mode"]) for axis, n, k, s, p, d in spans]

    keras_class: ClassVar[str] = ""  # MaxPooling, AveragePooling

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        """ZeroPadding then a 'valid' pool: torch's rounding down, and its padding, which an
        average counts (count_include_pad). A max pool's padding is zeros here where torch's is
        -inf: the same numbers on inputs >= 0 (after a ReLU, as in ResNet), as Keras's own
        ResNet50 pads."""
        from cnncalc.layers.keras_code import CHANNELS_FIRST, keras_call, zero_padding

        if (cfg["ceil_mode"] and not self.keras_ceil_mode) or max(self.dilations(cfg)) > 1:
            return None
        if not self.keras_pads_exactly(cfg):
            return None
        stride = cfg["stride"] or cfg["kernel_size"]
        # ceil_mode's last window, which hangs off the end: that many more zeros after
        spans = zip(shape[1:], self.output_shape(cfg, shape)[1:], cfg["kernel_size"], stride, cfg["padding"])
        pad = zero_padding(tuple((p, p + max((m - 1) * s + k - (n + 2 * p), 0)) for n, m, k, s, p in spans))
        pool = keras_call(
            f"{self.keras_class}{self.rank}D", cfg["kernel_size"], strides=stride, data_format=CHANNELS_FIRST
        )
        return [pad, pool] if pad else [pool]

    def keras_pads_exactly(self, cfg: dict) -> bool:
        return True

    onnx_op: ClassVar[str] = ""  # MaxPool, AveragePool

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """MaxPool or AveragePool. ceil_mode's last window, which hangs off the end, becomes that
        much more padding after (ignored by a max, and by an average that counts no padding), so
        the output sizes are torch's whatever ONNX's own rounding rule."""
        stride, dilation, out = cfg["stride"] or cfg["kernel_size"], self.dilations(cfg), g.out[1:]
        pads = []
        for n, m, k, s, p, d in zip(shape[1:], out, cfg["kernel_size"], stride, cfg["padding"], dilation):
            window = d * (k - 1) + 1
            pads.append((p, p + max((m - 1) * s + window - (n + 2 * p), 0)))
        overhang = any(after > before for before, after in pads)
        attributes = self.onnx_attributes(cfg, overhang)
        if isinstance(attributes, str):
            return g.refuse(attributes)
        if any(after >= d * (k - 1) + 1 for (_, after), k, d in zip(pads, cfg["kernel_size"], dilation)):
            return g.refuse("ceil_mode's last window reaches past the padding by a whole kernel")
        from cnncalc.layers.onnx_code import pads_of

        attributes.update(kernel_shape=list(cfg["kernel_size"]), strides=list(stride), pads=pads_of(pads))
        return g.node(self.onnx_op, [g.x], **attributes)

    def onnx_attributes(self, cfg: dict, overhang: bool) -> dict | str:
        """The node's attributes besides its window; a string says why there is no equivalent."""
        return {}

    keras_ceil_mode: ClassVar[bool] = False  # a window hanging off the end: zeros are the same to a max only


def _window_fields(rank: int) -> tuple[Field, ...]:
    return (
        Field("kernel_size", PerAxis(min=1, rank=rank), aliases=("kernel", "pool_size")),
        Field("stride", PerAxis(min=1, rank=rank), None, aliases=("strides",), doc="defaults to kernel_size"),
        Field("padding", PerAxis(min=0, rank=rank), 0, aliases=("pad",)),
    )


_NO_INDICES = Field("return_indices", Bool(), False, doc="must be false: a layer in a spec passes on one tensor")


def _refuse_indices(cfg: dict) -> None:
    if cfg.get("return_indices"):
        raise LayerError(
            "return_indices: true makes the layer return (output, indices), which the next layer cannot take",
            field="return_indices",
        )


def _max_fields(rank: int) -> tuple[Field, ...]:
    dilation = Field("dilation", PerAxis(min=1, rank=rank), 1)
    return (*_window_fields(rank), dilation, Field("ceil_mode", Bool(), False), _NO_INDICES)


class _MaxPool(_WindowPool):
    keras_class = "MaxPooling"
    keras_ceil_mode = True
    onnx_op = "MaxPool"

    def onnx_attributes(self, cfg: dict, overhang: bool) -> dict | str:
        return {"dilations": list(self.dilations(cfg))}

    def keras_caveat(self, cfg: dict) -> str | None:
        if not (any(cfg["padding"]) or cfg["ceil_mode"]):
            return None
        return "torch pads this max pool with -inf, ZeroPadding here with zeros: the same on inputs >= 0 (after a ReLU)"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        _refuse_indices(cfg)
        return super().output_shape(cfg, shape)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the input, and where each maximum came from (int64 indices)
        return (Saved("input", prod(shape)), Saved("extra", prod(out), "int64"))


class MaxPool1d(_MaxPool):
    """1-D max pooling over [C, L], as torch.nn.MaxPool1d; stride defaults to the kernel size.

    Example: [32, 496] {kernel_size: 4} -> [32, 124] params=0
    """

    type_name = "maxpool1d"
    torch_class = "nn.MaxPool1d"
    aliases = ("max_pool1d", "maxpooling1d")
    rank, input_rank = 1, 2
    fields = _max_fields(1)


class MaxPool2d(_MaxPool):
    """2-D max pooling, as torch.nn.MaxPool2d; stride defaults to the kernel size.

    Example: [64, 55, 55] {kernel_size: 3, stride: 2} -> [64, 27, 27] params=0
    Example: [64, 112, 112] {kernel_size: 3, stride: 2, ceil_mode: true} -> [64, 56, 56] params=0
    Example: [8, 5, 5] {kernel_size: 2} -> [8, 2, 2] params=0
    """

    type_name = "maxpool2d"
    torch_class = "nn.MaxPool2d"
    aliases = ("max_pool2d", "maxpool", "max_pool", "maxpooling2d")
    rank, input_rank = 2, 3
    fields = _max_fields(2)


class MaxPool3d(_MaxPool):
    """3-D max pooling over [C, D, H, W], as torch.nn.MaxPool3d; stride defaults to the kernel size.

    Example: [64, 16, 56, 56] {kernel_size: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]} -> [64, 16, 28, 28] params=0
    """

    type_name = "maxpool3d"
    torch_class = "nn.MaxPool3d"
    aliases = ("max_pool3d", "maxpooling3d")
    rank, input_rank = 3, 4
    fields = _max_fields(3)


def _avg_fields(rank: int) -> tuple[Field, ...]:
    fields = (*_window_fields(rank), Field("ceil_mode", Bool(), False), Field("count_include_pad", Bool(), True))
    # torch.nn.AvgPool1d has no divisor_override
    return fields if rank == 1 else (*fields, Field("divisor_override", Int(min=1), None))


class _AvgPool(_WindowPool):
    keras_class = "AveragePooling"

    def keras_pads_exactly(self, cfg: dict) -> bool:
        # zeros padded in are averaged, as count_include_pad does; a divisor of its own has no equivalent
        return cfg.get("divisor_override") is None and (cfg["count_include_pad"] or not any(cfg["padding"]))

    onnx_op = "AveragePool"

    def onnx_attributes(self, cfg: dict, overhang: bool) -> dict | str:
        if cfg.get("divisor_override") is not None:
            return "divisor_override has no ONNX equivalent"
        padded = any(cfg["padding"])
        if overhang and padded and cfg["count_include_pad"]:
            # torch divides ceil_mode's last window by its size up to the padding's end, not beyond
            return "ceil_mode with padding counted in the average (count_include_pad) is not exported yet"
        return {"count_include_pad": int(padded and cfg["count_include_pad"])}

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        if self.rank == 3:  # torch's avg_pool3d alone checks the window against the unpadded input
            for axis, size, k in zip(axes_of(3), shape[1:], cfg["kernel_size"]):
                if size < k:
                    raise LayerError(
                        f"input {axis} {size} is smaller than the kernel {k} (avgpool3d, as torch's "
                        f"avg_pool3d, compares the window with the input before padding)",
                        field="kernel_size",
                        code="shape.nonpositive",
                    )
        return super().output_shape(cfg, shape)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)),)


class AvgPool1d(_AvgPool):
    """1-D average pooling over [C, L], as torch.nn.AvgPool1d; stride defaults to the kernel size.

    Example: [32, 100] {kernel_size: 3, stride: 2, padding: 1} -> [32, 50] params=0
    """

    type_name = "avgpool1d"
    torch_class = "nn.AvgPool1d"
    aliases = ("avg_pool1d", "averagepooling1d")
    rank, input_rank = 1, 2
    fields = _avg_fields(1)


class AvgPool2d(_AvgPool):
    """2-D average pooling, as torch.nn.AvgPool2d; stride defaults to the kernel size.

    Example: [6, 28, 28] {kernel_size: 2} -> [6, 14, 14] params=0
    Example: [8, 7, 7] {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true} -> [8, 4, 4] params=0
    """

    type_name = "avgpool2d"
    torch_class = "nn.AvgPool2d"
    aliases = ("avg_pool2d", "avgpool", "avg_pool", "averagepooling2d")
    rank, input_rank = 2, 3
    fields = _avg_fields(2)


class AvgPool3d(_AvgPool):
    """3-D average pooling over [C, D, H, W], as torch.nn.AvgPool3d; stride defaults to the kernel size.

    Example: [16, 8, 32, 32] {kernel_size: 2} -> [16, 4, 16, 16] params=0
    """

    type_name = "avgpool3d"
    torch_class = "nn.AvgPool3d"
    aliases = ("avg_pool3d", "averagepooling3d")
    rank, input_rank = 3, 4
    fields = _avg_fields(3)


def _bin_total(size: int, bins: int) -> int:
    """Total length of the adaptive bins along one axis, L + n - gcd(L, n).

    Bin i spans [floor(i*L/n), ceil((i+1)*L/n)); consecutive bins overlap by one
    exactly where (i*L) % n != 0, which happens n - gcd(L, n) times.

    >>> _bin_total(10, 4), _bin_total(7, 6), _bin_total(8, 4)
    (12, 12, 8)
    """
    return size + bins - gcd(size, bins)


class _AdaptivePool(LayerType):
    """Adaptive pooling over `rank` spatial axes to a fixed output size (null keeps an axis)."""

    rank: ClassVar[int]
    main_field = "output_size"
    torch_positional = ("output_size",)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        _refuse_indices(cfg)
        channels, *spatial = shape
        return (channels, *(size if bins is None else bins for size, bins in zip(spatial, cfg["output_size"])))

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return shape[0] * prod(_bin_total(size, bins) for size, bins in zip(shape[1:], out[1:]))

    keras_kind: ClassVar[str]  # Average, Max

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        """Global pooling to one value per channel; bins of equal size (each input size a
        multiple of its output size, as VGG's 7x7 to 7x7) are a pool of that size."""
        from cnncalc.layers.keras_code import CHANNELS_FIRST, keras_call

        spatial, bins = shape[1:], self.output_shape(cfg, shape)[1:]
        if all(n == 1 for n in bins):
            return [
                keras_call(f"Global{self.keras_kind}Pooling{self.rank}D", keepdims=True, data_format=CHANNELS_FIRST)
            ]
        if any(size % n for size, n in zip(spatial, bins)):
            return None  # unequal bins: Keras has no adaptive pooling
        window = tuple(size // n for size, n in zip(spatial, bins))
        pooling = "AveragePooling" if self.keras_kind == "Average" else "MaxPooling"
        return [keras_call(f"{pooling}{self.rank}D", window, strides=window, data_format=CHANNELS_FIRST)]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """GlobalAveragePool (GlobalMaxPool) to one value per channel; bins of equal size (each
        input size a multiple of its output size) are a pool of that size; unequal ones refused."""
        kind = "Average" if self.keras_kind == "Average" else "Max"
        spatial, bins = shape[1:], g.out[1:]
        if all(n == 1 for n in bins):
            return g.node(f"Global{kind}Pool", [g.x])
        if any(size % n for size, n in zip(spatial, bins)):
            sizes = ", ".join(f"{size} into {n}" for size, n in zip(spatial, bins) if size % n)
            return g.refuse(f"its bins are of unequal sizes ({sizes}), which no ONNX pooling computes")
        window = [size // n for size, n in zip(spatial, bins)]
        return g.node(f"{kind}Pool", [g.x], kernel_shape=window, strides=window)

    def receptive_window(self, cfg: dict, shape: Shape):
        spatial, bins = shape[1:], self.output_shape(cfg, shape)[1:]
        if all(n == 1 for n in bins) or any(size % n for size, n in zip(spatial, bins)):
            return UNDEFINED  # global pooling, or bins of unequal size
        return tuple((size // n, size // n, 0) for size, n in zip(spatial, bins))


class _AdaptiveAvgPool(_AdaptivePool):
    keras_kind = "Average"

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # an output of one value per channel is computed as a mean, whose backward needs no tensor
        return () if all(n == 1 for n in out[1:]) else (Saved("input", prod(shape)),)


class _AdaptiveMaxPool(_AdaptivePool):
    keras_kind = "Max"

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)), Saved("extra", prod(out), "int64"))


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Adaptive average pooling of [C, L] to a fixed length, as torch.nn.AdaptiveAvgPool1d.

    Example: [64, 124] {output_size: 1} -> [64, 1] params=0
    """

    type_name = "adaptive_avgpool1d"
    torch_class = "nn.AdaptiveAvgPool1d"
    aliases = ("adaptive_avg_pool1d", "adaptiveavgpool1d")
    rank, input_rank = 1, 2
    fields = (Field("output_size", AxisSizes(1)),)


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Adaptive average pooling to a fixed output size, as torch.nn.AdaptiveAvgPool2d.

    Example: [256, 13, 13] {output_size: 6} -> [256, 6, 6] params=0
    Example: [512, 7, 9] {output_size: [1, null]} -> [512, 1, 9] params=0
    """

    type_name = "adaptive_avgpool2d"
    torch_class = "nn.AdaptiveAvgPool2d"
    aliases = ("adaptive_avg_pool2d", "adaptiveavgpool2d")
    rank, input_rank = 2, 3
    fields = (Field("output_size", AxisSizes(2)),)


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """Adaptive average pooling of [C, D, H, W] to a fixed output size, as torch.nn.AdaptiveAvgPool3d.

    Example: [512, 2, 7, 7] {output_size: 1} -> [512, 1, 1, 1] params=0
    """

    type_name = "adaptive_avgpool3d"
    torch_class = "nn.AdaptiveAvgPool3d"
    aliases = ("adaptive_avg_pool3d", "adaptiveavgpool3d")
    rank, input_rank = 3, 4
    fields = (Field("output_size", AxisSizes(3)),)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Adaptive max pooling of [C, L] to a fixed length, as torch.nn.AdaptiveMaxPool1d.

    Example: [64, 100] {output_size: 8} -> [64, 8] params=0
    """

    type_name = "adaptive_maxpool1d"
    torch_class = "nn.AdaptiveMaxPool1d"
    aliases = ("adaptive_max_pool1d", "adaptivemaxpool1d")
    rank, input_rank = 1, 2
    fields = (Field("output_size", AxisSizes(1)), _NO_INDICES)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Adaptive max pooling to a fixed output size, as torch.nn.AdaptiveMaxPool2d.

    Example: [64, 10, 10] {output_size: 4} -> [64, 4, 4] params=0
    """

    type_name = "adaptive_maxpool2d"
    torch_class = "nn.AdaptiveMaxPool2d"
    aliases = ("adaptive_max_pool2d", "adaptivemaxpool2d")
    rank, input_rank = 2, 3
    fields = (Field("output_size", AxisSizes(2)), _NO_INDICES)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Adaptive max pooling of [C, D, H, W] to a fixed output size, as torch.nn.AdaptiveMaxPool3d.

    Example: [64, 8, 10, 10] {output_size: [2, 4, 4]} -> [64, 2, 4, 4] params=0
    """

    type_name = "adaptive_maxpool3d"
    torch_class = "nn.AdaptiveMaxPool3d"
    aliases = ("adaptive_max_pool3d", "adaptivemaxpool3d")
    rank, input_rank = 3, 4
    fields = (Field("output_size", AxisSizes(3)), _NO_INDICES)


class _GlobalPool(LayerType):
    """Pooling over every spatial axis to one value per channel: [C, ...] -> [C] (or [C, 1, ...])."""

    rank: ClassVar[int]
    fields = (Field("keepdims", Bool(), False, aliases=("keep_dims",), doc="keep [C, 1, ...] instead of [C]"),)
    keras_kind: ClassVar[str] = "Average"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (shape[0], *(1,) * self.rank) if cfg["keepdims"] else (shape[0],)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(shape)

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def pytorch(self, cfg: dict, shape: Shape) -> str:
        pool = f"{self.torch_class}(1)"
        return pool if cfg["keepdims"] else f"nn.Sequential({pool}, nn.Flatten())"

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import CHANNELS_FIRST, keras_call

        pooling = f"Global{self.keras_kind}Pooling{self.rank}D"
        return [keras_call(pooling, keepdims=cfg["keepdims"], data_format=CHANNELS_FIRST)]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        reduce = "ReduceMean" if self.keras_kind == "Average" else "ReduceMax"
        axes = g.ints(range(2, 2 + self.rank))
        return g.node(reduce, [g.x, axes], keepdims=int(cfg["keepdims"]))


class _GlobalMaxPool(_GlobalPool):
    keras_kind = "Max"

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)), Saved("extra", shape[0], "int64"))


class GlobalAvgPool1d(_GlobalPool):
    """Average over the length: [C, L] -> [C], like Keras GlobalAveragePooling1D.

    Example: [64, 124] {} -> [64] params=0
    """

    type_name = "global_avgpool1d"
    aliases = ("global_avg_pool1d", "globalaveragepooling1d")
    torch_class = "nn.AdaptiveAvgPool1d"
    rank, input_rank = 1, 2


class GlobalAvgPool2d(_GlobalPool):
    """Average over all positions: [C, H, W] -> [C], like Keras GlobalAveragePooling2D.

    In PyTorch: nn.AdaptiveAvgPool2d(1) followed by nn.Flatten(); keepdims: true gives [C, 1, 1].

    Example: [2048, 7, 7] {} -> [2048] params=0
    Example: [2048, 7, 7] {keepdims: true} -> [2048, 1, 1] params=0
    """

    type_name = "global_avgpool2d"
    aliases = ("global_avg_pool2d", "globalaveragepooling2d", "global_average_pooling")
    torch_class = "nn.AdaptiveAvgPool2d"
    rank, input_rank = 2, 3
    # a mean: its backward keeps no tensor


class GlobalAvgPool3d(_GlobalPool):
    """Average over all positions of a volume: [C, D, H, W] -> [C], like Keras GlobalAveragePooling3D.

    Example: [512, 2, 7, 7] {} -> [512] params=0
    """

    type_name = "global_avgpool3d"
    aliases = ("global_avg_pool3d", "globalaveragepooling3d")
    torch_class = "nn.AdaptiveAvgPool3d"
    rank, input_rank = 3, 4


class GlobalMaxPool1d(_GlobalMaxPool):
    """Maximum over the length: [C, L] -> [C], like Keras GlobalMaxPooling1D.

    Example: [64, 124] {} -> [64] params=0
    """

    type_name = "global_maxpool1d"
    aliases = ("global_max_pool1d", "globalmaxpooling1d")
    torch_class = "nn.AdaptiveMaxPool1d"
    rank, input_rank = 1, 2


class GlobalMaxPool2d(_GlobalMaxPool):
    """Maximum over all positions: [C, H, W] -> [C], like Keras GlobalMaxPooling2D.

    Example: [512, 7, 7] {} -> [512] params=0
    """

    type_name = "global_maxpool2d"
    aliases = ("global_max_pool2d", "globalmaxpooling2d")
    torch_class = "nn.AdaptiveMaxPool2d"
    rank, input_rank = 2, 3


class GlobalMaxPool3d(_GlobalMaxPool):
    """Maximum over all positions of a volume: [C, D, H, W] -> [C], like Keras GlobalMaxPooling3D.

    Example: [64, 4, 7, 7] {} -> [64] params=0
    """

    type_name = "global_maxpool3d"
    aliases = ("global_max_pool3d", "globalmaxpooling3d")
    torch_class = "nn.AdaptiveMaxPool3d"
    rank, input_rank = 3, 4
