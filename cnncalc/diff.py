"""What changed between two plans: layers matched by name, and total deltas."""

from __future__ import annotations

from cnncalc.engine import LayerResult, Plan
from cnncalc.errors import Frozen

TOTALS = ("params", "trainable_params", "non_trainable_params", "buffers", "macs")


class LayerChange(Frozen):
    """One layer, matched by name, in the old plan, the new one or both."""

    __slots__ = ("name", "status", "old", "new", "rewired")
    name: str
    status: str  # "added", "removed", "changed" or "unchanged"
    old: LayerResult | None
    new: LayerResult | None
    rewired: bool  # reads other layers than before

    def __init__(self, name: str, status: str, old: LayerResult | None, new: LayerResult | None, rewired: bool = False):
        _set = object.__setattr__
        _set(self, "name", name)
        _set(self, "status", status)
        _set(self, "old", old)
        _set(self, "new", new)
        _set(self, "rewired", rewired)


class TotalChange(Frozen):
    """One total (params, MACs, ...) before and after."""

    __slots__ = ("what", "old", "new")
    what: str
    old: int
    new: int

    def __init__(self, what: str, old: int, new: int):
        _set = object.__setattr__
        _set(self, "what", what)
        _set(self, "old", old)
        _set(self, "new", new)

    @property
    def delta(self) -> int:
        return self.new - self.old

    @property
    def percent(self) -> float | None:
        return 100 * self.delta / self.old if self.old else None


class PlanDiff(Frozen):
    """What changed from one plan to another."""

    __slots__ = ("old", "new", "layers", "totals")
    old: Plan
    new: Plan
    layers: list[LayerChange]
    totals: list[TotalChange]

    def __init__(self, old: Plan, new: Plan, layers: list[LayerChange], totals: list[TotalChange]):
        _set = object.__setattr__
        _set(self, "old", old)
        _set(self, "new", new)
        _set(self, "layers", layers)
        _set(self, "totals", totals)

    @property
    def changed(self) -> list[LayerChange]:
        return [change for change in self.layers if change.status != "unchanged"]


def _same(a: LayerResult, b: LayerResult, rewired: bool) -> bool:
    return (
        (a.type_name, a.output_shape, a.params, a.macs, a.trainable)
        == (
            b.type_name,
            b.output_shape,
            b.params,
            b.macs,
            b.trainable,
        )
        and a.config == b.config
        and not rewired
    )


def rewired(a: LayerResult, b: LayerResult, in_both: set[str]) -> bool:
    """Reads other layers than before. A layer inserted before (or removed from before) a plain
    sequential layer changes what it reads, but that is the insertion, not this layer; so an
    implied input counts only when every layer it names exists in both plans."""
    if a.spec.inputs == b.spec.inputs:
        return False
    written = a.spec.inputs_given or b.spec.inputs_given
    return written or set(a.spec.inputs) | set(b.spec.inputs) <= in_both


def compare(old: Plan, new: Plan) -> PlanDiff:
    """Match layers by name (renaming a layer shows as removed + added), in the new plan's order."""
    old_by_name = {row.name: row for row in old.layers}
    new_names = {row.name for row in new.layers}
    in_both = (set(old_by_name) & new_names) | (set(old.input_shapes) & set(new.input_shapes))
    changes = []
    for row in new.layers:
        before = old_by_name.get(row.name)
        if before is None:
            changes.append(LayerChange(row.name, "added", None, row))
        else:
            moved = rewired(before, row, in_both)
            status = "unchanged" if _same(before, row, moved) else "changed"
            changes.append(LayerChange(row.name, status, before, row, moved))
    # removed layers go after the layer that preceded them in the old plan, in their old order
    removed_after: dict[str | None, list[LayerChange]] = {}
    anchor = None
    for row in old.layers:
        if row.name in new_names:
            anchor = row.name
        else:
            removed_after.setdefault(anchor, []).append(LayerChange(row.name, "removed", row, None))
    ordered = list(removed_after.get(None, []))
    for change in changes:
        ordered.append(change)
        ordered += removed_after.get(change.name, [])
    changes = ordered
    totals = [TotalChange(what, getattr(old.totals, what), getattr(new.totals, what)) for what in TOTALS]
    return PlanDiff(old, new, changes, totals)
