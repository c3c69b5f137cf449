"""The newer surfaces with untrusted input: `import MODEL.onnx` (the model file), `report`,
`draw` and `export --to onnx` (the spec), `verify --against` (the spec next to a module the
command line names).

An ONNX file is as untrusted as a spec: it never makes cnncalc read another file (external
data), block or read for ever (a FIFO, /dev/zero), crash with an internal error, take time
that grows with the square of its size, or write a spec with a key it did not mean. A spec
never makes the export allocate more than an ONNX file can hold, nor starts a Mermaid
directive, nor names the module `verify --against` imports.
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading

import pytest
import yaml
from clirun import runner

from cnncalc.cli import cli

# ---- building hostile ONNX files -----------------------------------------------------------------


@pytest.fixture
def onnx():
    return pytest.importorskip("onnx")


def _info(onnx, name, shape, kind=None):
    return onnx.helper.make_tensor_value_info(name, kind or onnx.TensorProto.FLOAT, shape)


def _model(onnx, nodes, inputs, outputs, initializers=(), opset=17):
    graph = onnx.helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)])


def _external(onnx, name, dims, location, kind, offset=0, length=4):
    """A tensor whose values ONNX would read from the file `location`, next to the model."""
    tensor = onnx.TensorProto(name=name, data_type=kind, dims=dims, data_location=onnx.TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, str(value)
    return tensor


def _import(args, exit_code):
    result = runner().invoke(cli, ["import", *[str(a) for a in args]])
    assert result.exit_code == exit_code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result


# ---- import: external data is never read ---------------------------------------------------------

SECRET = 1234.5  # what the file next to the model holds, as a float32


def _leaking_model(onnx, where: str):
    """x * c, c a scalar stored in `secret.bin`: imported, c would be the rescale's scale."""
    kind = onnx.TensorProto.FLOAT
    if where == "constant":
        value = _external(onnx, "c", [], "secret.bin", kind)
        nodes = [onnx.helper.make_node("Constant", [], ["c"], "const", value=value)]
        initializers = []
    else:
        nodes, initializers = [], [_external(onnx, "c", [], "secret.bin", kind)]
    nodes.append(onnx.helper.make_node("Mul", ["x", "c"], ["y"], "mul"))
    return _model(onnx, nodes, [_info(onnx, "x", [1, 4])], [_info(onnx, "y", [1, 4])], initializers)


@pytest.mark.parametrize("where", ["constant", "initializer"])
@pytest.mark.parametrize("folder", ["model's", "current"])
def test_import_never_reads_external_data(onnx, tmp_path, monkeypatch, where, folder):
    (tmp_path / "secret.bin").write_bytes(struct.pack("<f", SECRET))
    models = tmp_path / "models"
    models.mkdir()
    (models / "secret.bin").write_bytes(struct.pack("<f", SECRET))
    source = models / "leak.onnx"
    source.write_bytes(_leaking_model(onnx, where).SerializeToString())
    monkeypatch.chdir(tmp_path if folder == "current" else models)
    result = _import([source], 2)  # refused: a value it needs is not read
    assert str(SECRET) not in result.stdout + result.stderr
    if where == "constant":
        assert "node 'const' (Constant): its value is in an external file, never read" in result.stderr


@pytest.mark.parametrize("present", [False, True])
def test_import_never_looks_up_an_external_file(onnx, tmp_path, monkeypatch, present):
    """A conv's weight said to be in `.env`: imported for its shape alike whether `.env` is
    there or not (onnx.checker looks such files up, and its message would tell)."""
    monkeypatch.chdir(tmp_path)
    if present:
        (tmp_path / ".env").write_text("SECRET=1\n")
    weight = _external(onnx, "w", [4, 3, 3, 3], ".env", onnx.TensorProto.FLOAT, length=432)
    nodes = [onnx.helper.make_node("Conv", ["x", "w"], ["y"], "conv")]
    model = _model(onnx, nodes, [_info(onnx, "x", [1, 3, 8, 8])], [_info(onnx, "y", [1, 4, 6, 6])], [weight])
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    result = _import([tmp_path / "m.onnx"], 0)
    assert "{name: conv, type: conv2d, out_channels: 4, kernel_size: 3, bias: false}" in result.stdout
    assert ".env" not in result.stdout + result.stderr


# ---- import: what is not a regular file ----------------------------------------------------------


def test_import_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)

    def writer():  # releases a reader that waits for a writer (the bug), else waits for none
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader: nothing waits
            return
        os.close(fd)

    done = threading.Event()
    guard = threading.Thread(target=lambda: done.wait(5) or writer(), daemon=True)
    guard.start()
    try:
        result = _import([fifo], 2)
    finally:
        done.set()
        guard.join()
    assert "not a regular file" in result.stderr  # not "it holds no graph": it read nothing


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_import_refuses_what_is_not_a_regular_file(tmp_path, kind):
    if kind == "device":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        path = "/dev/zero"  # read to its end, it never ends
    else:
        path = tmp_path / "model.onnx"
        path.mkdir()
    assert _import([path], 2).stderr.startswith("error: cannot read")


# ---- import: nodes their schema allows but no layer can be read from -----------------------------


def _node_case(op, attributes=None, constants=(), weights=(), shape=(1, 3, 4, 4), out=None):
    """A model of one `op` node reading x, then constants (name, values, numpy dtype) made by
    Constant nodes and weights (name, shape) as initializers, in that order."""

    def build(onnx):
        import numpy as np

        helper = onnx.helper
        nodes = [
            helper.make_node(
                "Constant", [], [name], f"const_{name}", value=onnx.numpy_helper.from_array(np.array(v, t))
            )
            for name, v, t in constants
        ]
        initializers = [onnx.numpy_helper.from_array(np.zeros(s, np.float32), name) for name, s in weights]
        reads = ["x", *(name for name, *_ in constants), *(name for name, _ in weights)]
        nodes.append(helper.make_node(op, reads, ["y"], "node", **(attributes or {})))
        x, y = _info(onnx, "x", list(shape)), _info(onnx, "y", list(out or shape))
        return _model(onnx, nodes, [x], [y], initializers)

    return build


MALFORMED = {
    "clip-empty-min": _node_case("Clip", constants=[("low", [], "float32")]),
    "dropout-empty-ratio": _node_case("Dropout", constants=[("ratio", [], "float32")]),
    "pad-empty-value": _node_case(
        "Pad", constants=[("pads", [0, 0, 1, 1, 0, 0, 1, 1], "int64"), ("value", [], "float32")], out=(1, 3, 6, 6)
    ),
    "pad-odd-pads": _node_case("Pad", constants=[("pads", [0, 0, 1, 1, 0, 0, 1], "int64")], out=(1, 3, 6, 6)),
    "gather-nan-index": _node_case(
        "Gather", {"axis": 1}, constants=[("index", float("nan"), "float32")], out=(1, 4, 4)
    ),
    "slice-nan-start": _node_case(
        "Slice", constants=[("starts", [float("nan")], "float32"), ("ends", [2], "int64"), ("axes", [1], "int64")]
    ),
    "conv-scalar-weight": _node_case("Conv", weights=[("w", ())]),
    "gemm-vector-weight": _node_case("Gemm", weights=[("w", (3,))], shape=(1, 3)),
    "resize-mode-not-utf8": _node_case(
        "Resize",
        {"mode": b"\xff"},
        constants=[("roi", [], "float32"), ("scales", [1, 1, 2, 2], "float32")],
        out=(1, 3, 8, 8),
    ),
}


@pytest.mark.parametrize("build", MALFORMED.values(), ids=MALFORMED.keys())
def test_import_refuses_a_malformed_node_by_name(onnx, tmp_path, build):
    source, target = tmp_path / "bad.onnx", tmp_path / "spec.yaml"
    source.write_bytes(build(onnx).SerializeToString())
    target.write_text("kept\n")
    result = _import([source, "-o", target], 2)
    assert "node 'node' (" in result.stderr
    assert target.read_text() == "kept\n"  # an -o file that exists is left as it was


# ---- import: work that grows with the model, not with its square --------------------------------


class _Counted(set):
    """A set that counts the lookups made in it."""

    def __init__(self):
        super().__init__()
        self.lookups = 0

    def __contains__(self, item):
        self.lookups += 1
        return super().__contains__(item)


def test_import_names_many_equal_node_names_in_linear_time():
    pytest.importorskip("onnx")
    from cnncalc.importers.onnx import _Names

    names = _Names()
    names.used = used = _Counted()
    made = [names.make("relu", "relu_1")[0] for _ in range(2000)]  # a model may name every node alike
    assert made[:3] == ["relu", "relu_2", "relu_3"] and len(set(made)) == 2000
    assert used.lookups <= 3 * 2000  # each name tried a few times, not once for every name before it


def test_import_fuses_many_layers_in_linear_time(onnx, monkeypatch):
    """Each Sigmoid+Mul pair is fused into a silu, dropping the sigmoid: dropping it must not
    walk the list of the layers before it."""
    from cnncalc.importers import onnx as importer

    compared = []
    monkeypatch.setattr(importer._Layer, "__eq__", lambda a, b: compared.append(1) or a is b, raising=False)
    nodes, value = [], "x"
    for k in range(1000):
        nodes.append(onnx.helper.make_node("Sigmoid", [value], [f"s{k}"], f"/m{k}/Sigmoid"))
        nodes.append(onnx.helper.make_node("Mul", [value, f"s{k}"], [f"m{k}"], f"/m{k}/Mul"))
        value = f"m{k}"
    model = _model(onnx, nodes, [_info(onnx, "x", [1, 3])], [_info(onnx, value, [1, 3])])
    text = importer.to_spec(model.SerializeToString())
    assert text.count("type: silu") == 1000
    assert len(compared) <= 1000


@pytest.mark.parametrize("kind", ["nodes", "inputs", "value_info", "weights", "branch"])
def test_import_refuses_more_entries_than_a_spec_comes_from_before_checking_them(onnx, monkeypatch, kind):
    """Each node, value or weight costs the checker, ONNX's shape inference and the import a
    hundred times its bytes (a 6 MB file of 300,000 weights took 0.7 GB): a graph larger than
    any spec's is refused first, the nodes in an If's branches counted."""
    from cnncalc.importers import onnx as importer

    monkeypatch.setattr(importer, "MAX_ENTRIES", 50)
    many = range(51 if kind != "branch" else 25)
    helper, x, y = onnx.helper, _info(onnx, "x", [1, 3]), _info(onnx, "y", [1, 3])
    nodes = [helper.make_node("Relu", ["x"], ["y"], "relu")]
    inputs, weights, values = [x], [], []
    if kind in ("nodes", "branch"):
        nodes = [helper.make_node("Relu", ["x"], [f"r{k}"], f"relu{k}") for k in many]
        nodes.append(helper.make_node("Relu", ["x"], ["y"], "relu"))
    if kind == "branch":
        branch = helper.make_graph(nodes, "branch", [], [y])
        nodes = [helper.make_node("If", ["c"], ["y"], "if", then_branch=branch, else_branch=branch)]
        inputs.append(_info(onnx, "c", [], onnx.TensorProto.BOOL))
    inputs += [_info(onnx, f"i{k}", [1, 3]) for k in many if kind == "inputs"]
    values += [_info(onnx, f"v{k}", [1, 3]) for k in many if kind == "value_info"]
    weights += [onnx.helper.make_tensor(f"w{k}", onnx.TensorProto.FLOAT, [1], [0.0]) for k in many if kind == "weights"]
    model = _model(onnx, nodes, inputs, [y], weights)
    model.graph.value_info.extend(values)
    with pytest.raises(importer.ImportRefused) as refused:
        importer.to_spec(model.SerializeToString())
    assert len(refused.value.lines) == 1
    assert re.fullmatch(r"the model has 5\d nodes, values and weights, more than .*", refused.value.lines[0])


# ---- draw and diff: Mermaid directives -----------------------------------------------------------

DIRECTIVE = "%%{init: {'theme': 'dark', 'themeCSS': '.node rect {fill: red}'}}%%"


def test_draw_mermaid_text_never_holds_a_directive(tmp_path):
    """Mermaid finds `%%{init: ...}%%` anywhere in a diagram's text, even in a `%%` comment or a
    quoted label, and takes it as the diagram's configuration."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: {json.dumps(DIRECTIVE)}\ninput: [3, 8, 8]\nlayers:\n  - relu\n", encoding="utf-8")
    result = runner().invoke(cli, ["draw", str(spec), "--format", "mermaid"])
    assert result.exit_code == 0, result.stderr
    assert "%%{" not in result.stdout and "}%%" not in result.stdout
    assert result.stdout.splitlines()[0] == "%% cnncalc draw: " + DIRECTIVE.replace("%", "#37;")


# ---- export --to onnx: weights larger than a file can hold ---------------------------------------


@pytest.mark.parametrize("features", [100_000, 23_171])  # 40 GB of weights; 2 GiB and a little more
@pytest.mark.parametrize("weights", ["zeros", "random"])
def test_export_onnx_refuses_weights_larger_than_a_file_before_making_them(tmp_path, features, weights):
    pytest.importorskip("onnx")
    spec, target = tmp_path / "spec.yaml", tmp_path / "model.onnx"
    spec.write_text(f"input: [{features}]\nlayers:\n  - linear: {features}\n", encoding="utf-8")
    target.write_bytes(b"kept")
    random = ["--random-weights"] if weights == "random" else []
    result = runner().invoke(cli, ["export", str(spec), "--to", "onnx", "-o", str(target), *random])
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert "more than the 2,147,483,647 (2 GiB) one ONNX file can hold" in result.stderr
    assert target.read_bytes() == b"kept"


# ---- verify --against: only the command line names the module -----------------------------------


def test_verify_against_imports_only_what_the_command_line_names(tmp_path, monkeypatch):
    from cnncalc import against

    named = []

    def load_callable(target):
        named.append(target)
        raise against.AgainstError("stopped here")

    monkeypatch.setattr(against, "load_callable", load_callable)
    spec = tmp_path / "spec.yaml"
    text = "input: [3, 8, 8]\nlayers:\n  - {type: relu, name: os}\n"
    spec.write_text(f'name: "os:system"\ndescription: "evil.py:Net"\n{text}', encoding="utf-8")
    result = runner().invoke(cli, ["verify", str(spec), "--against", "models.net:Net"])
    assert (result.exit_code, named) == (2, ["models.net:Net"]) and "stopped here" in result.stderr
    spec.write_text(f"against: os:system\n{text}", encoding="utf-8")  # a spec has no key to name one
    result = runner().invoke(cli, ["verify", str(spec), "--against", "models.net:Net"])
    assert (result.exit_code, named) == (2, ["models.net:Net"]) and "against" in result.stderr


# ---- import: nothing in a model's text becomes YAML structure ------------------------------------

BREAKS = ["a\u2028include: x.yaml", "a\x85- relu", "a\rlayers: []", "x\n- {type: relu}", "#c", "'\"", "\x1b[2J"]


@pytest.mark.parametrize("text", BREAKS, ids=["u2028", "nel", "cr", "lf", "hash", "quotes", "escape"])
def test_import_writes_model_text_as_values_only(onnx, tmp_path, text):
    """A line break YAML knows (U+2028, NEL, CR) or an escape in a graph, producer, input or node
    name makes no key, layer or comment end: the spec has the keys and layers it should."""
    add = onnx.helper.make_node("Add", [text, "b"], ["s"], text)
    relu = onnx.helper.make_node("Relu", ["s"], ["y"], text + "2")
    inputs = [_info(onnx, text, [1, 3]), _info(onnx, "b", [1, 3])]
    model = _model(onnx, [add, relu], inputs, [_info(onnx, "y", [1, 3])])
    model.graph.name, model.producer_name = text, text
    source, target = tmp_path / "model.onnx", tmp_path / "spec.yaml"
    source.write_bytes(model.SerializeToString())
    shown = _import([source], 0).stdout
    _import([source, "-o", target], 0)
    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert sorted(document) == ["inputs", "layers", "name"] and document["name"] == text
    assert [sorted(layer) for layer in document["layers"]] == [["inputs", "name", "type"], ["name", "type"]]
    assert len(target.read_text(encoding="utf-8").splitlines()) == 8  # str.splitlines breaks at U+2028 and NEL too
    assert "\x1b" not in shown and "\u2028" not in shown and "\x85" not in shown and "\r" not in shown


def test_export_onnx_refuses_a_negative_seed(tmp_path):
    pytest.importorskip("onnx")
    spec, target = tmp_path / "spec.yaml", tmp_path / "model.onnx"
    spec.write_text("input: [4]\nlayers:\n  - linear: 2\n", encoding="utf-8")
    args = ["export", str(spec), "--to", "onnx", "-o", str(target), "--random-weights", "--seed", "-1"]
    result = runner().invoke(cli, args)
    assert (result.exit_code, result.stderr) == (2, "error: --seed must be 0 or more, not -1\n"), result.exception
    assert not target.exists()


# ---- draw --format svg and report: arrows that skip many rows ------------------------------------


def _skipping(n: int):
    """n layers, each reading the input and the layer before: the arrows from the input skip
    n²/2 rows in all, a point of a lane and of a route each."""
    from cnncalc.draw import drawing
    from cnncalc.engine import plan
    from cnncalc.spec import parse

    reads = ["input", *(f"a{k}" for k in range(n - 1))]
    layers = "".join(f"  - {{type: add, name: a{k}, inputs: [input, {read}]}}\n" for k, read in enumerate(reads))
    return drawing(plan(parse(f"input: [4]\nlayers:\n{layers}")))


def test_draw_svg_routes_at_most_max_points_however_far_arrows_skip(monkeypatch):
    """20,000 such layers took the SVG layout past 23 GB; past MAX_POINTS an arrow is drawn
    straight across the rows between."""
    import xml.etree.ElementTree as ET

    from cnncalc.render import svg

    monkeypatch.setattr(svg, "MAX_POINTS", 1000, raising=False)
    picture = _skipping(200)  # 19,900 rows skipped
    placed = svg.layout(picture)
    assert len(placed.routes) == len(picture.edges) == 399
    assert sum(len(points) for points in placed.routes.values()) <= 2 * (1000 + len(picture.edges))
    root = ET.fromstring(svg.svg(picture))
    assert len([path for path in root.iter("{http://www.w3.org/2000/svg}path") if path.find("*") is not None]) == 399


@pytest.mark.browser
def test_report_layout_routes_as_svg_does_past_max_points():
    """layout.js, which lays out the report's diagram, has the same MAX_POINTS: the page took
    minutes, or stopped at `Maximum call stack size exceeded`, on a few thousand such layers."""
    import shutil
    from pathlib import Path

    from cnncalc.render import svg

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    picture = _skipping(500)  # 124,750 rows skipped: past MAX_POINTS
    expected = svg.layout(picture, 200.0, top=svg.MARGIN)
    given = {
        "nodes": [{"id": node.id} for node in picture.nodes],
        "edges": [[e.source, e.target] for e in picture.edges],
    }
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.add_script_tag(content=(Path(svg.__file__).parent / "assets" / "layout.js").read_text())
        lengths = page.evaluate(
            "([d, w, t]) => cnncalcLayout.layout(d, w, t).routes.map((r) => r.length)", [given, 200.0, svg.MARGIN]
        )
        browser.close()
    assert lengths == [len(expected.routes[(e.source, e.target)]) for e in picture.edges]
    assert sum(lengths) <= 2 * (svg.MAX_POINTS + len(picture.edges))
