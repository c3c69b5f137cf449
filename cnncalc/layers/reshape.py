"""Reordering and cutting tensors: permute, chunk and split.

Axes are numbered as PyTorch numbers them, with the batch as axis 0: channels are
axis 1 of an [N, C, H, W] tensor. All three give views, so they copy nothing.
"""

from __future__ import annotations

from math import ceil

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    NEUTRAL,
    UNDEFINED,
    Field,
    FieldError,
    Int,
    Kind,
    LayerType,
    Shape,
    fmt_shape,
    parenthesised,
    yaml_text,
)


class _Axes(Kind):
    expected = "a list of axis numbers, the batch axis 0 first, e.g. [0, 2, 3, 1]"

    def parse(self, value):
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise FieldError(f"expected {self.expected}, got {yaml_text(value)}")
        return tuple(value)


class _Sizes(Kind):
    expected = "an integer >= 1 (each piece's size) or a list of sizes"

    def parse(self, value):
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items):
            raise FieldError(f"expected {self.expected}, got {yaml_text(value)}")
        return value if isinstance(value, int) else tuple(value)


class Permute(LayerType):
    """Reorder the axes, as torch.Tensor.permute (torchvision.ops.Permute): a view, no copy.

    `dims` lists every axis, the batch axis 0 first; [0, 2, 3, 1] makes [C, H, W]
    channels-last, [H, W, C], for a `layernorm` and `linear` layers over channels (ConvNeXt).

    Example: [96, 56, 56] {dims: [0, 2, 3, 1]} -> [56, 56, 96] params=0
    """

    type_name = "permute"
    aliases = ("transpose",)
    main_field = "dims"
    torch_class = "Permute"
    torch_positional = ("dims",)
    fields = (Field("dims", _Axes(), doc="the new order of the axes, batch axis 0 first"),)
    torch_helper = '''class Permute(nn.Module):
    """Reorders the axes, as torchvision.ops.Permute."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)
'''

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        dims = cfg["dims"]
        if sorted(dims) != list(range(len(shape) + 1)):
            raise LayerError(
                f"dims {list(dims)} is not an order of the {len(shape) + 1} axes 0 to {len(shape)} "
                f"(the batch axis 0, then the input {fmt_shape(shape)})",
                field="dims",
            )
        if dims[0] != 0:
            raise LayerError(f"dims {list(dims)} moves the batch axis; it must stay first (0)", field="dims")
        return tuple(shape[d - 1] for d in dims[1:])

    def pytorch(self, cfg: dict, shape: Shape) -> str:
        return f"Permute({list(cfg['dims'])})"

    def reordered_axes(self, cfg: dict, axes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(axes[d - 1] for d in cfg["dims"][1:])

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        moved = self.reordered_axes(cfg, tuple(range(len(shape))))  # output axis j is input axis moved[j]
        return {j: sources[0][axis] for j, axis in enumerate(moved) if axis in sources[0]}

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class _Piece(LayerType):
    """A piece of the input along one axis; `outputs: [a, b]` names every piece (see docs/spec.md)."""

    functional = True
    splits = True

    def pieces(self, cfg: dict, size: int) -> list[int]:
        raise NotImplementedError

    def axis(self, cfg: dict, shape: Shape) -> int:
        dim = cfg["dim"]
        if not -(len(shape) + 1) <= dim <= len(shape) or dim in (0, -(len(shape) + 1)):
            raise LayerError(
                f"dim {dim} is not an axis of the input {fmt_shape(shape)} (axis 1 is its first; "
                f"axis 0, the batch, cannot be cut here)",
                field="dim",
            )
        return dim - 1 if dim > 0 else len(shape) + dim

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        axis = self.axis(cfg, shape)
        pieces = self.pieces(cfg, shape[axis])
        index = cfg["index"]
        if index is None:
            raise LayerError(
                f"which piece? name the {len(pieces)} outputs with `outputs: [...]`, or give index",
                code="spec.missing-key",
            )
        if index >= len(pieces):
            raise LayerError(
                f"index {index} is past the last of the {len(pieces)} pieces {pieces} "
                f"of the input's axis {cfg['dim']} ({shape[axis]:,})",
                field="index",
            )
        return (*shape[:axis], pieces[index], *shape[axis + 1 :])

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        # a piece of the channels keeps each pixel's window; a piece of an image does not
        return NEUTRAL if self.axis(cfg, shape) == 0 else UNDEFINED

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        return {}


class Chunk(_Piece):
    """One of `chunks` nearly equal pieces of the input along `dim`, as torch.chunk.

    Each piece has ceil(size / chunks) elements, the last the rest (so torch may make
    fewer pieces). ShuffleNet V2 halves its channels: `- {type: chunk, chunks: 2, outputs: [a, b]}`.

    Example: [116, 28, 28] {chunks: 2, index: 1} -> [58, 28, 28] params=0
    """

    type_name = "chunk"
    main_field = "chunks"
    fields = (
        Field("chunks", Int(min=1)),
        Field("dim", Int(), 1, doc="the axis to cut, the batch axis 0 first: 1 is the channels"),
        Field("index", Int(min=0), None, doc="which piece; set for each name in `outputs:`"),
    )

    def pieces(self, cfg: dict, size: int) -> list[int]:
        each = ceil(size / cfg["chunks"])
        return [min(each, size - start) for start in range(0, size, each)] if size else [0]

    def count(self, cfg: dict) -> int:
        return cfg["chunks"]

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return f"{arguments[0]}.chunk({cfg['chunks']}, dim={cfg['dim']})[{cfg['index']}]"

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        if cfg["dim"] != 1 or 0 not in sources[0]:
            return {}
        return {0: f"{parenthesised(sources[0][0])} // {cfg['chunks']}"}


class Split(_Piece):
    """A piece of the input along `dim`, as torch.split: pieces of `sizes` elements (an int:
    all that size but the last; a list: exactly those sizes, which must add up to the axis).

    Example: [64, 28, 28] {sizes: [16, 48], index: 1} -> [48, 28, 28] params=0
    """

    type_name = "split"
    main_field = "sizes"
    fields = (
        Field("sizes", _Sizes(), aliases=("split_size_or_sections", "split_size")),
        Field("dim", Int(), 1, doc="the axis to cut, the batch axis 0 first: 1 is the channels"),
        Field("index", Int(min=0), None, doc="which piece; set for each name in `outputs:`"),
    )

    def pieces(self, cfg: dict, size: int) -> list[int]:
        sizes = cfg["sizes"]
        if isinstance(sizes, int):
            return [min(sizes, size - start) for start in range(0, size, sizes)]
        if sum(sizes) != size:
            raise LayerError(
                f"sizes {list(sizes)} add up to {sum(sizes):,} but the axis has {size:,}",
                field="sizes",
                code="shape.mismatch",
            )
        return list(sizes)

    def count(self, cfg: dict) -> int | None:
        return None if isinstance(cfg["sizes"], int) else len(cfg["sizes"])

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        sizes = list(cfg["sizes"]) if isinstance(cfg["sizes"], tuple) else cfg["sizes"]
        return f"{arguments[0]}.split({sizes}, dim={cfg['dim']})[{cfg['index']}]"
