"""Value unification: the code for a value each call of a class may set differently.

A value is written as the spec's expression where that gives every call's value (written anew
from its checked tree, never copied), else as a literal where the calls agree, else it becomes
one more constructor argument of the class (hoisted), each call passing its own.
"""

from __future__ import annotations

import ast

from cnncalc import expressions
from cnncalc.export.drafts import Draft, present
from cnncalc.layers.base import LayerType, python_literal

_REFUSED = (SyntaxError, ValueError, RecursionError, MemoryError, expressions.ExpressionError)


def same(a, b) -> bool:
    """Equal and written alike: 2 and 2.0 are not the same argument (x + 1 == x tells them apart)."""
    try:
        return python_literal(a) == python_literal(b)
    except TypeError:
        return False


def bounded(symbols: dict) -> dict:
    """Channel expressions no longer than a spec's own may be: each one built from the one
    before (a `when:` keeps both, a concat repeats its inputs) would double with every layer;
    a value without one is written as a literal or a constructor argument instead."""
    return {axis: text for axis, text in symbols.items() if len(text) <= expressions.MAX_LENGTH}


def expression_source(node) -> str | None:
    """A spec value written as an expression, as Python source; None for anything else."""
    if not isinstance(node.value, str):
        return None
    tree = expressions.parse(node.value)
    return expressions.python_source(tree) if tree is not None else None


def substitute(text: str, mapping: dict[str, str]) -> str:
    """`text` with each argument name replaced by the expression passed for it."""
    tree = ast.parse(text, mode="eval")

    class Replace(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping and mapping[node.id] is not None:
                return ast.parse(mapping[node.id], mode="eval").body
            return node

        def visit_IfExp(self, node):
            """`a if c != c else b` once both sides are the same: the branch it always takes."""
            self.generic_visit(node)
            test = node.test
            if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq)):
                if ast.dump(test.left) == ast.dump(test.comparators[0]):
                    return node.body if isinstance(test.ops[0], ast.Eq) else node.orelse
            return node

    return ast.unparse(Replace().visit(tree))


def _elements(tree) -> list | None:
    """A per-axis list written with expressions (`kernel_size: [k, 3]`) as its items' trees; a
    single expression as itself; None for any other list or tuple."""
    if isinstance(tree, (ast.List, ast.Tuple)):
        return None if any(isinstance(item, (ast.List, ast.Tuple)) for item in tree.elts) else list(tree.elts)
    return [tree]


def regenerated(text: str, env: dict) -> str | None:
    """Expression text, the spec's or one built here from checked pieces, written anew from its
    checked tree (expressions.python_source), if it uses only the names in `env`; else None. A
    list of expressions is written as a tuple of them, each checked alike."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
        items = _elements(tree)
        if not items or not all(expressions.names_in(item) <= set(env) for item in items):
            return None
        sources = [expressions.python_source(item) for item in items]
        return sources[0] if items == [tree] else "(" + ", ".join(sources) + ("," if len(sources) == 1 else "") + ")"
    except _REFUSED:
        return None


def evaluates_to(text: str, env: dict, value, field_) -> bool:
    """Whether expression `text` (or a list of them) gives `value` in `env` (as the field `field_`
    reads it, if any)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
        items = _elements(tree)
        if not items:
            return False
        results = [expressions.evaluate(item, env) for item in items]
    except _REFUSED:
        return False
    result = results[0] if items == [tree] else results
    if python_literal(result) == python_literal(value):
        return True
    if field_ is None:
        return False
    try:
        return python_literal(field_.kind.parse(result)) == python_literal(value)
    except Exception:  # a value the field refuses is not this value
        return False


def annotation(value, optional: bool = False) -> str:
    kinds = {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple"}
    kind = kinds.get(type(value))
    if kind is None:
        return ""
    return f": {kind} | None" if optional else f": {kind}"


def hoist(cls: Draft, name: str, values: list[str], kind: str) -> str:
    """A new keyword-only constructor argument of `cls`, each call passing its value's code."""
    base, n = name, 2
    while name in cls.names:
        name, n = f"{base}_{n}", n + 1
    cls.names.add(name)
    cls.hoisted[name] = values
    cls.hoisted_kinds[name] = kind
    return name


def padded(cls: Draft, live, values: list[str]) -> list[str]:
    """One value per call of `cls` from one per call in `live`: the others pass None."""
    if len(live) == len(cls.contexts):
        return values
    present_ = {id(context) for context, _ in live}
    filled = iter(values)
    return [next(filled) if id(context) in present_ else "None" for context in cls.contexts]


def value_code(cls: Draft, live, field_, resolved: list, candidate, hoist_name: str, optional: bool = False):
    """An argument's code: the expression as written, if it gives every call's value; else the
    literal, if the calls agree; else a new constructor argument. None: an optional (keyword)
    argument at its default, left out."""
    default = LayerType.default_of(field_) if field_ is not None else None
    at_default = optional and field_ is not None and all(same(v, default) for v in resolved)
    if cls.literal:
        return None if at_default else python_literal(resolved[0])
    code = _written(live, field_, resolved, candidate)
    if code is not None:
        return code
    if all(same(v, resolved[0]) for v in resolved):
        return None if at_default else python_literal(resolved[0])
    values = padded(cls, live, [python_literal(v) for v in resolved])
    return hoist(cls, hoist_name, values, annotation(resolved[0]).lstrip(": ") or "int")


def _written(live, field_, resolved: list, candidate: str | None) -> str | None:
    """The candidate expression, written anew, if it gives every call's value."""
    if candidate is None:
        return None
    if not all(evaluates_to(candidate, c.env, v, field_) for (c, _), v in zip(live, resolved)):
        return None
    return regenerated(candidate, live[0][0].env)


def condition(cls: Draft, items, attribute: str) -> str:
    """The `if` under which an entry is built: its `when:` as written, if that explains every call."""
    when = items[0][1].when
    if not cls.literal and when is not None:
        try:
            tree = ast.parse(when, mode="eval").body
            if all(bool(expressions.evaluate(tree, c.env)) == present(e) for c, e in items):
                code = regenerated(when, items[0][0].env)
                if code is not None:
                    return code
        except (SyntaxError, ValueError, expressions.ExpressionError):
            pass
    if cls.literal:
        raise AssertionError("the model class has one call; nothing is conditional")  # pragma: no cover
    return hoist(cls, f"use_{attribute}", [repr(present(e)) for _, e in items], "bool")
