"""`cnncalc import MODULE:CALLABLE --input 3,224,224`: a PyTorch model as a readable spec.

The model is the user's own code, named on the command line (as `verify --against` names it):
built on the meta device, run once on the given input, recorded call by call
(cnncalc/importers/torch_trace.py). The module tree gives the names, the traced tensors the
wiring; each module class becomes a block with arguments, lists of calls `repeat:`
(torch_blocks.py). A call with no spec layer is listed with its module path and nothing is
written.

The result is checked before it is returned: the spec is planned, and every module a layer
stands for is compared with the model's (output shape, parameters, buffers, MACs by
torch.utils.flop_counter), and the totals. Where blocks that merge calls plan otherwise, the
calls are split by their exact structure and checked again; a difference left is an error.
Pure: `to_spec` returns the text.
"""

from __future__ import annotations

import json

from cnncalc.importers.onnx import ImportRefused, _scalar, _value_text
from cnncalc.importers.torch_blocks import REQUIRED, Block, fold_repeats, make_blocks
from cnncalc.importers.torch_body import BodyBuilder, Entry, input_names
from cnncalc.importers.torch_ops import is_leaf, own_forward
from cnncalc.importers.torch_trace import BATCH, TraceError, trace

SHOWN = 30  # refusals listed at most


def to_spec(target: str, input_shapes: list[tuple], kwargs: dict | None = None, name: str | None = None) -> str:
    """The spec text for the model `target` (MODULE:CALLABLE) builds, run on `input_shapes`."""
    torch = _torch()
    model = _model(torch, target, kwargs or {})
    title = name or _default_name(target)
    header = f"# imported from PyTorch by cnncalc: {json.dumps(target)} ({type(model).__name__})"
    try:
        return _attempt(torch, model, input_shapes, title, header, lenient=True)
    except ImportRefused:
        if not any(own_forward(m) for _, m in model.named_modules()):
            raise
    # a subclass of a torch layer with its own forward() computes something else: trace inside it
    return _attempt(torch, model, input_shapes, title, header, lenient=False)


def _attempt(torch, model, input_shapes, title: str, header: str, lenient: bool) -> str:
    seen = _run(torch, model, input_shapes, lambda module: is_leaf(module, lenient))
    wrong: list[str] = []
    for merge in (True, False):
        builder = BodyBuilder()
        root = builder.body(seen.trace.root, input_names(seen.trace.root) if len(input_shapes) > 1 else ["input"])
        if builder.refused:
            _refuse(builder.refused)
        blocks = make_blocks(builder.calls, merge=merge)
        fold_repeats(root, {b.name: {a: d for a, d in b.args if d is not REQUIRED} for b in blocks})
        text = write(
            title, header + _subclasses(model, lenient), seen.trace, root, blocks, input_shapes, builder.outputs
        )
        wrong = _check(text, model, seen)
        if not wrong:
            return text
    raise ImportRefused(["the imported spec plans other numbers than the model (please report it):", *wrong[:SHOWN]])


def _subclasses(model, lenient: bool) -> str:
    """Header lines naming the torch layers' subclasses with their own forward() planned as
    those layers (their counts agree; their values may not)."""
    if not lenient:
        return ""
    found = [f"{path} ({type(m).__name__})" for path, m in model.named_modules() if path and own_forward(m)]
    if not found:
        return ""
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return f"\n# planned as the torch layers they extend, whose own forward() may compute other values: {shown}"


def _torch():
    from cnncalc.verify import TorchMissing, _import_torch

    try:
        return _import_torch()
    except TorchMissing:
        raise ImportRefused(["importing a PyTorch model needs torch: pip install torch"]) from None


def _model(torch, target: str, kwargs: dict):
    from cnncalc.against import AgainstError, _built, load_callable

    try:
        build = load_callable(target)
        with torch.device("meta"):
            return _built(build, kwargs, torch)
    except AgainstError as exc:
        raise _refused([str(exc).replace("--against takes", "import takes")], exc.raised) from None


def _refused(lines: list[str], raised: BaseException | None) -> ImportRefused:
    refused = ImportRefused(lines)
    refused.raised = raised  # the user's code's own exception: CNNCALC_DEBUG=1 shows its traceback
    return refused


def _default_name(target: str) -> str:
    where, _, attribute = target.rpartition(":")
    return attribute.rsplit(".", 1)[-1] or "imported"


class _Seen:
    """The trace, and what the run measured: each leaf module's first output shape and FLOPs."""

    __slots__ = ("trace", "shapes", "flops", "total_flops")

    def __init__(self, trace, shapes, flops, total_flops):
        self.trace, self.shapes, self.flops, self.total_flops = trace, shapes, flops, total_flops


def _run(torch, model, input_shapes: list[tuple], leaf) -> _Seen:
    from torch.utils.flop_counter import FlopCounterMode

    try:
        try:
            with FlopCounterMode(display=False) as counter:
                traced = trace(torch, model, input_shapes, leaf)
        except TraceError as exc:
            if "indices" not in str(exc):
                raise
            with FlopCounterMode(display=False) as counter:  # an embedding first: integer input
                traced = trace(torch, model, input_shapes, leaf, indices=True)
    except TraceError as exc:
        raise _refused([str(exc)], exc.raised) from None
    shapes = {}
    for op in _ops(traced.root):
        if op.module is not None and op.outputs:
            shapes.setdefault(op.path, op.outputs[0].shape)
    root = type(model).__name__
    flops = {}
    for key, counts in counter.get_flop_counts().items():
        if key.startswith(root + "."):
            flops[key[len(root) + 1 :]] = sum(counts.values())
    total = sum(counter.get_flop_counts().get("Global", {}).values())
    return _Seen(traced, shapes, flops, total)


def _ops(scope):
    for item in scope.entries:
        if hasattr(item, "entries"):
            yield from _ops(item)
        else:
            yield item


def _refuse(refused: list[str]) -> None:
    unique = list(dict.fromkeys(refused))
    lines = [f"cannot import the model: no spec layer for {len(unique)} of its calls:", *unique[:SHOWN]]
    if len(unique) > SHOWN:
        lines.append(f"... and {len(unique) - SHOWN} more")
    raise ImportRefused(lines)


# ---- the text -------------------------------------------------------------------------------------


def write(title: str, header: str, traced, root: list[Entry], blocks: list[Block], input_shapes, outputs=()) -> str:
    lines = [f"name: {_scalar(title)}", header]
    names = input_names(traced.root) if len(input_shapes) > 1 else ["input"]
    if len(input_shapes) == 1:
        lines.append(f"input: {_value_text(list(input_shapes[0]))}")
    else:
        lines.append("inputs:")
        lines += [f"  {n}: {_value_text(list(s))}" for n, s in zip(names, input_shapes)]
    if blocks:
        lines.append("blocks:")
        for block in blocks:
            lines += _block_lines(block)
    if outputs:
        lines.append(f"outputs: {_value_text(list(outputs))}")
    lines.append("layers:")
    lines += _entries(root, names[0] if len(names) == 1 else None, "  ")
    return "\n".join(lines) + "\n"


def _block_lines(block: Block) -> list[str]:
    calls = "once" if block.calls == 1 else f"{block.calls} times"
    lines = [f"  {block.name}:  # {json.dumps(block.source)}, called {calls}"]
    if block.args:
        args = [n if d is REQUIRED else f"{n}: {_field(d)}" for n, d in block.args]
        lines.append(f"    args: [{', '.join(args)}]")
    if len(block.inputs) > 1:
        lines.append(f"    inputs: [{', '.join(block.inputs)}]")
    lines.append("    layers:")
    lines += _entries(block.entries, "input" if len(block.inputs) == 1 else None, "      ")
    return lines


def _entries(entries: list[Entry], first_reads: str | None, indent: str, chained: bool = False) -> list[str]:
    lines = []
    previous, certain = first_reads, True
    for position, entry in enumerate(entries):
        implicit = chained or (certain and entry.reads == [previous])
        shown = not (chained and _positional(entries, position))  # a list numbers its entries itself
        lines += _entry(entry, indent, None if implicit else entry.reads, show_name=shown)
        previous, certain = entry.name, entry.when is None
    return lines


def _positional(entries: list[Entry], position: int) -> bool:
    """Whether the list names this entry by its position (an nn.Sequential's child `3`)."""
    entry = entries[position]
    return entry.name == str(position) and all(e.when is None for e in entries[:position])


def _entry(entry: Entry, indent: str, reads, show_name: bool) -> list[str]:
    extra = []
    if reads:
        extra.append(f"inputs: {_names(reads)}")
    if entry.when:
        extra.append(f"when: {entry.when}")
    named = [f"name: {_scalar(entry.name)}"] if show_name and "outputs" not in entry.fields else []
    if entry.kind == "seq":
        head = [*named, *extra, "sequential:"] if named or extra else ["sequential:"]
        lines = [f"{indent}- {head[0]}", *(f"{indent}  {part}" for part in head[1:])]
        return lines + _entries(entry.children, None, indent + "    ", chained=True)
    parts = [f"type: {entry.type}", *named]
    parts += [f"{key}: {_field(value)}" for key, value in entry.fields.items()]
    return [f"{indent}- {{{', '.join(parts + extra)}}}"]


def _names(reads: list[str]) -> str:
    return _scalar(reads[0]) if len(reads) == 1 else _value_text(reads)


def _field(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_field(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_field(v) for v in value) + "]"
    if isinstance(value, str) and " * " in value:  # an expression from a block's arguments
        return value
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "null"
    return _value_text(value)


# ---- the check ------------------------------------------------------------------------------------


def _check(text: str, model, seen: _Seen) -> list[str]:
    """Plan the spec; each layer that has a module in the model against it, and the totals."""
    from cnncalc.engine import plan
    from cnncalc.errors import SpecError
    from cnncalc.spec import parse

    try:
        planned = plan(parse(text))
    except SpecError as exc:
        return [line for line in str(exc).splitlines() if line.strip()]
    modules = dict(model.named_modules())
    wrong = []
    for row in planned.layers:
        module = modules.get(row.name)
        if module is None or not is_leaf(module, own_forward=True):
            continue
        params = sum(p.numel() for p in module.parameters())
        buffers = sum(b.numel() for b in module.buffers())
        macs = seen.flops.get(row.name, 0) // 2 // BATCH
        shape = seen.shapes.get(row.name)
        for what, mine, theirs in (
            ("output shape", tuple(row.output_shape), shape),
            ("params", row.params, params),
            ("buffers", row.buffers, buffers),
            ("MACs", row.macs, macs),
        ):
            if theirs is not None and mine != theirs:
                wrong.append(f"{row.name}: {what} {mine} planned, {theirs} in the model")
    totals = (
        ("params", planned.totals.params, sum(p.numel() for p in model.parameters())),
        ("buffers", planned.totals.buffers, sum(b.numel() for b in model.buffers())),
        ("MACs", planned.totals.macs, seen.total_flops // 2 // BATCH),
        ("output shapes", [tuple(s) for s in planned.output_shapes.values()], [v.shape for v in seen.trace.outputs]),
    )
    wrong += [f"total {what}: {mine} planned, {theirs} in the model" for what, mine, theirs in totals if mine != theirs]
    return wrong
