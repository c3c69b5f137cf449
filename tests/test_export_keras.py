"""cnncalc export --to keras of a PyTorch-convention spec: Keras layers with
data_format='channels_first', so every tensor keeps PyTorch's [C, H, W]. Built by Keras 3 itself
(torch backend), each spec layer's last Keras layer has the planned output shape, its Keras layers
the planned parameters (plus, for batch norm, the moving statistics Keras counts as
non-trainable parameters and PyTorch as buffers), and the model the planned MACs."""

from pathlib import Path

import pytest
from keras_reference import build_keras

from cnncalc.engine import plan
from cnncalc.export import ExportError
from cnncalc.export.keras import keras_names, to_keras
from cnncalc.spec import load_file, parse

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
FAST = ["lenet5", "dogs_cats", "seed_50x50", "alexnet", "resnet18", "mobilenet_v3_small", "dcgan_generator", "unet3d"]
SLOW = ["googlenet", "squeezenet1_1", "inception_v3", "densenet121", "unet", "yolov5s", "r2plus1d_18", "vgg16_bn"]


def _check(result) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = build_keras(result)
    by_name = {layer.name: layer for layer in model.layers}
    names = keras_names(result)
    for row in result.layers:
        mine = [
            by_name[n] for n in (f"{names[row.name]}_pad", names[row.name], f"{names[row.name]}_crop") if n in by_name
        ]
        assert tuple(mine[-1].output.shape[1:]) == row.output_shape, row.name
        moving = row.buffers - 1 if "BatchNormalization" in type(mine[-1]).__name__ else 0
        assert sum(layer.count_params() for layer in mine) == row.params + moving, row.name
    inputs = [torch.zeros(1, *shape) for shape in result.input_shapes.values()]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(inputs[0] if len(inputs) == 1 else inputs)
    assert counter.get_total_flops() // 2 == result.totals.macs


@pytest.mark.parametrize("stem", FAST)
def test_a_pytorch_spec_exports_to_keras_channels_first(stem):
    _check(plan(load_file(str(ARCH_DIR / f"{stem}.yaml"))))


@pytest.mark.slow
@pytest.mark.parametrize("stem", SLOW)
def test_more_pytorch_specs_export_to_keras(stem):
    _check(plan(load_file(str(ARCH_DIR / f"{stem}.yaml"))))


CASES = {
    "padded pools and ceil_mode": "input: [3, 17, 17]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
    "  - relu\n  - {type: maxpool2d, kernel_size: 3, stride: 2, padding: 1}\n  - {type: maxpool2d, kernel_size: 3, stride: 2, ceil_mode: true}\n"
    "  - {type: avgpool2d, kernel_size: 2, padding: 1}\n  - {type: adaptive_avgpool2d, output_size: [1, 3]}\n",
    "transposed with padding": "input: [4, 5, 6]\nlayers:\n  - {type: conv_transpose2d, out_channels: 3, kernel_size: 4, stride: 2, padding: 1}\n"
    "  - {type: conv_transpose2d, out_channels: 2, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}\n",
    "same, dilation, groups, norms": "input: [8, 12, 12]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: same, dilation: 2, groups: 4}\n"
    "  - {type: groupnorm, num_groups: 2}\n  - {type: batchnorm2d, momentum: 0.01, eps: 1.0e-3}\n  - {type: layernorm, normalized_shape: [12]}\n"
    "  - {type: prelu, num_parameters: 8}\n  - {type: zero_pad2d, padding: [1, 2, 0, 3]}\n  - {type: upsample, scale_factor: 2, mode: bilinear}\n",
    "1-D and merges": "input: [4, 50]\nlayers:\n  - {type: conv1d, name: a, out_channels: 6, kernel_size: 5, padding: 2}\n"
    "  - {type: conv1d, name: b, inputs: input, out_channels: 6, kernel_size: 5, padding: 2}\n  - {type: add, inputs: [a, b]}\n"
    "  - {type: concat, inputs: [add_1, a]}\n  - {type: mul, inputs: [concat_1, concat_1]}\n  - {type: global_avgpool1d}\n"
    "  - {type: dropout, p: 0.5}\n  - {type: linear, out_features: 3, bias: false}\n  - {type: softmax, dim: 1}\n",
}


@pytest.mark.parametrize("name", list(CASES))
def test_layers_with_a_keras_equivalent(name):
    _check(plan(parse(CASES[name], f"{name}.yaml")))


@pytest.mark.parametrize(
    ("layer", "name"),
    [
        ("{type: conv2d, out_channels: 4, kernel_size: 3, padding_mode: reflect, padding: 1}", "conv2d_1"),
        ("{type: conv2d, out_channels: 4, kernel_size: 3, stride: 2, dilation: 2}", "conv2d_1"),
        ("{type: avgpool2d, kernel_size: 3, padding: 1, count_include_pad: false}", "avgpool2d_1"),
        ("{type: adaptive_avgpool2d, output_size: 3}", "adaptive_avgpool2d_1"),
        ("{type: instancenorm2d}", "instancenorm2d_1"),
        ("{type: gelu, approximate: tanh}", "gelu_1"),
    ],
)
def test_a_layer_without_an_exact_keras_equivalent_is_named(layer, name):
    result = plan(parse(f"input: [4, 8, 8]\nlayers:\n  - {layer}\n", "x.yaml"))
    with pytest.raises(ExportError, match=f"Keras has no exact equivalent for layer '{name}'"):
        to_keras(result)


def test_a_padding_layers_name_never_takes_a_spec_name_and_a_max_pool_says_how_it_pads():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: c, out_channels: 4, kernel_size: 3, padding: 1}\n"
        "  - {type: relu, name: c_pad}\n  - {type: maxpool2d, kernel_size: 3, stride: 2, padding: 1}\n"
    )
    result = plan(parse(text, "names.yaml"))
    code = to_keras(result)
    assert 'name="c_pad_2"' in code and "# torch pads this max pool with -inf" in code
    model = build_keras(result)
    assert [layer.name for layer in model.layers[1:]] == ["c_pad_2", "c", "c_pad", "maxpool2d_1_pad", "maxpool2d_1"]
