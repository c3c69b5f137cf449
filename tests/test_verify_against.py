"""cnncalc verify SPEC --against MODULE:CALLABLE: the plan next to a real PyTorch model.

The zoo's specs pass against their hand-built references (tests/zoo_torch_*.py), with their
weights loaded into the export and the outputs compared; purposely different specs fail,
naming the module and the numbers; a model that cannot be named, built or run is an error
(exit 2), never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clirun import runner
from published import ZOO_TORCH_MODULES, zoo_names
from torch_reference import require_torch

from cnncalc.cli import cli

require_torch()

HERE = Path(__file__).resolve().parent
ARCHITECTURES = HERE.parent / "architectures"
MODELS = "tests/against/models.py"
sys.path.insert(0, str(HERE / "against"))
import specs  # noqa: E402 - after its folder is on the path

ZOO = sorted(
    name for module in ZOO_TORCH_MODULES for name in zoo_names(module) if (ARCHITECTURES / f"{name}.yaml").exists()
)
# DDPM's spec joins the model's nested paths into single names (down_0_block_0 for down.0.block.0).
SPEC_NAMES_DIFFER = {"ddpm_unet"}
HEAVY = {"vgg11", "vgg16", "vgg16_bn", "vgg19", "alexnet", "wide_resnet50_2", "resnet152", "resnet101"}


def _verify(monkeypatch, *args):
    monkeypatch.chdir(HERE.parent)
    return runner().invoke(cli, ["verify", *map(str, args)])


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="the spec's names"))
        if n in SPEC_NAMES_DIFFER
        else n
        for n in ZOO
    ],
)
def test_the_zoo_is_its_reference(name, monkeypatch):
    values = [] if name in HEAVY else ["--load-state-dict"]  # the heavy ones on the meta device only
    result = _verify(
        monkeypatch,
        ARCHITECTURES / f"{name}.yaml",
        "--against",
        f"{MODELS}:zoo",
        "--kwargs",
        f'{{"name": "{name}"}}',
        *values,
    )
    assert result.exit_code == 0, result.output
    assert "all equal" in result.stdout
    if values:
        assert "values: the same outputs on random input" in result.stdout


def _small(tmp_path, **changes) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(specs.small(**changes))
    return path


def test_the_small_spec_is_its_model(tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path), "--against", f"{MODELS}:small", "--load-state-dict")
    assert result.exit_code == 0, result.output
    assert "compared 7 layers against their modules, 13 state_dict keys" in result.stdout


def test_a_branch_fed_from_the_wrong_tensor_of_the_same_shape(tmp_path, monkeypatch):
    """Shapes and counts agree: only the values, with the model's weights, tell."""
    spec = _small(tmp_path, skip_from="bn1")
    alone = _verify(monkeypatch, spec, "--against", f"{MODELS}:small")
    assert alone.exit_code == 0 and "--load-state-dict also runs both" in alone.stdout
    result = _verify(monkeypatch, spec, "--against", f"{MODELS}:small", "--load-state-dict")
    assert result.exit_code == 1
    assert "forward()" in result.stdout and "outputs differ by up to" in result.stdout


def test_a_branch_fed_from_a_tensor_of_another_shape(tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path, skip_from="input"), "--against", f"{MODELS}:small")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["skip.weight", "state_dict"] and "[8, 3, 1, 1]" in line for line in lines)
    assert any(line.split()[:4] == ["skip", "params", "32", "72"] for line in lines)


def test_a_wrong_stride_names_the_modules_and_the_shapes(tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path, stride=2), "--against", f"{MODELS}:small")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("conv2 ") and "output shape" in line and "[8, 8, 8]  [8, 16, 16]" in line for line in lines
    )
    assert any(line.startswith("skip ") and "output shape" in line for line in lines)
    assert "MACs: spec 96,336 != model 219,216" in result.stdout


def test_a_missing_bias(tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path, bias="false"), "--against", f"{MODELS}:small", "--load-state-dict")
    assert result.exit_code == 1
    assert "conv1.bias" in result.stdout and "state_dict key missing from the spec" in result.stdout
    assert 'Unexpected key(s) in state_dict: "conv1.bias"' in result.stdout
    assert "params: spec 978 != model 986" in result.stdout


def test_a_parameter_the_spec_lacks(tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path), "--against", f"{MODELS}:small", "--kwargs", '{"extra": true}')
    assert result.exit_code == 1
    assert "Small in the model, no layer in the spec" in result.stdout and "gate" in result.stdout


def test_kwargs_reach_the_callable(tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path), "--against", f"{MODELS}:small", "--kwargs", '{"num_classes": 7}')
    assert result.exit_code == 1
    assert "output shapes: spec [10] != model [7]" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--against", "nocolon"], "--against takes MODULE:CALLABLE"),
        (["--against", "no_such_module_xyz:f"], "no module named 'no_such_module_xyz'"),
        (["--against", "tests/against/none.py:f"], "no such file: tests/against/none.py"),
        (["--against", f"{MODELS}:nothing"], "has no 'nothing'"),
        (["--against", f"{MODELS}:torch"], "is not callable"),
        (["--against", f"{MODELS}:not_a_module"], "returned a int, not a torch.nn.Module"),
        (["--against", f"{MODELS}:broken"], "building the model failed: ValueError: this builder fails on purpose"),
        (["--against", f"{MODELS}:small", "--kwargs", "{"], "--kwargs is not JSON"),
        (["--against", f"{MODELS}:small", "--kwargs", "[1]"], "--kwargs must be a JSON object"),
        (["--against", f"{MODELS}:small", "--kwargs", '{"nope": 1}'], "TypeError"),
        (["--against", f"{MODELS}:small", "--values"], "--load-state-dict compares values"),
        (["--load-state-dict"], "go with --against"),
    ],
)
def test_errors_say_what_and_exit_2(args, message, tmp_path, monkeypatch):
    result = _verify(monkeypatch, _small(tmp_path), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_model_that_does_not_run_on_the_planned_input(tmp_path, monkeypatch):
    path = tmp_path / "wide.yaml"
    path.write_text(specs.small().replace("input: [3, 16, 16]", "input: [4, 16, 16]"))
    result = _verify(monkeypatch, path, "--against", f"{MODELS}:small")
    assert result.exit_code == 2
    assert "the model does not run on the planned input(s) input [4, 16, 16]" in result.stderr


def test_a_keras_spec_is_refused(monkeypatch):
    result = _verify(monkeypatch, ARCHITECTURES / "dogs_cats_keras.yaml", "--against", f"{MODELS}:small")
    assert result.exit_code == 2 and "Keras convention" in result.stderr


LENET = """name: lenet
input: [1, 28, 28]
layers:
  - {name: conv1, type: conv2d, out_channels: 6, kernel_size: 5}
  - {name: relu, type: relu}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""
LENET_MODULE = """from torch import nn


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6 * 24 * 24, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.relu(self.conv1(x))))
"""


@pytest.mark.parametrize(
    "files, target",
    [
        # a package: its modules import each other absolutely and relatively
        (
            {
                "proj/models/__init__.py": "",
                "proj/models/lenet.py": LENET_MODULE,
                "proj/models/net.py": "from models.lenet import LeNet\nfrom .lenet import LeNet as Same\n"
                "def Net():\n    return Same()\n",
            },
            "models/net.py:Net",
        ),
        # a folder of scripts: a file imports its neighbour, as `python net.py` would let it
        (
            {
                "proj/flat/lenet.py": LENET_MODULE,
                "proj/flat/net.py": "from lenet import LeNet\ndef Net():\n    return LeNet()\n",
            },
            "flat/net.py:Net",
        ),
    ],
)
def test_a_model_file_imports_its_neighbours(files, target, tmp_path, monkeypatch):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "proj" / "lenet.yaml").write_text(LENET)
    monkeypatch.chdir(tmp_path / "proj")
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m == "models" or m.startswith(("models.", "lenet", "cnncalc_against_"))]:
        monkeypatch.delitem(sys.modules, name)
    result = runner().invoke(cli, ["verify", "lenet.yaml", "--against", target])
    assert result.exit_code == 0, result.output
    assert "all equal" in result.stdout


def test_unnamed_layers_get_a_hint(tmp_path, monkeypatch):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        LENET.replace("name: conv1, ", "")
        .replace("name: relu, ", "")
        .replace("name: flatten, ", "")
        .replace("name: fc, ", "")
    )
    (tmp_path / "lenet_hint.py").write_text(LENET_MODULE)
    result = _verify(monkeypatch, spec, "--against", f"{tmp_path / 'lenet_hint.py'}:LeNet")
    assert result.exit_code == 1
    assert "no layer of the spec is at a module path of the model" in result.stdout


def test_debug_shows_the_models_own_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNCALC_DEBUG", "1")
    result = _verify(monkeypatch, _small(tmp_path), "--against", f"{MODELS}:broken")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and 'raise ValueError("this builder fails on purpose")' in result.stderr
