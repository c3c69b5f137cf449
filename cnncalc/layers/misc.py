"""Shape-neutral helpers: dropout and identity."""

from __future__ import annotations

from math import prod

from cnncalc.layers.base import INPLACE, Field, Float, LayerType, Saved, Shape


class Dropout(LayerType):
    """Dropout, as torch.nn.Dropout: no parameters, shape unchanged.

    Example: [4096] {p: 0.5} -> [4096] params=0
    """

    type_name = "dropout"
    torch_class = "nn.Dropout"
    main_field = "p"
    fields = (Field("p", Float(min=0, max=1), 0.5, aliases=("rate",)), INPLACE)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # nothing at inference

    def mask_elements(self, shape: Shape) -> int:
        return prod(shape)

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # the scaled keep-mask, in the activations' dtype; p = 0 and p = 1 need none
        return (Saved("extra", self.mask_elements(shape)),) if 0 < cfg["p"] < 1 else ()

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return cfg["inplace"] or not training  # an identity at inference


class Dropout2d(Dropout):
    """Channel dropout, as torch.nn.Dropout2d: zeroes whole feature maps.

    Example: [64, 28, 28] {p: 0.2} -> [64, 28, 28] params=0
    """

    type_name = "dropout2d"
    torch_class = "nn.Dropout2d"
    aliases = ("spatial_dropout2d", "spatialdropout2d")
    input_rank = 3

    def mask_elements(self, shape: Shape) -> int:
        return shape[0]  # one keep-or-drop per channel


class Identity(LayerType):
    """A placeholder that passes its input on, as torch.nn.Identity.

    Example: [3, 32, 32] {} -> [3, 32, 32] params=0
    """

    type_name = "identity"
    torch_class = "nn.Identity"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return shape

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True
