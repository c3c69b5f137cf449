"""`cnncalc import model.onnx`: every bundled PyTorch architecture the ONNX export writes comes
back as a spec with the same totals and shapes, layer by layer; graphs built as torch.onnx writes
them plan to what onnxruntime computes; what has no spec layer is refused by node, nothing written;
names from the file cannot break the spec's YAML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from clirun import runner
from published import pytorch_specs
from torch_reference import require

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.spec import load_file, parse

onnx = require("onnx")
ort = require("onnxruntime")
np = require("numpy")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnncalc.export.onnx import to_onnx  # noqa: E402
from cnncalc.importers.onnx import ImportRefused, spec_name, to_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REFUSED_BY_EXPORT = {"vit_b_16"}  # tests/test_export_onnx.py's REFUSED
HEAVY = {"alexnet", "alexnet_original", "vgg11", "vgg16", "vgg16_bn", "vgg19", "wide_resnet50_2", "resnet152"}
ARCHITECTURES = [
    pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in HEAVY else [])
    for p in pytorch_specs(sorted((ROOT / "architectures").glob("*.yaml")))
    if p.stem not in REFUSED_BY_EXPORT
]


@pytest.mark.parametrize("path", ARCHITECTURES)
def test_round_trip_through_onnx_keeps_the_plan(path):
    original = plan(load_file(str(path)))
    text = to_spec(to_onnx(original).model.SerializeToString())
    imported = plan(parse(text))
    for total in ("params", "trainable_params", "buffers", "macs"):
        assert getattr(imported.totals, total) == getattr(original.totals, total), total
    assert list(imported.output_shapes.values()) == list(original.output_shapes.values())
    shapes = {row.name: row.output_shape for row in imported.layers}
    assert {row.name: shapes.get(spec_name(row.name)) for row in original.layers} == {
        row.name: row.output_shape for row in original.layers
    }


def test_the_spec_reads_as_written_by_hand():
    text = to_spec(to_onnx(plan(load_file(str(ROOT / "architectures" / "resnet18.yaml")))).model.SerializeToString())
    lines = text.splitlines()
    assert "input: [3, 224, 224]" in lines
    assert (
        "  - {name: conv1, type: conv2d, out_channels: 64, kernel_size: 7, stride: 2, padding: 3, bias: false}" in lines
    )
    assert "  - {name: layer1-0-add, type: add, inputs: [layer1-0-bn2, maxpool]}" in lines
    assert "  - {name: fc, type: linear, out_features: 1000}" in lines
    assert "outputs:" not in text and "# onnx:" not in text


# ---- graphs as torch.onnx writes them ----------------------------------------------------------


def _model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _weight(name, shape):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def _info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _ran(model, feed_shape):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: np.random.default_rng(0).random(feed_shape, dtype=np.float32)}
    return [tuple(out.shape[1:]) for out in session.run(None, feeds)]


def test_torch_style_graph_plans_as_onnxruntime_runs():
    """Conv, Clip 0..6, GlobalAveragePool, Reshape to a constant, Gemm, Flatten, scoped names."""
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "conv.weight"],
            ["c"],
            "/features/features.0/Conv",
            pads=[1, 1, 1, 1],
            strides=[2, 2],
            kernel_shape=[3, 3],
        ),
        helper.make_node("Clip", ["c", "lo", "hi"], ["r"], "/features/features.1/Clip"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], "/pool/GlobalAveragePool"),
        helper.make_node(
            "Constant", [], ["shape"], "/Constant", value=numpy_helper.from_array(np.array([-1, 16], np.int64))
        ),
        helper.make_node("Reshape", ["p", "shape"], ["f"], "/Reshape"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], "/fc/Gemm", transB=1),
        helper.make_node("Flatten", ["r"], ["z"], "/flat/Flatten", axis=1),
    ]
    inits = [
        _weight("conv.weight", (16, 3, 3, 3)),
        _weight("fc.weight", (10, 16)),
        _weight("fc.bias", (10,)),
        numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6.0, np.float32), "hi"),
    ]
    model = _model(nodes, [_info("x", [1, 3, 32, 32])], [_info("y", [1, 10]), _info("z", [1, 4096])], inits)
    text = to_spec(model.SerializeToString(), name="tiny")
    planned = plan(parse(text))
    assert list(planned.output_shapes.values()) == _ran(model, (1, 3, 32, 32)) == [(10,), (16 * 16 * 16,)]
    types = {row.name: row.type_name for row in planned.layers}
    assert types == {
        "features-0": "conv2d",
        "features-1": "relu6",
        "pool": "adaptive_avgpool2d",
        "Reshape": "flatten",
        "fc": "linear",
        "flat": "flatten",
    }
    assert planned.totals.params == 16 * 27 + 170  # the conv has no bias input
    assert "outputs: [fc, flat]" in text


def test_matmul_add_is_a_linear_and_silu_a_pair():
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"], "/proj/MatMul"),
        helper.make_node("Add", ["b", "m"], ["a"], "/proj/Add"),
        helper.make_node("Sigmoid", ["a"], ["s"], "/act/Sigmoid"),
        helper.make_node("Mul", ["a", "s"], ["y"], "/act/Mul"),
    ]
    model = _model(nodes, [_info("x", [1, 5, 8])], [_info("y", [1, 5, 4])], [_weight("w", (8, 4)), _weight("b", (4,))])
    planned = plan(parse(to_spec(model.SerializeToString())))
    assert [(row.name, row.type_name) for row in planned.layers] == [("proj", "linear"), ("act", "silu")]
    assert planned.totals.params == 36
    assert list(planned.output_shapes.values()) == _ran(model, (1, 5, 8))


# ---- refusals and hostile files -----------------------------------------------------------------


def _lstm_model():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], "relu"),
        helper.make_node("LSTM", ["r", "W", "R"], ["y"], "/rnn/LSTM", hidden_size=4),
    ]
    return _model(
        nodes, [_info("x", [2, 1, 3])], [_info("y", [2, 1, 1, 4])], [_weight("W", (1, 16, 3)), _weight("R", (1, 16, 4))]
    )


def test_cli_refuses_unsupported_ops_by_node_and_writes_nothing(tmp_path):
    source, target = tmp_path / "rnn.onnx", tmp_path / "rnn.yaml"
    source.write_bytes(_lstm_model().SerializeToString())
    result = runner().invoke(cli, ["import", str(source), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert not target.exists()
    assert "Traceback" not in result.stderr
    assert "node '/rnn/LSTM' (LSTM)" in result.stderr


def test_every_unsupported_node_is_listed():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], "relu"),
        helper.make_node("Erf", ["r"], ["e"], "erf one"),
        helper.make_node("Cos", ["r"], ["c"], "cos two"),
    ]
    model = _model(nodes, [_info("x", [1, 3])], [_info("e", [1, 3]), _info("c", [1, 3])])
    with pytest.raises(ImportRefused) as caught:
        to_spec(model.SerializeToString())
    assert caught.value.lines[1:] == [
        "node 'erf one' (Erf): no spec layer for Erf",
        "node 'cos two' (Cos): no spec layer for Cos",
    ]


@pytest.mark.parametrize("data", [b"", b"not an onnx file at all\n", b"\x08\x07\x12\xff\xff\xff"])
def test_cli_says_a_file_is_not_an_onnx_model(tmp_path, data):
    source, target = tmp_path / "bad.onnx", tmp_path / "bad.yaml"
    source.write_bytes(data)
    result = runner().invoke(cli, ["import", str(source), "-o", str(target)])
    assert result.exit_code == 2
    assert not target.exists()
    assert re.match(r"error: (not an ONNX model|not a valid ONNX model)", result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_file(tmp_path):
    result = runner().invoke(cli, ["import", str(tmp_path / "none.onnx")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


HOSTILE = ["a'b\"c", "x\ny: 1", "key: value", "{flow}", "- item", "on", "0123", "input", "#c", "\u202eevil", ""]


def test_hostile_names_make_a_valid_spec_and_round_trip(tmp_path):
    nodes, value = [], "x"
    for k, name in enumerate(HOSTILE):
        nodes.append(helper.make_node("Relu", [value], [f"v{k}"], name))
        value = f"v{k}"
    nodes.append(helper.make_node("Add", ["v0", value], ["y"], "layer1.0.add"))
    model = _model(nodes, [_info("x", [1, 3, 4])], [_info("y", [1, 3, 4])])
    model.graph.name = "evil\nname: {x"
    source, target = tmp_path / "hostile.onnx", tmp_path / "hostile.yaml"
    source.write_bytes(model.SerializeToString())
    result = runner().invoke(cli, ["import", str(source), "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    document = yaml.safe_load(text)
    assert document["name"] == "evil\nname: {x"
    assert len(document["layers"]) == len(HOSTILE) + 1
    planned = plan(load_file(str(target)))
    assert planned.layers[-1].name == "layer1-0-add" and planned.layers[-1].output_shape == (3, 4)
    # a layer's ONNX name reads back: from the comment a renamed layer carries (JSON), else `-` -> `.`
    back = []
    for line, row in zip([line for line in text.splitlines() if line.startswith("  - {")], planned.layers):
        comment = re.search(r"# onnx: (.*)$", line)
        back.append(json.loads(comment.group(1)) if comment else row.name.replace("-", "."))
    assert back[: len(HOSTILE) - 1] == HOSTILE[:-1] and back[-1] == "layer1.0.add"
    assert all(len(line) < 200 and "\n" not in line for line in text.splitlines())
    shown = runner().invoke(cli, ["import", str(source)])
    assert shown.exit_code == 0 and "\u202e" not in shown.output


def test_without_onnx_says_how_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    result = runner().invoke(cli, ["import", "model.onnx"])
    assert result.exit_code == 2
    assert "pip install 'cnncalc[onnx]'" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "googlenet", "squeezenet1_0", "mobilenet_v2"])
def test_a_real_torch_onnx_export_imports(name, tmp_path):
    """torch.onnx's own file of a zoo reference model (batch norm folded into the convolutions,
    shared initializers behind Identity nodes): it imports, plans to onnxruntime's output shape,
    and to the reference's MACs (folding moves parameters, not multiply-accumulates)."""
    import warnings

    import onnxruntime
    import torch
    from torch_reference import require_torch
    from zoo_torch_classic import MODELS as classic
    from zoo_torch_mobile import MODELS as mobile

    require_torch()
    build, shape = {**classic, **mobile}[name]
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(build().eval(), torch.randn(1, *shape), str(path), dynamo=False, opset_version=17)
    planned = plan(parse(to_spec(str(path))))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    import numpy as np

    out = session.run(None, {session.get_inputs()[0].name: np.zeros((1, *shape), np.float32)})[0]
    assert tuple(planned.output_shape) == out.shape[1:]
    reference = plan(load_file(str(Path(__file__).resolve().parent.parent / "architectures" / f"{name}.yaml")))
    assert planned.totals.macs == reference.totals.macs
    assert planned.totals.params <= reference.totals.params  # batch norms folded away, where there are any


def test_a_file_made_for_one_batch_size_reshapes_with_it(tmp_path):
    """torch.onnx's dynamo exporter writes the batch it was given (1) into a flatten's shape."""
    weight = numpy_helper.from_array(np.zeros((4, 1, 3, 3), np.float32), "w")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    fc = numpy_helper.from_array(np.zeros((10, 144), np.float32), "g")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Reshape", ["c", "shape"], ["r"], name="view"),
        helper.make_node("Gemm", ["r", "g"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "main_graph",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [weight, shape, fc],
    )
    path = tmp_path / "fixed_batch.onnx"
    import onnx

    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    text = to_spec(str(path))
    assert text.startswith("name: fixed_batch\n")  # not torch.onnx's main_graph
    planned = plan(parse(text))
    assert [row.type_name for row in planned.layers] == ["conv2d", "flatten", "linear"]
    assert planned.output_shape == (10,) or list(planned.output_shape) == [10]
