"""`cnncalc export --to onnx`: every bundled PyTorch architecture exports, passes ONNX's checker
and strict shape inference, runs in onnxruntime to the planned output shapes and holds the plan's
parameters and buffers, or is refused by name; and the layer families compute what torch does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clirun import runner
from published import pytorch_specs
from torch_reference import require, require_torch

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.export import ExportError
from cnncalc.spec import load_file, parse

onnx = require("onnx")
ort = require("onnxruntime")
np = require("numpy")

from cnncalc.export.onnx import initializer_elements, to_onnx  # noqa: E402  (after the skip)

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURES = pytorch_specs(sorted((ROOT / "architectures").glob("*.yaml")))

# stem -> the layer types the ONNX export refuses in it: exactly these (the test checks both ways)
REFUSED: dict[str, set[str]] = {"vit_b_16": {"parameter", "multihead_attention"}}
# hundreds of megabytes of weights each: seconds to serialise, check and load; zeros, not random
HEAVY = {"alexnet", "alexnet_original", "vgg11", "vgg16", "vgg16_bn", "vgg19", "wide_resnet50_2"}


def _session(data: bytes):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings about initializers it folds
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _dims(info) -> list:
    return [d.dim_param or d.dim_value for d in info.type.tensor_type.shape.dim]


def check_exported(planned, **options):
    """Export, check fully, infer strictly, run in onnxruntime; return (export, session outputs)."""
    built = to_onnx(planned, **options)
    data = built.model.SerializeToString()  # once: the checks and the session read the same bytes
    onnx.checker.check_model(data, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(data, strict_mode=True)
    assert [_dims(info) for info in inferred.graph.output] == [["batch", *s] for s in planned.output_shapes.values()]
    named = {info.name for info in inferred.graph.value_info} | {i.name for i in inferred.graph.input}
    named |= {o.name for o in inferred.graph.output} | {i.name for i in inferred.graph.initializer}
    produced = {value for node in inferred.graph.node for value in node.output}
    assert produced <= named, sorted(produced - named)[:5]  # a shape on every value
    feeds = {
        name: np.random.default_rng(1).random((1, *shape), dtype=np.float32)
        for name, shape in planned.input_shapes.items()
    }
    outputs = _session(data).run(None, feeds)
    assert [tuple(out.shape) for out in outputs] == [(1, *s) for s in planned.output_shapes.values()]
    return built, outputs


@pytest.mark.slow  # about 50 s for all 44 on two cores, half of it the VGGs' weights
@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.stem)
def test_architecture_exports_to_onnx_or_is_refused_by_name(path):
    planned = plan(load_file(str(path)))
    if path.stem in REFUSED:
        with pytest.raises(ExportError) as caught:
            to_onnx(planned, source=str(path))
        named = set(re.findall(r"\((\w+)\): ", str(caught.value)))
        assert named == REFUSED[path.stem], str(caught.value)
        return
    built, _ = check_exported(planned, random_weights=path.stem not in HEAVY)
    totals = planned.totals
    # batch norm's num_batches_tracked (one per layer) is left out: inference never reads it
    assert initializer_elements(built.model) + built.left_out == totals.params + totals.buffers
    trackers = sum(1 for row in planned.layers if row.config.get("track_running_stats"))
    assert built.left_out == trackers
    names = {tensor.name for tensor in built.model.graph.initializer}
    held = {row.name for row in planned.layers if row.type_name == "layer_scale"}  # a tensor torch names as the layer
    assert all(re.fullmatch(r"[\w.-]+\.(weight|bias|running_mean|running_var)", n) or n in held for n in names), names


def test_refusals_list_is_exact():
    assert set(REFUSED) <= {p.stem for p in ARCHITECTURES}


def test_resnet_names_are_torch_state_dict_keys():
    built = to_onnx(plan(load_file(str(ROOT / "architectures" / "resnet18.yaml"))))
    names = [tensor.name for tensor in built.model.graph.initializer]
    assert names[:6] == [
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "layer1.0.conv1.weight",
    ]
    assert "layer2.0.downsample.0.weight" in names and "fc.bias" in names
    nodes = {node.name for node in built.model.graph.node}
    assert {"conv1", "layer1.0.conv1", "layer1.0.add", "fc"} <= nodes


def test_random_weights_are_seeded():
    planned = plan(parse("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n"))
    first, again, other = (to_onnx(planned, random_weights=True, seed=s).model for s in (0, 0, 1))
    values = [onnx.numpy_helper.to_array(m.graph.initializer[0]) for m in (first, again, other)]
    assert (values[0] == values[1]).all() and not (values[0] == values[2]).all() and values[0].std() > 0


MULTI = """
name: two-in-two-out
inputs: {image: [3, 16, 16], mask: [1, 16, 16]}
outputs: [head, pooled]
layers:
  - {type: concat, name: both, inputs: [image, mask]}
  - {type: conv2d, name: head, out_channels: 8, kernel_size: 3, padding: same}
  - {type: adaptive_avgpool2d, name: pooled, output_size: 1, inputs: [head]}
"""


def test_several_inputs_and_outputs():
    planned = plan(parse(MULTI))
    built, outputs = check_exported(planned)
    assert [i.name for i in built.model.graph.input] == ["image", "mask"]
    assert [o.name for o in built.model.graph.output] == ["head", "pooled"]


def test_onnxruntime_runs_any_batch_size():
    planned = plan(load_file(str(ROOT / "architectures" / "lenet5.yaml")))
    session = _session(to_onnx(planned).model.SerializeToString())
    (out,) = session.run(None, {"input": np.zeros((5, 1, 32, 32), np.float32)})
    assert out.shape == (5, 10)


def test_cli_writes_the_model(tmp_path):
    target = tmp_path / "model.onnx"
    result = runner().invoke(
        cli, ["export", str(ROOT / "architectures" / "lenet5.yaml"), "--to", "onnx", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    model = onnx.load(str(target))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17


def test_cli_refusal_names_layer_type_and_line_and_writes_nothing(tmp_path):
    target = tmp_path / "vit.onnx"
    spec = ROOT / "architectures" / "vit_b_16.yaml"
    result = runner().invoke(cli, ["export", str(spec), "--to", "onnx", "-o", str(target)])
    assert result.exit_code == 2
    assert not target.exists()
    assert "Traceback" not in result.output
    assert re.search(r"vit_b_16\.yaml:51:5: layer 'class_token' \(parameter\)", result.output), result.output
    lines = [line for line in result.output.splitlines() if "vit_b_16.yaml:" in line]
    assert [int(line.split(".yaml:")[1].split(":")[0]) for line in lines] == [27, 42, 51]  # in line order
    assert "(multihead_attention)" in result.output


def test_cli_refusal_of_unequal_adaptive_bins(tmp_path):
    spec = tmp_path / "odd.yaml"
    spec.write_text(
        "input: [3, 10, 10]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n  - adaptive_avgpool2d: 3\n"
    )
    result = runner().invoke(cli, ["export", str(spec), "--to", "onnx", "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    assert (
        "odd.yaml:4:5: layer 'adaptive_avgpool2d_1' (adaptive_avgpool2d): its bins are of unequal sizes (8 into 3"
        in result.output
    )


def test_cli_onnx_needs_a_file_and_the_keras_convention_is_refused(tmp_path):
    lenet = str(ROOT / "architectures" / "lenet5.yaml")
    result = runner().invoke(cli, ["export", lenet, "--to", "onnx"])
    assert result.exit_code == 2 and "-o model.onnx" in result.output
    result = runner().invoke(cli, ["export", lenet, "--random-weights"])
    assert result.exit_code == 2 and "--to onnx" in result.output
    keras = str(ROOT / "architectures" / "dogs_cats_keras.yaml")
    result = runner().invoke(cli, ["export", keras, "--to", "onnx", "-o", str(tmp_path / "k.onnx")])
    assert result.exit_code == 2 and "Keras convention" in result.output
    assert not (tmp_path / "k.onnx").exists()


def test_cli_without_onnx_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # import onnx raises ImportError
    lenet = str(ROOT / "architectures" / "lenet5.yaml")
    result = runner().invoke(cli, ["export", lenet, "--to", "onnx", "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    assert "pip install 'cnncalc[onnx]'" in result.output and "Traceback" not in result.output


def test_the_onnx_package_is_imported_only_on_this_path():
    import subprocess
    import sys

    code = "import sys, cnncalc.cli, cnncalc.export, cnncalc.layers; print('onnx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_every_onnx_type_covers_its_ranks():
    """conv1d/2d/3d and the other families share one method per family (no type name tested)."""
    from cnncalc.layers import LAYER_TYPES
    from cnncalc.layers.base import LayerType

    exported = {cls.type_name for cls in LAYER_TYPES if cls.onnx_nodes is not LayerType.onnx_nodes}
    for family in ("conv", "conv_transpose", "maxpool", "avgpool", "batchnorm", "adaptive_avgpool"):
        assert {f"{family}{rank}d" for rank in (1, 2, 3)} <= exported, family


# Small specs of every exported family, and a few zoo networks: torch's own module (the PyTorch
# export) and the ONNX model with the same weights, loaded by name, give the same numbers.
FAMILIES = {
    "conv": """input: [4, 11, 13]
layers:
  - conv2d: {out_channels: 6, kernel_size: 3, padding: same, dilation: 2}
  - {type: conv2d, out_channels: 6, kernel_size: [3, 4], stride: 2, padding: same, groups: 3}
  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: [1, 2], padding_mode: reflect, bias: false}
  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, padding_mode: circular}
  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, padding_mode: replicate}
  - {type: conv_transpose2d, out_channels: 6, kernel_size: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
  - batchnorm2d
  - relu6
""",
    "conv1d_3d": """inputs: {wave: [2, 40], volume: [2, 5, 6, 7]}
outputs: [c1, c3]
layers:
  - {type: conv1d, name: c1a, out_channels: 4, kernel_size: 5, stride: 3, padding: 2, inputs: [wave]}
  - {type: maxpool1d, kernel_size: 3, stride: 2, ceil_mode: true}
  - {type: avgpool1d, name: c1, kernel_size: 2, ceil_mode: true, count_include_pad: false}
  - {type: conv3d, out_channels: 4, kernel_size: 3, padding: 1, inputs: [volume]}
  - {type: conv_transpose3d, out_channels: 2, kernel_size: 2, stride: 2}
  - {type: adaptive_avgpool3d, name: c3, output_size: [5, 6, 7]}
""",
    "pools_norms": """input: [8, 15, 15]
layers:
  - {type: maxpool2d, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - {type: avgpool2d, kernel_size: 3, stride: 1, padding: 1, count_include_pad: false}
  - {type: avgpool2d, kernel_size: 2, ceil_mode: true}
  - {type: groupnorm, num_groups: 4}
  - {type: instancenorm2d, affine: true}
  - {type: layernorm2d}
  - {type: local_response_norm, size: 3}
  - {type: adaptive_maxpool2d, output_size: [2, 4]}
  - {type: layernorm, normalized_shape: [2, 4]}
  - {type: global_avgpool2d}
  - gelu
""",
    "activations": """input: [6, 5, 5]
layers:
  - {type: conv2d, out_channels: 6, kernel_size: 1}
  - {type: leaky_relu, negative_slope: 0.2}
  - {type: elu, alpha: 0.7}
  - {type: silu}
  - {type: hardswish}
  - {type: hardsigmoid}
  - {type: mish}
  - {type: prelu, num_parameters: 6}
  - {type: gelu, approximate: tanh}
  - {type: softmax, dim: 1}
  - {type: tanh}
  - {type: log_softmax, dim: -1}
""",
    "resample_reshape": """input: [8, 6, 6]
layers:
  - {type: upsample, scale_factor: 2}
  - {type: upsample, scale_factor: 1.5, mode: bilinear}
  - {type: upsample, size: [20, 21], mode: bilinear, align_corners: true}
  - {type: upsample, size: [10, 10], mode: bicubic}
  - {type: reflection_pad2d, padding: [1, 2, 0, 1]}
  - {type: replication_pad2d, padding: 1}
  - {type: zero_pad2d, padding: [0, 1, 1, 0]}
  - {type: constant_pad2d, padding: 1, value: 0.5}
  - {type: circular_pad2d, padding: 2}
  - {type: pixel_unshuffle, downscale_factor: 2}
  - {type: pixel_shuffle, upscale_factor: 2}
  - {type: channel_shuffle, groups: 4}
  - {type: chunk, chunks: 3, index: 1}
  - {type: permute, dims: [0, 2, 3, 1]}
  - {type: linear, out_features: 5, in_features: 3}
  - {type: transpose, dim0: 1, dim1: 3}
  - {type: select, dim: 2, index: -1}
  - flatten
  - dropout
  - linear: 3
""",
}
NUMERIC_ZOO = ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x1_0", "googlenet", "espcn"]


def _torch_model(planned):
    from cnncalc.export import export

    exported = export(planned)
    namespace: dict = {"__name__": "exported"}
    exec(compile(exported.code, "exported.py", "exec"), namespace)
    return namespace[exported.model_class]()


def _same_numbers(planned) -> None:
    """torch's module, its state_dict (randomised, buffers too) copied into the ONNX model by
    name, gives onnxruntime's outputs to 1e-4."""
    torch = require_torch()
    torch.manual_seed(0)
    model = _torch_model(planned).eval()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():  # BN's running statistics, norms' scales: not their defaults
                tensor.copy_(
                    torch.rand_like(tensor) + 0.5
                    if name.endswith("running_var")
                    else tensor + 0.1 * torch.randn_like(tensor)
                )
    state = model.state_dict()
    built = to_onnx(planned)
    for tensor in built.model.graph.initializer:
        key = tensor.name if tensor.name in state else re.sub(r"\.(\w+)$", r".1.\1", tensor.name)  # a ZeroPad before
        values = state[key].numpy()
        assert tuple(values.shape) == tuple(tensor.dims), tensor.name
        tensor.raw_data = values.astype("<f4").tobytes()
    rng = np.random.default_rng(2)
    feeds = {name: rng.standard_normal((2, *shape), dtype=np.float32) for name, shape in planned.input_shapes.items()}
    with torch.no_grad():
        expected = model(*(torch.from_numpy(feeds[name]) for name in planned.input_shapes))
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    got = _session(built.model.SerializeToString()).run(None, feeds)
    for want, have in zip(expected, got):
        want = want.numpy()  # 1e-4, relative to the outputs' size (random weights make a ResNet's 1e6)
        np.testing.assert_allclose(have, want, atol=1e-4 * max(1.0, float(np.abs(want).max())), rtol=1e-4)


@pytest.mark.parametrize("name", FAMILIES)
def test_layer_families_compute_what_torch_computes(name):
    _same_numbers(plan(parse(FAMILIES[name])))


@pytest.mark.parametrize("stem", NUMERIC_ZOO)
def test_zoo_networks_compute_what_torch_computes(stem):
    _same_numbers(plan(load_file(str(ROOT / "architectures" / f"{stem}.yaml"))))


def test_cli_refusal_names_the_included_file_a_block_is_written_in(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "attn.yaml").write_text(
        "blocks:\n  mixer:\n    layers:\n      - {name: attn, type: multihead_attention, num_heads: 2}\n"
    )
    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\ninclude: parts/attn.yaml\ninput: [4, 8]\nlayers:\n  - {type: mixer, name: m}\n")
    result = runner().invoke(cli, ["export", str(spec), "--to", "onnx", "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and not (tmp_path / "m.onnx").exists()
    assert f"{tmp_path / 'parts' / 'attn.yaml'}:4:9: layer 'm.attn' (multihead_attention)" in result.output
