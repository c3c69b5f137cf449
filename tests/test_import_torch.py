"""cnncalc import MODULE:CALLABLE --input SHAPE: a PyTorch model as a readable spec.

Every zoo reference (tests/zoo_torch_*.py) that imports plans to the model's exact numbers and
passes `verify --against` it, module by module; a few with their weights loaded, comparing
outputs. ResNet-50 imports to a spec about as short as the bundled one. What the import cannot
write is refused with the module's path (exit 2), never guessed, and nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clirun import runner
from published import ZOO_TORCH_MODULES, zoo_names
from torch_reference import require_torch

from cnncalc.cli import cli

require_torch()

HERE = Path(__file__).resolve().parent
MODELS = "tests/against/models.py"
sys.path.insert(0, str(HERE / "against"))
import import_cases  # noqa: E402 - after its folder is on the path
import models  # noqa: E402

ZOO = sorted(name for module in ZOO_TORCH_MODULES for name in zoo_names(module))
# what these references do has no spec form the import writes yet: each refusal names the module
REFUSED = {
    # its skip connections read modules inside `down.0` from `up.3`: names of that depth need blocks
    # that pass on several tensors
    "ddpm_unet": "calls down.0.block.0 itself, inside containers (ModuleList, ModuleDict) nested two deep",
}
WEIGHTS = {
    "resnet18",
    "mobilenet_v3_small",
    "shufflenet_v2_x1_0",
    "vit_b_16",
    "densenet121",
    "unet",
    "convnext_tiny",
    "resnet50_gn",
    "deeplabv3_resnet50",
    "yolov5s",
}


def _zoo_shapes(name: str) -> list[tuple]:
    for module in ZOO_TORCH_MODULES:
        table = __import__(module).MODELS
        if name in table:
            shape = table[name][1]
            return list(shape.values()) if isinstance(shape, dict) else [shape]
    raise KeyError(name)


def _import(name: str) -> str:
    from cnncalc.importers.pytorch import to_spec

    return to_spec(f"{MODELS}:zoo", _zoo_shapes(name), {"name": name}, name=name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_zoo_imports_and_passes_verify_against(name):
    from cnncalc.against import compare
    from cnncalc.engine import plan
    from cnncalc.importers.onnx import ImportRefused
    from cnncalc.spec import parse

    if name in REFUSED:
        with pytest.raises(ImportRefused) as refused:
            _import(name)
        assert any(REFUSED[name] in line for line in refused.value.lines), refused.value.lines
        return
    text = _import(name)
    outcome = compare(plan(parse(text)), models.zoo, {"name": name}, load_state_dict=name in WEIGHTS)
    assert not outcome.findings, [(f.where, f.what, f.planned, f.model) for f in outcome.findings[:5]]
    assert outcome.layers > 0
    if name in WEIGHTS:
        assert outcome.values.startswith("the same outputs")


def test_resnet50_imports_short_and_exact():
    """The issue's target: one bottleneck block, the stages as repeats, 25,557,032 parameters."""
    from cnncalc.engine import plan
    from cnncalc.spec import parse

    text = _import("resnet50")
    planned = plan(parse(text))
    assert planned.totals.params == 25_557_032
    assert planned.totals.macs == 4_089_184_256
    assert len(text.splitlines()) <= 40
    assert "    args: [conv1_channels, downsample: false, stride: 1]" in text
    assert "      - {type: conv2d, name: conv3, out_channels: 4 * conv1_channels, kernel_size: 1, bias: false}" in text
    for stage, count, first in (
        ("layer1", 3, "{downsample: true}"),
        ("layer2", 4, "{downsample: true, stride: 2}"),
        ("layer3", 6, "{downsample: true, stride: 2}"),
        ("layer4", 3, "{downsample: true, stride: 2}"),
    ):
        assert (
            f"name: {stage}, conv1_channels: {64 * 2 ** int(stage[-1]) // 2}, repeat: {count}, first: {first}}}" in text
        )
    assert [row.name for row in planned.layers][:6] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1.0.conv1",
        "layer1.0.bn1",
    ]


def test_side_by_side_module_list_becomes_a_block_with_its_concat():
    """DeepLabV3's ASPP: `torch.cat([conv(x) for conv in self.convs], 1)`."""
    text = _import("deeplabv3_resnet50")
    assert '  aspp_convs:  # "torch.nn.modules.container.ModuleList", called once\n' in text
    assert '      - {type: concat, name: concat, inputs: ["0", "1", "2", "3", "4"]}' in text
    assert "      - {type: aspp_convs, name: convs}\n" in text


def test_a_module_returning_several_tensors_names_them_by_path():
    """YOLOv5: DetectionModel.forward runs `model` (an nn.Sequential it never calls) with its own
    wiring, and Detect returns its three convs' outputs: the model's outputs, by path."""
    text = _import("yolov5s")
    assert 'outputs: ["model.24.m.0", "model.24.m.1", "model.24.m.2"]\n' in text
    assert '      - {type: detect, name: "24", inputs: ["17", "20", "23"]}\n' in text
    assert '      - {type: concat, name: "12", inputs: ["11", "6"]}\n' in text  # a module that only concatenates
    assert "    args: [cv1_channels, repeats: 1, shortcut: true]\n" in text  # C3's bottlenecks


def test_subclass_with_its_own_forward_is_its_torch_layer_where_the_numbers_agree():
    """timm's GroupNorm(nn.GroupNorm) calls F.group_norm itself: a groupnorm, checked."""
    assert "{type: groupnorm, name: bn1, num_groups: 32}" in _import("resnet50_gn")


def test_a_concatenation_a_module_begins_with_moves_to_its_caller():
    """DenseNet's layers take the list of all features so far and concatenate it first: that
    concatenation in the caller, so all 58 layers share one block of one input."""
    text = _import("densenet121")
    assert '  dense_layer:  # "zoo_torch_classic._DenseLayer", called 58 times\n' in text
    assert "      - {type: concat, name: concat_2, inputs: [input, denselayer1, denselayer2]}\n" in text
    assert len(text.splitlines()) < 200


def test_vit_imports_parameters_and_select():
    text = _import("vit_b_16")
    assert "{type: parameter, name: class_token, shape: [1, 768]}" in text
    assert "{type: parameter, name: pos_embedding, shape: [197, 768]}" in text
    assert '{type: encoder_block, name: layers, repeat: 12, repeat_name: "encoder_layer_{i}"}' in text
    assert "{type: select, name: select, dim: 1, index: 0}" in text


def _run(monkeypatch, *args):
    monkeypatch.chdir(HERE.parent)
    return runner().invoke(cli, ["import", *map(str, args)])


def test_cli_writes_a_spec_that_plans(monkeypatch, tmp_path):
    text = _imported(monkeypatch, tmp_path, "small", "3,32,32", kwargs='{"num_classes": 7}')
    assert text.startswith("name: small\n")
    assert "- {type: add, name: add, inputs: [conv2, skip]}" in text
    planned = runner().invoke(cli, ["plan", str(tmp_path / "small.yaml"), "--format", "json"])
    assert planned.exit_code == 0


def _imported(monkeypatch, tmp_path, model: str, *shapes: str, kwargs: str = "{}") -> str:
    """`cnncalc import` of a model in tests/against/models.py, which must pass `verify --against
    --load-state-dict` that model; the spec's text."""
    out = tmp_path / f"{model}.yaml"
    inputs = [arg for shape in shapes for arg in ("--input", shape)]
    result = _run(monkeypatch, f"{MODELS}:{model}", *inputs, "--kwargs", kwargs, "-o", out)
    assert result.exit_code == 0, result.output + result.stderr
    verified = _verify_against(monkeypatch, out, f"{MODELS}:{model}", kwargs)
    assert verified.exit_code == 0, verified.output + verified.stderr
    return out.read_text()


def _verify_against(monkeypatch, spec, target, kwargs):
    monkeypatch.chdir(HERE.parent)
    return runner().invoke(cli, ["verify", str(spec), "--against", target, "--kwargs", kwargs, "--load-state-dict"])


def test_two_inputs_a_module_list_and_a_gate(monkeypatch, tmp_path):
    text = _imported(monkeypatch, tmp_path, "Fuse", "3,16,16", "10")
    assert "inputs:\n  image: [3, 16, 16]\n  vector: [10]\n" in text
    assert "    args: [fc1_channels]\n" in text  # the two gates differ in width
    assert "{type: mul, name: mul, inputs: [input, sigmoid]}" in text  # the gate reads its input again
    assert "{type: gate, name: gates, fc1_channels: 8, repeat: 2, first: {fc1_channels: 4}}" in text  # a ModuleList
    assert "{type: linear, name: embed, out_features: 16, inputs: vector}" in text


def test_calls_between_a_module_lists_modules(monkeypatch, tmp_path):
    """`for stage in self.stages: x = self.pool(stage(x))`: one list, the pool's calls in it."""
    text = _imported(monkeypatch, tmp_path, "Staged", "3,16,16")
    assert "  - name: stages\n    sequential:\n" in text
    assert "{type: maxpool2d, name: pool_2, kernel_size: 2}" in text


@pytest.mark.parametrize("identity", [False, True])
def test_a_shortcut_some_calls_leave_empty_is_one_when(monkeypatch, tmp_path, identity):
    """`self.shortcut = nn.Sequential()` (or nn.Identity()) unless it projects: one block, the
    list under `when:`, and each stage a repeat."""
    kwargs = '{"identity": true}' if identity else "{}"
    text = _imported(monkeypatch, tmp_path, "KResNet", "3,16,16", kwargs=kwargs)
    assert "    args: [out_channels, shortcut: false, stride: 1]\n" in text
    assert "      - name: shortcut\n        inputs: input\n        when: shortcut\n        sequential:\n" in text
    assert "  - {type: k_block, name: layer2, out_channels: 32, repeat: 2, first: {shortcut: true, stride: 2}}" in text


def test_scalar_arithmetic_and_size_one_axes(monkeypatch, tmp_path):
    text = _imported(monkeypatch, tmp_path, "Arithmetic", "3,8,8")
    assert "{type: rescale, name: rescale, scale: 2.0}" in text
    assert "{type: rescale, name: rescale_2, scale: 1.0, offset: -1.0}" in text
    assert "{type: rescale, name: rescale_3, scale: -1.0, offset: 1.0}" in text
    assert "{type: reshape, name: reshape, shape: [1, 4, 6, 6]}" in text


def test_momentum_null(monkeypatch, tmp_path):
    out = tmp_path / "bn.yaml"
    result = _run(monkeypatch, f"{MODELS}:Cumulative", "--input", "3,8,8", "-o", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert "{type: batchnorm2d, name: bn, momentum: null}" in out.read_text()


@pytest.mark.parametrize(("model", "names"), [("TwoHeads", "[classes, boxes]"), ("DictOut", "[cls, box]")])
def test_two_outputs(monkeypatch, tmp_path, model, names):
    assert f"outputs: {names}" in _imported(monkeypatch, tmp_path, model, "3,16,16")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((f"{MODELS}:Sorts", "--input", "3,8,8"), ["no spec layer for 1 of its calls", "in the model (Sorts): sort()"]),
        ((f"{MODELS}:ReadsValues", "--input", "3,8,8"), ["does not run on the input", "meta device"]),
        ((f"{MODELS}:small",), ["needs its input's shape: --input 3,224,224"]),
        ((f"{MODELS}:small", "--input", "3,x,8"), ["--input '3,x,8': 'x' is not a size"]),
        ((f"{MODELS}:small", "--input", "0,8,8"), ["'0' is not a size (a whole number from 1 to 999,999)"]),
        ((f"{MODELS}:small", "--input", "1,2,3,4,5,6"), ["at most 5 sizes"]),
        ((f"{MODELS}:small", "--input", "3,8,8", "--kwargs", "{"), ["--kwargs is not JSON"]),
        ((f"{MODELS}:not_a_module", "--input", "3,8,8"), ["returned a int, not a torch.nn.Module"]),
        ((f"{MODELS}:broken", "--input", "3,8,8"), ["building the model failed: ValueError"]),
        ((f"{MODELS}:nothing", "--input", "3,8,8"), ["has no 'nothing'"]),
        (("no/such/file.py:Net", "--input", "3,8,8"), ["no such file: no/such/file.py"]),
        ((f"{MODELS}:OddNames", "--input", "3,8,8"), ["a module named 'convs.a b:\\nc'"]),
        ((f"{MODELS}:Shared", "--input", "4,8,8"), ["conv (Conv2d): called again", "weights shared between calls"]),
        (
            (f"{MODELS}:UsesSameConv", "--input", "3,8,8"),
            ["in conv (SameConv): conv2d()", "inside a subclass of nn.Conv2d with its own forward()"],
        ),
        ((f"{MODELS}:small", "--input", "1,8,8"), ["[2, 1, 8, 8] (--input and a batch of 2) in conv1 (Conv2d)"]),
    ],
)
def test_refusals_exit_2_and_write_nothing(monkeypatch, tmp_path, args, expected):
    out = tmp_path / "spec.yaml"
    result = _run(monkeypatch, *args, "-o", out)
    assert result.exit_code == 2, result.output + result.stderr
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr + result.output
    assert not out.exists()


def test_readme_shows_what_resnet50_imports_to():
    """The README's excerpt of the imported ResNet-50: each line it shows is the import's."""
    readme = (HERE.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("torchvision's ResNet-50 comes out as:")
    block = readme[readme.index("```yaml", start) + 8 : readme.index("```", readme.index("```yaml", start) + 8)]
    text = _import("resnet50").replace('"zoo_torch_classic.Bottleneck"', '"torchvision.models.resnet.Bottleneck"')
    shown = [line for line in block.splitlines() if line.strip() and line.strip() != "# ..."]
    assert len(shown) > 15
    for line in shown:
        assert line in text.splitlines(), line


ARCHITECTURES = sorted((HERE.parent / "architectures").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.stem)
def test_export_then_import_gives_the_plan_back(path, tmp_path):
    """Every bundled PyTorch-convention spec, exported to a torch module and imported again:
    the same totals, outputs, and every layer with parameters at the same path."""
    import re

    from cnncalc.engine import plan
    from cnncalc.export import to_pytorch
    from cnncalc.importers.pytorch import to_spec
    from cnncalc.spec import load_file, parse

    original = plan(load_file(str(path)))
    if original.convention == "keras":
        pytest.skip("a Keras-convention spec exports to Keras")
    code = to_pytorch(original, source=str(path))
    module = tmp_path / f"{path.stem}.py"
    module.write_text(code)
    network = re.findall(r"^class (\w+)\(nn\.Module\)", code, re.M)[-1]
    back = plan(parse(to_spec(f"{module}:{network}", list(original.input_shapes.values()))))
    for what in ("params", "buffers", "macs"):
        assert getattr(back.totals, what) == getattr(original.totals, what), what
    assert list(back.output_shapes.values()) == list(original.output_shapes.values())
    rows = {row.name: row for row in back.layers}
    for row in original.layers:
        if row.params or row.buffers:
            assert row.name in rows, row.name
            assert (rows[row.name].output_shape, rows[row.name].params) == (row.output_shape, row.params), row.name


CASES = "tests/against/import_cases.py"


@pytest.mark.parametrize(
    ("model", "shape", "expected"),
    [
        (
            "OptionalFields",
            "3,8,8",
            "{type: log_softmax, name: log_softmax, dim: 3, inputs: softmax, when: with_log_softmax}",
        ),
        ("Collide", "3,10,10", "{type: relu, name: relu_3}"),
        ("YamlWords", "3,8,8", "  no_block:"),
        ("Empty", "3,8,8", "{type: add, name: add, inputs: [relu, conv]}"),
        ("ChainRead", "3,8,8", '      - {type: add, name: add, inputs: ["2", "0"]}'),
        ("EmbeddingFirst", "6", "{type: embedding, name: emb, num_embeddings: 100, embedding_dim: 16}"),
    ],
)
def test_cases_that_once_fooled_the_import(monkeypatch, tmp_path, model, shape, expected):
    out = tmp_path / f"{model}.yaml"
    result = _run(monkeypatch, f"{CASES}:{model}", "--input", shape, "-o", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert expected in out.read_text()
    verified = _verify_against(monkeypatch, out, f"{CASES}:{model}", "{}")
    assert verified.exit_code == 0, verified.output + verified.stderr


@pytest.mark.parametrize("case", sorted(import_cases.REFUSED))
def test_what_changes_values_beyond_a_layer_is_refused(monkeypatch, tmp_path, case):
    out = tmp_path / "spec.yaml"
    result = _run(monkeypatch, f"{CASES}:refused", "--input", "3,8,8", "--kwargs", f'{{"case": "{case}"}}', "-o", out)
    assert result.exit_code == 2, result.output + result.stderr
    assert import_cases.REFUSED[case][1] in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
