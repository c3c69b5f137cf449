"""Keras's other layers in the Keras convention: Dense on any rank (the last axis), Flatten's
channels-last order, Reshape, the activations, dropout, ZeroPadding, Cropping, UpSampling,
Rescaling. Checked against Keras 3 itself."""

import pytest
from keras_cases import check_keras_layer, check_keras_refused

from cnncalc.engine import plan
from cnncalc.spec import parse

CORE = [
    ("Dense", {"units": 128}, [9216], [128], 1_179_776),
    ("Dense", {"units": 10}, [7, 8, 5], [7, 8, 10], 60),  # on a 4-D tensor: the last axis
    ("Dense", {"units": 4, "use_bias": False, "activation": "softmax"}, [7, 5], [7, 4], 20),
    ("Flatten", {}, [12, 12, 64], [9216], 0),
    ("Reshape", {"target_shape": [-1, 5]}, [7, 8, 5], [56, 5], 0),
    ("Reshape", {"target_shape": [4, 4]}, [16], [4, 4], 0),
    ("Dropout", {"rate": 0.5}, [128], [128], 0),
    ("SpatialDropout2D", {"rate": 0.2}, [7, 8, 5], [7, 8, 5], 0),
    ("Activation", {"activation": "relu"}, [7, 8, 5], [7, 8, 5], 0),
    ("ReLU", {"max_value": 6}, [7, 8, 5], [7, 8, 5], 0),
    ("LeakyReLU", {}, [7, 8, 5], [7, 8, 5], 0),
    ("ELU", {}, [7, 8, 5], [7, 8, 5], 0),
    ("Softmax", {}, [10], [10], 0),
    ("PReLU", {}, [7, 8, 5], [7, 8, 5], 280),
    ("PReLU", {"shared_axes": [1, 2]}, [7, 8, 5], [7, 8, 5], 5),
    ("Rescaling", {"scale": 0.00392156862745098, "offset": -0.5}, [8, 8, 3], [8, 8, 3], 0),
    ("Identity", {}, [8, 3], [8, 3], 0),
    ("ZeroPadding2D", {}, [7, 8, 5], [9, 10, 5], 0),
    ("ZeroPadding2D", {"padding": 3}, [224, 224, 3], [230, 230, 3], 0),
    ("ZeroPadding2D", {"padding": [1, 2]}, [7, 8, 5], [9, 12, 5], 0),
    ("ZeroPadding2D", {"padding": [[0, 1], [0, 1]]}, [224, 224, 3], [225, 225, 3], 0),  # MobileNetV2's
    ("ZeroPadding1D", {"padding": [1, 2]}, [7, 5], [10, 5], 0),
    ("ZeroPadding3D", {}, [4, 5, 6, 2], [6, 7, 8, 2], 0),
    ("Cropping2D", {"cropping": [[1, 2], [3, 4]]}, [7, 8, 5], [4, 1, 5], 0),
    ("Cropping2D", {"cropping": 1}, [7, 8, 5], [5, 6, 5], 0),
    ("Cropping1D", {"cropping": [1, 2]}, [7, 5], [4, 5], 0),
    ("Cropping3D", {}, [4, 5, 6, 2], [2, 3, 4, 2], 0),
    ("UpSampling2D", {"size": [2, 3]}, [7, 8, 5], [14, 24, 5], 0),
    ("UpSampling2D", {"interpolation": "bilinear"}, [7, 8, 5], [14, 16, 5], 0),
    ("UpSampling1D", {"size": 3}, [4, 2], [12, 2], 0),
    ("UpSampling3D", {}, [4, 5, 6, 2], [8, 10, 12, 2], 0),
    ("Permute", {"dims": [3, 1, 2]}, [7, 8, 5], [5, 7, 8], 0),
    ("Permute", {"dims": [2, 1]}, [7, 5], [5, 7], 0),
    ("Embedding", {"input_dim": 100, "output_dim": 8}, [7], [7, 8], 800),
    ("Dropout", {"rate": 0.2, "noise_shape": [None, 1, 1, None]}, [7, 8, 5], [7, 8, 5], 0),
]


@pytest.mark.parametrize(("type_name", "cfg", "in_shape", "out_shape", "params"), CORE)
def test_layer(type_name, cfg, in_shape, out_shape, params):
    check_keras_layer(type_name, cfg, in_shape, out_shape, params)


@pytest.mark.parametrize(
    ("type_name", "cfg", "in_shape", "fragment", "at", "code"),
    [
        (
            "Cropping2D",
            {"cropping": [[4, 4], [0, 0]]},
            [7, 8, 5],
            "4 + 4 along height, which has 7",
            "cropping",
            "shape.nonpositive",
        ),
        (
            "Cropping2D",
            {"cropping": [[3, 4], [0, 0]]},
            [7, 8, 5],
            "3 + 4 along height",
            "cropping",
            "shape.nonpositive",
        ),
        (
            "Reshape",
            {"target_shape": [3, 5]},
            [7, 8, 5],
            "the total size of the tensor must be unchanged",
            "target_shape",
            "shape.mismatch",
        ),
    ],
)
def test_refused_as_keras_refuses(type_name, cfg, in_shape, fragment, at, code):
    check_keras_refused(type_name, cfg, in_shape, fragment, at=at, code=code)


def test_normalization_counts_its_statistics_as_keras_does():
    check_keras_layer("Normalization", {}, [8, 8, 3], [8, 8, 3], 7, 7)  # mean, variance (3 each), count


def test_padding_is_read_in_any_case_as_keras_reads_it():
    check_keras_layer("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "SAME"}, [5, 5, 1], [5, 5, 2], 20)


def test_dense_on_an_image_is_per_pixel_not_the_head_and_flatten_order_is_channels_last():
    text = (
        "convention: keras\ninput: [6, 6, 3]\nlayers:\n"
        "  - {type: Conv2D, filters: 8, kernel_size: 3}\n"
        "  - {type: Dense, units: 4}\n"
        "  - Flatten\n"
        "  - {type: Dense, units: 2}\n"
    )
    result = plan(parse(text, "k.yaml"))
    rows = {row.name: row for row in result.layers}
    assert rows["dense"].output_shape == (4, 4, 4) and rows["dense"].receptive_field.size == (3, 3)
    first = result.first_linear
    assert (first.name, first.in_features) == ("dense_1", 64)
    assert first.derivation() == "4 x 4 x 4 = 64"  # height x width x channels, as Keras flattens
