"""The Keras convention end to end, without Keras itself: how a spec says it, how the plan says
it (table title, JSON), receptive fields and MACs as in the PyTorch convention, Keras's names
for unnamed layers, the notes on what Keras's TensorFlow backend cannot run, and the errors."""

import json
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import load_file, parse

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
KERAS = "convention: keras\ninput: [64, 64, 3]\nlayers:\n  - {type: Conv2D, filters: 32, kernel_size: 3}\n"


def test_the_table_and_the_json_say_the_convention(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text(KERAS)
    table = runner().invoke(cli, ["plan", str(path)])
    assert table.exit_code == 0 and "Keras convention: channels last" in table.stdout.splitlines()[0]
    document = json.loads(runner().invoke(cli, ["plan", str(path), "--format", "json"]).stdout)
    assert document["convention"] == "keras" and document["output_shape"] == [62, 62, 32]


def test_the_convention_flag_replaces_the_specs(tmp_path):
    """Without the key, Conv2D is PyTorch's alias of conv2d, reading [64, 64, 3] as C, H, W;
    --convention keras reads the same text as Keras would, and --convention pytorch overrides the key."""
    path = tmp_path / "k.yaml"
    path.write_text(KERAS.replace("convention: keras\n", ""))
    as_torch = json.loads(runner().invoke(cli, ["plan", str(path), "--format", "json"]).stdout)
    as_keras = json.loads(runner().invoke(cli, ["plan", str(path), "--convention", "keras", "--format", "json"]).stdout)
    assert (as_torch["convention"], as_torch["output_shape"]) == ("pytorch", [32, 62, 1])
    assert (as_keras["convention"], as_keras["output_shape"]) == ("keras", [62, 62, 32])
    path.write_text(KERAS)
    overridden = json.loads(
        runner().invoke(cli, ["plan", str(path), "--convention", "pytorch", "--format", "json"]).stdout
    )
    assert overridden["convention"] == "pytorch"


def test_the_same_network_has_the_same_receptive_fields_and_macs_in_both_conventions():
    torch_plan = plan(load_file(str(ARCH_DIR / "dogs_cats.yaml")))
    keras_plan = plan(load_file(str(ARCH_DIR / "dogs_cats_keras.yaml")))
    assert torch_plan.totals.params == keras_plan.totals.params == 813_217
    assert torch_plan.totals.macs == keras_plan.totals.macs
    fields = [row.receptive_field for row in torch_plan.layers if row.type_name in ("conv2d", "maxpool2d")]
    keras_fields = [row.receptive_field for row in keras_plan.layers if row.type_name in ("Conv2D", "MaxPooling2D")]
    assert [(f.size, f.stride, f.padding) for f in fields] == [(f.size, f.stride, f.padding) for f in keras_fields]
    assert torch_plan.first_linear.in_features == keras_plan.first_linear.in_features == 6272


def test_same_padding_with_a_stride_has_keras_receptive_field():
    text = "convention: keras\ninput: [8, 8, 1]\nlayers:\n  - {type: Conv2D, filters: 1, kernel_size: 3, strides: 2, padding: same}\n"
    field = plan(parse(text, "k.yaml")).layers[0].receptive_field
    # ceil(8 / 2) = 4 outputs need (4 - 1)·2 + 3 = 9 pixels: one of padding, after (Keras's odd pixel)
    assert (field.size, field.stride, field.padding) == ((3, 3), (2, 2), (0, 0))


def test_unnamed_layers_are_named_as_keras_names_them():
    text = (
        "convention: keras\ninput: [8, 8, 3]\nlayers:\n  - {type: Conv2D, filters: 4, kernel_size: 3}\n"
        "  - BatchNormalization\n  - {type: Conv2DTranspose, filters: 2, kernel_size: 2}\n  - {type: PReLU}\n"
        "  - {type: max_pooling2d}\n  - GlobalAveragePooling2D\n"
    )
    names = [row.name for row in plan(parse(text, "k.yaml")).layers]
    assert names == [
        "conv2d", "batch_normalization", "conv2d_transpose", "p_re_lu", "max_pooling2d", "global_average_pooling2d",
    ]  # fmt: skip
    again = plan(
        parse(text.replace("  - BatchNormalization\n", "  - {type: Conv2D, filters: 4, kernel_size: 1}\n"), "k.yaml")
    )
    assert [row.name for row in again.layers][:2] == ["conv2d", "conv2d_1"]  # Keras numbers the second


@pytest.mark.parametrize(
    ("layer", "field", "fragment"),
    [
        ("{type: DepthwiseConv2D, kernel_size: 3, strides: [1, 2]}", "strides", "TensorFlow backend cannot run them"),
        ("{type: SeparableConv2D, filters: 4, kernel_size: 3, strides: [2, 1]}", "strides", "equal strides"),
        (
            "{type: Conv2DTranspose, filters: 4, kernel_size: 4, strides: 2, padding: same, output_padding: 1}",
            "output_padding",
            "even kernel with padding 'same' and output_padding",
        ),
    ],
)
def test_what_tensorflow_cannot_run_is_planned_with_a_note(layer, field, fragment):
    text = f"convention: keras\ninput: [9, 9, 4]\nlayers:\n  - {layer}\n"
    result = plan(parse(text, "k.yaml"))
    (note,) = [w for w in result.warnings if fragment in w.message]
    assert note.severity == "warning" and note.loc.line == 4
    assert note.loc.column == text.splitlines()[3].index(f"{field}:") + len(field) + 3


@pytest.mark.parametrize(
    ("layer", "fragment"),
    [
        (
            "{type: Conv2D, out_channels: 4, kernel_size: 3}",
            "unknown key 'out_channels' (PyTorch's name); Keras calls it 'filters'",
        ),
        ("{type: MaxPooling2D, kernel_size: 2}", "Keras calls it 'pool_size'"),
        ("{type: Conv2d, filters: 4, kernelsize: 3}", "unknown key 'kernelsize'; did you mean 'kernel_size'?"),
        ("{type: MaxPoolng2D}", "unknown Keras layer 'MaxPoolng2D'; did you mean 'MaxPooling2D'?"),
        ("{type: LSTM, units: 4}", "'LSTM' is not supported: recurrent layers"),
        ("{type: Add, inputs: [input]}", "two or more"),
        ("{type: Conv2D, filters: 4, kernel_size: 3, groups: 2}", "the input has 3 channels"),
        ("{type: linear, units: 4}", "unknown Keras layer 'linear' (PyTorch's name); Keras's is Dense"),
        ("{type: InputLayer, shape: [8, 8, 3]}", "the network's input is the spec's top-level `input:`"),
        ("{type: Conv2D, filters: 4, kernel_size: 3, input_shape: [8, 8, 3]}", "input_shape: the network's input is"),
        ("{type: Dense, units: 4, dtype: float16}", "dtype: a spec has one dtype, for memory: `cnncalc plan --dtype`"),
        (
            "{type: Dropout, rate: 0.5, noise_shape: [null, 2]}",
            "noise_shape [None, 2] does not fit the input [8, 8, 3]",
        ),
    ],
)
def test_mistakes_are_located(layer, fragment):
    text = f"convention: keras\ninput: [8, 8, 3]\nlayers:\n  - {layer}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "k.yaml"))
    (first,) = caught.value.diagnostics
    assert fragment in first.message and first.loc.line == 4, first


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        (
            "input: [32, 32, 3]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n",
            "channels-last image",
            1,
        ),
        (
            "convention: keras\ninput: [3, 32, 32]\nlayers:\n  - {type: Conv2D, filters: 4, kernel_size: 3}\n",
            "channels-first",
            2,
        ),
    ],
)
def test_an_input_in_the_other_conventions_order_gets_a_note(text, fragment, line):
    (note,) = [w for w in plan(parse(text, "k.yaml")).warnings if w.code == "note.layout"]
    assert fragment in note.message and (note.loc.line, note.severity) == (line, "warning")


def test_diff_says_when_the_conventions_differ():
    old, new = str(ARCH_DIR / "dogs_cats.yaml"), str(ARCH_DIR / "dogs_cats_keras.yaml")
    done = runner().invoke(cli, ["diff", old, new])
    assert done.exit_code == 0 and "conventions differ: pytorch -> keras" in done.stdout.splitlines()[2]
    document = json.loads(runner().invoke(cli, ["diff", old, new, "--format", "json"]).stdout)
    assert (document["old"]["convention"], document["new"]["convention"]) == ("pytorch", "keras")
    same = runner().invoke(cli, ["diff", old, old])
    assert "conventions differ" not in same.stdout
