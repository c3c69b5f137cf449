"""Arithmetic on block arguments: `4 * planes`, `width // 2`, `make_divisible(c * 0.25, 8)`.

Expressions are Python syntax, but only a small, safe part of it is accepted:
numbers, argument names, + - * / // % ** (exponents up to 64 in size), comparisons, `and`/`or`/`not`,
`a if cond else b`, and the functions in FUNCTIONS. Nothing else runs.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

# matched whole (fullmatch): no trailing newline; at most 100 characters
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_MAX_DIGITS = 30  # a larger integer is a mistake, and arithmetic on it could run for ages
_MAX_DEPTH = 100  # nodes deep (a sum of 50 terms is 50); the bundled blocks need 6
MAX_LENGTH = 500  # characters; a longer expression belongs in `let:` values


class ExpressionError(Exception):
    """An expression that cannot be evaluated; the message says why."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round `value` to the nearest multiple of `divisor`, never below `min_value` (default:
    `divisor`) and never more than 10% below `value`: MobileNet's and EfficientNet's channel rule.

    >>> make_divisible(32 * 0.25), make_divisible(960 * 0.25), make_divisible(100, 8)
    (8, 240, 104)
    """
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


_MAX_EXPONENT = 64  # `2 ** i`, `c ** -0.5`; a larger one is a mistake, or an attempt to run for ages


def _power(base: int | float, exponent: int | float) -> int | float:
    """`base ** exponent`, for real results and exponents of at most _MAX_EXPONENT in size."""
    if abs(exponent) > _MAX_EXPONENT:
        raise ExpressionError(f"the exponent {exponent} is too large: at most {_MAX_EXPONENT} in size")
    if base < 0 and exponent != int(exponent):
        raise ExpressionError(f"{base} ** {exponent} is not a real number (a negative number to a fractional power)")
    if base == 0 and exponent < 0:
        raise ExpressionError(f"division by zero: 0 ** {exponent}")
    try:
        return base**exponent
    except OverflowError:
        raise ExpressionError("the result is too large (or infinite)") from None


FUNCTIONS = {"make_divisible": make_divisible, "min": min, "max": max, "int": int, "abs": abs}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_SYMBOL = {ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}


def is_name(text: str) -> bool:
    return isinstance(text, str) and _IDENTIFIER.fullmatch(text) is not None


def parse(text: str) -> ast.expr | None:
    """The expression in `text`, or None when `text` is not an expression but plain text
    ('same', 'zeros') or a lone number or name (which the caller treats as such).

    The whole tree is checked (`check`), every branch of it: an expression that parses
    but uses anything outside the language is an ExpressionError, never passed on."""
    if len(text) > MAX_LENGTH and any(symbol in text for symbol in "+-*/%()<>=") or len(text) > 4 * MAX_LENGTH:
        raise _too_long()
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    if isinstance(tree, (ast.Name, ast.Constant)):
        return None
    if len(text) > MAX_LENGTH:  # plain words parse as a chain of names: long text is refused once it is one
        raise _too_long()
    check(tree)
    return tree


def _too_long() -> ExpressionError:
    return ExpressionError(f"the expression is longer than {MAX_LENGTH} characters; split it with let: values")


def check(tree: ast.expr) -> None:
    """Refuse a tree with anything outside the expression language, in any branch; iterative,
    so depth is measured before any recursive walk."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {_MAX_DEPTH} deep; split it with let: values")
        children = _children(node)
        if children is None:
            _refuse_known(node)
            raise ExpressionError(
                f"{_shown(node)!r} is not allowed; use numbers, names, + - * / // %, comparisons, "
                f"and/or/not, 'a if condition else b' and {', '.join(FUNCTIONS)}()"
            )
        stack.extend((child, depth + 1) for child in children)


def _refuse_known(node: ast.AST) -> None:
    """A clearer message for the refusals people meet by mistake."""
    if isinstance(node, (ast.Tuple, ast.List)):
        raise ExpressionError("a tuple is not a value here; write a pair as a YAML list, e.g. [3, 3]")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in FUNCTIONS:
        raise ExpressionError(f"unknown function {_shown(node.func)!r}; the functions are {', '.join(FUNCTIONS)}")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        raise ExpressionError(f"the number {_shown(node)} is too large: numbers have at most {_MAX_DIGITS} digits")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        raise ExpressionError(
            f"{node.func.id}() takes numbers, and keywords only as make_divisible(value, divisor, min_value)"
        )


_KEYWORDS = {"make_divisible": {"value", "divisor", "min_value"}}


def _children(node: ast.AST) -> list[ast.expr] | None:
    """The sub-expressions of an allowed node; None for a node the language does not have."""
    if isinstance(node, ast.Constant):
        return [] if _allowed_constant(node.value) else None
    if isinstance(node, ast.Name):
        return [] if is_name(node.id) and not node.id.startswith("__") and node.id not in FUNCTIONS else None
    if isinstance(node, ast.BinOp):
        return [node.left, node.right] if type(node.op) in _BINARY else None
    if isinstance(node, ast.UnaryOp):
        return [node.operand] if isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)) else None
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators] if all(type(op) in _COMPARE for op in node.ops) else None
    if isinstance(node, ast.IfExp):
        return [node.test, node.body, node.orelse]
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            return None
        allowed = _KEYWORDS.get(node.func.id, set())
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg not in allowed for k in node.keywords):
            return None
        return [*node.args, *(k.value for k in node.keywords)]
    return None


def _allowed_constant(value) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, (int, float)):
        return _small(value)
    return isinstance(value, str) and len(value) <= 100 and value.isprintable()


def _small(value: int | float) -> bool:
    """A number of at most _MAX_DIGITS digits (finite, for a float)."""
    return abs(value) < 10**_MAX_DIGITS


def _shown(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError, AttributeError):
        text = type(node).__name__
    text = text if len(text) <= 60 else text[:57] + "..."
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def python_source(tree: ast.expr) -> str:
    """Python source for a checked expression, written anew from a tree cnncalc builds from the
    checked one: names as validated identifiers, literals as the repr of an int, float, bool or
    str. Spec text is never copied into the result."""
    check(tree)
    return ast.unparse(_rebuilt(tree))


def _rebuilt(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None:
            return ast.Constant(value)
        kind = float if isinstance(value, float) else int if isinstance(value, int) else str
        return ast.Constant(kind(value))
    if isinstance(node, ast.Name):
        return ast.Name(str(node.id), ast.Load())
    if isinstance(node, ast.BinOp):
        return ast.BinOp(_rebuilt(node.left), type(node.op)(), _rebuilt(node.right))
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(type(node.op)(), _rebuilt(node.operand))
    if isinstance(node, ast.BoolOp):
        return ast.BoolOp(type(node.op)(), [_rebuilt(v) for v in node.values])
    if isinstance(node, ast.Compare):
        return ast.Compare(
            _rebuilt(node.left), [type(op)() for op in node.ops], [_rebuilt(c) for c in node.comparators]
        )
    if isinstance(node, ast.IfExp):
        return ast.IfExp(_rebuilt(node.test), _rebuilt(node.body), _rebuilt(node.orelse))
    if isinstance(node, ast.Call):
        keywords = [ast.keyword(str(k.arg), _rebuilt(k.value)) for k in node.keywords]
        return ast.Call(ast.Name(str(node.func.id), ast.Load()), [_rebuilt(a) for a in node.args], keywords)
    raise ExpressionError(f"{_shown(node)!r} is not allowed")  # pragma: no cover - check() refused it


def names_in(tree: ast.expr) -> set[str]:
    """The argument names an expression reads (function names excluded)."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called}


def evaluate(tree: ast.expr, values: dict[str, Any]) -> Any:
    """The value of `tree` with `values` for its names; ExpressionError if it cannot be had.
    Only the language's nodes are evaluated; `parse` has checked the branches not taken (the
    export checks what it writes with `python_source`)."""
    try:
        return _evaluate(tree, values)
    except OverflowError:
        raise ExpressionError("a number is too large (or infinite)") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None


def _evaluate(tree: ast.expr, values: dict[str, Any]) -> Any:
    value = _evaluate_node(tree, values)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _small(value):
        raise ExpressionError(
            "the result is too large (or infinite)" if value == value else "the result is not a number"
        )
    return value


def _evaluate_node(tree: ast.expr, values: dict[str, Any]) -> Any:
    """The node's value, by its kind; a kind (or form) not in the language is refused."""
    rule = _RULES.get(type(tree))
    value = rule(tree, values) if rule is not None else _REFUSED
    if value is _REFUSED:
        raise ExpressionError(
            f"{ast.unparse(tree)!r} is not allowed; use numbers, names, + - * / // %, comparisons, "
            f"'a if condition else b' and {', '.join(FUNCTIONS)}()"
        )
    return value


_REFUSED = object()  # a form the language does not have


def _constant(tree: ast.Constant, values: dict[str, Any]) -> Any:
    if isinstance(tree.value, (bool, int, float, str)) or tree.value is None:
        return tree.value
    return _REFUSED


def _name(tree: ast.Name, values: dict[str, Any]) -> Any:
    if tree.id in values:
        return values[tree.id]
    raise ExpressionError(f"{tree.id!r} is not defined here")


def _binary(tree: ast.BinOp, values: dict[str, Any]) -> Any:
    if type(tree.op) not in _BINARY:
        return _REFUSED
    left, right = _evaluate(tree.left, values), _evaluate(tree.right, values)
    for side in (left, right):
        if isinstance(side, bool) or not isinstance(side, (int, float)):
            raise ExpressionError(f"arithmetic needs numbers, got {side!r}")
    if type(tree.op) in _SYMBOL and right == 0:
        raise ExpressionError(f"division by zero: {left} {_SYMBOL[type(tree.op)]} 0")
    return _BINARY[type(tree.op)](left, right)


def _unary(tree: ast.UnaryOp, values: dict[str, Any]) -> Any:
    if not isinstance(tree.op, (ast.USub, ast.UAdd, ast.Not)):
        return _REFUSED
    operand = _evaluate(tree.operand, values)
    if isinstance(tree.op, ast.Not):
        return not operand
    if isinstance(operand, bool) or not isinstance(operand, (int, float)):
        raise ExpressionError(f"a sign needs a number, got {operand!r}")
    return -operand if isinstance(tree.op, ast.USub) else operand


def _boolean(tree: ast.BoolOp, values: dict[str, Any]) -> Any:
    result = _evaluate(tree.values[0], values)
    for value in tree.values[1:]:
        if isinstance(tree.op, ast.And) and not result or isinstance(tree.op, ast.Or) and result:
            return result
        result = _evaluate(value, values)
    return result


def _compare(tree: ast.Compare, values: dict[str, Any]) -> Any:
    left = _evaluate(tree.left, values)
    for op, comparator in zip(tree.ops, tree.comparators):
        if type(op) not in _COMPARE:
            return _REFUSED
        right = _evaluate(comparator, values)
        try:
            if not _COMPARE[type(op)](left, right):
                return False
        except TypeError:
            raise ExpressionError(f"cannot compare {left!r} with {right!r}") from None
        left = right
    return True


def _if(tree: ast.IfExp, values: dict[str, Any]) -> Any:
    return _evaluate(tree.body if _evaluate(tree.test, values) else tree.orelse, values)


def _function(tree: ast.Call, values: dict[str, Any]) -> Any:
    if not isinstance(tree.func, ast.Name) or not all(k.arg for k in tree.keywords):
        return _REFUSED
    return _call(tree, values)


_RULES = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.BinOp: _binary,
    ast.UnaryOp: _unary,
    ast.BoolOp: _boolean,
    ast.Compare: _compare,
    ast.IfExp: _if,
    ast.Call: _function,
}


def _call(tree: ast.Call, values: dict[str, Any]) -> Any:
    function = FUNCTIONS.get(tree.func.id)
    if function is None:
        raise ExpressionError(f"unknown function {tree.func.id!r}; the functions are {', '.join(FUNCTIONS)}")
    arguments = [_evaluate(argument, values) for argument in tree.args]
    keywords = {k.arg: _evaluate(k.value, values) for k in tree.keywords}
    for argument in [*arguments, *keywords.values()]:
        if isinstance(argument, bool) or not isinstance(argument, (int, float)):
            raise ExpressionError(f"{tree.func.id}() needs numbers, got {argument!r}")
    try:
        return function(*arguments, **keywords)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise ExpressionError(f"{tree.func.id}(): {exc}") from None
