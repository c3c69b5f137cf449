"""Helpers for the per-family layer tables: plan one layer, and check it against PyTorch."""

from __future__ import annotations

import pytest
import yaml
from torch_reference import run_torch

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import parse


def one_layer_spec(type_name: str, cfg: dict, in_shape) -> str:
    return yaml.safe_dump({"input": list(in_shape), "layers": [{"type": type_name, **cfg}]})


def plan_one(type_name: str, cfg: dict, in_shape):
    """The planned result for a single layer of `type_name` applied to `in_shape`."""
    return plan(parse(one_layer_spec(type_name, cfg, in_shape), "case.yaml")).layers[0]


def check_layer(type_name, cfg, in_shape, out_shape, params, buffers=0):
    """cnncalc gives the expected numbers, and PyTorch measures the same.

    buffers=None checks only that cnncalc's buffer count equals torch's.
    """
    text = one_layer_spec(type_name, cfg, in_shape)
    spec = parse(text, "case.yaml")
    row = plan(spec).layers[0]
    assert (row.output_shape, row.params) == (tuple(out_shape), params)
    measured, failure = run_torch(spec)
    assert failure is None, f"torch refused what cnncalc accepts: {failure}"
    assert (measured[0].output_shape, measured[0].params) == (tuple(out_shape), params)
    assert row.buffers == measured[0].buffers
    if buffers is not None:
        assert row.buffers == buffers


def check_refused(type_name, cfg, in_shape, fragment, *, torch_refuses=True):
    """cnncalc refuses with a message containing `fragment`; PyTorch refuses too."""
    text = one_layer_spec(type_name, cfg, in_shape)
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "case.yaml"))
    message = caught.value.diagnostics[0].message
    assert fragment in message, message
    if torch_refuses:
        measured, failure = run_torch(parse(text, "case.yaml"))
        assert failure is not None, "cnncalc refused what torch accepts"
