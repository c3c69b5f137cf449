"""Resampling: upsample (nearest, linear, bilinear, ...) by a factor or to a size, at any rank."""

from __future__ import annotations

import math
from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    UNDEFINED,
    AxisScales,
    AxisSizes,
    Bool,
    Choice,
    Field,
    LayerType,
    Saved,
    Shape,
    axes_of,
    per_axis,
    per_axis_form,
    python_literal,
)
from cnncalc.layers.merge import input_ref

# The interpolation modes that work on one rank only, as torch.nn.functional.interpolate has them.
_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_LINEAR_MODES = {1: "linear", 2: "bilinear or bicubic", 3: "trilinear"}


class Upsample(LayerType):
    """Upsampling, as torch.nn.Upsample, over [C, L], [C, H, W] or [C, D, H, W]: give exactly one of
    size or scale_factor, an int or number for every spatial axis or a list of one per axis; or
    `size_of: layer` (a second input) to interpolate to that layer's spatial size, as
    F.interpolate(x, size=other.shape[2:]) does in FCN, DeepLab and FPN.

    With scale_factor the output is floor(input * scale_factor).

    Example: [64, 7, 7] {scale_factor: 2} -> [64, 14, 14] params=0
    Example: [64, 7, 7] {scale_factor: 1.5} -> [64, 10, 10] params=0
    Example: [64, 7, 7] {size: [20, 30], mode: bilinear} -> [64, 20, 30] params=0
    Example: [16, 50] {scale_factor: 2, mode: linear} -> [16, 100] params=0
    Example: [8, 4, 8, 8] {scale_factor: [1, 2, 2], mode: trilinear} -> [8, 4, 16, 16] params=0
    """

    type_name = "upsample"
    torch_class = "nn.Upsample"
    max_inputs = 2  # a second input: interpolate to its spatial size (`size_of:`), as FCN and FPN do
    aliases = ("upsampling2d", "interpolate", "upsampling1d", "upsampling3d")
    main_field = "scale_factor"
    fields = (
        Field("size", AxisSizes(None, allow_none=False), None),
        Field("scale_factor", AxisScales(), None, aliases=("scale",)),
        Field(
            "mode",
            Choice("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"),
            "nearest",
        ),
        Field("align_corners", Bool(), None),
    )

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        """One size or factor per spatial axis, as the plan used them."""
        rank = len(shape) - 1
        resolved = dict(cfg)
        for name in ("size", "scale_factor"):
            if cfg[name] is not None:
                resolved[name] = per_axis(cfg[name], rank)
        return resolved

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        if len(shapes) == 1:
            return self.output_shape(cfg, shapes[0])
        shape, like = shapes
        _check_mode(cfg, shape, sized=True)
        if len(like) != len(shape):
            raise LayerError(
                f"size_of: {input_ref(1)} has {len(like) - 1} spatial axes but the input {input_ref(0)} has "
                f"{len(shape) - 1}",
                field="size_of",
                code="shape.mismatch",
            )
        return (shape[0], *like[1:])

    def inline(self, inputs: int) -> bool:
        return inputs == 2  # F.interpolate to the other tensor's size, in forward()

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        """UpSampling2D/3D by whole factors; Keras's bilinear is torch's with align_corners false."""
        from cnncalc.layers.keras_code import CHANNELS_FIRST, keras_call

        rank, scale = len(shape) - 1, self.resolved_config(cfg, shape)["scale_factor"]
        modes = {2: ("nearest", "bilinear"), 3: ("nearest",)}.get(rank, ())
        if cfg["size"] is not None or cfg["align_corners"] or cfg["mode"] not in modes or scale is None:
            return None
        if not all(float(f).is_integer() for f in scale):
            return None
        size = tuple(int(f) for f in scale)
        interpolation = {"interpolation": cfg["mode"]} if rank == 2 else {}
        return [
            keras_call(
                f"UpSampling{rank}D",
                size,
                data_format=CHANNELS_FIRST,
                defaults={"interpolation": "nearest"},
                **interpolation,
            )
        ]

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        options = "" if cfg["mode"] == "nearest" else f", mode={python_literal(cfg['mode'])}"
        if cfg["align_corners"] is not None:
            options += f", align_corners={cfg['align_corners']!r}"
        return f"torch.nn.functional.interpolate({arguments[0]}, size={arguments[1]}.shape[2:]{options})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """Resize along the spatial axes, with torch's sampling: nearest reads floor(out / scale),
        the linear modes (and cubic, a = -0.75) map corners to corners or centres to centres as
        align_corners says. The scales given, as torch uses them; else the sizes."""
        mode, align = cfg["mode"], bool(cfg["align_corners"])
        if mode == "area":
            return g.refuse("mode 'area' is adaptive average pooling, which ONNX's Resize does not compute")
        attributes: dict = {"axes": list(range(2, len(shape) + 1))}
        if mode == "nearest":
            attributes.update(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        elif mode == "nearest-exact":
            attributes.update(
                mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil"
            )
        else:
            transform = "align_corners" if align else "pytorch_half_pixel"
            attributes.update(mode="cubic" if mode == "bicubic" else "linear", coordinate_transformation_mode=transform)
            if mode == "bicubic":
                attributes["cubic_coeff_a"] = -0.75
        if len(g.inputs) == 2:  # to another tensor's spatial size
            sizes = g.node("Shape", [g.inputs[1]], start=2)
            return g.node("Resize", [g.x, "", "", sizes], **attributes)
        resolved = self.resolved_config(cfg, shape)
        if resolved["scale_factor"] is not None:
            return g.node("Resize", [g.x, "", g.floats(resolved["scale_factor"])], **attributes)
        return g.node("Resize", [g.x, "", "", g.ints(resolved["size"])], **attributes)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        _check_mode(cfg, shape)
        cfg = self.resolved_config(cfg, shape)
        size, scale = cfg["size"], cfg["scale_factor"]
        if size is not None:
            return (shape[0], *size)
        if not all(math.isfinite(n * f) for n, f in zip(shape[1:], scale)):
            raise LayerError("scale_factor makes the output size overflow", field="scale_factor")
        out = tuple(math.floor(n * f) for n, f in zip(shape[1:], scale))
        for axis, n, f, o in zip(axes_of(len(out)), shape[1:], scale, out):
            if o < 1:
                raise LayerError(
                    f"output {axis} would be {o}: floor({n} * {f})",
                    field="scale_factor",
                    code="shape.nonpositive",
                )
        return (shape[0], *out)

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import Step

        scale = self.resolved_config(cfg, shape)["scale_factor"]
        if scale is None:
            return []  # to a size: nothing to work out
        spans = zip(axes_of(len(out) - 1), shape[1:], scale, out[1:])
        return [Step(axis, "floor(in·scale_factor)", f"floor({n:,}·{f:g})", m) for axis, n, f, m in spans]

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # interpolation needs only sizes; "area" is adaptive average pooling, which keeps its input
        return (Saved("input", prod(shape)),) if cfg["mode"] == "area" else ()


def _check_mode(cfg: dict, shape: Shape, sized: bool = False) -> None:
    """Refuse what torch's interpolate refuses: two sizes or none, a mode for another rank, a list
    of the wrong length, align_corners where it does not apply. `sized`: a second input gives the size."""
    size, scale, mode = cfg["size"], cfg["scale_factor"], cfg["mode"]
    if sized and (size is not None or scale is not None):
        field = "size" if size is not None else "scale_factor"
        raise LayerError(f"give one of size, scale_factor and size_of, not size_of and {field}", field=field)
    if not sized and (size is None) == (scale is None):
        raise LayerError(
            "give exactly one of size, scale_factor and size_of (another layer's size)",
            field="scale_factor" if scale else None,
        )
    rank = len(shape) - 1
    if not 1 <= rank <= 3:
        raise LayerError(
            f"upsample needs [channels, length], [channels, height, width] or [channels, depth, height, width], "
            f"got {len(shape)} axes",
            code="shape.rank",
        )
    if _MODE_RANK.get(mode, rank) != rank:
        raise LayerError(
            f"mode {mode!r} interpolates {_axes_count(_MODE_RANK[mode])} but the input has {_axes_count(rank)} "
            f"{per_axis_form(rank)}: use {_LINEAR_MODES[rank]}",
            field="mode",
        )
    for name, value in (("size", size), ("scale_factor", scale)):
        if isinstance(value, tuple) and len(value) != rank:
            raise LayerError(
                f"{name} has {len(value)} values but the input has {_axes_count(rank)} {per_axis_form(rank)}",
                field=name,
                code="shape.mismatch",
            )
    if cfg["align_corners"] is not None and mode not in _MODE_RANK:
        raise LayerError(
            f"align_corners only applies to linear, bilinear, bicubic and trilinear modes, not {mode}",
            field="align_corners",
        )


def _axes_count(rank: int) -> str:
    return "1 spatial axis" if rank == 1 else f"{rank} spatial axes"
