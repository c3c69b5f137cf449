"""Export a plan as a self-contained PyTorch module, written as a careful engineer would.

The spec's structure is kept: each block becomes an nn.Module class, constructed with the
block's arguments and its input's channel count; a repeated call becomes an nn.Sequential
of them, a `sequential:` list an nn.Sequential. Where a block's calls differ in a way its
arguments do not explain, the differing value becomes one more constructor argument, so
the code stays exact. Pure: it returns source text and never imports torch.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field

from cnncalc import __version__, expressions
from cnncalc.engine import Plan
from cnncalc.layers.base import LayerType, fmt_shape, parenthesised, python_literal
from cnncalc.spec import NETWORK_INPUT, REQUIRED_ARGUMENT, Block, Entry, Group, LayerSpec

BACKSLASH, QUOTE = chr(92), chr(34)

# torch.nn.Module's own attributes (PyTorch 2.x); a layer named like one is renamed.
# tests/test_export.py checks this list against the installed torch.
MODULE_ATTRIBUTES = frozenset(
    """T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
    double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
    get_submodule half ipu load_state_dict modules mtia named_buffers named_children named_modules
    named_parameters parameters register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu
    zero_grad""".split()
)
RESERVED = {"x", "out", "self", "torch", "nn", "OrderedDict", "make_divisible"}

MAKE_DIVISIBLE = '''def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round to a multiple of divisor, never below min_value nor 10% below value (MobileNet)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded
'''


def class_name(name: str) -> str:
    """'seed-50x50' -> 'Seed50x50', 'vgg16_bn' -> 'Vgg16Bn'."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    result = "".join(w[0].upper() + w[1:] for w in words) or "Net"
    return result if result[0].isalpha() and not keyword.iskeyword(result) else f"Net{result}"


def _identifier(name: str, taken: set[str]) -> str:
    """A Python attribute for a spec name: itself where that is a valid, free identifier."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if keyword.iskeyword(base) or base in MODULE_ATTRIBUTES or base.startswith("_") or not base[:1].isalpha():
        base = f"layer_{base.lstrip('_')}"
    result, n = base, 2
    while result in taken:
        result, n = f"{base}_{n}", n + 1
    taken.add(result)
    return result


def _claim_exact(names, taken: set[str]) -> set[str]:
    """The names that are already valid, free attributes, added to `taken` first: `my_layer`
    keeps its name, and `my-layer` (written `my_layer` too) becomes `my_layer_2`."""
    claimed = {name for name in names if name and name not in taken and _identifier(name, set()) == name}
    taken |= claimed
    return claimed


def _attribute(name: str, taken: set[str], claimed: set[str]) -> str:
    if name in claimed:
        claimed.discard(name)
        return name
    return _identifier(name, taken)


def attribute_names(plan: Plan) -> list[str]:
    """For a spec without blocks: a Python attribute per layer, in order."""
    taken = set(RESERVED)
    claimed = _claim_exact([row.name for row in plan.layers], taken)
    return [_attribute(row.name, taken, claimed) for row in plan.layers]


@dataclass
class Exported:
    code: str
    paths: dict[str, str | None]  # layer or group name -> its module's path in the model (None: an expression)
    model_class: str  # the model's class name in `code`


def to_pytorch(plan: Plan, *, source: str | None = None) -> str:
    """Python source defining the model's nn.Module subclass (and one per block), constructible without arguments."""
    return export(plan, source=source).code


class ExportError(Exception):
    """The plan has a structure the export cannot write yet; the message says which."""


def export(plan: Plan, *, source: str | None = None) -> Exported:
    try:
        return _Exporter(plan).run(source)
    except _Irregular as exc:
        raise ExportError(
            f"cannot export {plan.name!r}: {exc.args[0] if exc.args else 'a block is built differently by its calls'}"
            f" in a way one class cannot express yet; please report it"
        ) from None


class _Irregular(Exception):
    """A block's calls differ in a way one class cannot express; the module is passed in whole."""


@dataclass
class _Context:
    """One call of the class being written: the values its __init__ names stand for."""

    group: Group | None  # the block call (or list), None for the model
    env: dict  # argument, `let:` and channel names -> values


@dataclass
class _Class:
    """A class being written: for the model (one context, every value literal) or a block."""

    name: str
    block: Block | None
    contexts: list[_Context]
    literal: bool
    hoisted: dict[str, list[str]] = field(default_factory=dict)  # extra argument -> value code per call
    hoisted_kinds: dict[str, str] = field(default_factory=dict)
    attributes: dict[int, str] = field(default_factory=dict)  # entry position -> attribute
    taken: set[str] = field(default_factory=set)  # attribute names
    names: set[str] = field(default_factory=set)  # __init__'s own names: arguments, `let:` values
    init: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    channel_params: list[str] = field(default_factory=list)
    output_channels: str | None = None  # the output's channels as an expression of the arguments
    done: bool = False
    sequential_chain: bool = False  # written as an nn.Sequential subclass


class _Exporter:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.spec = plan.spec
        self.rows = {row.name: row for row in plan.layers}
        self.classes: dict[str, _Class] = {}
        self.order: list[str] = []  # block classes in the order they are finished (callees first)
        self.helpers: dict[str, str] = {}
        self.uses_ordered_dict = False

    # ---- shapes of the planned tensors ------------------------------------------------------

    def shape(self, tensor: str) -> tuple:
        return tuple(self.plan.input_shape) if tensor == NETWORK_INPUT else self.rows[tensor].output_shape

    def channels(self, tensor: str) -> int:
        return self.shape(tensor)[0] if self.shape(tensor) else 0

    # ---- the whole file ---------------------------------------------------------------------

    def run(self, source: str | None) -> Exported:
        plan, spec = self.plan, self.spec
        taken = self.module_names()
        model_name = class_name(plan.name)
        while model_name in taken:
            model_name += "Model"
        root = spec.root if spec is not None and spec.root is not None and spec.root.entries else None
        if root is None:  # a plan made without a spec's structure: every layer at the top level
            root = Group("", plan.name, None, None, -1)
            previous = NETWORK_INPUT
            for row in plan.layers:
                given = row.spec.inputs != (previous,)
                root.entries.append(Entry(row.name, "layer", row.name, row.spec.inputs if given else (previous,)))
                previous = row.name
        self.reserve_block_class_names(model_name, taken)
        model = _Class(model_name, None, [_Context(root, {})], literal=True)
        self.write_class(model, [root])
        frozen = self.frozen_lines(root, model)
        batch_shape = ", ".join(str(d) for d in plan.input_shape)
        origin = f" from {_docstring_text(source)}" if source else ""
        lines = [
            f'"""{_docstring_text(plan.name)}: generated by cnncalc {__version__}{origin}.',
            "",
            f"Input: [N, {batch_shape}]. Output: [N, {', '.join(map(str, plan.output_shape))}]. "
            f"Parameters: {plan.totals.params:,}.",
            '"""',
            "",
        ]
        lines += ["from __future__ import annotations", ""]  # annotations such as `int | None` on Python 3.9
        if self.uses_ordered_dict:
            lines += ["from collections import OrderedDict", ""]
        lines += ["import torch", "from torch import nn", ""]
        classes = [line for name in self.order for line in ["", *self.class_source(self.classes[name]), ""]]
        if "make_divisible(" in "\n".join(classes + model.init):
            lines += ["", MAKE_DIVISIBLE.rstrip(), ""]
        for helper in self.helpers.values():
            lines += ["", helper.rstrip(), ""]
        lines += classes
        lines += ["", f"class {model_name}(nn.Module):"]
        if plan.description:
            lines += [f'    """{_docstring_text(plan.description)}"""', ""]
        lines += ["    def __init__(self) -> None:", "        super().__init__()", *model.init]
        if frozen:
            lines += ["        # trainable: false in the spec", *frozen]
        lines += ["", "    def forward(self, x: torch.Tensor) -> torch.Tensor:", *model.forward, ""]
        lines += [
            "",
            'if __name__ == "__main__":',
            f"    model = {model_name}()",
            f"    print(model(torch.zeros(1, {batch_shape})).shape)  # torch.Size([1, "
            f"{', '.join(map(str, plan.output_shape))}])",
            "",
        ]
        paths: dict[str, str | None] = {}
        self.assign_paths(root, model, "", paths)
        return Exported("\n".join(lines), paths, model_name)

    def module_names(self) -> set[str]:
        """Names a class must not take: the module's imports and helpers, builtins, and every name
        a block's __init__ defines (an argument `Bottleneck` would hide the class of that name)."""
        import builtins

        from cnncalc.layers import REGISTRY

        taken = {*RESERVED, "annotations", *dir(builtins)}
        taken |= {name for layer in REGISTRY.values() for name in layer.torch_helper_names()}
        for block in self.spec.blocks.values() if self.spec is not None else ():
            taken |= {*block.params, *block.let}
        return taken

    def reserve_block_class_names(self, model_name: str, taken: set[str]) -> None:
        taken = {*taken, model_name}
        self.block_class = {}
        for name in self.spec.blocks if self.spec is not None else {}:
            candidate = class_name(name)
            while candidate in taken:
                candidate += "Block"
            taken.add(candidate)
            self.block_class[name] = candidate

    def class_source(self, cls: _Class) -> list[str]:
        block = cls.block
        required = [p for p, d in block.params.items() if d is REQUIRED_ARGUMENT]
        optional = [p for p, d in block.params.items() if d is not REQUIRED_ARGUMENT]
        signature = ["self", *(f"{c}: int" for c in cls.channel_params)]
        example = cls.contexts[0].env
        for param in required:
            signature.append(f"{param}{_annotation(example.get(param))}")
        late_defaults = []
        for param in optional:
            default = block.params[param]
            computed = _expression_source(default)
            named = default.value.strip() if isinstance(default.value, str) else None
            if computed is None and named in (*block.params, *cls.channel_params, "in_channels"):
                computed = named  # `out: c`: another argument's value
            if computed is not None and cls.channel_params[0] != "in_channels" and "in_channels" not in block.params:
                # a default reads the input's channels, not a `let:` value of that name set after it
                computed = _substitute(computed, {"in_channels": cls.channel_params[0]})
            if computed is not None:  # a default that uses other arguments
                signature.append(f"{param}{_annotation(example.get(param), optional=True)} = None")
                late_defaults.append(f"        {param} = {computed} if {param} is None else {param}")
            else:
                signature.append(f"{param}{_annotation(default.plain())} = {python_literal(default.plain())}")
        if cls.hoisted:
            signature.append("*")
            signature += [f"{name}: {cls.hoisted_kinds[name]}" for name in cls.hoisted]
        base = "nn.Sequential" if cls.sequential_chain else "nn.Module"
        lines = [f"class {cls.name}({base}):", f'    """The spec\'s block `{block.name}`."""', ""]
        head = f"    def __init__({', '.join(signature)}) -> None:"
        if len(head) > 100:
            lines += ["    def __init__(", *(f"        {part}," for part in signature), "    ) -> None:"]
        else:
            lines.append(head)
        lines += [] if cls.sequential_chain else ["        super().__init__()"]
        lines += late_defaults
        defined = {*block.params, *cls.channel_params, "in_channels"}
        for name, node in block.let.items():
            text = node.value.strip() if isinstance(node.value, str) else None
            value = _expression_source(node)
            if value is None:  # another argument's or value's name; else a number or text ('same')
                value = text if text in defined else python_literal(node.plain())
            defined.add(name)
            lines.append(f"        {name} = {value}")
        lines += cls.init
        if cls.sequential_chain:
            return lines
        inputs = [_input_variable(name, i) for i, name in enumerate(block.inputs)]
        arguments = ", ".join(f"{name}: torch.Tensor" for name in inputs)
        lines += ["", f"    def forward(self, {arguments}) -> torch.Tensor:", *cls.forward]
        return lines

    # ---- writing one class ------------------------------------------------------------------

    def block_class_for(self, block_name: str) -> _Class:
        """The class for a block, written on first use from every call of the block in the plan."""
        cls = self.classes.get(block_name)
        if cls is not None:
            if not cls.done:
                raise _Irregular()  # a block inside itself cannot be
            return cls
        block = self.spec.blocks[block_name]
        # every call, also one whose layers were all left out (a repetition still holds its place)
        instances = [g for g in self.spec.every_group if g.block == block_name and g.repeat is None]
        contexts = []
        for group in instances:
            env = dict(group.arguments)
            channel_names = _channel_params(block, env)
            for name, tensor in zip(channel_names, group.inputs):
                env[name] = self.channels(tensor)
            contexts.append(_Context(group, env))
        cls = _Class(self.block_class[block_name], block, contexts, literal=False)
        cls.channel_params = _channel_params(block, contexts[0].env if contexts else {})
        cls.names = set(RESERVED) | set(block.params) | set(block.let) | set(cls.channel_params)
        self.classes[block_name] = cls
        self.write_class(cls, [c.group for c in contexts])
        cls.done = True
        self.order.append(block_name)
        return cls

    def write_class(self, cls: _Class, scopes: list[Group]) -> None:
        """Write the __init__ and forward of `cls`, whose calls' entries are `scopes`' entries."""
        first_names = cls.block.inputs if cls.block else (NETWORK_INPUT,)
        symbols = {}  # local name -> {axis: channels expression}
        variables = {}
        for i, name in enumerate(first_names):
            variables[name] = _input_variable(name, i) if cls.block else "x"
            if cls.block:
                symbols[name] = {0: cls.channel_params[i]}
        per_call = [scope.entries for scope in scopes]
        if len({len(entries) for entries in per_call}) > 1:
            raise _Irregular()
        # entries line up by position across calls; so do the names they read (a name may differ
        # between calls where an unnamed entry is left out)
        local_names = []
        for position in range(len(per_call[0])):
            named = next((entries[position] for entries in per_call if _present(entries[position])), None)
            local_names.append((named or per_call[0][position]).local)
        canonical = []
        for entries in per_call:
            mapping = {name: name for name in first_names}
            mapping.update({entry.local: local_names[k] for k, entry in enumerate(entries)})
            canonical.append(mapping)
        claimed = _claim_exact(local_names, cls.taken)
        steps = []  # (local, expression template using {0}, {1}..., input locals)
        members = []  # (local, attribute, constructor code, condition or None, comment): for a chain
        chain = cls.block is not None and len(first_names) == 1
        previous = first_names[0]
        for position in range(len(per_call[0])):
            items = [(cls.contexts[i], entries[position]) for i, entries in enumerate(per_call)]
            present_inputs = {
                tuple(canonical[i][name] for name in entries[position].inputs)
                for i, entries in enumerate(per_call)
                if _present(entries[position])
            }
            if len(present_inputs) > 1:
                raise _Irregular()
            template = next((entry for _, entry in items if _present(entry)), items[0][1])
            template = Entry(
                local_names[position],
                template.kind,
                template.target,
                present_inputs.pop() if present_inputs else tuple(canonical[0][n] for n in template.inputs),
                template.when,
                template.present,
            )
            local = template.local
            present = [_present(entry) for _, entry in items]
            chain = chain and template.inputs == (previous,)
            previous = local
            if not any(present):
                steps.append((local, None, template.inputs))
                continue
            attribute = _attribute(local or f"layer{position}", cls.taken, claimed)
            cls.attributes[position] = attribute
            # a written `when:` stays in a block's class even where every call agrees, so the
            # class still means what the block says
            keep = template.when is not None and not cls.literal
            condition = None if all(present) and not keep else self.condition(cls, items, attribute)
            live = [(context, entry) for context, entry in items if _present(entry)]
            layer = self.layer_of(live[0][1])
            if layer is not None and layer.layer.functional:
                chain = False
                expression = self.functional_expression(cls, live, attribute)
                if condition is not None:
                    cls.init.append(f"        self.use_{attribute} = {condition}")
                    expression = f"{expression} if self.use_{attribute} else {{0}}"
                steps.append((local, expression, template.inputs))
                symbols[local] = _when(
                    condition, self.layer_symbols(layer, symbols, template.inputs), symbols, template
                )
                continue
            try:
                code, symbol = self.module_code(cls, live, symbols, template.inputs, attribute)
            except _Irregular:
                code, symbol = self.hoist_module(cls, items, attribute), {}
            symbols[local] = _when(condition, symbol, symbols, template)
            if cls.literal and layer is not None:
                comment = f"-> {fmt_shape(self.rows[live[0][1].target].output_shape)}"
            elif cls.literal:
                comment = f"-> {fmt_shape(self.shape(live[0][1].target.output))}" if live[0][1].target.output else ""
            else:
                comment = ""
            members.append((local, attribute, code, condition, comment))
            call = f"self.{attribute}({', '.join(f'{{{k}}}' for k in range(len(template.inputs)))})"
            if condition is not None:
                call = f"{{0}} if self.{attribute} is None else {call}"
            steps.append((local, call, template.inputs))
        last = steps[-1][0] if steps else first_names[0]
        cls.output_channels = symbols.get(last, {}).get(0)
        if chain and members and not any(c.startswith("use_") for c in (m[3] or "" for m in members)):
            # layers that each read the one before: an nn.Sequential, as torchvision writes
            # Conv2dNormActivation, its children numbered or named as in the spec
            cls.sequential_chain = True
            numbered = all(local.isdigit() for local, *_ in members)
            # children are numbered by position in each call, or keyed by the names written here
            cls.attributes = {} if numbered else {p: local_names[p] for p in range(len(local_names))}
            cls.init = self.sequential_init(members, cls)
            return
        for _, attribute, code, condition, comment in members:
            if condition is None:
                cls.init.append(_with_comment(f"        self.{attribute} = {_indent(code, 8)}", comment))
            else:
                cls.init += [f"        self.{attribute} = None", f"        if {condition}:"]
                cls.init.append(f"            self.{attribute} = {_indent(code, 12)}")
        cls.forward = _forward_lines(steps, variables, chain_style=cls.block is None)

    def sequential_init(self, members, cls: _Class) -> list[str]:
        """The __init__ body of a block written as an nn.Sequential subclass."""
        numbered = all(local.isdigit() for local, *_ in members)
        held = "layers"  # the list being built, named clear of the block's own names
        while held in cls.names:
            held += "_"
        if not any(condition for *_, condition, _ in members):
            items = [code if numbered else f"({python_literal(local)}, {code})" for local, _, code, _, _ in members]
            if not numbered:
                self.uses_ordered_dict = True
                body = "".join(f"            {_indent(item, 12)},\n" for item in items)
                return [f"        super().__init__(OrderedDict([\n{body}        ]))"]
            body = "".join(f"            {_indent(item, 12)},\n" for item in items)
            return [f"        super().__init__(\n{body}        )"]
        lines = [f"        {held} = []" if numbered else f"        {held} = OrderedDict()"]
        if not numbered:
            self.uses_ordered_dict = True
        for local, _, code, condition, _ in members:
            add = (
                f"{held}.append({_indent(code, 12)})"
                if numbered
                else f"{held}[{python_literal(local)}] = {_indent(code, 12)}"
            )
            lines += [f"        if {condition}:", f"            {add}"] if condition else [f"        {add}"]
        lines.append(f"        super().__init__(*{held})" if numbered else f"        super().__init__({held})")
        return lines

    def functional_expression(self, cls: _Class, live, attribute: str) -> str:
        """forward()'s expression for a merge, chunk or split; a setting that differs between
        calls (chunks: n) is kept as an attribute set in __init__."""
        specs = [self.layer_of(entry) for _, entry in live]
        holes = [f"{{{k}}}" for k in range(len(live[0][1].inputs))]
        calls = {spec.layer.torch_forward(spec.cfg, holes) for spec in specs}
        if len(calls) == 1:
            return calls.pop()
        cfg = dict(specs[0].cfg)
        fields = {f.name: f for f in specs[0].layer.fields}
        for name in fields:
            values = [spec.cfg[name] for spec in specs]
            if all(value == values[0] for value in values):
                continue
            texts = {spec.exprs.get(name) for spec in specs}
            candidate = texts.pop() if len(texts) == 1 else None
            code = self.value_code(cls, live, fields[name], values, candidate, f"{attribute}_{name}")
            cls.init.append(f"        self.{attribute}_{name} = {code}")
            cfg[name] = _Code(f"self.{attribute}_{name}")
        return specs[0].layer.torch_forward(cfg, holes)

    def layer_of(self, entry: Entry) -> LayerSpec | None:
        return self.rows[entry.target].spec if entry.kind == "layer" and entry.target in self.rows else None

    def condition(self, cls: _Class, items, attribute: str) -> str:
        """The `if` under which an entry is built: its `when:` as written, if that explains every call."""
        when = items[0][1].when
        if not cls.literal and when is not None:
            try:
                tree = ast.parse(when, mode="eval").body
                if all(bool(expressions.evaluate(tree, c.env)) == _present(e) for c, e in items):
                    code = _regenerated(when, items[0][0].env)
                    if code is not None:
                        return code
            except (SyntaxError, ValueError, expressions.ExpressionError):
                pass
        if cls.literal:
            raise AssertionError("the model class has one call; nothing is conditional")  # pragma: no cover
        return self.hoist(cls, f"use_{attribute}", [repr(_present(e)) for _, e in items], "bool")

    def hoist(self, cls: _Class, name: str, values: list[str], kind: str) -> str:
        base, n = name, 2
        while name in cls.names:
            name, n = f"{base}_{n}", n + 1
        cls.names.add(name)
        cls.hoisted[name] = values
        cls.hoisted_kinds[name] = kind
        return name

    def hoist_module(self, cls: _Class, items, attribute: str) -> str:
        """An entry the calls build differently: each call passes its module ready-made."""
        if cls.literal:
            raise _Irregular()
        values = []
        for context, entry in items:
            if not _present(entry):
                values.append("None")
                continue
            single = _Class(cls.name, None, [context], literal=True)
            values.append(self.module_code(single, [(context, entry)], {}, entry.inputs, attribute)[0])
        return self.hoist(cls, attribute, values, "nn.Module")

    # ---- one module's constructor -----------------------------------------------------------

    def module_code(self, cls: _Class, live, symbols: dict, inputs: tuple, attribute: str):
        """(constructor code, output channel symbols) for an entry present in the calls `live`."""
        template = live[0][1]
        if template.kind == "layer":
            return self.layer_code(cls, live, symbols, inputs, attribute)
        groups = [entry.target for _, entry in live]
        if any(g.block != groups[0].block or (g.repeat is None) != (groups[0].repeat is None) for g in groups):
            raise _Irregular()
        if groups[0].block == "sequential":
            return self.sequential_code(cls, live, symbols, inputs, attribute)
        if groups[0].repeat is not None:
            return self.repeat_code(cls, live, symbols, inputs, attribute)
        return self.call_code(cls, live, symbols, inputs, attribute)

    def layer_code(self, cls: _Class, live, symbols: dict, inputs: tuple, attribute: str):
        specs = [self.layer_of(entry) for _, entry in live]
        layer: LayerType = specs[0].layer
        if any(s.layer is not layer for s in specs):
            raise _Irregular()
        if layer.torch_helper:
            self.helpers[layer.torch_helper] = layer.torch_helper
        rows = [self.rows[s.name] for s in specs]
        in_symbols = symbols.get(inputs[0], {}) if inputs else {}
        if type(layer).pytorch is not LayerType.pytorch:  # written whole: it must read the same in every call
            codes = {layer.pytorch(s.cfg, r.input_shape) for s, r in zip(specs, rows)}
            if len(codes) > 1:
                raise _Irregular()
            code = codes.pop()
        else:
            argument_lists = [layer.pytorch_arguments(s.cfg, r.input_shape) for s, r in zip(specs, rows)]
            fields = {f.name: f for f in layer.fields}
            rank = {name: i for i, name in enumerate([*layer.torch_positional, *fields])}
            written = {(name, keyword_) for arguments in argument_lists for name, keyword_, _ in arguments}
            # a field the block sets from its arguments is written even where it is at its default
            written |= {(name, True) for s in specs for name in s.exprs if name not in layer.torch_positional}
            order = sorted(
                written,
                key=lambda item: (item[1], rank[item[0]]),
            )
            pieces = []
            for name, keyword_ in order:
                resolved = [layer.resolved_config(s.cfg, r.input_shape)[name] for s, r in zip(specs, rows)]
                candidate = None
                texts = {s.exprs.get(name) for s in specs}
                if len(texts) == 1 and None not in texts:
                    candidate = texts.pop()
                elif name == layer.inferred_field:
                    axis = layer.inferred_axis % len(rows[0].input_shape)
                    candidate = in_symbols.get(axis)
                value = self.value_code(cls, live, fields[name], resolved, candidate, f"{attribute}_{name}", keyword_)
                if value is None:
                    continue
                pieces.append(f"{name}={value}" if keyword_ else value)
            code = f"{layer.torch_class}({', '.join(pieces)})"
        return code, self.layer_symbols(specs[0], symbols, inputs)

    def value_code(self, cls, live, field_, resolved: list, candidate, hoist_name: str, optional: bool = False):
        """An argument's code: the expression as written, if it gives every call's value; else the
        literal, if the calls agree; else a new constructor argument. None: an optional (keyword)
        argument at its default, left out."""
        default = LayerType.default_of(field_) if field_ is not None else None
        at_default = optional and field_ is not None and all(_same(v, default) for v in resolved)
        if cls.literal:
            return None if at_default else python_literal(resolved[0])
        if candidate is not None and all(
            _evaluates_to(candidate, c.env, v, field_) for (c, _), v in zip(live, resolved)
        ):
            code = _regenerated(candidate, live[0][0].env)
            if code is not None:
                return code
        if all(_same(v, resolved[0]) for v in resolved):
            if at_default:
                return None
            return python_literal(resolved[0])
        values = [python_literal(v) for v in resolved]
        if len(live) != len(cls.contexts):  # a value only some calls have: the others pass a default
            present = {id(c) for c, _ in live}
            filled = iter(values)
            values = [next(filled) if id(c) in present else "None" for c in cls.contexts]
        return self.hoist(cls, hoist_name, values, _annotation(resolved[0]).lstrip(": ") or "int")

    def call_code(self, cls: _Class, live, symbols: dict, inputs: tuple, attribute: str):
        groups = [entry.target for _, entry in live]
        child = self.block_class_for(groups[0].block)
        block = child.block
        pieces, mapping = [], {}
        for k, param in enumerate(child.channel_params):
            resolved = [self.channels(g.inputs[k]) for g in groups]
            candidate = symbols.get(inputs[k], {}).get(0) if k < len(inputs) else None
            value = self.value_code(cls, live, None, resolved, candidate, f"{attribute}_{param}")
            pieces.append(value)
            mapping[param] = value
        # required arguments first, by position, as the class's signature lists them
        ordered = sorted(block.params.items(), key=lambda item: item[1] is not REQUIRED_ARGUMENT)
        for param, default in ordered:
            resolved = [g.arguments[param] for g in groups]
            texts = {g.call.get(param) for g in groups}
            candidate = texts.pop() if len(texts) == 1 and None not in texts else None
            if candidate is not None and not cls.literal and candidate == python_literal(resolved[0]):
                candidate = None
            if default is REQUIRED_ARGUMENT:
                value = self.value_code(cls, live, None, resolved, candidate, f"{attribute}_{param}")
                pieces.append(value)
            else:
                default_value = default.plain()
                if not isinstance(default_value, str) or expressions.parse(default_value) is None:
                    if all(_same(v, default_value) for v in resolved) and (cls.literal or candidate is None):
                        mapping[param] = python_literal(default_value)
                        continue
                value = self.value_code(cls, live, None, resolved, candidate, f"{attribute}_{param}")
                pieces.append(f"{param}={value}")
            mapping[param] = value
        for name, values in child.hoisted.items():
            resolved = [values[child.contexts.index(next(c for c in child.contexts if c.group is g))] for g in groups]
            if cls.literal or all(_same(v, resolved[0]) for v in resolved):
                pieces.append(f"{name}={resolved[0]}")
            else:
                present = {id(c) for c, _ in live}
                filled = iter(resolved)
                padded = [next(filled) if id(c) in present else "None" for c in cls.contexts]
                pieces.append(f"{name}={self.hoist(cls, f'{attribute}_{name}', padded, child.hoisted_kinds[name])}")
        code = f"{child.name}({', '.join(pieces)})"
        output = _substitute(child.output_channels, mapping) if child.output_channels else None
        return code, (_bounded({0: output}) if output else {})

    def sequential_code(self, cls: _Class, live, symbols: dict, inputs: tuple, attribute: str):
        groups = [entry.target for _, entry in live]
        per_call = [g.entries for g in groups]
        if len({len(e) for e in per_call}) > 1:
            raise _Irregular()
        children, names, symbol = [], [], symbols.get(inputs[0], {}) if inputs else {}
        previous = "input"
        local_symbols = {previous: symbol}
        for position in range(len(per_call[0])):
            items = [(context, entries[position]) for (context, _), entries in zip(live, per_call)]
            if not all(_present(entry) for _, entry in items):
                if not cls.literal:
                    raise _Irregular()  # nn.Sequential has no optional members
                continue  # one call: a member it leaves out is simply not there
            code, symbol = self.module_code(cls, items, local_symbols, (previous,), f"{attribute}_{position}")
            local = items[0][1].local
            children.append(code)
            names.append(local)
            local_symbols[local] = symbol
            previous = local
        return self.sequential_source(children, names), symbol

    def repeat_code(self, cls: _Class, live, symbols: dict, inputs: tuple, attribute: str):
        groups = [entry.target for _, entry in live]
        if len({g.repeat for g in groups}) > 1 or len({g.repeat_name for g in groups}) > 1:
            raise _Irregular()
        children, names = [], []
        local_symbols = {"input": symbols.get(inputs[0], {}) if inputs else {}}
        previous = "input"
        for position in range(groups[0].repeat):
            items = [(context, g.entries[position]) for (context, _), g in zip(live, groups)]
            code, symbol = self.call_code(cls, items, local_symbols, (previous,), f"{attribute}_{position}")
            local = items[0][1].local
            children.append(code)
            names.append(local)
            local_symbols[local] = symbol
            previous = local
        return self.sequential_source(children, names), local_symbols[previous]

    def sequential_source(self, children: list[str], names: list[str]) -> str:
        if names == [str(i) for i in range(len(names))]:
            items = children
            opening, closing = "nn.Sequential(", ")"
        else:
            self.uses_ordered_dict = True
            items = [f"({python_literal(name)}, {code})" for name, code in zip(names, children)]
            opening, closing = "nn.Sequential(OrderedDict([", "]))"
        one_line = f"{opening}{', '.join(items)}{closing}"
        if len(one_line) <= 70 and "\n" not in one_line:
            return one_line
        body = "".join(f"    {_indent(item, 4)},\n" for item in items)
        return f"{opening}\n{body}{closing}"

    # ---- channel expressions ----------------------------------------------------------------

    def layer_symbols(self, spec: LayerSpec, symbols: dict, inputs: tuple) -> dict:
        """The output's channel expressions (by axis) for a layer, from its inputs', as its type describes them."""
        row = self.rows[spec.name]
        sources = [symbols.get(name, {}) for name in inputs] or [{}]
        return _bounded(spec.layer.channel_symbols(spec.cfg, spec.exprs, sources, row.input_shape, row.output_shape))

    # ---- after writing ----------------------------------------------------------------------

    def frozen_lines(self, root: Group, model: _Class) -> list[str]:
        paths: dict[str, str | None] = {}
        self.assign_paths(root, model, "", paths)
        frozen = [row.name for row in self.plan.layers if not row.trainable and paths.get(row.name)]
        lines = []
        for name in frozen:
            path = paths[name]
            if "." in path:
                lines.append(f"        self.get_submodule({path!r}).requires_grad_(False)")
            else:
                lines.append(f"        self.{path}.requires_grad_(False)")
        return lines

    def assign_paths(self, group: Group, cls: _Class | None, prefix: str, paths: dict) -> None:
        """Each layer's and group's module path: attributes in classes, names in nn.Sequentials."""
        for position, entry in enumerate(group.entries):
            if not _present(entry):
                continue
            part = cls.attributes.get(position, entry.local) if cls is not None else entry.local
            path = prefix + part
            if entry.kind == "layer":
                spec = self.layer_of(entry)
                paths[entry.target] = None if spec is not None and spec.layer.functional else path
                continue
            child: Group = entry.target
            paths[child.name] = path
            if child.block == "sequential" or child.repeat is not None:
                for sub in child.entries:
                    if sub.kind == "layer":
                        paths[sub.target] = f"{path}.{sub.local}"
                    elif sub.target.block == "sequential" or sub.target.repeat is not None:
                        holder = Group("", "sequential", None, None, 0, entries=[sub])
                        self.assign_paths(holder, None, f"{path}.", paths)
                    else:
                        paths[sub.target.name] = f"{path}.{sub.local}"
                        self.assign_paths(sub.target, self.classes.get(sub.target.block), f"{path}.{sub.local}.", paths)
            else:
                self.assign_paths(child, self.classes.get(child.block), f"{path}.", paths)


def _present(entry: Entry) -> bool:
    """Built in this call: not left out by `when:`, and not a block call all of whose layers were."""
    return entry.present and (entry.kind == "layer" or entry.target.layer_count > 0)


class _Code(str):
    """Python source standing in for a config value in forward()'s expressions."""


def _when(condition: str | None, made: dict, symbols: dict, entry: Entry) -> dict:
    """An entry built only `if condition`: its output's channels, or else its input's."""
    if condition is None:
        return made
    passed_on = symbols.get(entry.inputs[0], {}) if entry.inputs else {}
    return _bounded(
        {
            axis: f"{parenthesised(text)} if ({condition}) else {parenthesised(passed_on[axis])}"
            for axis, text in made.items()
            if axis in passed_on
        }
    )


def _bounded(symbols: dict) -> dict:
    """Channel expressions no longer than a spec's own may be: each one built from the one
    before (a `when:` keeps both, a concat repeats its inputs) would double with every layer;
    a value without one is written as a literal or a constructor argument instead."""
    return {axis: text for axis, text in symbols.items() if len(text) <= expressions.MAX_LENGTH}


def _expression_source(node) -> str | None:
    """A spec value written as an expression, as Python source; None for anything else."""
    if not isinstance(node.value, str):
        return None
    tree = expressions.parse(node.value)
    return expressions.python_source(tree) if tree is not None else None


def _channel_params(block: Block, env: dict) -> list[str]:
    """The constructor's channel arguments: in_channels for the first input, <name>_channels after."""
    names = []
    for i, name in enumerate(block.inputs):
        base = "in_channels" if i == 0 else f"{name}_channels"
        while base in block.params or base in block.let or base in names:
            base = f"{base}_"
        names.append(base)
    return names


def _input_variable(name: str, position: int) -> str:
    if position == 0:
        return "x"
    return name if name.isidentifier() and not keyword.iskeyword(name) and name not in RESERVED else f"input_{position}"


def _forward_lines(steps, variables: dict, *, chain_style: bool) -> list[str]:
    """forward()'s body: `x = self.conv1(x)` for a chain; for a graph, as one writes a ResNet by
    hand: a running `out`, and a named variable only for a tensor read again later."""
    readers: dict[str, list[int]] = {}
    for index, (_, expression, inputs) in enumerate(steps):
        if expression is not None:
            for source in inputs:
                readers.setdefault(source, []).append(index)
    first = next(iter(variables))
    chain = all(
        inputs == ((steps[i - 1][0],) if i else (first,))
        for i, (_, expression, inputs) in enumerate(steps)
        if expression is not None
    ) and all(expression is not None for _, expression, _ in steps)
    lines = []
    taken = set(variables.values()) | RESERVED
    holder = None  # the local whose value `out` holds
    for index, (local, expression, inputs) in enumerate(steps):
        if expression is None:  # left out in every call: its name stands for what it reads
            variables[local] = variables[inputs[0]] if inputs else variables[first]
            continue
        arguments = [variables[source] for source in inputs]
        code = expression.format(*arguments)
        # `out` may be reused once nothing after this step reads the value it holds
        holder_done = holder is None or all(reader <= index for reader in readers.get(holder, []))
        if chain and chain_style:
            variable = "x"
        elif holder_done and (readers.get(local) or index == len(steps) - 1):
            variable, holder = "out", local
        elif not readers.get(local) and index != len(steps) - 1:
            lines.append(f"        _ = {code}  # nothing reads it")
            variables[local] = "_"
            continue
        else:
            variable = _identifier(local, taken)
        variables[local] = variable
        lines.append(f"        {variable} = {code}")
    last = steps[-1][0] if steps else first
    return [*lines, f"        return {variables[last]}"]


def _substitute(text: str, mapping: dict[str, str]) -> str:
    """`text` with each argument name replaced by the expression passed for it."""
    tree = ast.parse(text, mode="eval")

    class Replace(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping and mapping[node.id] is not None:
                return ast.parse(mapping[node.id], mode="eval").body
            return node

    return ast.unparse(Replace().visit(tree))


def _regenerated(text: str, env: dict) -> str | None:
    """Expression text, the spec's or one built here from checked pieces, written anew from its
    checked tree (expressions.python_source), if it uses only the names in `env`; else None."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
        if not expressions.names_in(tree) <= set(env):
            return None
        return expressions.python_source(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError, expressions.ExpressionError):
        return None


def _same(a, b) -> bool:
    """Equal and written alike: 2 and 2.0 are not the same argument (x + 1 == x tells them apart)."""
    try:
        return python_literal(a) == python_literal(b)
    except TypeError:
        return False


def _evaluates_to(text: str, env: dict, value, field_) -> bool:
    try:
        result = expressions.evaluate(ast.parse(text.strip(), mode="eval").body, env)
    except (SyntaxError, ValueError, RecursionError, MemoryError, expressions.ExpressionError):
        return False
    if python_literal(result) == python_literal(value):
        return True
    if field_ is None:
        return False
    try:
        return python_literal(field_.kind.parse(result)) == python_literal(value)
    except Exception:  # a value the field refuses is not this value
        return False


def _annotation(value, optional: bool = False) -> str:
    kinds = {bool: "bool", int: "int", float: "float", str: "str"}
    kind = kinds.get(type(value))
    if kind is None:
        return ""
    return f": {kind} | None" if optional else f": {kind}"


def _indent(code: str, spaces: int) -> str:
    return code.replace("\n", "\n" + " " * spaces)


def _docstring_text(text: str) -> str:
    """`text` on one line, safe inside a triple-quoted docstring: backslashes and quotes escaped."""
    text = " ".join(text.split()).replace(BACKSLASH, BACKSLASH * 2).replace(QUOTE, BACKSLASH + QUOTE)
    # control characters would make the module unreadable, or not compile at all
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _with_comment(code: str, comment: str, width: int = 110) -> str:
    if not comment or "\n" in code:
        return code
    line = f"{code}  # {comment}"
    return line if len(line) <= width else code
