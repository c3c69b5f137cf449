"""Padding layers at ranks 1 to 3 (zero, constant, reflection, replication, circular): shapes,
PyTorch's side order and refusals, checked against torch.nn; MACs, saved activations and
receptive fields of small networks, against torch too."""

from __future__ import annotations

import random

import pytest
from layer_cases import check_layer, check_refused
from test_costs import check_field_by_gradients
from torch_reference import measure_macs, measure_saved_bytes, require_torch

from cnncalc.engine import plan
from cnncalc.errors import LayerError
from cnncalc.layers import lookup
from cnncalc.memory import estimate
from cnncalc.spec import parse

CASES = [
    # an int pads every side; a list is (left, right, top, bottom, front, back): the last axis first
    ("zero_pad1d", [16, 100], {"padding": [2, 1]}, [16, 103]),
    ("zero_pad1d", [16, 100], {"padding": -3}, [16, 94]),
    ("zero_pad2d", [3, 32, 32], {"padding": 1}, [3, 34, 34]),
    ("zero_pad2d", [64, 56, 56], {"padding": [0, 1, 0, 1]}, [64, 57, 57]),
    ("zero_pad2d", [8, 5, 7], {"padding": [1, 2, 3, 4]}, [8, 12, 10]),  # height + 3 + 4, width + 1 + 2
    ("zero_pad2d", [8, 10, 10], {"padding": [-1, -1, 2, 0]}, [8, 12, 8]),
    ("zero_pad2d", [8, 4, 4], {"padding": [-4, 1, 0, 0]}, [8, 4, 1]),  # crops the whole width, pads 1
    ("zeropadding2d", [3, 32, 32], {"padding": 2}, [3, 36, 36]),  # Keras's int means the same
    ("zeropadding1d", [3, 10], {"padding": [1, 2]}, [3, 13]),  # Keras's (left, right) too
    ("zero_pad3d", [4, 8, 16, 16], {"padding": [1, 1, 1, 1, 0, 0]}, [4, 8, 18, 18]),
    ("zero_pad3d", [2, 3, 4, 5], {"padding": [1, 0, 2, 0, 3, 0]}, [2, 6, 6, 6]),
    ("constant_pad1d", [16, 100], {"padding": 3, "value": 0.5}, [16, 106]),
    ("constant_pad2d", [3, 32, 32], {"padding": [1, 2, 3, 4], "value": -1.0}, [3, 39, 35]),
    ("constant_pad2d", [3, 8, 8], {"padding": [-2, 0, 0, -3], "value": 1}, [3, 5, 6]),
    ("constant_pad3d", [2, 4, 8, 8], {"padding": 1, "value": 1}, [2, 6, 10, 10]),
    ("reflection_pad1d", [16, 100], {"padding": 3}, [16, 106]),
    ("reflection_pad1d", [2, 4], {"padding": [3, -1]}, [2, 6]),  # each side less than the input
    ("reflection_pad2d", [3, 256, 256], {"padding": 3}, [3, 262, 262]),
    ("reflection_pad2d", [8, 5, 6], {"padding": [5, 0, 4, 1]}, [8, 10, 11]),
    ("reflection_pad3d", [4, 8, 16, 16], {"padding": 1}, [4, 10, 18, 18]),
    ("reflection_pad3d", [1, 2, 3, 4], {"padding": [3, 3, 2, 2, 1, 1]}, [1, 4, 7, 10]),
    ("replication_pad1d", [16, 10], {"padding": [12, 0]}, [16, 22]),  # no limit
    ("replication_pad1d", [2, 4], {"padding": [-3, 5]}, [2, 6]),
    ("replication_pad2d", [3, 32, 32], {"padding": 2}, [3, 36, 36]),
    ("replication_pad2d", [3, 1, 1], {"padding": [0, 5, 7, 0]}, [3, 8, 6]),
    ("replication_pad3d", [4, 8, 16, 16], {"padding": [1, 1, 1, 1, 2, 2]}, [4, 12, 18, 18]),
    ("circular_pad1d", [16, 100], {"padding": 2}, [16, 104]),
    ("circular_pad1d", [2, 4], {"padding": [3, -1]}, [2, 6]),  # wraps the 3 left after cropping 1
    ("circular_pad2d", [3, 4, 4], {"padding": [4, 4, 0, 0]}, [3, 4, 12]),
    ("circular_pad2d", [3, 32, 32], {"padding": 1}, [3, 34, 34]),
    ("circular_pad3d", [4, 8, 16, 16], {"padding": 1}, [4, 10, 18, 18]),
    ("circular_pad3d", [1, 2, 3, 4], {"padding": [4, 0, 3, 0, 2, 0]}, [1, 4, 6, 8]),
]


@pytest.mark.parametrize("type_name, in_shape, cfg, out_shape", CASES, ids=lambda v: str(v).replace(" ", ""))
def test_padding(type_name, in_shape, cfg, out_shape):
    check_layer(type_name, cfg, in_shape, out_shape, 0)


REFUSED = [
    # (type, input, config, message fragment, code, field, PyTorch refuses too)
    (
        "reflection_pad2d",
        [3, 4, 4],
        {"padding": [4, 3, 0, 0]},
        "reflection padding (4, 3) along width must be less than the input width 4",
        "shape.invalid",
        "padding",
        True,
    ),
    (
        "reflection_pad1d",
        [3, 1],
        {"padding": 1},
        "reflection padding (1, 1) along length must be less than the input length 1",
        "shape.invalid",
        "padding",
        True,
    ),
    (
        "reflection_pad3d",
        [3, 2, 5, 5],
        {"padding": [0, 0, 0, 0, 0, 2]},
        "(0, 2) along depth must be less than the input depth 2",
        "shape.invalid",
        "padding",
        True,
    ),
    (
        "circular_pad2d",
        [3, 4, 4],
        {"padding": [0, 0, 5, 0]},
        "circular padding (5, 0) along height wraps around more than once: at most the input height 4",
        "shape.invalid",
        "padding",
        True,
    ),
    (
        "zero_pad2d",
        [3, 4, 4],
        {"padding": [-3, -2, 0, 0]},
        "padding (-3, -2) along width crops 5, more than the input width 4",
        "shape.nonpositive",
        "padding",
        True,
    ),
    (
        "constant_pad1d",
        [3, 4],
        {"padding": [-5, 3], "value": 1.0},  # 4 - 5 + 3 = 2, but torch crops first
        "crops 5, more than the input length 4",
        "shape.nonpositive",
        "padding",
        True,
    ),
    # an output of size 0: torch returns an empty tensor, cnncalc refuses
    (
        "zero_pad2d",
        [3, 4, 4],
        {"padding": [0, 0, -2, -2]},
        "output height would be 0: input height 4 with padding (-2, -2)",
        "shape.nonpositive",
        "padding",
        False,
    ),
    (
        "replication_pad1d",
        [3, 4],
        {"padding": [-5, 0]},
        "output length would be -1",
        "shape.nonpositive",
        "padding",
        True,
    ),
    (
        "reflection_pad1d",
        [3, 4],
        {"padding": [-2, -2]},
        "output length would be 0",
        "shape.nonpositive",
        "padding",
        True,
    ),
    # circular: wider than what is left after cropping (torch copies between overlapping memory)
    (
        "circular_pad1d",
        [1, 2],
        {"padding": [2, -1]},
        "wraps around more than once: at most the 1 left of the input length 2 after cropping 1",
        "shape.invalid",
        "padding",
        True,
    ),
    (
        "circular_pad1d",
        [2, 2],
        {"padding": [-3, 2]},
        "crops 3, more than the input length 2",
        "shape.nonpositive",
        "padding",
        False,
    ),
    # the wrong number of sides, Keras's nested pairs, and a missing value: read as nothing else
    (
        "zero_pad2d",
        [3, 8, 8],
        {"padding": [1, 2]},
        "a list of 4 integers (left, right, top, bottom)",
        "spec.bad-value",
        "padding",
        False,
    ),
    (
        "zeropadding2d",
        [3, 8, 8],
        {"padding": [[1, 1], [2, 2]]},
        "Keras's nested pairs, the first axis first, are written here as one flat list",
        "spec.bad-value",
        "padding",
        False,
    ),
    ("zero_pad3d", [3, 4, 8, 8], {"padding": [1, 1, 1]}, "a list of 6 integers", "spec.bad-value", "padding", False),
    ("constant_pad2d", [3, 8, 8], {"padding": 1}, "missing required field value", "spec.missing-key", None, False),
    (
        "constant_pad2d",
        [3, 8, 8],
        {"padding": 1, "value": "zero"},
        "expected a number",
        "spec.bad-value",
        "value",
        False,
    ),
    # the input's rank: [C, H, W] for the 2-D types
    ("zero_pad2d", [3, 8, 8, 8], {"padding": 1}, "needs a [channels, height, width] input", "shape.rank", None, False),
    ("reflection_pad1d", [3, 8, 8], {"padding": 1}, "needs a [channels, length] input", "shape.rank", None, True),
]


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, fragment, code, at, torch_refuses", REFUSED, ids=lambda v: str(v).replace(" ", "")
)
def test_padding_refused(type_name, in_shape, cfg, fragment, code, at, torch_refuses):
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at, torch_refuses=torch_refuses)


MODES = {"zero": "Zero", "reflection": "Reflection", "replication": "Replication", "circular": "Circular"}


def _both(mode: str, shape: tuple, pads: tuple):
    """(cnncalc's output shape or None if refused, torch's or None), for one padding."""
    torch = require_torch()
    rank = len(shape) - 1
    try:
        ours = lookup(f"{mode}_pad{rank}d").output_shape({"padding": pads}, shape)
    except LayerError:
        ours = None
    try:
        theirs = tuple(getattr(torch.nn, f"{MODES[mode]}Pad{rank}d")(pads)(torch.zeros(1, *shape)).shape[1:])
    except RuntimeError:
        theirs = None
    return ours, theirs


def _check_agrees(mode: str, shape: tuple, pads: tuple) -> None:
    """cnncalc accepts only what torch accepts, with torch's shape, and refuses beyond what torch
    refuses only an output size of 0 and a circular padding wider than what is left after cropping
    (torch then copies between overlapping memory, refused or not depending on the layout)."""
    ours, theirs = _both(mode, shape, pads)
    if ours is not None:
        assert ours == theirs, (mode, shape, pads)
    elif theirs is not None:
        sides = [(pads[2 * i], pads[2 * i + 1]) for i in range(len(pads) // 2)][::-1]  # first axis first
        empty = 0 in theirs[1:]
        # what is left after cropping is too small to wrap around once
        overwrap = mode == "circular" and any(
            max(b, a) > n + min(b, 0) + min(a, 0) for n, (b, a) in zip(shape[1:], sides)
        )
        assert empty or overwrap, (mode, shape, pads, theirs)


@pytest.mark.parametrize("mode", MODES)
def test_every_small_1d_padding_agrees_with_torch(mode):
    for size in range(1, 5):
        for before in range(-6, 7):
            for after in range(-6, 7):
                _check_agrees(mode, (1, size), (before, after))


@pytest.mark.parametrize("mode", MODES)
def test_random_2d_and_3d_paddings_agree_with_torch(mode):
    generator = random.Random(12)
    for _ in range(300):
        shape = (1, *(generator.randint(1, 4) for _ in range(generator.choice((2, 3)))))
        pads = tuple(generator.randint(-5, 5) for _ in range(2 * (len(shape) - 1)))
        _check_agrees(mode, shape, pads)


# No window of a convolution lies wholly in the borders of the pads before it: the gradient probe
# sees those borders as zeros (a zero-padding twin), so such a window would see nothing.
AUDIO = """
input: [2, 30]
layers:
  - reflection_pad1d: [2, 1]
  - conv1d: {out_channels: 4, kernel_size: 3}
  - reflection_pad1d: [1, -1]
  - relu
  - replication_pad1d: 1
  - conv1d: {out_channels: 4, kernel_size: 3, stride: 2}
  - circular_pad1d: [1, -2]
  - zero_pad1d: -1
  - constant_pad1d: {padding: [0, 2], value: 0.5}
  - conv1d: {out_channels: 2, kernel_size: 3}
"""

IMAGE = """
input: [3, 16, 16]
layers:
  - reflection_pad2d: 3
  - conv2d: {out_channels: 8, kernel_size: 7}
  - zero_pad2d: [0, 1, 0, 1]
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2}
  - replication_pad2d: [1, 1, 0, 1]
  - relu
  - circular_pad2d: 1
  - constant_pad2d: {padding: [-1, 0, 1, -1], value: 1.0}
  - conv2d: {out_channels: 4, kernel_size: 3}
  - reflection_pad2d: [1, 0, 0, 1]
  - conv2d: {out_channels: 2, kernel_size: 2}
"""

VOLUME = """
input: [2, 5, 8, 8]
layers:
  - replication_pad3d: 1
  - conv3d: {out_channels: 4, kernel_size: 3}
  - reflection_pad3d: [1, 1, 0, 0, 1, 1]
  - circular_pad3d: [0, 1, 1, 0, 1, 0]
  - zero_pad3d: [0, 0, 0, 0, -1, 0]
  - constant_pad3d: {padding: [0, 0, 0, 0, 0, 1], value: 2}
  - conv3d: {out_channels: 4, kernel_size: 3, stride: [1, 2, 2]}
  - replication_pad3d: [0, 1, 0, 0, 2, 0]
  - conv3d: {out_channels: 2, kernel_size: 3}
"""


# The same without crops: a crop then a pad on the same side puts the new border over input
# pixels the crop dropped, which the field's recurrences count (as rows a stride leaves unread).
UNCROPPED = [
    """
input: [2, 20]
layers:
  - reflection_pad1d: [2, 1]
  - conv1d: {out_channels: 4, kernel_size: 3}
  - replication_pad1d: 2
  - conv1d: {out_channels: 4, kernel_size: 3, stride: 2}
  - circular_pad1d: [0, 1]
  - zero_pad1d: 1
  - conv1d: {out_channels: 2, kernel_size: 3}
""",
    """
input: [3, 12, 12]
layers:
  - reflection_pad2d: 3
  - conv2d: {out_channels: 8, kernel_size: 7}
  - zero_pad2d: [0, 1, 0, 1]
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2}
  - replication_pad2d: [1, 1, 1, 0]
  - circular_pad2d: [0, 1, 1, 0]
  - constant_pad2d: {padding: [0, 0, 0, 1], value: 1.0}
  - conv2d: {out_channels: 2, kernel_size: 3}
""",
    """
input: [2, 5, 8, 8]
layers:
  - replication_pad3d: 1
  - conv3d: {out_channels: 4, kernel_size: 3}
  - reflection_pad3d: [1, 1, 0, 0, 1, 1]
  - circular_pad3d: [0, 1, 1, 0, 1, 0]
  - constant_pad3d: {padding: [0, 0, 0, 0, 0, 1], value: 2}
  - conv3d: {out_channels: 2, kernel_size: 3, stride: [1, 2, 2]}
""",
]
NETWORKS = [AUDIO, IMAGE, VOLUME, *UNCROPPED]
NETWORK_IDS = ["1d", "2d", "3d", "1d-uncropped", "2d-uncropped", "3d-uncropped"]


@pytest.mark.parametrize("text", NETWORKS, ids=NETWORK_IDS)
def test_macs_and_saved_activations_equal_torch(text):
    spec = parse(text, "net.yaml")
    result = plan(spec)
    assert [row.macs for row in result.layers] == measure_macs(spec)
    # zero, constant and circular padding keep nothing; reflection and replication their input
    assert estimate(result, batch_size=2).saved_activations_bytes == measure_saved_bytes(spec, batch_size=2)
    assert all(row.other_ops == 0 for row in result.layers if "_pad" in row.type_name)


@pytest.mark.parametrize("text", NETWORKS, ids=NETWORK_IDS)
def test_receptive_fields_match_gradients(text):
    spec = parse(text, "net.yaml")
    planned = plan(spec)
    rows = planned.layers
    assert not planned.warnings
    exact = text in UNCROPPED  # else the gradients only lie inside the field
    convolutions = [i for i, row in enumerate(rows) if row.type_name.startswith("conv")]
    for last in convolutions:  # a pad's own border is all zeros to the probe, so probe after it
        check_field_by_gradients(spec, rows, last, exact=exact)


def test_padding_moves_the_receptive_field():
    rows = plan(parse(IMAGE, "net.yaml")).layers
    # reflection padding 3 then a 7x7 convolution: a 7x7 field, 3 of it over the border
    assert [(row.receptive_field.size, row.receptive_field.padding) for row in rows[:2]] == [
        ((1, 1), (3, 3)),
        ((7, 7), (3, 3)),
    ]
    # a crop is a negative padding: constant_pad2d's [-1, 0, 1, -1] after a jump of 2
    before, after = rows[6].receptive_field, rows[7].receptive_field
    assert after.size == before.size and after.stride == before.stride == (2, 2)
    assert (after.padding[0] - before.padding[0], after.padding[1] - before.padding[1]) == (1 * 2, -1 * 2)
