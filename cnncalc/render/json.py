"""The JSON document for pipelines; its layout is versioned by SCHEMA_VERSION.

plan_document builds it as Python objects; dumps writes any document as text (one key a line
at the top level, each layer, block and warning whole on a line of its own); plan_json and
write_plan_json write the very same text straight from the plan, without the objects, for
the command line (tests/test_engine_passes.py checks that the two ways agree)."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from cnncalc import __version__
from cnncalc.engine import Plan
from cnncalc.errors import Diagnostic
from cnncalc.gcpause import paused
from cnncalc.memory import Memory, estimate

if TYPE_CHECKING:
    from collections.abc import Iterator

try:  # Python's C encoder, from _json itself: the json package also loads its decoder (1 ms of start-up)
    from _json import encode_basestring_ascii as _string
    from _json import make_encoder as _make_encoder
except ImportError:  # pragma: no cover - CPython always has it
    from json.encoder import encode_basestring_ascii as _string

    _make_encoder = None

# Bump on any change that could break a consumer (renamed or removed keys, new meanings).
SCHEMA_VERSION = 1


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _config(row) -> dict:
    """The layer's config as planned, tuples (pairs) as lists."""
    config = row.spec.layer.resolved_config(row.spec.cfg, row.input_shape)
    if any(type(value) is tuple for value in config.values()):
        return {key: _jsonable(value) for key, value in config.items()}
    return dict(config)


def _layers(plan: Plan, memory: Memory) -> list[dict]:
    # a key added here goes into _LAYER_LINE too, in the same place
    output_bytes, saved_bytes = memory.layer_output_bytes, memory.layer_saved_bytes
    layers = []
    for i, row in enumerate(plan.layers):
        layer_spec, field = row.spec, row.receptive_field
        layers.append(
            {
                "index": layer_spec.index,
                "name": layer_spec.name,
                "type": layer_spec.layer.type_name,
                "block": layer_spec.groups[-1].name if layer_spec.groups else None,
                "inputs": list(layer_spec.inputs),
                "input_shape": list(row.input_shape),
                "output_shape": list(row.output_shape),
                "params": row.params,
                "trainable": layer_spec.trainable,
                "buffers": row.buffers,
                "macs": row.macs,
                "flops": 2 * row.macs,
                "other_ops": row.other_ops,
                "output_bytes": output_bytes[i],
                "saved_bytes": saved_bytes[i],
                "receptive_field": None
                if field is None
                else {"size": list(field.size), "stride": list(field.stride), "padding": list(field.padding)},
                "config": _config(row),
            }
        )
    return layers


def _blocks(plan: Plan) -> list[dict]:
    """Each block call, repetition and `sequential:` list, in spec order, with its subtotals (the
    plan's); a key added here goes into _BLOCK_LINE too."""
    return [
        {
            "name": totals.group.name,
            "block": totals.group.block,
            "repeat": totals.group.repeat,
            "parent": totals.parent.name if totals.parent is not None else None,
            "layers": totals.group.layer_count,
            "output": totals.group.output,
            "output_shape": list(totals.output.output_shape if totals.output is not None else plan.input_shape),
            "params": totals.params,
            "macs": totals.macs,
        }
        for totals in plan.group_totals
    ]


def plan_document(plan: Plan, memory: Memory | None = None) -> dict:
    """The JSON document for `plan`; memory defaults to batch size 1, float32, adam."""
    memory = memory or estimate(plan)
    with paused():  # a document of many small containers, and no cycles
        return _document(plan, memory, _layers(plan, memory), _blocks(plan))


def plan_json(plan: Plan, memory: Memory | None = None) -> str:
    """`dumps(plan_document(plan, memory))`, the same text, written without building each layer's
    object first: each layer's line is filled in from the plan (a third of the time at 100,000
    layers)."""
    memory = memory or estimate(plan)
    with paused():
        return "".join(_plan_pieces(plan, memory))


def write_plan_json(plan: Plan, memory: Memory, stream) -> None:
    """Write plan_json's text and a newline to `stream` (as click.echo(plan_json(...)) prints it),
    a few thousand lines at a time: the text is never whole in memory (36 MB at 100,000 layers,
    and as much again as bytes)."""
    with paused():
        pieces = _plan_pieces(plan, memory)
        while True:
            chunk = "".join(islice(pieces, 4096))
            if not chunk:
                break
            stream.write(chunk)
        stream.write("\n")


def _plan_pieces(plan: Plan, memory: Memory) -> Iterator[str]:
    shapes: dict[tuple, str] = {}  # each shape as JSON, written once
    lines = {"layers": _layer_lines(plan, memory, shapes), "blocks": _block_lines(plan, shapes)}
    return _pieces(_document(plan, memory, [], []), lines)


# a layer's object as _one_line writes it; every value is filled in as JSON text
_LAYER_LINE = (
    '{"index": %s, "name": %s, "type": %s, "block": %s, "inputs": %s, "input_shape": %s, "output_shape": %s, '
    '"params": %s, "trainable": %s, "buffers": %s, "macs": %s, "flops": %s, "other_ops": %s, '
    '"output_bytes": %s, "saved_bytes": %s, "receptive_field": %s, "config": %s}'
)


def _layer_lines(plan: Plan, memory: Memory, shapes: dict[tuple, str]) -> Iterator[str]:
    """Each layer's object on one line, as _one_line writes _layers' dicts: the numbers are ints
    (str and JSON write them alike), the strings encoded by json's own function, and shapes and
    receptive fields, which repeat, encoded once each."""
    string = _string

    output_bytes, saved_bytes = memory.layer_output_bytes, memory.layer_saved_bytes
    fields: dict[int, str] = {id(None): "null"}
    for i, row in enumerate(plan.layers):
        layer_spec, field = row.spec, row.receptive_field
        layer, groups = layer_spec.layer, layer_spec.groups
        in_shape = shapes.get(row.input_shape) or shapes.setdefault(row.input_shape, _one_line(row.input_shape))
        out_shape = shapes.get(row.output_shape) or shapes.setdefault(row.output_shape, _one_line(row.output_shape))
        if id(field) not in fields:
            fields[id(field)] = _one_line({"size": field.size, "stride": field.stride, "padding": field.padding})
        yield (
            _LAYER_LINE
            % (
                layer_spec.index,
                string(layer_spec.name),
                string(layer.type_name),
                string(groups[-1].name) if groups else "null",
                "[" + ", ".join(map(string, layer_spec.inputs)) + "]",
                in_shape,
                out_shape,
                row.params,
                "true" if layer_spec.trainable else "false",
                row.buffers,
                row.macs,
                2 * row.macs,
                row.other_ops,
                output_bytes[i],
                saved_bytes[i],
                fields[id(field)],
                _one_line(layer.resolved_config(layer_spec.cfg, row.input_shape)),
            )
        )


_BLOCK_LINE = (
    '{"name": %s, "block": %s, "repeat": %s, "parent": %s, "layers": %s, "output": %s, "output_shape": %s, '
    '"params": %s, "macs": %s}'
)


def _block_lines(plan: Plan, shapes: dict[tuple, str]) -> Iterator[str]:
    """Each group's object on one line, as _one_line writes _blocks' dicts."""
    string = _string

    for totals in plan.group_totals:
        group, parent = totals.group, totals.parent
        shape = totals.output.output_shape if totals.output is not None else plan.input_shape
        yield (
            _BLOCK_LINE
            % (
                string(group.name),
                string(group.block),
                "null" if group.repeat is None else group.repeat,
                "null" if parent is None else string(parent.name),
                group.layer_count,
                string(group.output),
                shapes.get(shape) or shapes.setdefault(shape, _one_line(shape)),
                totals.params,
                totals.macs,
            )
        )


def _document(plan: Plan, memory: Memory, layers: list, blocks: list) -> dict:
    first = plan.first_linear
    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "name": plan.name,
        "description": plan.description,
        "convention": plan.convention,  # "pytorch": shapes [C, H, W]; "keras": [H, W, C], counted as Keras does
        # one input (output): its shape; several: null, and each by name in input_shapes (output_shapes)
        "input_shape": list(plan.input_shape) if len(plan.input_shapes) == 1 else None,
        "output_shape": list(plan.output_shape) if len(plan.output_shapes) == 1 else None,
        "input_shapes": {name: list(shape) for name, shape in plan.input_shapes.items()},
        "output_shapes": {name: list(shape) for name, shape in plan.output_shapes.items()},
        "layers": layers,
        "blocks": blocks,
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


def _one_line_encoder():
    """A function writing a value as JSON on one line, as json.dumps does without indent: Python's
    C encoder, made once (json.dumps makes one per call), else the pure-Python one."""
    if _make_encoder is None:  # pragma: no cover - CPython always has it
        import json

        return json.JSONEncoder().encode
    # (markers: no cycle check, default, string encoder, indent, key and item separators,
    # sort_keys, skipkeys, allow_nan): json.dumps's defaults
    make = _make_encoder(None, _unencodable, _string, None, ": ", ", ", False, False, True)
    return lambda value: "".join(make(value, 0))


def _unencodable(value):
    """What the encoder does with a value JSON has no form for: as json.JSONEncoder.default."""
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


_one_line = _one_line_encoder()


def dumps(document: dict) -> str:
    """`document` as JSON text a person can read and a program reads fast, written by the C encoder.

    One key a line at the top level; an object's keys one a line under it (totals, memory); a list
    of objects or lists one item a line, each item on its line whole (layers, blocks, warnings);
    anything else on its key's line. json.dumps(indent=2), the pure-Python encoder, took seconds
    and a line per number at 100,000 layers; any JSON reader (jq, json.loads) reads both alike."""
    with paused():  # the C encoder makes a list of pieces per item
        return "".join(_pieces(document))


def _pieces(document: dict, lines: dict[str, Iterator[str]] | None = None) -> Iterator[str]:
    """dumps' text in pieces; `lines` holds, by key, lists already written an item a line (as
    _one_line writes them), which stand for the document's."""
    if not document:
        yield "{}"
        return
    for number, (key, value) in enumerate(document.items()):
        yield ("{\n  " if not number else ",\n  ") + _one_line(key) + ": "
        items = lines.get(key) if lines else None
        if items is None and isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
            items = map(_one_line, value)
        if items is not None:
            yield from _list_pieces(items)
        elif isinstance(value, dict) and value:
            yield "{\n" + ",\n".join(f"    {_one_line(k)}: {_one_line(v)}" for k, v in value.items()) + "\n  }"
        else:
            yield _one_line(value)
    yield "\n}"


def _list_pieces(items: Iterator[str]) -> Iterator[str]:
    """A list of items already written, one a line; [] when there are none."""
    separator = "[\n    "
    for item in items:
        yield separator
        yield item
        separator = ",\n    "
    yield "[]" if separator == "[\n    " else "\n  ]"
