"""tests/zoo_torch_classic.py: each reference model has torchvision's parameter count and runs.

Built and run on the meta device, so no memory is allocated and no arithmetic done: the
count is exact and the forward pass checks that the layers fit together.
"""

from __future__ import annotations

import pytest
from published import PUBLISHED_PARAMS, ZOO
from torch_reference import require_torch

torch = require_torch()

from zoo_torch_classic import MODELS  # noqa: E402  (needs torch)


def test_every_model_has_a_published_count():
    assert set(MODELS) <= ZOO <= set(PUBLISHED_PARAMS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_params_and_forward(name):
    build, in_shape = MODELS[name]
    with torch.device("meta"):
        model = build().eval()
        assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]
        with torch.no_grad():
            out = model(torch.empty(2, *in_shape))
    expected = (2, 2, 256, 256) if name == "unet" else (2, 1000)
    assert tuple(out.shape) == expected
    assert out.device.type == "meta"
