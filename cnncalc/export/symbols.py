"""Channel symbols: each tensor's sizes as expressions of the class's arguments, {axis: code}.

Each layer type says which sizes it passes on or sets (LayerType.channel_symbols); a symbol is
only ever a candidate, written where it gives every call's value (values.value_code).
"""

from __future__ import annotations

from cnncalc.export.values import bounded
from cnncalc.layers.base import parenthesised
from cnncalc.spec import Entry, LayerSpec


def sources(symbols: dict, inputs: tuple) -> list[dict]:
    """The symbols of each input, at least one (empty) for a layer that reads nothing named."""
    return [symbols.get(name, {}) for name in inputs] or [{}]


def layer_symbols(spec: LayerSpec, row, symbols: dict, inputs: tuple) -> dict:
    """The output's symbols of a layer reading `inputs`, as its type describes them."""
    made = spec.layer.channel_symbols(spec.cfg, spec.exprs, sources(symbols, inputs), row.input_shape, row.output_shape)
    return bounded(made)


def when_symbols(condition: str | None, made: dict, symbols: dict, entry: Entry) -> dict:
    """An entry built only `if condition`: its output's channels, or else its input's."""
    if condition is None:
        return made
    passed_on = symbols.get(entry.inputs[0], {}) if entry.inputs else {}
    return bounded(
        {
            axis: f"{parenthesised(text)} if ({condition}) else {parenthesised(passed_on[axis])}"
            for axis, text in made.items()
            if axis in passed_on
        }
    )
