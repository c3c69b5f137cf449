"""The planner: propagate shapes through a spec and count what each layer holds.

Pure: it returns a Plan or raises SpecError, and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnncalc.errors import Diagnostic, LayerError, SpecError
from cnncalc.layers.base import NEUTRAL, UNDEFINED, Shape, fmt_shape
from cnncalc.spec import NETWORK_INPUT, LayerSpec, Spec

_RANK_NAMES = {1: "[features]", 2: "[channels, length]", 3: "[channels, height, width]"}
_NAMED = 3  # a note names at most this many layers, and counts the rest


@dataclass(frozen=True)
class ReceptiveField:
    """What one output pixel sees, per axis (height, width), in input pixels.

    size: the window's extent; stride: the distance in the input between
    neighbouring outputs; padding: how far the first window starts before the
    input's first pixel. Output pixel y sees input [y*stride - padding, ... + size - 1].
    """

    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    def through(self, windows) -> ReceptiveField:
        """The field after a layer with these (kernel, stride, padding) windows per axis."""
        axes = [
            (r + (k - 1) * j, j * s, p0 + p * j)
            for (r, j, p0), (k, s, p) in zip(zip(self.size, self.stride, self.padding), windows)
        ]
        return ReceptiveField(*(tuple(values) for values in zip(*axes)))


INPUT_FIELD = ReceptiveField((1, 1), (1, 1), (0, 0))


@dataclass(frozen=True)
class LayerResult:
    spec: LayerSpec
    input_shape: Shape
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    other_ops: int
    receptive_field: ReceptiveField | None  # None once outputs no longer map to input windows

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
        return self.params if self.spec.trainable else 0

    @property
    def config(self) -> dict:
        """The config as planned: inferred sizes and input-dependent defaults filled in."""
        return self.spec.layer.resolved_config(self.spec.cfg, self.input_shape)


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    macs: int
    other_ops: int

    @property
    def flops(self) -> int:
        return 2 * self.macs  # a multiply-accumulate is two floating-point operations


@dataclass(frozen=True)
class FirstLinear:
    """The first fully connected layer, and where its in_features come from."""

    name: str
    index: int
    in_features: int
    flattened_shape: Shape | None  # what the flatten before it collapsed, if any
    flattened_by: str | None

    def derivation(self) -> str:
        """'64 x 12 x 12 = 9,216', or just '9,216' when nothing was flattened."""
        if self.flattened_shape and len(self.flattened_shape) > 1:
            return " x ".join(str(d) for d in self.flattened_shape) + f" = {self.in_features:,}"
        return f"{self.in_features:,}"


@dataclass(frozen=True)
class Plan:
    name: str
    description: str | None
    input_shape: Shape
    layers: list[LayerResult]
    totals: Totals
    first_linear: FirstLinear | None
    order: tuple[int, ...] = ()  # positions in `layers`, each after its inputs
    warnings: tuple[Diagnostic, ...] = ()  # valid, but worth a look: pixels never read, ...
    spec: Spec | None = None  # the spec planned: its blocks and groups, for the export and the table

    @property
    def groups(self) -> tuple:
        return self.spec.groups if self.spec is not None else ()

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape if self.layers else self.input_shape


def plan(spec: Spec) -> Plan:
    """Propagate shapes through the layers, each after its inputs; the first impossible layer raises SpecError."""
    shapes: dict[str, Shape] = {NETWORK_INPUT: spec.input_shape}
    fields: dict[str, ReceptiveField | None] = {NETWORK_INPUT: INPUT_FIELD if len(spec.input_shape) == 3 else None}
    # for a tensor that is a flatten's output (perhaps through shape-neutral layers): what was flattened
    flattened: dict[str, tuple[Shape, str] | None] = {NETWORK_INPUT: None}
    # each tensor's axes as the input's axes they came from: (0, 1, 2) for [C, H, W], (1, 2, 0)
    # after a permute to channels-last, where a linear or layer norm works per pixel
    layouts: dict[str, tuple[int, ...]] = {NETWORK_INPUT: tuple(range(len(spec.input_shape)))}
    rows: dict[int, LayerResult] = {}
    warnings: list[Diagnostic] = []
    for position in spec.order:
        layer_spec = spec.layers[position]
        layer, cfg, name = layer_spec.layer, layer_spec.cfg, layer_spec.name
        in_shapes = [shapes[source] for source in layer_spec.inputs]
        shape = in_shapes[0]
        try:
            for source_shape in in_shapes:
                if layer.input_rank is not None and len(source_shape) != layer.input_rank:
                    raise LayerError(_rank_message(layer_spec, source_shape, spec.input_shape), code="shape.rank")
            out = layer.output_shape_of(cfg, in_shapes)
            params = layer.params(cfg, shape, out)
            buffers = layer.buffers(cfg, shape, out)
            macs = layer.macs(cfg, shape, out)
            other_ops = layer.other_ops_of(cfg, in_shapes, out)
            layout = layouts[layer_spec.inputs[0]]
            if layer.merges:
                joined = layer.keeps_receptive_field(cfg, out)
                aligned = len({layouts[source] for source in layer_spec.inputs}) == 1
                field = _joined_field([fields[source] for source in layer_spec.inputs]) if joined and aligned else None
            else:
                field = fields[layer_spec.inputs[0]]
                window = layer.receptive_window(cfg, shape) if field is not None else UNDEFINED
                if layout != tuple(range(len(layout))):  # permuted: windows are over the wrong axes
                    per_pixel = layer.acts_on_last_axis(cfg, shape) and layout[-1] == 0
                    window = NEUTRAL if per_pixel or window == NEUTRAL else UNDEFINED
                field = None if window == UNDEFINED else field if window == NEUTRAL else field.through(window)
                layout = layer.reordered_axes(cfg, layout)
            if len(out) != len(layout):
                layout = tuple(range(len(out)))
        except LayerError as exc:
            message = f"layer {name!r} ({layer_spec.type_name}): {exc.message}"
            for i, (source, source_shape) in enumerate(zip(layer_spec.inputs, in_shapes)):
                message = message.replace(f"\x00{i}\x00", f"{source!r} {fmt_shape(source_shape)}")
            if shape == spec.input_shape and _looks_channels_last(shape):
                c, h, w = shape
                message += f"; the input is channels first, [C, H, W]: did you mean [{w}, {c}, {h}]?"
            if layer_spec.groups:  # the line is in the block; say which call met it
                call = layer_spec.groups[-1]
                message += f" (in {call.name!r}, the call at {call.loc.file}:{call.loc.line})"
            raise SpecError(
                [Diagnostic(exc.code, message, layer_spec.loc_of(exc.field))], spec.sources or spec.source
            ) from None
        shapes[name], fields[name], layouts[name] = out, field, layout
        for field_name, note in layer.notes(cfg, shape, out) if not layer.merges else ():
            warnings.append(
                Diagnostic(
                    "note.layer",
                    f"layer {name!r} ({layer_spec.type_name}): {note}",
                    layer_spec.loc_of(field_name),
                    "warning",
                )
            )
        if layer.flattens and len(out) == 1 and len(shape) > 1:
            flattened[name] = (shape, name)
        elif not layer.merges and out == shape:
            flattened[name] = flattened[layer_spec.inputs[0]]
        else:
            flattened[name] = None
        rows[position] = LayerResult(layer_spec, shape, out, params, buffers, macs, other_ops, field)
    results = [rows[position] for position in range(len(spec.layers))]
    first_linear = None
    for row in results:
        # a linear over the channels of a channels-last [H, W, C] is a 1x1 convolution, not the head
        if row.type_name == "linear" and (len(row.input_shape) == 1 or layouts[row.spec.inputs[0]][-1] != 0):
            source = flattened[row.spec.inputs[0]] if len(row.input_shape) == 1 else None
            first_linear = FirstLinear(
                row.name, row.spec.index, row.input_shape[-1], source and source[0], source and source[1]
            )
            break
    params = sum(r.params for r in results)
    trainable = sum(r.trainable_params for r in results)
    totals = Totals(
        params,
        trainable,
        params - trainable,
        sum(r.buffers for r in results),
        sum(r.macs for r in results),
        sum(r.other_ops for r in results),
    )
    warnings += _in_place_hazards(spec, shapes) + _unread_outputs(spec)
    warnings.sort(key=lambda d: (d.loc.line, d.loc.column))
    warnings = _folded(warnings)
    return Plan(
        spec.name,
        spec.description,
        spec.input_shape,
        results,
        totals,
        first_linear,
        spec.order,
        tuple(warnings),
        spec,
    )


def _in_place_hazards(spec: Spec, shapes: dict[str, Shape]) -> list[Diagnostic]:
    """In-place layers overwrite their input's storage (shared with views of it): later readers
    of the old values see the new ones, and anything saved for backward is spoiled.

    Linear in the layers (n log n): a chain of in-place layers would otherwise compare each
    with every layer before it."""
    step_of = {NETWORK_INPUT: -1, **{spec.layers[p].name: step for step, p in enumerate(spec.order)}}
    root = {NETWORK_INPUT: NETWORK_INPUT}  # the tensor whose storage a tensor shares
    for position in spec.order:
        layer_spec = spec.layers[position]
        aliases = not layer_spec.layer.merges and layer_spec.layer.output_aliases_input(layer_spec.cfg, training=False)
        root[layer_spec.name] = root[layer_spec.inputs[0]] if aliases else layer_spec.name
    writes = [p for p in spec.order if spec.layers[p].cfg.get("inplace")]
    if not writes:
        return []
    later = _stale_readers(spec, root, step_of, writes)
    saved = _stale_savers(spec, shapes, root, step_of, writes)
    found = []
    for position in writes:
        layer_spec = spec.layers[position]
        problems = []
        names, count = later[position]
        if count:
            one = "s" if count == 1 else ""
            problems.append(f"{_names(names, count)} read{one} it later and see{one} the new values")
        names, count = saved[position]
        if count:
            problems.append(
                f"{_names(names, count)} saved it for backward, so training fails ('modified by an inplace operation')"
            )
        if problems:
            found.append(
                Diagnostic(
                    "note.in-place",
                    f"layer {layer_spec.name!r} ({layer_spec.type_name}) overwrites {layer_spec.inputs[0]!r} in place: "
                    + "; ".join(problems)
                    + " (set inplace: false)",
                    layer_spec.loc_of("inplace"),
                    "warning",
                )
            )
    return found


def _stale_readers(spec: Spec, root: dict, step_of: dict, writes: list[int]) -> dict[int, tuple[list[str], int]]:
    """For each in-place layer: the first layers (by position) that run after it and read a tensor
    of the storage it overwrites made before it, and how many there are.

    A reader R of storage T is stale for a write at step s when (first step of its inputs in T)
    < s < (R's step): an interval; one sweep per storage over the writes in step order."""
    import heapq
    from bisect import bisect_left, bisect_right

    intervals: dict[str, dict[int, tuple[int, int, str]]] = {}  # storage -> position -> (from, to, name)
    for position, layer_spec in enumerate(spec.layers):
        for source in layer_spec.inputs:
            by_reader = intervals.setdefault(root[source], {})
            start = min(step_of[source], by_reader.get(position, (step_of[source],))[0])
            by_reader[position] = (start, step_of[layer_spec.name], layer_spec.name)
    answers: dict[int, tuple[list[str], int]] = {}
    writes_on: dict[str, list[int]] = {}
    for position in writes:  # already in step order
        writes_on.setdefault(root[spec.layers[position].inputs[0]], []).append(position)
    for storage, positions in writes_on.items():
        readers = sorted(
            (start, end, position, name) for position, (start, end, name) in intervals.get(storage, {}).items()
        )
        starts, ends = [r[0] for r in readers], sorted(r[1] for r in readers)
        heap: list[tuple[int, int, str]] = []  # (position, end, name) of readers whose interval has begun
        added = 0
        for write in positions:
            step = step_of[spec.layers[write].name]
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
            answers[write] = ([item[2] for item in shown], count)
    return answers


def _stale_savers(spec: Spec, shapes, root: dict, step_of: dict, writes: list[int]) -> dict[int, tuple[list[str], int]]:
    """For each in-place layer: the first layers (by position) that ran before it and saved for
    backward a tensor of the storage it overwrites, and how many there are."""
    savers: dict[str, list[tuple[int, int, str]]] = {}  # storage -> (step, position, name)
    for position in spec.order:
        other = spec.layers[position]
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


def _unread_outputs(spec: Spec) -> list[Diagnostic]:
    """A layer nothing reads is computed for nothing: the network's output is its last layer."""
    read = {source for layer_spec in spec.layers for source in layer_spec.inputs}
    last = spec.layers[-1].name
    return [
        Diagnostic(
            "note.unread",
            f"layer {layer_spec.name!r} ({layer_spec.type_name}): nothing reads its output, and the network's "
            f"output is the last layer, {last!r}",
            layer_spec.loc,
            "warning",
        )
        for layer_spec in spec.layers[:-1]
        if layer_spec.name not in read
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
    for axis in range(2):
        strides = {f.stride[axis] for f in fields}
        centres = {(f.size[axis] - 1) / 2 - f.padding[axis] for f in fields}
        if len(strides) > 1 or len(centres) > 1:
            return None
    widest = [max(fields, key=lambda f: f.size[axis]) for axis in range(2)]
    return ReceptiveField(
        (widest[0].size[0], widest[1].size[1]),
        (widest[0].stride[0], widest[1].stride[1]),
        (widest[0].padding[0], widest[1].padding[1]),
    )


def _looks_channels_last(shape: Shape) -> bool:
    """[28, 28, 1] or [224, 224, 3]: an image written height, width, channels (Keras order)."""
    return len(shape) == 3 and shape[2] in (1, 3, 4) and shape[0] > 4 and shape[1] > 4


def _rank_message(layer_spec: LayerSpec, shape: Shape, input_shape: Shape) -> str:
    rank = layer_spec.layer.input_rank
    message = f"needs a {_RANK_NAMES.get(rank, f'{rank}-axis')} input but gets {fmt_shape(shape)}"
    if len(shape) < rank <= len(input_shape):
        message += "; spatial layers must come before `flatten` and global pooling"
    elif len(input_shape) < rank:
        message += f"; the spec's input is {fmt_shape(input_shape)}"
    return message
