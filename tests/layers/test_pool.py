"""Pooling layers: output sizes including ceil_mode's last-window rule, checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused

from cnncalc.layers.pool import pool_output_size


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape",
    [
        ([64, 55, 55], {"kernel_size": 3, "stride": 2}, [64, 27, 27]),
        ([8, 5, 5], {"kernel_size": 2}, [8, 2, 2]),  # stride defaults to the kernel
        ([8, 5, 5], {"kernel_size": 2, "ceil_mode": True}, [8, 3, 3]),
        # GoogLeNet: ceil_mode gives 56 where floor gives 55
        ([64, 112, 112], {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [64, 56, 56]),
        ([64, 112, 112], {"kernel_size": 3, "stride": 2}, [64, 55, 55]),
        # the last window would start in the right padding, so it is dropped: 3 -> 2
        ([1, 4, 4], {"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True}, [1, 2, 2]),
        ([8, 7, 10], {"kernel_size": [3, 2], "stride": [2, 3], "padding": [1, 0]}, [8, 4, 3]),
        ([8, 9, 9], {"kernel_size": 3, "stride": 1, "dilation": 2}, [8, 5, 5]),
        ([8, 5, 5], {"kernel_size": 3, "padding": 1, "dilation": 2}, [8, 1, 1]),
        ([3, 5, 5], {"kernel_size": 7, "padding": 3}, [3, 1, 1]),
        ([3, 32, 32], {"pool_size": 2}, [3, 16, 16]),  # Keras' name as an alias
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_maxpool2d(in_shape, cfg, out_shape):
    check_layer("maxpool2d", cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape",
    [
        ([6, 28, 28], {"kernel_size": 2}, [6, 14, 14]),
        ([8, 7, 7], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [8, 4, 4]),
        ([8, 6, 6], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [8, 4, 4]),
        ([8, 5, 5], {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [8, 3, 3]),
        ([8, 6, 9], {"kernel_size": [2, 3], "count_include_pad": False, "padding": 1}, [8, 4, 3]),
        ([8, 6, 6], {"kernel_size": 3, "divisor_override": 4}, [8, 2, 2]),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_avgpool2d(in_shape, cfg, out_shape):
    check_layer("avgpool2d", cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, fragment, code, at",
    [
        (
            "maxpool2d",
            [3, 5, 5],
            {"kernel_size": 3, "padding": 2},
            "padding 2 along height is more than half",
            "shape.invalid",
            "padding",
        ),
        (
            "maxpool2d",
            [3, 5, 5],
            {"kernel_size": 5, "stride": 1, "dilation": 2},
            "output height would be -3",
            "shape.nonpositive",
            "kernel_size",
        ),
        ("avgpool2d", [3, 5, 5], {"kernel_size": 7}, "output height would be 0", "shape.nonpositive", "kernel_size"),
        (
            "avgpool2d",
            [3, 5, 5],
            {"kernel_size": 2, "padding": 2},
            "more than half the kernel size 2",
            "shape.invalid",
            "padding",
        ),
        (
            "maxpool2d",
            [3, 5, 5],
            {"kernel_size": 2, "return_indices": True},
            "return_indices",
            "shape.invalid",
            "return_indices",
        ),
    ],
)
def test_pool_refused(type_name, in_shape, cfg, fragment, code, at):
    # torch accepts return_indices; the tuple it returns is what no next layer takes
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at, torch_refuses="return_indices" not in cfg)


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, out_shape",
    [
        ("adaptive_avgpool2d", [256, 13, 13], {"output_size": 6}, [256, 6, 6]),
        ("adaptive_avgpool2d", [256, 3, 3], {"output_size": 6}, [256, 6, 6]),  # bins overlap
        ("adaptive_avgpool2d", [512, 7, 9], {"output_size": [1, None]}, [512, 1, 9]),
        ("adaptive_maxpool2d", [64, 10, 10], {"output_size": [4, 3]}, [64, 4, 3]),
        ("global_avgpool2d", [2048, 7, 7], {}, [2048]),
        ("global_avgpool2d", [2048, 7, 7], {"keepdims": True}, [2048, 1, 1]),
        ("global_maxpool2d", [512, 7, 5], {}, [512]),
    ],
)
def test_adaptive_and_global(type_name, in_shape, cfg, out_shape):
    check_layer(type_name, cfg, in_shape, out_shape, 0)


def test_pool_output_size_matches_torch_exhaustively():
    """Every small size/kernel/stride/padding/dilation/ceil_mode combination, against torch."""
    from torch_reference import require_torch

    torch = require_torch()
    import torch.nn.functional as F

    checked = 0
    for size in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 5):
                for p in range(0, k // 2 + 1):
                    for d in (1, 2):
                        for ceil in (False, True):
                            ours = pool_output_size(size, k, s, p, d, ceil)
                            x = torch.zeros(1, 1, size, 1)
                            try:
                                theirs = F.max_pool2d(x, (k, 1), (s, 1), (p, 0), (d, 1), ceil).shape[2]
                            except RuntimeError:
                                theirs = None
                            assert (ours if ours >= 1 else None) == theirs, (size, k, s, p, d, ceil)
                            checked += 1
    assert checked > 1500
