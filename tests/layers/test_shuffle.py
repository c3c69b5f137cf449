"""Pixel shuffle and unshuffle: shapes and refusals against torch.nn; MACs, saved activations and
receptive fields of a small super-resolution network, against torch too."""

from __future__ import annotations

import pytest
from layer_cases import check_layer, check_refused
from test_costs import check_field_by_gradients
from torch_reference import measure_macs, measure_saved_bytes

from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.spec import parse


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, out_shape",
    [
        ("pixel_shuffle", [27, 32, 32], {"upscale_factor": 3}, [3, 96, 96]),  # ESPCN x3
        ("pixel_shuffle", [256, 24, 24], {"upscale_factor": 2}, [64, 48, 48]),
        ("pixel_shuffle", [5, 3, 7], {"upscale_factor": 1}, [5, 3, 7]),
        ("pixelshuffle", [32, 1, 2], {"upscale_factor": 4}, [2, 4, 8]),
        ("pixel_unshuffle", [3, 64, 64], {"downscale_factor": 2}, [12, 32, 32]),
        ("pixel_unshuffle", [2, 6, 9], {"downscale_factor": 3}, [18, 2, 3]),
        ("pixel_unshuffle", [2, 5, 7], {"downscale_factor": 1}, [2, 5, 7]),
        ("pixelunshuffle", [1, 4, 4], {"downscale_factor": 4}, [16, 1, 1]),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_shuffle(type_name, in_shape, cfg, out_shape):
    check_layer(type_name, cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, fragment, code, at, torch_refuses",
    [
        (
            "pixel_shuffle",
            [6, 3, 3],
            {"upscale_factor": 2},
            "upscale_factor 2 needs the input channels to be a multiple of 2² = 4, but the input has 6",
            "shape.invalid",
            "upscale_factor",
            True,
        ),
        (
            "pixel_unshuffle",
            [2, 5, 4],
            {"downscale_factor": 2},
            "downscale_factor 2 does not divide the input height 5",
            "shape.invalid",
            "downscale_factor",
            True,
        ),
        (
            "pixel_unshuffle",
            [2, 4, 5],
            {"downscale_factor": 2},
            "downscale_factor 2 does not divide the input width 5",
            "shape.invalid",
            "downscale_factor",
            True,
        ),
        (
            "pixel_shuffle",
            [4, 2, 2],
            {"upscale_factor": 0},
            "an integer >= 1",
            "spec.bad-value",
            "upscale_factor",
            False,
        ),
        ("pixel_shuffle", [4, 2, 2], {}, "missing required field upscale_factor", "spec.missing-key", None, False),
        # torch takes [..., C, H, W]; a spec's pixel shuffle takes an image, [C, H, W]
        (
            "pixel_shuffle",
            [4, 8],
            {"upscale_factor": 2},
            "needs a [channels, height, width] input",
            "shape.rank",
            None,
            True,
        ),
        (
            "pixel_unshuffle",
            [4, 2, 8, 8],
            {"downscale_factor": 2},
            "needs a [channels, height, width]",
            "shape.rank",
            None,
            False,
        ),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_shuffle_refused(type_name, in_shape, cfg, fragment, code, at, torch_refuses):
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at, torch_refuses=torch_refuses)


# ESPCN's shape (x3), then an unshuffle back down and a convolution over the blocks
NETWORK = """
input: [1, 12, 12]
layers:
  - pixel_unshuffle: 2
  - conv2d: {out_channels: 16, kernel_size: 5, padding: 2}
  - tanh
  - conv2d: {out_channels: 9, kernel_size: 3, padding: 1}
  - pixel_shuffle: 3
  - pixel_unshuffle: 2
  - conv2d: {out_channels: 4, kernel_size: 1}
"""


def test_macs_and_saved_activations_equal_torch():
    spec = parse(NETWORK, "net.yaml")
    result = plan(spec)
    assert [row.macs for row in result.layers] == measure_macs(spec)
    # neither keeps anything for backward: the next convolution keeps their output
    assert estimate(result, batch_size=2).saved_activations_bytes == measure_saved_bytes(spec, batch_size=2)
    assert [row.other_ops for row in result.layers if "shuffle" in row.type_name] == [0, 0, 0]


def test_receptive_fields():
    spec = parse(NETWORK, "net.yaml")
    rows = plan(spec).layers
    # pixel_unshuffle: an output position holds its 2x2 block, a window of 2 with stride 2
    first = rows[0].receptive_field
    assert (first.size, first.stride, first.padding) == ((2, 2), (2, 2), (0, 0))
    conv = rows[1].receptive_field
    assert (conv.size, conv.stride, conv.padding) == ((10, 10), (2, 2), (4, 4))
    for last in (0, 1, 3):
        check_field_by_gradients(spec, rows, last)
    # pixel_shuffle: r neighbouring outputs copy one input position, so the field ends
    assert [row.receptive_field for row in rows[4:]] == [None, None, None]
