"""What a spec is once read: the classes the engine, the export and the renderers use.

A Spec holds its layers in spec order, each a located LayerSpec with its inputs named, and the
groups (block calls and `sequential:` lists) the layers were expanded from. The order the
engine plans in (every layer after its inputs) is computed once, when the spec is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from cnncalc.budget import Budget
from cnncalc.errors import Frozen, Loc, Record
from cnncalc.layers.base import COMMON_KEYS, LayerType, Shape

NETWORK_INPUT = "input"  # what `inputs:` calls the network's input
TOP_LEVEL_KEYS = (
    "name",
    "convention",
    "input",
    "inputs",
    "outputs",
    "layers",
    "description",
    "budget",
    "blocks",
    "include",
    "let",
)
# Keys an entry of `layers:` may carry besides its type and fields.
ENTRY_KEYS = (*COMMON_KEYS, "when", "repeat", "first", "repeat_name", "outputs")
MAX_LAYERS = 100_000  # a spec expanding to more is a mistake (repeat: 1000 inside repeat: 1000)
MAX_INCLUDES = 100
MAX_DIAGNOSTICS = 100
MAX_COPIES = 50 * MAX_LAYERS  # values expansion copies into calls (a 100,000-layer spec copies about 800,000)
MAX_NESTING = 50  # blocks inside blocks
MAX_LIST_NESTING = 16  # sequential lists inside lists: the export nests their nn.Sequential calls in one expression
MAX_FULL_NAME = 500  # characters in a dotted name such as layer2.0.conv1
RESERVED_ARGUMENTS = frozenset({"self", "torch", "nn", "super", "OrderedDict", "i", *ENTRY_KEYS, "sequential"})
# matched whole (fullmatch): `$` would let a trailing newline through
HYPHENATED = r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)+"  # rare: compiled on first use
# digits alone: nn.Sequential indices; at most 100 characters (a name is copied into every layer inside it)
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,99}|[0-9]{1,9}")
REQUIRED_ARGUMENT = object()  # an argument with no default
_set = object.__setattr__  # how a Frozen class's __init__ sets its fields
# A spec makes one LayerSpec per layer and one Group and Entry or two per block call: classes
# with __slots__, a third of the size (100 MB less at 100,000 calls). Plain classes rather than
# dataclasses: start-up defines each of them, and a dataclass takes about 0.3 ms to define.


class Group:
    """A block call, one repetition of a repeated call, or a `sequential:` list.

    Its layers are consecutive in the spec's layer list; `output` is the full name
    of the layer whose output is the group's. Filled in as the expansion goes; equal only to
    itself.
    """

    __slots__ = ("name", "block", "repeat", "loc", "depth", "output", "layer_count", "output_ref")
    __slots__ += ("entries", "inputs", "arguments", "call", "repeat_name")
    name: str  # full dotted name, e.g. "layer2" or "layer2.0"
    block: str  # the block's name, or "sequential"
    repeat: int | None  # N for a `repeat: N` call (its repetitions are groups too)
    loc: Loc
    depth: int  # 0 for a group written in the top-level `layers:`
    output: str
    layer_count: int
    output_ref: object
    # what the export needs to write the group as a module:
    entries: list[Entry]  # its own entries, in order
    inputs: tuple  # the tensors it reads (full names, once resolved)
    arguments: dict  # a block call's argument and `let:` values
    call: dict[str, str]  # the arguments as written at the call, as Python
    repeat_name: str

    def __init__(
        self,
        name: str,
        block: str,
        repeat: int | None,
        loc: Loc,
        depth: int,
        output: str = "",
        layer_count: int = 0,
        output_ref: object = None,
        entries: list[Entry] | None = None,
        inputs: tuple = (),
        arguments: dict | None = None,
        call: dict[str, str] | None = None,
        repeat_name: str = "{i}",
    ):
        self.name, self.block, self.repeat, self.loc, self.depth = name, block, repeat, loc, depth
        self.output, self.layer_count, self.output_ref = output, layer_count, output_ref
        self.entries = [] if entries is None else entries
        self.inputs = inputs
        self.arguments = {} if arguments is None else arguments
        self.call = {} if call is None else call
        self.repeat_name = repeat_name

    _names, __repr__ = Record._names, Record.__repr__  # shown as a dataclass is

    @property
    def kind(self) -> str:
        """'bottleneck', or 'bottleneck x4' for a repeated call."""
        return self.block if self.repeat is None else f"{self.block} x{self.repeat}"


class Entry(Record):
    """One entry of a group (or the top level) as written: what the export mirrors.

    `inputs` are local names ("input" for the group's first input); `target` is the layer's
    full name or the Group; an entry left out by `when:` has present False.
    """

    __slots__ = ("local", "kind", "target", "inputs", "when", "present")
    local: str
    kind: str  # "layer" or "group"
    target: object
    inputs: tuple[str, ...]
    when: str | None  # the condition as written
    present: bool

    def __init__(
        self,
        local: str,
        kind: str,
        target: object,
        inputs: tuple[str, ...],
        when: str | None = None,
        present: bool = True,
    ):
        self.local, self.kind, self.target = local, kind, target
        self.inputs, self.when, self.present = inputs, when, present


class Block(Frozen):
    """A block definition from `blocks:`."""

    __slots__ = ("name", "params", "let", "inputs", "layers", "loc", "reads_input_channels")
    name: str
    params: dict  # argument -> default YNode, or REQUIRED_ARGUMENT
    let: dict  # name -> YNode
    inputs: tuple[str, ...]  # what its layers call its inputs; ("input",) by default
    layers: list  # the entries (YNodes) of its `layers:`
    loc: Loc
    reads_input_channels: bool  # its expressions use `in_channels` (not an argument)

    def __init__(
        self,
        name: str,
        params: dict,
        let: dict,
        inputs: tuple[str, ...],
        layers: list,
        loc: Loc,
        reads_input_channels: bool = False,
    ):
        _set(self, "name", name)
        _set(self, "params", params)
        _set(self, "let", let)
        _set(self, "inputs", inputs)
        _set(self, "layers", layers)
        _set(self, "loc", loc)
        _set(self, "reads_input_channels", reads_input_channels)


class LayerSpec(Frozen):
    """One entry of `layers:`, validated: canonical field names, defaults filled."""

    __slots__ = ("index", "name", "layer", "cfg", "trainable", "loc", "field_locs", "inputs", "inputs_given")
    __slots__ += ("groups", "exprs")
    index: int
    name: str
    layer: LayerType
    cfg: dict
    trainable: bool
    loc: Loc
    field_locs: dict[str, Loc]
    inputs: tuple[str, ...]  # layer names, or "input" for the network's input
    inputs_given: bool  # written as `inputs:` rather than implied by the order
    groups: tuple[Group, ...]  # the block calls and lists it is inside, outermost first
    exprs: dict[str, str]  # inside a block: field -> expression as written

    def __init__(
        self,
        index: int,
        name: str,
        layer: LayerType,
        cfg: dict,
        trainable: bool,
        loc: Loc,
        field_locs: dict[str, Loc] | None = None,
        inputs: tuple[str, ...] = (),
        inputs_given: bool = False,
        groups: tuple[Group, ...] = (),
        exprs: dict[str, str] | None = None,
    ):
        _set(self, "index", index)
        _set(self, "name", name)
        _set(self, "layer", layer)
        _set(self, "cfg", cfg)
        _set(self, "trainable", trainable)
        _set(self, "loc", loc)
        _set(self, "field_locs", {} if field_locs is None else field_locs)
        _set(self, "inputs", inputs)
        _set(self, "inputs_given", inputs_given)
        _set(self, "groups", groups)
        _set(self, "exprs", {} if exprs is None else exprs)

    @property
    def type_name(self) -> str:
        return self.layer.type_name

    def loc_of(self, field_name: str | None) -> Loc:
        """Where `field_name` is written, or where the layer starts if it is not."""
        return self.field_locs.get(field_name, self.loc) if field_name else self.loc


@dataclass(init=False, repr=False, eq=False)  # a dataclass for dataclasses.replace; see errors.Record
class Spec(Frozen):
    """A spec, read: its layers in spec order, the groups they came from, and its sources."""

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
    # the network's inputs by name, in order (one `input:` is named "input"); input_shape is the first's
    inputs: dict[str, Shape] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()  # the layers whose values the network returns; () means the last layer
    constants: dict = field(default_factory=dict)  # the top-level `let:` values, --set applied
    convention: str = "pytorch"  # whose layers and layout: "pytorch" ([C, H, W]) or "keras" ([H, W, C])

    def __init__(
        self,
        name: str,
        description: str | None,
        input_shape: Shape,
        layers: list[LayerSpec],
        path: str,
        source: str,
        input_loc: Loc,
        budget: Budget | None = None,
        groups: tuple[Group, ...] = (),
        sources: dict[str, str] | None = None,
        blocks: dict[str, Block] | None = None,
        root: Group | None = None,
        every_group: tuple[Group, ...] = (),
        inputs: dict[str, Shape] | None = None,
        outputs: tuple[str, ...] = (),
        constants: dict | None = None,
        convention: str = "pytorch",
    ):
        for key, value in (
            ("name", name),
            ("description", description),
            ("input_shape", input_shape),
            ("layers", layers),
            ("path", path),
            ("source", source),
            ("input_loc", input_loc),
            ("budget", budget),
            ("groups", groups),
            ("sources", {} if sources is None else sources),
            ("blocks", {} if blocks is None else blocks),
            ("root", root),
            ("every_group", every_group),
            ("inputs", {NETWORK_INPUT: input_shape} if inputs is None else inputs),
            ("outputs", outputs),
            ("constants", {} if constants is None else constants),
            ("convention", convention),
        ):
            _set(self, key, value)

    @cached_property
    def order(self) -> tuple[int, ...]:
        """Positions in `layers`, each after the layers it reads; worked out once per Spec (the
        reader hands over the order it found while looking for cycles: see `ordered`)."""
        return dependency_order(self.layers)[0]

    def ordered(self, order: tuple[int, ...]) -> Spec:
        """This spec, its `order` already known (as `dependency_order(self.layers)` gave it)."""
        self.__dict__["order"] = order  # cached_property's own slot; a copy made by replace() works it out anew
        return self

    @property
    def is_graph(self) -> bool:
        return any(layer.inputs_given for layer in self.layers)


def dependency_order(layers: list[LayerSpec]) -> tuple[tuple[int, ...], list[int] | None]:
    """(positions with every layer after its inputs, None), or ((), the positions on a cycle)."""
    by_name = {layer.name: position for position, layer in enumerate(layers)}
    if all(by_name.get(name, -1) < position for position, layer in enumerate(layers) for name in layer.inputs):
        return tuple(range(len(layers))), None  # spec order already is one (a chain, most networks)
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
