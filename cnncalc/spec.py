"""Spec files: from YAML text to a validated, located list of layers.

Every schema problem in the file is collected and reported together; shape
problems are found later, by the engine, one at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cnncalc import yamlload
from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.errors import Diagnostic, Loc, SpecError
from cnncalc.layers import REGISTRY, lookup, suggest
from cnncalc.layers.base import COMMON_KEYS, FieldError, LayerType, Shape, yaml_text
from cnncalc.yamlload import YNode

TOP_LEVEL_KEYS = ("name", "input", "layers", "description", "budget")
# budget limits: spec key -> (what is limited, unit)
BUDGET_LIMITS = {
    "max_params": ("params", "count"),
    "max_trainable_params": ("trainable_params", "count"),
    "max_macs": ("macs", "count"),
    "max_flops": ("flops", "count"),
    "max_memory": ("memory", "bytes"),
}
BUDGET_SETTINGS = ("batch_size", "dtype", "optimizer", "training")
BUDGET_UNITS = dict(BUDGET_LIMITS.values())  # what is limited -> "count" or "bytes"
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class LayerSpec:
    """One entry of `layers:`, validated: canonical field names, defaults filled."""

    index: int
    name: str
    layer: LayerType
    cfg: dict
    trainable: bool
    loc: Loc
    field_locs: dict[str, Loc] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()  # layer names, or "input" for the network's input
    inputs_given: bool = False  # written as `inputs:` rather than implied by the order

    @property
    def type_name(self) -> str:
        return self.layer.type_name

    def loc_of(self, field_name: str | None) -> Loc:
        """Where `field_name` is written, or where the layer starts if it is not."""
        return self.field_locs.get(field_name, self.loc) if field_name else self.loc


@dataclass(frozen=True)
class Budget:
    """Limits a spec sets for `cnncalc check`, each with where it is written.

    Memory is the inference peak, or with `training: true` the training total,
    at `batch_size` and `dtype` (and `optimizer` for training).
    """

    limits: dict[str, tuple[int, Loc]]  # "params", "macs", ... -> (limit, location)
    batch_size: int = 1
    dtype: str = DEFAULT_DTYPE
    optimizer: str = DEFAULT_OPTIMIZER
    training: bool = False


@dataclass(frozen=True)
class Spec:
    name: str
    description: str | None
    input_shape: Shape
    layers: list[LayerSpec]
    path: str
    source: str
    input_loc: Loc
    budget: Budget | None = None

    @property
    def order(self) -> tuple[int, ...]:
        """Positions in `layers`, each after the layers it reads."""
        return dependency_order(self.layers)[0]

    @property
    def is_graph(self) -> bool:
        return any(layer.inputs_given for layer in self.layers)


def dependency_order(layers: list[LayerSpec]) -> tuple[tuple[int, ...], list[int] | None]:
    """(positions with every layer after its inputs, None), or ((), the positions on a cycle)."""
    by_name = {layer.name: position for position, layer in enumerate(layers)}
    state: dict[int, str] = {}
    order: list[int] = []
    for start in range(len(layers)):
        if start in state:
            continue
        # depth-first, iteratively: (position, its inputs still to visit)
        path = [start]
        stack = [(start, iter(layers[start].inputs))]
        state[start] = "visiting"
        while stack:
            position, pending = stack[-1]
            source = next((by_name[n] for n in pending if n in by_name), None)
            if source is None:
                stack.pop()
                path.pop()
                state[position] = "done"
                order.append(position)
            elif state.get(source) == "visiting":
                return (), path[path.index(source) :] + [source]
            elif source not in state:
                state[source] = "visiting"
                path.append(source)
                stack.append((source, iter(layers[source].inputs)))
    return tuple(order), None


def load_file(path: str) -> Spec:
    """Read and parse the spec at `path` ('-' reads standard input)."""
    import sys

    if path == "-":
        data = sys.stdin.buffer.read()
        shown = "<stdin>"
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise SpecError(
                [Diagnostic("spec.unreadable", f"cannot read spec: {exc.strerror}", Loc(path, 1, 1))]
            ) from None
        shown = path
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError([Diagnostic("spec.encoding", "spec is not UTF-8 text", Loc(shown, line, column))]) from None
    default_name = "spec" if path == "-" else _stem(path)
    return parse(text, shown, default_name=default_name)


def load_file_or_revision(argument: str) -> Spec:
    """A spec from a file, '-' for standard input, or REV:PATH for a file at a git revision.

    An existing file wins over the revision reading, so paths containing ':' still work.
    PATH is relative to the current directory (as `git show REV:./PATH` reads it) or,
    failing that, to the repository's root.
    """
    import os

    if argument == "-" or os.path.exists(argument) or ":" not in argument:
        return load_file(argument)
    revision, path = argument.split(":", 1)
    text = _git_show(revision, path, argument)
    return parse(text, argument, default_name=_stem(path))


def _git_show(revision: str, path: str, argument: str) -> str:
    import subprocess

    candidates = [path] if path.startswith(("./", "../", "/")) else [f"./{path}", path]
    problem = "git is not installed"
    for candidate in candidates:
        try:
            done = subprocess.run(
                ["git", "show", f"{revision}:{candidate}"], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = str(exc)
            break
        if done.returncode == 0:
            try:
                return done.stdout.decode("utf-8-sig")
            except UnicodeDecodeError:
                problem = "the file is not UTF-8 text"
                break
        problem = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1] if done.stderr else "git failed"
    raise SpecError(
        [Diagnostic("spec.unreadable", f"cannot read {argument!r} from git: {problem}", Loc(argument, 1, 1))]
    )


def _stem(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def parse(text: str, path: str = "<spec>", *, default_name: str = "model") -> Spec:
    """Parse spec text; raises SpecError listing every problem found."""
    root = yamlload.load(text, path)
    return _Parser(text, path).spec(root, default_name)


@dataclass
class _Entry:
    """A `layers:` entry split into its parts, before its fields are checked."""

    index: int
    layer: LayerType
    name: str | None
    name_loc: Loc
    trainable: bool
    raw: dict[str, YNode]  # key as written -> value; "" for a bare main argument
    key_locs: dict[str, Loc]
    loc: Loc
    inputs_node: YNode | None = None
    field_locs: dict[str, Loc] = field(default_factory=dict)


NETWORK_INPUT = "input"  # what `inputs:` calls the network's input


class _Parser:
    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, loc: Loc) -> None:
        self.diagnostics.append(Diagnostic(code, message, loc))

    def fail(self) -> SpecError:
        ordered = sorted(self.diagnostics, key=lambda d: (d.loc.line, d.loc.column) if d.loc else (0, 0))
        return SpecError(ordered, self.text)

    def spec(self, root: YNode | None, default_name: str) -> Spec:
        if root is None:
            self.error("spec.empty", "spec is empty; it needs `input:` and `layers:`", Loc(self.path, 1, 1))
            raise self.fail()
        if not isinstance(root.value, dict):
            self.error("spec.bad-value", "a spec is a mapping with `input:` and `layers:`", root.loc)
            raise self.fail()
        top = root.value
        misspelt = set()
        for key in top:
            if key not in TOP_LEVEL_KEYS:
                misspelt.add(self.unknown_key(key, TOP_LEVEL_KEYS, root.key_locs[key], "at the top level"))

        name = default_name
        if "name" in top:
            if isinstance(top["name"].value, str) and top["name"].value.strip():
                name = top["name"].value
            else:
                self.error("spec.bad-value", "name: expected a non-empty string", top["name"].loc)
        if "description" in top and not isinstance(top["description"].value, str):
            self.error("spec.bad-value", "description: expected a string", top["description"].loc)

        input_shape: Shape = ()
        if "input" in top:
            input_shape = self.input_shape(top["input"])
        elif "input" not in misspelt:
            self.error("spec.missing-key", "missing `input:`, the input shape, e.g. [3, 224, 224]", root.loc)
        input_loc = top["input"].loc if "input" in top else root.loc

        layers: list[LayerSpec] = []
        if "layers" not in top:
            if "layers" not in misspelt:
                self.error("spec.missing-key", "missing `layers:`, the list of layers", root.loc)
        elif not isinstance(top["layers"].value, list) or not top["layers"].value:
            self.error("spec.bad-value", "layers: expected a non-empty list of layers", top["layers"].loc)
        else:
            layers = self.layers(top["layers"].value)
        if not self.diagnostics:
            self.check_cycles(layers)
        budget = self.budget(top["budget"]) if "budget" in top else None
        if self.diagnostics:
            raise self.fail()
        description = top["description"].value if "description" in top else None
        return Spec(name, description, input_shape, layers, self.path, self.text, input_loc, budget)

    def check_cycles(self, layers: list[LayerSpec]) -> None:
        cycle = dependency_order(layers)[1]
        if cycle:
            self.error(
                "graph.cycle",
                "layers form a cycle, each reading the next: " + " -> ".join(layers[i].name for i in cycle),
                layers[cycle[0]].loc,
            )

    def budget(self, node: YNode) -> Budget | None:
        from cnncalc.quantity import QuantityError, parse_quantity

        if not isinstance(node.value, dict) or not node.value:
            self.error(
                "spec.bad-value", "budget: expected a mapping such as {max_params: 25M, max_macs: 4.1G}", node.loc
            )
            return None
        limits: dict[str, tuple[int, Loc]] = {}
        settings: dict = {}
        errors_before = len(self.diagnostics)
        for key, value in node.value.items():
            if key in BUDGET_LIMITS:
                what, unit = BUDGET_LIMITS[key]
                try:
                    limits[what] = (parse_quantity(value.value, unit=unit), node.key_locs[key])
                except QuantityError as exc:
                    self.error("spec.bad-value", f"budget: {key}: {exc}", value.loc)
            elif key == "batch_size":
                if isinstance(value.value, int) and not isinstance(value.value, bool) and value.value >= 1:
                    settings[key] = value.value
                else:
                    self.error(
                        "spec.bad-value",
                        f"budget: batch_size: expected an integer >= 1, got {yaml_text(value.value)}",
                        value.loc,
                    )
            elif key in ("dtype", "optimizer"):
                choices = tuple(DTYPE_BYTES if key == "dtype" else OPTIMIZER_STATES)
                if value.value in choices:
                    settings[key] = value.value
                else:
                    self.error(
                        "spec.bad-value",
                        f"budget: {key}: expected one of {', '.join(choices)}, got {yaml_text(value.value)}",
                        value.loc,
                    )
            elif key == "training":
                if isinstance(value.value, bool):
                    settings[key] = value.value
                else:
                    self.error("spec.bad-value", "budget: training: expected true or false", value.loc)
            else:
                self.unknown_key(key, (*BUDGET_LIMITS, *BUDGET_SETTINGS), node.key_locs[key], "in budget")
        if not limits and len(self.diagnostics) == errors_before:
            self.error(
                "spec.bad-value",
                f"budget: sets no limit; give at least one of {', '.join(BUDGET_LIMITS)}",
                node.loc,
            )
        return Budget(limits, **settings)

    def input_shape(self, node: YNode) -> Shape:
        items = node.value if isinstance(node.value, list) else None
        ok = bool(items) and all(
            isinstance(i.value, int) and not isinstance(i.value, bool) and i.value >= 1 for i in items
        )
        if not ok:
            self.error(
                "spec.bad-value",
                f"input: expected a shape such as [3, 224, 224] (channels, height, width) "
                f"or [784] (features), got {yaml_text(node.plain())}",
                node.loc,
            )
            return ()
        return tuple(i.value for i in items)

    def unknown_key(self, key: str, known, loc: Loc, where: str) -> str | None:
        hint = suggest(key, known)
        self.error(
            "spec.unknown-key",
            f"unknown key {key!r} {where}" + (f"; did you mean {hint!r}?" if hint else ""),
            loc,
        )
        return hint

    def layers(self, entries: list[YNode]) -> list[LayerSpec]:
        parsed = [self.entry(i, node) for i, node in enumerate(entries)]
        explicit = {p.name for p in parsed if p and p.name}
        counters: dict[str, int] = {}
        seen: dict[str, Loc] = {}
        result = []
        previous = NETWORK_INPUT
        for p in parsed:
            if p is None:
                continue
            name = p.name
            if name is None:  # conv2d_1, conv2d_2, ... skipping names the user took
                while True:
                    counters[p.layer.type_name] = counters.get(p.layer.type_name, 0) + 1
                    name = f"{p.layer.type_name}_{counters[p.layer.type_name]}"
                    if name not in explicit:
                        break
            elif name in seen:
                first = seen[name]
                repeated = first == p.loc  # `- *block` repeats the anchored entry, name and all
                self.error(
                    "spec.duplicate-name",
                    f"layer name {name!r} is used twice: a YAML alias repeats this layer; "
                    f"give the copy its own name with `{{<<: *anchor, name: ...}}`"
                    if repeated
                    else f"layer name {name!r} is already used by the layer at line {first.line}",
                    p.name_loc,
                )
            seen.setdefault(name, p.loc)
            cfg = self.config(name, p)
            if p.inputs_node is not None:
                p.field_locs["inputs"] = p.inputs_node.loc
            if cfg is not None:
                inputs = self.inputs(name, p, previous, set(seen) | explicit)
                result.append(
                    LayerSpec(
                        p.index, name, p.layer, cfg, p.trainable, p.loc, p.field_locs, inputs, p.inputs_node is not None
                    )
                )
            previous = name
        return result

    def inputs(self, name: str, p: _Entry, previous: str, known: set[str]) -> tuple[str, ...]:
        """The layer's inputs: `inputs:` as written, or the layer before it."""
        label = f"layer {name!r} ({p.layer.type_name})"
        node = p.inputs_node
        if node is None:
            names: tuple[str, ...] = (previous,)
        else:
            items = node.value if isinstance(node.value, list) else [node]
            if not items or not all(isinstance(item.value, str) for item in items):
                self.error("spec.bad-value", f"{label}: inputs: expected a layer name or a list of them", node.loc)
                return ()
            names = tuple(item.value for item in items)
            for item in items:
                if item.value != NETWORK_INPUT and item.value not in known:
                    hint = suggest(item.value, sorted(known | {NETWORK_INPUT}))
                    self.error(
                        "graph.unknown-input",
                        f"{label}: no layer is named {item.value!r}" + (f"; did you mean {hint!r}?" if hint else ""),
                        item.loc,
                    )
        where = node.loc if node is not None else p.loc
        if p.layer.merges and len(names) < 2:
            self.error("graph.arity", f"{label}: needs two or more inputs, e.g. inputs: [a, b]", where)
        elif not p.layer.merges and len(names) != 1:
            self.error("graph.arity", f"{label}: takes one input, got {len(names)}", where)
        if node is not None and name in names:
            self.error("graph.cycle", f"{label}: takes its own output as input", where)
        return names

    def entry(self, index: int, node: YNode) -> _Entry | None:
        """Split one `layers:` entry into its type, name, flags and raw fields."""
        parts = self.split_entry(index, node)
        if parts is None:
            return None
        type_node, raw, key_locs, common = parts
        layer = self.layer_type(index, type_node)
        if layer is None:
            return None
        name, name_loc = self.layer_name(index, layer, common, node.loc)
        trainable = self.trainable(index, layer, common)
        return _Entry(index, layer, name, name_loc, trainable, raw, key_locs, node.loc, common.get("inputs"))

    def split_entry(self, index: int, node: YNode):
        """(type node, raw fields, their key locations, common keys) for each entry form, or None."""
        if isinstance(node.value, str):  # - relu
            return node, {}, {}, {}
        if isinstance(node.value, dict) and "type" in node.value:  # - {type: conv2d, ...}
            fields = {k: v for k, v in node.value.items() if k not in COMMON_KEYS}
            common = {k: v for k, v in node.value.items() if k in COMMON_KEYS}
            return node.value["type"], fields, {k: node.key_locs[k] for k in fields}, common
        if isinstance(node.value, dict) and node.value:  # - linear: 128 / - conv2d: {...}
            return self.split_keyed_entry(index, node)
        self.error(
            "spec.bad-layer",
            f"layer {index + 1}: expected a layer such as `relu`, `linear: 128` or "
            f"`{{type: conv2d, out_channels: 32, kernel_size: 3}}`, got {yaml_text(node.plain())}",
            node.loc,
        )
        return None

    def split_keyed_entry(self, index: int, node: YNode):
        """`- conv2d: {...}` or `- linear: 128`, with `name:`/`trainable:` beside the type key."""
        common = {k: v for k, v in node.value.items() if k in COMMON_KEYS}
        type_keys = [k for k in node.value if k not in COMMON_KEYS]
        named_types = [k for k in type_keys if lookup(k) is not None]
        if len(type_keys) > 1 and len(named_types) == 1 and node.value[named_types[0]].value is None:
            # `- conv2d:` with its fields indented beside it rather than under it
            key = named_types[0]
            fields = {k: node.value[k] for k in type_keys if k != key}
            return YNode(key, node.key_locs[key]), fields, {k: node.key_locs[k] for k in fields}, common
        if len(type_keys) != 1:
            self.error(
                "spec.bad-layer",
                f"layer {index + 1}: write one layer per entry, as `- conv2d: {{...}}` or "
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

    def layer_type(self, index: int, type_node: YNode) -> LayerType | None:
        if not isinstance(type_node.value, str):
            self.error("spec.bad-value", f"layer {index + 1}: type: expected a layer type name", type_node.loc)
            return None
        layer = lookup(type_node.value)
        if layer is None:
            hint = suggest(type_node.value, REGISTRY)
            self.error(
                "spec.unknown-type",
                f"layer {index + 1}: unknown layer type {type_node.value!r}"
                + (f"; did you mean {hint!r}?" if hint else "; `cnncalc layers` lists the types"),
                type_node.loc,
            )
        return layer

    def layer_name(self, index: int, layer: LayerType, common: dict, entry_loc: Loc) -> tuple[str | None, Loc]:
        if "name" not in common:
            return None, entry_loc
        node = common["name"]
        if node.value == NETWORK_INPUT:
            self.error(
                "spec.bad-value",
                f"layer {index + 1} ({layer.type_name}): the name {NETWORK_INPUT!r} is kept for the network's input",
                node.loc,
            )
            return None, node.loc
        if isinstance(node.value, str) and _NAME_PATTERN.match(node.value):
            return node.value, node.loc
        self.error(
            "spec.bad-value",
            f"layer {index + 1} ({layer.type_name}): name: expected letters, digits, '_' or '-', "
            f"starting with a letter or '_', got {yaml_text(node.value)}",
            node.loc,
        )
        return None, node.loc

    def trainable(self, index: int, layer: LayerType, common: dict) -> bool:
        if "trainable" not in common:
            return True
        node = common["trainable"]
        if isinstance(node.value, bool):
            return node.value
        self.error(
            "spec.bad-value",
            f"layer {index + 1} ({layer.type_name}): trainable: expected true or false",
            node.loc,
        )
        return True

    def config(self, name: str, p: _Entry) -> dict | None:
        """Check the raw fields against the layer type's schema; fill defaults."""
        layer: LayerType = p.layer
        label = f"layer {name!r} ({layer.type_name})"
        by_name = {}
        for f in layer.fields:
            for key in (f.name, *f.aliases):
                by_name[key] = f
        cfg: dict = {}
        ok = True
        misspelt: set[str] = set()  # fields an unknown key probably meant
        given_as: dict[str, str] = {}  # field -> the key that set it
        for key, node in p.raw.items():
            key_loc = p.key_locs[key]
            if key == "":  # `linear: 128`: a bare value sets the main field
                if layer.main_field is None:
                    self.error(
                        "spec.bad-value",
                        f"{label}: takes no main argument; write its fields as a mapping, "
                        f"got {yaml_text(node.plain())}",
                        node.loc,
                    )
                    ok = False
                    continue
                f = next(f for f in layer.fields if f.name == layer.main_field)
            elif key in by_name:
                f = by_name[key]
            elif key == "activation":
                self.error(
                    "spec.unknown-key",
                    f"{label}: layers have no `activation` field (that is Keras); add the activation "
                    f"as its own layer after this one, e.g. `- relu`",
                    key_loc,
                )
                ok = False
                continue
            elif key in COMMON_KEYS:
                self.error(
                    "spec.misplaced-key",
                    f"{label}: {key!r} goes beside the type key, not among its fields: write "
                    f"`- {{type: {layer.type_name}, {key}: ..., ...}}`, or put `{key}:` on its own line "
                    f"under `- {layer.type_name}: ...`",
                    key_loc,
                )
                ok = False
                continue
            else:
                known = [f.name for f in layer.fields] + [a for f in layer.fields for a in f.aliases]
                hint = suggest(key, known + list(COMMON_KEYS))
                if hint in by_name:
                    misspelt.add(by_name[hint].name)
                fields = ", ".join(f.name for f in layer.fields) or "none"
                self.error(
                    "spec.unknown-key",
                    f"{label}: unknown key {key!r}"
                    + (f"; did you mean {hint!r}?" if hint else f"; its fields are: {fields}"),
                    key_loc,
                )
                ok = False
                continue
            if f.name in given_as:
                self.error(
                    "spec.duplicate-key",
                    f"{label}: {f.name} is given twice, as {given_as[f.name]!r} and as {key!r}",
                    key_loc,
                )
                ok = False
                continue
            p.field_locs[f.name] = node.loc
            given_as[f.name] = key or "its main argument"
            value = node.plain()
            if value is None and (f.default is None or f.nullable):
                cfg[f.name] = None
            else:
                try:
                    cfg[f.name] = f.kind.parse(value)
                except FieldError as exc:
                    self.error("spec.bad-value", f"{label}: {f.name}: {exc}", node.loc)
                    ok = False
                    continue
        for f in layer.fields:
            if f.name not in cfg:
                if f.name in p.field_locs or f.name in misspelt:  # already reported
                    ok = False
                    continue
                if f.required:
                    self.error(
                        "spec.missing-key",
                        f"{label}: missing required field {f.name}",
                        p.loc,
                    )
                    ok = False
                else:
                    cfg[f.name] = None if f.default is None else f.kind.parse(f.default)
        return cfg if ok else None
