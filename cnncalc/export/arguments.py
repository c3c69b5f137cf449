"""Constructor arguments: a layer's (torch.nn's keywords) and a block call's (its class's signature),
each value unified across the calls of the class being written (values.value_code)."""

from __future__ import annotations

from cnncalc import expressions
from cnncalc.export.drafts import Draft
from cnncalc.export.values import hoist, padded, same, value_code
from cnncalc.layers.base import LayerType, python_literal
from cnncalc.spec import REQUIRED_ARGUMENT


def layer_arguments(cls: Draft, live, specs, rows, in_symbols: dict, attribute: str) -> list[str]:
    """The arguments of a torch.nn constructor: positional ones, then each keyword that differs
    from its default in some call or that the block sets from its arguments."""
    layer: LayerType = specs[0].layer
    fields = {f.name: f for f in layer.fields}
    rank = {name: i for i, name in enumerate([*layer.torch_positional, *fields])}
    written = {
        (name, keyword_)
        for spec, row in zip(specs, rows)
        for name, keyword_, _ in layer.pytorch_arguments(spec.cfg, row.input_shape)
    }
    # a field the block sets from its arguments is written even where it is at its default
    written |= {(name, True) for s in specs for name in s.exprs if name not in layer.torch_positional}
    pieces = []
    for name, keyword_ in sorted(written, key=lambda item: (item[1], rank[item[0]])):
        resolved = [layer.resolved_config(s.cfg, r.input_shape)[name] for s, r in zip(specs, rows)]
        candidate = _field_candidate(layer, specs, name, rows[0].input_shape, in_symbols)
        value = value_code(cls, live, fields[name], resolved, candidate, f"{attribute}_{name}", keyword_)
        if value is not None:
            pieces.append(f"{name}={value}" if keyword_ else value)
    return pieces


def _field_candidate(layer: LayerType, specs, name: str, shape, in_symbols: dict) -> str | None:
    """The expression a field may be written as: the block's, or the input's size it is inferred from."""
    texts = {s.exprs.get(name) for s in specs}
    if len(texts) == 1 and None not in texts:
        return texts.pop()
    if name == layer.inferred_field:
        return in_symbols.get(layer.inferred_axis % len(shape))
    return None


def channel_arguments(cls: Draft, live, child: Draft, channels: list[list[int]], candidates: list, attribute: str):
    """A call's channel arguments, one per input of the block: (the code of each, by name)."""
    pieces, mapping = [], {}
    for param, resolved, candidate in zip(child.channel_params, channels, candidates):
        value = value_code(cls, live, None, resolved, candidate, f"{attribute}_{param}")
        pieces.append(value)
        mapping[param] = value
    return pieces, mapping


def block_argument(cls: Draft, live, groups, param: str, default, hoist_name: str) -> tuple[str | None, str]:
    """(what the call passes for `param`, None if it is left at its default; the value's code)."""
    resolved = [g.arguments[param] for g in groups]
    candidate = _call_candidate(cls, groups, param, resolved)
    if default is REQUIRED_ARGUMENT:
        value = value_code(cls, live, None, resolved, candidate, hoist_name)
        return value, value
    default_value = default.plain()
    if not isinstance(default_value, str) or expressions.parse(default_value) is None:
        if all(same(v, default_value) for v in resolved) and (cls.literal or candidate is None):
            return None, python_literal(default_value)
    value = value_code(cls, live, None, resolved, candidate, hoist_name)
    return f"{param}={value}", value


def _call_candidate(cls: Draft, groups, param: str, resolved: list) -> str | None:
    """The expression every call writes for `param`, as Python; None where they differ, or where a
    block's class would only copy a literal (the value is then unified as a value)."""
    texts = {g.call.get(param) for g in groups}
    candidate = texts.pop() if len(texts) == 1 and None not in texts else None
    if candidate is not None and not cls.literal and candidate == python_literal(resolved[0]):
        return None
    return candidate


def hoisted_arguments(cls: Draft, live, child: Draft, groups, attribute: str) -> list[str]:
    """What a call passes for the arguments its block's class added (values its calls differ in)."""
    pieces = []
    for name, values in child.hoisted.items():
        resolved = [values[child.contexts.index(next(c for c in child.contexts if c.group is g))] for g in groups]
        if cls.literal or all(same(v, resolved[0]) for v in resolved):
            pieces.append(f"{name}={resolved[0]}")
        else:
            passed = hoist(cls, f"{attribute}_{name}", padded(cls, live, resolved), child.hoisted_kinds[name])
            pieces.append(f"{name}={passed}")
    return pieces
