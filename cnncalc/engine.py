"""The planner: propagate shapes through a spec and count what each layer holds.

`plan` walks the layers once, each after its inputs, and hands each layer to one small object
per concern: shapes and costs (_Costs), receptive fields and axis order (_Fields), what a
flatten made and the first linear layer (_Flattening), notes (_Notes), and who reads each
tensor (_Readers). Then, once over the results: the totals, each group's subtotals, and the
in-place hazards and unread outputs, all linear (or n log n) in the layers.

Pure: it returns a Plan or raises SpecError, and never prints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING, NamedTuple

from cnncalc.errors import Diagnostic, Frozen, LayerError, SpecError
from cnncalc.gcpause import paused
from cnncalc.layers.base import NEUTRAL, UNDEFINED, Shape, fmt_shape
from cnncalc.layers.conventions import CONVENTIONS
from cnncalc.spec import NETWORK_INPUT, Group, LayerSpec, Spec

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

_RANK_NAMES = {
    1: "[features]",
    2: "[channels, length]",
    3: "[channels, height, width]",
    4: "[channels, depth, height, width]",
}
_RANK_NAMES_LAST = {  # the Keras convention's
    1: "[features]",
    2: "[length, channels]",
    3: "[height, width, channels]",
    4: "[depth, height, width, channels]",
}
_NAMED = 3  # a note names at most this many layers, and counts the rest
_set = object.__setattr__  # how a Frozen class's __init__ sets its fields
_PLAN_FIELDS = ("name", "description", "input_shape", "layers", "totals", "first_linear", "order", "warnings")
_PLAN_FIELDS += ("spec", "group_totals")


class ReceptiveField(Frozen):
    """What one output pixel sees, per spatial axis ([length], [height, width] or [depth, height,
    width]), in input pixels.

    size: the window's extent; stride: the distance in the input between
    neighbouring outputs; padding: how far the first window starts before the
    input's first pixel. Output pixel y sees input [y*stride - padding, ... + size - 1].
    """

    __slots__ = ("size", "stride", "padding")
    size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]

    def __init__(self, size: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...]):
        _set(self, "size", size)
        _set(self, "stride", stride)
        _set(self, "padding", padding)

    def through(self, windows) -> ReceptiveField:
        """The field after a layer with these (kernel, stride, padding) windows per axis."""
        axes = [
            (r + (k - 1) * j, j * s, p0 + p * j)
            for (r, j, p0), (k, s, p) in zip(zip(self.size, self.stride, self.padding), windows)
        ]
        return ReceptiveField(*(tuple(values) for values in zip(*axes)))


def input_field(input_shape: Shape) -> ReceptiveField | None:
    """The network input's own field: one pixel along each spatial axis of [C, L], [C, H, W] or
    [C, D, H, W]; None for features [F] (and for more axes than cnncalc names)."""
    rank = len(input_shape) - 1
    return ReceptiveField((1,) * rank, (1,) * rank, (0,) * rank) if 1 <= rank <= 3 else None


class LayerResult(Frozen):
    """One layer as planned: its shapes, counts and receptive field."""

    __slots__ = ("spec", "input_shape", "output_shape", "params", "buffers", "macs", "other_ops", "receptive_field")
    spec: LayerSpec
    input_shape: Shape
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    other_ops: int
    receptive_field: ReceptiveField | None  # None once outputs no longer map to input windows

    def __init__(self, spec, input_shape, output_shape, params, buffers, macs, other_ops, receptive_field):
        values = (spec, input_shape, output_shape, params, buffers, macs, other_ops, receptive_field)
        for name, value in zip(self.__slots__, values):  # one value for each of the 8 fields
            _set(self, name, value)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def type_name(self) -> str:
        return self.spec.type_name

    @property
    def trainable(self) -> bool:
        return self.spec.trainable

    @property
    def trainable_params(self) -> int:
        if not self.spec.trainable or not self.params:
            return 0
        spec = self.spec
        return self.params - spec.layer.frozen_params(spec.cfg, self.input_shape, self.output_shape)

    @property
    def config(self) -> dict:
        """The config as planned: inferred sizes and input-dependent defaults filled in."""
        return self.spec.layer.resolved_config(self.spec.cfg, self.input_shape)


class Totals(Frozen):
    """The network's sums."""

    __slots__ = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "other_ops")
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    other_ops: int

    def __init__(self, params, trainable_params, non_trainable_params, buffers, macs, other_ops):
        for name, value in zip(
            self.__slots__, (params, trainable_params, non_trainable_params, buffers, macs, other_ops)
        ):
            _set(self, name, value)

    @property
    def flops(self) -> int:
        return 2 * self.macs  # a multiply-accumulate is two floating-point operations


class FirstLinear(Frozen):
    """The first fully connected layer, and where its in_features come from."""

    __slots__ = ("name", "index", "in_features", "flattened_shape", "flattened_by")
    name: str
    index: int
    in_features: int
    flattened_shape: Shape | None  # what the flatten before it collapsed, if any
    flattened_by: str | None

    def __init__(self, name, index, in_features, flattened_shape, flattened_by):
        for key, value in zip(self.__slots__, (name, index, in_features, flattened_shape, flattened_by)):
            _set(self, key, value)

    def derivation(self) -> str:
        """'64 x 12 x 12 = 9,216', or just '9,216' when nothing was flattened."""
        if self.flattened_shape and len(self.flattened_shape) > 1:
            return " x ".join(str(d) for d in self.flattened_shape) + f" = {self.in_features:,}"
        return f"{self.in_features:,}"


class GroupTotals(NamedTuple):
    """A group's layers (a block call's, a repetition's or a list's), summed once in the plan:
    what the table's group rows and the JSON `blocks` show."""

    group: Group
    parent: Group | None  # the group it is written in; None at the top level
    output: LayerResult | None  # the layer whose output is the group's; None: it passes the network input on
    first: int  # its layers are plan.layers[first:stop], nested groups' included
    stop: int
    trainable_layers: int
    params: int
    trainable_params: int
    buffers: int
    macs: int
    other_ops: int

    @property
    def layers(self) -> int:
        return self.stop - self.first


@dataclass(init=False, repr=False, eq=False)  # a dataclass for dataclasses.replace; see errors.Record
class Plan(Frozen):
    """A spec planned: each layer's result, the totals, the first linear layer, the notes."""

    name: str
    description: str | None
    input_shape: Shape
    layers: list[LayerResult]
    totals: Totals
    first_linear: FirstLinear | None
    order: tuple[int, ...] = ()  # positions in `layers`, each after its inputs
    warnings: tuple[Diagnostic, ...] = ()  # valid, but worth a look: pixels never read, ...
    spec: Spec | None = None  # the spec planned: its blocks and groups, for the export and the table
    group_totals: tuple[GroupTotals, ...] = ()  # one for each of `groups`, in the same order
    # each tensor's last reader, as its step in `order`; a tensor nothing reads is absent
    last_read: dict[str, int] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def __init__(
        self,
        name: str,
        description: str | None,
        input_shape: Shape,
        layers: list[LayerResult],
        totals: Totals,
        first_linear: FirstLinear | None,
        order: tuple[int, ...] = (),
        warnings: tuple[Diagnostic, ...] = (),
        spec: Spec | None = None,
        group_totals: tuple[GroupTotals, ...] = (),
        last_read: dict[str, int] | None = None,
    ):
        values = (name, description, input_shape, layers, totals, first_linear, order, warnings, spec, group_totals)
        for key, value in zip(_PLAN_FIELDS, values):
            _set(self, key, value)
        _set(self, "last_read", {} if last_read is None else last_read)

    @property
    def groups(self) -> tuple:
        return self.spec.groups if self.spec is not None else ()

    @property
    def convention(self) -> str:
        """Whose layers and layout the plan is in: "pytorch" ([C, H, W]) or "keras" ([H, W, C])."""
        return self.spec.convention if self.spec is not None else "pytorch"

    @property
    def output_shape(self) -> Shape:
        """The network's output's shape; with several outputs, the first's (see output_shapes)."""
        return next(iter(self.output_shapes.values()), self.input_shape)

    @property
    def input_shapes(self) -> dict[str, Shape]:
        """The network's inputs' shapes by name ("input" for a spec's one `input:`)."""
        return self.spec.inputs if self.spec is not None else {NETWORK_INPUT: self.input_shape}

    @cached_property
    def output_shapes(self) -> dict[str, Shape]:
        """The shapes of what the network returns, by layer name: the last layer's, or those `outputs:` lists."""
        if not self.layers:
            return {}
        if self.spec is None or not self.spec.outputs:
            return {self.layers[-1].name: self.layers[-1].output_shape}
        rows = {row.name: row for row in self.layers}
        return {name: rows[name].output_shape for name in self.spec.outputs}

    @cached_property
    def _totals_by_group(self) -> dict[int, GroupTotals]:
        return {id(totals.group): totals for totals in self.group_totals}

    def totals_of(self, group: Group) -> GroupTotals:
        """The subtotals of `group`, one of `groups`."""
        return self._totals_by_group[id(group)]


def plan(spec: Spec) -> Plan:
    """Propagate shapes through the layers, each after its inputs; the first impossible layer raises SpecError."""
    with paused():  # many small objects that live on, and no cycles
        return _plan(spec)


def _plan(spec: Spec) -> Plan:
    channels_last = CONVENTIONS[spec.convention].channels_last
    costs, fields, flattening = _Costs(spec.inputs), _Fields(spec.inputs, channels_last), _Flattening(spec.inputs)
    notes, readers = _Notes(), _Readers()
    rows: dict[str, LayerResult] = {}
    for step, position in enumerate(spec.order):
        layer_spec = spec.layers[position]
        try:
            shape, out, params, buffers, macs, other_ops = costs.step(layer_spec)
            field = fields.step(layer_spec, shape, out)
        except LayerError as exc:
            raise _located(spec, layer_spec, costs.shapes, exc) from None
        flattening.step(position, layer_spec, shape, out, fields.layouts)
        notes.step(layer_spec, shape, out)
        readers.step(step, layer_spec)
        rows[layer_spec.name] = LayerResult(layer_spec, shape, out, params, buffers, macs, other_ops, field)
    results = [rows[layer_spec.name] for layer_spec in spec.layers]
    warnings = notes.found + _in_place_hazards(spec, costs.shapes) + _unread_outputs(spec, readers.last)
    warnings += _layout_notes(spec)
    warnings.sort(key=lambda d: (d.loc.line, d.loc.column))
    return Plan(
        spec.name,
        spec.description,
        spec.input_shape,
        results,
        _totals(results),
        flattening.first,
        spec.order,
        tuple(_folded(warnings)),
        spec,
        _group_totals(spec, results, rows),
        readers.last,
    )


class _Costs:
    """Shapes and counts: each layer's output shape from its inputs', and its params, buffers,
    MACs and other operations."""

    def __init__(self, inputs: dict[str, Shape]):
        self.shapes: dict[str, Shape] = dict(inputs)
        self.input_shape = next(iter(inputs.values()), ())

    def step(self, layer_spec: LayerSpec) -> tuple[Shape, Shape, int, int, int, int]:
        """(first input's shape, output shape, params, buffers, MACs, other ops); raises LayerError."""
        layer, cfg, inputs = layer_spec.layer, layer_spec.cfg, layer_spec.inputs
        shape = self.shapes[inputs[0]] if inputs else ()  # a learned tensor reads nothing
        in_shapes = [shape] if len(inputs) == 1 else [self.shapes[source] for source in inputs]
        rank = layer.input_rank
        if rank is not None:
            for source_shape in in_shapes:
                if len(source_shape) != rank:
                    raise LayerError(_rank_message(layer_spec, source_shape, self.input_shape), code="shape.rank")
        out = self.shapes[layer_spec.name] = layer.output_shape_of(cfg, in_shapes)
        return (
            shape,
            out,
            layer.params(cfg, shape, out),
            layer.buffers(cfg, shape, out),
            layer.macs(cfg, shape, out),
            layer.other_ops_of(cfg, in_shapes, out),
        )


_IDENTITY = {rank: tuple(range(rank)) for rank in range(8)}
_LAST = {rank: (*range(1, rank), 0) if rank > 1 else (0,) * rank for rank in range(8)}


def _identity(rank: int) -> tuple[int, ...]:
    """The axes of a tensor in the input's order: (0, 1, ..., rank - 1)."""
    return _IDENTITY.get(rank) or tuple(range(rank))


def _native(rank: int, channels_last: bool) -> tuple[int, ...]:
    """The axes of a tensor laid out as a convention lays it out, as channels-first axes:
    (0, 1, 2) for [C, H, W]; (1, 2, 0) for Keras's [H, W, C]."""
    if not channels_last:
        return _identity(rank)
    return _LAST.get(rank) or (*range(1, rank), 0)


class _Fields:
    """Receptive fields, and each tensor's axes as the input's axes they came from: (0, 1, 2) for
    [C, H, W], (1, 2, 0) after a permute to channels-last, where a linear or layer norm works per pixel."""

    def __init__(self, inputs: dict[str, Shape], channels_last: bool):
        self.fields: dict[str, ReceptiveField | None] = {name: input_field(shape) for name, shape in inputs.items()}
        self.channels_last = channels_last  # the spec's convention lays tensors out channels-last
        self.layouts = {name: _native(len(shape), channels_last) for name, shape in inputs.items()}
        self.learned: set[str] = set()  # the `parameter` layers' outputs

    def step(self, layer_spec: LayerSpec, shape: Shape, out: Shape) -> ReceptiveField | None:
        """The layer's output's receptive field (None once it no longer maps to input windows)."""
        layer, cfg, inputs = layer_spec.layer, layer_spec.cfg, layer_spec.inputs
        if not inputs:  # a learned tensor: no input pixel behind it, and no axis order of its own
            self.fields[layer_spec.name], self.layouts[layer_spec.name] = None, _native(len(out), self.channels_last)
            self.learned.add(layer_spec.name)
            return None
        # a merge's axes are its inputs' (a learned tensor, such as ViT's class token, follows them)
        layout = self.layouts[next((source for source in inputs if source not in self.learned), inputs[0])]
        if layer.merges:
            joined = layer.keeps_receptive_field(cfg, out)
            aligned = len({self.layouts[source] for source in inputs}) == 1
            field = _joined_field([self.fields[source] for source in inputs]) if joined and aligned else None
        else:
            field = self.fields[inputs[0]]
            window = layer.receptive_window(cfg, shape) if field is not None else UNDEFINED
            if layout != _native(len(layout), layer.channels_last):
                # permuted: windows are over the wrong axes, but a per-pixel layer keeps the field
                per_pixel = layer.acts_on_last_axis(cfg, shape) and layout[-1] == 0
                window = NEUTRAL if per_pixel or window == NEUTRAL else UNDEFINED
            field = None if window == UNDEFINED else field if window == NEUTRAL else field.through(window)
            layout = layer.reordered_axes(cfg, layout)
        if len(out) != len(layout):
            layout = _native(len(out), self.channels_last)
        self.fields[layer_spec.name], self.layouts[layer_spec.name] = field, layout
        return field


class _Flattening:
    """For each tensor that is a flatten's output (perhaps through shape-neutral layers): what was
    flattened, and by which layer; and the first fully connected layer, the network's head."""

    def __init__(self, inputs: dict[str, Shape]):
        self.flattened: dict[str, tuple[Shape, str] | None] = dict.fromkeys(inputs)
        self.first: FirstLinear | None = None
        self.first_position = -1

    def step(self, position: int, layer_spec: LayerSpec, shape: Shape, out: Shape, layouts: dict) -> None:
        layer, name = layer_spec.layer, layer_spec.name
        if not layer_spec.inputs:
            self.flattened[name] = None
            return
        source = layer_spec.inputs[0]
        if layer.flattens and len(out) == 1 and len(shape) > 1:
            self.flattened[name] = (shape, name)
        elif not layer.merges and out == shape:
            self.flattened[name] = self.flattened[source]
        else:
            self.flattened[name] = None
        # a linear over the channels of a channels-last [H, W, C] is a 1x1 convolution, not the head
        if layer.fully_connected and (len(shape) == 1 or layouts[source][-1] != 0):
            if self.first is None or position < self.first_position:
                flat = self.flattened[source] if len(shape) == 1 else None
                self.first_position = position
                self.first = FirstLinear(name, layer_spec.index, shape[-1], flat and flat[0], flat and flat[1])


class _Notes:
    """What each valid layer says is worth a look (pixels never read, uneven 'same' padding)."""

    def __init__(self):
        self.found: list[Diagnostic] = []

    def step(self, layer_spec: LayerSpec, shape: Shape, out: Shape) -> None:
        layer = layer_spec.layer
        if layer.merges:
            return
        for field_name, note in layer.notes(layer_spec.cfg, shape, out):
            self.found.append(
                Diagnostic(
                    "note.layer",
                    f"layer {layer_spec.name!r} ({layer_spec.type_name}): {note}",
                    layer_spec.loc_of(field_name),
                    "warning",
                )
            )


class _Readers:
    """Who reads each tensor: the step (in the planning order) of its last reader."""

    def __init__(self):
        self.last: dict[str, int] = {}

    def step(self, step: int, layer_spec: LayerSpec) -> None:
        for source in layer_spec.inputs:
            self.last[source] = step


def _located(spec: Spec, layer_spec: LayerSpec, shapes: dict[str, Shape], exc: LayerError) -> SpecError:
    """A layer's error as the spec's: at its line (or field's), naming the layer, its inputs'
    shapes, a likely channels-last input, and the block call it met it in."""
    in_shapes = [shapes[source] for source in layer_spec.inputs]
    message = f"layer {layer_spec.name!r} ({layer_spec.type_name}): {exc.message}"
    for i, (source, source_shape) in enumerate(zip(layer_spec.inputs, in_shapes)):
        message = message.replace(f"\x00{i}\x00", f"{source!r} {fmt_shape(source_shape)}")
    shape = in_shapes[0] if in_shapes else ()
    if shape == spec.input_shape:
        message += _layout_hint(shape, layer_spec.layer.channels_last)
    if layer_spec.groups:  # the line is in the block; say which call met it
        call = layer_spec.groups[-1]
        message += f" (in {call.name!r}, the call at {call.loc.file}:{call.loc.line})"
    return SpecError([Diagnostic(exc.code, message, layer_spec.loc_of(exc.field))], spec.sources or spec.source)


def _totals(results: list[LayerResult]) -> Totals:
    params = trainable = buffers = macs = other_ops = 0
    for row in results:
        params += row.params
        trainable += row.trainable_params
        buffers += row.buffers
        macs += row.macs
        other_ops += row.other_ops
    return Totals(params, trainable, params - trainable, buffers, macs, other_ops)


def group_spans(layers: Sequence[LayerSpec], groups: Sequence[Group]) -> Iterator[tuple[int, int, int]]:
    """For each of `groups` (every group a layer is in): (the index of the group it is written in,
    or -1 at the top level; its first layer's position; the position after its last). A group's
    layers, its nested groups' included, are consecutive in `layers`.

    Linear: only where a layer's groups differ from the layer before's is anything looked up."""
    index = {id(group): k for k, group in enumerate(groups)}
    parents, firsts, stops = [-1] * len(groups), [-1] * len(groups), [-1] * len(groups)
    chain: tuple = ()
    for position, layer_spec in enumerate(layers):
        new = layer_spec.groups
        if new is chain:  # layers of one scope share their chain
            continue
        shared, most = 0, min(len(new), len(chain))
        while shared < most and new[shared] is chain[shared]:
            shared += 1
        for group in chain[shared:]:  # the groups the layer before ends
            stops[index[id(group)]] = position
        for level in range(shared, len(new)):  # the groups this layer begins
            k = index[id(new[level])]
            assert firsts[k] < 0, f"the layers of group {new[level].name!r} are not consecutive"
            parents[k], firsts[k] = index[id(new[level - 1])] if level else -1, position
        chain = new
    for group in chain:
        stops[index[id(group)]] = len(layers)
    return zip(parents, firsts, stops)


def _group_totals(spec: Spec, results: list[LayerResult], rows: dict[str, LayerResult]) -> tuple[GroupTotals, ...]:
    """Each group's subtotals, computed once for every renderer: differences of running sums."""
    groups = spec.groups
    if not groups:
        return ()
    trained, params, trained_params, buffers, macs, other_ops = (
        list(accumulate(column, initial=0))
        for column in (
            [1 if row.spec.trainable else 0 for row in results],
            [row.params for row in results],
            [row.trainable_params for row in results],
            [row.buffers for row in results],
            [row.macs for row in results],
            [row.other_ops for row in results],
        )
    )
    return tuple(
        [
            GroupTotals(
                group,
                groups[parent] if parent >= 0 else None,
                rows.get(group.output),
                first,
                stop,
                trained[stop] - trained[first],
                params[stop] - params[first],
                trained_params[stop] - trained_params[first],
                buffers[stop] - buffers[first],
                macs[stop] - macs[first],
                other_ops[stop] - other_ops[first],
            )
            for group, (parent, first, stop) in zip(groups, group_spans(spec.layers, groups))
        ]
    )


def _in_place_hazards(spec: Spec, shapes: dict[str, Shape]) -> list[Diagnostic]:
    """In-place layers overwrite their input's storage (shared with views of it): later readers
    of the old values see the new ones, and anything saved for backward is spoiled.

    Linear in the layers (n log n): a chain of in-place layers would otherwise compare each
    with every layer before it."""
    writes = [p for p in spec.order if spec.layers[p].cfg.get("inplace")]
    if not writes:
        return []
    step_of = {**dict.fromkeys(spec.inputs, -1), **{spec.layers[p].name: step for step, p in enumerate(spec.order)}}
    root = {name: name for name in spec.inputs}  # the tensor whose storage a tensor shares
    for position in spec.order:
        layer_spec = spec.layers[position]
        aliases = not layer_spec.layer.merges and layer_spec.layer.output_aliases_input(layer_spec.cfg, training=False)
        root[layer_spec.name] = root[layer_spec.inputs[0]] if aliases else layer_spec.name
    later = _stale_readers(spec, root, step_of, writes)
    saved = _stale_savers(spec, shapes, root, step_of, writes)
    return [note for note in (_hazard_note(spec.layers[p], later[p], saved[p]) for p in writes) if note is not None]


def _hazard_note(
    layer_spec: LayerSpec, later: tuple[list[str], int], saved: tuple[list[str], int]
) -> Diagnostic | None:
    """The note on an in-place layer whose overwritten input is read later or saved for backward."""
    problems = []
    names, count = later
    if count:
        one = "s" if count == 1 else ""
        problems.append(f"{_names(names, count)} read{one} it later and see{one} the new values")
    names, count = saved
    if count:
        problems.append(
            f"{_names(names, count)} saved it for backward, so training fails ('modified by an inplace operation')"
        )
    if not problems:
        return None
    return Diagnostic(
        "note.in-place",
        f"layer {layer_spec.name!r} ({layer_spec.type_name}) overwrites {layer_spec.inputs[0]!r} in place: "
        + "; ".join(problems)
        + " (set inplace: false)",
        layer_spec.loc_of("inplace"),
        "warning",
    )


def _stale_readers(spec: Spec, root: dict, step_of: dict, writes: list[int]) -> dict[int, tuple[list[str], int]]:
    """For each in-place layer: the first layers (by position) that run after it and read a tensor
    of the storage it overwrites made before it, and how many there are.

    A reader R of storage T is stale for a write at step s when (first step of its inputs in T)
    < s < (R's step): an interval. Each layer's inputs are looked at once, and only storages
    that are written in place are indexed; then one sweep per storage over its writes."""
    writes_on: dict[str, list[int]] = {}
    for position in writes:  # already in step order
        writes_on.setdefault(root[spec.layers[position].inputs[0]], []).append(position)
    intervals: dict[str, dict[int, tuple[int, int, str]]] = {}  # storage -> position -> (from, to, name)
    for position, layer_spec in enumerate(spec.layers):
        for source in layer_spec.inputs:
            storage = root[source]
            if storage not in writes_on:
                continue
            by_reader = intervals.setdefault(storage, {})
            start = min(step_of[source], by_reader.get(position, (step_of[source],))[0])
            by_reader[position] = (start, step_of[layer_spec.name], layer_spec.name)
    answers: dict[int, tuple[list[str], int]] = {}
    for storage, positions in writes_on.items():
        readers = sorted((start, end, p, name) for p, (start, end, name) in intervals.get(storage, {}).items())
        answers.update(_sweep(readers, [(p, step_of[spec.layers[p].name]) for p in positions]))
    return answers


def _sweep(readers: list[tuple[int, int, int, str]], writes: list[tuple[int, int]]):
    """For each (position, step) of `writes`, in step order: the first few `readers` (start, end,
    position, name; sorted) whose interval holds the step, by position, and how many there are."""
    import heapq
    from bisect import bisect_left, bisect_right

    starts, ends = [r[0] for r in readers], sorted(r[1] for r in readers)
    heap: list[tuple[int, int, str]] = []  # (position, end, name) of readers whose interval has begun
    added = 0
    for write, step in writes:
        while added < len(readers) and readers[added][0] < step:
            start, end, position, name = readers[added]
            heapq.heappush(heap, (position, end, name))
            added += 1
        count = bisect_left(starts, step) - bisect_right(ends, step)
        shown = []
        while heap and len(shown) < _NAMED:
            item = heapq.heappop(heap)
            if item[1] > step:  # still to run; an ended interval never begins again
                shown.append(item)
        for item in shown:
            heapq.heappush(heap, item)
        yield write, ([item[2] for item in shown], count)


def _stale_savers(spec: Spec, shapes, root: dict, step_of: dict, writes: list[int]) -> dict[int, tuple[list[str], int]]:
    """For each in-place layer: the first layers (by position) that ran before it and saved for
    backward a tensor of the storage it overwrites, and how many there are."""
    written = {root[spec.layers[write].inputs[0]] for write in writes}
    savers: dict[str, list[tuple[int, int, str]]] = {}  # storage -> (step, position, name)
    for position in spec.order:
        other = spec.layers[position]
        if root[other.name] not in written and not any(root[source] in written for source in other.inputs):
            continue  # it holds no storage that is overwritten: what it saves does not matter
        items = other.layer.saved_for_backward_of(other.cfg, [shapes[i] for i in other.inputs], shapes[other.name])
        tensors = {other.name if item.what == "output" else other.inputs[item.position] for item in items}
        for storage in {root[tensor] for tensor in tensors}:
            savers.setdefault(storage, []).append((step_of[other.name], position, other.name))
    answers: dict[int, tuple[list[str], int]] = {}
    progress: dict[str, tuple[int, list[tuple[int, str]]]] = {}  # storage -> (savers seen, first by position)
    for write in writes:  # in step order: the savers before each write are a growing prefix
        storage, step = root[spec.layers[write].inputs[0]], step_of[spec.layers[write].name]
        found = savers.get(storage, [])
        seen, first = progress.get(storage, (0, []))
        while seen < len(found) and found[seen][0] < step:
            first = sorted([*first, found[seen][1:]])[:_NAMED]
            seen += 1
        progress[storage] = (seen, first)
        answers[write] = ([name for _, name in first], seen)
    return answers


def _unread_outputs(spec: Spec, last_read: dict[str, int]) -> list[Diagnostic]:
    """A layer nothing reads is computed for nothing: the network returns its last layer, or the
    layers `outputs:` lists."""
    returned = set(spec.outputs) or {spec.layers[-1].name}
    what = (
        f"the network's outputs are {', '.join(map(repr, spec.outputs))}"
        if len(spec.outputs) > 1
        else f"the network's output is {'the last layer, ' if not spec.outputs else ''}{next(iter(returned))!r}"
    )
    return [
        Diagnostic(
            "note.unread",
            f"layer {layer_spec.name!r} ({layer_spec.type_name}): nothing reads its output, and {what}",
            layer_spec.loc,
            "warning",
        )
        for layer_spec in spec.layers
        if layer_spec.name not in last_read and layer_spec.name not in returned
    ]


def _names(names: list[str], count: int) -> str:
    """'a', 'b', 'c' and 3,996 more: the first few of `count` layers."""
    shown = ", ".join(repr(name) for name in names)
    return shown if count <= len(names) else f"{shown} and {count - len(names):,} more"


def _folded(warnings: list[Diagnostic]) -> list[Diagnostic]:
    """One note per kind and place: a line of a block meets the same note in every call."""
    by_place: dict[tuple, list[Diagnostic]] = {}
    for warning in warnings:
        by_place.setdefault((warning.code, warning.loc), []).append(warning)
    folded = []
    for same in by_place.values():
        first = same[0]
        if len(same) > 1:
            first = replace(first, message=f"{first.message} (and {len(same) - 1:,} more calls of this line)")
        folded.append(first)
    return folded


def _joined_field(fields: list[ReceptiveField | None]) -> ReceptiveField | None:
    """The field where branches meet: the largest of them, if they are aligned.

    Aligned (as in the Distill article's library) means the same effective stride and the
    same centre, (size - 1) / 2 - padding, on every branch; otherwise no single window
    describes what an output pixel sees, and the field is None.
    """
    if any(f is None for f in fields):
        return None
    rank = len(fields[0].size)
    for axis in range(rank):
        strides = {f.stride[axis] for f in fields}
        centres = {(f.size[axis] - 1) / 2 - f.padding[axis] for f in fields}
        if len(strides) > 1 or len(centres) > 1:
            return None
    widest = [max(fields, key=lambda f: f.size[axis]) for axis in range(rank)]
    return ReceptiveField(
        tuple(f.size[axis] for axis, f in enumerate(widest)),
        tuple(f.stride[axis] for axis, f in enumerate(widest)),
        tuple(f.padding[axis] for axis, f in enumerate(widest)),
    )


def _layout_notes(spec: Spec) -> list[Diagnostic]:
    """A note when the (first) input reads like the other convention's image: [32, 32, 3] in a
    PyTorch spec plans, as 32 channels of 32 x 3, and gives numbers the author did not mean."""
    channels_last = CONVENTIONS[spec.convention].channels_last
    meant = _other_order(spec.input_shape, channels_last)
    if meant is None:
        return []
    if channels_last:
        message = (
            f"input {fmt_shape(spec.input_shape)} reads like a channels-first image (PyTorch's order); "
            f"the Keras convention takes [H, W, C]: {fmt_shape(meant)}"
        )
    else:
        message = (
            f"input {fmt_shape(spec.input_shape)} reads like a channels-last image (Keras's order); the "
            f"PyTorch convention takes [C, H, W]: {fmt_shape(meant)}, or add `convention: keras` to a spec "
            f"written in Keras's words"
        )
    return [Diagnostic("note.layout", message, spec.input_loc, "warning")]


def _layout_hint(shape: Shape, channels_last: bool) -> str:
    """For an error on the input: what was probably meant, if the input reads like the other
    convention's image."""
    meant = _other_order(shape, channels_last)
    if meant is None:
        return ""
    order = "channels last, [H, W, C]" if channels_last else "channels first, [C, H, W]"
    convention = "the Keras convention's input" if channels_last else "the input"
    return f"; {convention} is {order}: did you mean {fmt_shape(meant)}?"


def _other_order(shape: Shape, channels_last: bool) -> Shape | None:
    """[224, 224, 3] read as [C, H, W] (or [3, 224, 224] read as [H, W, C]): the same image in
    the convention's order; None for a shape that does not read like that."""
    if len(shape) != 3:
        return None
    if not channels_last and shape[2] in (1, 3, 4) and shape[0] > 4 and shape[1] > 4:
        return (shape[2], shape[0], shape[1])
    if channels_last and shape[0] in (1, 3, 4) and shape[1] > 4 and shape[2] > 4:
        return (shape[1], shape[2], shape[0])
    return None


def _rank_message(layer_spec: LayerSpec, shape: Shape, input_shape: Shape) -> str:
    rank = layer_spec.layer.input_rank
    names = _RANK_NAMES_LAST if layer_spec.layer.channels_last else _RANK_NAMES
    message = f"needs a {names.get(rank, f'{rank}-axis')} input but gets {fmt_shape(shape)}"
    if layer_spec.layer.channels_last:
        message += f" (Keras: expected ndim={rank + 1}, found ndim={len(shape) + 1}, the batch counted)"
    if len(shape) < rank <= len(input_shape):
        message += "; spatial layers must come before `flatten` and global pooling"
    elif len(input_shape) < rank:
        message += f"; the spec's input is {fmt_shape(input_shape)}"
    return message
