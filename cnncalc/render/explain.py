"""`cnncalc explain` as text for a terminal, or as a JSON document."""

from __future__ import annotations

import json

from cnncalc import __version__
from cnncalc.engine import Plan
from cnncalc.explain import Explained
from cnncalc.layers.arithmetic import n
from cnncalc.layers.base import fmt_shape
from cnncalc.render.safe import terminal

_MOST_TERMS = 12  # a total written as its sum when it has at most this many terms


def text(plan: Plan, explained: list[Explained], whole: bool) -> str:
    """Each layer: its name, type and shapes, then one line per step: `what: numbers = value`
    and the formula in words; with `whole`, the totals as sums of the layers'."""
    lines = [f"{terminal(plan.name)}  ({plan.convention} convention)", ""]
    shapes = _shapes(plan)
    for item in explained:
        row = item.row
        inputs = ", ".join(fmt_shape(shape) for shape in _input_shapes(shapes, row))
        lines.append(f"{terminal(row.name)}  {terminal(row.type_name)}  {inputs} -> {fmt_shape(row.output_shape)}")
        width = max((len(step.what) for step in item.steps), default=0)
        for step in item.steps:
            value = n(step.value) if isinstance(step.value, int) else step.value
            shown = f"{step.numbers} = {value}" if step.numbers and step.numbers != value else f"{value}"
            lines.append(f"  {step.what + ':':<{width + 1}} {shown}   ({step.formula})")
        lines.append("")
    if whole:
        lines += _totals(plan)
    return "\n".join(lines).rstrip("\n")


def _shapes(plan: Plan) -> dict:
    """Every tensor's shape by name, made once."""
    return {**plan.input_shapes, **{row.name: row.output_shape for row in plan.layers}}


def _input_shapes(shapes: dict, row) -> list:
    return [shapes[source] for source in row.spec.inputs] or [()]


def _totals(plan: Plan) -> list[str]:
    terms = [row.params for row in plan.layers if row.params]
    total = plan.totals.params
    if 1 < len(terms) <= _MOST_TERMS:
        return [f"Total params: {' + '.join(n(t) for t in terms)} = {n(total)}", _macs_total(plan)]
    if len(terms) <= 1:
        return [f"Total params: {n(total)}", _macs_total(plan)]
    return [f"Total params: {n(total)} ({len(terms)} layers with parameters)", _macs_total(plan)]


def _macs_total(plan: Plan) -> str:
    terms = [row.macs for row in plan.layers if row.macs]
    if 1 < len(terms) <= _MOST_TERMS:
        return f"Total MACs: {' + '.join(n(t) for t in terms)} = {n(plan.totals.macs)}"
    return f"Total MACs: {n(plan.totals.macs)}"


def document(plan: Plan, explained: list[Explained]) -> dict:
    from cnncalc.render.json import SCHEMA_VERSION

    shapes = _shapes(plan)
    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "name": plan.name,
        "convention": plan.convention,
        "layers": [
            {
                "name": item.row.name,
                "type": item.row.type_name,
                "input_shapes": [list(shape) for shape in _input_shapes(shapes, item.row)],
                "output_shape": list(item.row.output_shape),
                "steps": [step.to_dict() for step in item.steps],
            }
            for item in explained
        ],
        "total_params": plan.totals.params,
    }


def as_json(plan: Plan, explained: list[Explained]) -> str:
    return json.dumps(document(plan, explained), indent=2)  # ASCII: spec text's controls escaped
