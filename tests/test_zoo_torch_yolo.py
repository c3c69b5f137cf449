"""tests/zoo_torch_yolo.py: the YOLOv5s twin has ultralytics' counts, and architectures/yolov5s.yaml
plans as it runs, layer by layer.

The twin is built and run on the meta device (no memory is allocated and no arithmetic done, so
the counts are exact and the forward pass checks that the layers fit together). Its counts are
checked against what ultralytics prints for yolov5s.yaml (v7.0, 80 classes): parse_model's table
of parameters per layer, the model summary's total, and the total once fused for inference.
The spec is then compared with the twin by tests/test_zoo.py's assert_matches_reference: each
module's parameters and output shape by module path, the total, the MACs and the three outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from published import PUBLISHED_PARAMS, ZOO, zoo_names
from test_zoo import assert_counts_and_runs, assert_matches_reference
from torch_reference import measure_saved_bytes_of, require_torch

from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.spec import load_file
from cnncalc.verify import verify

NAMES = zoo_names("zoo_torch_yolo")  # read from the source: collecting imports no torch
ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"

# ultralytics/yolov5 v7.0, parse_model's table for yolov5s.yaml: the parameters of model.0 ... model.24
ULTRALYTICS_LAYER_PARAMS = (
    3_520, 18_560, 18_816, 73_984, 115_712, 295_424, 625_152, 1_180_672, 1_182_720, 656_896,
    131_584, 0, 0, 361_984, 33_024, 0, 0, 90_880, 147_712, 0, 296_448, 590_336, 0, 1_182_720, 229_245,
)  # fmt: skip
ULTRALYTICS_FUSED_PARAMS = 7_225_885  # "Fusing layers... YOLOv5s summary: 157 layers, 7225885 parameters"


@pytest.fixture(scope="module")
def zoo_torch():
    """torch, the reference models, and what each returns (importing them imports torch)."""
    torch = require_torch()
    from zoo_torch_yolo import MODELS, OUTPUT_SHAPES

    return torch, MODELS, OUTPUT_SHAPES


def test_every_model_has_a_published_count_an_output_shape_and_a_spec(zoo_torch):
    _, models, outputs = zoo_torch
    assert sorted(models) == sorted(outputs) == NAMES == ["yolov5s"]
    assert set(NAMES) <= set(PUBLISHED_PARAMS)
    assert not set(NAMES) & ZOO
    assert all((ARCHITECTURES / f"{name}.yaml").exists() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_params_and_forward(name, zoo_torch):
    _, models, outputs = zoo_torch
    assert len(outputs[name]) == 3  # the three Detect levels, returned as a tuple
    assert_counts_and_runs(*models[name], PUBLISHED_PARAMS[name], outputs[name])


def test_yolov5s_has_ultralytics_layer_counts_and_module_paths(zoo_torch):
    torch, models, _ = zoo_torch
    with torch.device("meta"):
        model = models["yolov5s"][0]()
    assert len(model.model) == 25
    assert tuple(sum(p.numel() for p in layer.parameters()) for layer in model.model) == ULTRALYTICS_LAYER_PARAMS
    assert sum(ULTRALYTICS_LAYER_PARAMS) == PUBLISHED_PARAMS["yolov5s"] == 7_235_389
    paths = dict(model.named_modules())
    for path in ("model.0.conv", "model.2.cv1.conv", "model.2.m.0.cv1.bn", "model.9.m", "model.13.cv3.act"):
        assert path in paths
    assert [paths[f"model.24.m.{i}"].out_channels for i in range(3)] == [255, 255, 255]
    bn = paths["model.2.m.0.cv1.bn"]
    assert (bn.eps, bn.momentum) == (0.001, 0.03)


def test_yolov5s_fused_count_is_ultralytics_inference_summary(zoo_torch):
    """Fusing folds each Conv's batch norm into its conv2d, which gains a bias: one parameter
    fewer per output channel of the 57 Convs (weight and bias of the norm, 2C, for a bias, C)."""
    torch, models, _ = zoo_torch
    from zoo_torch_yolo import Conv

    with torch.device("meta"):
        model = models["yolov5s"][0]()
    convs = [module for module in model.modules() if isinstance(module, Conv)]
    assert len(convs) == 57
    for conv in convs:
        c = conv.conv
        conv.conv = torch.nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, device="meta")
        conv.bn = torch.nn.Identity()
    assert sum(p.numel() for p in model.parameters()) == ULTRALYTICS_FUSED_PARAMS


@pytest.mark.parametrize("name", NAMES)
def test_spec_matches_its_reference_layer_by_layer(name, zoo_torch):
    _, models, _ = zoo_torch
    build, in_shape = models[name]
    assert_matches_reference(ARCHITECTURES / f"{name}.yaml", build, in_shape, PUBLISHED_PARAMS[name])


def test_yolov5s_spec_has_the_twins_shortcuts_upsampling_and_outputs(zoo_torch):
    """What the counts cannot see: a residual add and an upsampling mode change no parameter and
    no MAC, so which Bottlenecks add their input (the backbone's, not the neck's) and how the neck
    upsamples are compared here; and the spec returns the three Detect convs, in order."""
    torch, models, _ = zoo_torch
    from zoo_torch_yolo import Bottleneck

    with torch.device("meta"):
        model = models["yolov5s"][0]()
    result = plan(load_file(str(ARCHITECTURES / "yolov5s.yaml")))
    rows = {row.name: row for row in result.layers}
    modules = dict(model.named_modules())
    adding = sorted(path for path, module in modules.items() if isinstance(module, Bottleneck) and module.add)
    assert adding == sorted(name.removesuffix(".add") for name in rows if name.endswith(".add"))
    assert adding[0] == "model.2.m.0" and len(adding) == 7
    for path in ("model.11", "model.15"):
        assert modules[path].mode == rows[path].config["mode"] == "nearest"
        assert (modules[path].scale_factor,) * 2 == rows[path].config["scale_factor"] == (2, 2)
    assert result.spec.outputs == ("model.24.m.0", "model.24.m.1", "model.24.m.2")
    assert list(result.output_shapes.values()) == [(255, 80, 80), (255, 40, 40), (255, 20, 20)]


def test_yolov5s_verifies_with_its_three_detect_outputs():
    """cnncalc verify on the spec as written: `outputs:` lists the Detect convs inside `model.24`,
    so the exported block classes on the way (Yolov5, Detect, DetectConvs) return them after their
    own output; every layer, every block module and the whole forward() (three tensors) agree with
    PyTorch."""
    require_torch()
    result = _planned_yolov5s()
    comparisons = verify(result, device="cpu")
    names = [layer.name for layer in result.layers] + [group.name for group in result.groups] + ["forward()"]
    assert [c.name for c in comparisons] == names
    assert len(result.layers) == 199
    assert [c for c in comparisons if not c.ok] == []
    assert comparisons[-1].measured[0] == ((255, 80, 80), (255, 40, 40), (255, 20, 20))


# tests/test_costs.py checks every bundled spec against its own export; these make the same three
# checks against the independent twin: MACs per layer, saved activations and a receptive field.


def _planned_yolov5s():
    return plan(load_file(str(ARCHITECTURES / "yolov5s.yaml")))


def test_yolov5s_macs_per_layer_equal_torch_flop_counter(zoo_torch):
    torch, models, _ = zoo_torch
    from torch.utils.flop_counter import FlopCounterMode

    build, in_shape = models["yolov5s"]
    with torch.device("meta"):
        model = build().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, *in_shape, device="meta"))
    leaves = {path for path, module in model.named_modules() if path and not list(module.children())}
    counted = {key.partition(".")[2]: sum(flops.values()) // 2 for key, flops in counter.get_flop_counts().items()}
    measured = {path: macs for path, macs in counted.items() if path in leaves}
    rows = _planned_yolov5s().layers
    assert len(measured) == 60  # the 57 Convs' conv2d and Detect's three
    assert {row.name: row.macs for row in rows if row.macs} == measured


@pytest.mark.slow
def test_yolov5s_saved_activations_match_autograd(zoo_torch):
    """What autograd keeps for backward in the twin (train mode, batch 2, float32, the three
    outputs returned) is cnncalc's estimate, to the byte."""
    _, models, _ = zoo_torch
    build, in_shape = models["yolov5s"]
    estimated = estimate(_planned_yolov5s(), batch_size=2).saved_activations_bytes
    assert estimated == measure_saved_bytes_of(build(), in_shape, batch_size=2)


@pytest.mark.slow
def test_yolov5s_receptive_field_matches_gradients(zoo_torch):
    """model.10's field (650 pixels, stride 32, the last layer that has one: nearest upsampling has
    none) is exactly the input pixels that one output pixel's gradient reaches, through the twin's
    first eleven layers (a chain) with tests/test_costs.py's probe modules: positive weights,
    average pools for max pools, batch norms as identities."""
    torch, models, _ = zoo_torch
    from test_costs import _expected_extents, _measured_extents, _probe_module

    build, in_shape = models["yolov5s"]
    probe = torch.nn.Sequential(*list(build().model)[:11])
    for path, module in list(probe.named_modules()):
        if path and not list(module.children()):
            parent, _, child = path.rpartition(".")
            setattr(probe.get_submodule(parent), child, _probe_module(module))
    probe.eval()
    rows = {row.name: row for row in _planned_yolov5s().layers}
    field = rows["model.10.act"].receptive_field
    assert (field.size, field.stride) == ((650, 650), (32, 32))
    for where in ("first", "middle", "last"):
        position, seen = _measured_extents(probe, in_shape, where)
        assert seen == _expected_extents(field, position, in_shape), where
