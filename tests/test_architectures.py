"""The bundled architectures/*.yaml: published totals, and PyTorch agreeing layer by layer.

Every spec in architectures/ is picked up by the glob; each needs an entry in
tests/published.py (its total parameter count, from the paper or torchvision) and in
FIRST_LINEAR_IN_FEATURES.

A sequential spec is rebuilt layer by layer from torch.nn (torch_reference.run_torch); a graph
spec (one that names `inputs:`) cannot be a torch.nn.Sequential, so it is checked through
cnncalc's exported module with cnncalc.verify, which runs each layer, merges included, in torch.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from published import KERAS_PUBLISHED, PUBLISHED_PARAMS, pytorch_specs
from torch_reference import require_torch, run_torch

from cnncalc.engine import plan
from cnncalc.export import class_name, to_pytorch
from cnncalc.render.json import plan_document
from cnncalc.spec import load_file
from cnncalc.verify import verify

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
SPECS = pytorch_specs(sorted(ARCH_DIR.glob("*.yaml")))  # the Keras ones: tests/test_architectures_keras.py
STEMS = [p.stem for p in SPECS]

PUBLISHED = PUBLISHED_PARAMS

# in_features of the first linear layer: what the flatten before it produces.
FIRST_LINEAR_IN_FEATURES = {
    "lenet5": 400,  # 16 x 5 x 5
    "alexnet": 9_216,  # 256 x 6 x 6
    "alexnet_original": 9_216,
    "vgg11": 25_088,  # 512 x 7 x 7
    "vgg16": 25_088,
    "vgg16_bn": 25_088,
    "vgg19": 25_088,
    "dogs_cats": 6_272,  # 32 x 14 x 14
    "seed_50x50": 9_216,  # 64 x 12 x 12
    "resnet18": 512,  # 512 x 1 x 1, after the adaptive average pool
    "resnet34": 512,
    "resnet50": 2_048,
    "resnet101": 2_048,
    "resnet152": 2_048,
    "resnext50_32x4d": 2_048,
    "wide_resnet50_2": 2_048,
    "densenet121": 1_024,
    "squeezenet1_0": None,  # a 1x1 convolution classifies; no linear layer
    "squeezenet1_1": None,
    "mobilenet_v2": 1_280,
    "mobilenet_v3_small": 576,
    "mobilenet_v3_large": 960,
    "googlenet": 1_024,
    "inception_v3": 2_048,
    "shufflenet_v2_x1_0": 1_024,
    "mnasnet1_0": 1_280,
    "efficientnet_b0": 1_280,
    "regnet_y_400mf": 440,
    "convnext_tiny": 768,  # the head's linear; the blocks' linears work per pixel (channels-last)
    "unet": None,  # fully convolutional
    "fcn_resnet50": None,
    "deeplabv3_resnet50": None,
    "resnet50_gn": 2_048,  # after global_pool (its pool and flatten)
    "cyclegan_generator": None,  # fully convolutional
    "espcn": None,  # fully convolutional
    "dcgan_generator": None,  # transposed convs only
    "dcgan_discriminator": None,  # a 4x4 conv makes the 1x1 output
    "r3d_18": 512,  # 512 x 1 x 1 x 1, after the adaptive average pool
    "mc3_18": 512,
    "r2plus1d_18": 512,
    "m5": None,  # fc1 works on the last axis of [1, 64] (the tutorial permutes, not flattens)
    "unet3d": None,  # fully convolutional
    "yolov5s": None,  # fully convolutional: three 1x1 conv outputs
    "vit_b_16": 768,  # the class token's output; the encoder's linears work per token
    "ddpm_unet": 128,  # temb.dense.0, on the timestep's sinusoidal embedding (the second input)
}


@cache
def _planned(stem: str):
    spec = load_file(str(ARCH_DIR / f"{stem}.yaml"))
    return spec, plan(spec)


@cache
def _measured(stem: str):
    spec, _ = _planned(stem)
    measured, failure = run_torch(spec)
    assert failure is None, f"torch refused layer {spec.layers[failure[0]].name!r}: {failure[1]}"
    return measured


@cache
def _verified(stem: str):
    """verify()'s comparisons for a graph spec: each layer, then the whole forward()."""
    require_torch()
    _, result = _planned(stem)
    return verify(result, device="cpu")


def _exported(stem: str):
    """A graph spec's exported torch module, built on the meta device: counts need no memory
    (and a cache of the zoo's models on the CPU would hold gigabytes)."""
    torch = require_torch()
    _, result = _planned(stem)
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch(result), f"{stem}.py", "exec"), namespace)
    with torch.device("meta"):
        return namespace[class_name(result.name)]()


def test_architectures_found():
    assert SPECS, f"no specs in {ARCH_DIR}"


@pytest.mark.parametrize("stem", STEMS)
def test_every_spec_has_published_figures(stem):
    assert stem in PUBLISHED, f"add {stem}'s published total to tests/published.py"
    assert stem in FIRST_LINEAR_IN_FEATURES, f"add {stem} to FIRST_LINEAR_IN_FEATURES"


@pytest.mark.parametrize("stem", sorted(PUBLISHED))
def test_every_published_figure_has_a_spec(stem):
    assert stem in STEMS, f"architectures/{stem}.yaml is missing"


WRITTEN_COUNT = re.compile(r"^# Expected(?: total)?: ([\d,]+) parameters", re.M)
README_ROW = re.compile(r"^\| `(\w+)\.yaml` \|.*\| ([\d,]+) \|$", re.M)


@pytest.mark.parametrize("stem", STEMS)
def test_the_count_a_spec_states_is_the_published_one(stem):
    """A spec's header comment states its expected total; it is the one in tests/published.py."""
    stated = WRITTEN_COUNT.findall((ARCH_DIR / f"{stem}.yaml").read_text())
    assert [int(count.replace(",", "")) for count in stated] == [PUBLISHED[stem]], stated


def test_the_counts_in_the_readme_are_the_published_ones():
    rows = README_ROW.findall((ARCH_DIR.parent / "README.md").read_text(encoding="utf-8"))
    assert len(rows) >= 9, rows  # the table of smaller and historical networks
    published = {**PUBLISHED, **{stem: counts[0] for stem, counts in KERAS_PUBLISHED.items()}}
    assert {stem: int(count.replace(",", "")) for stem, count in rows} == {stem: published[stem] for stem, _ in rows}


@pytest.mark.parametrize("stem", STEMS)
def test_total_params_match_published(stem):
    _, result = _planned(stem)
    assert result.totals.params == PUBLISHED[stem]
    assert result.totals.trainable_params == PUBLISHED[stem]
    assert result.totals.non_trainable_params == 0


@pytest.mark.parametrize("stem", STEMS)
def test_every_layer_matches_torch(stem):
    spec, result = _planned(stem)
    if spec.is_graph:
        comparisons = _verified(stem)
        # every layer once, in the plan's order, then each block's module and the whole forward()
        groups = [group.name for group in result.groups]
        assert [c.name for c in comparisons] == [layer.name for layer in result.layers] + groups + ["forward()"]
        wrong = [c for c in comparisons if not c.ok]
        assert not wrong, f"{stem}: cnncalc (shape, params, buffers, MACs) != torch: {wrong}"
        return
    measured = _measured(stem)
    assert len(measured) == len(result.layers)
    for layer, torch_layer in zip(result.layers, measured):
        got = (layer.output_shape, layer.params, layer.trainable_params, layer.buffers)
        want = (torch_layer.output_shape, torch_layer.params, torch_layer.trainable_params, torch_layer.buffers)
        assert got == want, f"{stem}: layer {layer.name!r} ({layer.type_name}): cnncalc {got} != torch {want}"


@pytest.mark.parametrize("stem", STEMS)
def test_json_totals_match_torch(stem):
    spec, result = _planned(stem)
    totals = plan_document(result)["totals"]
    counts = ("params", "trainable_params", "non_trainable_params", "buffers")
    if spec.is_graph:
        model = _exported(stem)
        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert {key: totals[key] for key in counts} == {
            "params": params,
            "trainable_params": trainable,
            "non_trainable_params": params - trainable,
            "buffers": sum(b.numel() for b in model.buffers()),
        }
        return
    measured = _measured(stem)
    params = sum(m.params for m in measured)
    trainable = sum(m.trainable_params for m in measured)
    assert {key: totals[key] for key in counts} == {
        "params": params,
        "trainable_params": trainable,
        "non_trainable_params": params - trainable,
        "buffers": sum(m.buffers for m in measured),
    }


# a concat whose first input is a learned tensor (ViT's [class_token, tokens]) takes the tensor's
# axes, not the channels-last tokens', so the encoder's per-token linear passes for the head
FIRST_LINEAR_PINNED: dict[str, str] = {}  # stem -> why its first linear layer is known to be named wrong


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param(stem, marks=pytest.mark.xfail(strict=True, reason=FIRST_LINEAR_PINNED[stem]))
        if stem in FIRST_LINEAR_PINNED
        else stem
        for stem in STEMS
    ],
)
def test_first_linear_in_features(stem):
    _, result = _planned(stem)
    first = result.first_linear
    if FIRST_LINEAR_IN_FEATURES[stem] is None:
        assert first is None
        return
    assert first is not None
    assert first.in_features == FIRST_LINEAR_IN_FEATURES[stem]
    assert plan_document(result)["first_linear"]["in_features"] == FIRST_LINEAR_IN_FEATURES[stem]
    # and it is really the first linear layer, fed by what came before it
    index = next(
        i for i, layer in enumerate(result.layers) if layer.type_name == "linear" and len(layer.input_shape) == 1
    )
    assert result.layers[index].name == first.name
    assert result.layers[index].input_shape == (FIRST_LINEAR_IN_FEATURES[stem],)
