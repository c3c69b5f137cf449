"""Resampling: upsample (nearest, bilinear, ...) by a factor or to a size."""

from __future__ import annotations

import math
from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import UNDEFINED, Bool, Choice, Field, LayerType, Saved, ScalePair, Shape, SizePair


class Upsample(LayerType):
    """Upsampling, as torch.nn.Upsample: give exactly one of size or scale_factor.

    With scale_factor the output is floor(input * scale_factor).

    Example: [64, 7, 7] {scale_factor: 2} -> [64, 14, 14] params=0
    Example: [64, 7, 7] {scale_factor: 1.5} -> [64, 10, 10] params=0
    Example: [64, 7, 7] {size: [20, 30], mode: bilinear} -> [64, 20, 30] params=0
    """

    type_name = "upsample"
    torch_class = "nn.Upsample"
    aliases = ("upsampling2d", "interpolate")
    main_field = "scale_factor"
    input_rank = 3
    fields = (
        Field("size", SizePair(allow_none=False), None),
        Field("scale_factor", ScalePair(), None, aliases=("scale",)),
        Field("mode", Choice("nearest", "nearest-exact", "bilinear", "bicubic", "area"), "nearest"),
        Field("align_corners", Bool(), None),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        size, scale = cfg["size"], cfg["scale_factor"]
        if (size is None) == (scale is None):
            raise LayerError("give exactly one of size and scale_factor", field="scale_factor" if scale else None)
        if cfg["align_corners"] is not None and cfg["mode"] not in ("bilinear", "bicubic"):
            raise LayerError(
                f"align_corners only applies to bilinear and bicubic modes, not {cfg['mode']}",
                field="align_corners",
            )
        if size is not None:
            return (shape[0], *size)
        if not all(math.isfinite(n * f) for n, f in zip(shape[1:], scale)):
            raise LayerError("scale_factor makes the output size overflow", field="scale_factor")
        out = tuple(math.floor(n * f) for n, f in zip(shape[1:], scale))
        for axis, n, f, o in zip(("height", "width"), shape[1:], scale, out):
            if o < 1:
                raise LayerError(
                    f"output {axis} would be {o}: floor({n} * {f})",
                    field="scale_factor",
                    code="shape.nonpositive",
                )
        return (shape[0], *out)

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # interpolation needs only sizes; "area" is adaptive average pooling, which keeps its input
        return (Saved("input", prod(shape)),) if cfg["mode"] == "area" else ()
