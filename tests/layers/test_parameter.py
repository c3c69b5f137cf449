"""parameter: a learned tensor that reads no input (ViT's class token and position embedding)."""

from __future__ import annotations

import pytest
from layer_cases import check_layer

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.memory import estimate
from cnncalc.spec import parse

TINY_VIT = """\
name: tiny_vit
input: [3, 32, 32]
layers:
  - {type: conv2d, name: conv_proj, out_channels: 64, kernel_size: 8, stride: 8}
  - {type: flatten, start_dim: 2}
  - {type: permute, dims: [0, 2, 1]}
  - {type: parameter, name: class_token, shape: [1, 64]}
  - {type: concat, name: tokens, inputs: [class_token, permute_1], dim: 1}
  - {type: parameter, name: pos_embedding, shape: [17, 64], std: 0.02}
  - {type: add, name: embedded, inputs: [tokens, pos_embedding]}
  - {type: layernorm, name: ln}
  - {type: linear, name: head, in_features: 64, out_features: 10}
"""


@pytest.mark.parametrize(
    "cfg, out_shape, params",
    [
        ({"shape": [1, 768]}, [1, 768], 768),
        ({"shape": [197, 768], "std": 0.02}, [197, 768], 151_296),
        ({"shape": [5]}, [5], 5),
    ],
)
def test_parameter(cfg, out_shape, params):
    check_layer("parameter", cfg, [3, 8, 8], out_shape, params)


def test_a_parameter_reads_nothing_and_has_no_receptive_field():
    rows = {row.name: row for row in plan(parse(TINY_VIT, "vit.yaml")).layers}
    assert rows["class_token"].spec.inputs == () and rows["class_token"].input_shape == ()
    assert rows["class_token"].receptive_field is None
    assert rows["tokens"].spec.inputs == ("class_token", "permute_1")
    assert rows["tokens"].output_shape == (17, 64)


@pytest.mark.parametrize(
    "entry, code, fragment",
    [
        ("{type: parameter, shape: [4], inputs: permute_1}", "graph.arity", "takes no input"),
        ("{type: parameter, shape: [0, 4]}", "spec.bad-value", "expected a shape: a list of integers >= 1"),
        ("{type: parameter}", "spec.missing-key", "missing required field shape"),
    ],
)
def test_wrong_parameters_are_refused(entry, code, fragment):
    text = f"input: [3, 8, 8]\nlayers:\n  - {{type: flatten, start_dim: 2}}\n  - {{type: permute, dims: [0, 2, 1]}}\n  - {entry}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "p.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == code and diagnostic.loc.line == 5 and fragment in diagnostic.message


@pytest.mark.torch
def test_tiny_vit_exports_verifies_and_its_memory_is_autograds(tmp_path):
    from clirun import runner
    from torch_reference import measure_saved_bytes_of, require_torch

    from cnncalc.cli import cli
    from cnncalc.export import to_pytorch

    require_torch()
    result = plan(parse(TINY_VIT, "vit.yaml"))
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch(result), "exported.py", "exec"), namespace)
    model = namespace["TinyVit"]()
    assert sum(p.numel() for p in model.parameters()) == result.totals.params == 14_282
    # the expanded parameters are views: no activation memory of their own
    assert estimate(result, batch_size=2).saved_activations_bytes == measure_saved_bytes_of(
        model, result.input_shape, batch_size=2
    )
    path = tmp_path / "vit.yaml"
    path.write_text(TINY_VIT)
    verified = runner().invoke(cli, ["verify", str(path), "--values"])
    assert verified.exit_code == 0, verified.stdout + verified.stderr


def test_a_concat_led_by_a_parameter_keeps_the_tokens_axes():
    """ViT's class token leads the concat of channels-last tokens: a linear on each token after it
    is not the head (found by the vit_b_16 work: the first linear was reported as the MLP's)."""
    text = (
        "input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 64, kernel_size: 8, stride: 8}\n"
        "  - {type: flatten, start_dim: 2}\n  - {type: permute, name: tokens, dims: [0, 2, 1]}\n"
        "  - {type: parameter, name: class_token, shape: [1, 64]}\n"
        "  - {type: concat, name: cat, inputs: [class_token, tokens], dim: 1}\n"
        "  - {type: linear, name: mlp, in_features: 64, out_features: 128}\n"
        "  - {type: select, dim: 1, index: 0}\n  - {type: linear, name: head, out_features: 10}\n"
    )
    first = plan(parse(text, "vit.yaml")).first_linear
    assert (first.name, first.in_features) == ("head", 128)


def test_a_parameter_cannot_be_left_out_by_when():
    text = "input: [3, 8, 8]\nlayers:\n  - relu\n  - {type: parameter, shape: [4], when: false}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "p.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.loc.line) == ("spec.misplaced-key", 4)
    assert "cannot leave out a layer that reads no input" in diagnostic.message
