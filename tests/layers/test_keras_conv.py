"""Keras's convolutions (Conv1D/2D/3D, transposed, depthwise, separable) in the Keras convention:
shapes, parameters and MACs, each checked against Keras 3 itself (tests/keras_reference.py)."""

import pytest
from keras_cases import check_keras_layer, check_keras_refused

CONV = [
    # (type, cfg, input [.., C], output, params)
    ("Conv2D", {"filters": 32, "kernel_size": [3, 3]}, [64, 64, 3], [62, 62, 32], 896),  # the chapter's first layer
    ("Conv2D", {"filters": 4, "kernel_size": 3}, [3, 3, 2], [1, 1, 4], 76),  # kernel the input's size
    ("Conv2D", {"filters": 4, "kernel_size": 5, "padding": "same"}, [3, 3, 2], [3, 3, 4], 204),  # kernel > input
    # 'same' with strides 2 and 3 on odd and even sizes: ceil(n / s), the odd pixel padded after
    ("Conv2D", {"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}, [11, 10, 3], [6, 5, 8], 224),
    ("Conv2D", {"filters": 8, "kernel_size": 3, "strides": 3, "padding": "same"}, [10, 11, 3], [4, 4, 8], 224),
    ("Conv2D", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, [7, 8, 5], [4, 4, 4], 324),
    ("Conv2D", {"filters": 8, "kernel_size": [1, 7], "strides": [1, 2], "padding": "same"}, [9, 9, 4], [9, 5, 8], 232),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 3}, [7, 8, 6], [5, 6, 6], 114),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "use_bias": False, "activation": "relu"}, [10, 11, 5], [8, 9, 4], 180),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, [10, 11, 2], [6, 7, 4], 76),
    ("Conv1D", {"filters": 32, "kernel_size": 80, "strides": 16}, [8000, 1], [496, 32], 2592),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, [10, 2], [10, 4], 28),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "causal"}, [10, 2], [5, 4], 28),
    ("Conv3D", {"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}, [5, 8, 9, 3], [3, 4, 5, 8], 656),
    # transposed: Keras's own formula without output_padding, the other with it (even 0)
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, [10, 11, 2], [21, 23, 4], 76),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 1, "strides": 3}, [10, 11, 2], [30, 33, 4], 12),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
        [10, 11, 2],
        [20, 22, 4],
        76,
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 0},
        [10, 11, 2],
        [21, 23, 4],
        76,
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
        [10, 11, 2],
        [20, 22, 4],
        76,
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1},
        [10, 11, 2],
        [19, 21, 4],
        132,
    ),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, [10, 11, 2], [14, 15, 4], 76),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, [4, 2], [9, 4], 28),
    ("Conv3DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, [4, 5, 6, 2], [9, 11, 13, 4], 220),
    # depthwise: C·dm outputs, C·dm biases; Keras takes strides with dilation here
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, [7, 8, 5], [5, 6, 10], 100),
    ("DepthwiseConv2D", {"kernel_size": 3, "use_bias": False}, [7, 8, 5], [5, 6, 5], 45),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "dilation_rate": 2}, [7, 8, 5], [2, 2, 5], 50),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same"}, [112, 112, 32], [56, 56, 32], 320),
    ("DepthwiseConv1D", {"kernel_size": 3}, [7, 5], [5, 5], 20),
    # separable: kh·kw·C·dm + C·dm·F + F
    ("SeparableConv2D", {"filters": 6, "kernel_size": 3, "depth_multiplier": 2}, [7, 8, 5], [5, 6, 6], 156),
    ("SeparableConv2D", {"filters": 6, "kernel_size": 3, "use_bias": False}, [7, 8, 5], [5, 6, 6], 75),
    ("SeparableConv2D", {"filters": 6, "kernel_size": 3, "strides": 2, "padding": "same"}, [7, 8, 5], [4, 4, 6], 81),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, [10, 11, 5], [3, 4, 4], 69),
    ("SeparableConv1D", {"filters": 6, "kernel_size": 3}, [7, 5], [5, 6], 51),
]


@pytest.mark.parametrize(("type_name", "cfg", "in_shape", "out_shape", "params"), CONV)
def test_convolution(type_name, cfg, in_shape, out_shape, params):
    check_keras_layer(type_name, cfg, in_shape, out_shape, params)


REFUSED = [
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 5},
        [3, 3, 2],
        "kernel height 5 is larger than the input height 3",
        "kernel_size",
        "shape.nonpositive",
    ),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
        [10, 11, 2],
        "`strides > 1` not supported in conjunction with `dilation_rate > 1`",
        "strides",
        "shape.invalid",
    ),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "groups": 3},
        [10, 11, 6],
        "filters must be evenly divisible by the number of groups",
        "groups",
        "shape.invalid",
    ),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "groups": 2},
        [10, 11, 5],
        "input channels must be evenly divisible by the number of groups",
        "groups",
        "shape.invalid",
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 2},
        [10, 11, 2],
        "`output_padding` must be strictly less than `strides`",
        "output_padding",
        "shape.invalid",
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
        [10, 11, 2],
        "`strides > 1` not supported",
        "strides",
        "shape.invalid",
    ),
    (
        "DepthwiseConv2D",
        {"kernel_size": 9},
        [7, 8, 5],
        "kernel height 9 is larger than the input height 7",
        "kernel_size",
        "shape.nonpositive",
    ),
]


@pytest.mark.parametrize(("type_name", "cfg", "in_shape", "fragment", "at", "code"), REFUSED)
def test_refused_as_keras_refuses(type_name, cfg, in_shape, fragment, at, code):
    check_keras_refused(type_name, cfg, in_shape, fragment, at=at, code=code)
