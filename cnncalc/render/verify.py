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


def text(
    results: list[Comparison],
    torch_version: str,
    *,
    values: bool = False,
    brief: bool = False,
    framework: str = "PyTorch",
    third: str = "Buffers",
) -> str:
    """The table of comparisons (with `brief`, only the rows that differ), then the verdict.
    `framework` measured the numbers (Keras's verify: "Keras", whose third number is the
    non-trainable parameters, `third`), at `torch_version` (its version)."""
    rows = [("Layer", "Type", "Output shape", "Params", third, "MACs", "")]
    short = framework.split()[0].lower()
    for result in results:
        if brief and result.ok:
            continue
        cells = []
        for position in range(4):
            planned, measured = _cell(result.planned, position), _cell(result.measured, position)
            cells.append(planned if planned == measured else f"{planned} != {short} {measured}")
        rows.append((terminal(result.name), terminal(result.type_name), *cells, "ok" if result.ok else "MISMATCH"))
    lines = aligned(rows, right={3, 4, 5}) if len(rows) > 1 else []
    layers = [r for r in results if r.kind == "layer"]
    blocks = [r for r in results if r.kind == "block"]
    bad = sum(not r.ok for r in layers)
    also = f", {len(blocks)} block modules" if blocks else ""
    whole = "the model" if framework != "PyTorch" else "forward()"
    if bad:
        lines += ["", f"{bad} of {len(layers)} layers differ from {framework}"]
    elif not all(r.ok for r in results):
        lines += ["", f"every layer agrees with {framework}, but the exported {whole} or a block module does not"]
    else:
        counted = "shapes, parameters, buffers, MACs" if framework == "PyTorch" else "shapes, parameters, non-trainable"
        if framework != "PyTorch":
            counted += (
                ", MACs" if any(r.measured[3] is not None for r in results) else " (MACs only on the torch backend)"
            )
        lines += [
            "",
            f"all {len(layers)} layers{also} and {whole} agree with {framework} {torch_version}: "
            + counted
            + (", and forward()'s values on random input" if values else ""),
        ]
    return "\n".join(lines).lstrip("\n")
