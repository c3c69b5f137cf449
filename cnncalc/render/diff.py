"""A plan diff as text, JSON or Markdown."""

from __future__ import annotations

import json

from cnncalc import __version__
from cnncalc.diff import PlanDiff, TotalChange
from cnncalc.layers.base import fmt_shape, yaml_text
from cnncalc.render.safe import markdown as markdown_text
from cnncalc.render.safe import markdown_code, terminal
from cnncalc.render.text import aligned
from cnncalc.render.units import human_count

LABELS = {
    "params": "params",
    "trainable_params": "trainable params",
    "non_trainable_params": "non-trainable params",
    "buffers": "buffers",
    "macs": "MACs",
}


def _percent(change: TotalChange) -> str:
    if change.percent is None:
        return "new" if change.new else "-"
    return f"{change.percent:+.2f}%"


def _layer_summary(change, shown=terminal) -> tuple[str, str, str]:
    """Type, shape (and what changed) and params delta; `shown` makes spec text safe for the format."""
    old, new = change.old, change.new
    if change.status == "added":
        return shown(new.type_name), f"-> {fmt_shape(new.output_shape)}", f"+{new.params:,}"
    if change.status == "removed":
        return shown(old.type_name), f"{fmt_shape(old.output_shape)} ->", f"-{old.params:,}" if old.params else "0"
    kind = (
        shown(old.type_name) if old.type_name == new.type_name else f"{shown(old.type_name)} -> {shown(new.type_name)}"
    )
    shape = (
        fmt_shape(new.output_shape)
        if old.output_shape == new.output_shape
        else f"{fmt_shape(old.output_shape)} -> {fmt_shape(new.output_shape)}"
    )
    if old.output_shape == new.output_shape and old.type_name == new.type_name:
        # same shape: say what did change, e.g. "ceil_mode: false -> true"
        edits = [
            f"{shown(key)}: {shown(yaml_text(old.config.get(key)))} -> {shown(yaml_text(new.config.get(key)))}"
            for key in new.config
            if old.config.get(key) != new.config.get(key)
        ]
        if change.rewired:
            edits.append(f"inputs: {shown(', '.join(old.spec.inputs))} -> {shown(', '.join(new.spec.inputs))}")
        if old.trainable != new.trainable:
            edits.append(f"trainable: {yaml_text(old.trainable)} -> {yaml_text(new.trainable)}")
        if edits:
            shape += " (" + "; ".join(edits) + ")"
    delta = new.params - old.params
    return kind, shape, f"{delta:+,}" if delta else "0"


def _conventions(diff: PlanDiff) -> str | None:
    """A line when the two plans are in different conventions: their shapes' orders differ."""
    old, new = diff.old.convention, diff.new.convention
    if old == new:
        return None
    return f"conventions differ: {old} -> {new} (shapes are [C, H, W] in pytorch's, [H, W, C] in keras's)"


def text(diff: PlanDiff, old_label: str, new_label: str) -> str:
    lines = [
        f"--- {terminal(old_label)} ({terminal(diff.old.name)})",
        f"+++ {terminal(new_label)} ({terminal(diff.new.name)})",
        "",
    ]
    if _conventions(diff):
        lines[2:2] = [_conventions(diff)]
    changed = diff.changed
    if changed:
        rows = [("", "Layer", "Type", "Output shape", "Params")]
        marks = {"added": "+", "removed": "-", "changed": "~"}
        rows += [(marks[c.status], terminal(c.name), *_layer_summary(c)) for c in changed]
        lines += aligned(rows, right={4})
    else:
        lines.append("no layer changed")
    lines.append("")
    rows = [("Total", "Old", "New", "Change", "")]
    for change in diff.totals:
        rows.append((LABELS[change.what], f"{change.old:,}", f"{change.new:,}", f"{change.delta:+,}", _percent(change)))
    lines += aligned(rows, right={1, 2, 3, 4})
    return "\n".join(lines)


def _layer_dict(row):
    if row is None:
        return None
    return {
        "type": row.type_name,
        "output_shape": list(row.output_shape),
        "params": row.params,
        "macs": row.macs,
        "trainable": row.trainable,
    }


def document(diff: PlanDiff, old_label: str, new_label: str) -> dict:
    from cnncalc.render.json import SCHEMA_VERSION

    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "old": {"file": old_label, "name": diff.old.name, "convention": diff.old.convention},
        "new": {"file": new_label, "name": diff.new.name, "convention": diff.new.convention},
        "layers": [
            {"name": c.name, "status": c.status, "old": _layer_dict(c.old), "new": _layer_dict(c.new)}
            for c in diff.layers
        ],
        "totals": {c.what: {"old": c.old, "new": c.new, "delta": c.delta, "percent": c.percent} for c in diff.totals},
    }


def as_json(diff: PlanDiff, old_label: str, new_label: str) -> str:
    return json.dumps(document(diff, old_label, new_label), indent=2)


def markdown(diff: PlanDiff, old_label: str, new_label: str) -> str:
    old, new = markdown_code(old_label, in_table=False), markdown_code(new_label, in_table=False)
    lines = [f"**cnncalc diff** {old} → {new}", ""]
    if _conventions(diff):
        lines += [_conventions(diff), ""]
    lines += ["| Total | Old | New | Change |", "|---|--:|--:|--:|"]
    for c in diff.totals:
        if c.what in ("non_trainable_params", "buffers") and not (c.old or c.new):
            continue
        lines.append(
            f"| {LABELS[c.what]} | {human_count(c.old)} | {human_count(c.new)} | {c.delta:+,} ({_percent(c)}) |"
        )
    changed = diff.changed
    lines.append("")
    if not changed:
        lines.append("No layer changed.")
        return "\n".join(lines)
    lines += ["| | Layer | Type | Output shape | Params |", "|---|---|---|---|--:|"]
    marks = {"added": "➕", "removed": "➖", "changed": "✏️"}
    for c in changed:
        kind, shape, params = _layer_summary(c, markdown_text)
        lines.append(f"| {marks[c.status]} | {markdown_code(c.name)} | {kind} | {shape} | {params} |")
    return "\n".join(lines + _changed_region(diff))


_MOST_DRAWN = 40  # boxes in the diagram of a change; a larger change is left undrawn


def _changed_region(diff: PlanDiff) -> list[str]:
    """A Mermaid diagram of the new plan around what was added or changed (GitHub draws it)."""
    from cnncalc.draw import drawing, region
    from cnncalc.render.graph import mermaid

    status = {c.name: c.status for c in diff.changed if c.status in ("added", "changed")}
    if not status:
        return []
    picture = region(drawing(diff.new), set(status))
    if len(picture.nodes) > _MOST_DRAWN:
        return ["", f"_{len(picture.nodes)} layers around the change: too many to draw here (`cnncalc draw`)._"]
    marks = {node.id: status[node.name] for node in picture.nodes if node.name in status}
    return ["", "```mermaid", mermaid(picture, marks).rstrip("\n"), "```"]
