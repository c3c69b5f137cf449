"""A Drawing (cnncalc/draw.py) as Mermaid, for pull-request comments (GitHub renders it in
markdown), or as Graphviz DOT. Every label is written anew from the spec's names and cnncalc's
numbers, escaped for its format: nothing in it can close a quote, start a directive or inject
markup."""

from __future__ import annotations

from cnncalc.draw import Drawing, Node
from cnncalc.render.units import human_count


def _lines(node: Node) -> list[str]:
    """What a box says: its name and type, its output shape, its counts."""
    if node.kind == "input":
        return [node.name, node.shape]
    counts = [f"{human_count(node.params)} params"] if node.params else []
    counts += [f"{human_count(node.macs)} MACs"] if node.macs else []
    folded = f" ({node.layers} layers)" if node.layers > 1 else ""
    return [f"{node.name}: {node.kind}{folded}", node.shape, *([" · ".join(counts)] if counts else [])]


# `%` too: Mermaid reads a `%%{init: ...}%%` directive anywhere in the text, a comment or a label
_MERMAID = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "#": "#35;", "`": "#96;", "%": "#37;"}


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: no quote, tag, entity, comment or directive can start in it."""
    return "".join(_MERMAID.get(c, c) if c.isprintable() else "?" for c in text)


def mermaid(drawing: Drawing, marks: dict[str, str] | None = None) -> str:
    """`flowchart TD`, one box per node (inputs rounded, outputs double-bordered); `marks`
    colours nodes by id: "added" (green) or "changed" (amber)."""
    lines = [f"%% cnncalc draw: {_mermaid_text(drawing.name)}", "flowchart TD"]
    for node in drawing.nodes:
        label = "<br/>".join(_mermaid_text(line) for line in _lines(node))
        if node.kind == "input":
            lines.append(f'  {node.id}(["{label}"])')
        elif node.id in drawing.outputs:
            lines.append(f'  {node.id}[["{label}"]]')
        else:
            lines.append(f'  {node.id}["{label}"]')
    lines += [f"  {edge.source} --> {edge.target}" for edge in drawing.edges]
    if marks:
        lines += ["  classDef added fill:#e6ffed,stroke:#2da44e", "  classDef changed fill:#fff8c5,stroke:#bf8700"]
        for kind in ("added", "changed"):
            ids = [node_id for node_id, mark in marks.items() if mark == kind]
            if ids:
                lines.append(f"  class {','.join(ids)} {kind}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(c if c.isprintable() else "?" for c in text)


def dot(drawing: Drawing) -> str:
    """A Graphviz digraph, top to bottom, the tensors' shapes on the edges."""
    lines = [
        f'digraph "{_dot_text(drawing.name)}" {{',
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fb", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#667085"];',
    ]
    for node in drawing.nodes:
        label = "\\n".join(_dot_text(line) for line in _lines(node))
        style = ', shape=oval, fillcolor="#e8f3ec"' if node.kind == "input" else ""
        style += ", peripheries=2" if node.id in drawing.outputs else ""
        lines.append(f'  {node.id} [label="{label}"{style}];')
    lines += [f'  {e.source} -> {e.target} [label="{_dot_text(e.shape)}"];' for e in drawing.edges]
    return "\n".join([*lines, "}"]) + "\n"
