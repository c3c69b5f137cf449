"""Where each layer and group is in the exported model: its module path, as get_submodule takes it
(attributes in classes, names in nn.Sequentials); None for a layer written in forward()."""

from __future__ import annotations

from cnncalc.export.drafts import Draft, layer_spec, present
from cnncalc.spec import Group


def module_paths(root: Group, model: Draft, classes: dict[str, Draft], rows: dict) -> dict[str, str | None]:
    paths: dict[str, str | None] = {}
    _Paths(classes, rows, paths).assign(root, model, "")
    return paths


class _Paths:
    def __init__(self, classes: dict[str, Draft], rows: dict, paths: dict):
        self.classes, self.rows, self.paths = classes, rows, paths

    def assign(self, group: Group, cls: Draft | None, prefix: str) -> None:
        """The paths of a group's entries, written as members of `cls` (None: of an nn.Sequential)."""
        for position, entry in enumerate(group.entries):
            if not present(entry):
                continue
            path = prefix + (cls.attributes.get(position, entry.local) if cls is not None else entry.local)
            if entry.kind == "layer":
                spec = layer_spec(self.rows, entry)
                self.paths[entry.target] = None if spec is not None and spec.layer.inline(len(spec.inputs)) else path
                continue
            child: Group = entry.target
            self.paths[child.name] = path
            if child.block == "sequential" or child.repeat is not None:
                self.assign_sequential(child, path)
            else:
                self.assign(child, self.classes.get(child.block), f"{path}.")

    def assign_sequential(self, group: Group, path: str) -> None:
        """The paths inside an nn.Sequential: its children by their names."""
        for sub in group.entries:
            if sub.kind == "layer":
                self.paths[sub.target] = f"{path}.{sub.local}"
            elif sub.target.block == "sequential" or sub.target.repeat is not None:
                holder = Group("", "sequential", None, None, 0, entries=[sub])
                self.assign(holder, None, f"{path}.")
            else:
                self.paths[sub.target.name] = f"{path}.{sub.local}"
                self.assign(sub.target, self.classes.get(sub.target.block), f"{path}.{sub.local}.")
