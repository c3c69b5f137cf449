"""Prove a plan with PyTorch itself: build the exported module, run it, compare layer by layer.

Needs torch (`pip install 'cnncalc[torch]'`); imported only when verify runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.engine import Plan
from cnncalc.export import class_name, export
from cnncalc.spec import NETWORK_INPUT


class TorchMissing(Exception):
    """PyTorch is not installed."""


@dataclass(frozen=True)
class Comparison:
    """One layer's planned numbers next to what PyTorch measured."""

    name: str
    type_name: str
    planned: tuple  # (output shape, params, buffers, macs)
    measured: tuple

    @property
    def ok(self) -> bool:
        return self.planned == self.measured


def verify(plan: Plan, *, device: str = "meta") -> list[Comparison]:
    """Build the exported module on `device` (meta: no memory, no arithmetic), run one
    forward pass of batch 1, and measure each layer's output shape, parameters, buffers and
    MACs (torch.utils.flop_counter's FLOPs / 2)."""
    try:
        import torch
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:
        raise TorchMissing() from None

    exported = export(plan)
    namespace: dict = {"__name__": "cnncalc_verified"}
    exec(compile(exported.code, f"<cnncalc export of {plan.name}>", "exec"), namespace)
    cls = class_name(plan.name)
    with torch.device(device):
        model = namespace[cls]().eval()
    # batch 2: a batch of one would hide a layer that mixes up the batch axis
    x = torch.zeros((2, *plan.input_shape), device=device)
    # Each layer in dependency order, so each is measured alone: modules called as the exported
    # forward() calls them, merges evaluated from the same expressions it contains.
    tensors = {NETWORK_INPUT: x}
    measured: dict[str, tuple] = {}
    with torch.no_grad():
        for position in plan.order:
            row = plan.layers[position]
            arguments = [tensors[source] for source in row.spec.inputs]
            with FlopCounterMode(display=False) as counter:
                if row.spec.layer.functional:
                    names = [f"inputs[{i}]" for i in range(len(arguments))]
                    expression = row.spec.layer.torch_forward(row.spec.cfg, names)
                    out = eval(expression, {"torch": torch, "inputs": arguments})
                    params = buffers = 0
                else:
                    module = model.get_submodule(exported.paths[row.name])
                    out = module(arguments[0])
                    params = sum(p.numel() for p in module.parameters())
                    buffers = sum(b.numel() for b in module.buffers())
            tensors[row.name] = out
            measured[row.name] = (tuple(out.shape[1:]), params, buffers, counter.get_total_flops() // 2 // len(x))
        # and the exported forward() as a whole, with each block's and list's output on the way
        group_shapes: dict[str, tuple] = {}
        handles = []
        for group in plan.groups:
            path = exported.paths.get(group.name)
            if path and group.output:
                module = model.get_submodule(path)

                def record(module, inputs, output, name=group.name):
                    group_shapes.setdefault(name, tuple(output.shape[1:]))

                handles.append(module.register_forward_hook(record))
        whole = tuple(model(x).shape[1:])
        for handle in handles:
            handle.remove()
    results = [
        Comparison(
            row.name,
            row.type_name,
            (tuple(row.output_shape), row.params, row.buffers, row.macs),
            measured[row.name],
        )
        for row in plan.layers
    ]
    rows = {row.name: row for row in plan.layers}
    for group in plan.groups:
        if group.name in group_shapes:
            planned = (tuple(rows[group.output].output_shape), None, None, None)
            results.append(Comparison(group.name, group.kind, planned, (group_shapes[group.name], None, None, None)))
    results.append(
        Comparison(
            "forward()", "the whole module", (tuple(plan.output_shape), None, None, None), (whole, None, None, None)
        )
    )
    return results
