"""`cnncalc explain`: each layer's numbers with the arithmetic that gives them.

The layer types write their own steps (LayerType.explain: output size per axis, padding, params,
MACs); this adds what the engine works out for every type: the shape a type keeps, its
parameters where it has no formula of its own, the receptive field through its window, what
it keeps for backward, and the first fully connected layer's input. Pure: it returns Explained
records; cnncalc/render/explain.py writes them.
"""

from __future__ import annotations

from cnncalc.engine import LayerResult, Plan, input_field
from cnncalc.errors import Frozen
from cnncalc.layers.arithmetic import Step, n, short
from cnncalc.layers.base import NEUTRAL, UNDEFINED, axes_of, fmt_shape
from cnncalc.memory import Memory

_set = object.__setattr__


class Explained(Frozen):
    """One layer and its steps."""

    __slots__ = ("row", "steps")
    row: LayerResult
    steps: tuple[Step, ...]

    def __init__(self, row: LayerResult, steps: tuple[Step, ...]):
        _set(self, "row", row)
        _set(self, "steps", steps)


def explain(plan: Plan, memory: Memory, names: set[str] | None = None) -> list[Explained]:
    """Every layer's steps, in the plan's order (only the layers in `names`, if given)."""
    fields = {name: input_field(shape) for name, shape in plan.input_shapes.items()}
    fields.update({row.name: row.receptive_field for row in plan.layers})
    shapes = {**plan.input_shapes, **{row.name: row.output_shape for row in plan.layers}}
    explained = []
    for position in plan.order:
        row = plan.layers[position]
        if names is not None and row.name not in names:
            continue
        steps = [*_own_steps(row, shapes), *_field_steps(row, fields), *_saved_steps(row, memory, position)]
        steps = _merged(steps)
        first = plan.first_linear
        if first is not None and first.name == row.name and first.flattened_shape is not None:
            flattened = " × ".join(n(size) for size in first.flattened_shape)
            steps.append(Step("in_features", "the flattened input's size", flattened, first.in_features))
        explained.append(Explained(row, tuple(steps)))
    return explained


def _own_steps(row: LayerResult, shapes: dict) -> list[Step]:
    """The type's steps; where it has none for the shape or the parameters, the plain facts."""
    spec = row.spec
    steps = list(spec.layer.explain_of(spec.cfg, [shapes[source] for source in spec.inputs] or [()], row.output_shape))
    said = {step.what for step in steps}
    if not steps:
        if row.output_shape == row.input_shape:
            steps.append(Step("shape", "kept", fmt_shape(row.input_shape), fmt_shape(row.output_shape)))
        else:
            shapes = f"{fmt_shape(row.input_shape)} -> {fmt_shape(row.output_shape)}"
            steps.append(Step("shape", f"as {spec.type_name} computes it", "", shapes))
    if "params" not in said and row.params:
        steps.append(Step("params", f"as {spec.type_name} counts them", n(row.params), row.params))
    frozen = row.params - row.trainable_params
    if frozen and row.trainable:
        steps.append(Step("non-trainable", "of those, no gradient updates", n(frozen), frozen))
    if "MACs" not in said and row.macs:
        steps.append(Step("MACs", f"as {spec.type_name} counts them", n(row.macs), row.macs))
    return steps


def _field_steps(row: LayerResult, fields: dict) -> list[Step]:
    """The receptive field through the layer's window, per axis: size r + (k − 1)·j, the
    distance between neighbouring outputs j·s (in input pixels)."""
    spec, field = row.spec, row.receptive_field
    source = fields.get(spec.inputs[0]) if len(spec.inputs) == 1 else None
    if field is None or source is None:
        return []
    window = spec.layer.receptive_window(spec.cfg, row.input_shape)
    if window in (NEUTRAL, UNDEFINED) or len(window) != len(field.size):
        return []
    steps = []
    for axis, (k, s, _), r, j, size, jump in zip(
        axes_of(len(window)), window, source.size, source.stride, field.size, field.stride
    ):
        apart = f"{jump} input position{'s' if jump != 1 else ''} apart"
        formula = (
            f"r_in + (window − 1)·j_in, window = dilation·(kernel − 1) + 1; outputs j_in·stride = {j}·{s} = {apart}"
        )
        steps.append(Step(f"RF ({short(axis)})", formula, f"{n(r)} + ({k} − 1)·{j}", size))
    return steps


def _saved_steps(row: LayerResult, memory: Memory, position: int) -> list[Step]:
    saved = memory.layer_saved_bytes[position]
    if not saved:
        return []
    what = f"bytes autograd keeps for backward, at batch {memory.batch_size}, {memory.dtype}"
    return [Step("saved", what, "", saved)]


def _merged(steps: list[Step]) -> list[Step]:
    """Axes that work out the same, one step: `height, width: 50 + 2·1 − (3 − 1) = 50`."""
    merged: list[Step] = []
    for step in steps:
        last = merged[-1] if merged else None
        same = last is not None and (last.formula, last.numbers, last.value) == (step.formula, step.numbers, step.value)
        if same and _axis_of(step.what) and _axis_of(last.what):
            merged[-1] = Step(_joined(last.what, step.what), step.formula, step.numbers, step.value)
        else:
            merged.append(step)
    return merged


def _axis_of(what: str) -> bool:
    return what in ("depth", "height", "width", "length") or what.startswith("RF (") or "," in what


def _joined(first: str, second: str) -> str:
    """height + width -> "height, width"; RF (h) + RF (w) -> "RF (h, w)"."""
    if second.startswith("RF ("):
        return f"{first[:-1]}, {second[4:]}"
    return f"{first}, {second}"
