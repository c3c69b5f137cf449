"""What a layer type is: its config schema and its shape and parameter rules.

Shapes exclude the batch dimension and are channels-first: (C, H, W) for
images, (F,) for features. Pairs are (height, width).
"""

from __future__ import annotations

import re
from math import isfinite, prod
from typing import Any, ClassVar

from cnncalc.errors import Frozen, LayerError

Shape = tuple[int, ...]
Pair = tuple[int, int]

REQUIRED = object()
_set = object.__setattr__  # how a Frozen class's __init__ sets its fields


class FieldError(Exception):
    """A config value of the wrong kind; the message says what was expected."""


def _is_int(value: Any) -> bool:
    # YAML booleans are Python ints; `kernel_size: yes` is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def yaml_text(value: Any) -> str:
    """A value as a spec would write it: true, null, [3, 3], 'same'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {yaml_text(value)}"
    if value is None:
        return "null"
    if isinstance(value, str):
        if _NUMBER.fullmatch(value.strip()):
            if re.fullmatch(r"[-+]?\d+(\.\d*)?", value.strip()):  # "1": quoted by hand
                return f"string {value!r} (remove the quotes for a number)"
            return f"string {value!r} (YAML reads {value} as text; write the number out)"  # YAML 1.1: 1e2
        return f"string {value!r}"
    if isinstance(value, list):
        return f"list {yaml_text(value)}"
    if isinstance(value, dict):
        return "mapping"
    return f"{type(value).__name__} {value!r}"


# YAML 1.1 reads 1e-5 (no dot) as a string; specs mean a number.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # matched whole


def _as_number(value: Any) -> Any:
    if isinstance(value, str) and len(value) <= 40 and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return number if isfinite(number) else value  # 1e400 stays text, refused as such
    return value


class Kind:
    """How one config value is checked and normalised."""

    expected = "a value"

    def parse(self, value: Any) -> Any:
        raise NotImplementedError


MAX_INT = 2**63 - 1  # the largest size a layer field takes: PyTorch's sizes are 64-bit integers


class Int(Kind):
    def __init__(self, min: int | None = None):
        self.min = min
        self.expected = "an integer" if min is None else f"an integer >= {min}"

    def parse(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():  # `c / 2` in a block: true division
            raise FieldError(
                f"expected {self.expected}, got float {value!r} (/ and float operands give a float: "
                f"use // on whole numbers, or int(...))"
            )
        if not _is_int(value):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        if self.min is not None and value < self.min:
            raise FieldError(f"expected {self.expected}, got {value}")
        if abs(value) > MAX_INT:
            raise FieldError(f"expected {self.expected} of at most {MAX_INT:,}, got {value:,}")
        return value


class Float(Kind):
    def __init__(self, min: float | None = None, max: float | None = None, min_open: bool = False):
        self.min, self.max, self.min_open = min, max, min_open
        bounds = []
        if min is not None:
            bounds.append(f"{'>' if min_open else '>='} {min}")
        if max is not None:
            bounds.append(f"<= {max}")
        self.expected = "a number" + (f" {' and '.join(bounds)}" if bounds else "")

    def parse(self, value: Any) -> float:
        value = _as_number(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        too_low = self.min is not None and (value <= self.min if self.min_open else value < self.min)
        if not isfinite(value) or too_low or (self.max is not None and value > self.max):
            raise FieldError(f"expected {self.expected}, got {value}")
        return value


class Bool(Kind):
    expected = "true or false"

    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise FieldError(f"expected true or false, got {_describe(value)}")
        return value


class Choice(Kind):
    def __init__(self, *choices: str):
        self.choices = choices
        self.expected = "one of " + ", ".join(choices)

    def parse(self, value: Any) -> str:
        if value not in self.choices or not isinstance(value, str):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return value


# The spatial axes' names at each rank: a spec's shapes are [C, L], [C, H, W] or [C, D, H, W].
AXES: dict[int, tuple[str, ...]] = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def axes_of(rank: int) -> tuple[str, ...]:
    """The names of `rank` spatial axes: ("height", "width") for images."""
    return AXES.get(rank) or tuple(f"axis {i + 1}" for i in range(rank))


def per_axis_form(rank: int) -> str:
    """How a list of one value per spatial axis is written: [height, width] at rank 2."""
    return "[" + ", ".join(axes_of(rank)) + "]"


class PerAxis(Kind):
    """An int for every spatial axis, or a list of one per axis: [height, width] for 2-D layers,
    [length] for 1-D, [depth, height, width] for 3-D."""

    def __init__(self, min: int = 0, rank: int = 2):
        self.min, self.rank = min, rank
        self.expected = f"an integer >= {min} or {per_axis_form(rank)}"

    def parse(self, value: Any) -> tuple[int, ...]:
        items = value if isinstance(value, list) else [value] * self.rank
        if len(items) != self.rank or not all(_is_int(v) for v in items):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        if any(v < self.min for v in items):
            raise FieldError(f"expected {self.expected}, got {value}")
        return tuple(items)


class Padding(PerAxis):
    """Convolution padding: an int or one per axis, or 'same' / 'valid' as in torch.nn.Conv2d."""

    def __init__(self, rank: int = 2):
        super().__init__(min=0, rank=rank)
        self.expected = f"an integer >= 0, {per_axis_form(rank)}, 'same' or 'valid'"

    def parse(self, value: Any) -> tuple[int, ...] | str:
        if value in ("same", "valid"):
            return value
        if isinstance(value, str):
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return super().parse(value)


class AxisSizes(Kind):
    """An adaptive-pool or upsample size: an int for every axis, or one per axis, where null keeps
    that axis's size. With rank None (upsample) the list may have any length, checked against the
    input when planned, and a single int stays one."""

    def __init__(self, rank: int | None = 2, allow_none: bool = True):
        self.rank, self.allow_none = rank, allow_none
        keep = " (null keeps the input's size)" if allow_none else ""
        form = per_axis_form(rank) if rank else "a list of one per spatial axis"
        self.expected = f"an integer >= 1 or {form}{keep}"

    def parse(self, value: Any) -> int | tuple[int | None, ...]:
        if value is None or self.rank is None and isinstance(value, list) and not value:
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        items = value if isinstance(value, list) else [value] * (self.rank or 1)
        if self.rank is not None and len(items) != self.rank:
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        for item in items:
            if item is None and self.allow_none:
                continue
            if not _is_int(item) or item < 1:
                raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return value if self.rank is None and not isinstance(value, list) else tuple(items)


class AxisScales(Kind):
    """Upsample's scale_factor: a number > 0 for every axis, or a list of one per axis (any length,
    checked against the input when planned)."""

    expected = "a number > 0 or a list of numbers > 0, one per spatial axis"

    def parse(self, value: Any) -> float | tuple[float, ...]:
        items = [_as_number(v) for v in value] if isinstance(value, list) else [_as_number(value)]
        ok = bool(items) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v and isfinite(v) for v in items
        )
        if not ok:
            raise FieldError(f"expected {self.expected}, got {_describe(value)}")
        return tuple(items) if isinstance(value, list) else items[0]


def per_axis(value: Any, rank: int) -> tuple:
    """A value given once for every axis (upsample's `scale_factor: 2`) as one per axis."""
    return value if isinstance(value, tuple) else (value,) * rank


class Field(Frozen):
    """One config key of a layer type, named as torch.nn's constructor names it."""

    __slots__ = ("name", "kind", "default", "aliases", "doc", "nullable")
    name: str
    kind: Kind
    default: Any
    aliases: tuple[str, ...]
    doc: str
    nullable: bool  # null is a meaningful value, as batch norm's momentum: null

    def __init__(
        self,
        name: str,
        kind: Kind,
        default: Any = REQUIRED,
        aliases: tuple[str, ...] = (),
        doc: str = "",
        nullable: bool = False,
    ):
        for key, value in zip(self.__slots__, (name, kind, default, aliases, doc, nullable)):
            _set(self, key, value)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


# Keys every layer accepts besides its own fields.
COMMON_KEYS = ("type", "name", "trainable", "inputs")


# What a layer's window does to the receptive field, per axis: (kernel, stride, left padding),
# the kernel already dilated. NEUTRAL layers keep it; UNDEFINED ones (dense layers, global
# pooling, upsampling) end it, since one output no longer maps to one input window.
Window = tuple[int, int, int]
NEUTRAL = "neutral"
UNDEFINED = "undefined"


class Saved(Frozen):
    """A tensor autograd keeps for the backward pass.

    `what` is "input" or "output" (the layer's own tensors, which other layers
    may save too, so they are counted once) or "extra" (a tensor only this layer
    holds, such as max-pool indices). `dtype` None means the activations' dtype.
    """

    __slots__ = ("what", "elements", "dtype", "per_sample", "needed_for", "position")
    what: str
    elements: int
    dtype: str | None
    per_sample: bool  # False for per-channel statistics, whatever the batch size
    # Autograd saves a tensor only if a gradient needs it: "input" when the layer's input
    # requires grad, "params" when its parameters are trained, "any" when either holds,
    # "other" when another input (than `position`) requires grad.
    needed_for: str
    position: int  # which input, for layers with several

    def __init__(
        self,
        what: str,
        elements: int,
        dtype: str | None = None,
        per_sample: bool = True,
        needed_for: str = "input",
        position: int = 0,
    ):
        for key, value in zip(self.__slots__, (what, elements, dtype, per_sample, needed_for, position)):
            _set(self, key, value)


class LayerType:
    """A layer kind: one subclass per type, registered in cnncalc.layers.LAYER_TYPES.

    Subclasses declare `type_name`, `fields`, optionally `main_field` (what a
    bare value means in `linear: 128`), `aliases` and `input_rank`, and
    implement `output_shape`; `params` and `buffers` default to none.
    Each method receives the validated config (canonical field names, defaults
    filled) and the input shape, and raises LayerError for impossible inputs.

    The cost rules default to a shape-neutral, parameter-free, element-wise
    layer: no MACs, one other op per output element, receptive field unchanged,
    nothing saved for backward, a new output tensor.
    """

    type_name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    flattens: ClassVar[bool] = False  # its output feeds a linear layer's in_features as C x H x W
    # a fully connected layer: the first one on a flat (or channels-first) input is the network's head,
    # whose in_features the plan reports
    fully_connected: ClassVar[bool] = False
    merges: ClassVar[bool] = False  # takes two or more inputs (add, concat, mul)
    takes_input: ClassVar[bool] = True  # False: makes a tensor from nothing (a learned `parameter`)
    # a layer that is no merge reads one input, or up to this many (upsample to another's size)
    max_inputs: ClassVar[int] = 1
    # written in forward() as an expression (torch_forward), not a module: merges, chunk, split
    functional: ClassVar[bool] = False
    splits: ClassVar[bool] = False  # makes several tensors, named with `outputs:` (chunk, split)
    fields: ClassVar[tuple[Field, ...]] = ()
    main_field: ClassVar[str | None] = None
    input_rank: ClassVar[int | None] = None  # None: any rank
    # A field whose value, if given, must equal the input's size along inferred_axis.
    inferred_field: ClassVar[str | None] = None
    inferred_axis: ClassVar[int] = 0  # channels; linear uses -1, the feature axis
    # its tensors keep their channels last ([H, W, C]: the Keras convention's types), so its
    # receptive windows are along the axes before them
    channels_last: ClassVar[bool] = False
    # the other convention's keywords for its fields (Keras's types: torch's out_channels is
    # filters), named in the message for an unknown key
    other_names: ClassVar[dict[str, str]] = {}

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        raise NotImplementedError

    # Merge layers see all their inputs' shapes; the rest see their one input's.
    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        return self.output_shape(cfg, shapes[0])

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return self.other_ops(cfg, shapes[0], out)

    def saved_for_backward_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> tuple[Saved, ...]:
        return self.saved_for_backward(cfg, shapes[0], out)

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        """`cfg` with what the input decides filled in, e.g. in_channels."""
        if self.inferred_field is None:
            return cfg
        return {**cfg, self.inferred_field: shape[self.inferred_axis]}

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def frozen_params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        """Of `params`, those no gradient updates (Keras's batch-norm moving statistics), which
        count as non-trainable even in a trainable layer."""
        return 0

    def buffers(self, cfg: dict, shape: Shape, out: Shape) -> int:
        """Non-learned state saved with the model, such as batch norm's running statistics."""
        return 0

    def buffer_bytes(self, cfg: dict, shape: Shape, out: Shape, element_size: int) -> int:
        """The buffers' size when floating-point state takes `element_size` bytes."""
        return self.buffers(cfg, shape, out) * element_size

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        """Multiply-accumulates per sample: convolutions and matrix products only, bias excluded."""
        return 0

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        """Things worth knowing about a valid layer, as (field, message): pixels never read, ..."""
        return []

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        """Element-wise work per sample (activations, normalisation, pooling, bias adds)."""
        return prod(out)

    def receptive_window(self, cfg: dict, shape: Shape) -> tuple[Window, Window] | str:
        """(height window, width window), NEUTRAL or UNDEFINED."""
        return NEUTRAL

    def reordered_axes(self, cfg: dict, axes: tuple[int, ...]) -> tuple[int, ...]:
        """Which input axis each output axis comes from, given the input's own `axes` (permute)."""
        return axes

    def acts_on_last_axis(self, cfg: dict, shape: Shape) -> bool:
        """True when each output depends only on the same position's last-axis values (linear, layer
        norm): per pixel on a channels-last tensor, so the receptive field is kept."""
        return False

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape) -> tuple[Saved, ...]:
        """What autograd keeps from this layer in training, as PyTorch 2.x does."""
        return ()

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        """True when the output shares the input's storage (in-place ops and views)."""
        return False

    # Export to PyTorch: fields are torch's own keywords, so most types only name their class.
    torch_class: ClassVar[str] = ""  # e.g. "nn.Conv2d"
    torch_positional: ClassVar[tuple[str, ...]] = ()  # written without keywords, in this order
    torch_always: ClassVar[tuple[str, ...]] = ()  # written even when equal to cnncalc's default
    # Python source of a small nn.Module the export defines for a type torch.nn lacks (torch_class names it)
    torch_helper: ClassVar[str] = ""
    # A field that sets the output's size along out_size_axis (out_channels, out_features): the
    # export writes that size as the field's expression
    out_size_field: ClassVar[str | None] = None
    out_size_axis: ClassVar[int] = 0

    @classmethod
    def torch_helper_names(cls) -> tuple[str, ...]:
        """The names torch_helper defines in the exported module (its classes), which nothing else may take."""
        return tuple(re.findall(r"^(?:class|def) (\w+)", cls.torch_helper, re.M))

    def channel_symbols(
        self, cfg: dict, exprs: dict[str, str], sources: list[dict[int, str]], shape: Shape, out: Shape
    ) -> dict[int, str]:
        """For the export: the output's sizes that it can write as expressions, {axis: Python
        expression}, from the inputs' (`sources`: one such dict per input; axis 0 the channels) and
        the fields a block sets by expressions (`exprs`). `shape` is the first input's. The default:
        out_size_field's expression, else each size the layer keeps. The export only proposes
        these: it writes one where it gives every call's value, anew from its checked tree."""
        if self.out_size_field is not None:
            name = self.out_size_field
            return {self.out_size_axis % len(out): exprs.get(name, str(cfg[name]))}
        if len(out) != len(shape):
            return {}
        return {axis: text for axis, text in sources[0].items() if out[axis] == shape[axis]}

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        """For `cnncalc explain`: this layer's numbers with their formulas (arithmetic.Step:
        output size per axis, padding, params, MACs); [] where cnncalc/explain.py's generic words
        say it (the shape kept, no parameters)."""
        return []

    def keras_caveat(self, cfg: dict) -> str | None:
        """Where the Keras export of this layer computes other numbers than torch on some inputs
        (its shapes and counts still the same): a comment for the generated code; None for none."""
        return None

    def explain_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> list:
        """explain, for a layer of several inputs (a merge sees them all)."""
        return self.explain(cfg, shapes[0], out)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        """For the Keras export of a PyTorch-convention spec: the Keras layers (channels_first,
        cnncalc.layers.keras_code) that build this one, in order, without names; None where Keras
        has no exact equivalent (the export then says which layer)."""
        return None

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """For the ONNX export: add the nodes that compute this layer to `g` (an
        cnncalc.layers.onnx_code.OnnxLayer, which holds its inputs and shapes, batch axis first)
        and return the value holding its output; None where ONNX has no exact equivalent yet (the
        export then refuses, naming the layer; g.refuse(reason) says why)."""
        return None

    def torch_wrapper(self, cfg: dict, shape: Shape) -> str | None:
        """For the PyTorch export: a module around the layer's own, `{}` standing for it
        (`nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), {})`: a strided 'same' convolution's uneven
        padding); None for none."""
        return None

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        """For functional types: the expression forward() computes from its inputs' variables."""
        raise NotImplementedError

    def torch_call(self, member: str, arguments: list[str]) -> str:
        """How forward() uses the layer's member (`member`, e.g. "self.conv1") on its inputs'
        variables: a call, unless the member is a tensor (a learned parameter) or needs more."""
        return f"{member}({', '.join(arguments)})"

    def inline(self, inputs: int) -> bool:
        """Whether forward() writes the layer as an expression (torch_forward) rather than a module
        call, when it reads `inputs` tensors: the functional types, and upsample to another's size."""
        return self.functional

    def pytorch_arguments(self, cfg: dict, shape: Shape) -> list[tuple[str, bool, Any]]:
        """The constructor's arguments as (field, written as a keyword, value): the positional
        ones, then each field that differs from its default (or is always written)."""
        resolved = self.resolved_config(cfg, shape)
        arguments = [(name, False, resolved[name]) for name in self.torch_positional]
        for f in self.fields:
            if f.name in self.torch_positional:
                continue
            value = cfg[f.name]
            if value != self.default_of(f) or f.name in self.torch_always:
                arguments.append((f.name, True, value))
        return arguments

    def from_torch(self, module) -> dict:
        """For `cnncalc import`: this layer's fields read from a module of its torch_class, by
        the attributes torch keeps under the constructor's names (`bias` is there or None),
        each that differs from the default; the field the input decides is left out. Types
        whose module keeps other attributes override this."""
        fields = {}
        for f in self.fields:
            if f.name == self.inferred_field or not hasattr(module, f.name):
                continue
            value = getattr(module, f.name)
            if f.name == "bias" and not isinstance(value, bool):
                value = value is not None
            value = _plain(value, isinstance(f.kind, (PerAxis, AxisSizes)))
            if f.name == "stride" and f.default is None and value == fields.get("kernel_size"):
                continue  # a pool's stride defaults to its kernel
            try:
                same = f.kind.parse(value) == self.default_of(f) if value is not None else f.default is None
            except FieldError:
                same = False
            if not same:
                fields[f.name] = value
        return fields

    @staticmethod
    def default_of(f: Field) -> Any:
        return None if f.default in (None, REQUIRED) else f.kind.parse(f.default)

    def pytorch(self, cfg: dict, shape: Shape) -> str:
        """The torch.nn expression that builds this layer, e.g. 'nn.Conv2d(3, 64, 3, padding=1)'."""
        arguments = [
            f"{name}={python_literal(value)}" if keyword else python_literal(value)
            for name, keyword, value in self.pytorch_arguments(cfg, shape)
        ]
        return f"{self.torch_class}({', '.join(arguments)})"


def _plain(value: Any, per_axis: bool) -> Any:
    """A torch attribute as a spec writes it: tuples as lists, one per axis collapsed to one
    int when all are equal (for per-axis fields)."""
    if isinstance(value, (tuple, list)):
        items = [_plain(v, False) for v in value]
        if per_axis and items and all(v == items[0] for v in items):
            return items[0]
        return items
    return value


def python_literal(value: Any) -> str:
    """A config value as Python source: a pair of equal ints collapses to one int."""
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == value[1] and value[0] is not None:
            return python_literal(value[0])
        return "(" + ", ".join(python_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return '"' + "".join(_STRING_ESCAPES.get(c) or _escaped(c) for c in value) + '"'
    if value is None or isinstance(value, (bool, int)) or isinstance(value, float) and isfinite(value):
        return repr(value)
    raise TypeError(f"no Python literal for {type(value).__name__} {value!r}")  # the spec checks refuse these


_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"'}


def parenthesised(text: str) -> str:
    """Python source as one operand of an operator: a name or a number as it is, else in parentheses."""
    return text if re.match(r"^[\w.]+$", text) else f"({text})"


def _escaped(character: str) -> str:
    """A character inside a string literal: itself if printable, else its escape (\\n, \\x00, \\u202e)."""
    return character if character.isprintable() else character.encode("unicode_escape").decode("ascii")


def check_inferred(cfg: dict, field_name: str, actual: int, what: str) -> None:
    """Refuse a stated in_channels/in_features/num_features that the input contradicts."""
    stated = cfg.get(field_name)
    if stated is not None and stated != actual:
        raise LayerError(
            f"{field_name} is {stated:,} but the input has {actual:,} {what}",
            field=field_name,
            code="shape.mismatch",
        )


def unread_note(axes: list[tuple[str, int, int, int, int, int, int, int]]) -> str | None:
    """A note when some input pixels are never read by any window.

    Each axis is (name, size, pad before, pad after, kernel, dilation, stride, output size).
    Windows that stop short of the end leave the last pixels unread; a stride longer than the
    dilated kernel, or a dilation, leaves gaps between or inside the windows.

    >>> unread_note([("height", 56, 0, 0, 2, 1, 2, 28), ("width", 25, 0, 0, 2, 1, 2, 12)])
    'the last input column is never read: (25 + 0 - 2) / 2 is not whole'
    >>> unread_note([("height", 56, 0, 0, 1, 1, 2, 28), ("width", 56, 0, 0, 1, 1, 2, 28)])
    'only 28 of 56 input rows and 28 of 56 input columns are read: the stride 2 jumps over pixels'
    """
    tails, gaps, reasons = [], [], []
    for axis, size, before, after, kernel, dilation, stride, out in axes:
        noun = _NOUNS.get(axis, "position")
        window = dilation * (kernel - 1) + 1
        if dilation == 1 and stride <= kernel:  # windows overlap or touch: only the end can be missed
            unread = size + before - ((out - 1) * stride + window)
            if unread > 0:
                tails.append(noun if unread == 1 else f"{unread} {noun}s")
                reason = f"({size} + {before + after} - {window}) / {stride} is not whole"
                reasons.append(reason) if reason not in reasons else None
        elif out * kernel <= 100_000:  # gaps: count what the windows touch
            read = {i * stride - before + t * dilation for i in range(out) for t in range(kernel)}
            count = sum(1 for pixel in read if 0 <= pixel < size)
            if count < size:
                gaps.append(f"{count} of {size} input {noun}s")
                reason = (
                    f"the stride {stride} jumps over pixels"
                    if dilation == 1
                    else f"the dilation {dilation} leaves holes"
                )
                reasons.append(reason) if reason not in reasons else None
    if gaps:
        return f"only {' and '.join(gaps)} are read: {'; '.join(reasons)}"
    if not tails:
        return None
    verb = "is" if len(tails) == 1 and tails[0] in _NOUNS.values() else "are"
    return f"the last input {' and '.join(tails)} {verb} never read: {'; '.join(reasons)}"


# What one step along each axis is called in a note: a row of an image, a slice of a volume.
_NOUNS = {"height": "row", "width": "column", "depth": "slice", "length": "position"}


def fmt_shape(shape: Shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


# Activation functions and other shape-neutral layers accept `inplace` as torch does.
INPLACE = Field("inplace", Bool(), False, doc="compute in place (no effect on shapes or counts)")
