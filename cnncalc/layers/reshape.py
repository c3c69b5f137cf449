"""Reordering, reshaping and cutting tensors: permute, transpose, reshape, unflatten, select,
chunk and split.

Axes are numbered as PyTorch numbers them, with the batch as axis 0: channels are
axis 1 of an [N, C, H, W] tensor. All give views, so they copy nothing (torch.reshape
copies a tensor a permute or transpose left non-contiguous; cnncalc counts it as a view).
"""

from __future__ import annotations

from math import ceil, prod

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

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("Transpose", [g.x], perm=list(cfg["dims"]))

    def reordered_axes(self, cfg: dict, axes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(axes[d - 1] for d in cfg["dims"][1:])

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        moved = self.reordered_axes(cfg, tuple(range(len(shape))))  # output axis j is input axis moved[j]
        return {j: sources[0][axis] for j, axis in enumerate(moved) if axis in sources[0]}

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


def _axis(cfg: dict, field: str, shape: Shape) -> int:
    """Field `field`'s axis (the batch axis 0 first, negative from the end, as torch counts) as an
    index into `shape`, which leaves the batch out; the batch axis itself is refused."""
    dim, rank = cfg[field], len(shape) + 1
    if not -rank <= dim < rank:
        raise LayerError(
            f"{field} {dim} is not an axis of the {rank}-axis tensor [N, {fmt_shape(shape)[1:]} "
            f"(axes {-rank} to {rank - 1}, the batch axis 0 first)",
            field=field,
        )
    if dim % rank == 0:
        raise LayerError(f"{field} {dim} is the batch axis, which must stay as it is", field=field)
    return dim % rank - 1


class _NotTransposeDims(Kind):
    expected = "not taken (use permute)"

    def parse(self, value):
        raise FieldError(
            f"transpose swaps two axes, dim0 and dim1, as torch.transpose; to give every axis its "
            f"place with dims: {yaml_text(value)}, write `permute` (transpose no longer means permute)"
        )


class Transpose(LayerType):
    """Swap two axes, as torch.transpose: a view, no copy.

    `dim0` and `dim1` count the batch as axis 0, as torch does; negative ones count from the
    end. A ViT turns its patch grid [E, L] into tokens [L, E] with {dim0: 1, dim1: 2}. To
    reorder every axis, use permute (a `dims:` list is refused here, pointing to it).

    Example: [768, 196] {dim0: 1, dim1: 2} -> [196, 768] params=0
    Example: [64, 8, 16] {dim0: -1, dim1: -2} -> [64, 16, 8] params=0
    """

    type_name = "transpose"
    aliases = ("swapaxes", "swapdims")
    functional = True
    fields = (
        Field("dim0", Int(), None, doc="required: one axis to swap, the batch axis 0 first"),
        Field("dim1", Int(), None, doc="required: the other axis"),
        Field("dims", _NotTransposeDims(), None, doc="not taken: a list of every axis is permute's"),
    )

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        """dim0 and dim1; `dims` is only there to be refused."""
        return {key: value for key, value in cfg.items() if key != "dims"}

    def swapped(self, cfg: dict, shape: Shape) -> tuple[int, int]:
        for name in ("dim0", "dim1"):
            if cfg[name] is None:
                raise LayerError(f"missing required field {name} (the two axes to swap)", code="spec.missing-key")
        return _axis(cfg, "dim0", shape), _axis(cfg, "dim1", shape)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return self.reordered_axes(cfg, shape)

    def reordered_axes(self, cfg: dict, axes: tuple[int, ...]) -> tuple[int, ...]:
        a, b = self.swapped(cfg, axes)
        moved = list(axes)
        moved[a], moved[b] = moved[b], moved[a]
        return tuple(moved)

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return f"{arguments[0]}.transpose({cfg['dim0']}, {cfg['dim1']})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        perm = [0, *(axis + 1 for axis in self.reordered_axes(cfg, tuple(range(len(shape)))))]
        return g.node("Transpose", [g.x], perm=perm)

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        moved = self.reordered_axes(cfg, tuple(range(len(shape))))
        return {j: sources[0][axis] for j, axis in enumerate(moved) if axis in sources[0]}

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class _ShapeList(Kind):
    expected = "a list of sizes >= 1, one of which may be -1 (worked out from the rest)"

    def parse(self, value):
        ok = isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ok or any(v < 1 and v != -1 for v in value):
            raise FieldError(f"expected {self.expected}, got {yaml_text(value)}")
        if value.count(-1) > 1:
            raise FieldError(f"only one size may be -1, got {yaml_text(value)}")
        return tuple(value)


def _fill_sizes(sizes: tuple[int, ...], total: int, what: str, field: str) -> Shape:
    """`sizes` with its -1 worked out so that they hold `total` values; a mismatch is refused."""
    known = prod(v for v in sizes if v != -1)
    if -1 in sizes:
        if total % known:
            raise LayerError(
                f"{field} {list(sizes)}: {what} has {total:,} values, not a multiple of the other sizes' "
                f"{known:,}, so -1 cannot be worked out",
                field=field,
                code="shape.mismatch",
            )
        return tuple(total // known if v == -1 else v for v in sizes)
    if known != total:
        raise LayerError(
            f"{field} {list(sizes)} holds {known:,} values but {what} has {total:,}",
            field=field,
            code="shape.mismatch",
        )
    return sizes


class Reshape(LayerType):
    """The same values in another shape, as torch.reshape of the axes after the batch.

    The sizes' product must equal the input's; one size may be -1, worked out from the rest. A
    view of a contiguous input (after a permute or transpose, torch copies; cnncalc counts no copy).

    Example: [768, 14, 14] {shape: [768, 196]} -> [768, 196] params=0
    Example: [64, 8, 8] {shape: [4, 16, -1]} -> [4, 16, 64] params=0
    """

    type_name = "reshape"
    aliases = ("view",)
    main_field = "shape"
    functional = True
    fields = (Field("shape", _ShapeList(), doc="the new sizes after the batch; one may be -1"),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return _fill_sizes(cfg["shape"], prod(shape), f"the input {fmt_shape(shape)}", "shape")

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        shape = cfg["shape"]
        # the sizes; or, where the calls of a block differ, the code of the attribute that holds them
        sizes = f"*{shape}" if isinstance(shape, str) else ", ".join(str(v) for v in shape)
        return f"{arguments[0]}.reshape({arguments[0]}.shape[0], {sizes})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.reshape(g.x, g.out)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return NEUTRAL if self.output_shape(cfg, shape) == shape else UNDEFINED

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        return {}

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class Unflatten(LayerType):
    """Split one axis into several, as torch.nn.Unflatten: a view, no copy.

    `dim` counts the batch as axis 0 (as permute's dims do); `unflattened_size` lists the new
    sizes, whose product is the axis's size (one may be -1).

    Example: [768, 196] {dim: 2, unflattened_size: [14, 14]} -> [768, 14, 14] params=0
    Example: [64, 32] {dim: 1, unflattened_size: [4, -1]} -> [4, 16, 32] params=0
    """

    type_name = "unflatten"
    torch_class = "nn.Unflatten"
    fields = (
        Field("dim", Int(), doc="the axis to split, the batch axis 0 first"),
        Field("unflattened_size", _ShapeList(), aliases=("sizes",), doc="the sizes it becomes; one may be -1"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        axis = _axis(cfg, "dim", shape)
        what = f"axis {cfg['dim']} of the input {fmt_shape(shape)}"
        sizes = _fill_sizes(cfg["unflattened_size"], shape[axis], what, "unflattened_size")
        return (*shape[:axis], *sizes, *shape[axis + 1 :])

    def pytorch(self, cfg: dict, shape: Shape) -> str:
        return f"nn.Unflatten({cfg['dim']}, {tuple(cfg['unflattened_size'])!r})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.reshape(g.x, g.out)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return NEUTRAL if self.output_shape(cfg, shape) == shape else UNDEFINED

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True


class Select(LayerType):
    """One position along an axis, the axis removed, as torch.select: a view.

    x[:, index] is {dim: 1, index: index}: `dim` counts the batch as axis 0; a negative index
    counts from the end, as torch's. ViT's class token is x[:, 0] of its tokens [L, E].

    Example: [197, 768] {dim: 1, index: 0} -> [768] params=0
    Example: [64, 8, 8] {dim: -1, index: -1} -> [64, 8] params=0
    """

    type_name = "select"
    functional = True
    fields = (
        Field("dim", Int(), doc="the axis to index, the batch axis 0 first"),
        Field("index", Int(), doc="the position along it; negative counts from the end"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        if len(shape) < 2:  # a sample of one number: no layer after it takes a tensor of no axis
            raise LayerError(
                f"select needs an input of two or more axes (it removes one), got {fmt_shape(shape)}",
                code="shape.rank",
            )
        axis = _axis(cfg, "dim", shape)
        size, index = shape[axis], cfg["index"]
        if not -size <= index < size:
            raise LayerError(
                f"index {index} is out of range for axis {cfg['dim']} of the input {fmt_shape(shape)}, "
                f"which has {size:,} positions ({-size} to {size - 1})",
                field="index",
            )
        return (*shape[:axis], *shape[axis + 1 :])

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return f"{arguments[0]}.select({cfg['dim']}, {cfg['index']})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        axis = _axis(cfg, "dim", shape)  # a scalar index: Gather drops the axis, as select does
        return g.node("Gather", [g.x, g.ints([cfg["index"]], ())], axis=axis + 1)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED  # an axis goes: the remaining ones no longer line up with the input's

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        axis = _axis(cfg, "dim", shape)
        return {j - (j > axis): text for j, text in sources[0].items() if j != axis}

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

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """Slice: this piece's start and end along the axis."""
        axis = self.axis(cfg, shape)
        pieces = self.pieces(cfg, shape[axis])
        start = sum(pieces[: cfg["index"]])
        ends = g.ints([start + pieces[cfg["index"]]])
        return g.node("Slice", [g.x, g.ints([start]), ends, g.ints([axis + 1])])


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
