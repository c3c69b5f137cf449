"""The registry of layer types: every type cnncalc knows is listed here, once.

To add a type, write its class in the family module it belongs to and add it
to LAYER_TYPES; tests/test_registry.py checks the rest.
"""

from __future__ import annotations

from cnncalc.layers.activation import (
    ELU,
    GELU,
    Hardsigmoid,
    Hardswish,
    LeakyReLU,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from cnncalc.layers.attention import Embedding, Matmul, MultiheadAttention
from cnncalc.layers.base import LayerType
from cnncalc.layers.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from cnncalc.layers.dense import Flatten, Linear
from cnncalc.layers.merge import Add, ChannelShuffle, Concat, Mul
from cnncalc.layers.misc import (
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    Identity,
    LayerScale,
    Parameter,
    Rescale,
    StochasticDepth,
)
from cnncalc.layers.norm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    FrozenBatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
    LayerNorm2d,
    LocalResponseNorm,
    Normalize,
)
from cnncalc.layers.padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from cnncalc.layers.pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    GlobalAvgPool1d,
    GlobalAvgPool2d,
    GlobalAvgPool3d,
    GlobalMaxPool1d,
    GlobalMaxPool2d,
    GlobalMaxPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
)
from cnncalc.layers.resample import Upsample
from cnncalc.layers.reshape import Chunk, Permute, Reshape, Select, Split, Transpose, Unflatten
from cnncalc.layers.shuffle import PixelShuffle, PixelUnshuffle

LAYER_TYPES: tuple[type[LayerType], ...] = (
    # convolution
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    # pooling
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    GlobalAvgPool1d,
    GlobalAvgPool2d,
    GlobalAvgPool3d,
    GlobalMaxPool1d,
    GlobalMaxPool2d,
    GlobalMaxPool3d,
    # fully connected and reshaping
    Linear,
    Flatten,
    Permute,
    Transpose,
    Reshape,
    Unflatten,
    Select,
    Chunk,
    Split,
    # sequences and attention
    Embedding,
    MultiheadAttention,
    Matmul,
    # normalisation
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    FrozenBatchNorm2d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    GroupNorm,
    LayerNorm,
    LayerNorm2d,
    LocalResponseNorm,
    Normalize,
    # resampling
    Upsample,
    PixelShuffle,
    PixelUnshuffle,
    # padding
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    # joining branches and reordering channels
    Add,
    Concat,
    Mul,
    ChannelShuffle,
    # regularisation and placeholders
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    Identity,
    Rescale,
    LayerScale,
    StochasticDepth,
    Parameter,
    # activations
    ReLU,
    ReLU6,
    LeakyReLU,
    ELU,
    GELU,
    SiLU,
    Mish,
    Hardswish,
    Hardsigmoid,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    PReLU,
)


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_")


REGISTRY: dict[str, LayerType] = {}
for _cls in LAYER_TYPES:
    _layer = _cls()
    for _name in (_cls.type_name, *_cls.aliases):
        if _normalise(_name) in REGISTRY:  # pragma: no cover - guarded by tests
            raise RuntimeError(f"layer name {_name!r} registered twice")
        REGISTRY[_normalise(_name)] = _layer


def lookup(name: str) -> LayerType | None:
    """The layer type called `name` (canonical name or alias, any case), or None."""
    return REGISTRY.get(_normalise(name))


def suggest(name: str, candidates) -> str | None:
    """The closest of `candidates` to a misspelt `name`, if any is close; between equally close
    ones, the one with the same digits ('convd2' is conv2d, not conv3d).

    >>> suggest("convd2", REGISTRY), suggest("maxpol3d", REGISTRY), suggest("zzz", REGISTRY)
    ('conv2d', 'maxpool3d', None)
    """
    import difflib  # only needed when something is misspelt

    wanted = _normalise(name)
    digits = [c for c in wanted if c.isdigit()]
    spelt: dict[str, str] = {}  # compared in lower case; answered as written (Keras's MaxPooling2D)
    for candidate in candidates:
        spelt.setdefault(_normalise(candidate), candidate)
    matches = difflib.get_close_matches(wanted, list(spelt), n=6, cutoff=0.6)
    if not matches:
        return None
    scores = {m: difflib.SequenceMatcher(None, wanted, m).ratio() for m in matches}
    best = max(matches, key=lambda m: (round(scores[m], 6), [c for c in m if c.isdigit()] == digits, m == matches[0]))
    return spelt[best]
