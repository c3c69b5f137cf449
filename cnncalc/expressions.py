"""Arithmetic on block arguments: `4 * planes`, `width // 2`, `make_divisible(c * 0.25, 8)`.

Expressions are Python syntax, but only a small, safe part of it is accepted:
numbers, argument names, + - * / // %, comparisons, `and`/`or`/`not`,
`a if cond else b`, and the functions in FUNCTIONS. Nothing else runs.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DIGITS = 30  # a larger integer is a mistake, and arithmetic on it could run for ages


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


FUNCTIONS = {"make_divisible": make_divisible, "min": min, "max": max, "int": int, "abs": abs}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
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
    return bool(_IDENTIFIER.match(text))


_MAX_LENGTH = 500  # characters; a longer expression belongs in `let:` values


def parse(text: str) -> ast.expr | None:
    """The expression in `text`, or None when `text` is not an expression but plain text
    ('same', 'zeros') or a lone number or name (which the caller treats as such)."""
    if len(text) > _MAX_LENGTH and any(symbol in text for symbol in "+-*/%()<>="):
        raise ExpressionError(f"the expression is longer than {_MAX_LENGTH} characters; split it with let: values")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    if isinstance(tree, (ast.Name, ast.Constant)):
        return None
    return tree


def names_in(tree: ast.expr) -> set[str]:
    """The argument names an expression reads (function names excluded)."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called}


def evaluate(tree: ast.expr, values: dict[str, Any]) -> Any:
    """The value of `tree` with `values` for its names; ExpressionError if it cannot be had."""
    try:
        return _evaluate(tree, values)
    except OverflowError:
        raise ExpressionError("a number is too large (or infinite)") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None


def _evaluate(tree: ast.expr, values: dict[str, Any]) -> Any:
    if isinstance(tree, ast.Constant):
        if isinstance(tree.value, (bool, int, float, str)) or tree.value is None:
            return tree.value
    elif isinstance(tree, ast.Name):
        if tree.id in values:
            return values[tree.id]
        raise ExpressionError(f"{tree.id!r} is not defined here")
    elif isinstance(tree, ast.BinOp) and type(tree.op) in _BINARY:
        left, right = _evaluate(tree.left, values), _evaluate(tree.right, values)
        for side in (left, right):
            if isinstance(side, bool) or not isinstance(side, (int, float)):
                raise ExpressionError(f"arithmetic needs numbers, got {side!r}")
        if type(tree.op) in _SYMBOL and right == 0:
            raise ExpressionError(f"division by zero: {left} {_SYMBOL[type(tree.op)]} 0")
        result = _BINARY[type(tree.op)](left, right)
        if isinstance(result, int) and len(str(abs(result))) > _MAX_DIGITS:
            raise ExpressionError("the result is too large")
        return result
    elif isinstance(tree, ast.UnaryOp) and isinstance(tree.op, (ast.USub, ast.UAdd, ast.Not)):
        operand = _evaluate(tree.operand, values)
        if isinstance(tree.op, ast.Not):
            return not operand
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise ExpressionError(f"a sign needs a number, got {operand!r}")
        return -operand if isinstance(tree.op, ast.USub) else operand
    elif isinstance(tree, ast.BoolOp):
        result = _evaluate(tree.values[0], values)
        for value in tree.values[1:]:
            if isinstance(tree.op, ast.And) and not result or isinstance(tree.op, ast.Or) and result:
                return result
            result = _evaluate(value, values)
        return result
    elif isinstance(tree, ast.Compare):
        left = _evaluate(tree.left, values)
        for op, comparator in zip(tree.ops, tree.comparators):
            if type(op) not in _COMPARE:
                break
            right = _evaluate(comparator, values)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {left!r} with {right!r}") from None
            left = right
        else:
            return True
    elif isinstance(tree, ast.IfExp):
        return _evaluate(tree.body if _evaluate(tree.test, values) else tree.orelse, values)
    elif isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and all(k.arg for k in tree.keywords):
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
    raise ExpressionError(
        f"{ast.unparse(tree)!r} is not allowed; use numbers, names, + - * / // %, comparisons, "
        f"'a if condition else b' and {', '.join(FUNCTIONS)}()"
    )
