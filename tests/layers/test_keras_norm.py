"""Keras's normalisation in the Keras convention: BatchNormalization's moving statistics are
parameters Keras counts as non-trainable (4C, 2C of them frozen; 3C with scale: false), layer and
group normalisation. Checked against Keras 3 itself."""

import pytest
from keras_cases import check_keras_layer, check_keras_refused

NORM = [
    # (type, cfg, input, params, non-trainable)
    ("BatchNormalization", {}, [29, 29, 64], 256, 128),
    ("BatchNormalization", {"scale": False}, [7, 8, 5], 15, 10),  # InceptionV3's
    ("BatchNormalization", {"center": False, "scale": False}, [7, 8, 5], 10, 10),
    ("BatchNormalization", {"axis": 1}, [7, 8, 5], 28, 14),
    ("BatchNormalization", {"epsilon": 1.001e-5, "momentum": 0.9}, [5], 20, 10),
    ("LayerNormalization", {}, [7, 8, 5], 10, 0),
    ("LayerNormalization", {"axis": [-2, -1]}, [7, 8, 5], 80, 0),  # the torch backend runs trailing axes only
    ("LayerNormalization", {"axis": [1, 2, 3]}, [7, 8, 5], 560, 0),
    ("GroupNormalization", {}, [7, 8, 64], 128, 0),
    ("GroupNormalization", {"groups": 5}, [7, 8, 5], 10, 0),
]


@pytest.mark.parametrize(("type_name", "cfg", "in_shape", "params", "frozen"), NORM)
def test_normalisation(type_name, cfg, in_shape, params, frozen):
    check_keras_layer(type_name, cfg, in_shape, in_shape, params, frozen)


@pytest.mark.parametrize(
    ("cfg", "in_shape", "fragment"),
    [
        ({"groups": 4}, [7, 8, 5], "the number of channels (5) must be a multiple of the number of groups (4)"),
        ({}, [7, 8, 16], "the number of groups (32) cannot be more than the number of channels (16)"),
    ],
)
def test_group_normalisation_refusals(cfg, in_shape, fragment):
    check_keras_refused(
        "GroupNormalization", {"groups": 32, **cfg}, in_shape, fragment, at="groups", code="shape.mismatch"
    )
