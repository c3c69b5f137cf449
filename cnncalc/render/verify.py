"""The verify report: each layer's planned numbers beside PyTorch's, and the verdict."""

from __future__ import annotations

from cnncalc.layers.base import fmt_shape
from cnncalc.render.text import aligned
from cnncalc.verify import Comparison


def _cell(values: tuple, position: int) -> str:
    value = values[position]
    if value is None:
        return "-"
    return fmt_shape(value) if position == 0 else f"{value:,}"


def text(results: list[Comparison], torch_version: str) -> str:
    rows = [("Layer", "Type", "Output shape", "Params", "Buffers", "MACs", "")]
    for result in results:
        cells = []
        for position in range(4):
            planned, measured = _cell(result.planned, position), _cell(result.measured, position)
            cells.append(planned if planned == measured else f"{planned} != torch {measured}")
        rows.append((result.name, result.type_name, *cells, "ok" if result.ok else "MISMATCH"))
    lines = aligned(rows, right={3, 4, 5})
    layers = [r for r in results if r.name != "forward()"]
    bad = sum(not r.ok for r in layers)
    if bad:
        lines += ["", f"{bad} of {len(layers)} layers differ from PyTorch"]
    elif not all(r.ok for r in results):
        lines += ["", "every layer agrees with PyTorch, but the exported forward() gives another output shape"]
    else:
        lines += [
            "",
            f"all {len(layers)} layers and forward() agree with PyTorch {torch_version}: "
            "shapes, parameters, buffers, MACs",
        ]
    return "\n".join(lines)
