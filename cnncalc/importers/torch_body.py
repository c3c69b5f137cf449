"""A traced module call as spec entries: each recorded call a layer, each child module a block
call or (an nn.Sequential) a `sequential:` list, named by the module tree.

Names are the module paths' last parts (`conv1`; a second call of one module `relu_2`, as the
bundled specs write torchvision's reused ReLU); a function called in forward() is named after
its layer type (`add`, `flatten`). Which tensor each entry reads is the traced identity of the
tensor, written as the local name of the entry that made it (or `input`). Pure.
"""

from __future__ import annotations

import re

from cnncalc.importers.torch_ops import Unsupported, finite, function_layer, module_layer
from cnncalc.importers.torch_trace import Scope, Value

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*|[0-9]{1,9}")


class Entry:
    """One entry of a block or list: a layer (`kind` "layer"), a call of a module's block
    ("call": `scope` the traced call, `type` the block once named, `fields` its arguments), or
    a sequential list ("seq": `children`). `reads` are local names (`input`, an entry's name);
    `when` a block argument that leaves it out, in a block's template."""

    __slots__ = ("name", "kind", "type", "fields", "reads", "children", "scope", "layer", "when", "group", "before")

    def __init__(self, name: str, kind: str, type_name: str = "", fields: dict | None = None, reads=None):
        self.name, self.kind, self.type = name, kind, type_name
        self.fields: dict = fields or {}
        self.reads: list[str] = reads or []
        self.children: list[Entry] = []
        self.scope: Scope | None = None
        self.layer = None
        self.when: str | None = None
        self.group: tuple | None = None  # what the block pass groups calls by, where not their class
        self.before: Entry | None = None  # an entry written just before it (what it reads)


class Refusal(Exception):
    """The model cannot be written as a spec; `lines` say where and why, one a line."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def is_sequential(module) -> bool:
    """Whether a module runs its children in order, each on the one before (nn.Sequential's forward)."""
    from torch import nn

    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


class BodyBuilder:
    """Builds every traced call's entries, collecting what has no spec layer (`refused`)."""

    def __init__(self):
        self.refused: list[str] = []
        self.calls: list[Entry] = []  # every block call made, for the block pass
        self.lost: set[int] = set()  # values made by refused calls: reading them is no new refusal
        self.outputs: list[str] = []  # the model's outputs, when it returns several
        self._values: dict[int, Value] = {}  # id -> Value, for every Value given a local name
        self.exits: dict[int, list[str]] = {}  # a traced call's outputs, by their names inside it
        self.inner: set[int] = set()  # outputs named by a path into a block: the model's outputs only
        self.inputs_of: dict[int, list[str]] = {}  # a traced call's names for its inputs

    def body(self, scope: Scope, input_names: list[str]) -> list[Entry]:
        local: dict[int, str] = {}
        self.inputs_of[id(scope)] = list(input_names)
        for value, name in zip(scope.inputs, input_names):
            self._name(local, value, name)
        kept = {name for name, _ in scope.module.named_children()} if scope.module is not None else set()
        used = Taken(input_names, kept)
        entries: list[Entry] = []
        for item in scope.entries:
            entry = self._entry(item, scope, local, used)
            if entry is not None and entry.before is not None:
                entries.append(entry.before)  # the parameter a merge reads, the concatenation a call began with
            if entry is not None:
                entries.append(entry)
        names = {n: v for v_id, n in local.items() for v in [self._values.get(v_id)] if v is not None}
        renamed: dict[str, str] = {}
        exported = [local[id(v)] for v in scope.outputs if id(v) in local] if len(scope.outputs) > 1 else []
        entries = _containers(entries, scope, self.refused, names, renamed, exported)
        self.calls += [e for e in entries if e.kind == "call" and e.group is not None]  # made just now
        for key, value in list(local.items()):
            local[key] = renamed.get(value, value)
        self._check_output(scope, entries, local)
        self.exits[id(scope)] = [local.get(id(v), "") for v in scope.outputs]
        return entries

    def _name(self, local: dict, value: Value, name: str) -> None:
        local[id(value)] = name
        self._values[id(value)] = value

    def _entry(self, item, scope: Scope, local: dict, used: Taken) -> Entry | None:
        where = _where(scope)
        if isinstance(item, Scope):
            return self._child(item, scope, local, used)
        try:
            layer = finite(module_layer(item) if item.module is not None else function_layer(item))
        except Unsupported as exc:
            what = f"{item.path} ({type(item.module).__name__})" if item.module is not None else f"in {where}"
            self.refused.append(f"{what}: {exc}{_subclass_note(scope)}")
            self.lost.update(id(v) for v in item.outputs)
            return None
        if layer.alias:
            if id(layer.inputs[0]) in local:
                self._name(local, item.outputs[0], local[id(layer.inputs[0])])
            return None
        reads = self._reads(layer.inputs, local, where, layer.type)
        if reads is None:
            self.lost.update(id(v) for v in item.outputs)
            return None
        holds = layer.type in ("layer_scale", "parameter")  # the entry is the model's parameter
        if holds and layer.param.path.rpartition(".")[0] != scope.path:
            self.refused.append(
                f"in {where}: {item.name}() of the parameter {layer.param.path}, held by another module"
            )
            return None
        if item.module is not None:
            relative = _relative(item.path, scope.path)
            if relative in ("input", *self.inputs_of.get(id(scope), ())):
                self.refused.append(f"{item.path}: a module named {relative!r}, which a spec keeps for the input")
                return None
            if relative in used and _holds_weights(item):
                self.refused.append(
                    f"{item.path} ({type(item.module).__name__}): called again; a spec layer holds weights of its own, "
                    "so weights shared between calls have no spec form"
                )
                self.lost.update(id(v) for v in item.outputs)
                return None
            name = used.unique(relative, own=True)
        else:
            name = used.unique(layer.param.path.rsplit(".", 1)[-1] if holds else layer.type, own=holds)
        entry = Entry(name, "layer", layer.type, dict(layer.fields), reads)
        entry.layer = layer
        if layer.param is not None and not holds:
            if not self._parameter(entry, layer, scope, used):
                return None
        if layer.type in ("chunk", "split"):
            pieces = [used.unique(f"{name}_{k}") for k in range(len(item.outputs))]
            entry.fields["outputs"] = pieces
            for value, piece in zip(item.outputs, pieces):
                self._name(local, value, piece)
            return entry
        for value in item.outputs[:1]:
            self._name(local, value, name)
        return entry

    def _parameter(self, entry: Entry, layer, scope: Scope, used: Taken) -> bool:
        """An add or mul of a tensor and a model parameter: the parameter as a `parameter` layer
        beside it (its own entry, read by the merge)."""
        param = layer.param
        owner, _, attribute = param.path.rpartition(".")
        if owner != scope.path or not param.shape or param.shape[0] != 1:
            self.refused.append(f"in {_where(scope)}: {layer.op.name}() of a tensor and the parameter {param.path}")
            return False
        name = used.unique(attribute, own=True)
        made = Entry(name, "layer", "parameter", {"shape": list(param.shape[1:])}, [])
        entry.before = made
        entry.reads = entry.reads + [name]
        return True

    def _child(self, child: Scope, scope: Scope, local: dict, used: Taken) -> Entry | None:
        where = _where(scope)
        name = _relative(child.path, scope.path)
        if name in ("input", *self.inputs_of.get(id(scope), ())):
            self.refused.append(f"{child.path}: a module named {name!r}, which a spec keeps for the input")
            return None
        if name in used:
            self.refused.append(f"{child.path}: called more than once (a spec layer is one call)")
            return None
        used.add(name)
        reads = self._reads(child.inputs, local, where, type(child.module).__name__)
        if reads is None:
            self.lost.update(id(v) for v in child.outputs)
        if reads is None or not child.inputs:
            if reads is not None:
                self.refused.append(f"{child.path}: called with no tensor forward() computed")
            return None
        if not child.outputs:
            self.refused.append(f"{child.path} ({type(child.module).__name__}): returns no tensor")
            return None
        children = self.body(child, ["input"] if is_sequential(child.module) else input_names(child))
        if not children and len(child.outputs) == 1 and child.outputs[0] in child.inputs:
            # nothing inside (an empty nn.Sequential, a DropPath in eval): its input passes on
            self._name(local, child.outputs[0], reads[child.inputs.index(child.outputs[0])])
            return None
        before = None
        if not is_sequential(child.module) and len(child.inputs) > 1:
            child, children, before = self._hoisted(child, children, reads, used)
            if before is not None and not children:  # a module that only concatenates (YOLO's Concat)
                before.name = name
                self._name(local, child.outputs[0], name)
                return before
            reads = [before.name] if before is not None else reads
        if is_sequential(child.module):
            entry = Entry(name, "seq", reads=reads)
        else:
            entry = Entry(name, "call", reads=reads)
            self.calls.append(entry)
        entry.children = children
        entry.scope = child
        entry.before = before
        if len(child.outputs) == 1:
            self._name(local, child.outputs[0], name)
            return entry
        last = entry.children[-1].name if entry.children else None
        for value, inner in zip(child.outputs, self.exits.get(id(child), [])):
            # a block's value is its last entry's; its other outputs are named by their path
            self._name(local, value, name if inner == last else f"{name}.{inner}")
            if inner != last:
                self.inner.add(id(value))
        return entry

    def _hoisted(self, child: Scope, children: list[Entry], reads: list[str], used: Taken):
        """A module whose forward() first concatenates all its inputs (DenseNet's layers take the
        list of features so far): that concatenation in the caller, before a call of one input,
        so calls of any number of inputs share one block. The call's Scope then reads the
        concatenation; (child, children, None) where the pattern does not hold."""
        first = children[0] if children else None
        names = self.inputs_of.get(id(child), [])
        if first is None or first.type != "concat" or first.reads != names or first.fields:
            return child, children, None
        if any(r in names for e in children[1:] for r in _all_reads(e)):
            return child, children, None
        joined = Entry(used.unique("concat"), "layer", "concat", {}, list(reads))
        joined.layer = first.layer
        inner = Scope(child.module, child.path, child.parent)
        inner.inputs, inner.outputs, inner.argument_names = [first.layer.output], child.outputs, []
        inner.entries = child.entries
        rest = children[1:]
        for entry in rest:
            entry.reads = ["input" if r == first.name else r for r in entry.reads]
        self.inputs_of[id(inner)] = ["input"]
        return inner, rest, joined

    def _reads(self, values: list[Value], local: dict, where: str, what: str) -> list[str] | None:
        reads = []
        for value in values:
            if id(value) in self.lost:
                return None
            if id(value) not in local or id(value) in self.inner:
                self.refused.append(
                    f"in {where}: {what} reads a tensor from inside another module, not what it returns"
                    + (" as its own result (a block passes on one tensor)" if id(value) in self.inner else "")
                )
                return None
            reads.append(local[id(value)])
        return reads

    def _check_output(self, scope: Scope, entries: list[Entry], local: dict) -> None:
        if not entries or not scope.outputs:
            return
        if len(scope.outputs) > 1:  # named with `outputs:` in the spec, by their paths
            names = [local.get(id(v), "") for v in scope.outputs]
            inputs = set(self.inputs_of.get(id(scope), ()))
            if (len(set(names)) < len(names) or inputs & set(names)) and not self.refused:
                self.refused.append(
                    f"{_where(scope)}: returns one tensor twice, or its input: a spec names each output once"
                )
                return
            if scope.parent is None:
                self.outputs = names
            if "" in names and not self.refused:
                self.refused.append(f"{_where(scope)}: returns a tensor made inside a module, not what it returns")
            return
        out = local.get(id(scope.outputs[0]))
        if out != entries[-1].name and not self.refused:
            self.refused.append(
                f"{_where(scope)}: returns {out or 'a tensor'}, not its last call's result "
                f"({entries[-1].name}); a block's output is its last entry's"
            )


def plain_yaml(name: str) -> bool:
    """Whether YAML reads `name`, unquoted, as this very string (not `on`, `no` or `null`)."""
    import yaml

    try:
        return yaml.safe_load(name) == name
    except yaml.YAMLError:
        return False


def input_names(scope: Scope) -> list[str]:
    """A block's names for its inputs: `input` for one; else forward()'s own (`x`, `skip`) where
    a spec may use them, or x0, x1, ..."""
    count = len(scope.inputs)
    if count == 1:
        return ["input"]
    names = scope.argument_names
    if len(names) == count and len(set(names)) == count and all(_usable(n) for n in names):
        return list(names)
    return [f"x{k}" for k in range(count)]


def _usable(name: str) -> bool:
    from cnncalc.spec.blocks import unusable_name

    return bool(NAME.fullmatch(name)) and not unusable_name(name) and plain_yaml(name) and "-" not in name


def _subclass_note(scope: Scope) -> str:
    """For a call inside a torch layer's subclass with its own forward(): why it was traced."""
    from cnncalc.importers.torch_ops import layer_type_of

    if scope.module is None or scope.parent is None:
        return ""
    layer_type = layer_type_of(scope.module, own_forward=True)
    if layer_type is None:
        return ""
    return (
        f" (inside a subclass of {layer_type.torch_class} with its own forward(), traced inside because "
        f"planning it as {layer_type.type_name} gives other numbers)"
    )


def _where(scope: Scope) -> str:
    return (
        f"{scope.path} ({type(scope.module).__name__})" if scope.path else f"the model ({type(scope.module).__name__})"
    )


def _relative(path: str, outer: str) -> str:
    return path[len(outer) + 1 :] if outer and path.startswith(outer + ".") else path


class Taken:
    """The names in one block or list: those its entries took, and those kept for its module's
    own children (a function's layer is never named like one, `relu_2` next to `self.relu_2`).
    `unique` counts on from the last number given for a name, in constant time."""

    def __init__(self, taken=(), kept=()):
        self.taken: set[str] = set(taken)
        self.kept: set[str] = set(kept)
        self.counts: dict[str, int] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.taken

    def add(self, name: str) -> None:
        self.taken.add(name)

    def unique(self, base: str, own: bool = False) -> str:
        """`base`, or `base_2`, `base_3`, ...; with `own`, `base` itself may be a kept name
        (a module's own first call)."""
        name = base
        if name in self.taken or (name in self.kept and not own):
            n = self.counts.get(base, 1)
            while True:
                n += 1
                name = f"{base}_{n}"
                if name not in self.taken and name not in self.kept:
                    break
            self.counts[base] = n
        self.taken.add(name)
        return name


def _containers(
    entries: list[Entry], scope: Scope, refused: list[str], values: dict, renamed: dict, exported: list[str]
) -> list[Entry]:
    """Entries named `blocks.0`, `blocks.1`: the modules of an nn.ModuleList or ModuleDict (or an
    nn.Sequential forward() does not call) that forward() calls itself. Called one after
    another, each on the one before, they are a list named `blocks`. Otherwise they are a block
    named `blocks`, wired as called, when what leaves them is their last one's result (other
    results may be the model's outputs, named by their paths); or, with the call right after
    them, when that call takes all they make (ASPP's `torch.cat([conv(x) for conv in
    self.convs])`). Else refused. `values` maps a local name to its Value, for the block's
    inputs; `renamed` gets the names that now stand for others; `exported` are the names of
    what this module returns, when it returns several."""
    out: list[Entry] = []
    k = 0
    while k < len(entries):
        entry = entries[k]
        head, dot, _ = entry.name.partition(".")
        if not dot or entry.kind == "layer" and entry.layer is not None and entry.layer.op.module is None:
            if not NAME.fullmatch(entry.name) and not refused:
                refused.append(
                    f"{_where(scope)}: a module named {entry.name!r} (a spec name is letters, digits, '_', '-')"
                )
            out.append(entry)
            k += 1
            continue
        end = max(j for j in range(k, len(entries)) if entries[j].name.startswith(head + "."))
        run = entries[k : end + 1]
        k = end + 1
        problem = _run_problem(run, head)
        if problem:
            refused.append(f"{_where(scope)}: {problem}")
            continue
        inside = {e.name for e in run[:-1]}
        read_later = any(r in inside for e in entries[k:] for r in e.reads)
        chained = all(e.reads == [run[j - 1].name] for j, e in enumerate(run) if j)
        if chained and not read_later and not _exports(run[:-1], exported):
            renamed[run[-1].name] = head
            out.append(_chain(head, run))
            continue
        group, took = _grouped(head, run, entries[k:], scope, values, exported)
        if group is None:
            refused.append(
                f"{_where(scope)}: {head}'s modules are called neither one after another on each other's output, "
                "nor so that only the last one's result (or one call right after them that takes them all) "
                "is used after them"
            )
            continue
        last = (took or run[-1]).name
        renamed[last] = head
        out.append(group)
        k += 1 if took else 0
    for entry in out:
        entry.reads = [renamed.get(r, r) for r in entry.reads]
    return out


def _run_problem(run: list[Entry], head: str) -> str | None:
    """Why the run cannot be one list or block, if it cannot: a name, nesting, or a module with
    weights of its own called between the list's modules (it would be named inside the list)."""
    tails = [e.name.partition(".")[2] if e.name.startswith(head + ".") else e.name for e in run]
    if len(set(tails)) != len(tails):
        return f"{head}'s modules and the calls between them share a name"
    for e in run:
        if not e.name.startswith(head + "."):
            if "." in e.name or e.kind != "layer" or (e.layer is not None and _holds_weights(e.layer.op)):
                return f"calls {e.name} between the modules of {head}, as a module with weights of its own"
            continue
        tail = e.name.partition(".")[2]
        if not NAME.fullmatch(tail.partition(".")[0]):
            return f"a module named {e.name!r} (a spec name is letters, digits, '_', '-')"
        if "." in tail:
            return (
                f"calls {e.name} itself, inside containers (ModuleList, ModuleDict) nested two deep that it "
                "never calls: a spec nests names only through blocks and lists"
            )
    return None


def _all_reads(entry: Entry) -> list[str]:
    return entry.reads + [r for child in entry.children for r in _all_reads(child)]


def _holds_weights(op) -> bool:
    module = op.module
    if module is None:
        return False
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _tail(entry: Entry, head: str) -> str:
    return entry.name.partition(".")[2] if entry.name.startswith(head + ".") else entry.name


def _exports(run: list[Entry], exported: list[str]) -> bool:
    return any(x == e.name or x.startswith(e.name + ".") for x in exported for e in run)


def _chain(head: str, run: list[Entry]) -> Entry:
    group = Entry(head, "seq", reads=run[0].reads)
    for entry in run:
        entry.name, entry.reads = _tail(entry, head), []
        group.children.append(entry)
    return group


def _grouped(head: str, run: list[Entry], after: list[Entry], scope: Scope, values: dict, exported: list[str]):
    """The run as one call of a block named `head` (with the call right after it, when that one
    takes what the run makes), and that call; (None, None) where neither fits."""
    names = {e.name for e in run}
    read_after = {r for e in after for r in e.reads if r in names}
    consumer = None
    if read_after - {run[-1].name}:
        consumer = after[0] if after else None
        if consumer is None or "." in consumer.name or not read_after <= set(consumer.reads):
            return None, None
        if any(r in names for e in after[1:] for r in e.reads) or _exports(run, exported):
            return None, None
    members = run + ([consumer] if consumer else [])
    made = {e.name for e in members}
    outside = list(dict.fromkeys(r for e in members for r in e.reads if r not in made))
    if not outside or any(r not in values for r in outside):
        return None, None
    path = f"{scope.path}.{head}" if scope.path else head
    inner = Scope(scope.module.get_submodule(head), path, scope)
    inner.inputs = [values[r] for r in outside]
    inner.argument_names = []
    rename = {**dict(zip(outside, input_names(inner))), **{e.name: _tail(e, head) for e in run}}
    for entry in members:
        entry.name = rename.get(entry.name, entry.name)
        entry.reads = [rename.get(r, r) for r in entry.reads]
    call = Entry(head, "call", reads=outside)
    call.children = members
    call.scope = inner
    call.group = (type(inner.module), head, type(scope.module).__name__)  # named `aspp_convs`
    return call, consumer
