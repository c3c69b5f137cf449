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
from cnncalc.layers.base import LayerType
from cnncalc.layers.conv import Conv2d, ConvTranspose2d
from cnncalc.layers.dense import Flatten, Linear
from cnncalc.layers.merge import Add, ChannelShuffle, Concat, Mul
from cnncalc.layers.misc import Dropout, Dropout2d, Identity, LayerScale, StochasticDepth
from cnncalc.layers.norm import BatchNorm2d, LayerNorm, LayerNorm2d, LocalResponseNorm
from cnncalc.layers.pool import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    MaxPool2d,
)
from cnncalc.layers.resample import Upsample
from cnncalc.layers.reshape import Chunk, Permute, Split

LAYER_TYPES: tuple[type[LayerType], ...] = (
    # convolution
    Conv2d,
    ConvTranspose2d,
    # pooling
    MaxPool2d,
    AvgPool2d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d,
    # fully connected and reshaping
    Linear,
    Flatten,
    Permute,
    Chunk,
    Split,
    # normalisation
    BatchNorm2d,
    LayerNorm,
    LayerNorm2d,
    LocalResponseNorm,
    # resampling
    Upsample,
    # joining branches and reordering channels
    Add,
    Concat,
    Mul,
    ChannelShuffle,
    # regularisation and placeholders
    Dropout,
    Dropout2d,
    Identity,
    LayerScale,
    StochasticDepth,
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
    """The closest of `candidates` to a misspelt `name`, if any is close."""
    import difflib  # only needed when something is misspelt

    matches = difflib.get_close_matches(_normalise(name), list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
