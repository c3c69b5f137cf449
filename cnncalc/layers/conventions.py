"""Conventions: whose layers a spec is written in, and how its tensors are laid out.

`pytorch` (the default): torch.nn's types in snake case, tensors channels-first ([C, H, W]).
`keras` (`convention: keras` at the top of a spec, or --convention keras): Keras 3's layer
classes and keyword arguments, tensors channels-last ([H, W, C]), counted as Keras counts.
The Keras types are imported only by a spec that asks for them.
"""

from __future__ import annotations

import re

from cnncalc.layers.base import LayerType, Shape


class Convention:
    """One convention: its layer types by (normalised) name, and where a tensor keeps its channels."""

    __slots__ = ("name", "channels_last", "input_form", "_types")

    def __init__(self, name: str, channels_last: bool, input_form: str):
        self.name, self.channels_last, self.input_form = name, channels_last, input_form
        self._types: dict[str, LayerType] | None = None

    @property
    def types(self) -> dict[str, LayerType]:
        """Normalised name (and alias) -> layer type."""
        if self._types is None:
            if self.channels_last:
                from cnncalc.layers.keras import KERAS_REGISTRY

                self._types = KERAS_REGISTRY
            else:
                from cnncalc.layers import REGISTRY

                self._types = REGISTRY
        return self._types

    def lookup(self, name: str) -> LayerType | None:
        """The layer type called `name` here (any case; Keras's also with or without '_'), or None."""
        return self.types.get(self.normalise(name))

    def normalise(self, name: str) -> str:
        name = name.lower().replace("-", "_")
        return name.replace("_", "") if self.channels_last else name

    def type_names(self) -> list[str]:
        """The names to suggest for a misspelt type: Keras's class names, or torch's snake case."""
        if self.channels_last:
            return sorted({layer.type_name for layer in self.types.values()})
        return list(self.types)

    def default_stem(self, type_name: str) -> str:
        """What an unnamed layer's default name starts with: the type's name, or for Keras its
        class name in snake case, as Keras names layers (max_pooling2d_1)."""
        if not self.channels_last:
            return type_name
        name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type_name)
        return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()

    def default_name(self, stem: str, n: int) -> str:
        """The n-th unnamed layer of a type: relu_1, relu_2 ...; Keras's conv2d, conv2d_1 ..."""
        if not self.channels_last:
            return f"{stem}_{n}"
        return stem if n == 1 else f"{stem}_{n - 1}"

    def channels(self, shape: Shape) -> int:
        return shape[-1] if self.channels_last else shape[0]

    def native_layout(self, rank: int) -> tuple[int, ...]:
        """A tensor's axes as the channels-first axes they hold: (0, 1, 2) for [C, H, W]; (1, 2, 0)
        for Keras's [H, W, C] (the channels, axis 0 of [C, H, W], come last)."""
        if not self.channels_last or rank < 2:
            return tuple(range(rank))
        return (*range(1, rank), 0)


PYTORCH = Convention("pytorch", False, "[C, H, W]")
KERAS = Convention("keras", True, "[H, W, C]")
CONVENTIONS = {"pytorch": PYTORCH, "keras": KERAS}
