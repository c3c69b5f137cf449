"""Export a plan as a self-contained PyTorch module, written as a careful engineer would.

The spec's structure is kept: each block becomes an nn.Module class, constructed with the
block's arguments and its input's channel count; a repeated call becomes an nn.Sequential
of them, a `sequential:` list an nn.Sequential. Where a block's calls differ in a way its
arguments do not explain, the differing value becomes one more constructor argument, so
the code stays exact. Pure: it returns source text and never imports torch.

The rooms, in the order the work flows:

- build.py: the walk over the spec's structure, one class per block (drafts.py: what it holds)
- naming.py: class names, attributes, variables; the names nothing may take (prelude.py:
  the module's imports and helpers, the layer types' from the registry)
- values.py, arguments.py: each value the calls of a class may set differently, written as
  the spec's checked expression, a literal, or one more constructor argument
- symbols.py: channel counts as expressions, as each layer type describes them
  (LayerType.channel_symbols)
- emit.py: the text of the classes, forward() and the module; paths.py: each layer's module path
"""

from __future__ import annotations

from cnncalc.engine import Plan
from cnncalc.export.build import Exported, _Exporter
from cnncalc.export.drafts import ExportError, Irregular
from cnncalc.export.naming import MODULE_ATTRIBUTES, RESERVED, attribute_names, class_name

__all__ = [
    "MODULE_ATTRIBUTES",
    "RESERVED",
    "ExportError",
    "Exported",
    "attribute_names",
    "class_name",
    "export",
    "to_pytorch",
]


def export(plan: Plan, *, source: str | None = None) -> Exported:
    if plan.convention != "pytorch":
        raise ExportError(
            f"{plan.name!r} is written in the Keras convention: export it with --to keras (PyTorch's export, "
            f"and so verify, take specs in the PyTorch convention)"
        )
    try:
        return _Exporter(plan).run(source)
    except Irregular as exc:
        raise ExportError(
            f"cannot export {plan.name!r}: {exc.args[0] if exc.args else 'a block is built differently by its calls'}"
            f" in a way one class cannot express yet; please report it"
        ) from None


def to_pytorch(plan: Plan, *, source: str | None = None) -> str:
    """Python source defining the model's nn.Module subclass (and one per block), constructible without arguments."""
    return export(plan, source=source).code
