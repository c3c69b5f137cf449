"""cnncalc draw: one box per layer (or per folded block call) and one arrow per tensor passed
between boxes, as Mermaid or Graphviz DOT; labels escaped so spec text stays text."""

import re
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.draw import drawing
from cnncalc.engine import plan
from cnncalc.render import graph
from cnncalc.spec import load_file, parse

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
BOX = re.compile(r'^  (n\d+)(\(\[|\[\[|\[)"[^"\n]*"(\]\)|\]\]|\])$')
ARROW = re.compile(r"^  (n\d+) --> (n\d+)$")


def _mermaid_parts(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    boxes, arrows = [], []
    for line in text.splitlines()[2:]:
        if match := BOX.match(line):
            boxes.append(match[1])
        elif match := ARROW.match(line):
            arrows.append((match[1], match[2]))
        else:
            raise AssertionError(f"not a box or an arrow: {line!r}")
    return boxes, arrows


@pytest.mark.parametrize("stem", ["seed_50x50", "resnet18", "googlenet", "yolov5s", "ddpm_unet", "mobilenet_v2_keras"])
def test_every_layer_is_a_box_and_every_tensor_an_arrow(stem):
    result = plan(load_file(str(ARCH_DIR / f"{stem}.yaml")))
    boxes, arrows = _mermaid_parts(graph.mermaid(drawing(result)))
    assert len(boxes) == len(result.layers) + len(result.input_shapes)
    wires = {(source, row.name) for row in result.layers for source in row.spec.inputs}
    assert len(arrows) == len(wires) and set(arrows) <= {(a, b) for a in boxes for b in boxes}


def test_depth_folds_block_calls_and_sums_their_counts():
    result = plan(load_file(str(ARCH_DIR / "resnet50.yaml")))
    folded = drawing(result, depth=1)
    names = [node.name for node in folded.nodes]
    assert names == [
        "input",
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "flatten",
        "fc",
    ]
    layer3 = next(node for node in folded.nodes if node.name == "layer3")
    inside = [row for row in result.layers if row.name.startswith("layer3.")]
    assert (layer3.params, layer3.layers, layer3.shape) == (
        sum(r.params for r in inside),
        len(inside),
        "[1024, 14, 14]",
    )
    assert sum(node.params for node in folded.nodes) == result.totals.params
    assert len(drawing(result, depth=2).nodes) > len(folded.nodes)


def test_memory_is_the_json_output_bytes_of_the_layers_a_box_stands_for():
    import json

    out = runner().invoke(cli, ["plan", str(ARCH_DIR / "resnet50.yaml"), "--format", "json"])
    output_bytes = {layer["name"]: layer["output_bytes"] for layer in json.loads(out.stdout)["layers"]}
    result = plan(load_file(str(ARCH_DIR / "resnet50.yaml")))
    full = {node.name: node.memory for node in drawing(result).nodes}
    assert full["conv1"] == output_bytes["conv1"] == 64 * 112 * 112 * 4  # batch 1, float32
    assert full["input"] == 0 and sum(full.values()) == sum(output_bytes.values())
    folded = {node.name: node.memory for node in drawing(result, depth=1).nodes}
    assert folded["layer3"] == sum(size for name, size in output_bytes.items() if name.startswith("layer3."))
    assert sum(folded.values()) == sum(output_bytes.values())


def test_dot_is_one_statement_per_line():
    text = graph.dot(drawing(plan(load_file(str(ARCH_DIR / "resnet18.yaml"))), depth=1))
    lines = text.splitlines()
    assert lines[0] == 'digraph "resnet18" {' and lines[-1] == "}"
    for line in lines[1:-1]:
        assert line.endswith(";") and line.count('"') % 2 == 0 and not re.search(r'[^\\]\\"$', line), line


def test_spec_text_stays_text():
    text = 'name: "x\\" ]; click n1 \\"javascript:alert(1)\\" %% <b>"\ninput: [3, 8, 8]\nlayers:\n  - relu\n'
    result = plan(parse(text, "evil.yaml"))
    mermaid = graph.mermaid(drawing(result))
    assert "click" not in mermaid.split("\n", 1)[1] and "<b>" not in mermaid and "#quot;" in mermaid
    dot = graph.dot(drawing(result))
    assert dot.splitlines()[0] == 'digraph "x\\" ]; click n1 \\"javascript:alert(1)\\" %% <b>" {'
    _mermaid_parts(mermaid)


def test_cli_writes_a_file_or_stdout(tmp_path):
    path = str(ARCH_DIR / "seed_50x50.yaml")
    out = runner().invoke(cli, ["draw", path])
    assert out.exit_code == 0 and out.stdout.startswith("%% cnncalc draw: seed_50x50\nflowchart TD\n")
    target = tmp_path / "g.dot"
    assert runner().invoke(cli, ["draw", path, "--format", "dot", "-o", str(target)]).exit_code == 0
    assert target.read_text().startswith('digraph "seed_50x50"')
    assert runner().invoke(cli, ["draw", path, "--depth", "0"]).exit_code == 2


def test_diff_markdown_draws_the_changed_region(tmp_path):
    old = ARCH_DIR / "seed_50x50.yaml"
    new = tmp_path / "wider.yaml"
    new.write_text(old.read_text().replace("name: conv2, out_channels: 64", "name: conv2, out_channels: 96"))
    text = runner().invoke(cli, ["diff", str(old), str(new), "--format", "markdown"]).stdout
    diagram = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    boxes, arrows = _mermaid_parts("\n".join(line for line in diagram.splitlines() if "class" not in line))
    assert len(boxes) == 8 and ("n3", "n4") in arrows  # conv2 to fc4 changed, and pool1 before them
    assert "class n4,n5,n6,n7,n8 changed" in diagram and "conv1" not in diagram
    same = runner().invoke(cli, ["diff", str(old), str(old), "--format", "markdown"]).stdout
    assert "```mermaid" not in same


SVG_TAGS = {"svg", "title", "defs", "marker", "path", "rect", "text", "g"}


def _svg_tree(text: str):
    """The SVG parsed by xml.etree, its tags without the namespace; asserts it is inert: only
    SVG_TAGS, no script, no event handler (on*=), no reference (href) to anything."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    for element in root.iter():
        assert element.tag.split("}")[-1] in SVG_TAGS, element.tag
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on") and "href" not in attribute.lower(), attribute
            assert "javascript:" not in value.lower() and "http" not in value.lower(), value
    assert "<script" not in text.lower() and "<!entity" not in text.lower()
    return root


def _boxes(root) -> list:
    return [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "box"]


SVG_CASES = [
    ("googlenet", 2),
    ("googlenet", None),
    ("inception_v3", 2),
    ("resnet50", None),
    ("resnet50", 1),
    ("resnet152", 2),
    ("densenet121", 2),
    ("unet", None),
    ("yolov5s", 2),
    ("yolov5s", None),
    ("ddpm_unet", 1),
    ("mobilenet_v2_keras", 1),
    ("resnet50_keras", None),
]


@pytest.mark.parametrize(("stem", "depth"), SVG_CASES)
@pytest.mark.parametrize("by", ["params", "macs", "memory"])
def test_the_svg_is_well_formed_inert_and_one_box_per_node(stem, depth, by):
    from cnncalc.render.svg import svg

    picture = drawing(plan(load_file(str(ARCH_DIR / f"{stem}.yaml"))), depth)
    root = _svg_tree(svg(picture, by))
    assert [box.get("id") for box in _boxes(root)] == [node.id for node in picture.nodes]
    assert float(root.get("width")) < 2500  # readable: no giant widths


@pytest.mark.parametrize(("stem", "depth"), SVG_CASES)
def test_the_layout_has_no_crossing_no_overlap_and_no_arrow_through_a_box(stem, depth):
    from cnncalc.render.svg import BOX_H, GAP_LANE, layout

    picture = drawing(plan(load_file(str(ARCH_DIR / f"{stem}.yaml"))), depth)
    where = layout(picture)
    corners = sorted(where.boxes.values(), key=lambda corner: (corner[1], corner[0]))
    for a, b in zip(corners, corners[1:]):  # a row's boxes, left to right, apart
        assert a[1] != b[1] or b[0] - a[0] >= where.box_w + 10
    rows: dict[float, list[float]] = {}  # each row's boxes' left edges
    for x, y in where.boxes.values():
        rows.setdefault(y, []).append(x)
    gaps: dict[tuple[float, float], set] = {}  # each stretch between two rows, or down one row
    for points in where.routes.values():
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            assert y2 > y1
            gaps.setdefault((y1, y2), set()).add((x1, x2))
            if y2 - y1 == BOX_H:  # down a row, in a lane: beside every box there, never through one
                assert x1 == x2 and all(not left - 1 < x1 < left + where.box_w + 1 for left in rows.get(y1, []))
    crossings = sum(
        (a[0] - b[0]) * (a[1] - b[1]) < 0
        for stretch in gaps.values()
        for i, a in enumerate(sorted(stretch))
        for b in sorted(stretch)[i + 1 :]
    )
    assert crossings == where.crossings == 0
    for (y1, y2), stretch in gaps.items():  # lanes apart: two arrows never run down one line
        if y2 - y1 == BOX_H:
            xs = sorted(x for x, _ in stretch)
            assert all(b - a >= GAP_LANE - 0.01 for a, b in zip(xs, xs[1:])), (y1, xs)


def test_the_layout_is_deterministic():
    from cnncalc.render.svg import svg

    result = plan(load_file(str(ARCH_DIR / "inception_v3.yaml")))
    assert svg(drawing(result, 2)) == svg(drawing(result, 2))


def test_a_chain_of_boxes_stays_in_line_and_branches_go_beside_it():
    from cnncalc.render.svg import layout

    picture = drawing(plan(load_file(str(ARCH_DIR / "resnet50.yaml"))))
    where = layout(picture)
    ids = {node.name: node.id for node in picture.nodes}
    main = [
        "conv1",
        "maxpool",
        "layer1.0.conv1",
        "layer1.0.bn3",
        "layer1.0.add",
        "layer2.0.conv1",
        "layer4.2.add",
        "fc",
    ]
    assert len({where.boxes[ids[name]][0] for name in main}) == 1  # the convolutions' chain: one column
    shortcut = where.boxes[ids["layer1.0.downsample.0"]]
    assert shortcut[0] != where.boxes[ids["layer1.0.conv1"]][0] and shortcut[1] == where.boxes[ids["layer1.0.conv1"]][1]


def test_a_broadcast_is_one_lane():
    """DDPM's timestep embedding, read by every residual block: one shared lane, not one per
    block (the picture stays narrow)."""
    from cnncalc.render.svg import layout

    picture = drawing(plan(load_file(str(ARCH_DIR / "ddpm_unet.yaml"))), 1)
    where = layout(picture)
    temb = next(node.id for node in picture.nodes if node.name == "temb")
    lanes = {points[2][0] for (source, _), points in where.routes.items() if source == temb and len(points) > 2}
    assert len(lanes) == 1 and where.width < 700


def _synthetic(kind: str, blocks: int):
    """A drawing of `blocks` repeats of a residual unit (eight boxes, a shortcut over them),
    an Inception-like unit (four branches and a concatenation), a U-Net-like unit (ten boxes
    down, ten up, two joined to their mirror box); or a chain of 10 x `blocks` boxes that a
    broadcast (the input) feeds every tenth of, or whose every other box a last box gathers."""
    from cnncalc.draw import Drawing, Edge, Node

    nodes, edges = [Node("n0", "input", "input", "[1]", 0, 0, 0)], []

    def add(*sources: int) -> int:
        nodes.append(Node(f"n{len(nodes)}", f"layer{len(nodes)}", "relu", "[1]", 1, 1, 1, 4))
        edges.extend(Edge(f"n{source}", nodes[-1].id, "[1]") for source in sources)
        return len(nodes) - 1

    last = 0
    for _ in range(blocks):
        if kind == "residual":
            start = last
            for _ in range(8):
                last = add(last)
            last = add(last, start)
        elif kind == "inception":
            ends = [add(last), add(add(last)), add(add(add(last))), add(add(last))]
            last = add(*ends)
        elif kind in ("broadcast", "gather"):
            for k in range(10):
                last = add(last, 0) if kind == "broadcast" and k == 9 else add(last)
        else:
            down = []
            for _ in range(10):
                last = add(last)
                down.append(last)
            for k in range(10):
                last = add(last, down[-1 - k]) if k % 5 == 1 else add(last)
    if kind == "gather":
        add(*range(1, len(nodes), 2))
    return Drawing("synthetic", nodes, edges, [nodes[-1].id])


@pytest.mark.parametrize("kind", ["residual", "inception", "unet", "broadcast", "gather"])
def test_the_layout_does_work_in_proportion_to_the_graph(kind):
    """No step is quadratic in the boxes: four times the graph, about four times the work
    (the layout counts its steps; wall-clock time is benchmarks/draw.py's business)."""
    from cnncalc.render.svg import layout

    small, large = _synthetic(kind, 25), _synthetic(kind, 100)
    ratio = layout(large).work / layout(small).work
    assert len(large.nodes) / len(small.nodes) > 3.9 and ratio < 4.6, ratio


def test_the_svg_escapes_the_spec_name_and_anything_in_a_node():
    import xml.etree.ElementTree as ET

    from cnncalc.draw import Drawing, Edge, Node
    from cnncalc.render.svg import svg

    hostile = 'x"><script>alert(1)</script><a href=\'http://e\' onload="f()">&amp;]]>\u0007'
    text = f"name: {json_string(hostile)}\ninput: [3, 8, 8]\nlayers:\n  - relu\n"
    out = svg(drawing(plan(parse(text, "evil.yaml"))))
    root = _svg_tree(out)
    assert root.find("{http://www.w3.org/2000/svg}title").text == hostile.replace("\u0007", "?")
    node = Node("n0", hostile, hostile, hostile, 1, 1, 1, 1)
    out = svg(Drawing(hostile, [node, Node("n1", "b", "relu", "[1]", 0, 0, 1)], [Edge("n0", "n1", hostile)], ["n1"]))
    root = _svg_tree(out)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any(text.startswith('x"><script>') for text in texts) and "<script>" not in out
    assert len(_boxes(root)) == 2 and ET.tostring(root).count(b"onload") == out.count("onload")


def json_string(text: str) -> str:
    import json

    return json.dumps(text)


def test_svg_by_memory_shows_each_box_s_output_bytes():
    from cnncalc.render.svg import svg

    picture = drawing(plan(load_file(str(ARCH_DIR / "resnet50.yaml"))), 1)
    root = _svg_tree(svg(picture, "memory"))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "3.06 MiB out" in " ".join(texts)  # conv1: [64, 112, 112] floats
    assert any(text.startswith("Shaded by activation memory") for text in texts)
    out = runner().invoke(
        cli, ["draw", str(ARCH_DIR / "resnet50.yaml"), "--format", "svg", "--by", "memory", "--depth", "1"]
    )
    assert out.exit_code == 0 and out.stdout == svg(picture, "memory")
    plain = _svg_tree(svg(picture, "params")).iter("{http://www.w3.org/2000/svg}text")
    assert not any("MiB" in text.text for text in plain)  # by params: no bytes in the boxes (in the tooltips)


README_PICTURE = ["draw", "architectures/unet.yaml", "--format", "svg", "--depth", "1", "-o", "docs/unet.svg"]


def test_the_readme_picture_is_current(tmp_path):
    """docs/unet.svg, shown in the README's draw section, is what cnncalc draws today."""
    root = ARCH_DIR.parent
    assert "](docs/unet.svg)" in (root / "README.md").read_text()
    fresh = tmp_path / "unet.svg"
    args = [str(root / README_PICTURE[1]), *README_PICTURE[2:-1], str(fresh)]
    assert runner().invoke(cli, [README_PICTURE[0], *args]).exit_code == 0
    command = "cnncalc " + " ".join(README_PICTURE)
    assert (root / "docs" / "unet.svg").read_text() == fresh.read_text(), f"docs/unet.svg is stale: run `{command}`"


def test_svg_tooltips_break_lines_and_other_controls_are_marked():
    from cnncalc.render.svg import svg

    result = plan(load_file(str(ARCH_DIR / "seed_50x50.yaml")))
    text = svg(drawing(result))
    assert "<title>conv1\nconv2d\n" in text or re.search(r"<title>[^<?]+\n[^<]+</title>", text)
    assert "?" not in "".join(re.findall(r"<title>([^<]*)</title>", text)[1:])  # the boxes' tooltips
    from cnncalc.render.svg import _text

    assert _text("a\x1bb\nc") == "a?b\nc"
