"""Memory estimates for a plan at a batch size and dtype: inference peak and training, term by term.

The training estimate is the memory held between the forward and the backward
pass: weights, buffers, gradients, optimizer state, and the tensors autograd
keeps for backward. What each layer keeps is modelled on PyTorch 2.x (see each
layer's `saved_for_backward`); a tensor kept by several layers, such as a ReLU's
output that the next convolution also needs, is counted once, as one storage.
"""

from __future__ import annotations

from itertools import accumulate
from math import prod
from typing import TYPE_CHECKING

from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.engine import Plan
from cnncalc.errors import Frozen
from cnncalc.gcpause import paused

if TYPE_CHECKING:
    from collections.abc import Sequence

_FIXED_BYTES = {"int64": 8, "float32": 4}


class Memory(Frozen):
    """Memory at one batch size, dtype and optimizer; every byte count covers the whole batch."""

    __slots__ = ("batch_size", "dtype", "optimizer", "params_bytes", "buffers_bytes", "gradients_bytes")
    __slots__ += ("optimizer_bytes", "saved_activations_bytes", "inference_peak_bytes", "layer_output_bytes")
    __slots__ += ("layer_saved_bytes", "group_saved_bytes")
    batch_size: int
    dtype: str
    optimizer: str
    params_bytes: int
    buffers_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    saved_activations_bytes: int
    inference_peak_bytes: int
    layer_output_bytes: tuple[int, ...]  # each layer's output at this batch size
    layer_saved_bytes: tuple[int, ...]  # what each layer adds to the saved activations
    group_saved_bytes: tuple[int, ...]  # the same summed over each of the plan's groups

    def __init__(
        self,
        batch_size: int,
        dtype: str,
        optimizer: str,
        params_bytes: int,
        buffers_bytes: int,
        gradients_bytes: int,
        optimizer_bytes: int,
        saved_activations_bytes: int,
        inference_peak_bytes: int,
        layer_output_bytes: tuple[int, ...],
        layer_saved_bytes: tuple[int, ...],
        group_saved_bytes: tuple[int, ...] = (),
    ):
        _set = object.__setattr__
        _set(self, "batch_size", batch_size)
        _set(self, "dtype", dtype)
        _set(self, "optimizer", optimizer)
        _set(self, "params_bytes", params_bytes)
        _set(self, "buffers_bytes", buffers_bytes)
        _set(self, "gradients_bytes", gradients_bytes)
        _set(self, "optimizer_bytes", optimizer_bytes)
        _set(self, "saved_activations_bytes", saved_activations_bytes)
        _set(self, "inference_peak_bytes", inference_peak_bytes)
        _set(self, "layer_output_bytes", layer_output_bytes)
        _set(self, "layer_saved_bytes", layer_saved_bytes)
        _set(self, "group_saved_bytes", group_saved_bytes)

    @property
    def training_total_bytes(self) -> int:
        return (
            self.params_bytes
            + self.buffers_bytes
            + self.gradients_bytes
            + self.optimizer_bytes
            + self.saved_activations_bytes
        )


def _inference_peak(plan: Plan, order, output_bytes: list[int], element_bytes: int) -> int:
    """The most activation bytes alive at once in an inference pass that frees each tensor after
    its last reader: layer by layer, what is still to be read plus the new output.

    One walk over the layers: a tensor is released at the step of its last reader (the plan's
    index of readers), or right after it is made if nothing reads it."""
    last_read, returned = plan.last_read, plan.output_shapes
    # storages 0, 1, ...: the network's inputs, there from the start
    storage_of = {name: key for key, name in enumerate(plan.input_shapes)}
    storage_bytes = [prod(shape) * element_bytes for shape in plan.input_shapes.values()]
    references = [1] * len(storage_bytes)
    live = peak = sum(storage_bytes)
    layers = plan.layers
    for step, position in enumerate(order):
        row = layers[position]
        layer_spec = row.spec
        layer, inputs, name = layer_spec.layer, layer_spec.inputs, layer_spec.name
        out_bytes = output_bytes[position]
        if not inputs:  # a learned tensor, expanded over the batch: a view of a parameter
            key = len(storage_bytes)
            storage_bytes.append(0)
            references.append(1)
        elif not layer.merges and layer.output_aliases_input(layer_spec.cfg, False):
            key = storage_of[inputs[0]]  # a view, or in place: no new memory
            references[key] += 1
        else:
            key = len(storage_bytes)
            storage_bytes.append(out_bytes)
            references.append(1)
            live += out_bytes
        storage_of[name] = key
        # `a + b + c` makes a temporary for each extra operand
        temporaries = out_bytes * (len(inputs) - 2) if layer.merges and len(inputs) > 2 else 0
        if live + temporaries > peak:
            peak = live + temporaries
        # the tensors read for the last time, and an output nothing reads (the network's are returned)
        for tensor in inputs if len(inputs) == 1 else dict.fromkeys(inputs):
            if last_read[tensor] == step:
                key = storage_of[tensor]
                references[key] -= 1
                if not references[key]:
                    live -= storage_bytes[key]
        if name not in last_read and name not in returned:
            key = storage_of[name]
            references[key] -= 1
            if not references[key]:
                live -= storage_bytes[key]
    return peak


def _saved_activations(plan: Plan, order, output_bytes: list[int], size: int, batch_size: int) -> list[int]:
    """What each layer adds to the tensors autograd keeps for backward, each storage counted once."""
    # Storages 0, 1, ...: the network's inputs, which exist anyway and are never counted as saved.
    inputs = plan.input_shapes
    storage_of = {name: key for key, name in enumerate(inputs)}
    storage_bytes = [prod(shape) * size * batch_size for shape in inputs.values()]
    requires_grad = dict.fromkeys(inputs, False)  # a tensor requires grad once a trained layer made it
    shapes = dict(inputs)
    saved = [True] * len(inputs)  # by storage: already counted (the inputs never are)
    layer_saved = [0] * len(plan.layers)
    layers = plan.layers
    for position in order:
        row = layers[position]
        layer_spec = row.spec
        layer, cfg, inputs, name = layer_spec.layer, layer_spec.cfg, layer_spec.inputs, layer_spec.name
        if not inputs:  # a learned tensor, expanded over the batch: a view of a parameter
            storage_of[name] = len(storage_bytes)
            storage_bytes.append(0)
            saved.append(True)
        elif not layer.merges and layer.output_aliases_input(cfg, True):
            storage_of[name] = storage_of[inputs[0]]
        else:
            storage_of[name] = len(storage_bytes)
            storage_bytes.append(output_bytes[position])
            saved.append(False)
        shapes[name] = row.output_shape
        if len(inputs) == 1:
            grads, in_shapes = (requires_grad[inputs[0]],), [row.input_shape]
        elif not inputs:
            grads, in_shapes = (), []
        else:
            grads, in_shapes = [requires_grad[source] for source in inputs], [shapes[source] for source in inputs]
        trains = row.trainable_params > 0
        requires_grad[name] = trains or True in grads
        for item in layer.saved_for_backward_of(cfg, in_shapes, row.output_shape):
            if not _kept(item, grads, trains):
                continue
            if item.what == "extra":
                layer_saved[position] += (
                    item.elements * _FIXED_BYTES.get(item.dtype, size) * (batch_size if item.per_sample else 1)
                )
                continue
            key = storage_of[inputs[item.position]] if item.what == "input" else storage_of[name]
            if not saved[key]:
                saved[key] = True
                # the whole storage stays: a piece of a chunk keeps its siblings alive
                layer_saved[position] += storage_bytes[key]
    # the network's outputs (its last layer's, or those `outputs:` lists) are held until the loss is computed
    positions = {row.name: position for position, row in enumerate(layers)} if plan.spec and plan.spec.outputs else {}
    for name in plan.output_shapes:
        key = storage_of[name]
        if not saved[key]:
            saved[key] = True
            layer_saved[positions.get(name, -1)] += storage_bytes[key]
    return layer_saved


def _kept(item, grads: Sequence[bool], trains: bool) -> bool:
    """Whether autograd keeps `item` (see Saved.needed_for), given which inputs require grad."""
    needed_for = item.needed_for
    if needed_for == "input":
        return True in grads
    if needed_for == "params":
        return trains
    if needed_for == "any":
        return trains or True in grads
    return any(grad for i, grad in enumerate(grads) if i != item.position)  # "other"


def estimate(
    plan: Plan, *, batch_size: int = 1, dtype: str = DEFAULT_DTYPE, optimizer: str = DEFAULT_OPTIMIZER
) -> Memory:
    """Estimate memory for `plan`; every byte count covers the whole batch."""
    with paused():
        return _estimate(plan, batch_size, dtype, optimizer)


def _estimate(plan: Plan, batch_size: int, dtype: str, optimizer: str) -> Memory:
    size = DTYPE_BYTES[dtype]
    totals = plan.totals
    params_bytes = totals.params * size
    buffers_bytes = sum(
        row.spec.layer.buffer_bytes(row.spec.cfg, row.input_shape, row.output_shape, size) for row in plan.layers
    )
    order = plan.order or tuple(range(len(plan.layers)))
    element_bytes = size * batch_size
    output_bytes = [prod(row.output_shape) * element_bytes for row in plan.layers]
    peak_activations = _inference_peak(plan, order, output_bytes, element_bytes)
    layer_saved = _saved_activations(plan, order, output_bytes, size, batch_size)
    trainable_bytes = totals.trainable_params * size
    running = list(accumulate(layer_saved, initial=0)) if plan.group_totals else []
    return Memory(
        batch_size=batch_size,
        dtype=dtype,
        optimizer=optimizer,
        params_bytes=params_bytes,
        buffers_bytes=buffers_bytes,
        gradients_bytes=trainable_bytes,
        optimizer_bytes=trainable_bytes * OPTIMIZER_STATES[optimizer],
        saved_activations_bytes=sum(layer_saved),
        inference_peak_bytes=params_bytes + buffers_bytes + peak_activations,
        layer_output_bytes=tuple(output_bytes),
        layer_saved_bytes=tuple(layer_saved),
        group_saved_bytes=tuple(running[group.stop] - running[group.first] for group in plan.group_totals),
    )
