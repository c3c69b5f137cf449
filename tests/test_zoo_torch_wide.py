"""tests/zoo_torch_wide.py: the 1-D, 3-D and GAN twins (video ResNets, M5, DCGAN, a 3-D U-Net).

Each reference model has its published parameter count and runs (built and run on the meta
device: no memory is allocated and no arithmetic done, so the count is exact and the forward
pass checks that the layers fit together); each architectures/<name>.yaml written for one plans
as it runs, layer by layer (tests/test_zoo.py's assert_matches_reference).

These models are not in published.ZOO: that set is docs/costs.md's table of the 2-D classifier
zoo. A model without a bundled spec has its count in published.AWAITING_SPEC.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from published import AWAITING_SPEC, PUBLISHED_PARAMS, ZOO, zoo_names
from test_zoo import assert_counts_and_runs, assert_matches_reference
from torch_reference import require_torch

NAMES = zoo_names("zoo_torch_wide")  # read from the source: collecting imports no torch
ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"
WRITTEN = [name for name in NAMES if (ARCHITECTURES / f"{name}.yaml").exists()]
COUNTS = {**PUBLISHED_PARAMS, **AWAITING_SPEC}


@pytest.fixture(scope="module")
def zoo_torch():
    """torch, the reference models, and what each returns (importing them imports torch)."""
    torch = require_torch()
    from zoo_torch_wide import MODELS, OUTPUT_SHAPES

    return torch, MODELS, OUTPUT_SHAPES


def test_every_model_has_a_published_count_and_an_output_shape(zoo_torch):
    _, models, outputs = zoo_torch
    assert sorted(models) == sorted(outputs) == NAMES
    assert set(NAMES) <= set(COUNTS)
    assert not set(NAMES) & ZOO


def test_a_bundled_spec_has_its_count_in_published_params():
    assert set(WRITTEN) <= set(PUBLISHED_PARAMS)
    assert not set(WRITTEN) & set(AWAITING_SPEC)


@pytest.mark.parametrize("name", NAMES)
def test_params_and_forward(name, zoo_torch):
    _, models, outputs = zoo_torch
    assert_counts_and_runs(*models[name], COUNTS[name], outputs[name])


def test_r2plus1d_mid_widths_match_a_full_3d_conv(zoo_torch):
    """R(2+1)D picks each block's mid width so that its (2+1)-D pair has about the parameters
    of the 3x3x3 conv it replaces, from the block's input and output widths, and both pairs of
    the block use it: layer2.0 (64 -> 128) has 230 in both, not 288 in its second."""
    torch, models, _ = zoo_torch
    with torch.device("meta"):
        model = models["r2plus1d_18"][0]()
    widths = {path: module.out_channels for path, module in model.named_modules() if path.endswith(".0.0")}
    assert widths["layer2.0.conv1.0.0"] == widths["layer2.0.conv2.0.0"] == 64 * 128 * 27 // (64 * 9 + 3 * 128) == 230
    assert widths["layer2.1.conv1.0.0"] == 128 * 128 * 27 // (128 * 9 + 3 * 128) == 288
    assert widths["layer1.0.conv1.0.0"] == 144  # 64 * 64 * 27 // (64 * 9 + 3 * 64)


@pytest.mark.parametrize("name", WRITTEN)
def test_spec_matches_its_reference_layer_by_layer(name, zoo_torch):
    _, models, _ = zoo_torch
    build, in_shape = models[name]
    assert_matches_reference(ARCHITECTURES / f"{name}.yaml", build, in_shape, PUBLISHED_PARAMS[name])
