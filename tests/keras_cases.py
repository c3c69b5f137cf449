"""Helpers for the Keras layer tables: plan one layer in the Keras convention, and check it
against Keras 3 itself (tests/keras_reference.py)."""

from __future__ import annotations

import json

import pytest
from keras_reference import build_keras, macs, measure, planned, refused_by_keras

from cnncalc.engine import plan
from cnncalc.errors import CODES, SpecError
from cnncalc.spec import parse


def keras_spec(type_name: str, cfg: dict, in_shape) -> str:
    """A one-layer spec in the Keras convention, one field per line (JSON values are YAML)."""
    fields = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in cfg.items())
    return f"convention: keras\ninput: {json.dumps(list(in_shape))}\nlayers:\n  - type: {type_name}\n{fields}"


def check_keras_layer(type_name, cfg, in_shape, out_shape, params, non_trainable=0):
    """cnncalc gives the expected numbers, and Keras builds the same layer with them: output
    shape, count_params(), non-trainable weights, and (torch's flop counter) MACs."""
    result = plan(parse(keras_spec(type_name, cfg, in_shape), "case.yaml"))
    row = result.layers[0]
    assert (row.output_shape, row.params, row.params - row.trainable_params) == (
        tuple(out_shape),
        params,
        non_trainable,
    )
    model = build_keras(result)
    assert measure(result, model) == planned(result)
    assert macs(result, model) == result.totals.macs


def check_keras_refused(type_name, cfg, in_shape, fragment, *, at, code="shape.invalid"):
    """cnncalc refuses with one diagnostic containing `fragment`, at field `at` (its line), and
    Keras refuses to build the layer too."""
    assert code in CODES, code
    text = keras_spec(type_name, cfg, in_shape)
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "case.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert fragment in diagnostic.message, diagnostic.message
    line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f"    {at}:"))
    assert (diagnostic.code, diagnostic.loc.line) == (code, line), (diagnostic, text)
    assert refused_by_keras({"type": type_name, **cfg}, in_shape) is not None, "cnncalc refused what Keras accepts"
