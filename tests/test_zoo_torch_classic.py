"""tests/zoo_torch_classic.py: each reference model has torchvision's parameter count and runs.

Built and run on the meta device, so no memory is allocated and no arithmetic done: the
count is exact and the forward pass checks that the layers fit together.
"""

from __future__ import annotations

import pytest
from published import PUBLISHED_PARAMS, ZOO, zoo_names
from torch_reference import require_torch

NAMES = zoo_names("zoo_torch_classic")  # read from the source: collecting imports no torch


@pytest.fixture(scope="module")
def zoo_torch():
    """torch, and the reference models (importing them imports torch)."""
    torch = require_torch()
    from zoo_torch_classic import MODELS

    return torch, MODELS


def test_every_model_has_a_published_count(zoo_torch):
    _, models = zoo_torch
    assert sorted(models) == NAMES
    assert set(NAMES) <= ZOO <= set(PUBLISHED_PARAMS)


@pytest.mark.parametrize("name", NAMES)
def test_params_and_forward(name, zoo_torch):
    torch, models = zoo_torch
    build, in_shape = models[name]
    with torch.device("meta"):
        model = build().eval()
        assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]
        with torch.no_grad():
            out = model(torch.empty(2, *in_shape))
    expected = (2, 2, 256, 256) if name == "unet" else (2, 1000)
    assert tuple(out.shape) == expected
    assert out.device.type == "meta"
