"""The spec's own constants: a top-level `let:` seen by every layer and block, and `--set
NAME=VALUE` (plan, check, diff, export, verify) replacing one before any is worked out."""

from __future__ import annotations

import json

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import parse

SPEC = """\
name: scaled
let:
  width_mult: 1.0
  base: 32
  c: int(base * width_mult)
  act: relu
input: [3, 32, 32]
blocks:
  unit:
    args: [out]
    layers:
      - {type: conv2d, name: expand, out_channels: out * 2, kernel_size: 3, padding: 1}
      - {type: conv2d, name: reduce, out_channels: 'int(out * width_mult)', kernel_size: 3, padding: 1}
      - act
layers:
  - {type: conv2d, name: stem, out_channels: c, kernel_size: 3}
  - act
  - {type: unit, name: stage, out: c, repeat: 2}
"""


def _shapes(constants=None):
    return {row.name: row.output_shape for row in plan(parse(SPEC, "scaled.yaml", constants=constants)).layers}


def test_constants_reach_layers_blocks_and_types():
    shapes = _shapes()
    assert shapes["stem"] == (32, 30, 30)
    assert shapes["relu_1"] == (32, 30, 30)  # `- act` is the type the constant names
    assert shapes["stage.0.expand"] == (64, 30, 30)
    assert shapes["stage.1.reduce"] == (32, 30, 30)


@pytest.mark.parametrize(
    "constants, stem, reduce",
    [
        ({"width_mult": "1.5"}, 48, 72),  # c = 48, then int(48 * 1.5)
        ({"base": "16"}, 16, 16),  # a constant computed from another follows it
        ({"c": "10"}, 10, 10),  # a computed one may be set outright
        ({"c": "base // 4"}, 8, 8),  # or as an expression of the ones before it
    ],
)
def test_set_replaces_a_constant_before_the_others_are_worked_out(constants, stem, reduce):
    shapes = _shapes(constants)
    assert shapes["stem"][0] == stem
    assert shapes["stage.1.reduce"][0] == reduce


def _errors(text, constants=None):
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "bad.yaml", constants=constants))
    return [(d.code, d.loc.line, d.loc.column, d.message) for d in caught.value.diagnostics]


def test_set_of_an_unknown_name_is_located_at_the_let_with_a_hint():
    ((code, line, column, message),) = _errors(SPEC, {"widht_mult": "2"})
    assert (code, line, column) == ("spec.unknown-key", 3, 3)
    assert "did you mean 'width_mult'?" in message and "its constants are act, base, c, width_mult" in message


def test_set_without_a_let():
    ((code, line, column, message),) = _errors("input: [3, 8, 8]\nlayers: [relu]\n", {"a": "1"})
    assert (code, line, column) == ("spec.unknown-key", 1, 1)
    assert "has no top-level `let:`" in message


def test_a_wrong_constant_is_reported_alone_not_again_at_each_use():
    errors = _errors(SPEC, {"base": "abc"})
    assert [(code, line) for code, line, _, _ in errors] == [("spec.bad-expression", 5)]
    assert "arithmetic needs numbers, got 'abc'" in errors[0][3]


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("relu", "is the name of a layer type"),
        ("conv", "is the name of a layer type"),  # an alias is a type's name too
        ("unit", "is the name of a block"),
        ("i", "is kept for cnncalc's own use"),
        ("max", "is a function of the expression language"),
        ("input", "is a Python builtin name"),
    ],
)
def test_constant_names_that_would_be_read_as_something_else_are_refused(name, fragment):
    text = f"let: {{{name}: 2}}\ninput: [3, 8, 8]\nblocks:\n  unit: [relu]\nlayers: [relu]\n"
    ((code, line, column, message),) = _errors(text)
    assert (code, line, column) == ("spec.bad-name", 1, 7)
    assert fragment in message


def test_let_must_be_a_mapping():
    ((code, line, _, message),) = _errors("let: [a, b]\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert (code, line) == ("spec.bad-value", 1) and "expected a mapping" in message


def _run(args, input=None):
    return runner().invoke(cli, args, input=input)


def test_cli_set_on_plan_check_and_diff(tmp_path):
    path = tmp_path / "scaled.yaml"
    path.write_text(SPEC + "budget: {max_params: 100K}\n")
    out = json.loads(_run(["plan", str(path), "--format", "json", "--set", "width_mult=2"]).stdout)
    assert out["output_shape"] == [128, 30, 30]
    assert _run(["check", str(path)]).exit_code == 0
    assert _run(["check", str(path), "--set", "width_mult=2"]).exit_code == 1  # 518,400 params
    changed = json.loads(_run(["diff", str(path), str(path), "--format", "json", "--set", "base=8"]).stdout)
    assert changed["totals"]["params"]["old"] == changed["totals"]["params"]["new"]  # both sides set


@pytest.mark.parametrize(
    "argument, fragment",
    [("width_mult", "expected NAME=VALUE"), ("2x=1", "expected NAME=VALUE"), ("a=1 --set a=2", None)],
)
def test_cli_set_needs_name_equals_value(tmp_path, argument, fragment):
    path = tmp_path / "scaled.yaml"
    path.write_text(SPEC)
    args = ["plan", str(path)]
    for piece in argument.split(" --set "):
        args += ["--set", piece]
    result = _run(args)
    assert result.exit_code == 2
    assert (fragment or "is set twice") in result.stderr


@pytest.mark.torch
def test_export_with_constants_verifies(tmp_path):
    from torch_reference import require_torch

    require_torch()
    path = tmp_path / "scaled.yaml"
    path.write_text(SPEC)
    result = _run(["verify", str(path), "--set", "width_mult=1.5"])
    assert result.exit_code == 0, result.stdout + result.stderr
    code = _run(["export", str(path), "--set", "width_mult=1.5"]).stdout
    assert "width_mult" not in code  # a constant is written as its value, never as an unbound name


def test_a_block_argument_default_is_not_replaced_by_a_constant_of_its_name():
    """The block's own names come first: `args: {k: 1}` stays 1 beside a constant k: 3 (found by
    review: the constant had silently won)."""
    text = (
        "let: {k: 3}\ninput: [3, 16, 16]\nblocks:\n"
        "  b: {args: {k: 1}, layers: [{type: conv2d, out_channels: 4, kernel_size: k, padding: k // 2}]}\n"
        "layers: [{type: b}, {type: b, k: k}]\n"
    )
    rows = {row.name: row for row in plan(parse(text, "k.yaml")).layers}
    assert rows["b_1.conv2d_1"].spec.cfg["kernel_size"] == (1, 1)
    assert rows["b_2.conv2d_1"].spec.cfg["kernel_size"] == (3, 3)  # passed as an argument, by the call


BLOCK_USES_CONSTANTS = """\
let: {width: 8, m: nearest}
input: [3, 16, 16]
blocks:
  b:
    args: {c: width, k: 1}
    let: {w2: width * 2, mode: m}
    layers:
      - {type: conv2d, out_channels: w2, kernel_size: k}
      - {type: conv2d, out_channels: c, kernel_size: 1}
      - {type: upsample, scale_factor: 2, mode: mode}
layers:
  - {type: b}
  - {type: b, c: 4, k: 3}
"""


@pytest.mark.torch
def test_a_blocks_defaults_and_let_values_write_the_constants_values(tmp_path):
    from torch_reference import require_torch

    from cnncalc.export import to_pytorch

    require_torch()
    code = to_pytorch(plan(parse(BLOCK_USES_CONSTANTS, "b.yaml")))
    assert "w2 = 8 * 2" in code and 'mode = "nearest"' in code and "c = 8 if c is None else c" in code
    assert "width" not in code.split("class Model")[0].split('"""', 2)[-1]  # no unbound name in the class
    path = tmp_path / "b.yaml"
    path.write_text(BLOCK_USES_CONSTANTS)
    result = _run(["verify", str(path), "--values"])
    assert result.exit_code == 0, result.stdout + result.stderr
