"""One entry of `layers:`: its form (`- relu`, `- linear: 128`, `- {type: conv2d, ...}`),
its type, name and `trainable:`, and its fields checked against the layer type's schema."""

from __future__ import annotations

from cnncalc.errors import Loc
from cnncalc.layers import suggest
from cnncalc.layers.base import COMMON_KEYS, FieldError, LayerType, yaml_text
from cnncalc.layers.conventions import Convention
from cnncalc.yamlload import YNode

from .model import ENTRY_KEYS, NAME_PATTERN, NETWORK_INPUT
from .report import Report

INVALID = object()  # a value whose expression failed (and was reported): checked no further


class ParsedEntry:
    """A `layers:` entry split into its parts, before its fields are checked; config() fills in
    where each field is written and, inside a block, the expression it was computed from."""

    __slots__ = ("layer", "raw", "key_locs", "loc", "field_locs", "field_exprs")

    def __init__(self, layer: LayerType, raw: dict[str, YNode], key_locs: dict[str, Loc], loc: Loc):
        self.layer = layer
        self.raw = raw  # key as written -> value; "" for a bare main argument
        self.key_locs = key_locs
        self.loc = loc
        self.field_locs: dict[str, Loc] = {}
        self.field_exprs: dict[str, str] = {}


def split_entry(report: Report, nth: str, node: YNode, blocks: dict, types: Convention):
    """(type node, raw fields, their key locations, common keys) for each entry form, or None
    (reported). `nth` names the entry in messages: 'layer 3'."""
    if isinstance(node.value, str):  # - relu
        return node, {}, {}, {}
    if isinstance(node.value, dict) and "type" in node.value:  # - {type: conv2d, ...}
        fields = {k: v for k, v in node.value.items() if k not in ENTRY_KEYS}
        common = {k: v for k, v in node.value.items() if k in ENTRY_KEYS and k != "type"}
        return node.value["type"], fields, {k: node.key_locs[k] for k in fields}, common
    if isinstance(node.value, dict) and node.value:  # - linear: 128 / - conv2d: {...}
        return _split_keyed_entry(report, nth, node, blocks, types)
    report.error(
        "spec.bad-layer",
        f"{nth}: expected a layer such as `relu`, `linear: 128` or "
        f"`{{type: conv2d, out_channels: 32, kernel_size: 3}}`, got {yaml_text(node.plain())}",
        node.loc,
    )
    return None


def _split_keyed_entry(report: Report, nth: str, node: YNode, blocks: dict, types: Convention):
    """`- conv2d: {...}` or `- linear: 128`, with `name:`/`trainable:` beside the type key."""
    common = {k: v for k, v in node.value.items() if k in ENTRY_KEYS}
    type_keys = [k for k in node.value if k not in ENTRY_KEYS]
    named_types = [k for k in type_keys if types.lookup(k) is not None or k in blocks]
    if len(type_keys) > 1 and len(named_types) == 1 and node.value[named_types[0]].value is None:
        # `- conv2d:` with its fields indented beside it rather than under it
        key = named_types[0]
        fields = {k: node.value[k] for k in type_keys if k != key}
        return YNode(key, node.key_locs[key]), fields, {k: node.key_locs[k] for k in fields}, common
    if len(type_keys) != 1:
        report.error(
            "spec.bad-layer",
            f"{nth}: write one layer per entry, as `- conv2d: {{...}}` or "
            f"`- {{type: conv2d, ...}}`; found keys {', '.join(type_keys) or 'none'}",
            node.key_locs[type_keys[1]] if len(type_keys) > 1 else node.loc,
        )
        return None
    key = type_keys[0]
    value = node.value[key]
    if isinstance(value.value, dict):
        fields, key_locs = dict(value.value), dict(value.key_locs)
    elif value.value is not None:
        fields, key_locs = {"": value}, {"": value.loc}  # the main field, known once the type is
    else:
        fields, key_locs = {}, {}
    return YNode(key, node.key_locs[key]), fields, key_locs, common


def layer_type(
    report: Report, nth: str, type_node: YNode, blocks: dict, quiet: bool, types: Convention
) -> LayerType | None:
    """The layer type `type_node` names in the spec's convention (`types`); None if unknown
    (reported, unless `quiet`: an include failed, and its blocks are the likely meaning)."""
    if not isinstance(type_node.value, str):
        report.error("spec.bad-value", f"{nth}: type: expected a layer type name", type_node.loc)
        return None
    layer = types.lookup(type_node.value)
    if layer is None and not quiet:
        from cnncalc.layers.unsupported import unknown_type_message

        message = unknown_type_message(type_node.value, [*types.type_names(), *blocks], types.channels_last)
        report.error("spec.unknown-type", f"{nth}: {message}", type_node.loc)
    return layer


def layer_name(report: Report, nth: str, kind: str, common: dict, entry_loc: Loc) -> tuple[str | None, Loc]:
    """The entry's `name:` and where it is written; None if it has none (or a wrong one, reported)."""
    if "name" not in common:
        return None, entry_loc
    node = common["name"]
    if node.value == NETWORK_INPUT:
        report.error(
            "spec.bad-name",
            f"{nth} ({kind}): the name {NETWORK_INPUT!r} is kept for the network's input",
            node.loc,
        )
        return None, node.loc
    if isinstance(node.value, str) and NAME_PATTERN.fullmatch(node.value):
        return node.value, node.loc
    shown = yaml_text(node.value)
    report.error(
        "spec.bad-value",
        f"{nth} ({kind}): name: expected letters, digits, '_' or '-', starting with a letter "
        f"or '_', at most 100 characters, got {shown if len(shown) <= 80 else shown[:77] + '...'}",
        node.loc,
    )
    return None, node.loc


def flag(report: Report, label: str, common: dict, key: str) -> bool:
    """`trainable:` (true unless written false); a value that is not a boolean is reported."""
    if key not in common:
        return True
    node = common[key]
    if isinstance(node.value, bool):
        return node.value
    report.error("spec.bad-value", f"{label}: {key}: expected true or false", node.loc)
    return True


def config(report: Report, name: str, entry: ParsedEntry, argument_names=frozenset()) -> dict | None:
    """Check the raw fields against the layer type's schema and fill defaults; None if any is
    wrong (reported). `argument_names`: inside a block, its names, for hints."""
    layer = entry.layer
    label = f"layer {name!r} ({layer.type_name})"
    cfg: dict = {}
    ok = True
    misspelt: set[str] = set()  # fields an unknown key probably meant
    given_as: dict[str, str] = {}  # field -> the key that set it
    for key, node in entry.raw.items():
        f = _field_for(report, label, layer, key, node, entry.key_locs[key], misspelt)
        if f is None:
            ok = False
            continue
        if f.name in given_as:
            report.error(
                "spec.duplicate-key",
                f"{label}: {f.name} is given twice, as {given_as[f.name]!r} and as {key!r}",
                entry.key_locs[key],
            )
            ok = False
            continue
        entry.field_locs[f.name] = node.loc
        if node.value is INVALID:  # reported already
            ok = False
            continue
        if node.source is not None:
            entry.field_exprs[f.name] = node.source
        given_as[f.name] = key or "its main argument"
        ok = _set_value(report, label, f, node, cfg, argument_names) and ok
    for f in layer.fields:
        if f.name in cfg:
            continue
        if f.name in entry.field_locs or f.name in misspelt:  # already reported
            ok = False
        elif f.required:
            report.error("spec.missing-key", f"{label}: missing required field {f.name}", entry.loc)
            ok = False
        else:
            cfg[f.name] = None if f.default is None else f.kind.parse(f.default)
    return cfg if ok else None


_BY_KEY: dict[int, tuple[LayerType, dict]] = {}


def _fields_by_key(layer: LayerType) -> dict:
    """The layer type's fields by name and alias; worked out once per type."""
    found = _BY_KEY.get(id(layer))
    if found is None or found[0] is not layer:
        found = _BY_KEY[id(layer)] = (layer, {key: f for f in layer.fields for key in (f.name, *f.aliases)})
    return found[1]


# keywords of a framework's layers that a spec says elsewhere
_INPUT_SHAPE = "the network's input is the spec's top-level `input:` (its shape without the batch, e.g. [28, 28, 1])"
_ELSEWHERE = {
    "input_shape": _INPUT_SHAPE,
    "batch_input_shape": _INPUT_SHAPE,
    "input_dim": _INPUT_SHAPE,
    "dtype": "a spec has one dtype, for memory: `cnncalc plan --dtype` (it changes no shape or count)",
}


def _field_for(report: Report, label: str, layer: LayerType, key: str, node: YNode, key_loc: Loc, misspelt: set):
    """The field `key` sets, or None (reported, or the tail of a split expression)."""
    by_name = _fields_by_key(layer)
    if key == "":  # `linear: 128`: a bare value sets the main field
        if layer.main_field is not None:
            return by_name[layer.main_field]
        report.error(
            "spec.bad-value",
            f"{label}: takes no main argument; write its fields as a mapping, got {yaml_text(node.plain())}",
            node.loc,
        )
    elif key in by_name:
        return by_name[key]
    elif key in _ELSEWHERE:
        report.error("spec.unknown-key", f"{label}: {key}: {_ELSEWHERE[key]}", key_loc)
    elif key == "activation":
        report.error(
            "spec.unknown-key",
            f"{label}: layers have no `activation` field in the PyTorch convention; add the activation "
            f"as its own layer after this one, e.g. `- relu`, or write the spec in Keras's words with "
            f"`convention: keras` at its top",
            key_loc,
        )
    elif key in COMMON_KEYS:
        report.error(
            "spec.misplaced-key",
            f"{label}: {key!r} goes beside the type key, not among its fields: write "
            f"`- {{type: {layer.type_name}, {key}: ..., ...}}`, or put `{key}:` on its own line "
            f"under `- {layer.type_name}: ...`",
            key_loc,
        )
    elif not (report.split_expression and key.count(")") > key.count("(")):
        _unknown_field(report, label, layer, key, key_loc, misspelt)
    # else: the rest of an expression YAML split at a comma, reported already
    return None


def _unknown_field(report: Report, label: str, layer: LayerType, key: str, key_loc: Loc, misspelt: set) -> None:
    by_name = _fields_by_key(layer)
    known = [f.name for f in layer.fields] + [a for f in layer.fields for a in f.aliases]
    other = layer.other_names.get(key)
    hint = other if other in by_name else suggest(key, known + list(COMMON_KEYS))
    if hint in by_name:
        misspelt.add(by_name[hint].name)
    fields = ", ".join(f.name for f in layer.fields) or "none"
    if other in by_name:
        why = f" (PyTorch's name); Keras calls it {other!r}"
    else:
        why = f"; did you mean {hint!r}?" if hint else f"; its fields are: {fields}"
    report.error("spec.unknown-key", f"{label}: unknown key {key!r}{why}", key_loc)


def _set_value(report: Report, label: str, f, node: YNode, cfg: dict, argument_names) -> bool:
    """Parse one field's value into `cfg`; False if it is wrong (reported) or failed before."""
    value = node.plain()
    if value is None and (f.default is None or f.nullable):
        cfg[f.name] = None
        return True
    try:
        cfg[f.name] = f.kind.parse(value)
        return True
    except FieldError as exc:
        report.error("spec.bad-value", f"{label}: {f.name}: {exc}{_argument_hint(value, argument_names)}", node.loc)
        return False


def _argument_hint(value, argument_names) -> str:
    """For a bare word a field refuses inside a block: the argument it probably meant."""
    from cnncalc import expressions

    if not (isinstance(value, str) and expressions.is_name(value) and argument_names):
        return ""
    hint = suggest(value, sorted(argument_names))
    return f"; no argument is named {value!r}" + (f"; did you mean {hint!r}?" if hint else "")
