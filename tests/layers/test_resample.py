"""upsample: floor(in * scale_factor) or a fixed size, checked against torch.nn."""

import pytest
from layer_cases import check_layer, check_refused


@pytest.mark.parametrize(
    "in_shape, cfg, out_shape",
    [
        ([64, 7, 7], {"scale_factor": 2}, [64, 14, 14]),
        ([64, 7, 7], {"scale_factor": 1.5}, [64, 10, 10]),
        ([64, 7, 9], {"scale_factor": [1.5, 0.7]}, [64, 10, 6]),
        ([64, 7, 7], {"size": [20, 30], "mode": "bilinear"}, [64, 20, 30]),
        ([64, 7, 7], {"size": 5, "mode": "bilinear", "align_corners": True}, [64, 5, 5]),
        ([64, 7, 7], {"scale_factor": 2, "mode": "nearest-exact"}, [64, 14, 14]),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_upsample(in_shape, cfg, out_shape):
    check_layer("upsample", cfg, in_shape, out_shape, 0)


@pytest.mark.parametrize(
    "cfg, fragment, code, at",
    [
        ({"scale_factor": 0.1}, "output height would be 0", "shape.nonpositive", "scale_factor"),
        ({"size": 4, "scale_factor": 2}, "exactly one of size, scale_factor", "shape.invalid", "scale_factor"),
        ({}, "exactly one of size, scale_factor", "shape.invalid", None),
        ({"scale_factor": 2, "align_corners": True}, "align_corners only applies", "shape.invalid", "align_corners"),
    ],
)
def test_upsample_refused(cfg, fragment, code, at):
    check_refused("upsample", cfg, [3, 5, 5], fragment, code=code, at=at)


SIZE_OF = """\
input: [3, 100, 150]
layers:
  - {type: conv2d, name: c2, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - {type: conv2d, name: c3, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - {type: upsample, name: up, size_of: c2}
  - {type: add, name: p2, inputs: [up, c2]}
  - {type: conv2d, name: score, out_channels: 4, kernel_size: 1}
  - {type: upsample, name: out, size_of: input, mode: bilinear, align_corners: false}
"""


def test_upsample_to_another_layers_size():
    from cnncalc.engine import plan
    from cnncalc.spec import parse

    rows = {row.name: row for row in plan(parse(SIZE_OF, "fpn.yaml")).layers}
    assert rows["up"].spec.inputs == ("c3", "c2") and rows["up"].output_shape == (8, 50, 75)
    assert rows["out"].spec.inputs == ("score", "input") and rows["out"].output_shape == (4, 100, 150)
    assert rows["out"].receptive_field is None


@pytest.mark.parametrize(
    "entry, code, fragment",
    [
        ("{type: upsample, size_of: c2, scale_factor: 2}", "shape.invalid", "not size_of and scale_factor"),
        ("{type: upsample, size_of: c9}", "graph.unknown-input", "no layer is named 'c9'"),
        ("{type: upsample, size_of: flat}", "shape.mismatch", "'flat' [1600] has 0 spatial axes"),
        ("{type: upsample}", "shape.invalid", "exactly one of size, scale_factor and size_of"),
        ("{type: upsample, inputs: [c2, c2, c2]}", "graph.arity", "takes one to 2 inputs, got 3"),
    ],
)
def test_upsample_size_of_refused(entry, code, fragment):
    from cnncalc.engine import plan
    from cnncalc.errors import SpecError
    from cnncalc.spec import parse

    text = (
        "input: [4, 20, 20]\nlayers:\n  - {type: conv2d, name: c2, out_channels: 4, kernel_size: 1}\n"
        "  - {type: flatten, name: flat, inputs: c2}\n  - {type: relu, inputs: c2}\n"
        f"  - {entry}\n"
    )
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "u.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == code and diagnostic.loc.line == 6 and fragment in diagnostic.message, diagnostic


@pytest.mark.torch
def test_upsample_size_of_exports_verifies_and_saves_what_autograd_saves(tmp_path):
    from clirun import runner
    from torch_reference import measure_saved_bytes_of, require_torch

    from cnncalc.cli import cli
    from cnncalc.engine import plan
    from cnncalc.export import to_pytorch
    from cnncalc.memory import estimate
    from cnncalc.spec import parse

    require_torch()
    result = plan(parse(SIZE_OF, "fpn.yaml"))
    code = to_pytorch(result)
    assert "torch.nn.functional.interpolate(c3, size=out.shape[2:])" in code
    namespace: dict = {"__name__": "exported"}
    exec(compile(code, "exported.py", "exec"), namespace)
    model = namespace["Model"]()
    assert estimate(result, batch_size=2).saved_activations_bytes == measure_saved_bytes_of(
        model, result.input_shape, batch_size=2
    )
    path = tmp_path / "fpn.yaml"
    path.write_text(SIZE_OF)
    verified = runner().invoke(cli, ["verify", str(path), "--values"])
    assert verified.exit_code == 0, verified.stdout + verified.stderr
