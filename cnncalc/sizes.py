"""Which input sizes a spec accepts, and which of them lose no pixels: `cnncalc sizes`.

The spec is read once. Its layers do not depend on the input's spatial size (a block's
expressions see only `in_channels`), so each size is planned by putting the new shape on the
Spec already read (dataclasses.replace) and planning again: nothing is read or expanded anew.
One case breaks that: a block whose expressions use `in_channels` of a tensor whose channel
count follows the input's size (a flattened vector). Such calls are watched: a size that
changes what they saw is refused as a whole (SizesError), rather than answered wrongly.

A size is *valid* when the spec plans at it (no layer refuses it). It is *exact* when, besides,
no layer's windows stop short of the end of its input: no layer leaves its last rows, columns,
slices or positions unread because (size + padding - window) / stride is not whole, a pooling
dropping the last row of an odd size, a strided convolution whose last window does not fit
(the note "the last input ... never read" of cnncalc.layers.base.unread_note). A layer whose
stride is longer than its window, or whose dilation leaves holes, skips pixels at every size
(the note "only N of M input ... are read"): ResNet's 1x1 stride-2 shortcuts, whose pixels the
branch beside them reads. Such a layer does not tell sizes apart, so it does not count against
a size unless `strict` is asked for; the result lists it apart (Trial.skips).

Pure: returns results or raises SpecError or SizesError; never prints.
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import product
from typing import TYPE_CHECKING

from cnncalc.engine import plan as make_plan
from cnncalc.errors import Diagnostic, Frozen, Loc, SpecError
from cnncalc.layers.base import axes_of, fmt_shape
from cnncalc.layers.conventions import CONVENTIONS

if TYPE_CHECKING:
    from cnncalc.engine import Plan
    from cnncalc.layers.base import Shape
    from cnncalc.spec import Spec

MAX_SIZES = 100_000  # sizes tried in one run: ResNet-50 plans about 400 a second
LARGEST = 2**31 - 1  # the largest size an axis may be given (an int32, as torch's shapes)
AXIS_NAMES = ("depth", "height", "width", "length")
_set = object.__setattr__
# The words of cnncalc.layers.base.unread_note, as a layer's note and as the engine's warning
# ("layer 'pool2' (maxpool2d): the last input row ..."); tests/test_sizes.py keeps them in step.
_EDGE = "the last input "
_SKIP = re.compile(r"only \d+ of \d+ input ")
_PIXELS_WARNING = re.compile(r"\): (?:the last input |only \d+ of \d+ input )")


class SizesError(Exception):
    """A request the spec cannot answer (an axis it does not have, an input it does not name, too
    many sizes); `option` names the command-line option at fault, if one is."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.message, self.option = message, option


class Span(Frozen):
    """Sizes from `first` to `last` inclusive, `step` apart: LO:HI[:STEP] on the command line."""

    __slots__ = ("first", "last", "step")
    first: int
    last: int
    step: int

    def __init__(self, first: int, last: int, step: int = 1):
        _set(self, "first", first)
        _set(self, "last", last)
        _set(self, "step", step)

    @property
    def values(self) -> range:
        return range(self.first, self.last + 1, self.step)

    def __str__(self) -> str:
        return f"{self.first}:{self.last}" + (f":{self.step}" if self.step != 1 else "")


def parse_span(text: str) -> Span:
    """'32:512' or '32:512:32' (or one size, '224'); ValueError saying what is wrong."""
    parts = [part.strip() for part in text.split(":")]
    if not 1 <= len(parts) <= 3 or not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts):
        raise ValueError("expected LO:HI or LO:HI:STEP, whole numbers such as 32:512 or 32:512:32")
    numbers = [int(part) for part in parts]
    first, last, step = (*numbers, numbers[0], 1)[:3] if len(numbers) == 1 else (*numbers, 1)[:3]
    if not 1 <= first <= LARGEST or not 1 <= last <= LARGEST:
        raise ValueError(f"sizes go from 1 to {LARGEST:,}")
    if last < first:
        raise ValueError(f"LO:HI goes up: {first} is more than {last}")
    if step < 1:
        raise ValueError("STEP is at least 1")
    return Span(first, last, step)


class Trial(Frozen):
    """One input size, planned: why it is refused, or which layers lose pixels at it."""

    __slots__ = ("size", "error", "edges", "skips", "in_features")
    size: tuple[int, ...]  # every spatial axis of the input varied, in its shape's order
    error: Diagnostic | None  # the first layer that refuses this size, located
    edges: tuple[Diagnostic, ...]  # layers that never read their input's last rows (columns, ...)
    skips: tuple[Diagnostic, ...]  # layers whose stride or dilation jumps over pixels
    in_features: int | None  # the first linear layer's in_features at this size (cnncalc infers it)

    def __init__(self, size, error=None, edges=(), skips=(), in_features=None):
        _set(self, "size", size)
        _set(self, "error", error)
        _set(self, "edges", edges)
        _set(self, "skips", skips)
        _set(self, "in_features", in_features)

    @property
    def valid(self) -> bool:
        return self.error is None

    def exact(self, strict: bool = False) -> bool:
        return self.error is None and not self.edges and not (strict and self.skips)


class Sizes(Frozen):
    """What `explore` found: the sizes tried, in order, and how each planned."""

    __slots__ = ("spec", "input_name", "axes", "spans", "square", "strict", "trials", "in_features")
    spec: Spec
    input_name: str
    axes: tuple[str, ...]  # the input's spatial axes, in its shape's order
    spans: dict[str, Span | None]  # each axis's sizes tried; None: it keeps the spec's size
    square: bool  # every axis took the same size (--range)
    strict: bool  # layers that skip pixels make a size inexact too
    trials: list[Trial]
    in_features: int | None  # the first linear layer's, at the spec's own size

    def __init__(self, spec, input_name, axes, spans, square, strict, trials, in_features=None):
        values = (spec, input_name, axes, spans, square, strict, trials, in_features)
        for name, value in zip(self.__slots__, values):
            _set(self, name, value)

    @property
    def other_in_features(self) -> list[Trial]:
        """The valid sizes at which the first linear layer takes another in_features than at the
        spec's own size: cnncalc infers it, but a model built at one size has it fixed."""
        return [t for t in self.trials if t.valid and t.in_features is not None and t.in_features != self.in_features]

    @property
    def input_shape(self) -> Shape:
        return self.spec.inputs[self.input_name]

    def point(self, trial: Trial) -> int | list[int]:
        """How a size is written: an integer for square sizes, else [h, w] (each axis)."""
        return trial.size[0] if self.square else list(trial.size)

    @property
    def valid(self) -> list:
        return [self.point(trial) for trial in self.trials if trial.valid]

    @property
    def exact(self) -> list:
        return [self.point(trial) for trial in self.trials if trial.exact(self.strict)]


def spatial_positions(shape: Shape, convention: str) -> range:
    """Where the spatial axes are in `shape`: after the channels ([C, H, W]) or before (Keras's [H, W, C])."""
    rank = len(shape) - 1
    return range(0, rank) if CONVENTIONS[convention].channels_last else range(1, rank + 1)


def explore(spec: Spec, spans: Span | dict[str, Span], *, input_name: str | None = None, strict: bool = False) -> Sizes:
    """Plan `spec` at every size `spans` gives: one Span for square sizes (every spatial axis
    the same), or a Span per axis by name ("height", "width", "depth", "length"; an axis not
    given keeps the spec's size, and the sizes are every combination). `input_name` picks the
    input varied (the first by default). Raises SizesError, or the spec's own SpecError when it
    cannot be varied (see Planner)."""
    name, axes = _varied_input(spec, input_name)
    square = isinstance(spans, Span)
    by_axis = dict.fromkeys(axes, spans) if square else _per_axis(spec, name, axes, spans)
    sizes = _sizes(spec, name, by_axis, square)
    planner = Planner(spec, name)
    trials = [planner.trial(size) for size in sizes]
    return Sizes(spec, name, axes, by_axis, square, strict, trials, planner.in_features)


def _varied_input(spec: Spec, input_name: str | None) -> tuple[str, tuple[str, ...]]:
    """The input to vary and its spatial axes' names."""
    name = input_name if input_name is not None else next(iter(spec.inputs))
    if name not in spec.inputs:
        listed = ", ".join(spec.inputs)
        raise SizesError(f"the spec has no input {name!r}; its inputs are {listed}", "--input")
    shape = spec.inputs[name]
    if not 2 <= len(shape) <= 4:
        what = "features" if len(shape) == 1 else f"{len(shape)} axes"
        others = [other for other, each in spec.inputs.items() if 2 <= len(each) <= 4]
        hint = f"; --input picks another ({', '.join(others)})" if others and input_name is None else ""
        raise SizesError(
            f"input {name!r} at {_where(spec.input_loc)} is {fmt_shape(shape)} ({what}): cnncalc sizes varies "
            f"the length, height and width, or depth, of a 1-D, 2-D or 3-D input ([C, L], [C, H, W], [C, D, H, W])"
            + hint,
            "--input" if input_name is not None else None,
        )
    return name, axes_of(len(shape) - 1)


def _per_axis(spec: Spec, name: str, axes: tuple[str, ...], spans: dict[str, Span]) -> dict[str, Span | None]:
    for axis in spans:
        if axis not in axes:
            raise SizesError(
                f"input {name!r} at {_where(spec.input_loc)} is {fmt_shape(spec.inputs[name])}: it has no {axis} "
                f"axis (its spatial axes: {', '.join(axes)})",
                f"--{axis}",
            )
    return {axis: spans.get(axis) for axis in axes}


def _sizes(spec: Spec, name: str, by_axis: dict[str, Span | None], square: bool) -> list[tuple[int, ...]]:
    """Every size to try, each a value per spatial axis; the last axis varies fastest."""
    shape = spec.inputs[name]
    kept = [shape[p] for p in spatial_positions(shape, spec.convention)]
    ranges = [span.values if span else (kept[i],) for i, span in enumerate(by_axis.values())]
    count = len(ranges[0]) if square else _product_size(ranges)
    if count > MAX_SIZES:
        raise SizesError(f"that is {count:,} sizes to try, more than {MAX_SIZES:,}: narrow the ranges or add a :STEP")
    if square:
        return [(size,) * len(by_axis) for size in ranges[0]]
    return list(product(*ranges))


def _product_size(ranges) -> int:
    count = 1
    for values in ranges:
        count *= len(values)
    return count


def _where(loc: Loc | None) -> str:
    return str(loc) if loc is not None else "?"


class Planner:
    """Plans the spec at one size after another, from the Spec already read.

    The spec is planned at its own size first. If that fails and a block reads `in_channels`,
    the spec as read is incomplete (the expansion stops at the layer that fails), so that
    SpecError is raised: the spec cannot be varied until it plans. Each block call that reads
    `in_channels` is watched: its input's channels at every size must be those the expansion saw.
    """

    def __init__(self, spec: Spec, name: str):
        self.spec, self.name = spec, name
        self.positions = tuple(spatial_positions(spec.inputs[name], spec.convention))
        self.channels = CONVENTIONS[spec.convention].channels
        self.order = spec.order
        self.locs: dict[Loc, list[int]] | None = None  # where each layer is written: made when first needed
        try:
            baseline = make_plan(spec)
        except SpecError:
            if any(block.reads_input_channels for block in spec.blocks.values()):
                raise  # the expansion may have stopped before a call of it: the spec is not whole
            baseline = None
        self.watched = self._watched(baseline) if baseline is not None else {}
        first = baseline.first_linear if baseline is not None else None
        self.in_features = first.in_features if first is not None else None  # at the spec's own size

    def _reads_channels(self, group) -> bool:
        block = self.spec.blocks.get(group.block)
        return block is not None and block.reads_input_channels and bool(group.inputs)

    def _watched(self, baseline: Plan) -> dict[str, tuple[int, int]]:
        """The tensors whose channels a block's expressions read: name -> (its position in the
        layers, or -1 for an input; its channels at the spec's size)."""
        positions = {layer.name: position for position, layer in enumerate(self.spec.layers)}
        watched = {}
        for group in self.spec.groups:
            if self._reads_channels(group):
                tensor = group.inputs[0]
                position = positions.get(tensor, -1)
                shape = baseline.layers[position].output_shape if position >= 0 else self.spec.inputs[tensor]
                watched[tensor] = (position, self.channels(shape))
        return watched

    def trial(self, size: tuple[int, ...]) -> Trial:
        try:
            planned = self.plan_at(size)
        except SpecError as exc:
            return Trial(size, exc.diagnostics[0])
        edges, skips = self._pixel_notes(planned)
        first = planned.first_linear
        return Trial(size, None, edges, skips, first.in_features if first is not None else None)

    def shape_at(self, size: tuple[int, ...]) -> tuple[int, ...]:
        """The varied input's shape with these sizes on its spatial axes."""
        shape = list(self.spec.inputs[self.name])
        for position, value in zip(self.positions, size):
            shape[position] = value
        return tuple(shape)

    def plan_at(self, size: tuple[int, ...]) -> Plan:
        """The spec planned with the varied input at `size`; SpecError if a layer refuses it,
        SizesError if a block's `in_channels` would differ there (the spec must be read again)."""
        inputs = {**self.spec.inputs, self.name: self.shape_at(size)}
        varied = replace(self.spec, input_shape=next(iter(inputs.values())), inputs=inputs).ordered(self.order)
        planned = make_plan(varied)
        self._check_watched(planned, inputs, size)
        return planned

    def _check_watched(self, planned: Plan, inputs: dict, size: tuple[int, ...]) -> None:
        for tensor, (position, channels) in self.watched.items():
            shape = planned.layers[position].output_shape if position >= 0 else inputs[tensor]
            if self.channels(shape) != channels:
                raise SizesError(
                    f"a block reads in_channels of {tensor!r}, whose channels follow the input's size "
                    f"({channels:,} at the spec's size, {self.channels(shape):,} at {'x'.join(map(str, size))}): "
                    "cnncalc sizes cannot vary this input without reading the spec again"
                )

    def _pixel_notes(self, planned: Plan) -> tuple[tuple[Diagnostic, ...], tuple[Diagnostic, ...]]:
        """The layers losing pixels at this size: (edges, skips). The plan's warnings tell where
        (a note of one line of a block is folded over its calls, and keeps the first call's
        words), so the layers written there are asked again, each for its own notes."""
        places = {w.loc for w in planned.warnings if w.code == "note.layer" and _PIXELS_WARNING.search(w.message)}
        if not places:
            return (), ()
        edges, skips = [], []
        for position in sorted({p for loc in places for p in self._written_at().get(loc, ())}):
            row = planned.layers[position]
            layer_spec, layer = row.spec, row.spec.layer
            for field_name, note in layer.notes(layer_spec.cfg, row.input_shape, row.output_shape):
                kind = pixel_note(note)
                if kind is not None:
                    message = f"layer {layer_spec.name!r} ({layer_spec.type_name}): {note}"
                    found = Diagnostic("note.layer", message, layer_spec.loc_of(field_name), "warning")
                    (edges if kind == "edge" else skips).append(found)
        return tuple(edges), tuple(skips)

    def _written_at(self) -> dict[Loc, list[int]]:
        """Each place a layer or one of its fields is written -> the layers written there (that
        do not merge: merges have no notes of their own)."""
        if self.locs is None:
            self.locs = {}
            for position, layer_spec in enumerate(self.spec.layers):
                if not layer_spec.layer.merges:
                    for loc in {layer_spec.loc, *layer_spec.field_locs.values()}:
                        self.locs.setdefault(loc, []).append(position)
        return self.locs


def pixel_note(note: str) -> str | None:
    """What a layer's note says about pixels: "edge" when the last rows (columns, ...) of its
    input are never read, "skip" when its stride or dilation jumps over pixels, None for any
    other note (uneven 'same' padding, a group norm of single values, ...)."""
    if note.startswith(_EDGE):
        return "edge"
    if _SKIP.match(note):
        return "skip"
    return None
