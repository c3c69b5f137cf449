"""`cnncalc draw`: a plan as a graph to draw: one node per layer, or per block call folded at
`depth`, and one edge per tensor passed from one node to another, with its shape.

Pure: it returns a Drawing; cnncalc/render/graph.py writes it as Mermaid or DOT, and
cnncalc/render/svg.py as an SVG. The ids are cnncalc's own (n0, n1, ...); labels are the
spec's names, which each renderer escapes for its format.
"""

from __future__ import annotations

from cnncalc.engine import Plan
from cnncalc.errors import Frozen
from cnncalc.layers.base import fmt_shape
from cnncalc.memory import estimate

_set = object.__setattr__


class Node(Frozen):
    """A layer, a folded block call, or a network input."""

    __slots__ = ("id", "name", "kind", "shape", "params", "macs", "layers", "memory")
    id: str
    name: str  # the layer's or the call's full name, or the input's
    kind: str  # the layer's type, the block's name, or "input"
    shape: str  # its output's shape, as text
    params: int
    macs: int
    layers: int  # how many layers it stands for
    memory: int  # the bytes of its layers' outputs (JSON's output_bytes summed: batch 1, float32)

    def __init__(self, id: str, name: str, kind: str, shape: str, params: int, macs: int, layers: int, memory: int = 0):
        for key, value in zip(self.__slots__, (id, name, kind, shape, params, macs, layers, memory)):
            _set(self, key, value)


class Edge(Frozen):
    """A tensor from one node to another."""

    __slots__ = ("source", "target", "shape")
    source: str
    target: str
    shape: str

    def __init__(self, source: str, target: str, shape: str):
        _set(self, "source", source)
        _set(self, "target", target)
        _set(self, "shape", shape)


class Drawing(Frozen):
    __slots__ = ("name", "nodes", "edges", "outputs")
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    outputs: tuple[str, ...]  # the ids of the nodes whose values the network returns

    def __init__(self, name: str, nodes, edges, outputs):
        _set(self, "name", name)
        _set(self, "nodes", tuple(nodes))
        _set(self, "edges", tuple(edges))
        _set(self, "outputs", tuple(outputs))


def drawing(plan: Plan, depth: int | None = None) -> Drawing:
    """The plan's graph; with `depth`, the layers inside block calls (or lists) nested deeper
    than `depth` folded into their call at that depth (depth 1: the top level's entries)."""
    owner: dict[str, str] = {}  # tensor name -> the drawn name it belongs to
    members: dict[str, list] = {}
    kinds: dict[str, str] = {}
    for name in plan.input_shapes:
        owner[name] = name
        members[name] = []
        kinds[name] = "input"
    for row in plan.layers:
        folded = row.spec.groups[depth - 1] if depth is not None and len(row.spec.groups) >= depth else None
        drawn = folded.name if folded is not None else row.name
        owner[row.name] = drawn
        members.setdefault(drawn, []).append(row)
        kinds[drawn] = folded.block if folded is not None else row.type_name
    ids = {name: f"n{k}" for k, name in enumerate(members)}
    shapes = {**plan.input_shapes, **{row.name: row.output_shape for row in plan.layers}}
    output_bytes = dict(zip((row.name for row in plan.layers), estimate(plan).layer_output_bytes))
    nodes = [_node(ids[name], name, kinds[name], rows, shapes, output_bytes) for name, rows in members.items()]
    edges: dict[tuple[str, str], Edge] = {}
    for row in plan.layers:
        for source in row.spec.inputs:
            a, b = ids[owner[source]], ids[owner[row.name]]
            if a != b and (a, b) not in edges:
                edges[(a, b)] = Edge(a, b, fmt_shape(shapes[source]))
    outputs = {ids[owner[name]] for name in plan.output_shapes}
    return Drawing(plan.name, nodes, edges.values(), [i for i in ids.values() if i in outputs])


def _node(id: str, name: str, kind: str, rows: list, shapes: dict, output_bytes: dict[str, int]) -> Node:
    if not rows:  # an input
        return Node(id, name, kind, fmt_shape(shapes[name]), 0, 0, 0)
    last = rows[-1]
    if len(rows) > 1:  # a folded call: its output is its group's
        group = next(g for g in last.spec.groups if g.name == name)
        last = next((row for row in rows if row.name == group.output), last)
    params = sum(row.params for row in rows)
    macs = sum(row.macs for row in rows)
    memory = sum(output_bytes[row.name] for row in rows)
    return Node(id, name, kind, fmt_shape(last.output_shape), params, macs, len(rows), memory)


def region(picture: Drawing, names: set[str]) -> Drawing:
    """The nodes named, and those one arrow away: the part of a drawing around a change."""
    chosen = {node.id for node in picture.nodes if node.name in names}
    for edge in picture.edges:
        if edge.source in chosen or edge.target in chosen:
            chosen |= {edge.source, edge.target}
    nodes = [node for node in picture.nodes if node.id in chosen]
    edges = [edge for edge in picture.edges if edge.source in chosen and edge.target in chosen]
    return Drawing(picture.name, nodes, edges, [i for i in picture.outputs if i in chosen])
