"""The normalisations against torch.nn: batch norm and local response norm; group, instance and
frozen batch norm and F.normalize at every rank, with their MACs, saved activations and
receptive fields (issue 12)."""

import pytest
from layer_cases import check_layer, check_refused
from test_costs import _exported, check_field_by_gradients
from torch_reference import (
    build_sequential,
    measure_macs,
    measure_saved_bytes,
    measure_saved_bytes_of,
    require_torch,
)

from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.spec import parse
from cnncalc.verify import verify


@pytest.mark.parametrize(
    "cfg, params, buffers",
    [
        ({}, 128, 129),  # weight + bias; running mean + var + num_batches_tracked
        ({"affine": False}, 0, 129),
        ({"track_running_stats": False}, 128, 0),
        ({"eps": 0.001, "momentum": 0.01}, 128, 129),
        ({"num_features": 64}, 128, 129),
    ],
)
def test_batchnorm2d(cfg, params, buffers):
    check_layer("batchnorm2d", cfg, [64, 56, 56], [64, 56, 56], params, buffers)


def test_batchnorm2d_num_features_disagrees():
    check_refused(
        "batchnorm2d",
        {"num_features": 32},
        [64, 8, 8],
        "num_features is 32 but the input has 64 channels",
        code="shape.mismatch",
        at="num_features",
    )


@pytest.mark.parametrize("in_shape", [[96, 55, 55], [16, 7]])
def test_local_response_norm(in_shape):
    check_layer("local_response_norm", {"size": 5, "alpha": 0.0001, "beta": 0.75, "k": 2}, in_shape, in_shape, 0)


def test_local_response_norm_needs_two_axes():
    check_refused(
        "local_response_norm",
        {"size": 2},
        [16],
        "needs channels and at least one more axis",
        code="shape.invalid",
        at=None,
    )


def test_batchnorm2d_cumulative_momentum_and_exponent_floats():
    # momentum: null is torch's cumulative average; YAML 1.1 reads 1e-3 as a string, cnncalc as a number
    check_layer("batchnorm2d", {"momentum": None, "eps": "1e-3"}, [8, 4, 4], [8, 4, 4], 16, 17)


# Group, instance and frozen batch norm and F.normalize (issue 12): (type, input, config, params, buffers)
NEWER_NORMS = [
    # groupnorm: any input [C, ...]; 2*C parameters when affine, no buffers
    ("groupnorm", [64, 56, 56], {"num_groups": 32}, 128, 0),
    ("groupnorm", [64, 56, 56], {"num_groups": 1, "eps": 1.0e-6}, 128, 0),
    ("groupnorm", [64, 56, 56], {"num_groups": 64, "affine": False}, 0, 0),
    ("groupnorm", [64, 56, 56], {"num_groups": 8, "num_channels": 64}, 128, 0),
    ("groupnorm", [64, 100], {"groups": 4}, 128, 0),  # Keras's GroupNormalization calls it groups
    ("groupnorm", [12], {"num_groups": 3}, 24, 0),
    ("groupnorm", [16, 4, 6, 6], {"num_groups": 2}, 32, 0),
    # instancenorm1d/2d/3d: no affine and no running statistics unless asked for
    ("instancenorm1d", [64, 100], {}, 0, 0),
    ("instancenorm1d", [64, 2], {"affine": True}, 128, 0),
    ("instancenorm2d", [64, 32, 32], {}, 0, 0),
    ("instancenorm2d", [64, 32, 32], {"affine": True}, 128, 0),
    ("instancenorm2d", [64, 32, 32], {"track_running_stats": True}, 0, 129),  # mean, var, num_batches_tracked
    ("instancenorm2d", [64, 1, 2], {"affine": True, "track_running_stats": True, "momentum": None}, 128, 129),
    ("instancenorm2d", [64, 32, 32], {"num_features": 64, "eps": 0.001}, 0, 0),
    ("instancenorm3d", [32, 4, 8, 8], {}, 0, 0),
    ("instancenorm3d", [32, 4, 8, 8], {"affine": True, "track_running_stats": True}, 64, 65),
    # frozen_batchnorm2d: weight, bias, running mean and variance are all buffers
    ("frozen_batchnorm2d", [256, 14, 14], {}, 0, 1024),
    ("frozen_batchnorm2d", [256, 14, 14], {"num_features": 256, "eps": 0.001}, 0, 1024),
    # normalize: none of either
    ("normalize", [128], {}, 0, 0),
    ("normalize", [512, 38, 38], {}, 0, 0),
    ("normalize", [16, 7, 7], {"p": 1, "dim": -1, "eps": 0.0}, 0, 0),
    ("normalize", [16, 7, 7], {"dim": 0}, 0, 0),
    ("normalize", [16, 7], {"p": 3.5, "axis": 2}, 0, 0),
]


@pytest.mark.parametrize("type_name, in_shape, cfg, params, buffers", NEWER_NORMS)
def test_group_instance_frozen_and_lp_norms(type_name, in_shape, cfg, params, buffers):
    check_layer(type_name, cfg, in_shape, in_shape, params, buffers)


# (code, field, torch refuses too) of the refusals below
RANK = ("shape.rank", None, True)
INVALID = ("shape.invalid", None, True)
INVALID_AT_GROUPS = ("shape.invalid", "num_groups", True)
MISMATCH_AT_CHANNELS = ("shape.mismatch", "num_channels", True)
MISMATCH_AT_FEATURES = ("shape.mismatch", "num_features", True)
# (type, input, config, message fragment, code, field, torch refuses too)
NEWER_NORM_REFUSALS = [
    ("groupnorm", [64, 8, 8], {"num_groups": 3}, "(64) must be divisible by num_groups (3)", *INVALID_AT_GROUPS),
    ("groupnorm", [64, 8, 8], {"num_groups": 8, "num_channels": 32}, "num_channels is 32 but", *MISMATCH_AT_CHANNELS),
    # refused as the spec is read, before the oracle can build the layer (torch refuses it too)
    ("groupnorm", [64, 8, 8], {"num_groups": 0}, "an integer >= 1, got 0", "spec.bad-value", "num_groups", False),
    ("instancenorm2d", [64, 1, 1], {}, "needs more than 1 spatial element per channel", *INVALID),
    # torch refuses it in training only: in eval mode it normalises with the running statistics
    ("instancenorm2d", [64, 1, 1], {"track_running_stats": True}, "more than 1 spatial", "shape.invalid", None, False),
    ("instancenorm1d", [64, 1], {"affine": True}, "needs more than 1 spatial element", *INVALID),
    ("instancenorm2d", [64, 8, 8], {"num_features": 32, "affine": True}, "is 32 but", *MISMATCH_AT_FEATURES),
    ("instancenorm1d", [64], {"affine": True}, "needs a [channels, length] input", *RANK),
    ("instancenorm2d", [64, 100], {"affine": True}, "needs a [channels, height, width] input", *RANK),
    ("instancenorm3d", [64, 8, 8], {"affine": True}, "needs a [channels, depth, height, width]", *RANK),
    ("frozen_batchnorm2d", [64, 8, 8], {"num_features": 32}, "num_features is 32 but", *MISMATCH_AT_FEATURES),
    # torchvision's reshape to [1, C, 1, 1] broadcasts a [N, C, L] input to [N, C, C, L] instead of refusing it
    ("frozen_batchnorm2d", [64, 100], {}, "needs a [channels, height, width] input", "shape.rank", None, False),
    ("normalize", [8, 5, 6], {"dim": 4}, "dim 4 is out of range for a 4-axis tensor", "shape.invalid", "dim", True),
    ("normalize", [8, 5, 6], {"dim": -5}, "dim -5 is out of range for a 4-axis tensor", "shape.invalid", "dim", True),
]


@pytest.mark.parametrize("type_name, in_shape, cfg, fragment, code, at, torch_refuses", NEWER_NORM_REFUSALS)
def test_group_instance_frozen_and_lp_norm_refusals(type_name, in_shape, cfg, fragment, code, at, torch_refuses):
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at, torch_refuses=torch_refuses)


# Small networks with every new normalisation at every rank: frozen layers, layers first (whose
# input needs no gradient), statistics kept or not, an Lp normalisation across channels, the
# batch and a spatial axis (which ends the receptive field).
SEQUENCE = """
input: [2, 64]
layers:
  - {type: instancenorm1d, affine: true}
  - conv1d: {out_channels: 8, kernel_size: 5, padding: 2}
  - groupnorm: 4
  - relu
  - conv1d: {out_channels: 8, kernel_size: 3}
  - instancenorm1d
  - conv1d: {out_channels: 8, kernel_size: 3, stride: 2}
  - {type: instancenorm1d, affine: true, track_running_stats: true, trainable: false}
  - normalize
  - conv1d: {out_channels: 4, kernel_size: 3}
  - {type: normalize, p: 1.0, dim: -1}
"""

IMAGE = """
input: [3, 20, 20]
layers:
  - frozen_batchnorm2d
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - {type: groupnorm, num_groups: 2, affine: false}
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2}
  - {type: instancenorm2d, affine: true}
  - frozen_batchnorm2d
  - relu
  - conv2d: {out_channels: 8, kernel_size: 3}
  - {type: groupnorm, num_groups: 8, trainable: false}
  - {type: instancenorm2d, track_running_stats: true}
  - {type: normalize, dim: 0}
  - global_avgpool2d
  - linear: 10
  - normalize
"""

VOLUME = """
input: [2, 6, 8, 8]
layers:
  - groupnorm: 1
  - conv3d: {out_channels: 8, kernel_size: 3, padding: 1}
  - {type: instancenorm3d, affine: true, track_running_stats: true}
  - silu
  - conv3d: {out_channels: 8, kernel_size: [1, 3, 3], stride: [1, 2, 2]}
  - groupnorm: {num_groups: 4, eps: 1.0e-6}
  - instancenorm3d
  - {type: normalize, p: 3.0}
  - conv3d: {out_channels: 4, kernel_size: 2}
"""


@pytest.mark.parametrize("text", [SEQUENCE, IMAGE, VOLUME], ids=["sequence", "image", "volume"])
def test_newer_norms_macs_and_saved_activations_equal_torch(text):
    spec = parse(text, "net.yaml")
    result = plan(spec)
    assert [row.macs for row in result.layers] == measure_macs(spec)
    assert {row.macs for row in result.layers if "norm" in row.type_name} == {0}  # the flop counter counts none
    torch = require_torch()
    for batch_size, dtype in ((2, "float32"), (3, "bfloat16")):
        estimated = estimate(result, batch_size=batch_size, dtype=dtype).saved_activations_bytes
        assert estimated == measure_saved_bytes(spec, batch_size=batch_size, dtype=getattr(torch, dtype)), dtype
    # the running statistics take the dtype, the batch counter stays an int64
    buffers = build_sequential(spec).to(torch.bfloat16).buffers()
    assert estimate(result, dtype="bfloat16").buffers_bytes == sum(b.nbytes for b in buffers)


@pytest.mark.parametrize(
    "text, last",
    [(SEQUENCE, "conv1d_4"), (IMAGE, "normalize_1"), (VOLUME, "conv3d_3")],
    ids=["sequence", "image", "volume"],
)
def test_newer_norms_keep_the_receptive_field(text, last):
    """Statistics, frozen or not, and an Lp norm across the channels or the batch keep the field;
    across a spatial axis (SEQUENCE's last layer) it ends, as global pooling ends IMAGE's."""
    spec = parse(text, "net.yaml")
    rows = plan(spec).layers
    with_field = [i for i, row in enumerate(rows) if row.receptive_field is not None]
    assert rows[with_field[-1]].name == last
    assert with_field == list(range(len(with_field)))
    for before, row in zip(rows, rows[1 : len(with_field)]):
        if "norm" in row.type_name:
            assert row.receptive_field == before.receptive_field, row.name
    check_field_by_gradients(spec, rows, with_field[-1])


# A branch through a normalize, and a block whose widths and groups the export writes as arguments
EXPORTED = """
name: norm_export
input: [3, 16, 16]
blocks:
  unit:
    args: [planes, groups: 4]
    layers:
      - {type: conv2d, name: conv, out_channels: planes, kernel_size: 3, padding: 1, bias: false}
      - {type: groupnorm, name: gn, num_groups: groups}
      - {type: frozen_batchnorm2d, name: fbn, eps: 0.001}
      - {type: instancenorm2d, name: inorm, affine: true, track_running_stats: true}
      - {type: relu, name: relu}
layers:
  - frozen_batchnorm2d
  - {type: unit, name: layer1, planes: 8}
  - {type: unit, name: layer2, planes: 16, groups: 8}
  - {type: normalize, name: l1, p: 1.0}
  - {type: add, inputs: [layer2, l1]}
  - {type: groupnorm, num_groups: 16, affine: false}
  - global_avgpool2d
  - linear: 4
  - {type: normalize, dim: 0}
"""


def test_newer_norms_export_and_verify():
    """The export builds each type (torchvision's FrozenBatchNorm2d and a Normalize module
    defined in it); verify finds every layer equal to PyTorch's, and autograd keeps what the
    estimate says."""
    require_torch()
    planned = plan(parse(EXPORTED, "net.yaml"))
    results = verify(planned)
    assert results and all(result.ok for result in results), [r for r in results if not r.ok]
    model = _exported(planned)
    assert {type(module).__name__ for module in model.modules()} >= {"FrozenBatchNorm2d", "Normalize", "GroupNorm"}
    estimated = estimate(planned, batch_size=2).saved_activations_bytes
    assert estimated == measure_saved_bytes_of(model, planned.input_shape, batch_size=2)


def _notes(text: str) -> list[str]:
    return [warning.message for warning in plan(parse(text, "n.yaml")).warnings]


def test_groups_of_one_value_and_norms_along_one_value_are_noted():
    notes = _notes(
        "input: [8, 1]\nlayers:\n  - {type: normalize, dim: -1}\n  - groupnorm: 8\n"
        "  - {type: groupnorm, num_groups: 8, affine: false}\n  - {type: normalize, p: 0}\n"
    )
    assert notes == [
        "layer 'normalize_1' (normalize): dim -1 has size 1, so each value is divided by its own "
        "absolute value: the output is its sign",
        "layer 'groupnorm_1' (groupnorm): each of the 8 groups holds a single value, so the output is the bias alone",
        "layer 'groupnorm_2' (groupnorm): each of the 8 groups holds a single value, so the output is zeros",
    ]
    assert _notes("input: [8, 2]\nlayers:\n  - groupnorm: 8\n  - {type: normalize, dim: 1}\n") == []
