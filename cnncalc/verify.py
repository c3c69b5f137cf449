"""Prove a plan with PyTorch itself: build the exported module, run it, compare layer by layer.

Needs torch (`pip install 'cnncalc[torch]'`); imported only when verify runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.engine import Plan
from cnncalc.export import attribute_names, class_name, to_pytorch


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

    namespace: dict = {"__name__": "cnncalc_verified"}
    exec(compile(to_pytorch(plan), f"<cnncalc export of {plan.name}>", "exec"), namespace)
    cls = class_name(plan.name)
    with torch.device(device):
        model = namespace[cls]().eval()
    attributes = attribute_names(plan)
    shapes: dict[str, tuple] = {}

    def recorder(attr):
        def hook(module, inputs, output):
            shapes[attr] = tuple(output.shape[1:])

        return hook

    for attr in attributes:
        getattr(model, attr).register_forward_hook(recorder(attr))
    x = torch.zeros((1, *plan.input_shape), device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = counter.get_flop_counts()
    results = []
    for attr, row in zip(attributes, plan.layers):
        module = getattr(model, attr)
        measured = (
            shapes.get(attr),
            sum(p.numel() for p in module.parameters()),
            sum(b.numel() for b in module.buffers()),
            sum(flops.get(f"{cls}.{attr}", {}).values()) // 2,
        )
        planned = (tuple(row.output_shape), row.params, row.buffers, row.macs)
        results.append(Comparison(row.name, row.type_name, planned, measured))
    return results
