"""The Keras convention's layer types: Keras 3's classes and keyword arguments, channels-last.

Imported only for a spec written `convention: keras` (cnncalc.layers.conventions). Each type is
named as keras.layers names its class (Conv2D, MaxPooling2D, BatchNormalization); a spec may
write it in any case, with or without underscores (conv2d, max_pooling2d).
"""

from __future__ import annotations

from cnncalc.layers.base import LayerType
from cnncalc.layers.keras.conv import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from cnncalc.layers.keras.core import (
    ELU,
    Activation,
    Add,
    Average,
    Concatenate,
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Maximum,
    Minimum,
    Multiply,
    Normalization,
    Permute,
    PReLU,
    ReLU,
    Rescaling,
    Reshape,
    Softmax,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
    Subtract,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from cnncalc.layers.keras.norm import BatchNormalization, GroupNormalization, LayerNormalization
from cnncalc.layers.keras.pool import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)

KERAS_TYPES: tuple[type[LayerType], ...] = (
    # convolutions
    Conv1D,
    Conv2D,
    Conv3D,
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    # pooling
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    # normalisation
    BatchNormalization,
    LayerNormalization,
    GroupNormalization,
    # dense and reshaping
    Dense,
    Flatten,
    Reshape,
    Permute,
    Embedding,
    Normalization,
    # regularisation and placeholders
    Dropout,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
    Identity,
    Rescaling,
    # activations
    Activation,
    ReLU,
    LeakyReLU,
    ELU,
    PReLU,
    Softmax,
    # padding, cropping, upsampling
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
    Cropping1D,
    Cropping2D,
    Cropping3D,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    # merges
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
)


# torch.nn's names that are not Keras's (normalised, no '_'): what to write instead, for the
# message of a PyTorch type in a Keras-convention spec
TORCH_NAMES = {
    "linear": "Dense",
    "fc": "Dense",
    "batchnorm1d": "BatchNormalization",
    "batchnorm2d": "BatchNormalization",
    "batchnorm3d": "BatchNormalization",
    "layernorm": "LayerNormalization",
    "groupnorm": "GroupNormalization",
    "convtranspose1d": "Conv1DTranspose",
    "convtranspose2d": "Conv2DTranspose",
    "convtranspose3d": "Conv3DTranspose",
    "adaptiveavgpool2d": "GlobalAveragePooling2D with keepdims: true (to 1x1)",
    "adaptivemaxpool2d": "GlobalMaxPooling2D with keepdims: true (to 1x1)",
    "upsample": "UpSampling2D",
    "zeropad2d": "ZeroPadding2D",
    "dropout2d": "SpatialDropout2D",
    "mul": "Multiply",
    "relu6": "ReLU with max_value: 6",
    **{n: f"Activation with activation: {n}" for n in ("sigmoid", "tanh", "gelu", "silu", "mish", "softplus")},
    "hardswish": "Activation with activation: hard_swish",
    "hardsigmoid": "Activation with activation: hard_sigmoid",
}


def _normalise(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


KERAS_REGISTRY: dict[str, LayerType] = {}
for _cls in KERAS_TYPES:
    _layer = _cls()
    for _name in (_cls.type_name, *_cls.aliases):
        if _normalise(_name) in KERAS_REGISTRY:  # pragma: no cover - guarded by tests
            raise RuntimeError(f"Keras layer name {_name!r} registered twice")
        KERAS_REGISTRY[_normalise(_name)] = _layer
