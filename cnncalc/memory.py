"""Memory estimates for a plan at a batch size and dtype: inference peak and training, term by term.

The training estimate is the memory held between the forward and the backward
pass: weights, buffers, gradients, optimizer state, and the tensors autograd
keeps for backward. What each layer keeps is modelled on PyTorch 2.x (see each
layer's `saved_for_backward`); a tensor kept by several layers, such as a ReLU's
output that the next convolution also needs, is counted once, as one storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.engine import Plan
from cnncalc.spec import NETWORK_INPUT

_FIXED_BYTES = {"int64": 8, "float32": 4}


@dataclass(frozen=True)
class Memory:
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

    @property
    def training_total_bytes(self) -> int:
        return (
            self.params_bytes
            + self.buffers_bytes
            + self.gradients_bytes
            + self.optimizer_bytes
            + self.saved_activations_bytes
        )


def _inference_peak(plan: Plan, order, shapes: dict, element_bytes: int) -> int:
    """The most activation bytes alive at once in an inference pass that frees each tensor after
    its last reader: layer by layer, what is still to be read plus the new output."""
    from collections import defaultdict

    last_use = {NETWORK_INPUT: -1}
    for step, position in enumerate(order):
        row = plan.layers[position]
        last_use[row.name] = step
        for source in row.spec.inputs:
            last_use[source] = step
    last_use[plan.layers[-1].name] = len(order)  # the network's output is returned
    expiring = defaultdict(list)
    for name, step in last_use.items():
        expiring[step].append(name)

    storage_of = {NETWORK_INPUT: 0}
    storage_bytes = {0: prod(plan.input_shape) * element_bytes}
    references = {0: 1}
    live = peak = storage_bytes[0]
    for step, position in enumerate(order):
        row = plan.layers[position]
        layer, inputs = row.spec.layer, row.spec.inputs
        out_bytes = prod(row.output_shape) * element_bytes
        if not layer.merges and layer.output_aliases_input(row.spec.cfg, training=False):
            key = storage_of[inputs[0]]  # a view, or in place: no new memory
        else:
            key = len(storage_bytes)
            storage_bytes[key] = out_bytes
            live += out_bytes
        storage_of[row.name] = key
        references[key] = references.get(key, 0) + 1
        # `a + b + c` makes a temporary for each extra operand
        temporaries = out_bytes * max(0, len(inputs) - 2) if layer.merges else 0
        peak = max(peak, live + temporaries)
        for name in expiring[step]:
            key = storage_of[name]
            references[key] -= 1
            if references[key] == 0:
                live -= storage_bytes[key]
    return peak


def estimate(
    plan: Plan, *, batch_size: int = 1, dtype: str = DEFAULT_DTYPE, optimizer: str = DEFAULT_OPTIMIZER
) -> Memory:
    """Estimate memory for `plan`; every byte count covers the whole batch."""
    size = DTYPE_BYTES[dtype]
    totals = plan.totals
    params_bytes = totals.params * size
    buffers_bytes = sum(
        row.spec.layer.buffer_bytes(row.spec.cfg, row.input_shape, row.output_shape, size) for row in plan.layers
    )

    order = plan.order or tuple(range(len(plan.layers)))
    shapes = {NETWORK_INPUT: plan.input_shape, **{row.name: row.output_shape for row in plan.layers}}
    peak_activations = _inference_peak(plan, order, shapes, size * batch_size)

    # Storages: 0 is the network's input, which exists anyway and is never counted as saved.
    storage_of = {NETWORK_INPUT: 0}
    storage_bytes = {0: prod(plan.input_shape) * size * batch_size}
    requires_grad = {NETWORK_INPUT: False}  # a tensor requires grad once a trained layer made it
    saved: set[int] = set()
    layer_saved = [0] * len(plan.layers)
    for position in order:
        row = plan.layers[position]
        layer, cfg, inputs = row.spec.layer, row.spec.cfg, row.spec.inputs
        in_shapes = [shapes[source] for source in inputs]
        out_bytes = prod(row.output_shape) * size * batch_size

        # training: which storage the output lives in, and what autograd keeps
        if not layer.merges and layer.output_aliases_input(cfg, training=True):
            storage_of[row.name] = storage_of[inputs[0]]
        else:
            storage_of[row.name] = len(storage_bytes)
            storage_bytes[storage_of[row.name]] = out_bytes
        inputs_need_grad = any(requires_grad[s] for s in inputs)
        trains = row.trainable_params > 0
        needs = {"input": inputs_need_grad, "params": trains, "any": inputs_need_grad or trains}
        requires_grad[row.name] = inputs_need_grad or trains
        for item in layer.saved_for_backward_of(cfg, in_shapes, row.output_shape):
            if item.needed_for == "other":
                if not any(requires_grad[s] for i, s in enumerate(inputs) if i != item.position):
                    continue
            elif not needs[item.needed_for]:
                continue
            item_bytes = item.elements * _FIXED_BYTES.get(item.dtype, size) * (batch_size if item.per_sample else 1)
            if item.what == "extra":
                layer_saved[position] += item_bytes
                continue
            key = storage_of[inputs[item.position]] if item.what == "input" else storage_of[row.name]
            if key != 0 and key not in saved:
                saved.add(key)
                # the whole storage stays: a piece of a chunk keeps its siblings alive
                layer_saved[position] += storage_bytes[key]

    # the network's output (its last layer's) is held until the loss is computed
    key = storage_of[plan.layers[-1].name]
    if key != 0 and key not in saved:
        layer_saved[-1] += storage_bytes[key]
    trainable_bytes = totals.trainable_params * size
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
        layer_output_bytes=tuple(prod(r.output_shape) * size * batch_size for r in plan.layers),
        layer_saved_bytes=tuple(layer_saved),
    )
