"""Notes on valid specs: pixels a strided layer never reads, uneven 'same' padding, in-place hazards."""

from __future__ import annotations

import json

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.spec import parse


def _notes(layers: str, input_shape: str = "[3, 25, 25]") -> list[str]:
    return [w.message for w in plan(parse(f"input: {input_shape}\nlayers:\n{layers}", "n.yaml")).warnings]


@pytest.mark.parametrize(
    "layers, expected",
    [
        # the chapter's second pool: 25 -> 12, and pixel 24 is never read
        (
            "  - maxpool2d: 2\n",
            "layer 'maxpool2d_1' (maxpool2d): the last input row and column are never read: "
            "(25 + 0 - 2) / 2 is not whole; ceil_mode: true would read them",
        ),
        (
            "  - conv2d: {out_channels: 4, kernel_size: [2, 1], stride: [2, 1]}\n",
            "layer 'conv2d_1' (conv2d): the last input row is never read: (25 + 0 - 2) / 2 is not whole",
        ),
        (
            "  - conv2d: {out_channels: 4, kernel_size: [3, 3], stride: [4, 1], padding: [0, 1]}\n",
            "layer 'conv2d_1' (conv2d): only 18 of 25 input rows are read: the stride 4 jumps over pixels",
        ),
        (
            "  - conv2d: {out_channels: 4, kernel_size: 4, padding: same}\n",
            "layer 'conv2d_1' (conv2d): padding 'same' pads 1 before and 2 after along height; "
            "1 before and 2 after along width, as PyTorch does",
        ),
    ],
)
def test_layer_notes(layers, expected):
    assert _notes(layers) == [expected]


@pytest.mark.parametrize(
    "layers",
    [
        "  - maxpool2d: {kernel_size: 2, ceil_mode: true}\n",  # reads the last pixel
        "  - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}\n",  # only padding unread
        "  - conv2d: {out_channels: 4, kernel_size: 5}\n",
    ],
)
def test_no_note_when_every_pixel_is_read(layers):
    assert _notes(layers) == []


@pytest.mark.parametrize(
    "layers, size, expected",
    [
        # ResNet's 1x1 stride-2 shortcut reads every other row and column
        ("  - conv2d: {out_channels: 4, kernel_size: 1, stride: 2}\n", 56, "only 28 of 56 input rows and 28 of 56"),
        # ceil_mode would not help a 1x1 pool with stride 3: nothing about ceil_mode
        ("  - maxpool2d: {kernel_size: 1, stride: 3}\n", 5, "only 2 of 5 input rows and 2 of 5 input columns are read"),
        ("  - maxpool2d: {kernel_size: 2, stride: 2, dilation: 2}\n", 8, "only 4 of 8 input rows"),
    ],
)
def test_gaps_between_windows(layers, size, expected):
    (note,) = _notes(layers, f"[3, {size}, {size}]")
    assert expected in note and "ceil_mode" not in note


@pytest.mark.parametrize("layers", ["  - maxpool2d: 2\n"])
def test_even_sizes_have_no_note(layers):
    assert _notes(layers, "[3, 56, 56]") == []


def test_in_place_layer_whose_input_is_read_elsewhere():
    layers = (
        "  - {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n"
        "  - {type: relu, name: r, inplace: true}\n"
        "  - {type: add, name: s, inputs: [r, c]}\n"
    )
    (note,) = _notes(layers)
    assert note.startswith("layer 'r' (relu) overwrites 'c' in place: 's' reads it later and sees the new values")
    assert _notes(layers.replace("inplace: true", "inplace: false")) == []


@pytest.mark.parametrize(
    "layers, expected",
    [
        # through a view: identity passes the same storage on
        (
            "  - {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n  - identity\n"
            "  - {type: relu, inplace: true}\n  - {type: sigmoid, inputs: c}\n",
            "'sigmoid_1' reads it later",
        ),
        # sigmoid keeps its output for backward; overwriting it breaks training
        (
            "  - {type: conv2d, out_channels: 3, kernel_size: 1}\n  - sigmoid\n  - {type: relu, inplace: true}\n",
            "'sigmoid_1' saved it for backward, so training fails",
        ),
        # a reader that already ran is not affected, and conv -> bn -> relu in place is the usual idiom
        (
            "  - {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n  - {type: add, name: s, inputs: [c, input]}\n"
            "  - {type: relu, name: r, inplace: true, inputs: c}\n  - {type: add, inputs: [r, s]}\n"
            "  - {type: conv2d, out_channels: 3, kernel_size: 1}\n  - batchnorm2d\n  - {type: relu, inplace: true}\n",
            None,
        ),
    ],
)
def test_in_place_hazards(layers, expected):
    notes = [note for note in _notes(layers, "[3, 8, 8]") if "in place" in note]
    if expected is None:
        assert notes == []
    else:
        (note,) = notes
        assert expected in note


def test_notes_in_table_and_json(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [3, 25, 25]\nlayers:\n  - maxpool2d: 2\n")
    table = runner().invoke(cli, ["plan", str(spec)]).stdout
    assert f"{spec}:3:16: note: layer 'maxpool2d_1' (maxpool2d): the last input row and column" in table
    document = json.loads(runner().invoke(cli, ["plan", str(spec), "--format", "json"]).stdout)
    (warning,) = document["warnings"]
    assert (warning["code"], warning["line"], warning["column"], warning["severity"]) == (
        "note.layer",
        3,
        16,
        "warning",
    )
