"""conv2d and conv_transpose2d: shapes and parameters, checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape, params",
    [
        # the chapter: (3*3*32 + 1)*64 = 18,496 and 50 + 2*1 - (3 - 1) = 50
        ([32, 50, 50], {"out_channels": 64, "kernel_size": 3, "padding": 1}, [64, 50, 50], 18_496),
        ([3, 50, 50], {"out_channels": 32, "kernel_size": 3}, [32, 48, 48], 896),
        # AlexNet conv1: 224 needs padding 2 for 55; 227 does not
        ([3, 224, 224], {"out_channels": 64, "kernel_size": 11, "stride": 4, "padding": 2}, [64, 55, 55], 23_296),
        ([3, 227, 227], {"out_channels": 96, "kernel_size": 11, "stride": 4}, [96, 55, 55], 34_944),
        # floor division drops the last pixel: (224 - 11)/4 = 53.25
        ([3, 224, 224], {"out_channels": 96, "kernel_size": 11, "stride": 4}, [96, 54, 54], 34_944),
        # torch's docs example: rectangular kernel, stride, padding and dilation
        (
            [16, 50, 100],
            {"out_channels": 33, "kernel_size": [3, 5], "stride": [2, 1], "padding": [4, 2], "dilation": [3, 1]},
            [33, 26, 100],
            7_953,
        ),
        ([16, 9, 9], {"out_channels": 33, "kernel_size": 3}, [33, 7, 7], 4_785),
        ([8, 10, 10], {"out_channels": 4, "kernel_size": 3, "bias": False}, [4, 8, 8], 288),
        # padding 'same', odd and even kernels, with dilation
        ([8, 10, 10], {"out_channels": 4, "kernel_size": 4, "padding": "same"}, [4, 10, 10], 516),
        ([8, 10, 7], {"out_channels": 4, "kernel_size": 3, "padding": "same", "dilation": 2}, [4, 10, 7], 292),
        ([8, 10, 10], {"out_channels": 4, "kernel_size": 3, "padding": "valid"}, [4, 8, 8], 292),
        # 'same' at a stride, which torch refuses: TensorFlow's ceil(n / s), checked against ZeroPad + conv
        ([3, 11, 10], {"out_channels": 8, "kernel_size": 3, "stride": 2, "padding": "same"}, [8, 6, 5], 224),
        ([3, 9, 9], {"out_channels": 4, "kernel_size": 4, "stride": 3, "padding": "same"}, [4, 3, 3], 196),
        ([3, 9, 9], {"out_channels": 4, "kernel_size": 1, "stride": 2, "padding": "same"}, [4, 5, 5], 16),
        # depthwise and grouped
        ([32, 28, 28], {"out_channels": 32, "kernel_size": 3, "padding": 1, "groups": 32}, [32, 28, 28], 320),
        ([32, 28, 28], {"out_channels": 64, "kernel_size": 3, "groups": 32}, [64, 26, 26], 640),
        ([96, 27, 27], {"out_channels": 256, "kernel_size": 5, "padding": 2, "groups": 2}, [256, 27, 27], 307_456),
        # 1x1 pointwise
        ([64, 56, 56], {"out_channels": 256, "kernel_size": 1}, [256, 56, 56], 16_640),
        # padding modes change nothing about shapes
        ([3, 5, 5], {"out_channels": 2, "kernel_size": 3, "padding": 4, "padding_mode": "reflect"}, [2, 11, 11], 56),
        ([3, 5, 5], {"out_channels": 2, "kernel_size": 3, "padding": 5, "padding_mode": "circular"}, [2, 13, 13], 56),
        ([3, 5, 5], {"out_channels": 2, "kernel_size": 3, "padding": 9, "padding_mode": "replicate"}, [2, 21, 21], 56),
        # kernel exactly the padded input size gives 1
        ([3, 5, 5], {"out_channels": 2, "kernel_size": 7, "padding": 1}, [2, 1, 1], 296),
        # aliases: filters, kernel
        ([3, 32, 32], {"filters": 16, "kernel": 3, "padding": 1}, [16, 32, 32], 448),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_conv2d(in_shape, cfg, out_shape, params):
    check_layer("conv2d", cfg, in_shape, out_shape, params)


@pytest.mark.parametrize(
    "in_shape, cfg, fragment, code, at",
    [
        (
            [3, 5, 5],
            {"out_channels": 2, "kernel_size": 7},
            "kernel height 7 is larger than the padded input height 5",
            "shape.nonpositive",
            "kernel_size",
        ),
        (
            [3, 9, 5],
            {"out_channels": 2, "kernel_size": [3, 5], "dilation": 3},
            "kernel width 5 (dilation 3 makes it 13)",
            "shape.nonpositive",
            "kernel_size",
        ),
        (
            [3, 8, 8],
            {"out_channels": 4, "kernel_size": 3, "groups": 2},
            "groups=2 does not divide the 3 input channels",
            "shape.invalid",
            "groups",
        ),
        (
            [4, 8, 8],
            {"out_channels": 3, "kernel_size": 3, "groups": 2},
            "groups=2 does not divide out_channels=3",
            "shape.invalid",
            "groups",
        ),
        (
            [3, 8, 8],
            {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same", "padding_mode": "reflect"},
            "padding 'same' with stride 2x2 pads with zeros here",
            "shape.invalid",
            "padding_mode",
        ),
        (
            [3, 4, 4],
            {"out_channels": 2, "kernel_size": 3, "padding": 4, "padding_mode": "reflect"},
            "reflect padding 4",
            "shape.invalid",
            "padding",
        ),
        (
            [3, 4, 4],
            {"out_channels": 2, "kernel_size": 3, "padding": 5, "padding_mode": "circular"},
            "circular padding 5",
            "shape.invalid",
            "padding",
        ),
        (
            [3, 8, 8],
            {"in_channels": 4, "out_channels": 2, "kernel_size": 3},
            "in_channels is 4 but the input has 3",
            "shape.mismatch",
            "in_channels",
        ),
    ],
)
def test_conv2d_refused(in_shape, cfg, fragment, code, at):
    check_refused("conv2d", cfg, in_shape, fragment, code=code, at=at)


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape, params",
    [
        # torch's docs: 6 -> 11, and output_padding=1 -> 12
        ([16, 6, 6], {"out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1}, [16, 11, 11], 2_320),
        (
            [16, 6, 6],
            {"out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
            [16, 12, 12],
            2_320,
        ),
        # U-Net's up-convolution: 2x2 stride 2 halves channels, doubles size
        ([1024, 16, 16], {"out_channels": 512, "kernel_size": 2, "stride": 2}, [512, 32, 32], 2_097_664),
        ([8, 5, 7], {"out_channels": 6, "kernel_size": [3, 2], "stride": [1, 3], "groups": 2}, [6, 7, 20], 150),
        ([4, 5, 5], {"out_channels": 4, "kernel_size": 3, "dilation": 2, "output_padding": 1}, [4, 10, 10], 148),
        ([4, 5, 5], {"out_channels": 2, "kernel_size": 1, "padding": 1, "bias": False}, [2, 3, 3], 8),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_conv_transpose2d(in_shape, cfg, out_shape, params):
    check_layer("conv_transpose2d", cfg, in_shape, out_shape, params)


@pytest.mark.parametrize(
    "in_shape, cfg, fragment, code, at",
    [
        (
            [4, 5, 5],
            {"out_channels": 4, "kernel_size": 3, "stride": 2, "output_padding": 2},
            "output_padding 2",
            "shape.invalid",
            "output_padding",
        ),
        (
            [4, 1, 1],
            {"out_channels": 4, "kernel_size": 3, "padding": 2},
            "output height would be -1",
            "shape.nonpositive",
            "padding",
        ),
        (
            [4, 5, 5],
            {"out_channels": 3, "kernel_size": 3, "groups": 2},
            "groups=2 does not divide out_channels=3",
            "shape.invalid",
            "groups",
        ),
    ],
)
def test_conv_transpose2d_refused(in_shape, cfg, fragment, code, at):
    check_refused("conv_transpose2d", cfg, in_shape, fragment, code=code, at=at)
