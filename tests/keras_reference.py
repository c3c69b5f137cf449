"""Keras 3 itself, on its torch backend, as the reference for the Keras convention: a plan is
exported (cnncalc export --to keras), the script is run, and the model Keras builds is measured
(each layer's output shape, count_params() and non-trainable weights; the totals as
model.summary() prints them; MACs by torch.utils.flop_counter around a call)."""

from __future__ import annotations

import os

import pytest

from cnncalc.export.keras import keras_names, to_keras


def require_keras():
    """Import Keras on its torch backend, or skip; CI (CNNCALC_REQUIRE_TORCH=1) fails instead."""
    os.environ["KERAS_BACKEND"] = "torch"
    if os.environ.get("CNNCALC_REQUIRE_TORCH"):
        import keras  # noqa: F401  (fail loudly)
    return pytest.importorskip("keras")


def build_keras(plan):
    """The keras.Model the plan's Keras export builds."""
    require_keras()
    namespace: dict = {"__name__": "exported_keras"}
    exec(compile(to_keras(plan), "exported_keras.py", "exec"), namespace)
    return namespace["build_model"]()


def _size(weights) -> int:
    total = 0
    for weight in weights:
        count = 1
        for n in weight.shape:
            count *= int(n)
        total += count
    return total


def measure(plan, model=None) -> dict:
    """{layer name: (output shape, params, non-trainable params)} and the totals, from Keras."""
    model = model if model is not None else build_keras(plan)
    names = keras_names(plan)
    layers = {}
    for row in plan.layers:
        layer = model.get_layer(names[row.name])
        layers[row.name] = (tuple(layer.output.shape[1:]), layer.count_params(), _size(layer.non_trainable_weights))
    totals = (model.count_params(), _size(model.trainable_weights), _size(model.non_trainable_weights))
    return {"layers": layers, "totals": totals}


def planned(plan) -> dict:
    """The same numbers from cnncalc's plan."""
    layers = {row.name: (row.output_shape, row.params, row.params - row.trainable_params) for row in plan.layers}
    totals = plan.totals
    return {"layers": layers, "totals": (totals.params, totals.trainable_params, totals.non_trainable_params)}


def macs(plan, model=None) -> int:
    """The model's MACs per sample: torch.utils.flop_counter's count / 2 around a call on the
    torch backend (each Keras layer is a torch module there)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = model if model is not None else build_keras(plan)
    inputs = [torch.zeros(1, *shape) for shape in plan.input_shapes.values()]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(inputs if len(inputs) > 1 else inputs[0])
    return counter.get_total_flops() // 2


def refused_by_keras(plan_text_layer: dict, in_shape) -> str | None:
    """Keras's error building one layer on `in_shape` (None if it builds)."""
    keras = require_keras()
    config = {k: (tuple(v) if isinstance(v, list) else v) for k, v in plan_text_layer.items() if k != "type"}
    for key in ("padding", "cropping"):
        if isinstance(config.get(key), tuple) and config[key] and isinstance(config[key][0], list):
            config[key] = tuple(tuple(pair) for pair in config[key])
    try:
        layer = getattr(keras.layers, plan_text_layer["type"])(**config)
        layer(keras.Input(tuple(in_shape)))
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None
