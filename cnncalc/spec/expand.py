"""Expanding `layers:` into a flat, located list of layers: block calls (with `repeat:`),
`sequential:` lists, `when:` conditions and `outputs:`; each entry named, its inputs found.

Where the expansion is (the top level, a block call, a list) travels as a Scope; a name in
`inputs:` is a Ref looked up once its scope is complete, so layers may be written in any order.
"""

from __future__ import annotations

from cnncalc.errors import Loc
from cnncalc.layers import suggest
from cnncalc.layers.base import LayerType, yaml_text
from cnncalc.layers.conventions import Convention
from cnncalc.shapes import FAILS, PartialShapes
from cnncalc.yamlload import EMPTY, YNode

from . import fields as entry_fields
from .blocks import bind
from .bounds import Bounds
from .calls import Call
from .fields import ParsedEntry
from .model import (
    MAX_FULL_NAME,
    MAX_LAYERS,
    MAX_LIST_NESTING,
    NAME_PATTERN,
    NETWORK_INPUT,
    Block,
    Entry,
    Group,
    LayerSpec,
)
from .report import Report, TooLarge
from .substitute import UNKNOWN, python_source, quoted, substitute, substitute_name

NAMES_ONLY = ("name", "inputs", "outputs", "repeat_name")  # entry keys never substituted
SEQUENTIAL = "sequential"


# The expansion makes several of these per entry: plain classes with __slots__ (smaller and
# quicker to make than dataclasses, and quicker to define at start-up).


class Scope:
    """Where entries are being expanded: the top level, a block call, or a sequential list."""

    __slots__ = ("prefix", "env", "names", "groups", "blocks_open", "trainable", "sequential", "context", "group")
    __slots__ += ("first_input", "referenced")

    def __init__(
        self,
        prefix: str,  # "layer2.0." inside a block call, "" at the top level
        env: dict | None,  # argument values inside a block; None at the top level
        names: dict,  # local name -> full name of its output, or a Ref to follow
        groups: tuple[Group, ...] = (),
        blocks_open: tuple[str, ...] = (),  # blocks being expanded, to catch a block using itself
        trainable: bool = True,
        sequential: bool = False,
        context: str = "",  # for messages: "block 'bottleneck', "
        group: Group | None = None,  # whose entries are recorded
        first_input: str = NETWORK_INPUT,  # the local name of what the first entry reads
    ):
        self.prefix, self.env, self.names, self.groups = prefix, env, names, groups
        self.blocks_open, self.trainable, self.sequential = blocks_open, trainable, sequential
        self.context, self.group, self.first_input = context, group, first_input
        self.referenced = False  # a Ref into it was made (inputs:)

    def nth(self, index: int) -> str:
        """'layer 3', or inside a block "block 'bottleneck', layer 3"."""
        return f"{self.context}layer {index + 1}"


class Ref:
    """A name used in `inputs:`, looked up once its scope is complete (any order is allowed)."""

    __slots__ = ("scope", "name")

    def __init__(self, scope: Scope, name: str):
        self.scope, self.name = scope, name


class Draft:
    """A layer as expanded, before its inputs are resolved."""

    __slots__ = ("name", "entry", "cfg", "trainable", "inputs", "inputs_given", "groups")

    def __init__(
        self, name: str, entry: ParsedEntry, cfg: dict, trainable: bool, inputs: list, inputs_given: bool, groups
    ):
        self.name, self.entry, self.cfg, self.trainable = name, entry, cfg, trainable
        self.inputs, self.inputs_given, self.groups = inputs, inputs_given, groups


class _List:
    """One list of entries being expanded: the names in it so far and what the next one reads."""

    __slots__ = ("nodes", "scope", "previous", "previous_local", "explicit", "seen", "counters", "present")

    def __init__(self, nodes: list, scope: Scope, previous, previous_local: str, explicit: set):
        self.nodes, self.scope = nodes, scope
        self.previous = previous  # the reference to the last entry's output
        self.previous_local = previous_local
        self.explicit = explicit  # the names written in the list (default names steer clear of them)
        self.seen: dict[str, Loc] = {}  # name -> where it was first used
        self.counters: dict[str, int] = {}  # kind -> default names given
        self.present = 0  # entries recorded that are not left out (a sequential list numbers them)

    def record(self, entry: Entry) -> None:
        if self.scope.group is not None:
            self.scope.group.entries.append(entry)
        self.present += entry.present


class _Item:
    """An entry being expanded, once split, named and its common keys substituted."""

    __slots__ = ("index", "node", "kind", "name", "full", "label", "raw", "key_locs", "common")
    __slots__ += ("inputs", "locals_read", "when", "trainable")

    def __init__(self, index: int, node: YNode, kind, name: str, full: str, label: str, raw, key_locs, common):
        self.index, self.node = index, node
        self.kind = kind  # a LayerType, a Block, or "sequential"
        self.name, self.full, self.label = name, full, label
        self.raw, self.key_locs, self.common = raw, key_locs, common
        self.inputs: list = []
        self.locals_read: tuple = ()
        self.when: str | None = None
        self.trainable = True


class Expander:
    def __init__(
        self,
        report: Report,
        blocks: dict[str, Block],
        root: Group,
        inputs: dict,
        quiet: bool,
        types: Convention,
        constants=EMPTY,
    ):
        self.report = report
        self.types = types  # the spec's convention: its layer types, and where tensors keep their channels
        self.constants = constants  # the spec's `let:`: seen at the top level and in every block
        self.blocks = blocks
        self.root = root
        self.quiet = quiet  # an include failed: unknown types are likely its blocks, not reported
        self.bounds = Bounds(report, blocks)
        self.inputs = inputs  # the network's inputs' shapes, by name; the first is what layer 1 reads
        self.shapes = PartialShapes(inputs, resolve)
        self.scopes: list[Scope] = []  # the scopes a Ref points into, to let go of at the end
        self.explicit: dict[int, tuple] = {}  # id of a list of entries -> (the list, the names written in it)
        self.drafts: list[Draft] = []
        self.groups: list[Group] = []
        self.visits = 0  # entries expanded: the work done

    def layers(self, entries: list) -> list[LayerSpec]:
        """Expand `layers:` (block calls, repeats, sequential lists) into located LayerSpecs."""
        first = next(iter(self.inputs), NETWORK_INPUT)
        names = {name: name for name in self.inputs} or {NETWORK_INPUT: NETWORK_INPUT}
        top = Scope(prefix="", env=self.constants, names=names, group=self.root, first_input=first)
        try:
            self.bounds.of_entries(entries, "")  # refuse a spec too large before expanding any of it
            self.expand(entries, top, first)
            if not self.drafts and not self.report.diagnostics:
                self.report.error(
                    "spec.bad-value",
                    "layers: every entry is left out by `when:`; nothing is left to plan",
                    entries[0].loc,
                )
            return self.resolved() if self.drafts else []
        except TooLarge:
            return []
        except WillNotPlan:  # the layers so far: the engine stops at the one that does not plan
            return self.resolved(partial=True)
        finally:
            self.let_go()

    def let_go(self) -> None:
        """Break the reference cycles expanding made (a scope's names can hold a Ref to that scope,
        a group its output's Ref), so that all of it is freed at once, with or without the
        cycle collector (the command line pauses it)."""
        for scope in self.scopes:
            scope.names = {}
        for group in self.groups:
            group.output_ref = None
        self.scopes, self.drafts = [], []

    def resolved(self, partial: bool = False) -> list[LayerSpec]:
        """The drafts as LayerSpecs, their inputs resolved (drafts reading a wrong name dropped).
        `partial`: the expansion stopped part way; only layers whose inputs were made before them
        are kept (the layer that does not plan is one, as its shape was worked out)."""
        result = []
        made = {NETWORK_INPUT, *self.inputs}
        for draft in self.drafts:
            inputs = tuple(resolve(item) for item in draft.inputs)
            if None in inputs or partial and not made.issuperset(inputs):
                continue
            made.add(draft.name)
            for group in draft.groups:
                group.layer_count += 1
            entry = draft.entry
            result.append(
                LayerSpec(
                    len(result),
                    draft.name,
                    entry.layer,
                    draft.cfg,
                    draft.trainable,
                    entry.loc,
                    entry.field_locs or EMPTY,  # the one shared, read-only empty mapping
                    inputs,
                    draft.inputs_given,
                    draft.groups,
                    entry.field_exprs or EMPTY,  # the one shared, read-only empty mapping
                )
            )
        for group in self.groups:
            group.output = resolve(group.output_ref) or ""
            group.inputs = tuple(resolve(item) for item in group.inputs)
        return result

    def channels_of(self, item):
        """The channels of the tensor `item` names, from the layers expanded so far; UNKNOWN if
        they cannot be had yet (a layer defined later). If a layer before does not plan, the
        expansion stops (WillNotPlan): planning what was made reports that layer, the real cause."""
        shape = self.shapes.of(resolve(item)) if item is not None else None
        if shape is FAILS:
            raise WillNotPlan()
        return self.types.channels(shape) if shape else UNKNOWN

    # ---- a list of entries ---------------------------------------------------------------------

    def expand(self, nodes: list, scope: Scope, previous) -> object:
        """Expand entries into self.drafts; returns the reference to the last one's output."""
        known = self.explicit.get(id(nodes))
        if known is None:  # a block's entries are the same list at every call: worked out once
            known = self.explicit[id(nodes)] = (nodes, _explicit_names(nodes))  # (the list kept alive)
        state = _List(nodes, scope, previous, scope.first_input, known[1])
        for index, node in enumerate(nodes):
            self.visits += 1
            if self.visits > MAX_LAYERS * 3 // 2:  # a spec near the limit visits a few entries more than layers
                self.report.error(
                    "spec.too-large", f"{scope.nth(index)}: the spec expands to too many entries", node.loc
                )
                raise TooLarge()
            if self.report.full:
                raise TooLarge()  # enough to go on with; the rest are likely the same mistake
            self.entry(state, index, node)
        return state.previous

    def entry(self, state: _List, index: int, node: YNode) -> None:
        scope = state.scope
        nth = scope.nth(index)  # "layer 3", for messages
        parts = entry_fields.split_entry(self.report, nth, node, self.blocks, self.types)
        if parts is None:
            return
        type_node, raw, key_locs, common = parts
        type_node = substitute_name(type_node, scope.env) if scope.env is not None else type_node
        written = _name_of(node)
        named = isinstance(written, str) and NAME_PATTERN.fullmatch(written)
        early = f"layer {scope.prefix + written!r}" if named else nth
        common = {k: v if k in NAMES_ONLY else self.substitute(v, scope, f"{early}: {k}") for k, v in common.items()}
        if "when" in common and _reads_nothing(type_node, self.types):  # left out, it would stand for what it reads
            message = f"{early}: when: cannot leave out a layer that reads no input"
            self.report.error("spec.misplaced-key", message, common["when"].loc)
            return
        if "when" in common and not self.when(early, common["when"]):
            self.left_out(state, index, nth, node, type_node, common)
            return
        kind = self.entry_kind(nth, type_node)
        if kind is None:
            return
        item = self.item(state, index, nth, node, kind, raw, key_locs, common)
        if item is not None:
            self.place(state, item)

    def substitute(self, node: YNode, scope: Scope, where: str) -> YNode:
        return substitute(self.report, node, scope.env or {}, where)

    def when(self, label: str, node: YNode) -> bool:
        from .fields import INVALID

        if isinstance(node.value, bool):
            return node.value
        if node.value is INVALID:
            return True
        self.report.error(
            "spec.bad-value",
            f"{label}: when: expected true or false (an argument or a comparison such as "
            f"`stride > 1`), got {yaml_text(node.plain())}",
            node.loc,
        )
        return True

    def left_out(self, state: _List, index: int, nth: str, node: YNode, type_node: YNode, common: dict) -> None:
        """An entry `when:` leaves out: its name (and its outputs' names) stand for what it reads."""
        scope = state.scope
        shown = type_node.value if isinstance(type_node.value, str) and len(type_node.value) <= 100 else "?"
        name = entry_fields.layer_name(self.report, nth, shown, common, node.loc)[0]
        label = f"layer {scope.prefix + (name or str(index + 1))!r}"
        inputs, inputs_given = self.entry_inputs(label, common.get("inputs"), state)
        passed_on = inputs[0] if inputs else state.previous
        skipped = [name] if name else []
        if "outputs" in common and isinstance(common["outputs"].value, list):
            skipped = [i.value for i in common["outputs"].value if isinstance(i.value, str)]
        for local in skipped:
            scope.names.setdefault(local, passed_on)
            state.seen.setdefault(local, node.loc)
        locals_read = tuple(r.name for r in inputs) if inputs_given else (state.previous_local,)
        when_node = common["when"]
        when_text = when_node.source or yaml_text(when_node.value)
        # recorded as the entries it would have made, so every call's entries line up
        for local in skipped or [f"#{index}"]:
            state.record(Entry(local, "layer", None, locals_read, when_text, False))
        state.previous, state.previous_local = passed_on, (skipped or [f"#{index}"])[-1]

    def entry_kind(self, nth: str, type_node: YNode):
        """A LayerType, a Block, or "sequential"; None (reported) if the type is unknown."""
        value = type_node.value
        if isinstance(value, str):
            if value == SEQUENTIAL:
                return SEQUENTIAL
            if value in self.blocks:
                return self.blocks[value]
        return entry_fields.layer_type(self.report, nth, type_node, self.blocks, self.quiet, self.types)

    # ---- one entry: its name, inputs and keys --------------------------------------------------

    def item(self, state: _List, index: int, nth: str, node: YNode, kind, raw: dict, key_locs: dict, common: dict):
        """The entry named, its fields substituted and its inputs found; None if it cannot go on."""
        scope = state.scope
        kind_name = kind if isinstance(kind, str) else kind.name if isinstance(kind, Block) else kind.type_name
        name = self.name(state, index, nth, node, kind_name, common)
        full = scope.prefix + name
        if len(full) > MAX_FULL_NAME:
            self.report.error(
                "spec.too-large",
                f"layer {quoted(full)}: names nest to more than {MAX_FULL_NAME} characters; use shorter names",
                common["name"].loc if "name" in common else node.loc,
            )
            raise TooLarge()
        label = f"layer {full!r} ({kind_name})"
        if isinstance(
            kind, LayerType
        ):  # a call's arguments are worked out per repetition, a list's entries as expanded
            raw = {
                key: self.substitute(value, scope, f"{label}: {key or 'its main argument'}")
                for key, value in raw.items()
            }
        item = _Item(index, node, kind, name, full, label, raw, key_locs, common)
        item.inputs, inputs_given = self.entry_inputs(label, common.get("inputs"), state)
        item.locals_read = tuple(r.name for r in item.inputs) if inputs_given else (state.previous_local,)
        if isinstance(kind, LayerType) and "size_of" in raw and kind.max_inputs > 1:
            self.size_of(item, raw.pop("size_of"), state)
        if isinstance(kind, LayerType) and not kind.takes_input:  # a learned tensor: it reads nothing
            if inputs_given:
                self.report.error("graph.arity", f"{label}: takes no input", common["inputs"].loc)
            item.inputs, item.locals_read = [], ()
        if "when" in common:
            item.when = common["when"].source or yaml_text(common["when"].value)
        item.trainable = entry_fields.flag(self.report, label, common, "trainable") and scope.trainable
        for key in ("repeat", "first", "repeat_name"):
            if key in common and not isinstance(kind, Block):
                self.report.error(
                    "spec.misplaced-key",
                    f"{label}: {key}: is for block calls; define a block to repeat these layers",
                    common[key].loc,
                )
        return item

    def name(self, state: _List, index: int, nth: str, node: YNode, kind_name: str, common: dict) -> str:
        """The entry's name as written, or its default: conv2d_1, conv2d_2, ... (in a sequential
        list its index among the entries present, as nn.Sequential numbers its modules)."""
        scope = state.scope
        name, name_loc = entry_fields.layer_name(self.report, nth, kind_name, common, node.loc)
        if name is None and scope.sequential:
            name = str(state.present)
        elif name is None:  # skipping names the user took
            while name is None or name in state.explicit:
                stem = self.types.default_stem(kind_name)
                state.counters[stem] = state.counters.get(stem, 0) + 1
                name = self.types.default_name(stem, state.counters[stem])
        if name in state.seen or name in state.explicit and "name" not in common:
            self.duplicate_name(state, index, node, name, name_loc, "name" in common)
        if scope.blocks_open and name in scope.names and not scope.sequential and name not in state.seen:
            self.report.error(
                "spec.duplicate-name",
                f"layer name {name!r} is the block's input; give the layer another name",
                name_loc,
            )
        state.seen.setdefault(name, node.loc)
        return name

    def duplicate_name(self, state: _List, index: int, node: YNode, name: str, name_loc: Loc, written: bool) -> None:
        first = state.seen.get(name) or next(
            n.value["name"].loc for n in state.nodes if isinstance(n.value, dict) and _name_of(n) == name
        )
        if first == node.loc:  # `- *block` repeats the anchored entry, name and all
            message = (
                f"layer name {name!r} is used twice: a YAML alias repeats this layer; "
                f"give the copy its own name with `{{<<: *anchor, name: ...}}`"
            )
        else:
            message = f"layer name {name!r} is already used by the layer at line {first.line}"
            if not written:
                message += f" (entry {index + 1} of the sequential list is named by its index)"
        self.report.error("spec.duplicate-name", message, name_loc)

    def entry_inputs(self, label: str, node: YNode | None, state: _List):
        """(what the entry reads, written as `inputs:`): references resolved once the scope is done.
        The names defined in the scope so far are looked up, never merged (a merge per entry made
        a list of n layers cost n^2)."""
        scope = state.scope
        if node is None:
            return [state.previous], False
        if scope.sequential:
            self.report.error(
                "spec.misplaced-key",
                f"{label}: layers in a `sequential:` list each read the one before; "
                f"move this layer out of the list to give it `inputs:`",
                node.loc,
            )
            return [], True  # no layer made: its arity is not also reported
        items = node.value if isinstance(node.value, list) else [node]
        if not items or not all(isinstance(item.value, str) for item in items):
            self.report.error("spec.bad-value", f"{label}: inputs: expected a layer name or a list of them", node.loc)
            return [], True
        for item in items:
            if item.value not in scope.names and item.value not in state.explicit and item.value not in state.seen:
                hint = suggest(item.value, sorted({*scope.names, *state.explicit, *state.seen}))
                self.report.error(
                    "graph.unknown-input",
                    f"{label}: no layer is named {item.value!r}"
                    + (" in this block" if scope.blocks_open else "")
                    + (f"; did you mean {hint!r}?" if hint else ""),
                    item.loc,
                )
        if not scope.referenced:  # a Ref into a scope can end up in its names: let_go breaks that cycle
            scope.referenced = True
            self.scopes.append(scope)
        return [Ref(scope, item.value) for item in items], True

    def size_of(self, item: _Item, node: YNode, state: _List) -> None:
        """`size_of: skip`: the layer reads `skip` too, as its second input (upsample to its size)."""
        if len(item.inputs) != 1:
            self.report.error("graph.arity", f"{item.label}: size_of: needs the layer to read one input", node.loc)
            return
        extra, _ = self.entry_inputs(item.label, node, state)
        item.inputs = [*item.inputs, *extra]
        item.locals_read = (*item.locals_read, *(r.name for r in extra))

    # ---- what an entry makes -------------------------------------------------------------------

    def place(self, state: _List, item: _Item) -> None:
        """Expand the entry (a layer, the pieces of `outputs:`, a list or a call) and record it."""
        scope, kind = state.scope, item.kind
        if "outputs" in item.common:
            self.pieces(state, item)
            return
        groups_before = len(self.groups)
        if isinstance(kind, Block):
            output = self.call(kind, item, scope)
        elif kind == SEQUENTIAL:
            output = self.sequential(item, scope)
        else:
            output = self.layer(kind, item.full, item.label, item.raw, item.key_locs, item.node.loc, item, scope)
        made = self.groups[groups_before] if len(self.groups) > groups_before else None
        if made is not None:
            state.record(Entry(item.name, "group", made, item.locals_read, item.when))
        elif isinstance(kind, LayerType):
            state.record(Entry(item.name, "layer", item.full, item.locals_read, item.when))
        scope.names[item.name] = output
        state.previous, state.previous_local = output, item.name

    def pieces(self, state: _List, item: _Item) -> None:
        """`outputs: [a, b]` of a chunk or split: one layer per piece, each taking its `index`."""
        scope = state.scope
        outputs = self.outputs(item, state.seen)
        for position, (output_name, output_loc) in enumerate(outputs):
            raw = {**item.raw, "index": YNode(position, output_loc)}
            key_locs = {**item.key_locs, "index": output_loc}
            full = scope.prefix + output_name
            label = f"layer {full!r} ({item.kind.type_name})"
            scope.names[output_name] = self.layer(item.kind, full, label, raw, key_locs, output_loc, item, scope)
            state.seen.setdefault(output_name, output_loc)
            state.record(Entry(output_name, "layer", full, item.locals_read, item.when))
        if outputs:
            state.previous, state.previous_local = scope.names[outputs[-1][0]], outputs[-1][0]

    def outputs(self, item: _Item, seen: dict) -> list[tuple[str, Loc]]:
        """The names in `outputs:`, one per piece of a chunk or split."""
        label, common, node = item.label, item.common, item.common["outputs"]
        if not isinstance(item.kind, LayerType) or not item.kind.splits:
            self.report.error(
                "spec.bad-value", f"{label}: outputs: is for `chunk` and `split`, which make several", node.loc
            )
            return []
        if "name" in common:
            self.report.error("spec.bad-value", f"{label}: give either name: or outputs:, not both", common["name"].loc)
        if "index" in item.raw:
            self.report.error(
                "spec.bad-value", f"{label}: give either index: or outputs:, not both", item.raw["index"].loc
            )
        items = node.value if isinstance(node.value, list) else None
        if not items or not all(isinstance(i.value, str) and NAME_PATTERN.fullmatch(i.value) for i in items):
            self.report.error(
                "spec.bad-value", f"{label}: outputs: expected a list of names, e.g. [left, right]", node.loc
            )
            return []
        names: dict[str, Loc] = {}
        for i in items:
            if i.value == NETWORK_INPUT or i.value in seen or i.value in names:
                self.report.error(
                    "spec.duplicate-name", f"{label}: outputs: the name {i.value!r} is already used", i.loc
                )
                return []
            names[i.value] = i.loc
        return list(names.items())

    def layer(self, layer: LayerType, full: str, label: str, raw: dict, key_locs: dict, loc: Loc, item: _Item, scope):
        """One layer: its fields checked, its inputs counted; a draft if it is right."""
        entry = ParsedEntry(layer, raw, key_locs, loc)
        cfg = entry_fields.config(self.report, full, entry, frozenset(scope.env or ()))
        inputs, inputs_node = item.inputs, item.common.get("inputs")
        where = loc
        if inputs_node is not None:
            entry.field_locs["inputs"] = where = inputs_node.loc
        if inputs and layer.merges and len(inputs) < 2:
            self.report.error("graph.arity", f"{label}: needs two or more inputs, e.g. inputs: [a, b]", where)
        elif inputs and not layer.merges and not 1 <= len(inputs) <= layer.max_inputs:
            most = "one input" if layer.max_inputs == 1 else f"one to {layer.max_inputs} inputs"
            self.report.error("graph.arity", f"{label}: takes {most}, got {len(inputs)}", where)
        name = full[len(scope.prefix) :]
        if inputs_node is not None and any(isinstance(r, Ref) and r.scope is scope and r.name == name for r in inputs):
            self.report.error("graph.cycle", f"{label}: takes its own output as input", where)
        if cfg is not None and (inputs or not layer.takes_input):
            draft = Draft(full, entry, cfg, item.trainable, inputs, inputs_node is not None, scope.groups)
            self.drafts.append(draft)
            self.shapes.add(full, layer, cfg, inputs)
            if len(self.drafts) > MAX_LAYERS:
                self.report.error(
                    "spec.too-large", f"{label}: the spec expands to more than {MAX_LAYERS:,} layers", loc
                )
                raise TooLarge()
        return full

    # ---- lists and block calls -----------------------------------------------------------------

    def sequential(self, item: _Item, scope: Scope):
        """`- sequential: [...]`: a group whose entries each read the one before."""
        items, inputs = item.raw.get(""), item.inputs
        if items is None or not isinstance(items.value, list) or not items.value:
            self.report.error(
                "spec.bad-value",
                f"layer {item.full!r} (sequential): expected a list of layers, as `- sequential: [conv2d: ..., relu]`",
                items.loc if items is not None else item.node.loc,
            )
            return inputs[0] if inputs else None
        if sum(1 for g in scope.groups if g.block == SEQUENTIAL) >= MAX_LIST_NESTING:
            self.report.error(
                "spec.too-large",
                f"layer {item.full!r}: sequential lists nest more than {MAX_LIST_NESTING} deep",
                item.node.loc,
            )
            raise TooLarge()
        group = Group(item.full, SEQUENTIAL, None, item.node.loc, len(scope.groups), inputs=tuple(inputs[:1]))
        self.groups.append(group)
        child = Scope(
            prefix=item.full + ".",
            env=scope.env,
            names={},
            groups=(*scope.groups, group),
            blocks_open=scope.blocks_open,
            trainable=item.trainable,
            sequential=True,
            context=scope.context,
            group=group,
        )
        group.output_ref = self.expand(items.value, child, inputs[0])
        return group.output_ref

    def call(self, block: Block, item: _Item, scope: Scope):
        """Expand a block call (and its repetitions); returns the reference to its output."""
        call = Call.of(self, block, item, scope)
        if call is None:
            return item.inputs[0] if item.inputs else None
        group = Group(item.full, block.name, call.repeat if call.repeated else None, item.node.loc, len(scope.groups))
        group.inputs, group.repeat_name = tuple(item.inputs), call.pattern
        self.groups.append(group)
        previous = item.inputs[0] if item.inputs else None
        errors_before = len(self.report.diagnostics)
        smallest = MAX_LAYERS  # the fewest layers a repetition has made
        for repetition in range(call.repeat):
            if len(self.report.diagnostics) > errors_before or self.report.full:
                break  # the next repetitions would meet the same mistakes: one report is enough
            made = len(self.drafts)
            output = self.repetition(call, group, repetition, previous)
            if output is _FAILED:
                break
            previous = output
            smallest = min(smallest, len(self.drafts) - made)
            self.bounds.check_repetitions_left(
                item.label, block, call.repeat, repetition + 1, len(self.drafts), smallest, item.common.get("repeat")
            )
        group.output_ref = previous
        return previous

    def repetition(self, call: Call, group: Group, repetition: int, previous):
        """One repetition of a call: its arguments bound, its block's layers expanded."""
        block, item, scope = call.block, call.item, call.scope
        arguments = {}
        if item.raw:  # worked out with the caller's names, and `i`: which repetition this is (0, 1, ...)
            env = {**(scope.env or {}), "i": repetition}
            arguments = {
                key: substitute(self.report, value, env, f"{item.label}: {key}") for key, value in item.raw.items()
            }
        key_locs = item.key_locs
        if call.first is not None and repetition == 0:
            arguments = {**arguments, **call.first.value}
            key_locs = {**item.key_locs, **call.first.key_locs}
        known = {}
        if block.reads_input_channels:  # the block's input's channels, worked out from the layers so far
            first_input = previous if repetition else (item.inputs[0] if item.inputs else None)
            known["in_channels"] = self.channels_of(first_input)
        bound = bind(self.report, block, item.label, arguments, item.node.loc, key_locs, known, self.constants)
        if bound is None:
            return _FAILED
        instance, groups, prefix = group, (*scope.groups, group), f"{item.full}."
        if call.repeated:
            local = call.pattern.replace("{i}", str(repetition)).replace("{n}", str(repetition + 1))
            instance = Group(f"{item.full}.{local}", block.name, None, item.node.loc, len(scope.groups) + 1)
            self.groups.append(instance)
            group.entries.append(
                Entry(local, "group", instance, (group.entries[-1].local if group.entries else "input",))
            )
            groups, prefix = (*scope.groups, group, instance), f"{item.full}.{local}."
        names = dict(zip(block.inputs, [previous] + list(item.inputs[1:]) if repetition else item.inputs))
        instance.arguments = bound  # the call's own values: the spec's constants are not among them
        instance.call = {key: python_source(node) for key, node in arguments.items() if key} if arguments else EMPTY
        instance.inputs = tuple(names[n] for n in block.inputs)
        child = Scope(
            prefix=prefix,
            env={**self.constants, **bound} if self.constants else bound,
            names=names,
            groups=groups,
            blocks_open=(*scope.blocks_open, block.name),
            trainable=item.trainable,
            context=f"block {block.name!r}, ",
            group=instance,
            first_input=block.inputs[0],
        )
        instance.output_ref = self.expand(block.layers, child, names[block.inputs[0]])
        return instance.output_ref


_FAILED = object()  # a repetition whose arguments are wrong (reported)


class WillNotPlan(Exception):
    """A block needs the channels of a layer that does not plan: nothing after it is expanded."""


def resolve(item) -> str | None:
    """The full name of the tensor a reference means, following skipped layers and groups."""
    for _ in range(10_000):
        if not isinstance(item, Ref):
            return item
        item = item.scope.names.get(item.name)
    return None  # pragma: no cover - references always end in a layer


def _reads_nothing(type_node: YNode, types: Convention) -> bool:
    """The entry is a layer type that makes its tensor from nothing (a `parameter`)."""
    layer = types.lookup(type_node.value) if isinstance(type_node.value, str) else None
    return layer is not None and not layer.takes_input


def _explicit_names(nodes: list) -> set:
    """The names written in a list of entries (`name:` and `outputs:`)."""
    explicit = set()
    for node in nodes:
        if not isinstance(node.value, dict):
            continue
        name, outputs = node.value.get("name"), node.value.get("outputs")
        if isinstance(name, YNode) and isinstance(name.value, str):
            explicit.add(name.value)
        if isinstance(outputs, YNode) and isinstance(outputs.value, list):
            explicit.update(i.value for i in outputs.value if isinstance(i.value, str))
    return explicit


def _name_of(node: YNode) -> str | None:
    name = node.value.get("name") if isinstance(node.value, dict) else None
    return name.value if isinstance(name, YNode) else None
