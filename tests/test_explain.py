"""cnncalc explain: the arithmetic behind each number. Its steps' values are the plan's (which
the other tests check against PyTorch and Keras), for every bundled architecture; the seed
50x50 network reads as the chapter's worked example; --layer and --format json."""

import json
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.explain import explain
from cnncalc.layers.base import axes_of
from cnncalc.memory import estimate
from cnncalc.spec import load_file, parse

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
SPECS = sorted(ARCH_DIR.glob("*.yaml"))
AXES = ("depth", "height", "width", "length")


def _explained(result):
    return explain(result, estimate(result))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_step_gives_the_planned_number(path):
    """Output sizes per axis, params, MACs, receptive fields, saved bytes and in_features, as
    each step's formula works them out, equal the plan's."""
    result = plan(load_file(str(path)))
    memory = estimate(result)
    saved = dict(zip((row.name for row in result.layers), memory.layer_saved_bytes))
    checked = 0
    for item in _explained(result):
        row = item.row
        spatial = row.output_shape[1:] if result.convention == "pytorch" else row.output_shape[:-1]
        sizes = dict(zip(axes_of(len(spatial)), spatial))
        for step in item.steps:
            for axis in (
                [a for a in AXES if a in step.what.split(", ")] if not step.what.startswith(("RF", "padding")) else []
            ):
                assert step.value == sizes[axis], (row.name, step.what, step.numbers)
                checked += 1
            expected = {"params": row.params, "MACs": row.macs, "saved": saved[row.name]}.get(step.what)
            if expected is not None:
                assert step.value == expected, (row.name, step.what, step.numbers)
                checked += 1
            if step.what.startswith("RF ("):
                assert step.value in row.receptive_field.size, (row.name, step.what)
            if step.what == "in_features":
                assert step.value == result.first_linear.in_features
    assert checked > 0


def test_the_seed_network_reads_as_the_chapters_worked_example():
    done = runner().invoke(cli, ["explain", str(ARCH_DIR / "seed_50x50.yaml")])
    assert done.exit_code == 0, done.stderr
    for text in [
        "height, width: 50 + 2·1 − (3 − 1) = 50",
        "params:        (3·3·3 + 1)·32 = 896",
        "height, width: floor(50 / 2) = 25",
        "(3·3·32 + 1)·64 = 18,496",
        "height, width: floor(25 / 2) = 12",
        "features: 64·12·12 = 9,216",
        "(9,216 + 1)·128 = 1,179,776",
        "in_features: 64 × 12 × 12 = 9,216",
        "(128 + 1)·2 = 258",
        "MACs:          50·50·32·(3·3·3) = 2,160,000",
        "RF (h, w):     8 + (2 − 1)·2 = 10",
        "Total params: 896 + 18,496 + 1,179,776 + 258 = 1,199,426",
    ]:
        assert text in done.stdout, text


def test_same_padding_at_a_stride_shows_how_it_was_resolved():
    text = "convention: keras\ninput: [11, 10, 3]\nlayers:\n  - {type: Conv2D, filters: 8, kernel_size: 3, strides: 2, padding: same}\n"
    (item,) = _explained(plan(parse(text, "k.yaml")))
    steps = {step.what: step for step in item.steps}
    assert (steps["height"].numbers, steps["height"].value) == ("ceil(11 / 2)", 6)
    assert steps["padding (width)"].value == "1: 0 before, 1 after"  # the odd pixel after, as Keras pads


def test_layer_selects_a_layer_or_a_block_call_and_json_has_the_steps():
    path = str(ARCH_DIR / "resnet18.yaml")
    document = json.loads(runner().invoke(cli, ["explain", path, "--layer", "layer2.0", "--format", "json"]).stdout)
    names = [layer["name"] for layer in document["layers"]]
    assert names[0] == "layer2.0.conv1" and all(name.startswith("layer2.0.") for name in names)
    step = document["layers"][0]["steps"][0]
    assert step == {
        "what": "height, width",
        "formula": "floor((in + 2·padding − kernel) / stride) + 1",
        "numbers": "floor((56 + 2·1 − 3) / 2) + 1",
        "value": 28,
    }
    missing = runner().invoke(cli, ["explain", path, "--layer", "layer2.0.conv3"])
    assert missing.exit_code == 2
    assert "no layer or block call is named 'layer2.0.conv3'; did you mean 'layer2.0.conv2'?" in missing.stderr


def test_the_totals_are_the_layers_sums():
    done = runner().invoke(cli, ["explain", str(ARCH_DIR / "seed_50x50.yaml")])
    assert done.stdout.splitlines()[-1] == "Total MACs: 2,160,000 + 11,520,000 + 1,179,648 + 256 = 14,859,904"


def test_dash_writes_to_standard_output():
    done = runner().invoke(cli, ["draw", str(ARCH_DIR / "seed_50x50.yaml"), "-o", "-"])
    assert done.exit_code == 0 and done.stdout.startswith("%% cnncalc draw")
