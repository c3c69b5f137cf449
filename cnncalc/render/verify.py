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


def text(results: list[Comparison], torch_version: str, *, values: bool = False, brief: bool = False) -> str:
    """The table of comparisons (with `brief`, only the rows that differ), then the verdict."""
    rows = [("Layer", "Type", "Output shape", "Params", "Buffers", "MACs", "")]
    for result in results:
        if brief and result.ok:
            continue
        cells = []
        for position in range(4):
            planned, measured = _cell(result.planned, position), _cell(result.measured, position)
            cells.append(planned if planned == measured else f"{planned} != torch {measured}")
        rows.append((terminal(result.name), terminal(result.type_name), *cells, "ok" if result.ok else "MISMATCH"))
    lines = aligned(rows, right={3, 4, 5}) if len(rows) > 1 else []
    layers = [r for r in results if r.kind == "layer"]
    blocks = [r for r in results if r.kind == "block"]
    bad = sum(not r.ok for r in layers)
    also = f", {len(blocks)} block modules" if blocks else ""
    if bad:
        lines += ["", f"{bad} of {len(layers)} layers differ from PyTorch"]
    elif not all(r.ok for r in results):
        lines += ["", "every layer agrees with PyTorch, but the exported forward() or a block module does not"]
    else:
        lines += [
            "",
            f"all {len(layers)} layers{also} and forward() agree with PyTorch {torch_version}: "
            "shapes, parameters, buffers, MACs" + (", and forward()'s values on random input" if values else ""),
        ]
    return "\n".join(lines).lstrip("\n")
