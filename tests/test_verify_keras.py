"""cnncalc verify on a Keras-convention spec: proved with Keras 3 itself (the Keras export built
by Keras), layer by layer: shapes, parameters, non-trainable parameters and MACs."""

from pathlib import Path

import pytest
from clirun import runner
from keras_reference import require_keras

from cnncalc.cli import cli
from cnncalc.layers.keras.conv import Conv2D

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
DOGS_CATS = str(ARCH_DIR / "dogs_cats_keras.yaml")


def test_a_keras_spec_is_verified_with_keras():
    require_keras()
    result = runner().invoke(cli, ["verify", DOGS_CATS])
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Layer", "Type", "Output", "shape", "Params", "Non-trainable", "MACs"]
    assert ["conv2d", "Conv2D", "[62,", "62,", "32]", "896", "0", "3,321,216", "ok"] in [line.split() for line in lines]
    assert lines[-1].startswith("all 7 layers and the model agree with Keras 3.")
    assert lines[-1].endswith("(torch backend): shapes, parameters, non-trainable, MACs")


def test_a_wrong_count_is_a_mismatch(monkeypatch):
    require_keras()
    monkeypatch.setattr(Conv2D, "params", lambda self, cfg, shape, out: 7)
    result = runner().invoke(cli, ["verify", DOGS_CATS, "--brief"])
    assert result.exit_code == 1, result.stdout + result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("conv2d ")]
    assert "7 != keras 896" in row and row.endswith("MISMATCH")
    assert "2 of 7 layers differ from Keras" in result.stdout


def test_values_is_refused_for_a_keras_spec():
    result = runner().invoke(cli, ["verify", DOGS_CATS, "--values"])
    assert result.exit_code == 2
    assert "--values runs the PyTorch export" in result.stderr


def test_without_keras_verify_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "keras", None)  # `import keras` raises ImportError
    result = runner().invoke(cli, ["verify", DOGS_CATS])
    assert result.exit_code == 2
    assert "needs Keras 3; install it with: pip install keras" in result.stderr


@pytest.mark.parametrize("command", [["export"], ["export", "--to", "pytorch"]])
def test_the_pytorch_export_refuses_a_keras_spec(command):
    result = runner().invoke(cli, [*command, DOGS_CATS])
    assert result.exit_code == 2
    assert "is written in the Keras convention: export it with --to keras" in result.stderr


def test_a_pytorch_spec_without_a_keras_equivalent_is_refused_by_the_keras_export():
    result = runner().invoke(cli, ["export", str(ARCH_DIR / "vit_b_16.yaml"), "--to", "keras"])
    assert result.exit_code == 2
    assert "Keras has no exact equivalent for layer 'patches', 'tokens', 'class_token' and 14 more" in result.stderr
