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
from cnncalc.render.safe import terminal, terminal_lines
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
    "name": Column("Layer", "left", lambda r, i, p, m: terminal(r.name), "layer name"),
    "type": Column("Type", "left", lambda r, i, p, m: terminal(r.type_name), "layer type"),
    "input": Column("Input shape", "left", lambda r, i, p, m: fmt_shape(r.input_shape), "input shape"),
    "inputs": Column("Inputs", "left", lambda r, i, p, m: terminal(", ".join(r.spec.inputs)), "the layers it reads"),
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


class _Subtotal(NamedTuple):
    """A block call's (or list's) row: its layers' sums, and its output's shape and field."""

    group: object
    local_name: str
    depth: int
    output: LayerResult | None  # the layer whose output is the group's (None: the network input)
    params: int
    macs: int
    other_ops: int
    saved: int
    trainable: str


def _group_cell(key: str, sub: _Subtotal, plan: Plan, memory: Memory) -> str:
    if key == "name":
        return "  " * sub.depth + terminal(sub.local_name)
    if key == "type":
        return terminal(sub.group.kind)
    if key == "output":  # no output layer: the call passes the network's input on
        return fmt_shape(sub.output.output_shape if sub.output is not None else plan.input_shape)
    if key == "params":
        return f"{sub.params:,}"
    if key == "params_pct":
        return _share(sub.params, plan.totals.params)
    if key == "macs":
        return human_count(sub.macs)
    if key == "macs_pct":
        return _share(sub.macs, plan.totals.macs)
    if key == "other_ops":
        return human_count(sub.other_ops)
    if key == "saved":
        return human_bytes(sub.saved)
    if key in ("rf", "rf_stride", "rf_padding"):
        return COLUMNS[key].cell(sub.output, 0, plan, memory) if sub.output is not None else "1"
    if key == "trainable":
        return sub.trainable
    return ""


def _hierarchy(plan: Plan, memory: Memory, depth: int | None) -> list[tuple[str, object, int]]:
    """The table's rows in spec order: ("layer", row, position) and ("group", subtotal, 0) before
    each block call's layers; rows deeper than `depth` levels are folded into their group's."""
    by_name = {row.name: row for row in plan.layers}
    sums: dict[int, list] = {}
    for position, row in enumerate(plan.layers):
        for group in row.spec.groups:
            entry = sums.setdefault(id(group), [0, 0, 0, 0, 0, 0])
            entry[0] += row.params
            entry[1] += row.macs
            entry[2] += row.other_ops
            entry[3] += memory.layer_saved_bytes[position]
            entry[4] += row.params if row.trainable else 0
            entry[5] += 1 if row.trainable else 0
    rows: list[tuple[str, object, int]] = []
    open_groups: tuple = ()
    for position, row in enumerate(plan.layers):
        groups = row.spec.groups
        shared = 0
        while shared < min(len(groups), len(open_groups)) and groups[shared] is open_groups[shared]:
            shared += 1
        for level in range(shared, len(groups)):
            group = groups[level]
            if depth is not None and level >= depth:
                break
            parent = groups[level - 1].name + "." if level else ""
            params, macs, other_ops, saved, trainable_params, trainable_layers = sums[id(group)]
            count = group.layer_count
            trainable = "yes" if trainable_layers == count else "no (frozen)" if not trainable_layers else "partly"
            output = by_name.get(group.output)
            rows.append(
                (
                    "group",
                    _Subtotal(
                        group, group.name[len(parent) :], level, output, params, macs, other_ops, saved, trainable
                    ),
                    0,
                )
            )
        open_groups = groups
        if depth is None or len(groups) < depth:
            rows.append(("layer", row, position))
    return rows


def render(
    plan: Plan, memory: Memory, stream, columns=DEFAULT_COLUMNS, *, colour: bool = False, depth: int | None = None
) -> None:
    """Print the plan's table and totals to `stream`, in colour only if asked. A spec with blocks
    shows each call as a row with its subtotals, its layers indented under it; `depth` folds
    rows more than that many levels deep into their block's row."""
    console = _Console(file=stream, highlight=False, no_color=not colour, force_terminal=colour, soft_wrap=True)
    columns = list(columns)
    nested = bool(plan.groups)
    graph = any(row.spec.inputs_given for row in plan.layers)
    if "inputs" not in columns and graph and not nested and "type" in columns:
        columns.insert(columns.index("type") + 1, "inputs")  # a graph: show what each layer reads
    if "trainable" not in columns and any(not r.trainable for r in plan.layers):
        columns.append("trainable")
    first = plan.first_linear

    # spec text on one line each (a description may have several), control characters written out
    title = f"{terminal(plan.name)}  (input {fmt_shape(plan.input_shape)})"
    if plan.description:
        title += "\n" + "\n".join(terminal_lines(plan.description))
    # Text, not a str: a spec's name or description is never read as rich markup
    table = Table(
        title=Text(title),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
        collapse_padding=True,
        show_edge=not nested,  # nested tables need the two columns for ResNet-152 in 80
        padding=(0, 1) if not nested else 0,
    )
    entries = _hierarchy(plan, memory, depth) if nested else [("layer", row, i) for i, row in enumerate(plan.layers)]
    rows = []
    for kind, item, position in entries:
        if kind == "group":
            rows.append([_group_cell(key, item, plan, memory) for key in columns])
            continue
        cells = [COLUMNS[key].cell(item, position, plan, memory) for key in columns]
        if nested and "name" in columns:  # indented under its block, by the name it has there
            groups = item.spec.groups
            local = item.name[len(groups[-1].name) + 1 :] if groups else item.name
            cells[columns.index("name")] = "  " * len(groups) + terminal(local)
        if nested and "inputs" in columns and item.spec.groups:
            prefix = item.spec.groups[-1].name + "."
            cells[columns.index("inputs")] = terminal(
                ", ".join(source[len(prefix) :] if source.startswith(prefix) else source for source in item.spec.inputs)
            )
        rows.append(cells)
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
    for (kind, item, _), cells in zip(entries, rows):
        cells = [Text(cell) for cell in cells]  # cells hold spec text: never rich markup or :emoji: codes
        if kind == "group":
            table.add_row(*cells, style="cyan")
            continue
        is_first = first is not None and item.spec.index == first.index
        table.add_row(*cells, style="bold" if is_first else None)
    # wider than the terminal: print it whole and let lines run on, rather than clip numbers
    needed = table.__rich_measure__(console, console.options.update(max_width=10_000)).maximum
    terminal_width = console.width
    console.width = max(terminal_width, needed)
    console.print(table, crop=False)
    if nested:
        console.print()  # the edge a flat table has
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
        note.append(terminal(first.name), style="bold")
        note.append(f", in_features = {first.derivation()}")
        console.print(note)
    console.print(f"Output shape: {fmt_shape(plan.output_shape)}")
    if plan.warnings:
        console.print()
        # a note inside a block is met once per call: print it once, with a count
        by_line: dict[tuple, list] = {}
        for warning in plan.warnings:
            by_line.setdefault((warning.code, warning.loc), []).append(warning)
        for same in by_line.values():
            more = f" (and {len(same) - 1} more calls of this line)" if len(same) > 1 else ""
            console.print(Text(f"{terminal(str(same[0].loc))}: note: {terminal(same[0].message)}{more}"))
