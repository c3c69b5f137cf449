"""Layers inside block calls whose values the model returns (`outputs: [model.24.m.0]`, the
three convs inside YOLO's Detect): each block class on the way to one returns it after its own
output, and its caller unpacks them (`out, m_0, m_1 = self.m(p3, p4, p5)`)."""

from __future__ import annotations

from cnncalc.export.drafts import ExportError
from cnncalc.spec import Group


def exposed_names(root: Group, outputs: tuple[str, ...]) -> dict[str, list[str]]:
    """block name -> the names, relative to a call of it, that its class returns besides its
    output, in the order first needed. A name inside an nn.Sequential (a `repeat:` or a
    `sequential:` list) cannot be returned from there, and is refused."""
    exposed: dict[str, list[str]] = {}
    for name in outputs:
        scope = root
        while True:
            group = _call_holding(scope, name)
            if group is None:
                break
            if group.block == "sequential" or group.repeat is not None:
                kind = "a `sequential:` list" if group.block == "sequential" else "a `repeat:` call"
                raise ExportError(
                    f"outputs: {name!r} is inside {kind} ({group.name!r}), exported as an nn.Sequential, "
                    f"which returns only its last layer's value"
                )
            relative = name[len(group.name) + 1 :]
            names = exposed.setdefault(group.block, [])
            if relative not in names:
                names.append(relative)
            scope = group
    return exposed


def _call_holding(scope: Group, name: str) -> Group | None:
    """The group among `scope`'s entries that `name` is inside, if any."""
    for entry in scope.entries:
        if entry.kind == "group" and name.startswith(entry.target.name + "."):
            return entry.target
    return None
