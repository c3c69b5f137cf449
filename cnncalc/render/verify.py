"""The verify report: each layer's planned numbers beside PyTorch's, and the verdict."""

from __future__ import annotations

from cnncalc.layers.base import fmt_shape
from cnncalc.render.safe import terminal
from cnncalc.render.text import aligned
from cnncalc.verify import Comparison


def _cell(values: tuple, position: int) -> str:
    value = values[position]
    if value is None:
        return "-"
    if isinstance(value, str):
        return terminal(value)
    if position == 0 and value and isinstance(value[0], tuple):  # a forward() returning several tensors
        return ", ".join(fmt_shape(shape) for shape in value)
    return fmt_shape(value) if position == 0 else f"{value:,}"


class Measured:
    """Who measured the numbers a verify report compares, and what they are."""

    def __init__(self, framework: str, short: str, version: str, third: str, whole: str, counted: str):
        self.framework, self.short, self.version = framework, short, version  # "PyTorch", "torch", "2.13.0"
        self.third, self.whole, self.counted = third, whole, counted


def torch_measured(version: str, values: bool) -> Measured:
    counted = "shapes, parameters, buffers, MACs" + (", and forward()'s values on random input" if values else "")
    return Measured("PyTorch", "torch", version, "Buffers", "forward()", counted)


def keras_measured(version: str, macs: bool) -> Measured:
    counted = "shapes, parameters, non-trainable" + (", MACs" if macs else " (MACs only on the torch backend)")
    return Measured("Keras", "keras", version, "Non-trainable", "the model", counted)


def text(results: list[Comparison], measured: Measured, *, brief: bool = False) -> str:
    """The table of comparisons (with `brief`, only the rows that differ), then the verdict."""
    framework = measured.framework
    rows = [("Layer", "Type", "Output shape", "Params", measured.third, "MACs", "")]
    for result in results:
        if brief and result.ok:
            continue
        cells = []
        for position in range(4):
            planned, found = _cell(result.planned, position), _cell(result.measured, position)
            cells.append(planned if planned == found else f"{planned} != {measured.short} {found}")
        rows.append((terminal(result.name), terminal(result.type_name), *cells, "ok" if result.ok else "MISMATCH"))
    lines = aligned(rows, right={3, 4, 5}) if len(rows) > 1 else []
    layers = [r for r in results if r.kind == "layer"]
    blocks = [r for r in results if r.kind == "block"]
    bad = sum(not r.ok for r in layers)
    also = f", {len(blocks)} block modules" if blocks else ""
    if bad:
        lines += ["", f"{bad} of {len(layers)} layers differ from {framework}"]
    elif not all(r.ok for r in results):
        lines += [
            "",
            f"every layer agrees with {framework}, but the exported {measured.whole} or a block module does not",
        ]
    else:
        verdict = f"all {len(layers)} layers{also} and {measured.whole} agree with {framework} {measured.version}"
        lines += ["", f"{verdict}: {measured.counted}"]
    return "\n".join(lines).lstrip("\n")
