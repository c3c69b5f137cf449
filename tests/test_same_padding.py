"""padding: same with a stride, which PyTorch refuses: planned as TensorFlow pads it, noted,
explained, and exported so that PyTorch computes the planned shapes (verify), and Keras too."""

import pytest
from keras_reference import build_keras
from torch_reference import require_torch

from cnncalc.engine import plan
from cnncalc.explain import explain
from cnncalc.export import to_pytorch
from cnncalc.memory import estimate
from cnncalc.spec import parse
from cnncalc.verify import verify

SPEC = """\
name: strided_same
input: [3, 11, 10]
layers:
  - {type: conv2d, name: c1, out_channels: 8, kernel_size: 3, stride: 2, padding: same}
  - {type: conv2d, name: c2, out_channels: 8, kernel_size: 4, stride: 2, padding: same}
  - {type: conv2d, name: c3, out_channels: 4, kernel_size: 3, stride: [1, 2], padding: same, bias: false}
  - {type: conv2d, name: c4, out_channels: 2, kernel_size: 5, stride: 3, padding: same}
"""


def _planned():
    return plan(parse(SPEC, "same.yaml"))


def test_planned_as_tensorflow_pads_with_a_note():
    result = _planned()
    shapes = [row.output_shape for row in result.layers]
    assert shapes == [(8, 6, 5), (8, 3, 3), (4, 3, 2), (2, 1, 1)]  # ceil(n / s) on every axis
    notes = [w.message for w in result.warnings if "which PyTorch refuses" in w.message]
    assert len(notes) == 4 and "0 before and 1 after along width" in notes[0]


def test_the_export_pads_explicitly_and_torch_computes_the_planned_shapes():
    require_torch()
    result = _planned()
    code = to_pytorch(result)
    assert "nn.Sequential(nn.ZeroPad2d((0, 1, 1, 1)), nn.Conv2d(3, 8, 3, stride=2))" in code
    assert "nn.Conv2d(8, 4, 3, stride=(1, 2), padding=1, bias=False)" in code  # even: the conv's own padding
    assert [c for c in verify(result, device="cpu") if not c.ok] == []


def test_explain_shows_how_the_padding_was_resolved():
    (first, *_) = explain(_planned(), estimate(_planned()))
    steps = {step.what: (step.numbers, step.value) for step in first.steps}
    assert steps["height"] == ("ceil(11 / 2)", 6)
    assert steps["padding (width)"] == ("max((5 − 1)·2 + 3 − 10, 0)", "1: 0 before, 1 after")


@pytest.mark.torch
def test_the_keras_export_is_keras_same():
    result = _planned()
    model = build_keras(result)
    assert [tuple(layer.output.shape[1:]) for layer in model.layers[1:]] == [row.output_shape for row in result.layers]
