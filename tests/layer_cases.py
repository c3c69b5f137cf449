"""Helpers for the per-family layer tables: plan one layer, and check it against PyTorch."""

from __future__ import annotations

import pytest
import yaml
from torch_reference import run_torch

from cnncalc.engine import plan
from cnncalc.errors import CODES, SpecError
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


def field_position(text: str, at: str | None) -> tuple[int, int]:
    """Where a one-layer spec written by one_layer_spec holds field `at`'s value (1-based line and
    column), or with at=None where its entry starts."""
    lines = text.splitlines()
    entry = lines.index("layers:") + 2  # the line after `layers:`, 1-based
    if at is None:
        return entry, 3  # `- ` then the entry's first key
    for number, line in enumerate(lines[entry - 1 :], entry):
        key = line.lstrip("- ")
        if key.startswith(f"{at}:"):
            if key[len(at) + 1 :].strip():
                return number, line.index(key) + len(at) + 3  # `key: value` on one line
            return number + 1, lines[number].index("-") + 1  # a block list on the lines below
    raise AssertionError(f"no field {at!r} in\n{text}")


def check_refused(type_name, cfg, in_shape, fragment, *, code, at, torch_refuses=True):
    """cnncalc refuses with one diagnostic: `code`, a message containing `fragment`, located at
    the value of field `at` (at=None: at the layer's entry); PyTorch refuses too."""
    assert code in CODES, code
    text = one_layer_spec(type_name, cfg, in_shape)
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "case.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert fragment in diagnostic.message, diagnostic.message
    where = (diagnostic.code, diagnostic.loc.file, diagnostic.loc.line, diagnostic.loc.column)
    assert where == (code, "case.yaml", *field_position(text, at)), (diagnostic, text)
    if torch_refuses:
        measured, failure = run_torch(parse(text, "case.yaml"))
        assert failure is not None, "cnncalc refused what torch accepts"
