"""The engine's shape rule for single layers, for a caller that needs a tensor's shape before
the spec is planned: while a spec is expanded, a block that reads `in_channels` gets the
channels of its input from here. The engine reports a shape that cannot be had; here it is
just unknown (None)."""

from __future__ import annotations

from typing import Callable

from cnncalc.errors import LayerError
from cnncalc.layers.base import LayerType, Shape

FAILS = ()  # the shape of a tensor whose layer (or one before it) does not plan


def output_shape(layer: LayerType, cfg: dict, in_shapes: list) -> Shape | None:
    """The layer's output shape on inputs of `in_shapes`; None if an input is unknown, FAILS if an
    input fails or the layer does not plan (the engine reports it when the spec is planned)."""
    if any(s is FAILS for s in in_shapes):
        return FAILS
    if not in_shapes or not all(in_shapes):
        return None
    if layer.input_rank is not None and any(len(s) != layer.input_rank for s in in_shapes):
        return FAILS
    try:
        return layer.output_shape_of(cfg, in_shapes)
    except LayerError:
        return FAILS


class PartialShapes:
    """Output shapes of the layers met so far, each worked out when first asked for, once.

    `resolve` turns what a layer reads (as the front end holds it) into a tensor's name;
    `inputs` are the network's inputs' shapes by name (an empty shape: unknown).
    """

    def __init__(self, inputs: dict[str, Shape], resolve: Callable):
        self.known: dict[str, Shape | None] = {name: shape or None for name, shape in inputs.items()}
        self.layers: dict[str, tuple] = {}
        self.resolve = resolve

    def add(self, name: str, layer: LayerType, cfg: dict, inputs: list) -> None:
        self.layers[name] = (layer, cfg, inputs)

    def of(self, name: str | None) -> Shape | None:
        """The shape of the tensor `name`; None if it cannot be had (yet: a layer defined later, or on
        a cycle), FAILS if it never will (its layer, or one before it, does not plan)."""
        if name is None or name in self.known:
            return self.known.get(name)
        stack, visiting = [name], {name}  # the path being worked out
        while stack:  # depth-first over the inputs still unknown, without recursion
            current = stack[-1]
            if current in self.known:
                visiting.discard(stack.pop())
                continue
            if current not in self.layers:
                self.known[current] = None
                continue
            layer, cfg, inputs = self.layers[current]
            sources = [self.resolve(item) for item in inputs]
            # the next input to work out; one already on the path is on a cycle: unknown
            pending = next((s for s in sources if s is not None and s not in self.known and s not in visiting), None)
            if pending is not None:
                stack.append(pending)
                visiting.add(pending)
                continue
            self.known[current] = output_shape(layer, cfg, [self.known.get(s) for s in sources])
        return self.known[name]
