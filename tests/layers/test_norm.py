"""batchnorm2d and local_response_norm: parameters vs buffers, checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused


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
