"""The planner: propagate shapes through a spec and count what each layer holds.

Pure: it returns a Plan or raises SpecError, and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.errors import Diagnostic, LayerError, SpecError
from cnncalc.layers.base import NEUTRAL, UNDEFINED, Shape, fmt_shape
from cnncalc.spec import LayerSpec, Spec

_RANK_NAMES = {1: "[features]", 2: "[channels, length]", 3: "[channels, height, width]"}


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

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape if self.layers else self.input_shape


def plan(spec: Spec) -> Plan:
    """Propagate shapes layer by layer; the first impossible layer raises SpecError."""
    results: list[LayerResult] = []
    shape = spec.input_shape
    field = INPUT_FIELD if len(shape) == 3 else None
    flattened: tuple[Shape, str] | None = None
    first_linear: FirstLinear | None = None
    for layer_spec in spec.layers:
        layer, cfg = layer_spec.layer, layer_spec.cfg
        try:
            if layer.input_rank is not None and len(shape) != layer.input_rank:
                raise LayerError(_rank_message(layer_spec, shape, spec.input_shape), code="shape.rank")
            out = layer.output_shape(cfg, shape)
            params = layer.params(cfg, shape, out)
            buffers = layer.buffers(cfg, shape, out)
            macs = layer.macs(cfg, shape, out)
            other_ops = layer.other_ops(cfg, shape, out)
            window = layer.receptive_window(cfg, shape) if field is not None else UNDEFINED
        except LayerError as exc:
            message = f"layer {layer_spec.name!r} ({layer_spec.type_name}): {exc.message}"
            if shape == spec.input_shape and _looks_channels_last(shape):
                c, h, w = shape
                message += f"; the input is channels first, [C, H, W]: did you mean [{w}, {c}, {h}]?"
            raise SpecError([Diagnostic(exc.code, message, layer_spec.loc_of(exc.field))], spec.source) from None
        if len(out) == 1 and len(shape) > 1:
            # a flatten keeps every value; a global pool does not, and derives nothing
            flattened = (shape, layer_spec.name) if layer.flattens else None
        if first_linear is None and layer_spec.type_name == "linear":
            first_linear = FirstLinear(
                layer_spec.name,
                layer_spec.index,
                shape[-1],
                flattened[0] if flattened and len(shape) == 1 else None,
                flattened[1] if flattened and len(shape) == 1 else None,
            )
        if window == UNDEFINED:
            field = None
        elif window != NEUTRAL:
            field = field.through(window)
        results.append(LayerResult(layer_spec, shape, out, params, buffers, macs, other_ops, field))
        shape = out
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
    return Plan(spec.name, spec.description, spec.input_shape, results, totals, first_linear)


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
