"""The hand-written torchvision twins in zoo_torch_mobile: published parameter counts, and a forward pass.

Everything is built on the meta device, so no weights are allocated and the forward pass only
propagates shapes.
"""

from __future__ import annotations

import pytest
from published import PUBLISHED_PARAMS, ZOO
from torch_reference import require_torch

torch = require_torch()

from zoo_torch_mobile import MODELS  # noqa: E402  (needs torch)

NAMES = sorted(MODELS)


def _build(name: str):
    builder, _ = MODELS[name]
    with torch.device("meta"):
        return builder()


def test_every_model_has_a_published_count():
    assert set(MODELS) <= ZOO <= set(PUBLISHED_PARAMS)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_matches_torchvision(name):
    model = _build(name)
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", NAMES)
def test_forward_gives_class_scores(name):
    model = _build(name).eval()
    _, in_shape = MODELS[name]
    with torch.no_grad():
        out = model(torch.empty(2, *in_shape, device="meta"))
    assert out.shape == (2, 1000)
