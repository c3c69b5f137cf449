"""The JSON document for pipelines; its layout is versioned by SCHEMA_VERSION."""

from __future__ import annotations

import json

from cnncalc import __version__
from cnncalc.engine import Plan
from cnncalc.errors import Diagnostic

# Bump on any change that could break a consumer (renamed or removed keys, new meanings).
SCHEMA_VERSION = 1


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def plan_document(plan: Plan) -> dict:
    first = plan.first_linear
    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "name": plan.name,
        "description": plan.description,
        "input_shape": list(plan.input_shape),
        "output_shape": list(plan.output_shape),
        "layers": [
            {
                "index": r.spec.index,
                "name": r.name,
                "type": r.type_name,
                "input_shape": list(r.input_shape),
                "output_shape": list(r.output_shape),
                "params": r.params,
                "trainable": r.trainable,
                "buffers": r.buffers,
                "config": {k: _jsonable(v) for k, v in r.config.items()},
            }
            for r in plan.layers
        ],
        "totals": {
            "params": plan.totals.params,
            "trainable_params": plan.totals.trainable_params,
            "non_trainable_params": plan.totals.non_trainable_params,
            "buffers": plan.totals.buffers,
        },
        "first_linear": None
        if first is None
        else {
            "name": first.name,
            "index": first.index,
            "in_features": first.in_features,
            "flattened_shape": list(first.flattened_shape) if first.flattened_shape else None,
            "flattened_by": first.flattened_by,
        },
    }


def errors_document(diagnostics: list[Diagnostic]) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "errors": [d.to_dict() for d in diagnostics],
    }


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2)
