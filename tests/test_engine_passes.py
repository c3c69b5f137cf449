"""The engine's passes (issue 11): group subtotals computed once in the plan and used by every
renderer, the first linear layer found by a layer-type property, hazard and memory walks that
do work linear in the layers, and the fast JSON and table output that must match the slow one.

Work is counted (calls made), never timed."""

from __future__ import annotations

import dataclasses
import gc
import io
import json
from pathlib import Path

import pytest
from rich import box
from rich.table import Table
from rich.text import Text

from cnncalc.engine import GroupTotals, plan
from cnncalc.layers import LAYER_TYPES, lookup
from cnncalc.memory import estimate
from cnncalc.render import json as json_render
from cnncalc.render import table as table_render
from cnncalc.spec import load_file, parse

ROOT = Path(__file__).resolve().parent.parent

NESTED = """\
input: [3, 16, 16]
blocks:
  unit:
    args: [c]
    layers:
      - {conv2d: {out_channels: c, kernel_size: 3, padding: 1}, trainable: false}
      - batchnorm2d
      - {type: relu, inplace: true}
  stage:
    args: [c]
    layers:
      - {type: unit, c: c, repeat: 2}
      - sequential: [{conv2d: {out_channels: c, kernel_size: 1}}, {sequential: [relu, sigmoid]}]
layers:
  - {type: stage, name: s1, c: 4}
  - {type: stage, name: s2, c: 8, repeat: 3}
  - maxpool2d: 2
  - flatten
  - linear: 10
"""


def _planned(source: str):
    result = plan(
        load_file(str(ROOT / "architectures" / source)) if source.endswith(".yaml") else parse(source, "n.yaml")
    )
    return result, estimate(result, batch_size=4)


def _id(source: str) -> str:
    return source if source.endswith(".yaml") else "nested"


SPECS = ["resnet18.yaml", "resnet50.yaml", "densenet121.yaml", "inception_v3.yaml", "efficientnet_b0.yaml", NESTED]


# ---- group subtotals ------------------------------------------------------------------------


@pytest.mark.parametrize("source", SPECS, ids=_id)
def test_group_subtotals_are_the_sums_of_their_layers(source):
    planned, memory = _planned(source)
    assert planned.groups and len(planned.group_totals) == len(planned.groups)
    for group, totals in zip(planned.groups, planned.group_totals):
        inside = [i for i, row in enumerate(planned.layers) if any(g is group for g in row.spec.groups)]
        rows = [planned.layers[i] for i in inside]
        assert totals.group is group and planned.totals_of(group) is totals
        assert (totals.first, totals.stop) == (inside[0], inside[-1] + 1)  # consecutive
        assert totals.layers == len(rows) == group.layer_count
        assert totals.params == sum(r.params for r in rows)
        assert totals.trainable_params == sum(r.trainable_params for r in rows)
        assert totals.trainable_layers == sum(1 for r in rows if r.trainable)
        assert totals.buffers == sum(r.buffers for r in rows)
        assert totals.macs == sum(r.macs for r in rows)
        assert totals.other_ops == sum(r.other_ops for r in rows)
        chain = rows[0].spec.groups
        level = next(k for k, g in enumerate(chain) if g is group)
        assert totals.parent is (chain[level - 1] if level else None)
        assert totals.output is next((r for r in planned.layers if r.name == group.output), None)
        saved = memory.group_saved_bytes[planned.groups.index(group)]
        assert saved == sum(memory.layer_saved_bytes[i] for i in inside)


def test_a_spec_without_blocks_has_no_subtotals():
    planned, memory = _planned("alexnet.yaml")
    assert planned.group_totals == () and memory.group_saved_bytes == ()


def _with_fake_subtotals(planned):
    """The plan with each group's subtotals replaced by numbers no layer adds up to."""
    fake = tuple(
        totals._replace(params=1_000_001 + k, macs=2_000_003 + k, other_ops=3_000_005 + k)
        for k, totals in enumerate(planned.group_totals)
    )
    return dataclasses.replace(planned, group_totals=fake)


def test_the_json_blocks_show_the_plans_subtotals():
    planned, memory = _planned("resnet18.yaml")
    faked = _with_fake_subtotals(planned)
    blocks = json_render.plan_document(faked, memory)["blocks"]
    assert [b["params"] for b in blocks] == [t.params for t in faked.group_totals]
    assert [b["macs"] for b in blocks] == [t.macs for t in faked.group_totals]
    assert json.loads(json_render.plan_json(faked, memory))["blocks"] == blocks


def test_the_table_shows_the_plans_subtotals():
    planned, memory = _planned("resnet18.yaml")
    faked = _with_fake_subtotals(planned)
    out = io.StringIO()
    table_render.render(faked, memory, out, ["name", "params", "other_ops"])
    layer2 = next(line for line in out.getvalue().splitlines() if line.split()[:1] == ["layer2"])
    totals = faked.totals_of(next(g for g in faked.groups if g.name == "layer2"))
    assert f"{totals.params:,}" in layer2 and "3.00M" in layer2


# ---- the first linear layer -------------------------------------------------------------------


def test_only_the_linear_type_is_fully_connected():
    assert [t.type_name for t in LAYER_TYPES if t.fully_connected] == ["linear"]


HEAD = "input: [3, 8, 8]\nlayers:\n  - {conv2d: {out_channels: 4, kernel_size: 3}}\n  - flatten\n  - linear: 10\n"


def test_first_linear_is_found_by_the_property_not_the_name(monkeypatch):
    assert plan(parse(HEAD, "h.yaml")).first_linear.name == "linear_1"
    linear = type(lookup("linear"))
    monkeypatch.setattr(linear, "fully_connected", False)
    assert plan(parse(HEAD, "h.yaml")).first_linear is None
    # any type that says it is fully connected is the head, whatever its name
    monkeypatch.setattr(type(lookup("relu")), "fully_connected", True)
    first = plan(parse(HEAD.replace("linear: 10", "relu"), "h.yaml")).first_linear
    assert (first.name, first.in_features, first.flattened_shape, first.flattened_by) == (
        "relu_1",
        144,
        (4, 6, 6),
        "flatten_1",
    )


def test_first_linear_is_the_first_in_the_spec_not_in_planning_order():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - {type: flatten, name: f}\n"
        "  - {type: linear, name: late, out_features: 4, inputs: g}\n"
        "  - {type: global_avgpool2d, name: g, inputs: input}\n  - {type: flatten, name: h, inputs: g}\n"
        "  - {type: linear, name: early, out_features: 4, inputs: f}\n  - {type: add, inputs: [late, early]}\n"
    )
    planned = plan(parse(text, "o.yaml"))
    assert planned.first_linear.name == "late"  # written before `early`, planned after it


# ---- work done: linear walks ------------------------------------------------------------------


@pytest.fixture
def calls(monkeypatch):
    """How often the relu type was asked what it saves and whether its output aliases its input."""
    counted = {"saved": 0, "aliases": 0}
    relu = type(lookup("relu"))
    saved, aliases = relu.saved_for_backward_of, relu.output_aliases_input

    def count_saved(self, *arguments):
        counted["saved"] += 1
        return saved(self, *arguments)

    def count_aliases(self, *arguments, **keywords):
        counted["aliases"] += 1
        return aliases(self, *arguments, **keywords)

    monkeypatch.setattr(relu, "saved_for_backward_of", count_saved)
    monkeypatch.setattr(relu, "output_aliases_input", count_aliases)
    return counted


def test_a_spec_with_nothing_in_place_skips_the_hazard_walk(calls):
    planned = plan(parse("input: [1, 4, 4]\nlayers:\n" + "  - relu\n" * 3000, "p.yaml"))
    assert len(planned.layers) == 3000
    assert calls == {"saved": 0, "aliases": 0}


def test_the_hazard_walk_asks_each_layer_once(calls):
    n = 3000
    text = "input: [1, 4, 4]\nlayers:\n" + "  - {type: relu, inplace: true}\n  - sigmoid\n" * (n // 2)
    planned = plan(parse(text, "h.yaml"))
    assert len([w for w in planned.warnings if w.code == "note.in-place"]) == n // 2 - 1
    assert calls["aliases"] <= n // 2 and calls["saved"] <= n // 2, calls  # the relus, once each


def test_the_memory_walks_ask_each_layer_at_most_twice(calls):
    planned = plan(parse("input: [1, 4, 4]\nlayers:\n" + "  - relu\n" * 3000, "p.yaml"))
    memory = estimate(planned)
    assert calls["saved"] == 3000 and calls["aliases"] == 2 * 3000  # inference and training
    assert memory.inference_peak_bytes == 2 * 16 * 4  # one input and one output alive at a time


def test_every_tensor_is_read_by_its_last_reader():
    planned = plan(parse(NESTED, "n.yaml"))
    step = {planned.layers[p].name: s for s, p in enumerate(planned.order)}
    for name, last in planned.last_read.items():
        readers = [step[row.name] for row in planned.layers if name in row.spec.inputs]
        assert last == max(readers)
    unread = {row.name for row in planned.layers[:-1]} - set(planned.last_read)
    assert unread == {w.message.split("'")[1] for w in planned.warnings if w.code == "note.unread"}


def test_planning_leaves_the_collector_as_it_found_it():
    text = "input: [1, 4, 4]\nlayers: [relu]\n"
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            planned = plan(parse(text, "g.yaml"))
            json_render.plan_json(planned, estimate(planned))
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


# ---- fast output, checked against the slow ----------------------------------------------------


@pytest.mark.parametrize("source", [*SPECS, "alexnet.yaml", "lenet5.yaml", "unet.yaml"], ids=_id)
def test_plan_json_is_dumps_of_the_document(source):
    planned, memory = _planned(source)
    document = json_render.plan_document(planned, memory)
    text = json_render.plan_json(planned, memory)
    assert text == json_render.dumps(document)
    assert json.loads(text) == document
    stream = io.StringIO()
    json_render.write_plan_json(planned, memory, stream)
    assert stream.getvalue() == text + "\n"
    # one layer a line, each line a whole layer
    lines = text.splitlines()
    start = lines.index('  "layers": [') + 1
    assert [json.loads(line.strip().rstrip(",")) for line in lines[start : start + len(planned.layers)]] == document[
        "layers"
    ]


def test_dumps_reads_back_as_written():
    document = {
        "a": [],
        "b": {},
        "c": {"x": [1, 2], "y": None, "z": "\u202e\n"},
        "d": [{"k": (1, 2)}, [3]],
        "e": [1.5, True],
        "f": "é",
    }
    text = json_render.dumps(document)
    assert json.loads(text) == json.loads(json.dumps(document))
    assert '  "a": [],\n  "b": {},\n  "c": {\n    "x": [1, 2],\n' in text
    assert '  "d": [\n    {"k": [1, 2]},\n    [3]\n  ],\n  "e": [1.5, true],\n  "f": "\\u00e9"\n}' in text
    assert json_render.dumps({}) == "{}"


def _rich_table(planned, memory, columns, depth, colour: bool) -> str:
    """The table as rich's Table draws it with every row added to it: what render printed before
    it laid the rows out itself."""
    stream = io.StringIO()
    console = table_render._Console(
        file=stream, highlight=False, no_color=not colour, force_terminal=colour, soft_wrap=True
    )
    columns = table_render._shown_columns(planned, columns)
    rows = table_render._rows(planned, memory, columns, depth)
    nested = bool(planned.groups)
    title = f"{planned.name}  (input [{', '.join(map(str, planned.input_shape))}])"
    if planned.description:
        title += "\n" + planned.description
    table = Table(
        title=Text(title),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
        collapse_padding=True,
        show_edge=not nested,
        padding=(0, 1) if not nested else 0,
    )
    for position, key in enumerate(columns):
        column = table_render.COLUMNS[key]
        widest = max([len(column.header), *(len(cells[position]) for cells, _ in rows)])
        table.add_column(
            column.header,
            justify=column.justify,
            style="dim" if key == "index" else None,
            min_width=widest,
            no_wrap=True,
        )
    for cells, style in rows:
        table.add_row(*(Text(cell) for cell in cells), style=style)
    needed = table.__rich_measure__(console, console.options.update(max_width=10_000)).maximum
    console.width = max(console.width, needed)
    console.print(table, crop=False)
    return stream.getvalue()


@pytest.mark.parametrize("source", ["lenet5.yaml", "resnet18.yaml", "densenet121.yaml", NESTED], ids=_id)
@pytest.mark.parametrize("colour", [False, True])
def test_the_table_is_what_richs_table_draws(source, colour):
    planned, memory = _planned(source)
    for columns, depth in [(table_render.DEFAULT_COLUMNS, None), (list(table_render.COLUMNS), 2)]:
        stream = io.StringIO()
        table_render.render(planned, memory, stream, columns, colour=colour, depth=depth)
        expected = _rich_table(planned, memory, columns, depth, colour)
        assert stream.getvalue().startswith(expected)


def test_group_totals_is_a_named_tuple_of_counts():
    assert GroupTotals._fields[:5] == ("group", "parent", "output", "first", "stop")


# ---- diagnostics: each text's lines found once --------------------------------------------------


def test_line_spans_find_the_lines_source_line_finds():
    import random

    from cnncalc.render.text import _LineFinder, source_line

    rng = random.Random(11)
    pieces = ["a", "b c", "\n", "\r", "\r\n", "\x85", "\u2028", "\x0b", "\x0c"]
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        finder = _LineFinder(rng.randint(0, 10))
        assert [finder(text, n) for n in range(-1, 14)] == [source_line(text, n) for n in range(-1, 14)], repr(text)


def test_many_diagnostics_at_the_end_of_a_long_file_scan_it_once(monkeypatch):
    from cnncalc.errors import Diagnostic, Loc
    from cnncalc.render import text as text_render

    lines = 20_000
    source = "x: 1\n" * lines
    diagnostics = [Diagnostic("spec.bad-value", "bad", Loc("s.yaml", lines - k, 1)) for k in range(100)]
    pattern, seen = text_render._LINE_BREAK, []

    class Counted:  # the line-break pattern, counting the breaks it is asked to find
        def finditer(self, string, *arguments):
            for found in pattern.finditer(string, *arguments):
                seen.append(1)
                yield found

        def search(self, string, *arguments):
            seen.append(1)
            return pattern.search(string, *arguments)

    monkeypatch.setattr(text_render, "_LINE_BREAK", Counted())
    out = text_render.format_diagnostics(diagnostics, source)
    assert out.count("^") == 100 and f"{lines:>5} | x: 1" in out
    assert len(seen) <= lines + 2, len(seen)  # once through, not once per diagnostic (2,000,000)


def test_a_table_printed_in_several_parts_is_what_richs_table_draws():
    rows = table_render._ROWS_A_PRINT + 200
    planned = plan(parse("input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * rows, "rows.yaml"))
    memory = estimate(planned)
    stream = io.StringIO()
    table_render.render(planned, memory, stream)
    assert stream.getvalue().startswith(_rich_table(planned, memory, table_render.DEFAULT_COLUMNS, None, False))
