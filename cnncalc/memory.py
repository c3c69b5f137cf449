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

    # Storages: 0 is the network's input, which exists anyway and is never counted.
    saved: dict[int, int] = {}
    layer_saved = []
    storage = 0
    next_storage = 1
    peak_activations = 0
    requires_grad = False  # the input does not; a tensor does once a trained layer made it
    for row in plan.layers:
        layer, cfg = row.spec.layer, row.spec.cfg
        in_bytes = prod(row.input_shape) * size * batch_size
        out_bytes = prod(row.output_shape) * size * batch_size
        # inference: the input and the output are alive while the layer runs
        aliased_eval = layer.output_aliases_input(cfg, training=False)
        peak_activations = max(peak_activations, in_bytes + (0 if aliased_eval else out_bytes))

        in_storage = storage
        if not layer.output_aliases_input(cfg, training=True):
            storage, next_storage = next_storage, next_storage + 1
        trains = row.trainable_params > 0
        needs = {"input": requires_grad, "params": trains, "any": requires_grad or trains}
        requires_grad = requires_grad or trains
        added = 0
        for item in layer.saved_for_backward(cfg, row.input_shape, row.output_shape):
            if not needs[item.needed_for]:
                continue
            item_bytes = item.elements * _FIXED_BYTES.get(item.dtype, size) * (batch_size if item.per_sample else 1)
            if item.what == "extra":
                added += item_bytes
                continue
            key = in_storage if item.what == "input" else storage
            if key != 0 and key not in saved:
                saved[key] = item_bytes
                added += item_bytes
        layer_saved.append(added)

    # the network's output is held until the loss is computed
    last_bytes = prod(plan.output_shape) * size * batch_size
    if storage != 0 and storage not in saved:
        layer_saved[-1] += last_bytes
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
