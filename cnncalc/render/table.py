"""The human view: a rich table of layers with totals. The only module that imports rich.

rich draws the table's frame (title, header, rule, edges) and prints what it is given; the rows
are laid out here as the segments rich's Table would make of them (same widths, padding,
justification and styles), since rich measures and wraps every cell twice, which cost about a
millisecond a row, and holds the whole table in memory."""

from __future__ import annotations

from typing import Callable, NamedTuple

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from cnncalc.engine import GroupTotals, LayerResult, Plan
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
    sizes = getattr(row.receptive_field, attribute)  # one per spatial axis
    return str(sizes[0]) if len(set(sizes)) == 1 else "x".join(map(str, sizes))


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
    """A block call's (or list's) row: the plan's subtotals for it, and where it sits."""

    totals: GroupTotals
    local_name: str
    depth: int
    saved: int
    trainable: str

    @property
    def output(self) -> LayerResult | None:  # None: the call passes the network's input on
        return self.totals.output


def _group_cell(key: str, sub: _Subtotal, plan: Plan, memory: Memory) -> str:
    totals = sub.totals
    if key == "name":
        return "  " * sub.depth + terminal(sub.local_name)
    if key == "type":
        return terminal(totals.group.kind)
    if key == "output":
        return fmt_shape(sub.output.output_shape if sub.output is not None else plan.input_shape)
    if key in _GROUP_COUNTS:
        return _GROUP_COUNTS[key](sub, plan)
    if key in ("rf", "rf_stride", "rf_padding"):
        return COLUMNS[key].cell(sub.output, 0, plan, memory) if sub.output is not None else "1"
    if key == "trainable":
        return sub.trainable
    return ""


_GROUP_COUNTS: dict[str, Callable[[_Subtotal, Plan], str]] = {
    "params": lambda sub, plan: f"{sub.totals.params:,}",
    "params_pct": lambda sub, plan: _share(sub.totals.params, plan.totals.params),
    "macs": lambda sub, plan: human_count(sub.totals.macs),
    "macs_pct": lambda sub, plan: _share(sub.totals.macs, plan.totals.macs),
    "other_ops": lambda sub, plan: human_count(sub.totals.other_ops),
    "saved": lambda sub, plan: human_bytes(sub.saved),
}


def _hierarchy(plan: Plan, memory: Memory, depth: int | None) -> list[tuple[str, object, int]]:
    """The table's rows in spec order: ("layer", row, position) and ("group", subtotal, 0) before
    each block call's layers; rows deeper than `depth` levels are folded into their group's."""
    saved = dict(zip(map(id, plan.groups), memory.group_saved_bytes))
    rows: list[tuple[str, object, int]] = []
    open_groups: tuple = ()
    for position, row in enumerate(plan.layers):
        groups = row.spec.groups
        if groups is not open_groups:
            shared = 0
            while shared < min(len(groups), len(open_groups)) and groups[shared] is open_groups[shared]:
                shared += 1
            for level in range(shared, len(groups) if depth is None else min(len(groups), depth)):
                rows.append(("group", _subtotal(plan, groups, level, saved), 0))
            open_groups = groups
        if depth is None or len(groups) < depth:
            rows.append(("layer", row, position))
    return rows


def _subtotal(plan: Plan, groups: tuple, level: int, saved: dict[int, int]) -> _Subtotal:
    group = groups[level]
    totals = plan.totals_of(group)
    parent = groups[level - 1].name + "." if level else ""
    count = group.layer_count
    layers = totals.trainable_layers
    trainable = "yes" if layers == count else "no (frozen)" if not layers else "partly"
    return _Subtotal(totals, group.name[len(parent) :], level, saved.get(id(group), 0), trainable)


def _layer_cells(row: LayerResult, position: int, plan: Plan, memory: Memory, columns: list[str]) -> list[str]:
    cells = [COLUMNS[key].cell(row, position, plan, memory) for key in columns]
    groups = row.spec.groups
    if plan.groups and "name" in columns:  # indented under its block, by the name it has there
        local = row.name[len(groups[-1].name) + 1 :] if groups else row.name
        cells[columns.index("name")] = "  " * len(groups) + terminal(local)
    if plan.groups and "inputs" in columns and groups:
        prefix = groups[-1].name + "."
        cells[columns.index("inputs")] = terminal(
            ", ".join(source[len(prefix) :] if source.startswith(prefix) else source for source in row.spec.inputs)
        )
    return cells


def _rows(plan: Plan, memory: Memory, columns: list[str], depth: int | None) -> list[tuple[list[str], str | None]]:
    """Each row's cells and style: a block call's in cyan, the first linear layer's in bold."""
    entries = (
        _hierarchy(plan, memory, depth) if plan.groups else [("layer", row, i) for i, row in enumerate(plan.layers)]
    )
    first = plan.first_linear
    rows = []
    for kind, item, position in entries:
        if kind == "group":
            rows.append(([_group_cell(key, item, plan, memory) for key in columns], "cyan"))
        else:
            is_first = first is not None and item.spec.index == first.index
            rows.append((_layer_cells(item, position, plan, memory, columns), "bold" if is_first else None))
    return rows


def _shown_columns(plan: Plan, columns) -> list[str]:
    columns = list(columns)
    if "inputs" not in columns and not plan.groups and "type" in columns:
        if any(row.spec.inputs_given for row in plan.layers):  # a graph: show what each layer reads
            columns.insert(columns.index("type") + 1, "inputs")
    if "trainable" not in columns and any(not r.trainable for r in plan.layers):
        columns.append("trainable")
    return columns


class _Frame:
    """Part of the table's frame as rich's Table draws it, holding no rows: `head` is its title,
    top edge, header and the rule under it; else a flat table's bottom edge."""

    def __init__(self, table: Table, head: bool, flat: bool):
        self.table, self.head, self.flat = table, head, flat

    def __rich_console__(self, console, options):
        lines = list(Segment.split_lines(console.render(self.table, options)))
        body = len(lines) - 1 if self.flat else len(lines)  # a flat table's last line is its bottom edge
        for line in lines[:body] if self.head else lines[body:]:
            yield from line
            yield Segment.line()


class _Rows:
    """Rows of the table, as the segments rich's Table makes of them: each cell justified to its
    column's width and padded, in the column's style and the row's, between the frame's edges."""

    def __init__(self, rows, columns: list[str], widths: list[int], flat: bool):
        self.rows, self.columns, self.widths, self.flat = rows, columns, widths, flat

    def __rich_console__(self, console, options):
        last = len(self.columns) - 1
        justify = [COLUMNS[key].justify == "right" for key in self.columns]
        # padding (0, 1) without the outer edges, collapsed: one space after each cell but the last
        pads = [" " if self.flat and i < last else "" for i in range(len(self.columns))]
        styles: dict[str | None, list] = {}  # by row style: each column's style combined with it
        edge, divider, new_line = Segment(" "), Segment(" "), Segment.line()
        for cells, row_style in self.rows:
            if row_style not in styles:
                row = console.get_style(row_style or "")
                styles[row_style] = [console.get_style("dim" if k == "index" else "") + row for k in self.columns]
            if self.flat:
                yield edge
            for i, (cell, width, style) in enumerate(zip(cells, self.widths, styles[row_style])):
                room = " " * (width - cell_len(cell))
                yield Segment(room + cell if justify[i] else cell + room, style)
                if pads[i]:
                    yield Segment(pads[i], style)
                if i < last:
                    yield divider
            if self.flat:
                yield edge
            yield new_line


_ROWS_A_PRINT = 1000  # rows printed at a time: rich holds what one print makes in memory


def _named_shapes(one: str, shapes: dict) -> str:
    """'input [3, 224, 224]' for one unnamed input; 'image [3, 64, 64], t [1]' for named ones."""
    if one and len(shapes) == 1 and one in shapes:
        return f"{one} {fmt_shape(shapes[one])}"
    return ", ".join(f"{terminal(name)} {fmt_shape(shape)}" for name, shape in shapes.items())


def _print_table(console: Console, plan: Plan, columns: list[str], rows) -> None:
    nested = bool(plan.groups)
    # spec text on one line each (a description may have several), control characters written out
    title = f"{terminal(plan.name)}  ({_named_shapes('input', plan.input_shapes)})"
    if plan.convention == "keras":
        title += "  Keras convention: channels last, counted as Keras counts"
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
    widths = []
    for position, key in enumerate(columns):
        column = COLUMNS[key]
        cells = [cells[position] for cells, _ in rows]
        # as wide as the widest cell, counted in characters and in terminal cells
        widest = max([len(column.header), *map(len, cells), *map(cell_len, cells)])
        widths.append(widest)
        table.add_column(
            column.header,
            justify=column.justify,
            style="dim" if key == "index" else None,
            min_width=widest,
            no_wrap=True,
        )
    # wider than the terminal: print it whole and let lines run on, rather than clip numbers
    needed = table.__rich_measure__(console, console.options.update(max_width=10_000)).maximum
    terminal_width = console.width
    console.width = max(terminal_width, needed)
    console.print(_Frame(table, head=True, flat=not nested), crop=False)
    for start in range(0, len(rows), _ROWS_A_PRINT):
        console.print(_Rows(rows[start : start + _ROWS_A_PRINT], columns, widths, flat=not nested), crop=False)
    if not nested:
        console.print(_Frame(table, head=False, flat=True), crop=False)
    if nested:
        console.print()  # the edge a flat table has
    console.width = terminal_width


def render(
    plan: Plan, memory: Memory, stream, columns=DEFAULT_COLUMNS, *, colour: bool = False, depth: int | None = None
) -> None:
    """Print the plan's table and totals to `stream`, in colour only if asked. A spec with blocks
    shows each call as a row with its subtotals, its layers indented under it; `depth` folds
    rows more than that many levels deep into their block's row."""
    console = _Console(file=stream, highlight=False, no_color=not colour, force_terminal=colour, soft_wrap=True)
    columns = _shown_columns(plan, columns)
    _print_table(console, plan, columns, _rows(plan, memory, columns, depth))
    _print_totals(console, plan.totals)
    _print_memory(console, memory)
    first = plan.first_linear
    if first is not None:
        note = Text("First linear layer: ")
        note.append(terminal(first.name), style="bold")
        note.append(f", in_features = {first.derivation()}")
        console.print(note)
    if len(plan.output_shapes) == 1:
        console.print(f"Output shape: {fmt_shape(plan.output_shape)}")
    else:
        console.print(Text(f"Outputs: {_named_shapes('', plan.output_shapes)}"))  # Text: names are never markup
    if plan.warnings:
        console.print()
        _print_notes(console, plan.warnings)


def _print_totals(console: Console, totals) -> None:
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


def _print_memory(console: Console, m: Memory) -> None:
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


def _print_notes(console: Console, warnings) -> None:
    # a note inside a block is met once per call: print it once, with a count
    by_line: dict[tuple, list] = {}
    for warning in warnings:
        by_line.setdefault((warning.code, warning.loc), []).append(warning)
    for same in by_line.values():
        more = f" (and {len(same) - 1} more calls of this line)" if len(same) > 1 else ""
        console.print(Text(f"{terminal(str(same[0].loc))}: note: {terminal(same[0].message)}{more}"))
