"""The spatial families at ranks 1 and 3 (conv1d/3d, the pools, batchnorm1d/3d, dropout1d/3d,
upsample over [C, L] and [C, D, H, W]): shapes, parameters and refusals, checked against
torch.nn; MACs, saved activations and receptive fields of small networks, against torch too."""

from __future__ import annotations

import pytest
from layer_cases import check_layer, check_refused
from torch_reference import measure_macs, measure_saved_bytes

from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.spec import parse

CASES = [
    # conv1d: M5's first layer, 'same' with dilation, grouped, reflect padding
    ("conv1d", [1, 8000], {"out_channels": 32, "kernel_size": 80, "stride": 16}, [32, 496], 2_592),
    ("conv1d", [32, 100], {"out_channels": 64, "kernel_size": 3, "padding": "same", "dilation": 2}, [64, 100], 6_208),
    ("conv1d", [32, 100], {"out_channels": 64, "kernel_size": 4, "padding": "same"}, [64, 100], 8_256),
    ("conv1d", [32, 50], {"out_channels": 32, "kernel_size": [5], "groups": 32, "bias": False}, [32, 46], 160),
    ("conv1d", [4, 9], {"out_channels": 2, "kernel_size": 3, "padding": 4, "padding_mode": "reflect"}, [2, 15], 26),
    # conv3d: r3d_18's stem, R(2+1)D's factorised kernels, stride 2 with padding
    (
        "conv3d",
        [3, 16, 112, 112],
        {"out_channels": 64, "kernel_size": [3, 7, 7], "stride": [1, 2, 2], "padding": [1, 3, 3], "bias": False},
        [64, 16, 56, 56],
        28_224,
    ),
    (
        "conv3d",
        [45, 8, 28, 28],
        {"out_channels": 64, "kernel_size": [3, 1, 1], "padding": [1, 0, 0]},
        [64, 8, 28, 28],
        8_704,
    ),
    (
        "conv3d",
        [64, 8, 28, 28],
        {"out_channels": 128, "kernel_size": 3, "stride": 2, "padding": 1},
        [128, 4, 14, 14],
        221_312,
    ),
    ("conv3d", [8, 6, 7, 8], {"out_channels": 4, "kernel_size": 2, "padding": "same"}, [4, 6, 7, 8], 260),
    ("conv3d", [4, 5, 6, 7], {"out_channels": 4, "kernel_size": [1, 3, 3], "dilation": [1, 2, 2]}, [4, 5, 2, 3], 148),
    # transposed
    (
        "conv_transpose1d",
        [64, 100],
        {"out_channels": 32, "kernel_size": 4, "stride": 2, "padding": 1},
        [32, 200],
        8_224,
    ),
    (
        "conv_transpose1d",
        [8, 10],
        {"out_channels": 4, "kernel_size": 3, "stride": 3, "output_padding": 2},
        [4, 32],
        100,
    ),
    (
        "conv_transpose3d",
        [64, 8, 16, 16],
        {"out_channels": 32, "kernel_size": 2, "stride": 2},
        [32, 16, 32, 32],
        16_416,
    ),
    (
        "conv_transpose3d",
        [8, 3, 4, 5],
        {
            "out_channels": 4,
            "kernel_size": [1, 3, 3],
            "stride": [1, 2, 2],
            "padding": [0, 1, 1],
            "output_padding": [0, 1, 1],
        },
        [4, 3, 8, 10],
        292,
    ),
    # pools
    ("maxpool1d", [32, 496], {"kernel_size": 4}, [32, 124], 0),
    ("maxpool1d", [8, 11], {"kernel_size": 3, "stride": 2, "ceil_mode": True, "dilation": 2}, [8, 4], 0),
    (
        "maxpool3d",
        [64, 16, 56, 56],
        {"kernel_size": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]},
        [64, 16, 28, 28],
        0,
    ),
    ("maxpool3d", [4, 5, 7, 7], {"kernel_size": 2, "ceil_mode": True}, [4, 3, 4, 4], 0),
    ("avgpool1d", [32, 100], {"kernel_size": 3, "stride": 2, "padding": 1}, [32, 50], 0),
    ("avgpool1d", [4, 9], {"kernel_size": 2, "ceil_mode": True, "count_include_pad": False}, [4, 5], 0),
    ("avgpool3d", [16, 8, 32, 32], {"kernel_size": 2}, [16, 4, 16, 16], 0),
    ("avgpool3d", [4, 5, 6, 7], {"kernel_size": [1, 2, 2], "divisor_override": 3}, [4, 5, 3, 3], 0),
    ("adaptive_avgpool1d", [64, 124], {"output_size": 1}, [64, 1], 0),
    ("adaptive_avgpool1d", [8, 10], {"output_size": 4}, [8, 4], 0),
    ("adaptive_avgpool3d", [512, 2, 7, 7], {"output_size": 1}, [512, 1, 1, 1], 0),
    ("adaptive_avgpool3d", [8, 4, 7, 9], {"output_size": [2, None, 3]}, [8, 2, 7, 3], 0),
    ("adaptive_maxpool1d", [64, 100], {"output_size": 8}, [64, 8], 0),
    ("adaptive_maxpool3d", [64, 8, 10, 10], {"output_size": [2, 4, 4]}, [64, 2, 4, 4], 0),
    ("global_avgpool1d", [64, 124], {}, [64], 0),
    ("global_maxpool1d", [64, 124], {"keepdims": True}, [64, 1], 0),
    ("global_avgpool3d", [512, 2, 7, 7], {}, [512], 0),
    ("global_maxpool3d", [64, 4, 7, 7], {"keepdims": True}, [64, 1, 1, 1], 0),
    # norms and dropout
    ("batchnorm1d", [512], {}, [512], 1_024),
    ("batchnorm1d", [32, 496], {"affine": False}, [32, 496], 0),
    ("batchnorm3d", [64, 8, 28, 28], {}, [64, 8, 28, 28], 128),
    ("dropout1d", [64, 100], {"p": 0.2}, [64, 100], 0),
    ("dropout3d", [32, 8, 16, 16], {"p": 0.1}, [32, 8, 16, 16], 0),
    # upsample at every rank
    ("upsample", [16, 50], {"scale_factor": 2, "mode": "linear"}, [16, 100], 0),
    ("upsample", [16, 50], {"size": 75, "mode": "linear", "align_corners": True}, [16, 75], 0),
    ("upsample", [16, 50], {"size": [30], "mode": "area"}, [16, 30], 0),
    ("upsample", [8, 4, 8, 8], {"scale_factor": [1, 2, 2], "mode": "trilinear"}, [8, 4, 16, 16], 0),
    ("upsample", [8, 4, 8, 8], {"scale_factor": 1.5}, [8, 6, 12, 12], 0),
    ("upsample", [8, 4, 8, 8], {"size": [5, 9, 10], "mode": "nearest-exact"}, [8, 5, 9, 10], 0),
]


@pytest.mark.parametrize("type_name, in_shape, cfg, out_shape, params", CASES, ids=lambda v: str(v).replace(" ", ""))
def test_layer_at_rank_1_and_3(type_name, in_shape, cfg, out_shape, params):
    check_layer(type_name, cfg, in_shape, out_shape, params, buffers=None)


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, fragment, code, at",
    [
        (
            "conv1d",
            [3, 5],
            {"out_channels": 2, "kernel_size": 7},
            "kernel length 7 is larger",
            "shape.nonpositive",
            "kernel_size",
        ),
        (
            "conv3d",
            [3, 4, 9, 9],
            {"out_channels": 2, "kernel_size": [5, 3, 3]},
            "kernel depth 5 is larger",
            "shape.nonpositive",
            "kernel_size",
        ),
        (
            "conv3d",
            [3, 8, 8, 8],
            {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": "same", "padding_mode": "circular"},
            "pads with zeros here",
            "shape.invalid",
            "padding_mode",
        ),
        (
            "conv3d",
            [3, 8, 8],
            {"out_channels": 2, "kernel_size": 3},
            "[channels, depth, height, width] input",
            "shape.rank",
            None,
        ),
        ("conv1d", [3, 8, 8], {"out_channels": 2, "kernel_size": 3}, "[channels, length] input", "shape.rank", None),
        (
            "conv1d",
            [6, 9],
            {"out_channels": 4, "kernel_size": 3, "groups": 4},
            "groups=4 does not divide the 6",
            "shape.invalid",
            "groups",
        ),
        (
            "conv_transpose3d",
            [4, 2, 2, 2],
            {"out_channels": 2, "kernel_size": 1, "padding": 1},
            "output depth would be 0",
            "shape.nonpositive",
            "padding",
        ),
        ("maxpool1d", [4, 3], {"kernel_size": 5}, "output length would be 0", "shape.nonpositive", "kernel_size"),
        (
            "maxpool3d",
            [4, 8, 8, 8],
            {"kernel_size": 2, "padding": [0, 2, 0]},
            "padding 2 along height is more than half",
            "shape.invalid",
            "padding",
        ),
        ("avgpool3d", [4, 8], {"kernel_size": 2}, "[channels, depth, height, width]", "shape.rank", None),
        ("batchnorm3d", [4, 8, 8], {}, "[channels, depth, height, width]", "shape.rank", None),
        ("batchnorm1d", [4, 8, 8], {}, "for images use batchnorm2d", "shape.rank", None),
        (
            "batchnorm1d",
            [4, 8],
            {"num_features": 5},
            "num_features is 5 but the input has 4",
            "shape.mismatch",
            "num_features",
        ),
        (
            "upsample",
            [4, 8],
            {"scale_factor": 2, "mode": "bilinear"},
            "mode 'bilinear' interpolates 2 spatial axes",
            "shape.invalid",
            "mode",
        ),
        ("upsample", [4, 8, 8, 8], {"scale_factor": 2, "mode": "bicubic"}, "use trilinear", "shape.invalid", "mode"),
        (
            "upsample",
            [4, 8, 8],
            {"size": [4, 4, 4]},
            "size has 3 values but the input has 2 spatial axes",
            "shape.mismatch",
            "size",
        ),
        (
            "upsample",
            [4, 8],
            {"scale_factor": 2, "align_corners": True},
            "align_corners only applies",
            "shape.invalid",
            "align_corners",
        ),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_refused_at_rank_1_and_3(type_name, in_shape, cfg, fragment, code, at):
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at)


@pytest.mark.parametrize(
    "type_name, cfg, fragment",
    [
        ("conv1d", {"out_channels": 2, "kernel_size": [3, 3]}, "expected an integer >= 1 or [length]"),
        ("conv3d", {"out_channels": 2, "kernel_size": [3, 3]}, "expected an integer >= 1 or [depth, height, width]"),
        ("maxpool3d", {"kernel_size": 2, "padding": [1, 1]}, "expected an integer >= 0 or [depth, height, width]"),
        ("adaptive_avgpool1d", {"output_size": [2, 2]}, "[length] (null keeps the input's size)"),
        ("avgpool1d", {"kernel_size": 2, "divisor_override": 2}, "divisor_override"),
        ("upsample", {"size": []}, "a list of one per spatial axis"),
    ],
)
def test_per_axis_fields_say_the_rank(type_name, cfg, fragment):
    from layer_cases import one_layer_spec

    from cnncalc.errors import SpecError

    with pytest.raises(SpecError) as caught:
        plan(parse(one_layer_spec(type_name, cfg, [4, 8]), "case.yaml"))
    assert fragment in caught.value.diagnostics[0].message


AUDIO = """
input: [1, 1600]
layers:
  - conv1d: {out_channels: 8, kernel_size: 80, stride: 4}
  - batchnorm1d
  - relu
  - maxpool1d: 4
  - conv1d: {out_channels: 16, kernel_size: 3, padding: same, dilation: 2}
  - dropout1d: 0.1
  - avgpool1d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - adaptive_maxpool1d: 5
  - upsample: {scale_factor: 2, mode: linear}
  - conv_transpose1d: {out_channels: 4, kernel_size: 4, stride: 2, padding: 1}
  - global_avgpool1d
  - linear: 3
"""

VOLUME = """
input: [2, 6, 20, 20]
layers:
  - conv3d: {out_channels: 8, kernel_size: [3, 5, 5], stride: [1, 2, 2], padding: [1, 2, 2], bias: false}
  - batchnorm3d
  - relu
  - maxpool3d: {kernel_size: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]}
  - conv3d: {out_channels: 8, kernel_size: 2, padding: same, padding_mode: replicate}
  - dropout3d: 0.2
  - avgpool3d: {kernel_size: 2, ceil_mode: true}
  - conv_transpose3d: {out_channels: 4, kernel_size: 2, stride: 2}
  - upsample: {size: [7, 9, 9], mode: trilinear}
  - adaptive_avgpool3d: [2, 3, 3]
  - adaptive_maxpool3d: 1
  - flatten
  - linear: 3
"""


@pytest.mark.parametrize("text", [AUDIO, VOLUME], ids=["audio", "volume"])
def test_macs_and_saved_activations_equal_torch(text):
    spec = parse(text, "net.yaml")
    result = plan(spec)
    assert [row.macs for row in result.layers] == measure_macs(spec)
    assert estimate(result, batch_size=2).saved_activations_bytes == measure_saved_bytes(spec, batch_size=2)


def test_receptive_fields_per_axis():
    rows = {row.name: row for row in plan(parse(VOLUME, "net.yaml")).layers}
    first = rows["conv3d_1"].receptive_field
    assert (first.size, first.stride, first.padding) == ((3, 5, 5), (1, 2, 2), (1, 2, 2))
    pooled = rows["maxpool3d_1"].receptive_field
    # (kernel - 1) * jump added, jumps multiplied, padding grown by padding * jump
    assert (pooled.size, pooled.stride, pooled.padding) == ((3, 9, 9), (1, 4, 4), (1, 4, 4))
    assert rows["conv_transpose3d_1"].receptive_field is None
    audio = plan(parse(AUDIO, "net.yaml")).layers
    assert (audio[0].receptive_field.size, audio[0].receptive_field.stride) == ((80,), (4,))
    assert audio[3].receptive_field.size == (80 + 3 * 4,)  # maxpool1d 4 after stride 4
