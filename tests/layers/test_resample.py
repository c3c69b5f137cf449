"""upsample: floor(in * scale_factor) or a fixed size, checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape",
    [
        ([64, 7, 7], {"scale_factor": 2}, [64, 14, 14]),
        ([64, 7, 7], {"scale_factor": 1.5}, [64, 10, 10]),
        ([64, 7, 9], {"scale_factor": [1.5, 0.7]}, [64, 10, 6]),
        ([64, 7, 7], {"size": [20, 30], "mode": "bilinear"}, [64, 20, 30]),
        ([64, 7, 7], {"size": 5, "mode": "bilinear", "align_corners": True}, [64, 5, 5]),
        ([64, 7, 7], {"scale_factor": 2, "mode": "nearest-exact"}, [64, 14, 14]),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_upsample(in_shape, cfg, out_shape):
    check_layer("upsample", cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "cfg, fragment, code, at",
    [
        ({"scale_factor": 0.1}, "output height would be 0", "shape.nonpositive", "scale_factor"),
        ({"size": 4, "scale_factor": 2}, "exactly one of size and scale_factor", "shape.invalid", "scale_factor"),
        ({}, "exactly one of size and scale_factor", "shape.invalid", None),
        ({"scale_factor": 2, "align_corners": True}, "align_corners only applies", "shape.invalid", "align_corners"),
    ],
)
def test_upsample_refused(cfg, fragment, code, at):
    check_refused("upsample", cfg, [3, 5, 5], fragment, code=code, at=at)
