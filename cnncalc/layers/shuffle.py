"""Pixel shuffle and unshuffle: channels traded for resolution and back (sub-pixel convolution,
ESPCN), as torch.nn.PixelShuffle and torch.nn.PixelUnshuffle. Both copy; neither has parameters.

TensorFlow's depth_to_space and space_to_depth make the same shapes but order the channels
differently, so they are not aliases here: an export would compute something else.
"""

from __future__ import annotations

from cnncalc.errors import LayerError
from cnncalc.layers.base import UNDEFINED, Field, Int, LayerType, Shape


class PixelShuffle(LayerType):
    """[C·r², H, W] -> [C, H·r, W·r], as torch.nn.PixelShuffle (ESPCN's sub-pixel convolution).

    Example: [27, 32, 32] {upscale_factor: 3} -> [3, 96, 96] params=0
    Example: [256, 24, 24] {upscale_factor: 2} -> [64, 48, 48] params=0
    """

    type_name = "pixel_shuffle"
    torch_class = "nn.PixelShuffle"
    torch_positional = ("upscale_factor",)
    aliases = ("pixelshuffle",)
    main_field = "upscale_factor"
    input_rank = 3
    fields = (Field("upscale_factor", Int(min=1), doc="r: each channel group of r² becomes an r x r block"),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, height, width = shape
        r = cfg["upscale_factor"]
        if channels % (r * r):
            raise LayerError(
                f"upscale_factor {r} needs the input channels to be a multiple of {r}² = {r * r:,}, "
                f"but the input has {channels:,}",
                field="upscale_factor",
            )
        return (channels // (r * r), height * r, width * r)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("DepthToSpace", [g.x], blocksize=cfg["upscale_factor"], mode="CRD")  # torch's channel order

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # a copy

    def receptive_window(self, cfg: dict, shape: Shape):
        # r output pixels in a row copy the same input pixel: the windows no longer advance by a
        # whole stride (as with nearest upsampling)
        return UNDEFINED


class PixelUnshuffle(LayerType):
    """[C, H, W] -> [C·r², H / r, W / r], as torch.nn.PixelUnshuffle: each r x r block becomes r² channels.

    Example: [3, 64, 64] {downscale_factor: 2} -> [12, 32, 32] params=0
    """

    type_name = "pixel_unshuffle"
    torch_class = "nn.PixelUnshuffle"
    torch_positional = ("downscale_factor",)
    aliases = ("pixelunshuffle",)
    main_field = "downscale_factor"
    input_rank = 3
    fields = (Field("downscale_factor", Int(min=1), doc="r: each r x r block becomes r² channels"),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        channels, height, width = shape
        r = cfg["downscale_factor"]
        for axis, size in (("height", height), ("width", width)):
            if size % r:
                raise LayerError(
                    f"downscale_factor {r} does not divide the input {axis} {size:,}", field="downscale_factor"
                )
        return (channels * r * r, height // r, width // r)

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """[C, H/r, r, W/r, r] -> [C, r, r, H/r, W/r], flattened: torch's order (SpaceToDepth's is another)."""
        r, (channels, height, width) = cfg["downscale_factor"], shape
        split = g.reshape(g.x, (channels, height // r, r, width // r, r))
        moved = g.node("Transpose", [split], perm=[0, 1, 3, 5, 2, 4])
        return g.reshape(moved, g.out)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # a copy

    def receptive_window(self, cfg: dict, shape: Shape):
        # an output position holds its r x r input block, one pixel in each of r² channels: a
        # window of r with stride r, like a convolution with kernel r and stride r
        r = cfg["downscale_factor"]
        return ((r, r, 0), (r, r, 0))
