"""The module classes a model calls, as spec blocks with arguments.

All calls of one class share a block when their entries agree: the same names, types and
wiring, where entries some calls lack become `when:` arguments (ResNet's `downsample`). A
field that differs between calls becomes an argument, named after the field (`out_channels`,
`stride`), or is written from one already made (`4 * out_channels`) or from the block's input
width (`6 * in_channels`); equal values stay literal. Calls that do not agree are split by
their exact structure (`inverted_residual`, `inverted_residual_2`). Then a list of calls of one
block, named 0, 1, ... as nn.Sequential names them, becomes one call with `repeat:` and
`first:`. Pure.
"""

from __future__ import annotations

import re
from collections import Counter

from cnncalc.importers.torch_body import Entry, plain_yaml

REQUIRED = object()


class Block:
    """A block to write: its name, arguments ((name, default or REQUIRED) in order), input
    names, entries (a template: fields may be expressions, entries may have `when`), and the
    class it stands for."""

    __slots__ = ("name", "args", "inputs", "entries", "source", "calls")

    def __init__(self, name, args, inputs, entries, source, calls):
        self.name, self.args, self.inputs, self.entries, self.source, self.calls = (
            name,
            args,
            inputs,
            entries,
            source,
            calls,
        )


def make_blocks(calls: list[Entry], merge: bool = True) -> list[Block]:
    """Give each call entry its block (`type`) and arguments (`fields`); the blocks, in the
    order they are first needed (inner blocks first)."""
    heights = {id(c): _height(c) for c in calls}
    groups: dict = {}
    for call in calls:
        groups.setdefault(call.group or type(call.scope.module), []).append(call)
    blocks: list[Block] = []
    taken: set[str] = set()
    defaults: dict = {}  # block -> {argument: default}, for the calls of the blocks made before
    for key, members in sorted(groups.items(), key=lambda item: max(heights[id(c)] for c in item[1])):
        cls, hint = (key[0], f"{key[2]}_{key[1]}") if isinstance(key, tuple) else (key, key.__name__)
        for member in members:  # its inner blocks are made: their lists of calls fold first
            fold_repeats(member.children, defaults)
        drop_identities(members)
        parts = _merged(members) if merge else _by_structure(members)
        for part in parts:
            name = _block_name(hint, taken)
            block = _block(name, cls, part, defaults)
            defaults[name] = {a: d for a, d in block.args if d is not REQUIRED}
            blocks.append(block)
    return blocks


def _height(entry: Entry) -> int:
    inner = [_height(c) for c in entry.children if c.kind in ("call", "seq")]
    return (1 if entry.kind == "call" else 0) + max(inner, default=0)


def _block_name(class_name: str, taken: set[str]) -> str:
    from cnncalc.layers import lookup

    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()
    base = re.sub(r"[^a-z0-9_]", "_", base).strip("_")[:90] or "block"
    if base[0].isdigit():
        base = "block_" + base
    if lookup(base) is not None or not plain_yaml(base):
        base += "_block"
    name, n = base, 2
    while name in taken or lookup(name) is not None:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


# ---- structure -------------------------------------------------------------------------------------


def _paths(entries: list[Entry], prefix: tuple = ()) -> list[tuple[tuple, Entry]]:
    found = []
    for entry in entries:
        path = (*prefix, entry.name)
        found.append((path, entry))
        if entry.kind == "seq":
            found += _paths(entry.children, path)
    return found


def _shape_key(entry: Entry) -> tuple:
    return (entry.kind, entry.type, "repeat" in entry.fields, _hashable(entry.fields.get("first")))


def _structure(call: Entry) -> tuple:
    return tuple((path, _shape_key(e), tuple(e.reads)) for path, e in _paths(call.children))


def _merged(members: list[Entry]) -> list[list[Entry]]:
    """The calls in as few groups as share a template: all of them, or each exact structure
    joined to the first group it fits."""
    if _template(members) is not None:
        return [members]
    parts: list[list[Entry]] = []
    for group in sorted(_by_structure(members), key=len, reverse=True):
        for part in parts:
            if _template(part + group) is not None:
                part.extend(group)
                break
        else:
            parts.append(list(group))
    return parts


def _by_structure(members: list[Entry]) -> list[list[Entry]]:
    parts: dict = {}
    for call in members:
        parts.setdefault(_structure(call), []).append(call)
    return list(parts.values())


def _template(members: list[Entry]):
    """The base call (the one with most entries) if every call's entries fit it, else None."""
    base = max(members, key=lambda c: len(_paths(c.children)))
    base_paths = _paths(base.children)
    order = {path: k for k, (path, _) in enumerate(base_paths)}
    kinds = {path: _shape_key(e) for path, e in base_paths}
    for call in members:
        paths = _paths(call.children)
        positions = [order.get(path) for path, _ in paths]
        if None in positions or positions != sorted(positions):
            return None
        if any(kinds[path] != _shape_key(e) for path, e in paths):
            return None
        if call.scope is not None and len(call.scope.inputs) != len(base.scope.inputs):
            return None
    orders = _merge_orders(base, members)
    if not _reads_agree(base, members, orders):
        return None
    for path, reads in orders.items():
        dict(base_paths)[path].reads = reads
    return base


COMMUTATIVE = ("add", "mul")


def _merge_orders(base: Entry, members: list[Entry]) -> dict[tuple, list[str]]:
    """A sum some calls leave out stands for its first input: `x + self.conv(x)` is written
    `[conv, input]`, what the calls without it go on with (their last entry, or what the next
    entry reads in its place)."""
    template = dict(_paths(base.children))
    orders = {}
    for call in members:
        present = dict(_paths(call.children))
        for path, entry in template.items():
            if path in present or entry.type not in COMMUTATIVE or len(path) != 1:
                continue
            level = [e.name for e in call.children]
            later = [e for e in base.children[[e.name for e in base.children].index(path[0]) + 1 :]]
            instead = level[-1] if not later else _read_instead(later, path[0], present)
            if instead in entry.reads:
                orders[path] = [instead, *[r for r in entry.reads if r != instead]]
    return orders


def _read_instead(later: list[Entry], name: str, present: dict):
    for entry in later:
        if name in entry.reads and (entry.name,) in present:
            return present[(entry.name,)].reads[entry.reads.index(name)]
    return None


def _reads_agree(base: Entry, members: list[Entry], orders: dict) -> bool:
    """Each call's wiring is the template's, reading a left-out entry as its first input."""
    template = {path: e for path, e in _paths(base.children)}
    for call in members:
        present = {path: e for path, e in _paths(call.children)}
        for path, entry in present.items():
            reads = orders.get(path, template[path].reads)
            wanted = [_resolve(path[:-1], r, template, present, orders) for r in reads]
            if entry.type in COMMUTATIVE and sorted(wanted) == sorted(entry.reads):
                continue
            if wanted != entry.reads:
                return False
    return True


def _resolve(prefix: tuple, name: str, template: dict, present: dict, orders: dict) -> str:
    seen = 0
    while (*prefix, name) in template and (*prefix, name) not in present and seen < 1000:
        reads = orders.get((*prefix, name), template[(*prefix, name)].reads)
        if not reads:
            return name
        name, seen = reads[0], seen + 1
    return name


# ---- arguments -------------------------------------------------------------------------------------


def _block(name: str, cls, members: list[Entry], defaults: dict) -> Block:
    base = _template(members) or members[0]
    base_paths = _paths(base.children)
    per_call = [{path: e for path, e in _paths(c.children)} for c in members]
    args = _Arguments(members, base_paths)
    presence = {path: tuple(path in present for present in per_call) for path, _ in base_paths}  # in which calls
    for path, entry in base_paths:
        parent = presence.get(path[:-1]) if len(path) > 1 else None
        if not all(presence[path]) and presence[path] != parent:
            entry.when = args.flag(entry.name, presence[path])
    for path, entry in base_paths:
        keys = list(dict.fromkeys(k for present in per_call if path in present for k in present[path].fields))
        fields = {}
        for key in keys:
            vector = [
                present[path].fields.get(key, _default(present[path], key, defaults)) if path in present else _ANY
                for present in per_call
            ]
            value = args.value(path, key, vector)
            if value is not _OMIT:
                fields[key] = value
        entry.fields = fields
    inputs = list(base.children and _inputs_of(base))
    source = f"{cls.__module__.removeprefix('cnncalc_against_')}.{cls.__qualname__}"  # a file's module: its stem
    block = Block(name, args.signature(), inputs, base.children, source, len(members))
    for call, values in zip(members, args.calls()):
        call.type, call.fields = name, values
    return block


def drop_identities(members: list[Entry]) -> None:
    """An `nn.Identity()` where other calls of the class have something else (a projection
    shortcut) is left out of those calls: `when:` leaves the other out, to the same effect."""
    others = {(e.name, e.type) for c in members for e in c.children}
    for call in members:
        for entry in list(call.children):
            if entry.type == "identity" and any(n == entry.name and t != "identity" for n, t in others):
                call.children.remove(entry)
                for later in call.children:
                    later.reads = [entry.reads[0] if r == entry.name else r for r in later.reads]


def _inputs_of(call: Entry) -> list[str]:
    from cnncalc.importers.torch_body import input_names

    return input_names(call.scope)


_ANY = object()  # the entry is left out in this call
_OMIT = object()  # the field is at its default in every call: not written


def _default(entry: Entry, key: str, defaults: dict):
    if entry.kind == "call":
        return defaults.get(entry.type, {}).get(key, _ANY)
    from cnncalc.layers import lookup
    from cnncalc.layers.base import LayerType

    layer_type = lookup(entry.type)
    for f in layer_type.fields if layer_type else ():
        if f.name == key:
            default = LayerType.default_of(f)
            if isinstance(default, tuple):
                return default[0] if len(set(default)) == 1 else list(default)
            return default
    return _ANY


# what a flag that leaves out an entry named after its type is called, and an argument for a
# field the spec keeps as a key of its own
FLAG_NAMES = {"add": "shortcut", "mul": "gate", "concat": "join", "repeat": "repeats", "first": "first_args"}


WIDTHS = ("out_channels", "out_features", "num_channels", "groups")  # fields that follow the widths


class _Arguments:
    """The arguments a group of calls needs, found slot by slot."""

    def __init__(self, members: list[Entry], base_paths):
        self.members = members
        self.found: list[tuple[str, list]] = []  # (name, per-call values, _ANY where left out)
        self.flags: dict[tuple, str] = {}
        self.taken = {"in_channels"} | {n for n in _inputs_of(members[0])}
        self.literals = {v for _, e in base_paths for m in [e.fields] for v in m.values() if isinstance(v, str)} | {
            e.type for _, e in base_paths
        }
        self.widths = [
            c.scope.inputs[0].shape[0] if c.scope.inputs and c.scope.inputs[0].shape else None for c in members
        ]
        self.outs = [
            c.scope.outputs[0].shape[0] if c.scope.outputs and c.scope.outputs[0].shape else None for c in members
        ]

    def _name(self, wanted: str) -> str:
        from cnncalc.spec.blocks import unusable_name

        base = re.sub(r"[^A-Za-z0-9_]", "_", wanted).strip("_") or "arg"
        if base[0].isdigit():
            base = "arg_" + base
        name, n = base, 2
        while name in self.taken or name in self.literals or unusable_name(name) or not plain_yaml(name):
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def flag(self, entry_name: str, presence: tuple) -> str:
        if presence not in self.flags:
            wanted = FLAG_NAMES.get(entry_name, entry_name)
            name = self._name(f"with_{wanted}" if wanted.isdigit() or wanted in self.literals else wanted)
            self.flags[presence] = name
            self.found.append((name, list(presence)))
        return self.flags[presence]

    def value(self, path: tuple, key: str, vector: list):
        known = [v for v in vector if v is not _ANY]
        if all(v == known[0] for v in known):
            optional = _ANY in vector  # an entry some calls leave out: its few values say little alone
            if known and (key in WIDTHS or optional) and _is_count(known[0]):  # follows an argument's
                varying = [(n, v) for n, v in self.found if len({_hashable(x) for x in v if x is not _ANY}) > 1]
                same = next((n for n, v in varying if _covers(v, vector) and all(_is_count(x) for x in v)), None)
                related = same or (self._relation(vector, constant=False) if key in WIDTHS else None)
                if related is not None:
                    return related
            return known[0] if known[0] is not _ANY else _OMIT
        for name, values in self.found:
            if _agree(vector, values):
                _fill(values, vector)
                return name
        if all(_is_count(v) for v in known):
            expression = self._relation(vector)
            if expression is not None:
                return expression
        label = next((p for p in reversed(path) if not p.isdigit()), "layer")
        if key == "out_channels" and not _agree(vector, self.outs):
            wanted = f"{label}_channels"  # a width inside the block; out_channels is what it makes
        else:
            wanted = FLAG_NAMES.get(key, key) if key in ("repeat", "first") else key
            wanted = wanted if wanted not in self.taken else f"{label}_{wanted}"
        name = self._name(wanted)
        self.found.append((name, list(vector)))
        return name

    def _relation(self, vector: list, constant: bool = True):
        """`vector` as in_channels, an argument, or a small multiple of either, or None. With
        `constant` False, only where that argument differs between calls (a relation, not a
        coincidence)."""
        if None not in self.widths and _agree(vector, self.widths) and (constant or len(set(self.widths)) > 1):
            return "in_channels"
        for name, values in [("in_channels", self.widths), *self.found]:
            if not all(_is_count(v) and v is not None for v in values):
                continue
            if not constant and len({v for v in values if v is not _ANY}) < 2:
                continue
            for factor in (2, 3, 4, 6, 8):
                scaled = [v * factor if v is not _ANY else _ANY for v in values]
                if all(x is _ANY or y is not _ANY for x, y in zip(vector, scaled)) and _agree(vector, scaled):
                    return f"{factor} * {name}"
        return None

    def signature(self) -> list[tuple]:
        out = []
        for name, values in self.found:
            known = [v for v in values if v is not _ANY]
            common, count = Counter(_hashable(v) for v in known).most_common(1)[0]
            default = next(v for v in known if _hashable(v) == common)
            if isinstance(default, bool) or count * 2 > len(known):
                out.append((name, default))
            else:
                out.append((name, REQUIRED))
        required = [a for a in out if a[1] is REQUIRED]
        return required + [a for a in out if a[1] is not REQUIRED]

    def calls(self) -> list[dict]:
        defaults = dict(self.signature())
        made = []
        for k in range(len(self.members)):
            values = {}
            for name, vector in self.found:
                value = vector[k]
                if value is _ANY:
                    continue
                if defaults[name] is REQUIRED or _hashable(value) != _hashable(defaults[name]):
                    values[name] = value
            made.append(values)
        return made


def _agree(a: list, b: list) -> bool:
    return all(x is _ANY or y is _ANY or _hashable(x) == _hashable(y) for x, y in zip(a, b))


def _covers(values: list, vector: list) -> bool:
    """Whether an argument's `values` are known, and equal, wherever `vector` is known."""
    return all(x is _ANY or (y is not _ANY and _hashable(x) == _hashable(y)) for x, y in zip(vector, values))


def _fill(values: list, vector: list) -> None:
    for k, v in enumerate(vector):
        if values[k] is _ANY:
            values[k] = v


def _is_count(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or value is _ANY


def _hashable(value):
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _hashable(v)) for k, v in value.items())))
    if isinstance(value, bool):
        return ("bool", value)
    return value


# ---- repeats ---------------------------------------------------------------------------------------


def fold_repeats(entries: list[Entry], defaults: dict) -> None:
    """Lists of calls of one block, named as nn.Sequential numbers them, as one repeated call."""
    for entry in entries:
        if entry.kind == "seq":
            fold_repeats(entry.children, defaults)
            _fold(entry, defaults)


def _fold(entry: Entry, defaults: dict) -> None:
    children = entry.children
    if not children or any(c.kind != "call" or c.when or c.type != children[0].type for c in children):
        return
    names = [c.name for c in children]
    naming = _naming(names)
    if naming is None:
        return
    rest = [c.fields for c in children[1:]]
    if any(_hashable_dict(r) != _hashable_dict(rest[0]) for r in rest):
        return
    common = rest[0] if rest else children[0].fields
    first = {k: v for k, v in children[0].fields.items() if _hashable(common.get(k, _ANY)) != _hashable(v)}
    block_defaults = defaults.get(children[0].type, {})
    for key in common:
        if key not in children[0].fields:
            default = block_defaults.get(key, REQUIRED)
            if default is REQUIRED:
                return
            first[key] = default
    entry.kind, entry.type, entry.fields = "call", children[0].type, dict(common)
    entry.fields["repeat"] = len(children)
    if naming:
        entry.fields["repeat_name"] = naming
    if first:
        entry.fields["first"] = first
    entry.children = []


def _hashable_dict(fields: dict):
    return tuple(sorted((k, _hashable(v)) for k, v in fields.items()))


def _naming(names: list[str]) -> str | None:
    """How repeat names the calls: None for 0, 1, ...; a repeat_name pattern; or not foldable."""
    if names == [str(k) for k in range(len(names))]:
        return ""
    match = re.fullmatch(r"([A-Za-z_][A-Za-z_]*?)(\d+)", names[0])
    if match:
        prefix, start = match.group(1), int(match.group(2))
        if start in (0, 1) and names == [f"{prefix}{start + k}" for k in range(len(names))]:
            return f"{prefix}{{{'n' if start == 1 else 'i'}}}"
    return None
