"""The export's walk over the spec's structure: each block becomes a class, written once from all
of its calls; each entry a member (a layer's or a block's constructor, an nn.Sequential) or, for a
functional layer, an expression in forward().

The rooms it uses: naming.py (names), values.py and arguments.py (values that differ between
calls), symbols.py (channel expressions), emit.py (the text), paths.py (module paths).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnncalc.engine import Plan
from cnncalc.export import emit
from cnncalc.export.arguments import block_argument, channel_arguments, hoisted_arguments, layer_arguments
from cnncalc.export.drafts import Code, Context, Draft, ExportError, Irregular, layer_spec, present
from cnncalc.export.exposure import exposed_names
from cnncalc.export.naming import (
    RESERVED,
    attribute,
    block_class_names,
    channel_params,
    claim_exact,
    input_variable,
    model_class_name,
    model_input_variables,
    module_names,
)
from cnncalc.export.paths import module_paths
from cnncalc.export.symbols import layer_symbols, when_symbols
from cnncalc.export.values import bounded, condition, hoist, substitute, value_code
from cnncalc.layers.base import LayerType, fmt_shape
from cnncalc.spec import REQUIRED_ARGUMENT, Entry, Group, LayerSpec


@dataclass
class Exported:
    code: str
    paths: dict[str, str | None]  # layer or group name -> its module's path in the model (None: an expression)
    model_class: str  # the model's class name in `code`


@dataclass
class _Walk:
    """One class being written, entry by entry: what the entries so far have made."""

    first_names: tuple  # the class's inputs' local names
    per_call: list[list[Entry]]  # each call's entries; they line up by position
    local_names: list[str]  # each position's name
    canonical: list[dict]  # per call: local name as written -> the position's name
    claimed: set[str]  # the names taken as attributes as they are
    symbols: dict = field(default_factory=dict)  # local name -> {axis: channels expression}
    variables: dict = field(default_factory=dict)  # forward()'s variable for each input
    steps: list = field(default_factory=list)  # (local, expression template over {0}, {1}..., input locals)
    members: list = field(default_factory=list)  # (local, attribute, constructor code, condition, comment)
    chain: bool = False  # each entry reads the one before it
    previous: str = ""
    aliases: dict = field(default_factory=dict)  # a call's returned name that is its output -> the call's local
    tensors: dict = field(default_factory=dict)  # a layer inside a call (full name) -> its local here


class _Exporter:
    """One plan's export: the model's class, each block's class on first use, then the module."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.spec = plan.spec
        self.rows = {row.name: row for row in plan.layers}
        self.classes: dict[str, Draft] = {}
        self.order: list[str] = []  # block classes in the order they are finished (callees first)
        self.helpers: dict[str, None] = {}  # the layer types' helper definitions used, in order
        self.uses_ordered_dict = False
        self.block_class: dict[str, str] = {}
        self.exposed: dict[str, list[str]] = {}  # block -> names inside its calls its class also returns

    # ---- shapes of the planned tensors ----------------------------------------------------------

    def shape(self, tensor: str) -> tuple:
        inputs = self.plan.input_shapes
        return tuple(inputs[tensor]) if tensor in inputs else self.rows[tensor].output_shape

    def channels(self, tensor: str) -> int:
        return self.shape(tensor)[0] if self.shape(tensor) else 0

    def layer_of(self, entry: Entry) -> LayerSpec | None:
        return layer_spec(self.rows, entry)

    # ---- the whole file -------------------------------------------------------------------------

    def run(self, source: str | None) -> Exported:
        taken = module_names(self.spec)
        model_name = model_class_name(self.plan.name, taken)
        self.block_class = block_class_names(self.spec, model_name, taken)
        root = self.root()
        self.exposed = exposed_names(root, self.spec.outputs if self.spec is not None else ())
        model = Draft(model_name, None, [Context(root, {})], literal=True)
        self.write_class(model, [root])
        paths = module_paths(root, model, self.classes, self.rows)
        classes = [line for name in self.order for line in ["", *emit.class_source(self.classes[name]), ""]]
        frozen = emit.frozen_lines(self.plan, paths)
        code = emit.module_source(self.plan, model, classes, frozen, self.helpers, self.uses_ordered_dict, source)
        return Exported(code, paths, model_name)

    def root(self) -> Group:
        """The spec's top level; for a plan made without a spec's structure, every layer in it."""
        spec = self.spec
        if spec is not None and spec.root is not None and spec.root.entries:
            return spec.root
        root = Group("", self.plan.name, None, None, -1)
        previous = next(iter(self.plan.input_shapes))
        for row in self.plan.layers:
            given = row.spec.inputs != (previous,)
            root.entries.append(Entry(row.name, "layer", row.name, row.spec.inputs if given else (previous,)))
            previous = row.name
        return root

    # ---- writing one class ----------------------------------------------------------------------

    def block_class_for(self, block_name: str) -> Draft:
        """The class for a block, written on first use from every call of the block in the plan."""
        cls = self.classes.get(block_name)
        if cls is not None:
            if not cls.done:
                raise Irregular()  # a block inside itself cannot be
            return cls
        block = self.spec.blocks[block_name]
        names = channel_params(block)
        # every call, also one whose layers were all left out (a repetition still holds its place)
        instances = [g for g in self.spec.every_group if g.block == block_name and g.repeat is None]
        contexts = []
        for group in instances:
            env = dict(group.arguments)
            env.update({name: self.channels(tensor) for name, tensor in zip(names, group.inputs)})
            contexts.append(Context(group, env))
        cls = Draft(self.block_class[block_name], block, contexts, literal=False)
        cls.channel_params = names
        cls.constants = self.spec.constants
        cls.exposes = self.exposed.get(block_name, [])
        cls.names = set(RESERVED) | set(block.params) | set(block.let) | set(cls.channel_params)
        self.classes[block_name] = cls
        self.write_class(cls, [c.group for c in contexts])
        cls.done = True
        self.order.append(block_name)
        return cls

    def write_class(self, cls: Draft, scopes: list[Group]) -> None:
        """Write the __init__ and forward of `cls`, whose calls' entries are `scopes`' entries."""
        walk = self.start(cls, scopes)
        for position in range(len(walk.per_call[0])):
            items, template = self.aligned(cls, walk, position)
            walk.chain = walk.chain and template.inputs == (walk.previous,)
            walk.previous = template.local
            self.write_entry(cls, walk, position, items, template)
        self.finish(cls, walk)

    def start(self, cls: Draft, scopes: list[Group]) -> _Walk:
        first_names = cls.block.inputs if cls.block else tuple(self.plan.input_shapes)
        per_call = [scope.entries for scope in scopes]
        if len({len(entries) for entries in per_call}) > 1:
            raise Irregular()
        local_names, canonical = _line_up(per_call, first_names)
        walk = _Walk(first_names, per_call, local_names, canonical, claim_exact(local_names, cls.taken))
        if not cls.block:
            cls.input_variables = model_input_variables(first_names)
        for i, name in enumerate(first_names):
            walk.variables[name] = input_variable(name, i) if cls.block else cls.input_variables[i]
            if cls.block:
                walk.symbols[name] = {0: cls.channel_params[i]}
        walk.chain = cls.block is not None and len(first_names) == 1
        walk.previous = first_names[0]
        return walk

    def aligned(self, cls: Draft, walk: _Walk, position: int) -> tuple[list, Entry]:
        """Each call's entry at `position`, and one Entry standing for them all (named and wired
        as the class writes it); Irregular if the calls wire it differently."""
        items = [(cls.contexts[i], entries[position]) for i, entries in enumerate(walk.per_call)]
        present_inputs = {
            tuple(walk.canonical[i][name] for name in entries[position].inputs)
            for i, entries in enumerate(walk.per_call)
            if present(entries[position])
        }
        if len(present_inputs) > 1:
            raise Irregular()
        template = next((entry for _, entry in items if present(entry)), items[0][1])
        inputs = present_inputs.pop() if present_inputs else tuple(walk.canonical[0][n] for n in template.inputs)
        local = walk.local_names[position]
        return items, Entry(local, template.kind, template.target, inputs, template.when, template.present)

    def write_entry(self, cls: Draft, walk: _Walk, position: int, items, template: Entry) -> None:
        built = [present(entry) for _, entry in items]
        if not any(built):
            walk.steps.append((template.local, None, template.inputs))
            return
        name = attribute(template.local or f"layer{position}", cls.taken, walk.claimed)
        # a member named by digits (a branch of torchvision's ASPP.convs) keeps them as its module
        # name, registered with add_module; `name` stays the identifier the rest is derived from
        registered = template.local if template.local.isdigit() else name
        cls.attributes[position] = registered
        # a written `when:` stays in a block's class even where every call agrees, so the
        # class still means what the block says
        keep = template.when is not None and not cls.literal
        when = None if all(built) and not keep else condition(cls, items, name)
        live = [(context, entry) for context, entry in items if present(entry)]
        spec = self.layer_of(live[0][1])
        if spec is not None and spec.layer.inline(len(spec.inputs)):
            self.write_functional(cls, walk, live, template, name, when)
        else:
            self.write_member(cls, walk, items, live, template, (name, registered), when)

    def write_functional(self, cls: Draft, walk: _Walk, live, template: Entry, name: str, when) -> None:
        """A merge, chunk or split: an expression in forward()."""
        walk.chain = False
        expression = self.functional_expression(cls, live, name)
        if when is not None:
            cls.init.append(f"        self.use_{name} = {when}")
            expression = f"{expression} if self.use_{name} else {{0}}"
        walk.steps.append((template.local, expression, template.inputs))
        spec = self.layer_of(live[0][1])
        made = layer_symbols(spec, self.rows[spec.name], walk.symbols, template.inputs)
        walk.symbols[template.local] = when_symbols(when, made, walk.symbols, template)

    def write_member(self, cls: Draft, walk: _Walk, items, live, template: Entry, names: tuple, when) -> None:
        """A module: an attribute set in __init__, called in forward(). `names` are (the identifier
        derived names start from, the module's registered name)."""
        name, registered = names
        try:
            code, symbol = self.module_code(cls, live, walk.symbols, template.inputs, name)
        except Irregular:
            code, symbol = self.hoist_module(cls, items, name), {}
        walk.symbols[template.local] = when_symbols(when, symbol, walk.symbols, template)
        walk.members.append((template.local, registered, code, when, self.shape_comment(cls, live[0][1])))
        reads = template.inputs
        spec = self.layer_of(live[0][1])
        if spec is not None and not spec.layer.takes_input:  # a learned tensor takes the batch size from the input
            reads = (walk.first_names[0],)
        member = emit.member(registered)
        holes = [f"{{{k}}}" for k in range(len(reads))]
        call = spec.layer.torch_call(member, holes) if spec is not None else f"{member}({', '.join(holes)})"
        local = self.returned_by_call(walk, live, template.local)
        if when is not None:
            if isinstance(local, tuple):
                raise ExportError(
                    f"{template.local!r} returns layers inside it (outputs:) and has a `when:`: the export cannot "
                    f"write a call that may be left out and unpacked yet"
                )
            call = f"{{0}} if {member} is None else {call}"
        walk.steps.append((local, call, reads))

    def returned_by_call(self, walk: _Walk, live, local: str) -> str | tuple[str, ...]:
        """The local a member's call gives, or for a block call whose class returns layers inside
        it too, its locals in the order returned (`m`, `m.0`, `m.1`)."""
        target = live[0][1].target
        child = self.classes.get(target.block) if live[0][1].kind == "group" else None
        if child is None or not child.exposes or target.repeat is not None:
            return local
        walk.chain = False
        for name in child.exposes:
            inner = f"{local}.{name}" if name in child.extra else local
            walk.aliases[f"{local}.{name}"] = inner
            walk.tensors[f"{target.name}.{name}"] = inner
        return (local, *(f"{local}.{name}" for name in child.extra))

    def shape_comment(self, cls: Draft, entry: Entry) -> str:
        """`-> [64, 56, 56]` after a member of the model's class."""
        if not cls.literal:
            return ""
        if self.layer_of(entry) is not None:
            return f"-> {fmt_shape(self.rows[entry.target].output_shape)}"
        return f"-> {fmt_shape(self.shape(entry.target.output))}" if entry.target.output else ""

    def finish(self, cls: Draft, walk: _Walk) -> None:
        last = walk.steps[-1][0] if walk.steps else walk.first_names[0]
        last = last[0] if isinstance(last, tuple) else last
        cls.output_channels = walk.symbols.get(last, {}).get(0)
        if (
            walk.chain
            and walk.members
            and not cls.exposes
            and not any((when or "").startswith("use_") for *_, when, _ in walk.members)
        ):
            # layers that each read the one before: an nn.Sequential, as torchvision writes
            # Conv2dNormActivation, its children numbered or named as in the spec
            cls.sequential_chain = True
            by_digit = all(local.isdigit() for local, *_ in walk.members)
            # children are numbered by position in each call, or keyed by the names written here
            cls.attributes = {} if by_digit else dict(enumerate(walk.local_names))
            self.uses_ordered_dict |= not by_digit
            cls.init = emit.sequential_init(walk.members, cls.names)
            return
        cls.init += emit.member_lines(walk.members)
        returns = self.returned_locals(walk) if cls.block is None else self.exposed_locals(cls, walk, last)
        cls.forward = emit.forward_lines(walk.steps, walk.variables, chain_style=cls.block is None, returns=returns)

    def returned_locals(self, walk: _Walk) -> tuple[str, ...]:
        """The model's forward() returns: the locals of the top-level entries whose outputs the
        spec's `outputs:` lists (empty: the last entry's, as a plain model returns)."""
        outputs = self.spec.outputs if self.spec is not None else ()
        if not outputs:
            return ()
        local_of = dict(walk.tensors)
        for position, entry in enumerate(walk.per_call[0]):
            tensor = entry.target if entry.kind == "layer" else entry.target.output
            local_of[tensor] = walk.local_names[position]
        return tuple(local_of[name] for name in outputs)

    def exposed_locals(self, cls: Draft, walk: _Walk, last: str) -> tuple[str, ...]:
        """A block class's return: () for its output alone; else its output, then the layers
        inside it its callers need (cls.extra: those that are not its output)."""
        if not cls.exposes:
            return ()
        local_of = {name: walk.aliases.get(name, name) for name in cls.exposes}
        cls.extra = [name for name in cls.exposes if local_of[name] != last]
        return (last, *(local_of[name] for name in cls.extra))

    def functional_expression(self, cls: Draft, live, name: str) -> str:
        """forward()'s expression for a merge, chunk or split; a setting that differs between
        calls (chunks: n) is kept as an attribute set in __init__."""
        specs = [self.layer_of(entry) for _, entry in live]
        holes = [f"{{{k}}}" for k in range(len(live[0][1].inputs))]
        calls = {spec.layer.torch_forward(spec.cfg, holes) for spec in specs}
        if len(calls) == 1:
            return calls.pop()
        cfg = dict(specs[0].cfg)
        fields = {f.name: f for f in specs[0].layer.fields}
        for key in fields:
            values = [spec.cfg[key] for spec in specs]
            if all(value == values[0] for value in values):
                continue
            texts = {spec.exprs.get(key) for spec in specs}
            candidate = texts.pop() if len(texts) == 1 else None
            code = value_code(cls, live, fields[key], values, candidate, f"{name}_{key}")
            cls.init.append(f"        self.{name}_{key} = {code}")
            cfg[key] = Code(f"self.{name}_{key}")
        return specs[0].layer.torch_forward(cfg, holes)

    def hoist_module(self, cls: Draft, items, name: str) -> str:
        """An entry the calls build differently: each call passes its module ready-made."""
        if cls.literal:
            raise Irregular()
        values = []
        for context, entry in items:
            if not present(entry):
                values.append("None")
                continue
            single = Draft(cls.name, None, [context], literal=True)
            values.append(self.module_code(single, [(context, entry)], {}, entry.inputs, name)[0])
        return hoist(cls, name, values, "nn.Module")

    # ---- one member's constructor ---------------------------------------------------------------

    def module_code(self, cls: Draft, live, symbols: dict, inputs: tuple, name: str):
        """(constructor code, output channel symbols) for an entry present in the calls `live`."""
        if live[0][1].kind == "layer":
            return self.layer_code(cls, live, symbols, inputs, name)
        groups = [entry.target for _, entry in live]
        if any(g.block != groups[0].block or (g.repeat is None) != (groups[0].repeat is None) for g in groups):
            raise Irregular()
        if groups[0].block == "sequential":
            return self.sequential_code(cls, live, symbols, inputs, name)
        if groups[0].repeat is not None:
            return self.repeat_code(cls, live, symbols, inputs, name)
        return self.call_code(cls, live, symbols, inputs, name)

    def layer_code(self, cls: Draft, live, symbols: dict, inputs: tuple, name: str):
        specs = [self.layer_of(entry) for _, entry in live]
        layer: LayerType = specs[0].layer
        if any(s.layer is not layer for s in specs):
            raise Irregular()
        if layer.torch_helper:
            self.helpers[layer.torch_helper] = None
        rows = [self.rows[s.name] for s in specs]
        if type(layer).pytorch is not LayerType.pytorch:  # written whole: it must read the same in every call
            codes = {layer.pytorch(s.cfg, r.input_shape) for s, r in zip(specs, rows)}
            if len(codes) > 1:
                raise Irregular()
            code = codes.pop()
        else:
            in_symbols = symbols.get(inputs[0], {}) if inputs else {}
            pieces = layer_arguments(cls, live, specs, rows, in_symbols, name)
            code = f"{layer.torch_class}({', '.join(pieces)})"
        wrappers = {layer.torch_wrapper(s.cfg, r.input_shape) for s, r in zip(specs, rows)}
        if len(wrappers) > 1:
            raise Irregular()  # the calls wrap it differently: each passes its module ready-made
        wrapper = wrappers.pop()
        return (wrapper.format(code) if wrapper else code), layer_symbols(specs[0], rows[0], symbols, inputs)

    def call_code(self, cls: Draft, live, symbols: dict, inputs: tuple, name: str):
        """A block call: its class's constructor, and its output's channels in the caller's terms."""
        groups = [entry.target for _, entry in live]
        child = self.block_class_for(groups[0].block)
        channels = [[self.channels(g.inputs[k]) for g in groups] for k in range(len(child.channel_params))]
        candidates = [symbols.get(inputs[k], {}).get(0) if k < len(inputs) else None for k in range(len(channels))]
        pieces, mapping = channel_arguments(cls, live, child, channels, candidates, name)
        # required arguments first, by position, as the class's signature lists them
        for param, default in sorted(child.block.params.items(), key=lambda item: item[1] is not REQUIRED_ARGUMENT):
            piece, mapping[param] = block_argument(cls, live, groups, param, default, f"{name}_{param}")
            if piece is not None:
                pieces.append(piece)
        pieces += hoisted_arguments(cls, live, child, groups, name)
        code = f"{child.name}({', '.join(pieces)})"
        output = substitute(child.output_channels, mapping) if child.output_channels else None
        return code, (bounded({0: output}) if output else {})

    def sequential_code(self, cls: Draft, live, symbols: dict, inputs: tuple, name: str):
        """A `sequential:` list: an nn.Sequential of its members (one call may leave some out)."""
        per_call = [entry.target.entries for _, entry in live]
        if len({len(e) for e in per_call}) > 1:
            raise Irregular()
        children, names, symbol = [], [], symbols.get(inputs[0], {}) if inputs else {}
        previous = "input"
        local_symbols = {previous: symbol}
        for position in range(len(per_call[0])):
            items = [(context, entries[position]) for (context, _), entries in zip(live, per_call)]
            if not all(present(entry) for _, entry in items):
                if not cls.literal:
                    raise Irregular()  # nn.Sequential has no optional members
                continue  # one call: a member it leaves out is simply not there
            code, symbol = self.module_code(cls, items, local_symbols, (previous,), f"{name}_{position}")
            self.one_value(items[0][1])
            previous = items[0][1].local
            children.append(code)
            names.append(previous)
            local_symbols[previous] = symbol
        return self.sequential_source(children, names), symbol

    def repeat_code(self, cls: Draft, live, symbols: dict, inputs: tuple, name: str):
        """A `repeat: N` call: an nn.Sequential of its N block calls."""
        groups = [entry.target for _, entry in live]
        if len({g.repeat for g in groups}) > 1 or len({g.repeat_name for g in groups}) > 1:
            raise Irregular()
        children, names = [], []
        local_symbols = {"input": symbols.get(inputs[0], {}) if inputs else {}}
        previous = "input"
        for position in range(groups[0].repeat):
            items = [(context, g.entries[position]) for (context, _), g in zip(live, groups)]
            code, symbol = self.call_code(cls, items, local_symbols, (previous,), f"{name}_{position}")
            self.one_value(items[0][1])
            previous = items[0][1].local
            children.append(code)
            names.append(previous)
            local_symbols[previous] = symbol
        return self.sequential_source(children, names), local_symbols[previous]

    def one_value(self, entry: Entry) -> None:
        """An nn.Sequential's child passes one value on: a block class returning layers inside it
        too cannot be one."""
        child = self.classes.get(entry.target.block) if entry.kind == "group" else None
        if child is not None and child.exposes:
            raise ExportError(
                f"block {child.block.name!r} returns layers inside it (outputs:), and is also called inside "
                f"an nn.Sequential ({entry.target.name!r}), which passes one value on"
            )

    def sequential_source(self, children: list[str], names: list[str]) -> str:
        self.uses_ordered_dict |= not emit.numbered(names)
        return emit.sequential_source(children, names)


def _line_up(per_call: list[list[Entry]], first_names: tuple) -> tuple[list[str], list[dict]]:
    """Entries line up by position across calls; so do the names they read (a name may differ
    between calls where an unnamed entry is left out): each position's name, and per call a
    map from the names as written to those."""
    local_names = []
    for position in range(len(per_call[0])):
        named = next((entries[position] for entries in per_call if present(entries[position])), None)
        local_names.append((named or per_call[0][position]).local)
    canonical = []
    for entries in per_call:
        mapping = {name: name for name in first_names}
        mapping.update({entry.local: local_names[k] for k, entry in enumerate(entries)})
        canonical.append(mapping)
    return local_names, canonical
