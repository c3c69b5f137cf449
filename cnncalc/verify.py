"""Prove a plan with PyTorch itself: build the exported module, run it, compare layer by layer.

Needs torch (`pip install 'cnncalc[torch]'`); imported only when verify runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.engine import Plan
from cnncalc.export import export
from cnncalc.layers.attention import index_inputs


class TorchMissing(Exception):
    """PyTorch is not installed."""


class ValuesUnavailable(Exception):
    """The model cannot be run with real arithmetic here (it does not fit in memory)."""


class TorchRefused(Exception):
    """PyTorch itself refuses to build or run the exported module (a size beyond what it takes);
    the message is PyTorch's first line."""


@dataclass(frozen=True)
class Comparison:
    """One layer's planned numbers next to what PyTorch measured."""

    name: str
    type_name: str
    planned: tuple  # (output shape, params, buffers, macs)
    measured: tuple
    kind: str = "layer"  # or "block" (a block call's or list's module), or "forward" (the whole model)

    @property
    def ok(self) -> bool:
        return self.planned == self.measured


def verify(plan: Plan, *, device: str = "meta") -> list[Comparison]:
    """`_verify`, with an error PyTorch raises from its own code turned into TorchRefused (an
    error raised elsewhere is a bug in cnncalc, and goes on)."""
    try:
        return _verify(plan, device=device)
    except (RuntimeError, ValueError, TypeError, OverflowError, IndexError) as exc:
        if not _raised_in_torch(exc):
            raise
        raise TorchRefused(_first_line(exc)) from None


def _raised_in_torch(exc: BaseException) -> bool:
    """Raised by PyTorch: in its own code, or by a torch call in the generated module or in the
    forward() expressions verify evaluates (code named `<...>`)."""
    import os

    import torch

    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = frame.tb_frame.f_code.co_filename if frame is not None else ""
    return where.startswith((os.path.dirname(torch.__file__), "<"))


def _first_line(exc: BaseException) -> str:
    """PyTorch's message without the C++ frames it appends."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


_BATCH = 2  # a batch of one would hide a layer that mixes up the batch axis


def _meta_inputs(torch, plan: Plan) -> dict:
    """Each network input, a batch of two on the meta device; an input larger than PyTorch's
    sizes is its refusal."""
    try:
        indices = index_inputs(plan)  # an embedding's input holds integer indices
        return {
            name: torch.zeros((_BATCH, *shape), device="meta", dtype=torch.long if name in indices else None)
            for name, shape in plan.input_shapes.items()
        }
    except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
        raise TorchRefused(_first_line(exc)) from None


def _shapes_of(output) -> tuple:
    """forward()'s output shape, or for a tuple of outputs the tuple of their shapes."""
    if isinstance(output, (tuple, list)):
        return tuple(tuple(item.shape[1:]) for item in output)
    return tuple(output.shape[1:])


def _planned_output(plan: Plan) -> tuple:
    shapes = [tuple(shape) for shape in plan.output_shapes.values()]
    return shapes[0] if len(shapes) == 1 else tuple(shapes)


def _verify(plan: Plan, *, device: str = "meta") -> list[Comparison]:
    """Build the exported module on the meta device (no memory, no arithmetic), run each layer
    and the whole forward() on a batch of two, and measure each layer's output shape,
    parameters, buffers and MACs (torch.utils.flop_counter's FLOPs / 2), and each block's
    output shape. With another `device` (e.g. "cpu"), also build it there and check, on random
    input, that forward() computes what the layers run one by one compute."""
    torch = _import_torch()
    exported, build = exported_class(plan)
    with torch.device("meta"):
        model = build().eval()
    inputs = _meta_inputs(torch, plan)

    def run_layer(module, row, arguments):
        if row.spec.layer.inline(len(row.spec.inputs)):  # evaluated from the same expression forward() contains
            names = [f"inputs[{i}]" for i in range(len(arguments))]
            return eval(row.spec.layer.torch_forward(row.spec.cfg, names), {"torch": torch, "inputs": arguments})
        return run_member(torch, module, exported.paths[row.name], row.spec.layer, arguments)

    with torch.no_grad():
        measured = _each_layer(torch, plan, model, exported.paths, inputs, run_layer)
        whole, group_shapes = _whole(plan, model, exported.paths, inputs)
    # real arithmetic: a miswired forward() gives other numbers even where every shape agrees
    # (in-place layers that overwrite what others read make the two runs differ by design)
    in_place = any(w.code == "note.in-place" for w in plan.warnings)
    if device != "meta" and whole == _planned_output(plan) and not in_place:
        try:
            same = _same_values(torch, build, plan, device, run_layer)
        except (RuntimeError, MemoryError) as exc:
            raise ValuesUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        if not same:
            whole = "values differ from the layer-by-layer run"
    return _comparisons(plan, measured, group_shapes, whole)


def exported_class(plan: Plan):
    """(the export of `plan`, its model class): cnncalc's own generated code, run here."""
    exported = export(plan)
    namespace: dict = {"__name__": "cnncalc_verified"}
    exec(compile(exported.code, "<cnncalc export>", "exec"), namespace)  # no spec text in the name
    return exported, namespace[exported.model_class]


def member(model, path: str):
    """The model's member at `path`: a module, or a parameter a module holds (a layer scale)."""
    parent, _, name = path.rpartition(".")
    holder = model.get_submodule(parent)
    return holder.get_parameter(name) if name in holder._parameters else holder.get_submodule(name)


def run_member(torch, model, path: str, layer, arguments: list):
    """The layer at `path` run on `arguments` as the exported forward() runs it (layer.torch_call)."""
    names = [f"inputs[{i}]" for i in range(len(arguments))]
    code = layer.torch_call("member", names)
    return eval(code, {"torch": torch, "member": member(model, path), "inputs": arguments})  # our own code


def _import_torch():
    import warnings

    try:
        with warnings.catch_warnings():
            # torch works without numpy, which verify does not need; its warning would only alarm
            warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
            import torch
            import torch.utils.flop_counter  # noqa: F401 - loaded here, under the same filter
    except ImportError:
        raise TorchMissing() from None
    return torch


def _each_layer(torch, plan: Plan, model, paths: dict, inputs: dict, run_layer) -> dict[str, tuple]:
    """Each layer run alone, in dependency order: (output shape, params, buffers, MACs) by name."""
    from torch.utils.flop_counter import FlopCounterMode

    measured: dict[str, tuple] = {}
    tensors = dict(inputs)
    first = next(iter(inputs.values()))
    for position in plan.order:
        row = plan.layers[position]
        with FlopCounterMode(display=False) as counter:
            # a learned tensor reads nothing: it is given the input, for the batch size
            out = run_layer(model, row, [tensors[source] for source in row.spec.inputs] or [first])
        if row.spec.layer.inline(len(row.spec.inputs)):
            params = buffers = 0
        else:
            held = member(model, paths[row.name])
            params = held.numel() if isinstance(held, torch.nn.Parameter) else sum(p.numel() for p in held.parameters())
            buffers = 0 if isinstance(held, torch.nn.Parameter) else sum(b.numel() for b in held.buffers())
        tensors[row.name] = out
        measured[row.name] = (tuple(out.shape[1:]), params, buffers, counter.get_total_flops() // 2 // _BATCH)
    return measured


def _whole(plan: Plan, model, paths: dict, inputs: dict) -> tuple[tuple, dict[str, tuple]]:
    """The exported forward() as a whole: its output shape, and each block's and list's on the way."""
    group_shapes: dict[str, tuple] = {}
    handles = []
    for group in plan.groups:
        path = paths.get(group.name)
        if path and group.output:

            def record(module, inputs, output, name=group.name):
                # a block returning layers inside it too (outputs:) returns its own output first
                first = output[0] if isinstance(output, tuple) else output
                group_shapes.setdefault(name, tuple(first.shape[1:]))

            handles.append(model.get_submodule(path).register_forward_hook(record))
    whole = _shapes_of(model(*inputs.values()))
    for handle in handles:
        handle.remove()
    return whole, group_shapes


def _comparisons(plan: Plan, measured: dict, group_shapes: dict, whole) -> list[Comparison]:
    """Planned next to measured: each layer, each block measured, and the whole forward()."""
    results = [
        Comparison(
            row.name, row.type_name, (tuple(row.output_shape), row.params, row.buffers, row.macs), measured[row.name]
        )
        for row in plan.layers
    ]
    rows = {row.name: row for row in plan.layers}
    for group in plan.groups:
        if group.name in group_shapes:
            # a call whose layers pass its input on (all left out) outputs that input
            shape = (
                rows[group.output].output_shape
                if group.output in rows
                else plan.input_shapes.get(group.output, plan.input_shape)
            )
            planned = (tuple(shape), None, None, None)
            measured_shape = (group_shapes[group.name], None, None, None)
            results.append(Comparison(group.name, group.kind, planned, measured_shape, "block"))
    planned_whole = (_planned_output(plan), None, None, None)
    results.append(Comparison("forward()", "the whole module", planned_whole, (whole, None, None, None), "forward"))
    return results


def _random_input(torch, shape, indices: int | None, generator):
    """Random values for a network input, or random indices below `indices` for one an embedding reads."""
    if indices is None:
        return torch.randn((_BATCH, *shape), generator=generator)
    return torch.randint(0, indices, (_BATCH, *shape), generator=generator)


def _same_values(torch, build, plan: Plan, device: str, run_layer) -> bool:
    """The whole forward() and the layers run one by one give the same output on random input."""
    torch.manual_seed(0)
    with torch.device(device):
        model = build().eval()
    generator = torch.Generator().manual_seed(0)
    indices = index_inputs(plan)
    inputs = {
        name: _random_input(torch, shape, indices.get(name), generator).to(device)
        for name, shape in plan.input_shapes.items()
    }
    returned = set(plan.output_shapes)
    # each output is let go once the last layer reading it has run: a deep model's outputs
    # would not all fit in memory at once
    readers_left: dict[str, int] = {}
    for row in plan.layers:
        for source in row.spec.inputs:
            readers_left[source] = readers_left.get(source, 0) + 1
    tensors = dict(inputs)
    with torch.no_grad():
        for position in plan.order:
            row = plan.layers[position]
            arguments = [tensors[source] for source in row.spec.inputs] or [next(iter(inputs.values()))]
            if row.spec.cfg.get("inplace"):  # keep the input as it was, for its other readers
                arguments = [argument.clone() for argument in arguments]
            tensors[row.name] = run_layer(model, row, arguments)
            del arguments
            if row.name not in readers_left and row.name not in returned:  # read by nothing: kept by nothing
                del tensors[row.name]
            for source in row.spec.inputs:
                readers_left[source] -= 1
                if not readers_left[source] and source not in returned:
                    tensors.pop(source, None)
        expected = [tensors[name] for name in plan.output_shapes]
        tensors.clear()
        output = model(*inputs.values())
    outputs = list(output) if isinstance(output, (tuple, list)) else [output]
    # equal_nan: a max pool's padding can give -inf, and later layers nan, in both runs alike
    return len(outputs) == len(expected) and all(
        torch.allclose(got, want, rtol=1e-4, atol=1e-4, equal_nan=True) for got, want in zip(outputs, expected)
    )
