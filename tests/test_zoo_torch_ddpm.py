"""tests/zoo_torch_ddpm.py: the DDPM CIFAR-10 UNet twin has the published count and the PyTorch
ports' module paths, and architectures/ddpm_unet.yaml plans as it runs, layer by layer.

The twin is built and run on the meta device (no memory is allocated and no arithmetic done, so
the counts are exact and the forward pass checks that the layers fit together). Its counts are
checked against what is published for the model (35,746,307 parameters, of which the Conv2d
layers hold 32,828,291 and the Linear layers 2,889,600), and the spec is compared with it by
tests/test_zoo.py's assert_matches_reference, with its two inputs (the image and the timestep's
embedding) and the twin's module paths renamed to the spec's (zoo_torch_ddpm.spec_name).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from published import PUBLISHED_PARAMS, ZOO, zoo_names
from test_zoo import assert_counts_and_runs, assert_matches_reference, measure
from torch_reference import require_torch

NAMES = zoo_names("zoo_torch_ddpm")  # read from the source: collecting imports no torch
ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"


@pytest.fixture(scope="module")
def zoo_torch():
    """torch and the twin's module (importing it imports torch)."""
    torch = require_torch()
    import zoo_torch_ddpm

    return torch, zoo_torch_ddpm


def test_every_model_has_a_published_count_an_output_shape_and_a_spec(zoo_torch):
    _, ddpm = zoo_torch
    assert sorted(ddpm.MODELS) == sorted(ddpm.OUTPUT_SHAPES) == NAMES == ["ddpm_unet"]
    assert set(NAMES) <= set(PUBLISHED_PARAMS)
    assert not set(NAMES) & ZOO  # docs/costs.md's table is the 2-D CNN classifiers'
    assert all((ARCHITECTURES / f"{name}.yaml").exists() for name in NAMES)


def test_params_and_forward_with_both_inputs(zoo_torch):
    _, ddpm = zoo_torch
    assert PUBLISHED_PARAMS["ddpm_unet"] == 35_746_307
    build, in_shapes = ddpm.MODELS["ddpm_unet"]
    assert_counts_and_runs(build, in_shapes, PUBLISHED_PARAMS["ddpm_unet"], ddpm.OUTPUT_SHAPES["ddpm_unet"])


def test_ddpm_unet_has_the_ports_module_paths_and_counts(zoo_torch):
    torch, ddpm = zoo_torch
    with torch.device("meta"):
        model = ddpm.MODELS["ddpm_unet"][0]()
    modules = dict(model.named_modules())

    def kind(cls):
        return [m for m in modules.values() if type(m) is cls]

    # the published breakdown (ermongroup/ddim's CIFAR-10 Model): 89 convs, 24 linears, 51 norms
    assert sum(p.numel() for m in kind(torch.nn.Conv2d) for p in m.parameters()) == 32_828_291
    assert sum(p.numel() for m in kind(torch.nn.Linear) for p in m.parameters()) == 2_889_600
    assert (len(kind(torch.nn.Conv2d)), len(kind(torch.nn.Linear)), len(kind(torch.nn.GroupNorm))) == (89, 24, 51)
    assert all(m.num_groups == 32 and m.eps == 1e-6 for m in kind(torch.nn.GroupNorm))
    assert all(m.p == 0.1 for m in kind(torch.nn.Dropout)) and len(kind(torch.nn.Dropout)) == 22
    # attention at 16x16 only (down level 1, up level 1) and in the middle
    attentions = [path for path, m in modules.items() if type(m).__name__ == "AttnBlock"]
    assert attentions == [*(f"down.1.attn.{j}" for j in range(2)), "mid.attn_1", *(f"up.1.attn.{j}" for j in range(3))]
    assert [path for path in modules if path.endswith("sample")] == [
        "down.0.downsample", "down.1.downsample", "down.2.downsample",
        "up.1.upsample", "up.2.upsample", "up.3.upsample",
    ]  # fmt: skip
    assert modules["up.0.block.0.nin_shortcut"].in_channels == 384  # 256 up, 128 skipped
    assert (modules["temb.dense.0"].in_features, modules["temb.dense.1"].out_features) == (128, 512)
    assert ddpm.spec_name("down.1.block.0.norm1") == "down_1_block_0.norm1"
    assert ddpm.spec_name("up.3.upsample.conv") == "up_3_upsample.conv"
    assert ddpm.spec_name("mid.attn_1.q") == "mid.attn_1.q" and ddpm.spec_name("temb.dense.0") == "temb.dense.0"


def test_timestep_embedding_is_ddpms(zoo_torch):
    torch, ddpm = zoo_torch
    emb = ddpm.timestep_embedding(torch.tensor([0, 7]), 128)
    assert tuple(emb.shape) == (2, 128)
    assert emb[0, :64].abs().max() == 0 and (emb[0, 64:] == 1).all()  # sin 0, cos 0
    assert torch.isclose(emb[1, 0], torch.sin(torch.tensor(7.0)))  # the first frequency is 1
    assert torch.isclose(emb[1, 63], torch.sin(torch.tensor(7.0 / 10000)))  # the last 1/10000


def test_measure_runs_a_model_with_two_inputs_and_counts_the_attention_products(zoo_torch):
    torch, ddpm = zoo_torch
    build, in_shapes = ddpm.MODELS["ddpm_unet"]
    with torch.device("meta"):
        model = build().eval()
    shapes, owners, macs, out = measure(model, in_shapes)
    assert shapes["down.1.attn.0"] == shapes["down.1.attn.0.proj_out"] == (256, 16, 16)
    assert shapes["mid.attn_1"] == (256, 4, 4)
    assert shapes["temb.dense.1"] == (512,) and shapes["down.0.block.0.temb_proj"] == (128,)
    assert owners["up.0.block.0.nin_shortcut"] == 384 * 128 + 128
    assert sum(owners.values()) == 35_746_307
    # two [HW, C] x [C, HW] products per attention: 2 x 256^2 x 256 at 16x16 (5 of them), 2 x 16^2 x 256 at 4x4
    assert macs == 6_221_856_768 and out == (3, 32, 32)


def test_spec_matches_its_reference_layer_by_layer(zoo_torch):
    _, ddpm = zoo_torch
    build, in_shapes = ddpm.MODELS["ddpm_unet"]
    spec = ARCHITECTURES / "ddpm_unet.yaml"
    assert_matches_reference(spec, build, in_shapes, PUBLISHED_PARAMS["ddpm_unet"], rename=ddpm.spec_name)


# cnncalc bugs met while writing architectures/ddpm_unet.yaml, each with a minimal spec (fixed)


def test_a_reshape_that_differs_between_calls_exports(zoo_torch):
    """It was exported as the attribute's name spelt out letter by letter (a SyntaxError)."""
    from cnncalc.engine import plan
    from cnncalc.spec import parse
    from cnncalc.verify import verify

    text = (
        "input: [4, 4, 4]\n"
        "blocks:\n  flat:\n    args: [n]\n    layers:\n      - {type: reshape, name: r, shape: [4, n]}\n"
        "layers:\n"
        "  - {type: flat, name: a, n: 16}\n"
        "  - {type: maxpool2d, name: pool, inputs: input, kernel_size: 2}\n"
        "  - {type: flat, name: b, n: 4}\n"
        "  - {type: concat, name: cat, inputs: [a, b], dim: 2}\n"
    )
    assert all(result.ok for result in verify(plan(parse(text, "reshape.yaml")), device="cpu"))


def test_a_list_named_like_an_input_is_refused_at_its_name():
    """It was read as the input by its own layers: a cycle, or 'in_channels is not known here'."""
    from cnncalc.engine import plan
    from cnncalc.errors import SpecError
    from cnncalc.spec import parse

    text = (
        "inputs: {x: [8], t: [4]}\n"
        "layers:\n"
        "  - name: t\n"
        "    inputs: t\n"
        "    sequential: [{type: linear, out_features: 8}]\n"
        "  - {type: add, name: sum, inputs: [x, t]}\n"
    )
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "clash.yaml"))
    found = [(d.code, d.loc.line, d.message) for d in caught.value.diagnostics]
    assert [(code, line) for code, line, _ in found] == [("spec.duplicate-name", 3)], found
    assert "is the name of an input" in found[0][2]


def test_saved_activations_are_the_plans_with_nn_silu_and_more_with_the_ports_swish(zoo_torch, monkeypatch):
    """cnncalc's `silu` is nn.SiLU, which keeps its input for backward; the ports' swish,
    x * torch.sigmoid(x), keeps x and sigmoid(x). With F.silu the twin keeps exactly what the plan
    estimates (the attention's scale by C^-0.5, left out of the spec, keeps nothing)."""
    torch, ddpm = zoo_torch
    from torch_reference import measure_saved_bytes_of

    from cnncalc.engine import plan
    from cnncalc.memory import estimate
    from cnncalc.spec import load_file

    planned = estimate(plan(load_file(str(ARCHITECTURES / "ddpm_unet.yaml"))), batch_size=2).saved_activations_bytes
    build, in_shapes = ddpm.MODELS["ddpm_unet"]
    model = build()
    as_written = measure_saved_bytes_of(model, in_shapes, batch_size=2)
    monkeypatch.setattr(ddpm, "swish", torch.nn.functional.silu)
    assert measure_saved_bytes_of(model, in_shapes, batch_size=2) == planned == 104_919_552
    assert as_written - planned == 24_375_296  # one more tensor per swish (of x's size)
