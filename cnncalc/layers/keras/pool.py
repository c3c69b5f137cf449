"""Keras's pooling at any rank: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D (whose stride defaults
to the pool size, and whose 'same' keeps ceil(n / strides)), and the global poolings (`keepdims`)."""

from __future__ import annotations

from math import prod
from typing import ClassVar

from cnncalc.layers.arithmetic import padded_window_steps
from cnncalc.layers.base import REQUIRED, UNDEFINED, Bool, Field, PerAxis, Saved, Shape, axes_of, unread_note
from cnncalc.layers.keras.base import KerasLayer, Lowercase, channels
from cnncalc.layers.keras.conv import windows


class _Pool(KerasLayer):
    """A window sliding over `rank` axes, one channel at a time; no parameters."""

    rank: ClassVar[int]
    main_field = "pool_size"

    @classmethod
    def make_fields(cls, rank: int, pool_default) -> tuple[Field, ...]:
        return (
            Field("pool_size", PerAxis(min=1, rank=rank), pool_default),
            Field("strides", PerAxis(min=1, rank=rank), None, doc="null: the pool size"),
            Field("padding", Lowercase("valid", "same"), "valid", doc="'same' keeps ceil(n / strides)"),
        )

    def resolved_config(self, cfg: dict, shape: Shape) -> dict:
        return {**cfg, "strides": cfg["strides"] or cfg["pool_size"]}

    def windows(self, cfg: dict, shape: Shape):
        resolved = {**self.resolved_config(cfg, shape), "dilation_rate": (1,) * self.rank}
        return windows(self.rank, shape, resolved, "pool_size")

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        sizes, _ = self.windows(cfg, shape)
        return (*sizes, channels(shape))

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * prod(cfg["pool_size"])  # each output compares or sums its window

    def notes(self, cfg: dict, shape: Shape, out: Shape) -> list[tuple[str | None, str]]:
        _, pads = self.windows(cfg, shape)
        strides = self.resolved_config(cfg, shape)["strides"]
        spans = zip(axes_of(self.rank), shape[:-1], cfg["pool_size"], strides, pads, out[:-1])
        note = unread_note([(axis, n, before, after, k, 1, s, m) for axis, n, k, s, (before, after), m in spans])
        return [("pool_size", note)] if note else []

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        strides = self.resolved_config(cfg, shape)["strides"]
        ones = (1,) * self.rank
        return padded_window_steps(axes_of(self.rank), shape[:-1], cfg["pool_size"], strides, ones, cfg["padding"])

    def receptive_window(self, cfg: dict, shape: Shape):
        _, pads = self.windows(cfg, shape)
        strides = self.resolved_config(cfg, shape)["strides"]
        return tuple((k, s, before) for k, s, (before, _) in zip(cfg["pool_size"], strides, pads))


class _MaxPool(_Pool):
    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)), Saved("extra", prod(out), "int64"))


class _AveragePool(_Pool):
    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)),)


class MaxPooling1D(_MaxPool):
    """1-D max pooling over [L, C], as keras.layers.MaxPooling1D; pool_size 2 by default.

    Example: [7, 5] {} -> [3, 5] params=0
    """

    type_name = "MaxPooling1D"
    aliases = ("MaxPool1D",)
    rank = 1
    fields = _Pool.make_fields(1, 2)


class MaxPooling2D(_MaxPool):
    """2-D max pooling over [H, W, C], as keras.layers.MaxPooling2D; pool_size (2, 2) by default.

    Example: [62, 62, 32] {} -> [31, 31, 32] params=0
    Example: [7, 8, 2] {pool_size: 3, padding: same} -> [3, 3, 2] params=0
    """

    type_name = "MaxPooling2D"
    aliases = ("MaxPool2D",)
    rank = 2
    fields = _Pool.make_fields(2, 2)


class MaxPooling3D(_MaxPool):
    """3-D max pooling over [D, H, W, C], as keras.layers.MaxPooling3D; pool_size (2, 2, 2) by default.

    Example: [4, 5, 6, 2] {} -> [2, 2, 3, 2] params=0
    """

    type_name = "MaxPooling3D"
    aliases = ("MaxPool3D",)
    rank = 3
    fields = _Pool.make_fields(3, 2)


class AveragePooling1D(_AveragePool):
    """1-D average pooling over [L, C], as keras.layers.AveragePooling1D (pool_size is required).

    Example: [7, 5] {pool_size: 2} -> [3, 5] params=0
    """

    type_name = "AveragePooling1D"
    aliases = ("AvgPool1D",)
    rank = 1
    fields = _Pool.make_fields(1, REQUIRED)


class AveragePooling2D(_AveragePool):
    """2-D average pooling over [H, W, C], as keras.layers.AveragePooling2D (pool_size is required).

    Example: [7, 8, 2] {pool_size: 2} -> [3, 4, 2] params=0
    """

    type_name = "AveragePooling2D"
    aliases = ("AvgPool2D",)
    rank = 2
    fields = _Pool.make_fields(2, REQUIRED)


class AveragePooling3D(_AveragePool):
    """3-D average pooling over [D, H, W, C], as keras.layers.AveragePooling3D (pool_size is required).

    Example: [4, 5, 6, 2] {pool_size: 2} -> [2, 2, 3, 2] params=0
    """

    type_name = "AveragePooling3D"
    aliases = ("AvgPool3D",)
    rank = 3
    fields = _Pool.make_fields(3, REQUIRED)


class _GlobalPool(KerasLayer):
    """One value per channel: [C], or with keepdims [1, ..., 1, C]."""

    rank: ClassVar[int]
    fields = (Field("keepdims", Bool(), False),)

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        return (*(1,) * self.rank, channels(shape)) if cfg["keepdims"] else (channels(shape),)

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(shape)

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED


class _GlobalMax(_GlobalPool):
    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape)), Saved("output", prod(out)))


def _global(kind: str, base: type, rank: int, example: str) -> type:
    """One global pooling type: its class name, aliases and example."""
    axes = {1: "[L, C]", 2: "[H, W, C]", 3: "[D, H, W, C]"}[rank]
    word = "Average" if kind == "Avg" else "Max"
    doc = f"Global {word.lower()} pooling of {axes}, as keras.layers.Global{word}Pooling{rank}D.\n\n    {example}\n    "
    return type(
        f"Global{word}Pooling{rank}D",
        (base,),
        {
            "__doc__": doc,
            "type_name": f"Global{word}Pooling{rank}D",
            "aliases": (f"Global{kind}Pool{rank}D",),
            "rank": rank,
        },
    )


GlobalAveragePooling1D = _global("Avg", _GlobalPool, 1, "Example: [7, 5] {} -> [5] params=0")
GlobalAveragePooling2D = _global("Avg", _GlobalPool, 2, "Example: [7, 7, 2048] {} -> [2048] params=0")
GlobalAveragePooling3D = _global(
    "Avg", _GlobalPool, 3, "Example: [4, 5, 6, 2] {keepdims: true} -> [1, 1, 1, 2] params=0"
)
GlobalMaxPooling1D = _global("Max", _GlobalMax, 1, "Example: [7, 5] {} -> [5] params=0")
GlobalMaxPooling2D = _global("Max", _GlobalMax, 2, "Example: [7, 7, 512] {keepdims: true} -> [1, 1, 512] params=0")
GlobalMaxPooling3D = _global("Max", _GlobalMax, 3, "Example: [4, 5, 6, 2] {} -> [2] params=0")
