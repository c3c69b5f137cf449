"""Spec files: from YAML text to a validated, located list of layers.

Every schema problem in the file is collected and reported together; shape
problems are found later, by the engine, one at a time.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from functools import cached_property

from cnncalc import yamlload
from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.errors import Diagnostic, LayerError, Loc, SpecError
from cnncalc.layers import REGISTRY, lookup, suggest
from cnncalc.layers.base import COMMON_KEYS, FieldError, LayerType, Shape, yaml_text
from cnncalc.yamlload import YNode

TOP_LEVEL_KEYS = ("name", "input", "layers", "description", "budget", "blocks", "include")
# Keys an entry of `layers:` may carry besides its type and fields.
ENTRY_KEYS = (*COMMON_KEYS, "when", "repeat", "first", "repeat_name", "outputs")
MAX_LAYERS = 100_000  # a spec expanding to more is a mistake (repeat: 1000 inside repeat: 1000)
MAX_INCLUDES = 100
MAX_DIAGNOSTICS = 100
MAX_COPIES = 50 * MAX_LAYERS  # values expansion copies into calls (a 100,000-layer spec copies about 800,000)
MAX_NESTING = 50  # blocks inside blocks
MAX_LIST_NESTING = 16  # sequential lists inside lists: the export nests their nn.Sequential calls in one expression
RESERVED_ARGUMENTS = frozenset({"self", "torch", "nn", "super", "OrderedDict", "i", *ENTRY_KEYS, "sequential"})
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
# matched whole (fullmatch): `$` would let a trailing newline through
_HYPHENATED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)+")
# digits alone: nn.Sequential indices; at most 100 characters (a name is copied into every layer inside it)
_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,99}|[0-9]{1,9}")
MAX_FULL_NAME = 500  # characters in a dotted name such as layer2.0.conv1


@dataclass(eq=False)
class Group:
    """A block call, one repetition of a repeated call, or a `sequential:` list.

    Its layers are consecutive in the spec's layer list; `output` is the full name
    of the layer whose output is the group's.
    """

    name: str  # full dotted name, e.g. "layer2" or "layer2.0"
    block: str  # the block's name, or "sequential"
    repeat: int | None  # N for a `repeat: N` call (its repetitions are groups too)
    loc: Loc
    depth: int  # 0 for a group written in the top-level `layers:`
    output: str = ""
    layer_count: int = 0
    output_ref: object = None
    # what the export needs to write the group as a module:
    entries: list[Entry] = field(default_factory=list)  # its own entries, in order
    inputs: tuple = ()  # the tensors it reads (full names, once resolved)
    arguments: dict = field(default_factory=dict)  # a block call's argument and `let:` values
    call: dict[str, str] = field(default_factory=dict)  # the arguments as written at the call, as Python
    repeat_name: str = "{i}"

    @property
    def kind(self) -> str:
        """'bottleneck', or 'bottleneck x4' for a repeated call."""
        return self.block if self.repeat is None else f"{self.block} x{self.repeat}"


@dataclass
class Entry:
    """One entry of a group (or the top level) as written: what the export mirrors.

    `inputs` are local names ("input" for the group's first input); `target` is the layer's
    full name or the Group; an entry left out by `when:` has present False.
    """

    local: str
    kind: str  # "layer" or "group"
    target: object
    inputs: tuple[str, ...]
    when: str | None = None  # the condition as written
    present: bool = True


@dataclass(frozen=True)
class Block:
    """A block definition from `blocks:`."""

    name: str
    params: dict  # argument -> default YNode, or REQUIRED_ARGUMENT
    let: dict[str, YNode]
    inputs: tuple[str, ...]  # what its layers call its inputs; ("input",) by default
    layers: list[YNode]
    loc: Loc
    reads_input_channels: bool = False  # its expressions use `in_channels` (not an argument)


REQUIRED_ARGUMENT = object()


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
    groups: tuple[Group, ...] = ()  # the block calls and lists it is inside, outermost first
    exprs: dict[str, str] = field(default_factory=dict)  # inside a block: field -> expression as written

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
    groups: tuple[Group, ...] = ()  # every block call and list, in spec order
    sources: dict[str, str] = field(default_factory=dict)  # included files' text, by path
    blocks: dict[str, Block] = field(default_factory=dict)
    root: Group | None = None  # the top level's entries, for the export
    every_group: tuple[Group, ...] = ()  # `groups`, and calls whose layers were all left out

    @cached_property
    def order(self) -> tuple[int, ...]:
        """Positions in `layers`, each after the layers it reads; sorted once (a spec is frozen)."""
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
    """Read and parse the spec at `path` ('-' reads standard input); see cnncalc.sources."""
    from cnncalc import sources

    text, shown = sources.read_spec(path)
    default_name = "spec" if path == "-" else _stem(path)
    return parse(text, shown, default_name=default_name)


def load_file_or_revision(argument: str) -> Spec:
    """A spec from a file, '-' for standard input, or REV:PATH for a file at a git revision.

    REV:PATH is read from git when REV is a revision; PATH is relative to the current directory
    or, failing that, to the repository's top. An argument that is also an existing file is
    refused as ambiguous; one that is a file and not a revision is read as a file, so paths
    containing ':' still work.
    """
    from cnncalc import sources

    found = sources.revision_argument(argument)
    if found is None:
        return load_file(argument)
    revision, path, commit = found
    files = sources.GitFiles(argument, revision, commit)
    text = files.read_top(path)
    return parse(text, argument, default_name=_stem(path), files=files)


def unusable_name(name: str) -> str | None:
    """Why `name` cannot name a block's argument or `let:` value, or None if it can. Such names
    become Python names in the exported code, so they are identifiers that are not keywords,
    builtins, dunder names or names that code uses."""
    import builtins

    from cnncalc import expressions

    if not expressions.is_name(name):
        return "is not a name (letters, digits and '_', not starting with a digit, at most 100 characters)"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name in expressions.FUNCTIONS:
        return "is a function of the expression language"
    if name in RESERVED_ARGUMENTS:
        return "is kept for cnncalc's own use (entry keys, the repetition index i, the exported code's names)"
    if name.startswith("__"):
        return "starts with '__', as Python's own names do"
    if hasattr(builtins, name):
        return "is a Python builtin name"
    return None


def _is_expression_default(default, params: dict) -> bool:
    """A default computed from other arguments (`mid: c // 4`, `out: c`), not a plain value."""
    from cnncalc import expressions

    if default is REQUIRED_ARGUMENT or not isinstance(default.value, str):
        return False
    try:
        return expressions.parse(default.value) is not None or default.value.strip() in (*params, "in_channels")
    except expressions.ExpressionError:
        return True


def _quoted(text: str, limit: int = 80) -> str:
    """An expression quoted in a message, cut to `limit` characters."""
    return _shown(text if len(text) <= limit else text[: limit - 3] + "...")


def _shown(text: str) -> str:
    """A name quoted in a message, control characters escaped."""
    return repr(text) if text.isprintable() else ascii(text)


def _stem(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def parse(text: str, path: str = "<spec>", *, default_name: str = "model", files=None) -> Spec:
    """Parse spec text; raises SpecError listing every problem found. `files` finds and reads
    included files (cnncalc.sources: from disk, inside the spec's tree, by default)."""
    root = yamlload.load(text, path)
    return _Parser(text, path, files).spec(root, default_name)


@dataclass
class _Entry:
    """A `layers:` entry split into its parts, before its fields are checked."""

    layer: LayerType
    raw: dict[str, YNode]  # key as written -> value; "" for a bare main argument
    key_locs: dict[str, Loc]
    loc: Loc
    field_locs: dict[str, Loc] = field(default_factory=dict)
    field_exprs: dict[str, str] = field(default_factory=dict)


NETWORK_INPUT = "input"  # what `inputs:` calls the network's input
INVALID = object()  # a value whose expression failed (and was reported): checked no further
UNKNOWN = object()  # in_channels where the block's input shape cannot be worked out


class _TooLarge(Exception):
    """The expansion passed MAX_LAYERS; reported where it happened."""


@dataclass(eq=False)
class _Scope:
    """Where entries are being expanded: the top level, a block call, or a sequential list."""

    prefix: str  # "layer2.0." inside a block call, "" at the top level
    env: dict | None  # argument values inside a block; None at the top level
    names: dict  # local name -> full name of its output, or a _Ref to follow
    groups: tuple[Group, ...] = ()
    blocks_open: tuple[str, ...] = ()  # blocks being expanded, to catch a block using itself
    trainable: bool = True
    sequential: bool = False
    context: str = ""  # for messages: "block 'bottleneck', "
    group: Group | None = None  # whose entries are recorded
    first_input: str = NETWORK_INPUT  # the local name of what the first entry reads


@dataclass(frozen=True, eq=False)
class _Ref:
    """A name used in `inputs:`, looked up once its scope is complete (any order is allowed)."""

    scope: _Scope
    name: str


@dataclass
class _Draft:
    name: str
    entry: _Entry
    cfg: dict
    trainable: bool
    inputs: list
    inputs_given: bool
    groups: tuple[Group, ...]


def _is_count(value) -> bool:
    """A valid `repeat:` value."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LAYERS


def _entry_parts(node: YNode, blocks: dict) -> tuple[object, YNode | None, dict[str, YNode]]:
    """(type, main argument, entry keys) of an entry as written, unchecked: to tell its size."""
    value = node.value
    if isinstance(value, str):
        return value, None, {}
    if not isinstance(value, dict):
        return None, None, {}
    common = {k: v for k, v in value.items() if k in ENTRY_KEYS}
    if "type" in value:
        return value["type"].value, None, common
    types = [k for k in value if k not in ENTRY_KEYS]
    if len(types) != 1:  # `- block:` with its arguments beside it
        types = [k for k in types if k in blocks]
    kind = types[0] if len(types) == 1 else None
    return kind, value.get(kind) if kind is not None else None, common


def _mentions(node: YNode, word: str) -> bool:
    """Whether any text in the tree uses `word` as a name."""
    value = node.value
    if isinstance(value, dict):
        return any(_mentions(v, word) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, word) for v in value)
    return isinstance(value, str) and re.search(rf"\b{word}\b", value) is not None


def _name_of(node: YNode) -> str | None:
    name = node.value.get("name") if isinstance(node.value, dict) else None
    return name.value if isinstance(name, YNode) else None


def ast_source(tree) -> str:
    """A checked expression as Python source, written anew (expressions.python_source)."""
    from cnncalc import expressions

    return expressions.python_source(tree)


def _python_source(node: YNode) -> str:
    """A value as Python source: the expression it was computed from, or its literal."""
    return node.source if node.source is not None else repr(node.plain())


def _size(value) -> int:
    """How many values a plain value (or a YNode) holds, itself included."""
    if isinstance(value, YNode):
        return _size(value.value)
    if isinstance(value, dict):
        return 1 + sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_size(v) for v in value)
    return 1


def _to_node(value, loc: Loc) -> YNode:
    """A computed value as a located node, lists item by item."""
    if isinstance(value, YNode):
        return value
    if isinstance(value, list):
        return YNode([_to_node(v, loc) for v in value], loc)
    if isinstance(value, dict):
        return YNode({k: _to_node(v, loc) for k, v in value.items()}, loc, {k: loc for k in value})
    return YNode(value, loc)


class _Parser:
    def __init__(self, text: str, path: str, files=None):
        self.text = text
        self.path = path
        self.files = files  # finds and reads included files (cnncalc.sources); from disk if None
        self.include_failed = False
        self.network_input: Shape = ()
        self.draft_by_name: dict[str, _Draft] = {}
        self.shapes: dict[str, Shape | None] = {}
        self.cut_expression = False  # an expression YAML split at a comma was reported
        self.argument_names: set[str] = (
            set()
        )  # the block's names, while its layers' fields are checked  # then unknown types are likely its blocks: not reported again
        self.diagnostics: list[Diagnostic] = []
        self.sources: dict[str, str] = {path: text}
        self.blocks: dict[str, Block] = {}
        self.drafts: list[_Draft] = []
        self.groups: list[Group] = []
        self.context = ""
        self.visits = 0
        self.copies = 0  # values copied while expanding (see charge)
        self.reported: set = set()
        self.expanding = False
        self.root = Group("", "", None, Loc(path, 1, 1), -1)
        self.bounds: dict[str, int] = {}  # block -> up to how many layers a call of it makes

    def error(self, code: str, message: str, loc: Loc) -> None:
        # a mistake inside a block is met once per call; say it once
        if (code, loc) not in self.reported:
            self.reported.add((code, loc))
            self.diagnostics.append(Diagnostic(code, message, loc))
            if len(self.diagnostics) >= MAX_DIAGNOSTICS and self.expanding:
                raise _TooLarge()  # enough to go on with; the rest are likely the same mistake

    def charge(self, amount: int, loc: Loc) -> None:
        """Count values copied while expanding: each call copies its arguments, `let:` values and
        fields, so a large value used by many calls would cost their product; refused, located."""
        self.copies += amount
        if self.copies > MAX_COPIES and self.expanding:
            self.error(
                "spec.too-large",
                f"the spec's block calls copy more than {MAX_COPIES:,} values: a large value is used by many calls",
                loc,
            )
            raise _TooLarge()

    def fail(self) -> SpecError:
        files = list(self.sources)
        ordered = sorted(
            self.diagnostics,
            key=lambda d: (
                (files.index(d.loc.file) if d.loc.file in files else 0, d.loc.line, d.loc.column)
                if d.loc
                else (0, 0, 0)
            ),
        )
        return SpecError(ordered, self.text if len(self.sources) == 1 else dict(self.sources))

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
            self.network_input = input_shape
        elif "input" not in misspelt:
            self.error("spec.missing-key", "missing `input:`, the input shape, e.g. [3, 224, 224]", root.loc)
        input_loc = top["input"].loc if "input" in top else root.loc

        if "include" in top:
            self.include(top["include"], self.path, [self.path])
        if "blocks" in top:
            for block in self.block_definitions(top["blocks"]).values():
                self.add_block(block)
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
        groups = tuple(group for group in self.groups if group.layer_count)
        self.root.block = name
        return Spec(
            name,
            description,
            input_shape,
            layers,
            self.path,
            self.text,
            input_loc,
            budget,
            groups,
            self.sources,
            self.blocks,
            self.root,
            tuple(self.groups),
        )

    def add_block(self, block: Block) -> None:
        if block.name in self.blocks:
            first = self.blocks[block.name].loc
            self.error(
                "spec.duplicate-name",
                f"block {block.name!r} is already defined at {first.file}:{first.line}",
                block.loc,
            )
        else:
            self.blocks[block.name] = block

    def include(self, node: YNode, including: str, chain: list[str]) -> None:
        """Read the blocks of each file in `include:`, paths relative to the including file and
        confined as cnncalc.sources says."""
        from cnncalc import sources

        if self.files is None:
            self.files = sources.DiskFiles(self.path)
        items = node.value if isinstance(node.value, list) else [node]
        for item in items:
            if not isinstance(item.value, str) or not item.value.strip():
                self.error("spec.bad-value", "include: expected a file path or a list of them", item.loc)
                continue
            try:
                path = self.files.locate(including, item.value)
            except sources.Refused as exc:
                self.error(exc.code, f"include: {exc.message}", item.loc)
                self.include_failed = True
                continue
            if path in chain:
                self.error("spec.include-cycle", f"include: {' -> '.join([*chain, path])} includes itself", item.loc)
                continue
            if path in self.sources:  # reached again through another file: its blocks are in
                continue
            if len(self.sources) >= MAX_INCLUDES:
                self.error("spec.bad-value", f"include: more than {MAX_INCLUDES} files", item.loc)
                return
            root = self.included(path, item.loc)
            if root is None:
                continue
            for key in root.value:
                if key not in ("blocks", "include", "description"):
                    self.unknown_key(
                        key, ("blocks", "include", "description"), root.key_locs[key], "in an included file"
                    )
            if "include" in root.value:
                self.include(root.value["include"], path, [*chain, path])
            for block in self.block_definitions(root.value["blocks"]).values():
                self.add_block(block)

    def included(self, path: str, item: Loc) -> YNode | None:
        """The tree of the file included as `path` (from the item at `item`), or None once reported.
        A file that is not a spec (not YAML, not a mapping with `blocks:`) is reported without its text."""
        from cnncalc import sources
        from cnncalc.errors import CODES

        failed = self.include_failed
        try:
            text = self.files.read(path)
        except (sources.Refused, OSError, ValueError) as exc:
            if isinstance(exc, sources.Refused):
                code, reason = exc.code, exc.message
            elif isinstance(exc, UnicodeDecodeError):
                code, reason = "spec.unreadable", f"cannot read {path!r}: it is not UTF-8 text"
            else:
                strerror = exc.strerror if isinstance(exc, OSError) else None
                code, reason = "spec.unreadable", f"cannot read {path!r}: {strerror or 'it cannot be opened'}"
            self.error(code, f"include: {reason}", item)
            self.include_failed = True
            return None
        self.sources[path] = ""  # its text shows under errors only once it is known to be a spec
        self.include_failed = True  # until it is
        try:
            root = yamlload.load(text, path)
        except SpecError as exc:
            first = exc.diagnostics[0]
            if first.code == "spec.syntax":
                message = "invalid YAML in an included file (its text is not shown)"
            else:
                message = f"an included file holds plain YAML with `blocks:`; this one has {CODES[first.code]}"
                message += " (its text is not shown)"
            self.error(first.code, message, first.loc)
            return None
        if root is None or not isinstance(root.value, dict) or "blocks" not in root.value:
            where = root.loc if root is not None else Loc(path, 1, 1)
            message = f"{path}: an included file is a mapping with `blocks:` (its text is not shown)"
            self.error("spec.bad-value", message, where)
            return None
        self.sources[path] = text
        self.include_failed = failed
        return root

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

    # ---- layers, blocks and their expansion -------------------------------------------------

    def nth(self, index: int) -> str:
        """'layer 3', or inside a block "block 'bottleneck', layer 3"."""
        return f"{self.context}layer {index + 1}"

    def layers(self, entries: list[YNode]) -> list[LayerSpec]:
        """Expand `layers:` (block calls, repeats, sequential lists) into located LayerSpecs."""
        top = _Scope(prefix="", env=None, names={NETWORK_INPUT: NETWORK_INPUT}, group=self.root)
        self.expanding = True
        try:
            self.layer_bound(entries, "")  # refuse a spec too large before expanding any of it
            self.expand(entries, top, NETWORK_INPUT)
        except _TooLarge:
            return []
        finally:
            self.expanding = False
        if not self.drafts and not self.diagnostics:
            self.error(
                "spec.bad-value", "layers: every entry is left out by `when:`; nothing is left to plan", entries[0].loc
            )
            return []
        result = []
        for position, draft in enumerate(self.drafts):
            inputs = tuple(self.resolve(item) for item in draft.inputs)
            if None in inputs:
                continue
            for group in draft.groups:
                group.layer_count += 1
            result.append(
                LayerSpec(
                    position,
                    draft.name,
                    draft.entry.layer,
                    draft.cfg,
                    draft.trainable,
                    draft.entry.loc,
                    draft.entry.field_locs,
                    inputs,
                    draft.inputs_given,
                    draft.groups,
                    draft.entry.field_exprs,
                )
            )
        for group in self.groups:
            group.output = self.resolve(group.output_ref) or ""
            group.inputs = tuple(self.resolve(item) for item in group.inputs)
        return result

    def channels_of(self, item):
        """The channels of the tensor `item` names, from the layers expanded so far; UNKNOWN if
        they cannot be had yet (a layer defined later, or one that does not plan)."""
        shape = self.shape_of(self.resolve(item)) if item is not None else None
        return shape[0] if shape else UNKNOWN

    def shape_of(self, name: str | None) -> Shape | None:
        if name == NETWORK_INPUT:
            return self.network_input or None
        if name in self.shapes:
            return self.shapes[name]
        draft = self.draft_by_name.get(name)
        shape = None
        if draft is not None:
            self.shapes[name] = None  # a cycle stops here
            in_shapes = [self.shape_of(self.resolve(item)) for item in draft.inputs]
            layer = draft.entry.layer
            ranks_fit = layer.input_rank is None or all(s and len(s) == layer.input_rank for s in in_shapes)
            if in_shapes and all(in_shapes) and ranks_fit:
                try:
                    shape = layer.output_shape_of(draft.cfg, in_shapes)
                except LayerError:
                    shape = None  # reported when the spec is planned
        self.shapes[name] = shape
        return shape

    def resolve(self, item) -> str | None:
        """The full name of the tensor a reference means, following skipped layers and groups."""
        for _ in range(10_000):
            if not isinstance(item, _Ref):
                return item
            item = item.scope.names.get(item.name)
        return None  # pragma: no cover - references always end in a layer

    def expand(self, nodes: list[YNode], scope: _Scope, previous) -> object:
        """Expand entries into self.drafts; returns the reference to the last one's output."""
        explicit = set()
        for node in nodes:
            if isinstance(node.value, dict) and isinstance(node.value.get("name"), YNode):
                if isinstance(node.value["name"].value, str):
                    explicit.add(node.value["name"].value)
            if isinstance(node.value, dict) and isinstance(node.value.get("outputs"), YNode):
                if isinstance(node.value["outputs"].value, list):
                    explicit.update(i.value for i in node.value["outputs"].value if isinstance(i.value, str))
        counters: dict[str, int] = {}
        seen: dict[str, Loc] = {}
        previous_local = scope.first_input
        record = scope.group.entries if scope.group is not None else []
        for index, node in enumerate(nodes):
            self.visits += 1
            if self.visits > MAX_LAYERS * 3 // 2:  # a spec near the limit visits a few entries more than layers
                self.error("spec.too-large", f"{self.nth(index)}: the spec expands to too many entries", node.loc)
                raise _TooLarge()
            parts = self.split_entry(index, node)
            if parts is None:
                continue
            type_node, raw, key_locs, common = parts
            type_node = self.substitute_name(type_node, scope) if scope.env is not None else type_node
            names_only = ("name", "inputs", "outputs", "repeat_name")
            written = _name_of(node)
            named = isinstance(written, str) and _NAME_PATTERN.fullmatch(written)
            early = f"layer {scope.prefix + written!r}" if named else self.nth(index)
            common = {
                k: v if k in names_only else self.substitute(v, scope, f"{early}: {k}") for k, v in common.items()
            }
            if "when" in common and not self.when(early, common["when"]):
                # left out: its name (and its outputs' names) stand for what it reads
                shown = type_node.value if isinstance(type_node.value, str) and len(type_node.value) <= 100 else "?"
                name = self.layer_name(index, shown, common, node.loc)[0]
                label = f"layer {scope.prefix + (name or str(index + 1))!r}"
                inputs, inputs_given = self.entry_inputs(label, common.get("inputs"), scope, previous, (explicit, seen))
                passed_on = inputs[0] if inputs else previous
                skipped = [name] if name else []
                if "outputs" in common and isinstance(common["outputs"].value, list):
                    skipped = [i.value for i in common["outputs"].value if isinstance(i.value, str)]
                for local in skipped:
                    scope.names.setdefault(local, passed_on)
                    seen.setdefault(local, node.loc)
                locals_read = tuple(r.name for r in inputs) if inputs_given else (previous_local,)
                when_node = common["when"]
                when_text = when_node.source or yaml_text(when_node.value)
                # recorded as the entries it would have made, so every call's entries line up
                for local in skipped or [f"#{index}"]:
                    record.append(Entry(local, "layer", None, locals_read, when_text, False))
                previous, previous_local = passed_on, record[-1].local
                continue
            kind = self.entry_kind(index, type_node, scope)
            if kind is None:
                continue
            kind_name = kind if isinstance(kind, str) else kind.name if isinstance(kind, Block) else kind.type_name
            name, name_loc = self.layer_name(index, kind_name, common, node.loc)
            if name is None:
                if scope.sequential:  # numbered as nn.Sequential numbers its modules: present ones only
                    name = str(sum(1 for e in record if e.present))
                else:  # conv2d_1, conv2d_2, ... skipping names the user took
                    while True:
                        counters[kind_name] = counters.get(kind_name, 0) + 1
                        name = f"{kind_name}_{counters[kind_name]}"
                        if name not in explicit:
                            break
            if name in seen or name in explicit and "name" not in common:
                first = seen.get(name) or next(
                    n.value["name"].loc for n in nodes if isinstance(n.value, dict) and _name_of(n) == name
                )
                repeated = first == node.loc  # `- *block` repeats the anchored entry, name and all
                self.error(
                    "spec.duplicate-name",
                    f"layer name {name!r} is used twice: a YAML alias repeats this layer; "
                    f"give the copy its own name with `{{<<: *anchor, name: ...}}`"
                    if repeated
                    else f"layer name {name!r} is already used by the layer at line {first.line}"
                    + (
                        "" if "name" in common else f" (entry {index + 1} of the sequential list is named by its index)"
                    ),
                    name_loc,
                )
            if scope.env is not None and name in scope.names and not scope.sequential and name not in seen:
                self.error(
                    "spec.duplicate-name",
                    f"layer name {name!r} is the block's input; give the layer another name",
                    name_loc,
                )
            seen.setdefault(name, node.loc)
            full = scope.prefix + name
            if len(full) > MAX_FULL_NAME:
                self.error(
                    "spec.too-large",
                    f"layer {_quoted(full)}: names nest to more than {MAX_FULL_NAME} characters; use shorter names",
                    name_loc,
                )
                raise _TooLarge()
            label = f"layer {full!r} ({kind_name})"
            # a call's arguments are worked out per repetition, a list's entries as they are expanded
            if not isinstance(kind, Block) and kind != "sequential":
                raw = {
                    key: self.substitute(value, scope, f"{label}: {key or 'its main argument'}")
                    for key, value in raw.items()
                }
            inputs, inputs_given = self.entry_inputs(label, common.get("inputs"), scope, previous, (explicit, seen))
            locals_read = tuple(r.name for r in inputs) if inputs_given else (previous_local,)
            when_source = None
            if "when" in common:
                when_node = common["when"]
                when_source = when_node.source or yaml_text(when_node.value)
            trainable = self.trainable(label, common) and scope.trainable
            for key in ("repeat", "first", "repeat_name"):
                if key in common and not isinstance(kind, Block):
                    self.error(
                        "spec.bad-value",
                        f"{label}: {key}: is for block calls; define a block to repeat these layers",
                        common[key].loc,
                    )
            if "outputs" in common:
                outputs = self.outputs(label, kind, common, raw, seen)
                if outputs:
                    for position, (output_name, output_loc) in enumerate(outputs):
                        piece = {**raw, "index": YNode(position, output_loc)}
                        piece_locs = {**key_locs, "index": output_loc}
                        full_piece = scope.prefix + output_name
                        inputs_node = common.get("inputs")
                        scope.names[output_name] = self.layer(
                            kind,
                            full_piece,
                            f"layer {full_piece!r} ({kind_name})",
                            piece,
                            piece_locs,
                            output_loc,
                            inputs,
                            inputs_node,
                            scope,
                            trainable,
                        )
                        seen.setdefault(output_name, output_loc)
                        record.append(Entry(output_name, "layer", full_piece, locals_read, when_source))
                    previous = scope.names[outputs[-1][0]]
                    previous_local = outputs[-1][0]
                continue
            groups_before = len(self.groups)
            if isinstance(kind, Block):
                output = self.call(kind, full, label, raw, key_locs, common, node.loc, inputs, scope, trainable)
            elif kind == "sequential":
                output = self.sequential(full, raw, node.loc, inputs, scope, trainable)
            else:
                output = self.layer(
                    kind, full, label, raw, key_locs, node.loc, inputs, common.get("inputs"), scope, trainable
                )
            made = self.groups[groups_before] if len(self.groups) > groups_before else None
            if made is not None:
                record.append(Entry(name, "group", made, locals_read, when_source))
            elif not isinstance(kind, Block) and kind != "sequential":
                record.append(Entry(name, "layer", full, locals_read, when_source))
            scope.names[name] = output
            previous = output
            previous_local = name
        return previous

    def outputs(self, label: str, kind, common: dict, raw: dict, seen: dict[str, Loc]) -> list[tuple[str, Loc]]:
        """The names in `outputs:`, one per piece of a chunk or split."""
        node = common["outputs"]
        if not isinstance(kind, LayerType) or not kind.splits:
            self.error("spec.bad-value", f"{label}: outputs: is for `chunk` and `split`, which make several", node.loc)
            return []
        if "name" in common:
            self.error("spec.bad-value", f"{label}: give either name: or outputs:, not both", common["name"].loc)
        if "index" in raw:
            self.error("spec.bad-value", f"{label}: give either index: or outputs:, not both", raw["index"].loc)
        items = node.value if isinstance(node.value, list) else None
        if not items or not all(isinstance(i.value, str) and _NAME_PATTERN.fullmatch(i.value) for i in items):
            self.error("spec.bad-value", f"{label}: outputs: expected a list of names, e.g. [left, right]", node.loc)
            return []
        names = []
        for item in items:
            if item.value == NETWORK_INPUT or item.value in seen or item.value in (n for n, _ in names):
                self.error(
                    "spec.duplicate-name", f"{label}: outputs: the name {item.value!r} is already used", item.loc
                )
                return []
            names.append((item.value, item.loc))
        return names

    def entry_kind(self, index: int, type_node: YNode, scope: _Scope):
        """A LayerType, a Block, or "sequential"; None (reported) if the type is unknown."""
        value = type_node.value
        if isinstance(value, str):
            if value == "sequential":
                return "sequential"
            if value in self.blocks:
                return self.blocks[value]
        return self.layer_type(index, type_node)

    def entry_inputs(self, label: str, node: YNode | None, scope: _Scope, previous, known: tuple):
        """(what the entry reads, written as `inputs:`): references resolved once the scope is done.
        `known`: collections of the names defined in this scope so far, looked up, never merged
        (a merge per entry made a list of n layers cost n^2)."""
        if node is None:
            return [previous], False
        if scope.sequential:
            self.error(
                "spec.bad-value",
                f"{label}: layers in a `sequential:` list each read the one before; "
                f"move this layer out of the list to give it `inputs:`",
                node.loc,
            )
            return [previous], False
        items = node.value if isinstance(node.value, list) else [node]
        if not items or not all(isinstance(item.value, str) for item in items):
            self.error("spec.bad-value", f"{label}: inputs: expected a layer name or a list of them", node.loc)
            return [], True
        refs = []
        for item in items:
            if item.value not in scope.names and not any(item.value in names for names in known):
                hint = suggest(item.value, sorted({*scope.names, *(n for names in known for n in names)}))
                self.error(
                    "graph.unknown-input",
                    f"{label}: no layer is named {item.value!r}"
                    + (" in this block" if scope.env is not None else "")
                    + (f"; did you mean {hint!r}?" if hint else ""),
                    item.loc,
                )
            refs.append(_Ref(scope, item.value))
        return refs, True

    def when(self, label: str, node: YNode) -> bool:
        if isinstance(node.value, bool):
            return node.value
        if node.value is INVALID:
            return True
        self.error(
            "spec.bad-value",
            f"{label}: when: expected true or false (an argument or a comparison such as "
            f"`stride > 1`), got {yaml_text(node.plain())}",
            node.loc,
        )
        return True

    def layer(self, layer, full, label, raw, key_locs, loc, inputs, inputs_node, scope, trainable):
        entry = _Entry(layer, raw, key_locs, loc)
        self.argument_names = set(scope.env or ())
        cfg = self.config(full, entry)
        self.argument_names = set()
        where = loc
        if inputs_node is not None:
            entry.field_locs["inputs"] = where = inputs_node.loc
        if inputs and layer.merges and len(inputs) < 2:
            self.error("graph.arity", f"{label}: needs two or more inputs, e.g. inputs: [a, b]", where)
        elif inputs and not layer.merges and len(inputs) != 1:
            self.error("graph.arity", f"{label}: takes one input, got {len(inputs)}", where)
        name = full[len(scope.prefix) :]
        if inputs_node is not None and any(isinstance(r, _Ref) and r.scope is scope and r.name == name for r in inputs):
            self.error("graph.cycle", f"{label}: takes its own output as input", where)
        if cfg is not None and inputs:
            self.drafts.append(_Draft(full, entry, cfg, trainable, inputs, inputs_node is not None, scope.groups))
            self.draft_by_name[full] = self.drafts[-1]
            if len(self.drafts) > MAX_LAYERS:
                self.error("spec.too-large", f"{label}: the spec expands to more than {MAX_LAYERS:,} layers", loc)
                raise _TooLarge()
        return full

    def sequential(self, full, raw, loc, inputs, scope, trainable):
        items = raw.get("")
        if items is None or not isinstance(items.value, list) or not items.value:
            self.error(
                "spec.bad-value",
                f"layer {full!r} (sequential): expected a list of layers, as `- sequential: [conv2d: ..., relu]`",
                items.loc if items is not None else loc,
            )
            return inputs[0] if inputs else None
        if sum(1 for g in scope.groups if g.block == "sequential") >= MAX_LIST_NESTING:
            self.error(
                "spec.too-large", f"layer {full!r}: sequential lists nest more than {MAX_LIST_NESTING} deep", loc
            )
            raise _TooLarge()
        group = Group(full, "sequential", None, loc, len(scope.groups), inputs=tuple(inputs[:1]))
        self.groups.append(group)
        child = _Scope(
            prefix=full + ".",
            env=scope.env,
            names={},
            groups=(*scope.groups, group),
            blocks_open=scope.blocks_open,
            trainable=trainable,
            sequential=True,
            context=scope.context,
            group=group,
        )
        group.output_ref = self.with_context(child.context, self.expand, items.value, child, inputs[0])
        return group.output_ref

    def call(self, block, full, label, raw, key_locs, common, loc, inputs, scope, trainable):
        """Expand a block call (and its repetitions); returns the reference to its output."""
        if len(scope.blocks_open) >= MAX_NESTING:
            self.error("spec.too-large", f"{label}: blocks are nested more than {MAX_NESTING} deep", loc)
            raise _TooLarge()
        if block.name in scope.blocks_open:
            chain = " -> ".join((*scope.blocks_open, block.name))
            self.error("spec.block-cycle", f"{label}: blocks use each other without end: {chain}", loc)
            return inputs[0] if inputs else None
        if inputs and len(inputs) != len(block.inputs):
            self.error(
                "graph.arity",
                f"{label}: block {block.name!r} takes {len(block.inputs)} input(s) ({', '.join(block.inputs)}), "
                f"got {len(inputs)}",
                common["inputs"].loc if "inputs" in common else loc,
            )
            return inputs[0]
        repeat = self.repeat_count(label, common.get("repeat"))
        first = common.get("first")
        if first is not None and "repeat" not in common:
            self.error(
                "spec.bad-value", f"{label}: first: sets the first repetition's arguments; it needs repeat:", first.loc
            )
            first = None
        if first is not None and not isinstance(first.value, dict):
            self.error(
                "spec.bad-value", f"{label}: first: expected a mapping of arguments, e.g. {{stride: 2}}", first.loc
            )
            first = None
        if "repeat" in common and len(block.inputs) != 1:
            self.error("spec.bad-value", f"{label}: repeat: needs a block with one input", common["repeat"].loc)
            repeat = 1
        self.check_call_size(label, block, repeat, common, loc, len(scope.blocks_open))
        pattern = self.repeat_pattern(label, common)
        group = Group(full, block.name, repeat if "repeat" in common else None, loc, len(scope.groups))
        group.inputs, group.repeat_name = tuple(inputs), pattern
        self.groups.append(group)
        last = "input"
        previous = inputs[0] if inputs else None
        errors_before = len(self.diagnostics)
        smallest = MAX_LAYERS  # the fewest layers a repetition has made
        for repetition in range(repeat):
            if len(self.diagnostics) > errors_before:
                break  # the next repetitions would meet the same mistakes: one report is enough
            # the caller's names, and `i`: which repetition this is (0, 1, ...)
            here = _Scope(prefix="", env={**(scope.env or {}), "i": repetition}, names={}, context=scope.context)
            arguments = {key: self.substitute(value, here, f"{label}: {key}") for key, value in raw.items()}
            if first is not None and repetition == 0:
                arguments.update(first.value)
            known = {}
            if block.reads_input_channels:  # the block's input's channels, worked out from the layers so far
                first_input = previous if repetition else (inputs[0] if inputs else None)
                known["in_channels"] = self.channels_of(first_input)
            env = self.bind(block, label, arguments, loc, {**key_locs, **(first.key_locs if first else {})}, known)
            if env is None:
                break
            call = {key: _python_source(node) for key, node in arguments.items() if key}
            if "repeat" in common:
                local = pattern.replace("{i}", str(repetition)).replace("{n}", str(repetition + 1))
                instance = Group(f"{full}.{local}", block.name, None, loc, len(scope.groups) + 1)
                self.groups.append(instance)
                group.entries.append(Entry(local, "group", instance, (last,)))
                last = local
                groups, prefix = (*scope.groups, group, instance), f"{full}.{local}."
            else:
                instance, groups, prefix = group, (*scope.groups, group), f"{full}."
            names = dict(zip(block.inputs, [previous] + list(inputs[1:]) if repetition else inputs))
            instance.arguments, instance.call = env, call
            instance.inputs = tuple(names[n] for n in block.inputs)
            child = _Scope(
                prefix=prefix,
                env=env,
                names=names,
                groups=groups,
                blocks_open=(*scope.blocks_open, block.name),
                trainable=trainable,
                context=f"block {block.name!r}, ",
                group=instance,
                first_input=block.inputs[0],
            )
            made = len(self.drafts)
            previous = self.with_context(child.context, self.expand, block.layers, child, names[block.inputs[0]])
            instance.output_ref = previous
            smallest = min(smallest, len(self.drafts) - made)
            self.check_repetitions_left(label, block, repeat, repetition + 1, smallest, common.get("repeat"))
        group.output_ref = previous
        return previous

    def with_context(self, context: str, function, *arguments):
        saved, self.context = self.context, context
        try:
            return function(*arguments)
        finally:
            self.context = saved

    def repeat_pattern(self, label: str, common: dict) -> str:
        """How repetitions are named: '{i}' (0, 1, 2, as nn.Sequential), or e.g. 'denselayer{n}'
        (denselayer1, denselayer2: {n} counts from 1)."""
        node = common.get("repeat_name")
        if node is None:
            return "{i}"
        text = node.value
        if "repeat" not in common:
            self.error("spec.bad-value", f"{label}: repeat_name: needs repeat:", node.loc)
        elif not isinstance(text, str) or not _NAME_PATTERN.fullmatch(text.replace("{i}", "0").replace("{n}", "1")):
            self.error(
                "spec.bad-value",
                f"{label}: repeat_name: expected a name with {{i}} (counting from 0) or {{n}} (from 1), "
                f"e.g. 'denselayer{{n}}', got {yaml_text(text)}",
                node.loc,
            )
        elif "{i}" not in text and "{n}" not in text:
            self.error(
                "spec.bad-value",
                f"{label}: repeat_name: {text!r} needs {{i}} or {{n}}, or every repetition has the same name",
                node.loc,
            )
        else:
            return text
        return "{i}"

    # ---- how large the expansion will be, before it is made ----------------------------------

    def layer_bound(self, nodes: list[YNode], where: str, depth: int = 0) -> int:
        """Up to how many layers `nodes` expand to, from the entries as written, before anything is
        expanded: block calls times their `repeat:` (`when:` can only leave layers out; an entry
        with `when: false` counts one, as the expansion still visits it). A computed `repeat:`
        counts once here; the call checks it. Reports (and stops) where the count first passes MAX_LAYERS."""
        if depth > 2 * MAX_NESTING:
            return 1  # the expansion reports the nesting
        total = 0
        for index, node in enumerate(nodes):
            total += self.entry_bound(index, node, where, depth)
            if total > MAX_LAYERS:
                self.error(
                    "spec.too-large",
                    f"{where}layer {index + 1}: the spec expands to more than {MAX_LAYERS:,} layers: "
                    f"the entries up to this one make up to {total:,}",
                    node.loc,
                )
                raise _TooLarge()
        return total

    def entry_bound(self, index: int, node: YNode, where: str, depth: int) -> int:
        """Up to how many layers one entry makes, from the entry as written."""
        kind, main, common = _entry_parts(node, self.blocks)
        if "when" in common and common["when"].value is False:
            return 1  # no layer, but an entry the expansion visits (once, whatever its repeat:)
        if kind == "sequential":
            items = main.value if main is not None and isinstance(main.value, list) else []
            return self.layer_bound(items, f"{where}the list in layer {index + 1}, ", depth + 1)
        block = self.blocks.get(kind) if isinstance(kind, str) else None
        if block is None:  # a layer (or several, for `outputs:`), or a type only a call's arguments tell
            outputs = common["outputs"].value if "outputs" in common else None
            return len(outputs) if isinstance(outputs, list) and outputs else 1
        size = self.block_bound(block, depth + 1)
        repeat = common.get("repeat")
        times = repeat.value if repeat is not None and _is_count(repeat.value) else 1
        if times > 1 and size * times > MAX_LAYERS:
            written = _name_of(node)
            label = f"{where}layer {written!r}" if isinstance(written, str) else f"{where}layer {index + 1}"
            self.error(
                "spec.too-large",
                f"{label} ({block.name}): the spec expands to more than {MAX_LAYERS:,} layers: "
                f"repeat: {times:,} calls of {block.name!r}, up to {size:,} layers each, make up to {size * times:,}",
                repeat.loc,
            )
            raise _TooLarge()
        return size * times

    def block_bound(self, block: Block, depth: int) -> int:
        """Up to how many layers one call of `block` makes; worked out once per block."""
        if block.name not in self.bounds:
            self.bounds[block.name] = 1  # while it is worked out: a block using itself is reported when called
            self.bounds[block.name] = self.layer_bound(block.layers, f"block {block.name!r}, ", depth)
        return self.bounds[block.name]

    def check_call_size(self, label: str, block: Block, repeat: int, common: dict, loc: Loc, depth: int) -> None:
        """Refuse a call that would pass MAX_LAYERS, before expanding it: its `repeat:` may be
        computed, and its block named by an argument, so the spec as written could not tell."""
        size = self.block_bound(block, depth)
        made = len(self.drafts)
        if made + repeat * size <= MAX_LAYERS:
            return
        what = f"block {block.name!r} makes up to {size:,}"
        if "repeat" in common:
            each = f"up to {size:,} layers each"
            what = f"repeat: {repeat:,} calls of {block.name!r}, {each}, make up to {repeat * size:,}"
        self.error(
            "spec.too-large",
            f"{label}: the spec expands to more than {MAX_LAYERS:,} layers: {what}"
            + (f" after {made:,} layer{'' if made == 1 else 's'} before them" if made else ""),
            common["repeat"].loc if "repeat" in common else loc,
        )
        raise _TooLarge()

    def check_repetitions_left(self, label: str, block: Block, repeat: int, done: int, smallest: int, node) -> None:
        """After `done` repetitions: refuse the call if the ones left, each making as many layers as
        the smallest so far, would pass MAX_LAYERS. (Repeats computed inside the block are known
        only once a call is expanded.)"""
        total = len(self.drafts) + smallest * (repeat - done)
        if done < repeat and total > MAX_LAYERS:
            self.error(
                "spec.too-large",
                f"{label}: the spec expands to more than {MAX_LAYERS:,} layers: repeat: {repeat:,} calls of "
                f"{block.name!r}, {smallest:,} layers or more each so far, make about {total:,}",
                node.loc,
            )
            raise _TooLarge()

    def repeat_count(self, label: str, node: YNode | None) -> int:
        if node is None or node.value is INVALID:
            return 1
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LAYERS:
            return value
        self.error(
            "spec.bad-value",
            f"{label}: repeat: expected an integer from 1 to {MAX_LAYERS:,}, got {yaml_text(node.plain())}",
            node.loc,
        )
        return 1

    def bind(
        self, block: Block, label: str, arguments: dict[str, YNode], loc: Loc, key_locs=None, known=None
    ) -> dict | None:
        """The block's argument values for one call, then its `let:` values; None if any is wrong.
        `known` holds names the call gives besides its arguments (in_channels)."""
        ok = True
        env: dict = dict(known or {})
        key_locs = key_locs or {}
        misspelt = set()  # arguments an unknown key probably meant: not also reported missing
        for key, node in arguments.items():
            if node.value is INVALID:  # reported already; not also missing
                ok = False
                misspelt.add(key)
                continue
            if self.argument_refused(block, label, key, node, key_locs.get(key, node.loc), misspelt):
                ok = False
            else:
                env[key] = node.plain()
        ok = ok and not (misspelt & {p for p, d in block.params.items() if d is REQUIRED_ARGUMENT} - set(env))
        for param, default in block.params.items():
            if param not in env and default is REQUIRED_ARGUMENT and param not in misspelt:
                self.error("spec.missing-key", f"{label}: block {block.name!r} needs argument {param!r}", loc)
                ok = False
        if not ok:  # defaults and `let:` values computed from missing arguments would only add noise
            return None
        for param, default in block.params.items():
            if param not in env:  # a default may use the arguments before it: `args: [c, mid: c // 4]`
                scope = _Scope(prefix="", env=dict(env), names={}, context=f"block {block.name!r}, ")
                env[param] = self.substitute(default, scope, f"{label}: argument {param}").plain()
        for key, node in block.let.items():
            scope = _Scope(prefix="", env=env, names={}, context=f"block {block.name!r}, ")
            env[key] = self.substitute(node, scope, f"{label}: let: {key}").plain()
        if any(value is INVALID for value in env.values()):
            return None
        return env

    def argument_refused(self, block: Block, label: str, key: str, node: YNode, where: Loc, misspelt: set) -> bool:
        """Report what is wrong with one argument of a call, if anything; True if it is refused."""
        if key == "":
            self.error(
                "spec.bad-value",
                f"{label}: write the block's arguments as a mapping, e.g. `- {block.name}: "
                f"{{{', '.join(f'{p}: ...' for p in block.params) or ''}}}`",
                node.loc,
            )
            return True
        if key in ENTRY_KEYS and key not in block.params:
            self.error(
                "spec.misplaced-key",
                f"{label}: {key!r} goes beside the block's name, not among its arguments: write "
                f"`- {{type: {block.name}, {key}: ..., ...}}`, or put `{key}:` on its own line under `- {block.name}: ...`",
                where,
            )
            return True
        if self.cut_expression and key.count(")") > key.count("("):
            return True  # the rest of an expression YAML split at a comma: reported already
        if key not in block.params:
            hint = suggest(key, list(block.params))
            misspelt.add(hint)
            known = ", ".join(block.params) or "none"
            self.error(
                "spec.unknown-key",
                f"{label}: block {block.name!r} has no argument {key!r}"
                + (f"; did you mean {hint!r}?" if hint else f"; its arguments are: {known}"),
                where,
            )
            return True
        if node.value is None and _is_expression_default(block.params[key], block.params):
            self.error(
                "spec.bad-value",
                f"{label}: {key}: null is not a value here; leave the argument out for its default "
                f"({_quoted(block.params[key].value)})",
                node.loc,
            )
            return True
        return False

    def substitute_name(self, node: YNode, scope: _Scope) -> YNode:
        """A type written as an argument's name: `- act` or `type: act` with act: hardswish."""
        if isinstance(node.value, str) and node.value in scope.env:
            return _to_node(scope.env[node.value], node.loc)
        return node

    def substitute(self, node: YNode, scope: _Scope, where: str | None = None) -> YNode:
        """`node` with argument names and expressions replaced by their values; a value that
        cannot be had is reported (saying `where` it is written) and becomes INVALID."""
        self.charge(_size(node), node.loc)  # the whole value, where it starts
        return self.substituted(node, scope, where)

    def substituted(self, node: YNode, scope: _Scope, where: str | None = None) -> YNode:
        from cnncalc import expressions

        value = node.value
        if isinstance(value, dict):
            items = {k: self.substituted(v, scope, f"{where}: {k}" if where else None) for k, v in value.items()}
            return YNode(items, node.loc, node.key_locs)
        if isinstance(value, list):
            items = [self.substituted(v, scope, where) for v in value]
            result = YNode(items, node.loc, node.key_locs)
            if any(item.source for item in items):
                result.source = "[" + ", ".join(_python_source(item) for item in items) + "]"
            return result
        if not isinstance(value, str):
            return node
        env = scope.env or {}
        if UNKNOWN in env.values() and re.search(r"\bin_channels\b", value):
            self.error(
                "spec.bad-expression",
                f"{where or scope.context.rstrip(', ')}: in {value!r}: in_channels is not known here: the "
                f"block's input is a layer defined later in the spec, or one that does not plan",
                node.loc,
            )
            return YNode(INVALID, node.loc)
        if expressions.is_name(value.strip()):
            if value.strip() not in env:
                return node
            self.charge(_size(env[value.strip()]), node.loc)
            result = _to_node(env[value.strip()], node.loc)
            result.source = value.strip()
            return result
        where = f"{where or scope.context.rstrip(', ') or 'spec'}: in {_quoted(value)}"
        try:
            tree = expressions.parse(value)
        except expressions.ExpressionError as exc:
            self.error("spec.bad-expression", f"{where}: {exc}", node.loc)
            return YNode(INVALID, node.loc)
        if tree is None:
            words = set(re.findall(r"[A-Za-z_]\w*", value))
            if words & set(env) and re.search(r"[-+*/%<>=]", value) and not value.count("(") > value.count(")"):
                self.error("spec.bad-expression", f"{where}: this is not a valid expression", node.loc)
                return YNode(INVALID, node.loc)
            if value.count("(") > value.count(")"):
                self.cut_expression = True
                self.error(
                    "spec.bad-expression",
                    f"{where}: the expression stops short; in a flow mapping such as {{a: f(x, y)}} YAML splits "
                    f"at the comma, so quote the expression: 'f(x, y)'",
                    node.loc,
                )
                return YNode(INVALID, node.loc)
            return node
        unknown = sorted(expressions.names_in(tree) - set(env))
        if unknown and _HYPHENATED.fullmatch(value) and not any(suggest(n, sorted(env)) for n in unknown):
            return node  # plain text such as 'nearest-exact', not arithmetic
        if unknown:
            hint = suggest(unknown[0], sorted(env))
            self.error(
                "spec.bad-expression",
                f"{where}: no argument is named {unknown[0]!r}"
                + (f"; did you mean {hint!r}?" if hint else "")
                + (f" (known here: {', '.join(sorted(env))})" if env else ""),
                node.loc,
            )
            return YNode(INVALID, node.loc)
        try:
            computed = expressions.evaluate(tree, env)
            self.charge(_size(computed), node.loc)
            result = _to_node(computed, node.loc)
            result.source = ast_source(tree)
            return result
        except expressions.ExpressionError as exc:
            self.error("spec.bad-expression", f"{where}: {exc}", node.loc)
            return YNode(INVALID, node.loc)

    def block_definitions(self, node: YNode) -> dict[str, Block]:
        if not isinstance(node.value, dict):
            self.error("spec.bad-value", "blocks: expected a mapping of block names to definitions", node.loc)
            return {}
        blocks = {}
        for name, definition in node.value.items():
            block = self.block_definition(name, definition, node.key_locs[name])
            if block is not None:
                blocks[name] = block
        return blocks

    def block_definition(self, name: str, node: YNode, name_loc: Loc) -> Block | None:
        from cnncalc import expressions

        label = f"block {name!r}"
        if not expressions.is_name(name):
            self.error("spec.bad-value", f"{label}: a block's name is letters, digits and '_', at most 100", name_loc)
            return None
        if lookup(name) is not None or name == "sequential":
            self.error("spec.bad-value", f"{label}: {name!r} is a layer type; give the block another name", name_loc)
            return None
        if isinstance(node.value, list):  # a block with no arguments: just its layers
            node = YNode({"layers": node}, node.loc, {"layers": node.loc})
        if not isinstance(node.value, dict):
            self.error("spec.bad-value", f"{label}: expected a mapping with `layers:` (and `args:`)", node.loc)
            return None
        keys = ("args", "let", "inputs", "layers", "description")
        for key in node.value:
            if key not in keys:
                self.unknown_key(key, keys, node.key_locs[key], f"in {label}")
        params = self.block_params(label, node.value.get("args"))
        let: dict[str, YNode] = {}
        if "let" in node.value:
            let_node = node.value["let"]
            if not isinstance(let_node.value, dict):
                self.error(
                    "spec.bad-value", f"{label}: let: expected a mapping, e.g. {{width: planes * 4}}", let_node.loc
                )
            else:
                for key, value in let_node.value.items():
                    problem = "is already an argument" if key in params else unusable_name(key)
                    if problem:
                        self.error("spec.bad-name", f"{label}: let: {_shown(key)} {problem}", let_node.key_locs[key])
                    let[key] = value
        inputs: tuple[str, ...] = (NETWORK_INPUT,)
        if "inputs" in node.value:
            inputs_node = node.value["inputs"]
            items = inputs_node.value if isinstance(inputs_node.value, list) else [inputs_node]
            names = [i.value for i in items]
            if (
                items
                and all(isinstance(n, str) and expressions.is_name(n) for n in names)
                and len(set(names)) < len(names)
            ):
                self.error(
                    "spec.bad-value", f"{label}: inputs: each input needs its own name, got {names}", inputs_node.loc
                )
            elif items and all(isinstance(n, str) and expressions.is_name(n) for n in names):
                inputs = tuple(names)
            else:
                self.error("spec.bad-value", f"{label}: inputs: expected names, e.g. [x, skip]", inputs_node.loc)
        layers = node.value.get("layers")
        if layers is None or not isinstance(layers.value, list) or not layers.value:
            self.error(
                "spec.missing-key" if layers is None else "spec.bad-value",
                f"{label}: layers: expected a non-empty list of layers",
                layers.loc if layers is not None else node.loc,
            )
            return None
        uses = "in_channels" not in params and _mentions(node, "in_channels")
        return Block(name, params, let, inputs, layers.value, name_loc, uses)

    def block_params(self, label: str, node: YNode | None) -> dict[str, YNode | object]:
        """`args: [planes, stride: 1]` or `args: {planes: 64}`: names with their defaults."""

        if node is None:
            return {}
        items = node.value if isinstance(node.value, list) else [node] if isinstance(node.value, dict) else None
        params: dict[str, YNode | object] = {}
        if items is None:
            self.error("spec.bad-value", f"{label}: args: expected a list such as [planes, stride: 1]", node.loc)
            return params
        for item in items:
            if isinstance(item.value, str):
                pairs = [(item.value, REQUIRED_ARGUMENT, item.loc)]
            elif isinstance(item.value, dict):
                pairs = [(key, value, item.key_locs[key]) for key, value in item.value.items()]
            else:
                self.error("spec.bad-value", f"{label}: args: expected a name or `name: default`", item.loc)
                continue
            for key, default, loc in pairs:
                problem = unusable_name(key)
                if problem:
                    self.error("spec.bad-name", f"{label}: args: {_shown(key)} {problem}; choose another name", loc)
                elif key in params:
                    self.error("spec.bad-value", f"{label}: args: {key!r} is given twice", loc)
                else:
                    ok = self.check_default(label, key, default, params)
                    params[key] = default if ok else YNode(INVALID, default.loc)
        return params

    def argument_hint(self, value) -> str:
        """For a bare word a field refuses inside a block: the argument it probably meant."""
        from cnncalc import expressions

        if not (isinstance(value, str) and expressions.is_name(value) and self.argument_names):
            return ""
        hint = suggest(value, sorted(self.argument_names))
        return f"; no argument is named {value!r}" + (f"; did you mean {hint!r}?" if hint else "")

    def check_default(self, label: str, key: str, default, earlier: dict) -> bool:
        """A default computed from other arguments may use only those before it; every branch of it
        is checked here, once, even where every call passes the argument. False: reported."""
        from cnncalc import expressions

        if default is REQUIRED_ARGUMENT or not isinstance(default.value, str):
            return True
        try:
            tree = expressions.parse(default.value)
        except expressions.ExpressionError as exc:
            self.error("spec.bad-expression", f"{label}: args: {key}: in {_quoted(default.value)}: {exc}", default.loc)
            return False
        names = expressions.names_in(tree) if tree is not None else set()
        later = sorted(names - set(earlier) - {"in_channels"})
        if later:
            hint = suggest(later[0], list(earlier))
            self.error(
                "spec.bad-expression",
                f"{label}: args: {key}: in {default.value!r}: no argument is named {later[0]!r} before {key!r}"
                + (f"; did you mean {hint!r}?" if hint else "")
                + " (a default may use only the arguments listed before it)",
                default.loc,
            )
        return not later

    def trainable(self, label: str, common: dict) -> bool:
        if "trainable" not in common:
            return True
        node = common["trainable"]
        if isinstance(node.value, bool):
            return node.value
        self.error("spec.bad-value", f"{label}: trainable: expected true or false", node.loc)
        return True

    def layer_name(self, index: int, kind: str, common: dict, entry_loc: Loc) -> tuple[str | None, Loc]:
        if "name" not in common:
            return None, entry_loc
        node = common["name"]
        if node.value == NETWORK_INPUT:
            self.error(
                "spec.bad-value",
                f"{self.nth(index)} ({kind}): the name {NETWORK_INPUT!r} is kept for the network's input",
                node.loc,
            )
            return None, node.loc
        if isinstance(node.value, str) and _NAME_PATTERN.fullmatch(node.value):
            return node.value, node.loc
        shown = yaml_text(node.value)
        self.error(
            "spec.bad-value",
            f"{self.nth(index)} ({kind}): name: expected letters, digits, '_' or '-', starting with a letter "
            f"or '_', at most 100 characters, got {shown if len(shown) <= 80 else shown[:77] + '...'}",
            node.loc,
        )
        return None, node.loc

    def split_entry(self, index: int, node: YNode):
        """(type node, raw fields, their key locations, common keys) for each entry form, or None."""
        if isinstance(node.value, str):  # - relu
            return node, {}, {}, {}
        if isinstance(node.value, dict) and "type" in node.value:  # - {type: conv2d, ...}
            fields = {k: v for k, v in node.value.items() if k not in ENTRY_KEYS}
            common = {k: v for k, v in node.value.items() if k in ENTRY_KEYS and k != "type"}
            return node.value["type"], fields, {k: node.key_locs[k] for k in fields}, common
        if isinstance(node.value, dict) and node.value:  # - linear: 128 / - conv2d: {...}
            return self.split_keyed_entry(index, node)
        self.error(
            "spec.bad-layer",
            f"{self.nth(index)}: expected a layer such as `relu`, `linear: 128` or "
            f"`{{type: conv2d, out_channels: 32, kernel_size: 3}}`, got {yaml_text(node.plain())}",
            node.loc,
        )
        return None

    def split_keyed_entry(self, index: int, node: YNode):
        """`- conv2d: {...}` or `- linear: 128`, with `name:`/`trainable:` beside the type key."""
        common = {k: v for k, v in node.value.items() if k in ENTRY_KEYS}
        type_keys = [k for k in node.value if k not in ENTRY_KEYS]
        named_types = [k for k in type_keys if lookup(k) is not None or k in self.blocks]
        if len(type_keys) > 1 and len(named_types) == 1 and node.value[named_types[0]].value is None:
            # `- conv2d:` with its fields indented beside it rather than under it
            key = named_types[0]
            fields = {k: node.value[k] for k in type_keys if k != key}
            return YNode(key, node.key_locs[key]), fields, {k: node.key_locs[k] for k in fields}, common
        if len(type_keys) != 1:
            self.error(
                "spec.bad-layer",
                f"{self.nth(index)}: write one layer per entry, as `- conv2d: {{...}}` or "
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
            self.error("spec.bad-value", f"{self.nth(index)}: type: expected a layer type name", type_node.loc)
            return None
        layer = lookup(type_node.value)
        if layer is None and self.include_failed:
            return None  # the failed include is the error worth showing
        if layer is None:
            hint = suggest(type_node.value, [*REGISTRY, *self.blocks])
            self.error(
                "spec.unknown-type",
                f"{self.nth(index)}: unknown layer type {type_node.value!r}"
                + (f"; did you mean {hint!r}?" if hint else "; `cnncalc layers` lists the types"),
                type_node.loc,
            )
        return layer

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
            elif self.cut_expression and key.count(")") > key.count("("):
                ok = False  # the rest of an expression YAML split at a comma: reported already
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
            if node.value is INVALID:
                ok = False
                continue
            if node.source is not None:
                p.field_exprs[f.name] = node.source
            given_as[f.name] = key or "its main argument"
            value = node.plain()
            if value is None and (f.default is None or f.nullable):
                cfg[f.name] = None
            else:
                try:
                    cfg[f.name] = f.kind.parse(value)
                except FieldError as exc:
                    hint = self.argument_hint(value)
                    self.error("spec.bad-value", f"{label}: {f.name}: {exc}{hint}", node.loc)
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
