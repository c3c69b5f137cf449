"""The hand-written torchvision twins in zoo_torch_mobile: published parameter counts, and a forward pass.

Everything is built on the meta device, so no weights are allocated and the forward pass only
propagates shapes.
"""

from __future__ import annotations

import pytest
from published import PUBLISHED_PARAMS, ZOO, zoo_names
from torch_reference import require_torch

NAMES = zoo_names("zoo_torch_mobile")  # read from the source: collecting imports no torch


@pytest.fixture(scope="module")
def zoo_torch():
    """torch, and the reference models (importing them imports torch)."""
    torch = require_torch()
    from zoo_torch_mobile import MODELS

    return torch, MODELS


def _build(zoo_torch, name: str):
    torch, models = zoo_torch
    builder, _ = models[name]
    with torch.device("meta"):
        return builder()


def test_every_model_has_a_published_count(zoo_torch):
    _, models = zoo_torch
    assert sorted(models) == NAMES
    assert set(NAMES) <= ZOO <= set(PUBLISHED_PARAMS)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_matches_torchvision(name, zoo_torch):
    model = _build(zoo_torch, name)
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", NAMES)
def test_forward_gives_class_scores(name, zoo_torch):
    torch, models = zoo_torch
    model = _build(zoo_torch, name).eval()
    _, in_shape = models[name]
    with torch.no_grad():
        out = model(torch.empty(2, *in_shape, device="meta"))
    assert out.shape == (2, 1000)
