"""tests/zoo_torch_dense.py: segmentation, GroupNorm, CycleGAN and super-resolution twins.

Each reference model has its published parameter count and runs (built and run on the meta
device: no memory is allocated and no arithmetic done, so the count is exact and the forward
pass checks that the layers fit together); each architectures/<name>.yaml written for one plans
as it runs, layer by layer (tests/test_zoo.py's assert_matches_reference), and so does each
draft in tests/drafts/ (a spec that plans exactly but waits for cnncalc before it can be bundled).

These models are not in published.ZOO: that set is docs/costs.md's table of the classifier zoo.
A model without a bundled spec has its count in published.AWAITING_SPEC.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from published import AWAITING_SPEC, PUBLISHED_PARAMS, ZOO, zoo_names
from test_zoo import assert_counts_and_runs, assert_matches_reference
from torch_reference import require_torch

NAMES = zoo_names("zoo_torch_dense")  # read from the source: collecting imports no torch
ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"
DRAFTS = Path(__file__).resolve().parent / "drafts"
COUNTS = {**PUBLISHED_PARAMS, **AWAITING_SPEC}


def _spec(name: str) -> Path | None:
    """The model's bundled spec, or else its draft."""
    return next((p for p in (ARCHITECTURES / f"{name}.yaml", DRAFTS / f"{name}.yaml") if p.exists()), None)


SPECS = {name: path for name in NAMES if (path := _spec(name)) is not None}


@pytest.fixture(scope="module")
def zoo_torch():
    """torch, and the reference models with their outputs' shapes (importing them imports torch)."""
    torch = require_torch()
    from zoo_torch_dense import MODELS, OUTPUT_SHAPES

    return torch, MODELS, OUTPUT_SHAPES


def test_every_model_has_a_published_count_and_an_output_shape(zoo_torch):
    _, models, output_shapes = zoo_torch
    assert sorted(models) == sorted(output_shapes) == NAMES
    assert set(NAMES) <= set(COUNTS)
    assert not set(NAMES) & ZOO


def test_a_count_awaits_a_spec_until_the_spec_is_bundled():
    assert not set(AWAITING_SPEC) & set(PUBLISHED_PARAMS)
    assert not [name for name in AWAITING_SPEC if (ARCHITECTURES / f"{name}.yaml").exists()]
    assert not [name for name in NAMES if (DRAFTS / f"{name}.yaml").exists() and name not in AWAITING_SPEC]


@pytest.mark.parametrize("name", NAMES)
def test_params_and_forward(name, zoo_torch):
    _, models, output_shapes = zoo_torch
    assert_counts_and_runs(*models[name], COUNTS[name], output_shapes[name])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_matches_its_reference_layer_by_layer(name, zoo_torch):
    _, models, _ = zoo_torch
    build, in_shape = models[name]
    assert_matches_reference(SPECS[name], build, in_shape, COUNTS[name])
