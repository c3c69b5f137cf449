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


@pytest.mark.parametrize(
    ("stem", "depth"), [("googlenet", 2), ("resnet50", 2), ("unet", None), ("yolov5s", 2), ("mobilenet_v2_keras", 1)]
)
def test_the_svg_is_well_formed_one_box_per_node_no_overlap_no_script(stem, depth):
    from xml.dom import minidom

    from cnncalc.render.svg import BOX_H, BOX_W, positions, svg

    picture = drawing(plan(load_file(str(ARCH_DIR / f"{stem}.yaml"))), depth)
    text = svg(picture)
    document = minidom.parseString(text)
    boxes = [g for g in document.getElementsByTagName("g") if g.getAttribute("class") == "box"]
    assert len(boxes) == len(picture.nodes) and len(document.getElementsByTagName("path")) == len(picture.edges) + 1
    assert "<script" not in text and " on" not in text.replace(" onto", "") and "href" not in text
    corners = list(positions(picture).values())
    assert not any(
        abs(a[0] - b[0]) < BOX_W and abs(a[1] - b[1]) < BOX_H for i, a in enumerate(corners) for b in corners[i + 1 :]
    )


def test_the_svg_keeps_spec_text_as_text():
    from xml.dom import minidom

    from cnncalc.render.svg import svg

    text = 'name: "<script>alert(1)</script>\\u001b[31m"\ninput: [3, 8, 8]\nlayers:\n  - relu\n'
    out = svg(drawing(plan(parse(text, "evil.yaml"))))
    title = minidom.parseString(out).getElementsByTagName("title")[0].firstChild.data
    assert title == "<script>alert(1)</script>?[31m" and "<script>" not in out
