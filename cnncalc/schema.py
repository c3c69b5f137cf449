"""A JSON Schema for spec files, built from the layer registries, for editors: autocomplete and
hover docs for every layer type, field, default and alias, and validation as they type.

The schema is JSON Schema draft-07, the draft the YAML editors implement (redhat's
yaml-language-server, hence VS Code's YAML extension and monaco-yaml). It follows the
spec format (docs/spec.md) and is, by design, more lenient than cnncalc:

- It accepts every spec cnncalc accepts. Where a number goes, an expression may stand (a
  string: `4 * planes`, an argument's or constant's name), so any string passes there.
- An entry whose type is a known layer type (its name or an alias, in any case, Keras's also
  with or without '_', as cnncalc matches them) may hold only that type's fields, their aliases
  and the entry keys the type takes; its required fields must be there. Any other type is a block
  call, or an argument or constant naming a type, and may hold any keys.
- Autocomplete lists each type's name and aliases as written (`conv2d`, `conv`; `Conv2D`,
  `Convolution2D`); other spellings validate but are not offered.
- The layer types are those of the spec's convention: `convention: keras` selects Keras's; a
  spec with `layers:` and no `convention:` (or `convention: pytorch`) PyTorch's. A file of blocks
  alone (what `include:` reads) has no convention of its own, so its entries may be either's.

What it cannot see (value ranges that depend on shapes, names that must exist, expressions'
meaning) cnncalc checks: the schema is for typing, `cnncalc plan` for truth.
"""

from __future__ import annotations

import json
import re
from typing import Any

DRAFT = "http://json-schema.org/draft-07/schema#"
REF = "#/definitions/"
# a bare word where a number goes: an argument, a constant, or an expression of them
EXPRESSION = {  # no description: a field's hover shows the field's
    "type": "string",
    "$comment": "An expression: a block argument's or `let:` constant's name, or arithmetic on them and "
    "numbers (`4 * planes`, `make_divisible(c * 0.25, 8)`), worked out before the layer is checked.",
}
_NAME = r"^(?:[A-Za-z_][A-Za-z0-9_\-]{0,99}|[0-9]{1,9})$"  # cnncalc.spec.model.NAME_PATTERN, anchored
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"  # block, argument and constant names


def schema_text() -> str:
    """The schema as `cnncalc schema` prints it: deterministic JSON, keys sorted."""
    return json.dumps(build_schema(), indent=2, sort_keys=True) + "\n"  # ASCII: safe in any encoding


def build_schema() -> dict:
    """The JSON Schema (draft-07) of a spec file, from the layer registries of both conventions."""
    from cnncalc.layers.conventions import CONVENTIONS

    definitions: dict[str, Any] = {"expression": EXPRESSION, **_entry_key_definitions()}
    for convention in CONVENTIONS.values():
        definitions.update(_convention_definitions(convention))
    definitions["any.entry"] = {
        "description": "A layer, block call or `sequential:` list, in either convention (a block file has none)",
        "anyOf": [{"$ref": f"{REF}{name}.entry"} for name in CONVENTIONS],
    }
    definitions["any.block"] = _block_definition("any")
    definitions["budget"] = _budget()
    return {
        "$schema": DRAFT,
        "description": "A CNN spec for cnncalc (docs/spec.md): an input shape and a list of layers; or a file of "
        "blocks for other specs to include.",
        "type": "object",
        "properties": _top_level_properties(),
        "additionalProperties": False,
        "anyOf": [{"required": ["layers"]}, {"required": ["blocks"]}],
        "allOf": [
            {
                "if": {"required": ["layers"]},
                "then": {"anyOf": [{"required": ["input"]}, {"required": ["inputs"]}]},
            },
            {"not": {"required": ["input", "inputs"]}},
            _by_convention(list(CONVENTIONS)),
        ],
        "definitions": definitions,
    }


def _by_convention(names: list[str]) -> dict:
    """Entries in the convention's types: a named `convention:`, else PyTorch's for a spec (it has
    `layers:`), else either (a block file, read in the including spec's convention)."""

    def typed(prefix: str) -> dict:
        return {
            "properties": {
                "layers": {"items": {"$ref": f"{REF}{prefix}.entry"}},
                "blocks": {"additionalProperties": {"$ref": f"{REF}{prefix}.block"}},
            }
        }

    default, others = names[0], names[1:]
    chain: dict = {"if": {"anyOf": [{"required": ["layers"]}, {"required": ["convention"]}]}, "then": typed(default)}
    chain["else"] = typed("any")
    for name in reversed(others):
        chain = {
            "if": {"required": ["convention"], "properties": {"convention": {"const": name}}},
            "then": typed(name),
            "else": chain,
        }
    return chain


# ---- the top level ---------------------------------------------------------------------------


def _top_level_properties() -> dict:
    """Every key of cnncalc.spec.model.TOP_LEVEL_KEYS, with what it holds."""
    from cnncalc.layers.conventions import CONVENTIONS
    from cnncalc.spec.model import TOP_LEVEL_KEYS

    shape = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "integer", "minimum": 1},
        "description": "A shape without the batch: [3, 224, 224] (PyTorch: channels first) or [224, 224, 3] (Keras).",
    }
    names_or_list = {"anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]}
    known = {
        "name": {"type": "string", "pattern": r"\S", "description": "The network's name (default: the file's name)."},
        "description": {"type": "string", "description": "Shown under the table's title and in the JSON."},
        "convention": {
            "enum": list(CONVENTIONS),
            "default": "pytorch",
            "description": "Whose layer types, shapes and counts: `pytorch` (the default; [C, H, W]) or `keras` "
            "(Keras 3's classes and keywords; [H, W, C]). `--convention` replaces it.",
        },
        "input": {**shape, "description": f"The input shape. {shape['description']}"},
        "inputs": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": _NAME},
            "additionalProperties": shape,
            "description": "Several named inputs, each with its shape: {image: [3, 64, 64], t: [1]}; the first is "
            "what the first layer reads. Instead of `input:`.",
        },
        "outputs": {
            **names_or_list,
            "description": "The layers (or block calls) the network returns, e.g. [p3, p4, p5]; default: the last.",
        },
        "layers": {
            "type": "array",
            "minItems": 1,
            "description": "The layers, in order; each reads the one before unless it names its `inputs:`.",
        },
        "budget": {"$ref": f"{REF}budget"},
        "blocks": {
            "type": "object",
            "propertyNames": {"pattern": _IDENTIFIER},
            "description": "Reusable groups of layers by name, called like a layer: `{type: bottleneck, planes: 64}`.",
        },
        "include": {
            **names_or_list,
            "description": "A file, or a list, whose `blocks:` this spec uses (relative paths).",
        },
        "let": {
            "type": "object",
            "propertyNames": {"pattern": _IDENTIFIER},
            "description": "Constants usable by name in every layer and block, each a value or an expression of "
            "those before it (`c: int(32 * width_mult)`); `--set NAME=VALUE` replaces one.",
        },
    }
    return {key: known.get(key, {"description": f"`{key}:` (see docs/spec.md)"}) for key in TOP_LEVEL_KEYS}


def _budget() -> dict:
    from cnncalc.budget import BUDGET_LIMITS, BUDGET_SETTINGS
    from cnncalc.dtypes import DTYPE_BYTES, OPTIMIZER_STATES

    count = "an integer or a string with an SI suffix (25M, 4.1G)"
    properties: dict[str, Any] = {
        key: {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
            "description": f"The most {what.replace('_', ' ')} `cnncalc check` allows: "
            + (f"{count}, or bytes (2GiB, 512MiB)." if unit == "bytes" else f"{count}."),
        }
        for key, (what, unit) in BUDGET_LIMITS.items()
    }
    settings = {
        "batch_size": {"type": "integer", "minimum": 1, "default": 1, "description": "For max_memory."},
        "dtype": {"enum": list(DTYPE_BYTES), "default": "float32", "description": "For max_memory."},
        "optimizer": {"enum": list(OPTIMIZER_STATES), "default": "adam", "description": "For max_memory in training."},
        "training": {"type": "boolean", "default": False, "description": "Limit training memory, not inference."},
    }
    properties.update({key: settings.get(key, {}) for key in BUDGET_SETTINGS})
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "anyOf": [{"required": [key]} for key in BUDGET_LIMITS],
        "description": "Limits for `cnncalc check`; at least one max_ key.",
    }


# ---- entries: the keys every form shares -------------------------------------------------------

_ENTRY_KEYS: dict[str, dict] = {
    "name": {
        "type": "string",
        "pattern": _NAME,
        "not": {"const": "input"},
        "description": "The layer's (or call's) name: letters, digits, '_' and '-', starting with a letter or "
        "'_', or digits alone. Default: <type>_<n>.",
    },
    "inputs": {
        "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}],
        "description": "What the entry reads: a layer's name, `input`, or a list (merges). Default: the entry "
        "before it.",
    },
    "trainable": {
        "anyOf": [{"type": "boolean"}, {"$ref": f"{REF}expression"}],
        "default": True,
        "description": "false freezes the layer (or every layer of a call or list): its parameters count as "
        "non-trainable.",
    },
    "when": {
        "anyOf": [{"type": "boolean"}, {"$ref": f"{REF}expression"}],
        "description": "Leaves the entry out unless the condition holds: `when: downsample`, `when: stride == 1`.",
    },
    "repeat": {
        "anyOf": [{"type": "integer", "minimum": 1}, {"$ref": f"{REF}expression"}],
        "description": "Calls the block this many times in a row, named <name>.0, <name>.1, ... (block calls only).",
    },
    "first": {
        "type": "object",
        "description": "Arguments for the first repetition only, e.g. {stride: 2} (with `repeat:`).",
    },
    "repeat_name": {
        "type": "string",
        "description": "How repetitions are named: 'denselayer{n}' ({n} from 1, {i} from 0); default '{i}'.",
    },
    "outputs": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": _NAME},
        "description": "Names for the pieces of a `chunk` or `split`, e.g. [left, right].",
    },
    "size_of": {
        "type": "string",
        "description": "A layer whose spatial size to resample to (its second input), as FCN and FPN do.",
    },
}


def _entry_key_definitions() -> dict:
    return {f"entry.{key}": schema for key, schema in _ENTRY_KEYS.items()}


def _entry_keys(keys) -> dict:
    return {key: {"$ref": f"{REF}entry.{key}"} for key in keys}


def _layer_entry_keys(layer) -> list[str]:
    """The entry keys a layer of this type takes (besides `type:` and its fields), as cnncalc's
    expansion asks the type: `outputs:` for the splitting types, `size_of:` for a second input,
    no `inputs:` or `when:` for one that reads nothing; `repeat:` and `first:` are for blocks."""
    keys = ["name", "trainable"]
    if layer.takes_input:
        keys += ["inputs", "when"]
    if layer.splits:
        keys.append("outputs")
    if layer.max_inputs > 1:
        keys.append("size_of")
    return keys


# ---- one convention's definitions ----------------------------------------------------------------


def _convention_definitions(convention) -> dict:
    """`<convention>.entry` and its forms, `<convention>.block`, and each layer type's schemas."""
    prefix = convention.name
    layers = list(dict.fromkeys(convention.types.values()))  # each type once, in the registry's order
    definitions: dict[str, Any] = {}
    for layer in layers:
        definitions.update(_layer_definitions(prefix, convention, layer))
    definitions[f"{prefix}.entry"] = {
        "description": f"A layer ({prefix} convention), a block call or a `sequential:` list.",
        "anyOf": [{"$ref": f"{REF}{prefix}.{form}"} for form in ("bare", "explicit", "keyed")],
    }
    definitions[f"{prefix}.bare"] = _bare(convention, layers)
    definitions[f"{prefix}.explicit"] = _explicit(prefix, convention, layers)
    definitions[f"{prefix}.keyed"] = _keyed(prefix, convention, layers)
    definitions[f"{prefix}.block"] = _block_definition(prefix)
    return definitions


def _spellings(layer) -> tuple[str, ...]:
    """A type's names as written: its canonical name and aliases (what autocomplete offers)."""
    return (type(layer).type_name, *type(layer).aliases)


def spelling_pattern(convention, names) -> str:
    """A regular expression (ECMA 262, as JSON Schema's `pattern`) matching every spelling cnncalc
    reads as one of `names`: any case, '-' for '_'; in Keras's convention '_' and '-' anywhere.

    >>> from cnncalc.layers.conventions import KERAS, PYTORCH
    >>> spelling_pattern(PYTORCH, ["conv2d"])
    '^(?:[Cc][Oo][Nn][Vv]2[Dd])$'
    >>> spelling_pattern(KERAS, ["ReLU"])
    '^(?:[-_]*[Rr][-_]*[Ee][-_]*[Ll][-_]*[Uu][-_]*)$'
    """
    loose = convention.channels_last  # Keras's names are matched without '_'
    alternatives = []
    for normalised in sorted({convention.normalise(name) for name in names}):
        chars = [_char_pattern(c) for c in normalised]
        alternatives.append("[-_]*" + "[-_]*".join(chars) + "[-_]*" if loose else "".join(chars))
    return "^(?:" + "|".join(alternatives) + ")$"


def _char_pattern(char: str) -> str:
    if char == "_":
        return "[-_]"
    if char.upper() != char.lower() and len(char.upper()) == 1:
        return f"[{char.upper()}{char}]"
    return re.escape(char)


def _type_names(layers, description: str) -> dict:
    """A type name: any string (a block, an argument or a constant naming a type; first, so that a
    validator stops there), and each known spelling as a `const` with its type's summary, which
    autocomplete offers and hover shows."""
    known = [
        {"const": name, "title": type(layer).type_name, "description": _type_description(layer)}
        for layer in layers
        for name in _spellings(layer)
    ]
    options = [{"type": "string"}, *sorted(known, key=lambda option: option["const"])]
    return {"description": description, "anyOf": options}


def _bare(convention, layers) -> dict:
    """`- relu`: a type whose fields all have defaults (or a block, or a constant naming a type)."""
    needs_fields = [name for layer in layers if _required(layer) for name in _spellings(layer)]
    schema = _type_names(
        [layer for layer in layers if not _required(layer)],
        "A block with no required arguments, or a constant naming a layer type.",
    )
    schema["type"] = "string"
    if needs_fields:  # `- linear` lacks out_features
        schema["not"] = {"pattern": spelling_pattern(convention, needs_fields)}
    return schema


def _explicit(prefix: str, convention, layers) -> dict:
    """`- {type: conv2d, ...}`: a known type holds only its own keys; a block call any arguments."""
    typed = _by_type(prefix, convention, layers)
    every_type = spelling_pattern(convention, [name for layer in layers for name in _spellings(layer)])
    calls = {  # what only a block call takes (offered where the type is not a layer type)
        "if": {"properties": {"type": {"pattern": every_type}}},
        "else": {"properties": _entry_keys(("repeat", "first", "repeat_name"))},
    }
    return {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": _type_names(layers, "A block's name, or an argument or constant naming a layer type."),
            **_entry_keys(("name", "inputs", "trainable", "when")),
        },
        "allOf": [*typed, calls],
    }


def _by_type(prefix: str, convention, layers) -> list[dict]:
    """`if` the type is this one, `then` its schema, for each type; grouped by the name's first
    letter, so that a validator tries a few dozen patterns per entry rather than every type's."""
    groups: dict[str, list] = {}
    for layer in layers:
        for initial in sorted({convention.normalise(name)[:1] for name in _spellings(layer)}):
            groups.setdefault(initial, []).append(layer)
    lead = "^[-_]*" if convention.channels_last else "^"
    return [
        {
            "if": {"properties": {"type": {"pattern": lead + _char_pattern(initial)}}},
            "then": {
                "allOf": [
                    {
                        "if": {"properties": {"type": {"pattern": spelling_pattern(convention, _spellings(layer))}}},
                        "then": {"$ref": f"{REF}{prefix}.{type(layer).type_name}"},
                    }
                    for layer in group
                ]
            },
        }
        for initial, group in sorted(groups.items())
    ]


def _keyed(prefix: str, convention, layers) -> dict:
    """`- linear: 128`, `- conv2d: {...}`, `- bottleneck: {...}` or `- sequential: [...]`, with the
    entry keys beside the type key."""
    properties: dict[str, Any] = {}
    patterns: dict[str, Any] = {}
    for layer in layers:
        value = {"$ref": f"{REF}{prefix}.{type(layer).type_name}:value"}
        properties.update({name: value for name in _spellings(layer)})
        patterns[spelling_pattern(convention, _spellings(layer))] = value
    properties["sequential"] = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": f"{REF}{prefix}.entry"},
        "description": "Layers that each read the one before, named 0, 1, ... as in an nn.Sequential.",
    }
    properties.update(_entry_keys(("name", "inputs", "trainable", "when", "repeat", "first", "repeat_name")))
    return {
        "type": "object",
        "minProperties": 1,
        "not": {"required": ["type"]},
        "properties": properties,
        "patternProperties": patterns,
    }


def _block_definition(prefix: str) -> dict:
    entry = {"$ref": f"{REF}{prefix}.entry"}
    layers = {"type": "array", "minItems": 1, "items": entry, "description": "The block's entries."}
    argument = {
        "anyOf": [
            {"type": "string", "pattern": _IDENTIFIER},
            {"type": "object", "minProperties": 1, "maxProperties": 1, "propertyNames": {"pattern": _IDENTIFIER}},
        ]
    }
    definition = {
        "type": "object",
        "required": ["layers"],
        "additionalProperties": False,
        "properties": {
            "args": {
                "anyOf": [
                    {"type": "array", "items": argument},
                    {"type": "object", "propertyNames": {"pattern": _IDENTIFIER}},
                ],
                "description": "Its arguments in order: a name alone is required, `name: default` has a default: "
                "[planes, stride: 1].",
            },
            "let": {
                "type": "object",
                "propertyNames": {"pattern": _IDENTIFIER},
                "description": "Values computed from the arguments: {width: planes * base_width // 64}.",
            },
            "inputs": {
                "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}],
                "description": "Names for the block's inputs when it takes more than one: [x, skip].",
            },
            "layers": layers,
            "description": {"type": "string"},
        },
    }
    return {"description": "A block: its layers, or {args, let, inputs, layers}.", "anyOf": [layers, definition]}


# ---- one layer type ------------------------------------------------------------------------------


def _layer_definitions(prefix: str, convention, layer) -> dict:
    """A type's schemas: its explicit entry (`<p>.<type>`), its fields mapping (`<p>.<type>:fields`),
    the value of its key in a keyed entry (`<p>.<type>:value`) and each field (`<p>.<type>.<field>`)."""
    cls = type(layer)
    key = f"{prefix}.{cls.type_name}"
    definitions = {f"{key}.{f.name}": _field_schema(layer, f) for f in cls.fields}
    fields = {name: {"$ref": f"{REF}{key}.{f.name}"} for f in cls.fields for name in (f.name, *f.aliases)}
    entry_keys = _layer_entry_keys(layer)
    summary = _type_description(layer)
    definitions[key] = {
        "title": cls.type_name,
        "type": "object",
        "properties": {"type": {}, **_entry_keys(entry_keys), **fields},
        "additionalProperties": False,
        **_required(layer),
    }
    if "size_of" in entry_keys:  # read from the fields mapping too
        fields = {**fields, **_entry_keys(["size_of"])}
    definitions[f"{key}:fields"] = {
        "type": "object",
        "properties": fields,
        "additionalProperties": False,
        **_required(layer),
    }
    options: list[dict] = [{"type": "null"}, {"$ref": f"{REF}{key}:fields"}]
    if cls.main_field is not None:  # a value that is neither null (no fields) nor a mapping (the fields)
        main_field = next(f for f in cls.fields if f.name == cls.main_field)  # inlined: hover shows the type's doc
        options.insert(1, {**_value_schema(main_field), "not": {"type": ["null", "object"]}})
    definitions[f"{key}:value"] = {"title": cls.type_name, "description": summary, "oneOf": options}
    return definitions


def _type_description(layer) -> str:
    cls = type(layer)
    lines = (cls.__doc__ or "").strip().splitlines()
    parts = [lines[0].strip() if lines else cls.type_name]
    if cls.aliases:
        parts.append("Also written " + ", ".join(f"`{a}`" for a in cls.aliases) + ".")
    if cls.main_field:
        parts.append(f"Main argument: `{cls.main_field}` (`- {cls.type_name}: VALUE`).")
    return " ".join(parts)


def _required(layer) -> dict:
    """The type's required fields, each under its name or an alias."""
    plain, either = [], []
    for f in type(layer).fields:
        if not f.required:
            continue
        if f.aliases:
            either.append({"anyOf": [{"required": [name]} for name in (f.name, *f.aliases)]})
        else:
            plain.append(f.name)
    found: dict[str, Any] = {"required": plain} if plain else {}
    if either:
        found["allOf"] = either
    return found


def _field_schema(layer, f) -> dict:
    """A field's values, with its doc, kind, default and aliases as its description (an alias
    shares it: the description names the aliases)."""
    schema = {**_value_schema(f), "title": f"{f.name} ({type(layer).type_name})"}
    schema["description"] = _field_description(layer, f)
    default = _json_value(f.default)
    if not f.required and default is not _NO_JSON:
        schema["default"] = default
    return schema


def _field_description(layer, f) -> str:
    from cnncalc.layers.base import yaml_text

    parts = [_sentence(f.doc)] if f.doc else []
    parts.append(_sentence(f.kind.expected))
    parts.append("Required." if f.required else f"Default: {yaml_text(f.default)}.")
    if f.name == type(layer).main_field:
        parts.append("The main argument.")
    if f.aliases:
        parts.append("Also written " + ", ".join(f"`{a}`" for a in f.aliases) + ".")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", ")")) else text + "."


_NO_JSON = object()


def _json_value(value: Any) -> Any:
    """A default as JSON (tuples as lists), or _NO_JSON for what JSON cannot hold."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else _NO_JSON
    if isinstance(value, (list, tuple)):
        items = [_json_value(v) for v in value]
        return _NO_JSON if any(v is _NO_JSON for v in items) else items
    return _NO_JSON


# ---- field values: a field's kind as a schema -------------------------------------------------------


def _value_schema(f) -> dict:
    """What a field's value may be: its kind's values, or an expression (any other string); null
    where it means something. A kind the schema does not know accepts anything. The options
    exclude each other (`oneOf`), which keeps yaml-language-server's hover on the field's own
    title and description."""
    typed = kind_schema(f.kind)
    if not typed:
        return {}
    words = _strings(typed)  # `padding: same` is a value, not an expression
    expression = (
        {"allOf": [{"$ref": f"{REF}expression"}], "not": {"enum": words}} if words else {"$ref": f"{REF}expression"}
    )
    options = [typed, expression]
    if f.default is None or f.nullable:
        options.append({"type": "null"})
    return {"oneOf": options}


def _strings(schema: dict) -> list[str]:
    """The strings a kind's schema (as kind_schema builds them) takes as values."""
    found = [value for value in schema.get("enum", ()) if isinstance(value, str)]
    for option in schema.get("oneOf", ()):
        found += _strings(option)
    return found


def kind_schema(kind) -> dict:
    """A field kind's values as a schema ({} for any): the kind's own `json_schema()` if it has
    one, else the base kinds' (cnncalc.layers.base), else {}."""
    own = getattr(kind, "json_schema", None)
    if callable(own):
        return own()
    from cnncalc.layers import base

    builders = (
        (base.Bool, lambda k: {"type": "boolean"}),
        (base.Int, lambda k: _integer(k.min)),
        (base.Float, _number),
        (base.Padding, lambda k: {"oneOf": [_per_axis(k.min, k.rank), {"enum": ["same", "valid"]}]}),
        (base.PerAxis, lambda k: _per_axis(k.min, k.rank)),
        (base.AxisSizes, _axis_sizes),
        (base.AxisScales, lambda k: _one_or_list({"type": "number", "exclusiveMinimum": 0}, None)),
        (base.Choice, lambda k: {"enum": list(k.choices)}),
    )
    for cls, build in builders:
        if isinstance(kind, cls):
            return build(kind)
    return {}


def _integer(minimum: int | None) -> dict:
    return {"type": "integer"} if minimum is None else {"type": "integer", "minimum": minimum}


def _number(kind) -> dict:
    schema: dict[str, Any] = {"type": "number"}
    if kind.min is not None:
        schema["exclusiveMinimum" if kind.min_open else "minimum"] = kind.min
    if kind.max is not None:
        schema["maximum"] = kind.max
    return schema


def _one_or_list(item: dict, length: int | None, nullable_items: bool = False) -> dict:
    """One value for every axis, or a list of them (`length` long, or any non-empty length);
    each item may be an expression too."""
    items = [item, {"$ref": f"{REF}expression"}] + ([{"type": "null"}] if nullable_items else [])
    array: dict[str, Any] = {"type": "array", "minItems": length or 1, "items": {"oneOf": items}}
    if length:
        array["maxItems"] = length
    return {"oneOf": [item, array]}


def _per_axis(minimum: int, rank: int) -> dict:
    return _one_or_list(_integer(minimum), rank)


def _axis_sizes(kind) -> dict:
    return _one_or_list(_integer(1), kind.rank, nullable_items=kind.allow_none)
