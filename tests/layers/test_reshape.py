"""transpose, reshape, unflatten and select: shapes and refusals against torch, at the right
line; MACs, saved activations and receptive fields of small networks using them, against torch."""

from __future__ import annotations

import pytest
from layer_cases import check_layer, check_refused
from test_costs import check_field_by_gradients
from torch_reference import measure_macs, measure_saved_bytes

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.export import export
from cnncalc.memory import estimate
from cnncalc.spec import parse


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, out_shape",
    [
        ("transpose", [768, 196], {"dim0": 1, "dim1": 2}, [196, 768]),  # ViT's patches to tokens
        ("transpose", [768, 196], {"dim0": 2, "dim1": 1}, [196, 768]),
        ("transpose", [4, 5, 6], {"dim0": -1, "dim1": 1}, [6, 5, 4]),
        ("transpose", [4, 5, 6], {"dim0": 2, "dim1": 2}, [4, 5, 6]),
        ("transpose", [3, 4, 5, 6], {"dim0": -3, "dim1": -2}, [3, 5, 4, 6]),
        ("swapaxes", [2, 7], {"dim0": 1, "dim1": -1}, [7, 2]),
        ("reshape", [768, 14, 14], {"shape": [768, 196]}, [768, 196]),
        ("reshape", [64, 8, 8], {"shape": [4, 16, -1]}, [4, 16, 64]),
        ("reshape", [64, 8, 8], {"shape": [-1]}, [4096]),
        ("reshape", [12], {"shape": [3, 2, 2]}, [3, 2, 2]),
        ("view", [6, 4], {"shape": [24, 1]}, [24, 1]),
        ("unflatten", [768, 196], {"dim": 2, "unflattened_size": [14, 14]}, [768, 14, 14]),
        ("unflatten", [64, 32], {"dim": 1, "unflattened_size": [4, -1]}, [4, 16, 32]),
        ("unflatten", [64, 32], {"dim": -1, "sizes": [2, 2, 8]}, [64, 2, 2, 8]),
        ("unflatten", [60], {"dim": 1, "unflattened_size": [60]}, [60]),
        ("select", [197, 768], {"dim": 1, "index": 0}, [768]),  # ViT's class token
        ("select", [64, 8, 8], {"dim": -1, "index": -1}, [64, 8]),
        ("select", [3, 5, 7], {"dim": 2, "index": 4}, [3, 7]),
        ("select", [3, 5, 7], {"dim": 1, "index": -3}, [5, 7]),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_shapes(type_name, in_shape, cfg, out_shape):
    check_layer(type_name, cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, fragment, code, at, torch_refuses",
    [
        # transpose is no longer permute: a list of every axis says where to go
        (
            "transpose",
            [96, 56, 56],
            {"dims": [0, 2, 3, 1]},
            "to give every axis its place with dims: [0, 2, 3, 1], write `permute`",
            "spec.bad-value",
            "dims",
            False,
        ),
        ("transpose", [4, 5], {"dim0": 1}, "missing required field dim1", "spec.missing-key", None, False),
        (
            "transpose",
            [4, 5],
            {"dim0": 3, "dim1": 1},
            "dim0 3 is not an axis of the 3-axis tensor [N, 4, 5]",
            "shape.invalid",
            "dim0",
            True,
        ),
        ("transpose", [4, 5], {"dim0": 1, "dim1": -4}, "dim1 -4 is not an axis", "shape.invalid", "dim1", True),
        # torch would swap the batch axis; a spec's tensors keep it first
        ("transpose", [4, 5], {"dim0": 0, "dim1": 1}, "dim0 0 is the batch axis", "shape.invalid", "dim0", False),
        ("transpose", [4, 5], {"dim0": 1, "dim1": -3}, "dim1 -3 is the batch axis", "shape.invalid", "dim1", False),
        (
            "reshape",
            [4, 8],
            {"shape": [3, 5]},
            "shape [3, 5] holds 15 values but the input [4, 8] has 32",
            "shape.mismatch",
            "shape",
            True,
        ),
        (
            "reshape",
            [4, 8],
            {"shape": [3, -1]},
            "the input [4, 8] has 32 values, not a multiple of the other sizes' 3",
            "shape.mismatch",
            "shape",
            True,
        ),
        ("reshape", [4, 8], {"shape": [-1, 4, -1]}, "only one size may be -1", "spec.bad-value", "shape", False),
        ("reshape", [4, 8], {"shape": [0, 32]}, "a list of sizes >= 1", "spec.bad-value", "shape", False),
        ("reshape", [4, 8], {"shape": []}, "a list of sizes >= 1", "spec.bad-value", "shape", False),
        (
            "unflatten",
            [64, 32],
            {"dim": 1, "unflattened_size": [5, 13]},
            "unflattened_size [5, 13] holds 65 values but axis 1 of the input [64, 32] has 64",
            "shape.mismatch",
            "unflattened_size",
            True,
        ),
        (
            "unflatten",
            [64, 32],
            {"dim": 2, "unflattened_size": [3, -1]},
            "axis 2 of the input [64, 32] has 32 values, not a multiple",
            "shape.mismatch",
            "unflattened_size",
            True,
        ),
        (
            "unflatten",
            [64, 32],
            {"dim": 3, "unflattened_size": [2]},
            "dim 3 is not an axis",
            "shape.invalid",
            "dim",
            True,
        ),
        (
            "unflatten",
            [64, 32],
            {"dim": 0, "unflattened_size": [1, -1]},
            "dim 0 is the batch axis",
            "shape.invalid",
            "dim",
            False,
        ),
        (
            "select",
            [197, 768],
            {"dim": 1, "index": 197},
            "index 197 is out of range for axis 1 of the input [197, 768], which has 197 positions (-197 to 196)",
            "shape.invalid",
            "index",
            True,
        ),
        ("select", [197, 768], {"dim": 2, "index": -769}, "index -769 is out of range", "shape.invalid", "index", True),
        ("select", [197, 768], {"dim": 3, "index": 0}, "dim 3 is not an axis", "shape.invalid", "dim", True),
        ("select", [197, 768], {"dim": 0, "index": 0}, "dim 0 is the batch axis", "shape.invalid", "dim", False),
        ("select", [197, 768], {"dim": 1}, "missing required field index", "spec.missing-key", None, False),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_refused(type_name, in_shape, cfg, fragment, code, at, torch_refuses):
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at, torch_refuses=torch_refuses)


def test_transpose_written_as_a_bare_list_is_refused():
    """`- transpose: [0, 2, 1]` (the old permute alias) is not silently something else."""
    with pytest.raises(SpecError) as caught:
        parse("input: [3, 8, 8]\nlayers:\n  - transpose: [0, 2, 3, 1]\n", "t.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert "takes no main argument" in diagnostic.message


# A ViT-style patch embedding and back: the views between linear layers and convolutions
NETWORK = """
input: [3, 16, 16]
layers:
  - {type: conv2d, name: patches, out_channels: 8, kernel_size: 4, stride: 4}   # [8, 4, 4]
  - {type: flatten, name: grid, start_dim: 2}                                  # [8, 16]
  - {type: transpose, name: tokens, dim0: 1, dim1: 2}                          # [16, 8]
  - {type: layernorm, name: norm}
  - {type: linear, name: mlp, in_features: 8, out_features: 12}                # [16, 12]
  - {type: gelu, name: act}
  - {type: reshape, name: heads, shape: [16, 3, 4]}
  - {type: select, name: head0, dim: 2, index: 0}                              # [16, 4]
  - {type: transpose, name: back, dim0: -1, dim1: -2}                          # [4, 16]
  - {type: unflatten, name: image, dim: 2, unflattened_size: [4, 4]}           # [4, 4, 4]
  - {type: conv2d, name: head, out_channels: 2, kernel_size: 3, padding: 1}
"""


def test_macs_and_saved_activations_equal_torch():
    spec = parse(NETWORK, "net.yaml")
    result = plan(spec)
    assert [tuple(row.output_shape) for row in result.layers][-5:] == [
        (16, 3, 4),
        (16, 4),
        (4, 16),
        (4, 4, 4),
        (2, 4, 4),
    ]
    assert [row.macs for row in result.layers] == measure_macs(spec)
    for batch_size in (1, 3):
        assert estimate(result, batch_size=batch_size).saved_activations_bytes == measure_saved_bytes(
            spec, batch_size=batch_size
        )
    views = [row for row in result.layers if row.type_name in ("transpose", "reshape", "select", "unflatten")]
    assert [(row.other_ops, row.macs, row.params) for row in views] == [(0, 0, 0)] * 5


CHANNELS_LAST = """
input: [3, 12, 12]
layers:
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: transpose, dim0: 1, dim1: 3}                   # [10, 10, 4]: [W, H, C]
  - {type: linear, in_features: 4, out_features: 6}       # per pixel
  - {type: transpose, dim0: 3, dim1: 1}                   # [6, 10, 10]
  - {type: conv2d, out_channels: 2, kernel_size: 3, stride: 2}
  - {type: transpose, dim0: 2, dim1: 3}                   # height and width swapped
  - {type: conv2d, out_channels: 2, kernel_size: 3}
"""


def test_receptive_fields():
    """A transpose keeps each pixel's window; a linear on the channels moved last works per
    pixel; a window over axes swapped with each other is not the input's (the field ends); a
    reshape to another shape, an unflatten and a select end it too."""
    spec = parse(CHANNELS_LAST, "net.yaml")
    rows = plan(spec).layers
    assert [row.receptive_field.size for row in rows[:5]] == [(3, 3)] * 4 + [(5, 5)]
    for last in (0, 3, 4):  # channels first again (the probe reads [C, H, W])
        check_field_by_gradients(spec, rows, last)
    assert rows[6].receptive_field is None
    network = plan(parse(NETWORK, "net.yaml")).layers
    assert network[0].receptive_field is not None
    assert all(row.receptive_field is None for row in network[1:])
    kept = plan(parse("input: [3, 8, 8]\nlayers:\n  - {type: reshape, shape: [3, 8, 8]}\n", "k.yaml")).layers
    assert kept[0].receptive_field.size == (1, 1)


def test_export_writes_the_views_as_torch_does_and_verifies():
    from cnncalc.verify import verify

    result = plan(parse(NETWORK, "net.yaml"))
    comparisons = verify(result, device="cpu")
    assert all(comparison.ok for comparison in comparisons), [c for c in comparisons if not c.ok]
    code = export(result).code
    assert ".transpose(1, 2)" in code and ".transpose(-1, -2)" in code
    assert ".reshape(" in code and ".select(2, 0)" in code
    assert "nn.Unflatten(2, (4, 4))" in code


def test_select_needs_two_axes():
    """select on [3] would leave a sample of no axis, which the layers after it cannot take (found
    by review: linear, layernorm and prelu crashed on it)."""
    from cnncalc.engine import plan
    from cnncalc.errors import SpecError
    from cnncalc.spec import parse

    with pytest.raises(SpecError) as caught:
        plan(parse("input: [3]\nlayers:\n  - {type: select, dim: 1, index: 0}\n  - linear: 2\n", "s.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.loc.line) == ("shape.rank", 3) and "two or more axes" in diagnostic.message
