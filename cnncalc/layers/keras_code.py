"""Keras 3 code for the PyTorch convention's types, for `cnncalc export --to keras` of a PyTorch
spec: each type's `keras_layers` gives the Keras layers (channels_first, so the tensors keep
PyTorch's [C, H, W]) that build it, or None where Keras has no exact equivalent."""

from __future__ import annotations

from typing import Any

from cnncalc.layers.base import python_literal

CHANNELS_FIRST = "channels_first"


def keras_call(class_name: str, *positional: Any, defaults: dict | None = None, **keywords: Any) -> str:
    """`layers.Conv2D(64, 3, strides=2, data_format="channels_first")`: the keywords that differ
    from Keras's `defaults`, every value written anew as a Python literal."""
    defaults = defaults or {}
    arguments = [pairs_literal(value) if isinstance(value, Pairs) else python_literal(value) for value in positional]
    arguments += [
        f"{key}={python_literal(value)}"
        for key, value in keywords.items()
        if key not in defaults or not _default(value, defaults[key])
    ]
    return f"layers.{class_name}({', '.join(arguments)})"


def _default(value: Any, default: Any) -> bool:
    """`value` is Keras's default: equal, or one per axis each equal to it ((1, 1) for 1)."""
    if isinstance(value, tuple) and not isinstance(default, tuple):
        return all(item == default for item in value)
    return value == default


def named(code: str, name: str, trainable: bool = True) -> str:
    """A constructor given its layer's name (and trainable=False for a frozen layer):
    `layers.Flatten(name="flatten_1")`."""
    separator = "" if code.endswith("()") else ", "
    frozen = "" if trainable else ", trainable=False"
    return f"{code[:-1]}{separator}name={python_literal(name)}{frozen})"


def zero_padding(pads: tuple[tuple[int, int], ...]) -> str | None:
    """ZeroPadding1D/2D/3D for (before, after) per spatial axis; None when there is none."""
    if not any(before or after for before, after in pads):
        return None
    return keras_call(f"ZeroPadding{len(pads)}D", Pairs(pads), data_format=CHANNELS_FIRST)


def pairs_literal(pads: tuple[tuple[int, int], ...]) -> str:
    """(before, after) per axis as Keras's padding and cropping read them: one int where every
    side is the same; the pair for one axis; else a pair per axis (Keras reads a bare pair of
    ints on 2-D as one amount per axis, both sides, so none is collapsed)."""
    if len({side for pair in pads for side in pair}) == 1:
        return str(pads[0][0])
    written = [f"({before}, {after})" for before, after in pads]
    return written[0] if len(pads) == 1 else f"({', '.join(written)})"


class Pairs(tuple):
    """(before, after) per axis, written by pairs_literal where python_literal would collapse them."""
