"""A Drawing (cnncalc/draw.py) as a standalone SVG: boxes in layers, top to bottom, made by
cnncalc with no system dependency.

The layout is the layered one Graphviz's dot and dagre use (Sugiyama's), in small steps that
each take time in proportion to the boxes, the arrows and the layers the arrows cross:

1. each box's layer is its longest path from an input (an input sits just above its first
   reader), and an arrow that skips layers becomes a chain of points, one per layer it crosses,
   so that it runs in a lane of its own beside the boxes, never through them (MAX_POINTS of
   them in all: an arrow past those is drawn straight across);
2. within a layer, boxes and lanes are ordered to cross as few arrows as possible: a first
   order from a depth-first walk (a branch's boxes stay together), then sweeps down and up
   that sort each layer by the mean place of its neighbours, keeping the best order seen;
3. the boxes' x positions are Brandes and Köpf's: each box lined up with a median neighbour
   where no lane is crossed, four ways (up or down, from the left or right), packed as tight
   as the gaps allow, and their balance taken, so chains and lanes run straight;
4. each arrow leaves its box's bottom and enters the next box's top at a port of its own,
   ordered as the arrows come, so that arrowheads never pile up and ports never cross.

The HTML report (cnncalc/render/assets/layout.js) lays its diagram out by the same steps in
JavaScript; tests/test_report_browser.py checks both agree on the zoo, so a change here is made
there too.

Each box is shaded by its share of the network's parameters, MACs or activation memory (--by).
Every label is XML-escaped; the file holds no script and loads nothing.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from cnncalc.draw import Drawing, Node
from cnncalc.render.units import human_bytes, human_count

BOX_H, GAP_Y, MARGIN, HEADER = 62, 36, 20, 58
BOX_MIN_W, BOX_MAX_W, PAD = 150, 300, 8
GAP_BOX, GAP_LANE = 26, 12  # between two boxes; between a lane and a box or another lane
SWEEPS = 12  # ordering sweeps (down, then up) at most; they stop when no crossing is left
# the rows the arrows skip, in all (the zoo's most: 5,092, a DDPM UNet's): each is a point of the
# arrow's lane and route, but a spec's n layers can skip n²/2 rows (each reading the input, or a
# layer half as far up), so an arrow past them is drawn straight across, over the boxes between
MAX_POINTS = 100_000
SIZE, LINE = 11, 13.5  # font size and line height, in pixels


class Layout:
    """Where everything goes: each box's top-left corner (`boxes`), each arrow's route as the
    points it passes (`routes`, keyed by (source, target)), the picture's size, and how many
    steps the ordering and placing took (`work`: it grows with the graph, not its square)."""

    __slots__ = ("boxes", "routes", "box_w", "width", "height", "crossings", "work")

    def __init__(self, boxes, routes, box_w, width, height, crossings, work):
        self.boxes: dict[str, tuple[float, float]] = boxes
        self.routes: dict[tuple[str, str], list[tuple[float, float]]] = routes
        self.box_w, self.width, self.height = box_w, width, height
        self.crossings: int = crossings
        self.work: int = work


class _Graph:
    """The layered graph: items 0..n-1 are the drawing's nodes, the rest the points of arrows
    that skip layers (one per layer crossed); `up` and `down` link items in adjacent layers."""

    __slots__ = ("n", "rank", "up", "down", "rows", "chains", "above", "below", "work")

    def __init__(self, n: int):
        self.n = n
        self.above: dict[int, int] = {}  # a box's partner in the row above, kept in line (_spine)
        self.below: dict[int, int] = {}  # and in the row below
        self.rank: list[int] = []
        self.up: list[list[int]] = []
        self.down: list[list[int]] = []
        self.rows: list[list[int]] = []
        self.chains: list[list[int]] = []  # each edge: source, its points, target
        self.work = 0

    def link(self, a: int, b: int) -> None:
        self.down[a].append(b)
        self.up[b].append(a)

    def add(self, rank: int) -> int:
        self.rank.append(rank)
        self.up.append([])
        self.down.append([])
        return len(self.rank) - 1


def _ranks(n: int, edges: list[tuple[int, int]]) -> tuple[list[int], int]:
    """The longest path from a node nothing feeds; then the chains a broadcast feeds move
    down to just above their readers (_hanging), and an input to just above its first reader
    (so a second input used late is drawn where it is used). Also returns the steps taken."""
    outgoing: list[list[int]] = [[] for _ in range(n)]
    feeders = [0] * n
    for a, b in edges:
        outgoing[a].append(b)
        feeders[b] += 1
    waiting = list(feeders)
    ready = [k for k in range(n) if not waiting[k]]
    ready.reverse()
    rank = [0] * n
    while ready:
        k = ready.pop()
        for target in outgoing[k]:
            rank[target] = max(rank[target], rank[k] + 1)
            waiting[target] -= 1
            if not waiting[target]:
                ready.append(target)
    steps = _hanging(rank, outgoing, feeders)
    for k in range(n):
        if not feeders[k] and outgoing[k]:
            rank[k] = min(rank[t] for t in outgoing[k]) - 1
    used = {level: k for k, level in enumerate(sorted(set(rank)))}  # no empty row left behind
    return [used[level] for level in rank], steps + n + len(edges)


BROADCAST = 4  # a box read by this many chains that could hang lower is a broadcast


def _hanging(rank: list[int], outgoing: list[list[int]], feeders: list[int]) -> int:
    """A chain of boxes that one box feeds and that feeds one box further down (a diffusion
    UNet's timestep projection in each block) is drawn just above its reader, when its feeder
    is a broadcast (read by BROADCAST such chains or more, each more than twice its length
    above its reader): the long way down is then the broadcast's one shared lane, not a lane
    per chain. (The short branches of an Inception module or an ASPP stay at the top.)"""
    steps = 0
    for readers in outgoing:
        if len(readers) < BROADCAST:
            continue
        chains = []
        for head in readers:
            chain = [head]
            while len(outgoing[chain[-1]]) == 1 and feeders[outgoing[chain[-1]][0]] == 1:
                chain.append(outgoing[chain[-1]][0])
            steps += len(chain)
            if feeders[head] == 1 and len(outgoing[chain[-1]]) == 1:
                reader = outgoing[chain[-1]][0]
                if rank[reader] - rank[chain[-1]] > 2 * len(chain):  # hangs far above its reader
                    chains.append((chain, rank[reader]))
        if len(chains) >= BROADCAST:
            for chain, below in chains:
                for k, item in enumerate(chain):
                    rank[item] = below - len(chain) + k
    return steps


def _graph(n: int, edges: list[tuple[int, int]]) -> _Graph:
    """The layered graph. The arrows that skip layers from one box share one lane, which
    each leaves at the row above its target (a timestep embedding read by every block is one
    lane down the side, not twenty); so do the arrows into a box that gathers BROADCAST or
    more of them from far above (a concatenation of many earlier layers), each joining the
    lane below its source."""
    graph = _Graph(n)
    ranks, graph.work = _ranks(n, edges)
    for rank in ranks:
        graph.add(rank)
    rank = graph.rank
    far: dict[int, int] = {}
    for a, b in edges:
        if rank[b] - rank[a] > 1:
            far[b] = far.get(b, 0) + 1
    lanes_out: dict[int, list[int]] = {}
    lanes_in: dict[int, list[int]] = {}
    skipped = 0
    for a, b in edges:
        span = rank[b] - rank[a] - 1
        if span > 0 and skipped + span > MAX_POINTS:
            graph.chains.append([a, b])  # unlinked: it orders nothing, and takes no port
            continue
        skipped += max(span, 0)
        if span <= 0:
            chain = [a, b]
        elif far[b] >= BROADCAST:
            chain = [a, *reversed(_lane(graph, lanes_in.setdefault(b, []), b, span, -1)), b]
        else:
            chain = [a, *_lane(graph, lanes_out.setdefault(a, []), a, span, 1), b]
        if span <= 0 or far[b] >= BROADCAST:
            graph.link(a, chain[1])
        else:
            graph.link(chain[-2], b)
        graph.chains.append(chain)
    graph.rows = [[] for _ in range(max(rank, default=-1) + 1)]
    graph.work += len(rank)
    graph.above = _spine(graph, edges)
    graph.below = {a: b for b, a in graph.above.items()}
    return graph


def _lane(graph: _Graph, lane: list[int], end: int, span: int, step: int) -> list[int]:
    """The first `span` points of a box's lane, down from it (step 1) or up from it (-1),
    made as needed."""
    while len(lane) < span:
        point = graph.add(graph.rank[end] + step * (len(lane) + 1))
        last = lane[-1] if lane else end
        graph.link(*((last, point) if step > 0 else (point, last)))
        lane.append(point)
    return lane[:span]


def _spine(graph: _Graph, edges: list[tuple[int, int]]) -> dict[int, int]:
    """The pairs of boxes, one above the other, that are drawn in line: each box's reader in
    the next row that starts the longest chain after it (a ResNet's convolutions, not its
    shortcut's projection), and of the boxes that pick the same reader, the one with the longest
    chain before it. The chains of boxes a network is made of then run straight down, and its
    side branches and skipping arrows bend off them."""
    after, before = [0] * graph.n, [0] * graph.n
    order = sorted(range(graph.n), key=graph.rank.__getitem__)
    readers: list[list[int]] = [[] for _ in range(graph.n)]
    for a, b in edges:
        readers[a].append(b)
    for k in order:
        for b in readers[k]:
            before[b] = max(before[b], before[k] + 1)
    for k in reversed(order):
        after[k] = max((after[b] + 1 for b in readers[k]), default=0)
    picked: dict[int, int] = {}
    for k in order:
        below = [b for b in graph.down[k] if b < graph.n]  # readers in the next row
        if below:
            best = max(below, key=lambda b: (after[b], -b))
            if best not in picked or (before[k], -k) > (before[picked[best]], -picked[best]):
                picked[best] = k
    graph.work += graph.n + len(edges)
    return picked


def _first_order(graph: _Graph) -> None:
    """Rows filled depth first from the inputs, children in the plan's order: a branch's boxes
    come together, and a chain keeps its place."""
    seen = [False] * len(graph.rank)
    for start in range(graph.n):
        if seen[start] or graph.up[start]:
            continue
        stack = [start]
        while stack:
            item = stack.pop()
            if seen[item]:
                continue
            seen[item] = True
            graph.rows[graph.rank[item]].append(item)
            stack.extend(sorted(reversed(graph.down[item]), key=lambda other: other >= graph.n))  # lanes first
            graph.work += 1 + len(graph.down[item])
    for item in range(len(seen)):  # anything not reached from a source (a cycle: never in a plan)
        if not seen[item]:
            graph.rows[graph.rank[item]].append(item)


def _sweep(graph: _Graph, levels, neighbours: list[list[int]], pos: list[float]) -> None:
    """Each row sorted by the mean place of its neighbours in the row before (an item with none
    keeps its place); stable, so ties keep their order."""
    for level in levels:
        row = graph.rows[level]
        key = {}
        for index, item in enumerate(row):
            near = neighbours[item]
            key[item] = sum(pos[u] for u in near) / len(near) if near else index
            graph.work += 1 + len(near)
        row.sort(key=key.__getitem__)
        for index, item in enumerate(row):
            pos[item] = index


def _crossings(graph: _Graph, pos: list[float]) -> int:
    """Arrows crossing between each pair of adjacent rows: inversions, counted with a Fenwick
    tree (n log n)."""
    total = 0
    for upper, lower in zip(graph.rows, graph.rows[1:]):
        ends = sorted((pos[u], pos[v]) for u in upper for v in graph.down[u])
        tree = [0] * (len(lower) + 1)
        for seen, (_, end) in enumerate(ends):
            k = int(end) + 1
            below = 0
            while k > 0:
                below += tree[k]
                k -= k & -k
            total += seen - below  # earlier arrows that end to the right of this one
            k = int(end) + 1
            while k <= len(lower):
                tree[k] += 1
                k += k & -k
        graph.work += len(ends) + len(lower)
    return total


def _order(graph: _Graph) -> int:
    """Orders every row; returns the crossings left."""
    _first_order(graph)
    pos = [0.0] * len(graph.rank)
    for row in graph.rows:
        for index, item in enumerate(row):
            pos[item] = index
    best, best_rows, stale = _crossings(graph, pos), [list(row) for row in graph.rows], 0
    down, up = range(1, len(graph.rows)), range(len(graph.rows) - 2, -1, -1)
    for sweep in range(2 * SWEEPS):
        if best == 0 or stale >= 4:
            break
        if sweep % 2:
            _sweep(graph, up, graph.down, pos)
        else:
            _sweep(graph, down, graph.up, pos)
        count = _crossings(graph, pos)
        if count < best:
            best, best_rows, stale = count, [list(row) for row in graph.rows], 0
        else:
            stale += 1
    graph.rows = best_rows
    return best


def _gap(graph: _Graph, a: int, b: int, box_w: float) -> float:
    """The least distance between the centres of two neighbours in a row."""
    if a < graph.n and b < graph.n:
        return box_w + GAP_BOX
    if a < graph.n or b < graph.n:
        return box_w / 2 + GAP_LANE
    return GAP_LANE


def _conflicts(graph: _Graph, pos: list[int]) -> set[tuple[int, int]]:
    """Brandes and Köpf's type-1 conflicts: an arrow between two rows that crosses a lane's
    straight stretch (lane to lane) there; such an arrow never decides an alignment."""
    conflicts = set()
    for above, row in zip(graph.rows, graph.rows[1:]):
        k0, scan = 0, 0
        for index, item in enumerate(row):
            inner = next((u for u in graph.up[item] if u >= graph.n), None) if item >= graph.n else None
            k1 = pos[inner] if inner is not None else len(above)
            if inner is None and index != len(row) - 1:
                continue
            for other in row[scan : index + 1]:
                for u in graph.up[other]:
                    if (pos[u] < k0 or pos[u] > k1) and not (u >= graph.n and other >= graph.n):
                        conflicts.add((u, other))
                graph.work += 1 + len(graph.up[other])
            scan, k0 = index + 1, k1
    return conflicts


def _align(graph: _Graph, rows, neighbours, conflicts) -> tuple[list[int], list[int]]:
    """Vertical alignment: each item joins the block of a median neighbour in the row before,
    left to right, never crossing an earlier alignment or a lane."""
    root = list(range(len(graph.rank)))
    align = list(root)
    pos = [0] * len(root)
    for row in rows:
        for index, item in enumerate(row):
            pos[item] = index
    upward = neighbours is graph.up
    other_side = graph.down if upward else graph.up
    partner, kept = (graph.above, graph.below) if upward else (graph.below, graph.above)
    for row in rows:
        last = -1
        for item in row:
            near = _candidates(graph, item, neighbours, other_side, partner, kept)
            near.sort(key=pos.__getitem__)
            graph.work += 1 + len(near)
            middle = (len(near) - 1) / 2
            for w in near[int(middle) : int(middle + 0.5) + 1]:
                edge = (w, item) if neighbours is graph.up else (item, w)
                if align[item] == item and last < pos[w] and edge not in conflicts:
                    align[w] = item
                    root[item] = root[w]
                    align[item] = root[item]
                    last = pos[w]
    return root, align


def _candidates(graph: _Graph, item: int, neighbours, other_side, partner: dict, kept: dict) -> list[int]:
    """The neighbours an item may line up with: its partner on the spine if it has one there;
    else a box, for a box (the chains of boxes stay straight and the lanes bend, not the other
    way); for a lane's point, the lane's next point (a shared lane runs on where an arrow
    leaves it), or else a box with no box on the lane's side; never a box kept for its own
    partner."""
    near = neighbours[item]
    if item in partner:
        return [partner[item]] if partner[item] in near else []
    free = [w for w in near if w not in kept]
    if item < graph.n:
        return [w for w in free if w < graph.n] or free
    points = [w for w in free if w >= graph.n]
    return points or [w for w in free if all(o >= graph.n for o in other_side[w])]


def _compact(graph: _Graph, rows, root: list[int], box_w: float) -> list[float]:
    """Horizontal compaction: each block as far left as the gaps allow, then moved right
    towards the blocks to its right where nothing holds it."""
    gaps: dict[tuple[int, int], float] = {}
    for row in rows:
        for a, b in zip(row, row[1:]):
            key = (root[a], root[b])
            gaps[key] = max(gaps.get(key, 0.0), _gap(graph, a, b, box_w))
    before: dict[int, list[tuple[int, float]]] = {}
    after: dict[int, list[tuple[int, float]]] = {}
    waiting = dict.fromkeys(set(root), 0)
    for (a, b), gap in gaps.items():
        after.setdefault(a, []).append((b, gap))
        before.setdefault(b, []).append((a, gap))
        waiting[b] += 1
    order = [block for block in sorted(waiting) if not waiting[block]]
    for block in order:  # grows as blocks become ready: a topological order
        for b, _ in after.get(block, ()):
            waiting[b] -= 1
            if not waiting[b]:
                order.append(b)
    x = dict.fromkeys(order, 0.0)
    for block in order:
        x[block] = max((x[a] + gap for a, gap in before.get(block, ())), default=0.0)
    for block in reversed(order):
        if block in after:
            x[block] = max(x[block], min(x[b] - gap for b, gap in after[block]))
    graph.work += len(order) + 2 * len(gaps)
    return [x[root[item]] for item in range(len(root))]


def _coordinates(graph: _Graph, box_w: float) -> list[float]:
    """Each item's centre: the balance of four alignments (Brandes and Köpf)."""
    pos = [0] * len(graph.rank)
    for row in graph.rows:
        for index, item in enumerate(row):
            pos[item] = index
    conflicts = _conflicts(graph, pos)
    layouts = []
    for rows, neighbours in ((graph.rows, graph.up), (graph.rows[::-1], graph.down)):
        for mirrored in (False, True):
            turned = [row[::-1] for row in rows] if mirrored else rows
            root, _ = _align(graph, turned, neighbours, conflicts)
            xs = _compact(graph, turned, root, box_w)
            layouts.append(([-x for x in xs] if mirrored else xs, mirrored))
    spans = [(min(xs), max(xs)) for xs, _ in layouts]
    narrowest = min(range(4), key=lambda k: spans[k][1] - spans[k][0])
    low, high = spans[narrowest]
    shifted = []
    for (xs, mirrored), (left, right) in zip(layouts, spans):
        shift = high - right if mirrored else low - left
        shifted.append([x + shift for x in xs])
    xs = [(sorted(four)[1] + sorted(four)[2]) / 2 for four in zip(*shifted)]
    for row in graph.rows:  # the balance can bring neighbours too close: never overlap
        for a, b in zip(row, row[1:]):
            xs[b] = max(xs[b], xs[a] + _gap(graph, a, b, box_w))
    return xs


def layout(drawing: Drawing, box_w: float | None = None, top: float = MARGIN) -> Layout:
    """The drawing laid out: boxes `box_w` wide (by default as wide as the widest label needs,
    within BOX_MIN_W and BOX_MAX_W), the first row at `top`."""
    index = {node.id: k for k, node in enumerate(drawing.nodes)}
    pairs = [(index[edge.source], index[edge.target]) for edge in drawing.edges]
    graph = _graph(len(drawing.nodes), pairs)
    crossings = _order(graph)
    box_w = box_w or _box_width(drawing.nodes)
    xs = _coordinates(graph, box_w) if graph.rank else []
    left = min((x - (box_w / 2 if k < graph.n else 0) for k, x in enumerate(xs)), default=0.0)
    xs = [x - left + MARGIN for x in xs]
    tops = [top + rank * (BOX_H + GAP_Y) for rank in graph.rank]
    boxes = {node.id: (xs[k] - box_w / 2, tops[k]) for k, node in enumerate(drawing.nodes)}
    routes = {}
    ports_out, ports_in = _ports(graph, xs, box_w)
    for (a, b), chain in zip(pairs, graph.chains):
        points = [(xs[a] + ports_out.get((a, chain[1]), 0.0), tops[a] + BOX_H)]
        for item in chain[1:-1]:
            points += [(xs[item], tops[item]), (xs[item], tops[item] + BOX_H)]
        points.append((xs[b] + ports_in.get((chain[-2], b), 0.0), tops[b]))
        routes[(drawing.nodes[a].id, drawing.nodes[b].id)] = points
    width = max((x + box_w / 2 for x in xs), default=0.0) + MARGIN
    height = max(tops, default=top) + BOX_H + MARGIN
    return Layout(boxes, routes, box_w, width, height, crossings, graph.work)


def positions(drawing: Drawing) -> dict[str, tuple[float, float]]:
    """Each box's top-left corner."""
    return layout(drawing).boxes


def _ports(graph: _Graph, xs: list[float], box_w: float) -> tuple[dict, dict]:
    """Where each arrow leaves its box and enters the next, as offsets from the box's centre:
    an arrow straight below (or above) keeps the centre; the others spread out to their side,
    in the order they go, so that none crosses another at the box."""
    ports_out: dict[tuple[int, int], float] = {}
    ports_in: dict[tuple[int, int], float] = {}
    for item in range(graph.n):
        for near, ports, out in ((graph.down[item], ports_out, True), (graph.up[item], ports_in, False)):
            step = min(14.0, (box_w / 2 - 12) / max(1, len(near)))
            ordered = sorted(near, key=lambda other: (xs[other], other))
            offsets = [xs[other] - xs[item] for other in ordered]
            straight = next((k for k, dx in enumerate(offsets) if abs(dx) < 0.5), None)
            if straight is None:
                centre = (len(ordered) - 1) / 2
                spots = [(k - centre) * step for k in range(len(ordered))]
            else:
                spots = [(k - straight) * step for k in range(len(ordered))]
            for other, spot in zip(ordered, spots):
                ports[(item, other) if out else (other, item)] = spot
    return ports_out, ports_in


_MEASURES = {
    "params": "parameters",
    "macs": "MACs",
    "memory": "activation memory (each layer's output, batch 1, float32)",
}


def svg(drawing: Drawing, by: str = "params") -> str:
    """The whole picture: a title and what the shading means, then the arrows under the boxes."""
    where = layout(drawing, _box_width(drawing.nodes, by), top=MARGIN + HEADER)
    most = max(drawing.nodes, key=lambda node: getattr(node, by), default=None)
    peak = getattr(most, by) if most is not None else 0
    notes = f"Shaded by {_MEASURES[by]}."
    borders = f"Darkest: {_fit(most.name, 200)}, {_amount(by, peak)}. " if peak else ""
    borders += "Green: an input; heavy blue border: an output." if drawing.outputs else "Green: an input."
    title = _fit(drawing.name, max(where.width, 480) - 2 * MARGIN, 15, True)
    width = max(
        where.width, *(_width(line) + 2 * MARGIN for line in (notes, borders)), _width(title, 15, True) + 2 * MARGIN
    )
    height = where.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="{SIZE}">',
        f"<title>{_text(drawing.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0.5 L8,4 L0,7.5 z" fill="#5b6474"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="15" font-weight="bold" fill="#101828">{_text(title)}</text>',
        f'<text x="{MARGIN}" y="{MARGIN + 33}" fill="#475467">{_text(notes)}</text>',
        f'<text x="{MARGIN}" y="{MARGIN + 33 + LINE}" fill="#475467">{_text(borders)}</text>',
        f'<g transform="translate({(width - where.width) / 2:.0f},0)">',
    ]
    drawn: set = set()  # the stretches already drawn: arrows sharing a lane draw it once
    for edge in drawing.edges:
        points = where.routes[(edge.source, edge.target)]
        steps = list(zip(points, points[1:]))
        new = [k for k, step in enumerate(steps) if step not in drawn] or [len(steps) - 1]
        drawn.update(steps)
        ends = new[-1] == len(steps) - 1  # not where it joins a shared lane into its target
        parts.append(_arrow(points[new[0] : new[-1] + 2], new[0] % 2 == 1, edge.shape, ends))
    for node in drawing.nodes:
        share = getattr(node, by) / peak if peak else 0.0
        parts.append(_box(node, where.boxes[node.id], where.box_w, share, node.id in drawing.outputs, by))
    return "\n".join([*parts, "</g>", "</svg>"]) + "\n"


def _amount(by: str, value: int) -> str:
    return human_bytes(value) if by == "memory" else human_count(value)


def _arrow(points: list[tuple[float, float]], in_lane: bool, shape: str, head: bool = True) -> str:
    """An arrow through its points: curves across the gaps between rows, straight down
    through the rows it crosses in its lane (`in_lane`: it starts inside a row, where it
    leaves a lane it shares); with no head where it joins a shared lane."""
    (x, y), *rest = points
    path = [f"M{x:.1f},{y:.1f}"]
    for k, (x2, y2) in enumerate(rest):
        if (k % 2 == 1) != in_lane or abs(x2 - x) < 0.05:  # down a row in its lane, or straight
            path.append(f"L{x2:.1f},{y2:.1f}")
        else:
            bend = (y2 - y) / 2
            path.append(f"C{x:.1f},{y + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}")
        x, y = x2, y2
    title = f"<title>{_text(shape)}</title>"
    return (
        f'<path d="{"".join(_merged(path))}" fill="none" stroke="#5b6474" stroke-width="1.2" '
        f"{_HEAD if head else ''}>{title}</path>"
    )


def _merged(path: list[str]) -> list[str]:
    """Runs of straight steps down one lane as one step."""
    merged: list[str] = []
    for step in path:
        if step[0] == "L" and merged and merged[-1][0] == "L" and step.split(",")[0] == merged[-1].split(",")[0]:
            merged[-1] = step
        else:
            merged.append(step)
    return merged


def _lines(node: Node, by: str) -> list[str]:
    """What a box says: its name; its type (and how many layers a folded call holds); its
    output's shape; its counts (and, shaded by memory, the bytes of its outputs)."""
    if node.kind == "input":
        return [node.name, "input", node.shape]
    kind = f"{node.kind} · {node.layers} layers" if node.layers > 1 else node.kind
    counts = [f"{human_count(node.params)} params"] if node.params else []
    counts += [f"{human_count(node.macs)} MACs"] if node.macs else []
    if by == "memory" and node.memory:
        counts.append(f"{human_bytes(node.memory)} {'outputs' if node.layers > 1 else 'out'}")
    return [node.name, kind, node.shape, " · ".join(counts)]


def _box_width(nodes, by: str = "params") -> float:
    """Wide enough for the widest label (within the bounds), for every box alike."""
    widest = max((_width(line, bold=k == 0) for node in nodes for k, line in enumerate(_lines(node, by))), default=0)
    return min(BOX_MAX_W, max(BOX_MIN_W, widest + 2 * PAD + 8))


def _fill(share: float) -> str:
    """White (none of the total) to a clear blue (the largest box), through pale blues."""
    low, high = (247, 249, 252), (137, 176, 243)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(low, high))


def _box(node: Node, corner: tuple[float, float], box_w: float, share: float, output: bool, by: str) -> str:
    x, y = corner
    if node.kind == "input":
        fill, stroke = "#e9f5ee", "#2da44e"
    else:
        fill, stroke = _fill(share), "#1f4fbf" if output else "#98a2b3"
    colours = ("#101828", "#3d4a5c", "#101828", "#1d2939")
    texts = "".join(
        f'<text x="{x + PAD:.1f}" y="{y + 16 + LINE * k:.1f}" fill="{colours[k]}"{_BOLD if k == 0 else ""}>'
        f"{_text(_fit(line, box_w - 2 * PAD, SIZE, k == 0))}</text>"
        for k, line in enumerate(_lines(node, by))
        if line
    )
    tooltip = "\n".join(line for line in _lines(node, "memory") if line)
    return (
        f'<g class="box" id="{node.id}"><title>{_text(tooltip)}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w:.0f}" height="{BOX_H}" rx="6" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{2.4 if output else 1}"/>{texts}</g>'
    )


_BOLD = ' font-weight="bold"'
_HEAD = ' marker-end="url(#arrow)"'

# Helvetica's (and Arial's) advance widths, in thousandths of the font size: enough to size
# boxes and clip labels without a font file. Lower case and digits not listed are 556 wide,
# capitals not listed 700 (their mean), anything else as wide as an "m".
_WIDTHS = {
    **dict.fromkeys("ijl", 222),
    **dict.fromkeys("ftI .,:;!'[]/\\|·", 278),
    **dict.fromkeys('r-()"', 333),
    **dict.fromkeys("cksvxyzJ", 500),
    **dict.fromkeys("wCDHNRU", 722),
    **dict.fromkeys("mMGOQ", 833),
    "W": 944,
}


def _width(text: str, size: float = SIZE, bold: bool = False) -> float:
    em = sum(
        _WIDTHS.get(c) or (556 if c.islower() or c.isdigit() or c == "_" else 700 if c.isupper() else 833) for c in text
    )
    return em * size / 1000 * (1.08 if bold else 1.0)


def _fit(text: str, room: float, size: float = SIZE, bold: bool = False) -> str:
    """The text, or its start and end around an ellipsis, within `room` pixels (the start
    names the block, the end the layer)."""
    if _width(text, size, bold) <= room:
        return text
    low, high = 0, len(text)  # the most characters kept that fit: found by halving
    while low < high:
        keep = (low + high + 1) // 2
        if _width(_cut(text, keep), size, bold) <= room:
            low = keep
        else:
            high = keep - 1
    return _cut(text, max(low, 1))


def _cut(text: str, keep: int) -> str:
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def _text(text: str) -> str:
    """Text for the SVG: XML-escaped, quotes too, and no character XML forbids (controls
    written as ?, but for the line breaks of a tooltip)."""
    return escape("".join(c if c.isprintable() or c == "\n" else "?" for c in text), {'"': "&quot;", "'": "&#39;"})
