"""linear and flatten: the first dense layer's size, checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape, params",
    [
        # the chapter: (n + 1)*m
        ([9216], {"out_features": 128}, [128], (9216 + 1) * 128),
        ([128], {"out_features": 2}, [2], (128 + 1) * 2),
        ([400], {"units": 120}, [120], 48_120),
        ([128], {"out_features": 2, "bias": False}, [2], 256),
        ([25088], {"out_features": 4096, "in_features": 25088}, [4096], 102_764_544),
        # a stated in_features lets linear act on the last axis, as torch.nn.Linear does
        ([7, 5], {"out_features": 3, "in_features": 5}, [7, 3], 18),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_linear(in_shape, cfg, out_shape, params):
    check_layer("linear", cfg, in_shape, out_shape, params)


def test_linear_after_unflattened_input_names_the_flatten_size():
    # torch would silently act on the last axis; the planner asks for a flatten
    check_refused(
        "linear",
        {"out_features": 10},
        [64, 12, 12],
        "add `flatten` before it (giving 9,216 features)",
        code="shape.not-flat",
        at=None,
        torch_refuses=False,
    )


def test_linear_stated_in_features_disagrees():
    # the classic `mat1 and mat2 shapes cannot be multiplied`
    check_refused(
        "linear",
        {"out_features": 10, "in_features": 9000},
        [9216],
        "in_features is 9,000 but the input has 9,216",
        code="shape.mismatch",
        at="in_features",
    )


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape",
    [
        ([64, 12, 12], {}, [9216]),
        ([256, 6, 6], {}, [9216]),
        ([9216], {}, [9216]),
        ([8, 4, 4], {"start_dim": 2}, [8, 16]),
        ([8, 4, 4], {"end_dim": 2}, [32, 4]),
        ([8, 4, 4], {"start_dim": 2, "end_dim": -1}, [8, 16]),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_flatten(in_shape, cfg, out_shape):
    check_layer("flatten", cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "in_shape, cfg, fragment, code, at",
    [
        ([8, 4, 4], {"start_dim": 4}, "start_dim 4 is past the last axis", "shape.invalid", "start_dim"),
        ([8, 4, 4], {"start_dim": 3, "end_dim": 2}, "end_dim 2", "shape.invalid", "end_dim"),
    ],
)
def test_flatten_refused(in_shape, cfg, fragment, code, at):
    check_refused("flatten", cfg, in_shape, fragment, code=code, at=at)
