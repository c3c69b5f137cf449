"""The table's hierarchy view for specs with blocks, `--depth`, and the JSON `blocks` list."""

from __future__ import annotations

import json

import pytest
from clirun import runner

from cnncalc.cli import cli


def _plan(*args: str) -> str:
    result = runner().invoke(cli, ["plan", *args], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _table(text: str) -> list[str]:
    """The table's body rows: from under the header rule to the blank line after."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"}) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start:end]


def test_resnet152_reads_in_80_columns():
    out = _plan("architectures/resnet152.yaml")
    rows = _table(out)
    assert max(len(line) for line in out.splitlines()[: len(rows) + 4]) <= 80
    # every layer once, numbered, and a row for each block call and repetition
    numbered = [line for line in rows if line[:4].strip().isdigit()]
    assert len(numbered) == 515
    assert any(line.split()[:3] == ["layer3", "bottleneck", "x36"] for line in rows)


def test_block_rows_carry_subtotals_and_children_are_indented():
    rows = _table(_plan("architectures/resnet18.yaml"))
    layer2 = next(line for line in rows if line.split()[:1] == ["layer2"])
    # layer2 of ResNet-18: 230,144 + 295,424 parameters; output [128, 28, 28]
    assert "[128, 28, 28]" in layer2 and "525,568" in layer2
    position = rows.index(layer2)
    assert rows[position + 1].split()[0] == "0" and rows[position + 1].index("0") > layer2.index("layer2")
    conv1 = rows[position + 2]
    assert conv1.split()[1] == "conv1" and conv1.index("conv1") > rows[position + 1].index("0")


@pytest.mark.parametrize(
    "depth, present, absent",
    [
        (1, ["layer1", "fc"], ["conv2", "downsample"]),
        (2, ["layer1", "bottleneck"], ["conv2"]),
        (3, ["conv2", "downsample"], []),
    ],
)
def test_depth_folds_deeper_rows_into_their_block(depth, present, absent):
    rows = _table(_plan("architectures/resnet50.yaml", "--depth", str(depth)))
    words = {word for line in rows for word in line.split()}
    assert set(present) <= words
    assert not set(absent) & words
    # the totals never change with the view
    full, folded = _plan("architectures/resnet50.yaml"), _plan("architectures/resnet50.yaml", "--depth", str(depth))
    assert full.split("Total params:")[1] == folded.split("Total params:")[1]


def test_flat_spec_table_has_no_block_rows():
    rows = _table(_plan("architectures/alexnet.yaml"))
    assert all(line[:4].strip().isdigit() for line in rows)


def test_json_keeps_one_row_per_layer_and_lists_blocks():
    document = json.loads(_plan("architectures/resnet18.yaml", "--format", "json"))
    assert len(document["layers"]) == 69
    by_name = {layer["name"]: layer for layer in document["layers"]}
    assert by_name["layer2.0.downsample.0"]["block"] == "layer2.0.downsample"
    assert by_name["conv1"]["block"] is None
    blocks = {block["name"]: block for block in document["blocks"]}
    assert blocks["layer2"] == {
        "name": "layer2",
        "block": "basic_block",
        "repeat": 2,
        "parent": None,
        "layers": 16,
        "output": "layer2.1.relu_2",
        "output_shape": [128, 28, 28],
        "params": 525_568,
        "macs": sum(by_name[n]["macs"] for n in by_name if n.startswith("layer2.")),
    }
    assert blocks["layer2.0.downsample"]["parent"] == "layer2.0"
    assert (
        sum(block["params"] for block in document["blocks"] if block["parent"] is None)
        + sum(layer["params"] for layer in document["layers"] if layer["block"] is None)
        == document["totals"]["params"]
    )
