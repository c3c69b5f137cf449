"""Keras's pooling in the Keras convention: the stride defaults to the pool size, 'same' keeps
ceil(n / strides), AveragePooling needs its pool_size; global pooling with and without keepdims.
Checked against Keras 3 itself."""

import pytest
from keras_cases import check_keras_layer, check_keras_refused

POOL = [
    ("MaxPooling2D", {}, [62, 62, 32], [31, 31, 32]),  # pool_size 2 by default, strides = pool_size
    ("MaxPooling2D", {}, [7, 9, 3], [3, 4, 3]),
    ("MaxPooling2D", {"pool_size": 3}, [3, 4, 2], [1, 1, 2]),
    ("MaxPooling2D", {"pool_size": 3, "padding": "same"}, [7, 8, 2], [3, 3, 2]),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2}, [7, 8, 2], [3, 3, 2]),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, [112, 112, 64], [56, 56, 64]),
    ("MaxPooling1D", {}, [7, 5], [3, 5]),
    ("MaxPooling1D", {"pool_size": 4, "padding": "same"}, [2, 5], [1, 5]),  # a pool larger than the input
    ("MaxPooling3D", {}, [4, 5, 6, 2], [2, 2, 3, 2]),
    ("AveragePooling2D", {"pool_size": 2}, [7, 8, 2], [3, 4, 2]),
    ("AveragePooling2D", {"pool_size": [2, 3], "strides": 1, "padding": "same"}, [7, 8, 2], [7, 8, 2]),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2}, [9, 4], [4, 4]),
    ("AveragePooling3D", {"pool_size": 2}, [4, 5, 6, 2], [2, 2, 3, 2]),
    ("GlobalAveragePooling2D", {}, [7, 7, 2048], [2048]),
    ("GlobalAveragePooling2D", {"keepdims": True}, [7, 8, 5], [1, 1, 5]),
    ("GlobalMaxPooling2D", {}, [7, 8, 5], [5]),
    ("GlobalAveragePooling1D", {}, [7, 5], [5]),
    ("GlobalMaxPooling3D", {"keepdims": True}, [4, 5, 6, 2], [1, 1, 1, 2]),
]


@pytest.mark.parametrize(("type_name", "cfg", "in_shape", "out_shape"), POOL)
def test_pooling(type_name, cfg, in_shape, out_shape):
    check_keras_layer(type_name, cfg, in_shape, out_shape, 0)


def test_a_pool_larger_than_the_input_with_valid_padding_is_refused():
    check_keras_refused(
        "MaxPooling2D",
        {"pool_size": 3},
        [2, 2, 2],
        "pool height 3 is larger than the input height 2",
        at="pool_size",
        code="shape.nonpositive",
    )
