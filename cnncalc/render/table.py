"""The human view: a rich table of layers with totals. The only module that imports rich."""

from __future__ import annotations

from typing import Callable, NamedTuple

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnncalc.engine import LayerResult, Plan
from cnncalc.layers.base import fmt_shape
from cnncalc.memory import Memory
from cnncalc.render.units import human_bytes, human_count


class Column(NamedTuple):
    header: str
    justify: str
    cell: Callable[[LayerResult, int, Plan, Memory], str]
    help: str


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _field(row: LayerResult, attribute: str) -> str:
    if row.receptive_field is None:
        return "-"
    height, width = getattr(row.receptive_field, attribute)
    return str(height) if height == width else f"{height}x{width}"


COLUMNS: dict[str, Column] = {
    "index": Column("#", "right", lambda r, i, p, m: str(i + 1), "position in the spec"),
    "name": Column("Layer", "left", lambda r, i, p, m: r.name, "layer name"),
    "type": Column("Type", "left", lambda r, i, p, m: r.type_name, "layer type"),
    "input": Column("Input shape", "left", lambda r, i, p, m: fmt_shape(r.input_shape), "input shape"),
    "inputs": Column("Inputs", "left", lambda r, i, p, m: ", ".join(r.spec.inputs), "the layers it reads"),
    "output": Column("Output shape", "left", lambda r, i, p, m: fmt_shape(r.output_shape), "output shape"),
    "params": Column("Params", "right", lambda r, i, p, m: f"{r.params:,}", "parameters"),
    "params_pct": Column(
        "Params %", "right", lambda r, i, p, m: _share(r.params, p.totals.params), "share of all parameters"
    ),
    "macs": Column("MACs", "right", lambda r, i, p, m: human_count(r.macs), "multiply-accumulates per sample"),
    "macs_pct": Column("MACs %", "right", lambda r, i, p, m: _share(r.macs, p.totals.macs), "share of all MACs"),
    "other_ops": Column(
        "Other ops", "right", lambda r, i, p, m: human_count(r.other_ops), "element-wise ops per sample"
    ),
    "activations": Column(
        "Activations",
        "right",
        lambda r, i, p, m: human_bytes(m.layer_output_bytes[i]),
        "output bytes at the batch size and dtype",
    ),
    "saved": Column(
        "Saved",
        "right",
        lambda r, i, p, m: human_bytes(m.layer_saved_bytes[i]),
        "bytes this layer adds to what autograd keeps for backward",
    ),
    "rf": Column("RF", "right", lambda r, i, p, m: _field(r, "size"), "receptive field size"),
    "rf_stride": Column("RF stride", "right", lambda r, i, p, m: _field(r, "stride"), "receptive field stride"),
    "rf_padding": Column("RF pad", "right", lambda r, i, p, m: _field(r, "padding"), "receptive field padding"),
    "trainable": Column(
        "Trainable", "left", lambda r, i, p, m: "yes" if r.trainable else "no (frozen)", "trained or frozen"
    ),
}
DEFAULT_COLUMNS = ("index", "name", "type", "output", "params", "macs", "rf")


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits 1 when the reader goes away (`| head`); 1 means "over budget" here
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), self.file.fileno())
        raise SystemExit(141)


def render(plan: Plan, memory: Memory, stream, columns=DEFAULT_COLUMNS, *, colour: bool = False) -> None:
    """Print the plan's table and totals to `stream`, in colour only if asked."""
    console = _Console(file=stream, highlight=False, no_color=not colour, force_terminal=colour, soft_wrap=True)
    columns = list(columns)
    if "inputs" not in columns and any(row.spec.inputs_given for row in plan.layers) and "type" in columns:
        columns.insert(columns.index("type") + 1, "inputs")  # a graph: show what each layer reads
    if "trainable" not in columns and any(not r.trainable for r in plan.layers):
        columns.append("trainable")
    first = plan.first_linear

    title = f"{plan.name}  (input {fmt_shape(plan.input_shape)})"
    if plan.description:
        title += f"\n{plan.description}"
    # Text, not a str: a spec's name or description is never read as rich markup
    table = Table(title=Text(title), box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, collapse_padding=True)
    rows = [[COLUMNS[key].cell(row, i, plan, memory) for key in columns] for i, row in enumerate(plan.layers)]
    for position, key in enumerate(columns):
        column = COLUMNS[key]
        widest = max([len(column.header), *(len(cells[position]) for cells in rows)])
        table.add_column(
            column.header,
            justify=column.justify,
            style="dim" if key == "index" else None,
            min_width=widest,
            no_wrap=True,
        )
    for row, cells in zip(plan.layers, rows):
        is_first = first is not None and row.spec.index == first.index
        table.add_row(*cells, style="bold" if is_first else None)
    # wider than the terminal: print it whole and let lines run on, rather than clip numbers
    needed = table.__rich_measure__(console, console.options.update(max_width=10_000)).maximum
    terminal_width = console.width
    console.width = max(terminal_width, needed)
    console.print(table, crop=False)
    console.width = terminal_width

    totals = plan.totals
    lines = [
        ("Total params", f"{totals.params:,}", human_count(totals.params)),
        ("Trainable params", f"{totals.trainable_params:,}", ""),
        ("Non-trainable params", f"{totals.non_trainable_params:,}", ""),
    ]
    if totals.buffers:
        lines.append(("Buffers (not trained)", f"{totals.buffers:,}", ""))
    lines += [
        (
            "MACs per sample",
            f"{totals.macs:,}",
            f"{human_count(totals.macs)}; FLOPs = 2 x MACs = {human_count(totals.flops)}",
        ),
        ("Other ops per sample", f"{totals.other_ops:,}", "activations, norms, pooling, bias adds"),
    ]
    width = max(len(label) for label, _, _ in lines) + 2
    number_width = max(len(number) for _, number, _ in lines)
    for label, number, note in lines:
        if note == number:  # a count under 1,000 has no shorter form
            note = ""
        console.print(f"{label + ':':<{width}}{number:>{number_width}}" + (f"  ({note})" if note else ""))

    m = memory
    weights = m.params_bytes + m.buffers_bytes
    console.print()
    console.print(f"Memory at batch size {m.batch_size}, {m.dtype}:")
    for label, value, note in (
        ("inference peak", m.inference_peak_bytes, "weights + largest layer input + output"),
        (f"training with {m.optimizer}", m.training_total_bytes, "the sum of:"),
        ("  weights and buffers", weights, ""),
        ("  gradients", m.gradients_bytes, ""),
        ("  optimizer state", m.optimizer_bytes, ""),
        ("  saved activations", m.saved_activations_bytes, "kept by autograd for backward"),
    ):
        console.print(f"  {label:<22}{human_bytes(value):>12}" + (f"  ({note})" if note else ""))
    if first is not None:
        note = Text("First linear layer: ")
        note.append(first.name, style="bold")
        note.append(f", in_features = {first.derivation()}")
        console.print(note)
    console.print(f"Output shape: {fmt_shape(plan.output_shape)}")
    if plan.warnings:
        console.print()
        for warning in plan.warnings:
            console.print(Text(f"{warning.loc}: note: {warning.message}"))
