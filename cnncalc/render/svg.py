"""A Drawing (cnncalc/draw.py) as a standalone SVG: boxes in layers, top to bottom, made by
cnncalc with no system dependency.

The layout is a small layered one, which suits CNN graphs (mostly chains, with branches that
meet again): each box's layer is its longest path from an input; within a layer, boxes are
ordered by the mean position of the boxes that feed them (one sweep down, one up), so a branch
stays beside its siblings; an arrow that skips layers bends out to the side. Each box is shaded
by its share of the network's parameters or MACs (--by). Every label is XML-escaped; the file
holds no script and loads nothing.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from cnncalc.draw import Drawing, Node
from cnncalc.render.units import human_count

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 210, 54, 28, 34, 24


def layers(drawing: Drawing) -> dict[str, int]:
    """Each node's layer: the longest path to it from a node nothing feeds."""
    incoming: dict[str, list[str]] = {node.id: [] for node in drawing.nodes}
    outgoing: dict[str, list[str]] = {node.id: [] for node in drawing.nodes}
    for edge in drawing.edges:
        incoming[edge.target].append(edge.source)
        outgoing[edge.source].append(edge.target)
    waiting = {node: len(sources) for node, sources in incoming.items()}
    ready = [node.id for node in drawing.nodes if not waiting[node.id]]
    rank = dict.fromkeys(ready, 0)
    while ready:
        node = ready.pop()
        for target in outgoing[node]:
            rank[target] = max(rank.get(target, 0), rank[node] + 1)
            waiting[target] -= 1
            if not waiting[target]:
                ready.append(target)
    return rank


def positions(drawing: Drawing) -> dict[str, tuple[float, float]]:
    """Each box's top-left corner."""
    rank = layers(drawing)
    rows: dict[int, list[str]] = {}
    for node in drawing.nodes:  # the plan's order first: a chain keeps its order
        rows.setdefault(rank[node.id], []).append(node.id)
    sources: dict[str, list[str]] = {}
    for edge in drawing.edges:
        sources.setdefault(edge.target, []).append(edge.source)
    place: dict[str, float] = {}
    for level in sorted(rows):
        row = rows[level]
        mean = {n: _mean([place[s] for s in sources.get(n, []) if s in place], i) for i, n in enumerate(row)}
        row.sort(key=lambda n: mean[n])
        for index, node in enumerate(row):
            place[node] = index - (len(row) - 1) / 2
    width = max(len(row) for row in rows.values())
    left = MARGIN + (width - 1) / 2 * (BOX_W + GAP_X)
    return {node: (left + place[node] * (BOX_W + GAP_X), MARGIN + rank[node] * (BOX_H + GAP_Y)) for node in place}


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def svg(drawing: Drawing, by: str = "params") -> str:
    """The whole picture: a title, then the arrows under the boxes."""
    where = positions(drawing)
    width = max(x for x, _ in where.values()) + BOX_W + MARGIN
    height = max(y for _, y in where.values()) + BOX_H + MARGIN
    most = max((getattr(node, by) for node in drawing.nodes), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
        f"<title>{_text(drawing.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#667085"/></marker></defs>',
    ]
    parts += [_arrow(where[e.source], where[e.target], e.shape) for e in drawing.edges]
    parts += [
        _box(node, where[node.id], getattr(node, by) / most, node.id in drawing.outputs) for node in drawing.nodes
    ]
    return "\n".join([*parts, "</svg>"]) + "\n"


def _arrow(start: tuple[float, float], end: tuple[float, float], shape: str) -> str:
    x1, y1 = start[0] + BOX_W / 2, start[1] + BOX_H
    x2, y2 = end[0] + BOX_W / 2, end[1]
    if y2 - y1 > GAP_Y + 1 and abs(x2 - x1) < 1:  # over boxes between: bend out to the right
        side = x1 + BOX_W * 0.62
        path = f"M{x1:.1f},{y1:.1f} C{side:.1f},{y1 + GAP_Y:.1f} {side:.1f},{y2 - GAP_Y:.1f} {x2:.1f},{y2:.1f}"
    else:
        middle = (y1 + y2) / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} {x2:.1f},{y2:.1f}"
    title = f"<title>{_text(shape)}</title>"
    return f'<path d="{path}" fill="none" stroke="#667085" stroke-width="1.2" marker-end="url(#arrow)">{title}</path>'


def _box(node: Node, corner: tuple[float, float], share: float, output: bool) -> str:
    x, y = corner
    if node.kind == "input":
        fill, stroke = "#e8f3ec", "#2da44e"
    else:  # white to blue by the share of parameters (or MACs)
        level = int(245 - 110 * share)
        fill, stroke = f"rgb({level},{int(248 - 70 * share)},255)", "#1f6feb" if output else "#8c95a6"
    counts = [f"{human_count(node.params)} params"] if node.params else []
    counts += [f"{human_count(node.macs)} MACs"] if node.macs else []
    folded = f" ×{node.layers}" if node.layers > 1 else ""
    lines = [f"{node.name}: {node.kind}{folded}", node.shape, " · ".join(counts)]
    texts = "".join(
        f'<text x="{x + 8:.1f}" y="{y + 16 + 14 * i:.1f}"{_BOLD if i == 0 else ""}>{_text(_clip(line))}</text>'
        for i, line in enumerate(lines)
        if line
    )
    width = 2.2 if output else 1
    return (
        f'<g class="box" id="{node.id}"><title>{_text(node.name)}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="7" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{width}"/>{texts}</g>'
    )


_BOLD = ' font-weight="bold"'


def _text(text: str) -> str:
    """Text for the SVG: XML-escaped, and no character XML forbids (controls written as ?)."""
    return escape("".join(c if c.isprintable() else "?" for c in text))


def _clip(text: str, most: int = 34) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
