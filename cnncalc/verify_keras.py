"""Prove a Keras-convention plan with Keras itself: build the Keras export, compare layer by layer.

Each layer's output shape, count_params() and non-trainable weights, and the model's totals; on
Keras's torch backend also each layer's MACs, as torch.utils.flop_counter counts a call of the
layer alone (other backends have no such counter: MACs are then left out). Needs Keras 3
(`pip install keras`), imported only when verify runs.
"""

from __future__ import annotations

from cnncalc.engine import Plan
from cnncalc.export.keras import keras_names, to_keras
from cnncalc.verify import Comparison


class KerasMissing(Exception):
    """Keras 3 cannot be imported: the message says why and what to install."""


class KerasRefused(Exception):
    """Keras itself refuses to build the exported model; the message is Keras's first line."""


def verify_keras(plan: Plan) -> tuple[list[Comparison], str]:
    """(each layer's planned numbers next to Keras's, then the whole model's; "3.x (torch
    backend)") as (output shape, params, non-trainable params, MACs or None)."""
    keras = _import_keras()
    namespace: dict = {"__name__": "cnncalc_keras_export"}
    try:
        exec(compile(to_keras(plan), "<cnncalc keras export>", "exec"), namespace)  # cnncalc's own code
        model = namespace["build_model"]()
    except (ValueError, TypeError, RuntimeError) as exc:
        raise KerasRefused(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from None
    backend = keras.backend.backend()
    counter = _MacCounter(plan) if backend == "torch" else None
    names = keras_names(plan)
    comparisons = []
    for row in plan.layers:
        layer = model.get_layer(names[row.name])
        measured = (
            tuple(layer.output.shape[1:]),
            layer.count_params(),
            _size(layer.non_trainable_weights),
            counter.layer(layer, row) if counter else None,
        )
        planned = (row.output_shape, row.params, row.params - row.trainable_params, row.macs if counter else None)
        comparisons.append(Comparison(row.name, row.type_name, planned, measured))
    comparisons.append(_whole(plan, model, counter))
    return comparisons, f"{keras.__version__} ({backend} backend)"


def _import_keras():
    try:
        import keras
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and missing != "keras":  # Keras is there, its backend is not
            raise KerasMissing(
                f"Keras's backend, {missing}, is not installed: install it, or run Keras on PyTorch "
                f"with KERAS_BACKEND=torch"
            ) from None
        raise KerasMissing("this needs Keras 3; install it with: pip install keras") from None
    if not hasattr(keras, "version") or not keras.version().startswith("3"):
        raise KerasMissing(f"this needs Keras 3, but Keras {getattr(keras, '__version__', '?')} is installed")
    return keras


def _size(weights) -> int:
    total = 0
    for weight in weights:
        count = 1
        for n in weight.shape:
            count *= int(n)
        total += count
    return total


def _whole(plan: Plan, model, counter) -> Comparison:
    outputs = model.outputs
    shapes = tuple(tuple(output.shape[1:]) for output in outputs)
    planned_shapes = tuple(tuple(shape) for shape in plan.output_shapes.values())
    totals = plan.totals
    planned = (
        planned_shapes if len(planned_shapes) > 1 else planned_shapes[0],
        totals.params,
        totals.non_trainable_params,
        totals.macs if counter else None,
    )
    measured = (
        shapes if len(shapes) > 1 else shapes[0],
        model.count_params(),
        _size(model.non_trainable_weights),
        counter.model(model) if counter else None,
    )
    return Comparison("model", "the whole keras.Model", planned, measured, kind="forward")


class _MacCounter:
    """MACs on Keras's torch backend: torch.utils.flop_counter's count / 2 around a call on zeros."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.shapes = {**plan.input_shapes, **{row.name: row.output_shape for row in plan.layers}}

    def layer(self, layer, row) -> int:
        inputs = [self.zeros(self.shapes[source]) for source in row.spec.inputs]
        return self.count(layer, inputs if row.spec.layer.merges else inputs[0])

    def model(self, model) -> int:
        inputs = [self.zeros(shape) for shape in self.plan.input_shapes.values()]
        return self.count(model, inputs if len(inputs) > 1 else inputs[0])

    @staticmethod
    def zeros(shape):
        import torch

        return torch.zeros(1, *shape)

    @staticmethod
    def count(callable_, inputs) -> int:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            callable_(inputs)
        return counter.get_total_flops() // 2
