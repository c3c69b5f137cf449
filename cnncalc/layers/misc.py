"""Shape-neutral helpers: dropout and identity."""

from __future__ import annotations

from cnncalc.layers.base import INPLACE, Field, Float, LayerType, Shape


class Dropout(LayerType):
    """Dropout, as torch.nn.Dropout: no parameters, shape unchanged.

    Example: [4096] {p: 0.5} -> [4096] params=0
    """

    type_name = "dropout"
    main_field = "p"
    fields = (Field("p", Float(min=0, max=1), 0.5, aliases=("rate",)), INPLACE)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape


class Dropout2d(Dropout):
    """Channel dropout, as torch.nn.Dropout2d: zeroes whole feature maps.

    Example: [64, 28, 28] {p: 0.2} -> [64, 28, 28] params=0
    """

    type_name = "dropout2d"
    aliases = ("spatial_dropout2d", "spatialdropout2d")
    input_rank = 3


class Identity(LayerType):
    """A placeholder that passes its input on, as torch.nn.Identity.

    Example: [3, 32, 32] {} -> [3, 32, 32] params=0
    """

    type_name = "identity"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape
