"""The JSON document for pipelines; its layout is versioned by SCHEMA_VERSION."""

from __future__ import annotations

import json

from cnncalc import __version__
from cnncalc.engine import Plan
from cnncalc.errors import Diagnostic
from cnncalc.memory import Memory, estimate

# Bump on any change that could break a consumer (renamed or removed keys, new meanings).
SCHEMA_VERSION = 1


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _field(row) -> dict | None:
    field = row.receptive_field
    if field is None:
        return None
    return {"size": list(field.size), "stride": list(field.stride), "padding": list(field.padding)}


def _blocks(plan: Plan) -> list[dict]:
    """Each block call, repetition and `sequential:` list, in spec order, with its subtotals."""
    sums: dict[int, list[int]] = {}
    for row in plan.layers:
        for group in row.spec.groups:
            entry = sums.setdefault(id(group), [0, 0])
            entry[0] += row.params
            entry[1] += row.macs
    parents: dict[int, str | None] = {}
    for row in plan.layers:
        for level, group in enumerate(row.spec.groups):
            parents[id(group)] = row.spec.groups[level - 1].name if level else None
    rows = {row.name: row for row in plan.layers}
    return [
        {
            "name": group.name,
            "block": group.block,
            "repeat": group.repeat,
            "parent": parents.get(id(group)),
            "layers": group.layer_count,
            "output": group.output,
            "output_shape": list(rows[group.output].output_shape if group.output in rows else plan.input_shape),
            "params": sums.get(id(group), [0, 0])[0],
            "macs": sums.get(id(group), [0, 0])[1],
        }
        for group in plan.groups
    ]


def plan_document(plan: Plan, memory: Memory | None = None) -> dict:
    """The JSON document for `plan`; memory defaults to batch size 1, float32, adam."""
    memory = memory or estimate(plan)
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
                "block": r.spec.groups[-1].name if r.spec.groups else None,
                "inputs": list(r.spec.inputs),
                "input_shape": list(r.input_shape),
                "output_shape": list(r.output_shape),
                "params": r.params,
                "trainable": r.trainable,
                "buffers": r.buffers,
                "macs": r.macs,
                "flops": 2 * r.macs,
                "other_ops": r.other_ops,
                "output_bytes": memory.layer_output_bytes[i],
                "saved_bytes": memory.layer_saved_bytes[i],
                "receptive_field": _field(r),
                "config": {k: _jsonable(v) for k, v in r.config.items()},
            }
            for i, r in enumerate(plan.layers)
        ],
        "blocks": _blocks(plan),
        "totals": {
            "params": plan.totals.params,
            "trainable_params": plan.totals.trainable_params,
            "non_trainable_params": plan.totals.non_trainable_params,
            "buffers": plan.totals.buffers,
            "macs": plan.totals.macs,
            "flops": plan.totals.flops,
            "other_ops": plan.totals.other_ops,
        },
        "warnings": [d.to_dict() for d in plan.warnings],
        "memory": {
            "batch_size": memory.batch_size,
            "dtype": memory.dtype,
            "optimizer": memory.optimizer,
            "params_bytes": memory.params_bytes,
            "buffers_bytes": memory.buffers_bytes,
            "gradients_bytes": memory.gradients_bytes,
            "optimizer_bytes": memory.optimizer_bytes,
            "saved_activations_bytes": memory.saved_activations_bytes,
            "inference_peak_bytes": memory.inference_peak_bytes,
            "training_total_bytes": memory.training_total_bytes,
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
