"""The human view: a rich table of layers with totals. The only module that imports rich."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnncalc.engine import Plan
from cnncalc.layers.base import fmt_shape


def render(plan: Plan, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    any_frozen = any(not r.trainable for r in plan.layers)
    first = plan.first_linear

    title = f"{plan.name}  (input {fmt_shape(plan.input_shape)})"
    if plan.description:
        title += f"\n{plan.description}"
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("#", justify="right", style="dim")
    table.add_column("Layer")
    table.add_column("Type", style="cyan")
    table.add_column("Output shape")
    table.add_column("Params", justify="right")
    if any_frozen:
        table.add_column("Trainable")
    for position, r in enumerate(plan.layers, start=1):
        is_first = first is not None and r.spec.index == first.index
        params = f"{r.params:,}" if r.params else "0"
        row = [str(position), r.name, r.type_name, fmt_shape(r.output_shape), params]
        if any_frozen:
            row.append("yes" if r.trainable else "no (frozen)")
        table.add_row(*row, style="bold" if is_first else None)
    console.print(table)

    totals = plan.totals
    lines = [
        ("Total params", totals.params),
        ("Trainable params", totals.trainable_params),
        ("Non-trainable params", totals.non_trainable_params),
    ]
    if totals.buffers:
        lines.append(("Buffers (not trained)", totals.buffers))
    width = max(len(label) for label, _ in lines) + 2
    for label, value in lines:
        console.print(f"{label + ':':<{width}}{value:>15,}")
    if first is not None:
        note = Text("First linear layer: ")
        note.append(first.name, style="bold")
        note.append(f", in_features = {first.derivation()}")
        console.print(note)
    console.print(f"Output shape: {fmt_shape(plan.output_shape)}")
