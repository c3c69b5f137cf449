"""Activations, dropout, identity and rescale: shape-neutral; PReLU's parameters. Checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused

NEUTRAL = [
    ("relu", {}),
    ("relu", {"inplace": True}),
    ("relu6", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.5}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("mish", {}),
    ("hardswish", {}),
    ("hardsigmoid", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("softmax", {}),
    ("softmax", {"dim": -1}),
    ("log_softmax", {"dim": 2}),
    ("dropout", {"p": 0.5}),
    ("dropout2d", {"p": 0.1}),
    ("identity", {}),
    ("rescale", {"scale": 0.125}),
    ("rescale", {"scale": -2, "offset": 0.5}),
    ("rescaling", {"scale": 1, "offset": -1}),
]


@pytest.mark.parametrize("type_name, cfg", NEUTRAL, ids=[f"{t}{c}" for t, c in NEUTRAL])
def test_shape_neutral(type_name, cfg):
    check_layer(type_name, cfg, [8, 5, 6], [8, 5, 6], 0)


@pytest.mark.parametrize(
    "in_shape, cfg, params",
    [([64, 56, 56], {}, 1), ([64, 56, 56], {"num_parameters": 64}, 64), ([10], {"num_parameters": 10}, 10)],
)
def test_prelu(in_shape, cfg, params):
    check_layer("prelu", cfg, in_shape, in_shape, params)


def test_prelu_wrong_count():
    check_refused(
        "prelu",
        {"num_parameters": 3},
        [64, 8, 8],
        "num_parameters must be 1 or the 64 input channels",
        code="shape.mismatch",
        at="num_parameters",
    )


def test_softmax_dim_out_of_range():
    check_refused("softmax", {"dim": 4}, [8, 5, 6], "dim 4 is out of range", code="shape.invalid", at="dim")
