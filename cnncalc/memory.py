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
    last_use = {NETWORK_INPUT: -1}  # step (in `order`) after which a tensor is no longer read
    for step, position in enumerate(order):
        last_use.setdefault(plan.layers[position].name, step)
        for source in plan.layers[position].spec.inputs:
            last_use[source] = step

    # Storages: 0 is the network's input, which exists anyway and is never counted as saved.
    storage_of = {NETWORK_INPUT: 0}
    storage_bytes = {0: prod(plan.input_shape) * size * batch_size}
    requires_grad = {NETWORK_INPUT: False}  # a tensor requires grad once a trained layer made it
    saved: set[int] = set()
    layer_saved = [0] * len(plan.layers)
    peak_activations = 0
    for step, position in enumerate(order):
        row = plan.layers[position]
        layer, cfg, inputs = row.spec.layer, row.spec.cfg, row.spec.inputs
        in_shapes = [plan.layers_by_name[s].output_shape if s != NETWORK_INPUT else plan.input_shape for s in inputs]
        out_bytes = prod(row.output_shape) * size * batch_size

        # inference: what is still to be read, and this layer's output, are alive together
        alive = {storage_of[name] for name, last in last_use.items() if name in storage_of and last >= step}
        aliased_eval = not layer.merges and layer.output_aliases_input(cfg, training=False)
        peak_activations = max(
            peak_activations, sum(storage_bytes[key] for key in alive) + (0 if aliased_eval else out_bytes)
        )

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
            if not needs[item.needed_for]:
                continue
            item_bytes = item.elements * _FIXED_BYTES.get(item.dtype, size) * (batch_size if item.per_sample else 1)
            if item.what == "extra":
                layer_saved[position] += item_bytes
                continue
            key = storage_of[inputs[item.position]] if item.what == "input" else storage_of[row.name]
            if key != 0 and key not in saved:
                saved.add(key)
                layer_saved[position] += item_bytes

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
