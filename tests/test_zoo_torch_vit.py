"""tests/zoo_torch_vit.py: the ViT-B/16 twin has torchvision's count and module paths, and
architectures/vit_b_16.yaml plans as it runs, layer by layer.

The twin is built and run on the meta device (no memory is allocated and no arithmetic done, so
the counts are exact and the forward pass checks that the layers fit together). The spec is
compared with it by tests/test_zoo.py's assert_matches_reference: each module's parameters
(class_token and encoder.pos_embedding, parameters held by a module itself, by their full
names; each self_attention as one layer) and output shape by module path, the total, the MACs
(torch.utils.flop_counter on the meta device counts the attention products) and the output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from published import PUBLISHED_PARAMS, ZOO, zoo_names
from test_zoo import assert_counts_and_runs, assert_matches_reference, measure
from torch_reference import require_torch

NAMES = zoo_names("zoo_torch_vit")  # read from the source: collecting imports no torch
ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"


@pytest.fixture(scope="module")
def zoo_torch():
    """torch, the reference models, and what each returns (importing them imports torch)."""
    torch = require_torch()
    from zoo_torch_vit import MODELS, OUTPUT_SHAPES

    return torch, MODELS, OUTPUT_SHAPES


def test_every_model_has_a_published_count_an_output_shape_and_a_spec(zoo_torch):
    _, models, outputs = zoo_torch
    assert sorted(models) == sorted(outputs) == NAMES == ["vit_b_16"]
    assert set(NAMES) <= set(PUBLISHED_PARAMS)
    assert not set(NAMES) & ZOO  # docs/costs.md's table is the 2-D CNN classifiers'
    assert all((ARCHITECTURES / f"{name}.yaml").exists() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_params_and_forward(name, zoo_torch):
    _, models, outputs = zoo_torch
    assert_counts_and_runs(*models[name], PUBLISHED_PARAMS[name], outputs[name])


def test_vit_b_16_has_torchvision_module_paths_and_counts(zoo_torch):
    torch, models, _ = zoo_torch
    with torch.device("meta"):
        model = models["vit_b_16"][0]()
    params = dict(model.named_parameters())
    assert tuple(params["class_token"].shape) == (1, 1, 768)
    assert tuple(params["encoder.pos_embedding"].shape) == (1, 197, 768)
    assert PUBLISHED_PARAMS["vit_b_16"] == 86_567_656
    paths = dict(model.named_modules())
    assert [path for path in paths if path.startswith("encoder.layers.") and path.count(".") == 2] == [
        f"encoder.layers.encoder_layer_{i}" for i in range(12)
    ]
    layer = "encoder.layers.encoder_layer_11"
    kinds = [type(paths[f"{layer}.{child}"]).__name__ for child in ("ln_1", "self_attention", "dropout", "ln_2")]
    assert kinds == ["LayerNorm", "MultiheadAttention", "Dropout", "LayerNorm"]
    assert [type(m).__name__ for m in paths[f"{layer}.mlp"]] == ["Linear", "GELU", "Dropout", "Linear", "Dropout"]
    assert paths[f"{layer}.ln_1"].eps == paths["encoder.ln"].eps == 1e-6
    attention = paths[f"{layer}.self_attention"]
    assert attention.batch_first and attention.num_heads == 12 and attention.embed_dim == 768
    assert paths["heads.head"].out_features == 1000
    # per encoder layer: 2 norms (3,072), attention (4 x 768^2 + 4 x 768) and the MLP (2 x 768 x 3072 + 3072 + 768)
    assert sum(p.numel() for p in paths[layer].parameters()) == 3_072 + 2_362_368 + 4_722_432 == 7_087_872


def test_measure_counts_an_attention_as_one_layer_with_its_output_shape(zoo_torch):
    """nn.MultiheadAttention holds in_proj_weight itself and out_proj as a child module; a spec's
    multihead_attention is one layer, so measure() counts them under the attention's path."""
    torch, models, _ = zoo_torch
    build, in_shape = models["vit_b_16"]
    with torch.device("meta"):
        model = build().eval()
    shapes, owners, macs, out = measure(model, in_shape)
    attention = "encoder.layers.encoder_layer_0.self_attention"
    assert owners[attention] == 2_362_368
    assert not [owner for owner in owners if owner.startswith(attention + ".")]
    assert shapes[attention] == (197, 768)
    assert owners["class_token"] == 768 and owners["encoder.pos_embedding"] == 197 * 768
    assert sum(owners.values()) == PUBLISHED_PARAMS["vit_b_16"]
    assert macs == 17_563_828_224  # torchvision's 17.56 "GFLOPS"
    assert out == (1000,)


@pytest.mark.parametrize("name", NAMES)
def test_spec_matches_its_reference_layer_by_layer(name, zoo_torch):
    _, models, _ = zoo_torch
    build, in_shape = models[name]
    assert_matches_reference(ARCHITECTURES / f"{name}.yaml", build, in_shape, PUBLISHED_PARAMS[name])
